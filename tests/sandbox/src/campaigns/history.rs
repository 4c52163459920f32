//! What an activity looks like and how it went out (spec tag "Email Scheduling").
//!
//! - `GET /v3/emails/activities/{id}/previews`: the headers and the content as the
//!   contact would see it (`EmailCampaignActivityPreview`): `[[trackingImage]]` is
//!   taken out, and the text preview is the HTML without its tags.
//! - `GET /v3/emails/activities/{id}/send_history`: one object per send, oldest first
//!   (`EmailSendHistory`); `[]` until the activity is sent. Only `primary_email` and
//!   `resend` activities have a send history (a permalink is 400). A send that
//!   reached nobody is `COMPLETED` with `count` 0 and `reason_code` 12, as documented.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::activities::{ensure_primary, find};
use crate::auth::{CampaignData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::ApiError;
use crate::request::PathId;
use crate::state::Sandbox;

/// The documented reason code of a send with no eligible contacts.
const NO_ELIGIBLE_CONTACTS: i32 = 12;

/// One send of an activity (an item of `EmailSendHistory`).
#[derive(Clone, Debug, Serialize)]
pub struct SendRecord {
    send_id: usize,
    contact_list_ids: Vec<Uuid>,
    segment_ids: Vec<i64>,
    count: usize,
    run_date: String,
    send_status: &'static str,
    reason_code: i32,
}

impl SendRecord {
    /// Send number `send_id` (from 1) to `count` contacts of these lists or segment.
    pub fn new(
        send_id: usize,
        contact_list_ids: Vec<Uuid>,
        segment_ids: &[i64],
        count: usize,
        at: Timestamp,
    ) -> SendRecord {
        SendRecord {
            send_id,
            contact_list_ids,
            segment_ids: segment_ids.to_vec(),
            count,
            run_date: clock::format(&at),
            send_status: "COMPLETED",
            reason_code: if count == 0 { NO_ELIGIBLE_CONTACTS } else { 0 },
        }
    }
}

/// The preview and send-history routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/emails/activities/{campaign_activity_id}/previews",
            get(preview),
        )
        .route(
            "/v3/emails/activities/{campaign_activity_id}/send_history",
            get(send_history),
        )
}

/// The HTML as sent, without the tracking-image placeholder.
pub fn preview_html(html: &str) -> String {
    html.replace("[[trackingImage]]", "")
}

/// The HTML's text: tags dropped, whitespace runs made one space.
pub fn preview_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in preview_html(html).chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `GET …/previews`.
async fn preview(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    Ok(Json(account.activities[find(&account, &id)?].preview()))
}

/// `GET …/send_history`.
async fn send_history(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let activity = &account.activities[find(&account, &id)?];
    // The sandbox makes no `resend` activities, so primary is the one with a history.
    ensure_primary(activity, "sent")?;
    Ok(Json(json!(activity.history)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_drop_the_tracking_image_and_the_text_drops_tags() {
        let html = "<html><body>[[trackingImage]]<p>Hi  there</p><p>Bye</p></body></html>";
        assert_eq!(
            preview_html(html),
            "<html><body><p>Hi  there</p><p>Bye</p></body></html>"
        );
        assert_eq!(preview_text(html), "Hi there Bye");
    }
}
