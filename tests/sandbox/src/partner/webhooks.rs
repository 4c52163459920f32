//! Partner webhook subscriptions, one callback URI per topic (spec
//! `WebhooksSubscription*`, `WebhooksTestSend`). Topics 1–4 are the spec's; another
//! number is 404, a `topic_id` that is not a number is 400, and a topic nobody
//! subscribed to is 404 for `GET`, `DELETE` and the test send.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::PartnerCaller;
use crate::errors::{ApiError, Area};
use crate::request::{JsonBody, PathId};
use crate::state::Sandbox;

/// The spec's topics: id, name, description.
const TOPICS: [(u8, &str, &str); 4] = [
    (
        1,
        "Billing Tier Upgrade",
        "Executes when an account's billing tier is upgraded.",
    ),
    (
        2,
        "Billing Tier Downgrade",
        "Executes when an account's billing tier is downgraded.",
    ),
    (
        3,
        "Account Cancelled",
        "Executes when an account is cancelled.",
    ),
    (
        4,
        "Account Disabled",
        "Executes when an account is disabled.",
    ),
];

pub fn routes() -> Router<Sandbox> {
    let one = "/v3/partner/webhooks/subscriptions/{topic_id}";
    Router::new()
        .route("/v3/partner/webhooks/subscriptions", get(list))
        .route(one, get(fetch).put(subscribe).delete(unsubscribe))
        .route(&format!("{one}/tests"), post(test_send))
}

/// The topic `text` names: 400 when it is not a number, 404 when no such topic.
fn topic(text: &str) -> Result<u8, ApiError> {
    let id: u8 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("topic_id must be a whole number"))?;
    TOPICS
        .iter()
        .any(|(t, _, _)| *t == id)
        .then_some(id)
        .ok_or_else(|| ApiError::not_found(Area::General, format!("topic {id} does not exist")))
}

fn render(id: u8, hook_uri: &str) -> Value {
    let (_, name, description) = TOPICS.iter().find(|(t, _, _)| *t == id).expect("checked");
    json!({ "topic_id": id, "hook_uri": hook_uri, "topic_name": name,
            "topic_description": description })
}

/// The subscription of `id`, else 404.
fn subscribed(sandbox: &Sandbox, id: u8) -> Result<String, ApiError> {
    sandbox
        .account()
        .partner
        .subscriptions
        .get(&id)
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(
                Area::General,
                format!("there is no subscription to topic {id}"),
            )
        })
}

async fn list(_: PartnerCaller, State(sandbox): State<Sandbox>) -> Json<Value> {
    let account = sandbox.account();
    let all: Vec<Value> = account
        .partner
        .subscriptions
        .iter()
        .map(|(id, uri)| render(*id, uri))
        .collect();
    Json(json!(all))
}

async fn fetch(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let id = topic(&id)?;
    Ok(Json(render(id, &subscribed(&sandbox, id)?)))
}

#[derive(Deserialize)]
struct Subscription {
    hook_uri: Option<String>,
}

/// An absolute `https` URL with a host, without whitespace.
fn is_callback(uri: &str) -> bool {
    uri.strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !uri.contains(char::is_whitespace)
}

async fn subscribe(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<Subscription>,
) -> Result<Json<Value>, ApiError> {
    let id = topic(&id)?;
    let uri = input
        .hook_uri
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("hook_uri is missing"))?;
    if !is_callback(&uri) {
        return Err(ApiError::bad_request("hook_uri must be an https URL"));
    }
    sandbox
        .account()
        .partner
        .subscriptions
        .insert(id, uri.clone());
    Ok(Json(json!({ "topic_id": id, "hook_uri": uri })))
}

async fn unsubscribe(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let id = topic(&id)?;
    subscribed(&sandbox, id)?;
    sandbox.account().partner.subscriptions.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

async fn test_send(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = topic(&id)?;
    let uri = subscribed(&sandbox, id)?;
    Ok((StatusCode::CREATED, Json(render(id, &uri))))
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::partner::tests::Partner;

    #[tokio::test]
    async fn topics_are_subscribed_tested_listed_and_removed() {
        let p = Partner::new().await;
        let one = "/v3/partner/webhooks/subscriptions/2";
        assert_eq!(
            p.send(Method::GET, one, None).await.0,
            StatusCode::NOT_FOUND
        );
        let bad = json!({"hook_uri": "http://example.com/hook"});
        assert_eq!(
            p.send(Method::PUT, one, Some(bad)).await.0,
            StatusCode::BAD_REQUEST
        );
        let hook = json!({"hook_uri": "https://example.com/hook"});
        let (status, body) = p.send(Method::PUT, one, Some(hook)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"topic_id": 2, "hook_uri": "https://example.com/hook"})
        );
        let (status, sent) = p.send(Method::POST, &format!("{one}/tests"), None).await;
        assert_eq!(
            (status, &sent["topic_name"]),
            (StatusCode::CREATED, &json!("Billing Tier Downgrade"))
        );
        let (_, all) = p
            .send(Method::GET, "/v3/partner/webhooks/subscriptions", None)
            .await;
        assert_eq!(all.as_array().unwrap().len(), 1);
        assert_eq!(
            p.send(Method::DELETE, one, None).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            p.send(Method::DELETE, one, None).await.0,
            StatusCode::NOT_FOUND
        );
        let nine = "/v3/partner/webhooks/subscriptions/9";
        assert_eq!(
            p.send(Method::GET, nine, None).await.0,
            StatusCode::NOT_FOUND
        );
        let word = "/v3/partner/webhooks/subscriptions/one";
        assert_eq!(
            p.send(Method::GET, word, None).await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
