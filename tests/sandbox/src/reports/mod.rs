//! Email reports, computed from the sends the sandbox records.
//!
//! - `GET /v3/reports/summary_reports/email_campaign_summaries` (`campaign_data`) and
//!   `GET /v3/reports/stats/email_campaign_activities/{campaign_activity_ids}`
//!   (`campaign_data`): see `campaigns`.
//! - `GET /v3/reports/contact_reports/{contact_id}/activity_details` (`contact_data`):
//!   see `contacts`.
//!
//! # Sends
//! A send is recorded when a campaign activity is sent: scheduled with `"0"`, its
//! `scheduled_date` passed on the sandbox clock, or `POST
//! /__sandbox/campaigns/{campaign_activity_id}/send`. It goes to each contact on the
//! activity's lists (or in its segment) that is not deleted and may be emailed
//! (`implicit`/`explicit`), once: sending an activity again reaches only contacts that
//! have not had it (reference §3.5, re-scheduling a DONE activity).
//! `POST /__sandbox/email_reports/{campaign_activity_id}/sends` records sends to the
//! contacts it names instead, for tracking data alone (see `seed`).
//!
//! # What each recipient does
//! Decided by the contact's email address, so fixtures can predict every number. The
//! first keyword found in the local part (before `@`, case-insensitive) wins:
//!
//! | keyword | outcome | counts as |
//! |---|---|---|
//! | `bounce` | bounced | send, bounce |
//! | `optout` | opened, then unsubscribed | send, open, opt-out |
//! | `click` | opened and clicked every link | send, open, click |
//! | `forward` | opened and forwarded | send, open, forward |
//! | `ignore` | delivered, never opened | send |
//! | `open` | opened | send, open |
//!
//! Without a keyword, the FNV-1a 32-bit hash of the lowercase address, modulo 10,
//! decides: 0 bounce, 1 opt-out, 2–4 click, 5–7 open, 8–9 not opened.
//! An opt-out also unsubscribes the contact (`permission_to_send: unsubscribed`,
//! `opt_out_source: Contact`, `opt_out_date` = the send time). Every event of a send
//! happens at the send time; abuse reports never happen. A click is on every link of the
//! email (each distinct `href="http…"` of its `html_content`; an email without one has
//! no click items, though its clickers still count).
//!
//! # More reports
//! - `GET /v3/reports/email_reports/{campaign_activity_id}/…` (`campaign_data`): the
//!   tracking reports and the links report, from the sends; see `tracking`.
//! - `GET /v3/reports/stats/email_campaigns/{campaign_ids}` (`campaign_data`): see
//!   `campaigns`.
//! - `GET /v3/reports/landing_pages/campaign_details/{campaign_activity_id}/…`
//!   (`campaign_data`): from landing-page events seeded through the control API; see
//!   `landing` and `seed`.
//! - `GET /v3/reports/contact_reports/{contact_id}/open_and_click_rates` and
//!   `…/activity_summary` (`contact_data`): see `contact_summary`.
//! - `GET /v3/reports/summary_reports/sms_campaign_summaries` (`campaign_data`): from SMS
//!   campaigns seeded through the control API; see `sms` and `seed`.

mod campaigns;
mod contact_summary;
mod contacts;
mod landing;
mod seed;
mod sms;
mod tracking;

pub use seed::{control_routes, Tracking};

use axum::routing::get;
use axum::Router;
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::state::{Account, Sandbox};

/// What a recipient did with one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Bounce,
    OptOut,
    Click,
    Forward,
    Open,
    NotOpened,
}

impl Outcome {
    /// The outcome for a recipient with `address` (see the module doc).
    pub fn of(address: &str) -> Outcome {
        let address = address.to_lowercase();
        let local = address.split('@').next().unwrap_or_default();
        let keywords = [
            ("bounce", Outcome::Bounce),
            ("optout", Outcome::OptOut),
            ("click", Outcome::Click),
            ("forward", Outcome::Forward),
            ("ignore", Outcome::NotOpened),
            ("open", Outcome::Open),
        ];
        if let Some((_, outcome)) = keywords.iter().find(|(k, _)| local.contains(k)) {
            return *outcome;
        }
        match fnv1a(&address) % 10 {
            0 => Outcome::Bounce,
            1 => Outcome::OptOut,
            2..=4 => Outcome::Click,
            5..=7 => Outcome::Open,
            _ => Outcome::NotOpened,
        }
    }

    /// Whether the recipient opened the email.
    pub fn opened(self) -> bool {
        matches!(
            self,
            Outcome::OptOut | Outcome::Click | Outcome::Forward | Outcome::Open
        )
    }
}

/// FNV-1a, 32 bits: simple enough for a fixture writer to recompute.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// One email sent to one contact.
#[derive(Clone, Debug)]
pub struct Send {
    pub activity: Uuid,
    pub campaign: Uuid,
    pub contact: Uuid,
    pub at: Timestamp,
    pub outcome: Outcome,
}

/// Records the sends of campaign activity `index` at `at` to each recipient that has
/// not had it, applying opt-outs; returns how many were recorded.
pub fn record(account: &mut Account, index: usize, at: Timestamp) -> usize {
    let activity = &account.activities[index];
    let recipients = activity.recipients(&account.contacts, &account.segments);
    record_to(account, index, recipients, at)
}

/// As [`record`], to these contacts (the control API's seeding route names them).
pub fn record_to(
    account: &mut Account,
    index: usize,
    recipients: Vec<Uuid>,
    at: Timestamp,
) -> usize {
    let activity = &account.activities[index];
    let (activity_id, campaign) = (activity.id, activity.campaign_id);
    let mut count = 0;
    for contact_id in recipients {
        if account
            .sends
            .iter()
            .any(|s| s.activity == activity_id && s.contact == contact_id)
        {
            continue;
        }
        let Some(contact) = account.contacts.iter_mut().find(|c| c.id == contact_id) else {
            continue;
        };
        let Some(email) = contact.email.as_mut() else {
            continue;
        };
        let outcome = Outcome::of(&email.address);
        if outcome == Outcome::OptOut {
            email.set_permission("unsubscribed", "Contact", at);
            contact.update_source = "Contact".to_owned();
            contact.updated_at = at;
        }
        account.sends.push(Send {
            activity: activity_id,
            campaign,
            contact: contact_id,
            at,
            outcome,
        });
        count += 1;
    }
    count
}

/// Unique counts over `sends` (spec `UniqueEmailCounts`; one send per contact and
/// activity, so totals and unique counts agree).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub sends: usize,
    pub opens: usize,
    pub clicks: usize,
    pub bounces: usize,
    pub optouts: usize,
    pub forwards: usize,
}

impl Counts {
    /// Counts the sends `keep` selects.
    pub fn of<'a>(sends: impl Iterator<Item = &'a Send>) -> Counts {
        sends.fold(Counts::default(), |mut c, send| {
            c.sends += 1;
            c.opens += usize::from(send.outcome.opened());
            c.clicks += usize::from(send.outcome == Outcome::Click);
            c.bounces += usize::from(send.outcome == Outcome::Bounce);
            c.optouts += usize::from(send.outcome == Outcome::OptOut);
            c.forwards += usize::from(send.outcome == Outcome::Forward);
            c
        })
    }

    /// Delivered but not opened.
    pub fn not_opened(&self) -> usize {
        self.sends - self.bounces - self.opens
    }
}

/// The report routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/reports/summary_reports/email_campaign_summaries",
            get(campaigns::summaries),
        )
        .route(
            "/v3/reports/stats/email_campaign_activities/{campaign_activity_ids}",
            get(campaigns::stats_of),
        )
        .route(
            "/v3/reports/contact_reports/{contact_id}/activity_details",
            get(contacts::activity_details),
        )
        .route(
            "/v3/reports/stats/email_campaigns/{campaign_ids}",
            get(campaigns::stats_of_campaigns),
        )
        .route(
            "/v3/reports/landing_pages/campaign_details/{campaign_activity_id}/{report}",
            get(landing::report),
        )
        .route(
            "/v3/reports/contact_reports/{contact_id}/open_and_click_rates",
            get(contact_summary::open_and_click_rates),
        )
        .route(
            "/v3/reports/contact_reports/{contact_id}/activity_summary",
            get(contact_summary::activity_summary),
        )
        .route(
            "/v3/reports/summary_reports/sms_campaign_summaries",
            get(sms::summaries),
        )
        .merge(tracking::routes())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tracking_tests;
