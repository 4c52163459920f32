//! `GET /v3/contacts/counts` (spec `ContactsCounts`), scope `contact_data`.
//!
//! Counts the contacts that are not deleted: `total`, and by email permission
//! `explicit`, `implicit`, `pending` (`pending_confirmation`) and `unsubscribed`.
//! `include=new_subscriber` adds `new_subscriber`: active contacts whose email opted in
//! within the last 30 days. Any other `include` value is 400.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area};
use crate::request::{self, Params};
use crate::state::Sandbox;

/// `GET /v3/contacts/counts`.
pub async fn counts(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let include = request::csv(
        Area::Contacts,
        "include",
        query.get("include").map(String::as_str),
        &["new_subscriber"],
    )?;
    let account = sandbox.account();
    let live: Vec<_> = account
        .contacts
        .iter()
        .filter(|c| !c.is_deleted())
        .collect();
    let with = |permission: &str| live.iter().filter(|c| c.permission() == permission).count();
    let mut body = json!({
        "total": live.len(),
        "explicit": with("explicit"),
        "implicit": with("implicit"),
        "pending": with("pending_confirmation"),
        "unsubscribed": with("unsubscribed"),
    });
    if !include.is_empty() {
        let now = clock::now();
        body["new_subscriber"] = json!(live.iter().filter(|c| c.is_new_subscriber(now)).count());
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use crate::testing::Client;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn counts_contacts_by_permission() {
        let client = Client::new();
        client.contact("a@example.com", &[]).await;
        let explicit = json!({"email_address": {"address": "b@example.com", "permission_to_send": "explicit"}, "create_source": "Account"});
        client.post("/v3/contacts", explicit).await;
        let gone = client.contact("c@example.com", &[]).await;
        client.delete(&format!("/v3/contacts/{gone}")).await;
        let (status, counts) = client
            .get("/v3/contacts/counts?include=new_subscriber")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            counts,
            json!({"total": 2, "explicit": 1, "implicit": 1, "pending": 0, "unsubscribed": 0, "new_subscriber": 2})
        );
        assert_eq!(
            client.get("/v3/contacts/counts?include=all").await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
