//! Contact rules, through the router: delete, notes, taggings, the list filters.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::lists::SEEDED;
use crate::testing::{message, Client};

const UNKNOWN: &str = "4d88f172-21d1-11ea-b5ae-fa163e56c9b0";

#[tokio::test]
async fn a_deleted_contact_keeps_its_email_reserved() {
    let client = Client::new();
    let id = client.contact("ada@example.com", &[SEEDED[0].0]).await;
    assert_eq!(
        client.delete(&format!("/v3/contacts/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, gone) = client
        .get(&format!("/v3/contacts/{id}?include=list_memberships"))
        .await;
    assert!(gone["deleted_at"].is_string());
    assert_eq!(gone["list_memberships"], json!([]));
    let again =
        json!({"email_address": {"address": "ADA@example.com"}, "create_source": "Account"});
    let (status, error) = client.post("/v3/contacts", again).await;
    assert_eq!(
        (status, message(&error)),
        (
            StatusCode::CONFLICT,
            "Validation failed: EmailAddress is not unique"
        )
    );
    assert_eq!(client.get("/v3/contacts").await.1["contacts"], json!([]));
    let (_, deleted) = client
        .get("/v3/contacts?status=deleted&include_count=true")
        .await;
    assert_eq!(deleted["contacts_count"], 1);
    assert_eq!(
        client.delete(&format!("/v3/contacts/{UNKNOWN}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.delete("/v3/contacts/nope").await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = client
        .send(
            "campaign_data",
            Method::DELETE,
            &format!("/v3/contacts/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn notes_and_taggings_are_readable_and_kept_by_a_put_that_omits_them() {
    let client = Client::new();
    let (_, tag) = client
        .post("/v3/contact_tags", json!({"name": "VIP"}))
        .await;
    let body = json!({"email_address": {"address": "ada@example.com"}, "create_source": "Account",
        "notes": [{"content": "Met at the fair"}], "taggings": [tag["tag_id"]]});
    let (_, created) = client.post("/v3/contacts", body).await;
    let path = format!("/v3/contacts/{}", created["contact_id"].as_str().unwrap());
    let put = json!({"email_address": {"address": "ada@example.com"}, "first_name": "Ada", "update_source": "Account"});
    assert_eq!(client.put(&path, put).await.0, StatusCode::OK);
    let (_, read) = client.get(&format!("{path}?include=notes,taggings")).await;
    assert_eq!(read["notes"][0]["content"], "Met at the fair");
    assert_eq!(read["taggings"], json!([tag["tag_id"]]));
    assert!(client.get(&path).await.1.get("notes").is_none());
    let long = json!({"email_address": {"address": "ada@example.com"}, "update_source": "Account", "notes": [{"content": "x".repeat(2001)}]});
    let (status, error) = client.put(&path, long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&error).contains("notes.content exceeds the maximum length of 2000"));
}

#[tokio::test]
async fn list_filters_are_honoured_or_refused() {
    let client = Client::new();
    let (_, tag) = client
        .post("/v3/contact_tags", json!({"name": "VIP"}))
        .await;
    let tag = tag["tag_id"].as_str().unwrap().to_owned();
    let tagged = json!({"email_address": {"address": "t@example.com"}, "create_source": "Account", "taggings": [tag]});
    client.post("/v3/contacts", tagged).await;
    let unsubscribed = json!({"email_address": {"address": "u@example.com", "permission_to_send": "unsubscribed"}, "create_source": "Account"});
    client.post("/v3/contacts", unsubscribed).await;
    let count = |body: serde_json::Value| body["contacts"].as_array().unwrap().len();
    assert_eq!(
        count(client.get(&format!("/v3/contacts?tags={tag}")).await.1),
        1
    );
    assert_eq!(
        count(client.get("/v3/contacts?optout_after=2000-01-01").await.1),
        1
    );
    assert_eq!(
        count(client.get("/v3/contacts?optout_before=2000-01-01").await.1),
        0
    );
    assert_eq!(
        count(client.get("/v3/contacts?sms_status=not_set").await.1),
        2
    );
    assert_eq!(
        count(client.get("/v3/contacts?sms_status=explicit").await.1),
        0
    );
    for bad in [
        "sms_status=opted",
        "optout_after=yesterday",
        "status=gone",
        "limit=501",
        "include=tags",
    ] {
        assert_eq!(
            client.get(&format!("/v3/contacts?{bad}")).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let many = vec![UNKNOWN; 26].join(",");
    let (status, error) = client.get(&format!("/v3/contacts?lists={many}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&error).contains("lists may name at most 25"));
    let (status, history) = client
        .get(&format!(
            "/v3/contacts/sms_engagement_history/{}",
            client.contact("h@example.com", &[]).await
        ))
        .await;
    assert_eq!((status, history), (StatusCode::OK, json!([])));
    assert_eq!(
        client
            .get(&format!("/v3/contacts/sms_engagement_history/{UNKNOWN}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// What the triggers rely on: `*_after` filters are exclusive to the millisecond,
/// deleting, unsubscribing and list changes touch the times the filters read, and an
/// unsubscribed contact sent back unchanged keeps its first opt-out.
#[tokio::test]
async fn changes_move_the_times_the_after_filters_read() {
    let client = Client::new();
    crate::clock::freeze(true);
    let a = client.contact("a@example.com", &[]).await;
    let b = client.contact("b@example.com", &[]).await;
    let (_, stored) = client.get(&format!("/v3/contacts/{a}")).await;
    let at = stored["updated_at"].as_str().unwrap().to_owned();
    let before = "2000-01-01T00:00:00.000Z";
    assert_eq!(count(&client, format!("updated_after={before}")).await, 2);
    assert_eq!(
        count(&client, format!("created_after={at}")).await,
        0,
        "exclusive"
    );
    crate::clock::advance(1);
    let joined = json!({"email_address": {"address": "a@example.com"},
        "list_memberships": [SEEDED[0].0], "update_source": "Account"});
    client.put(&format!("/v3/contacts/{a}"), joined).await;
    let on_list = format!("lists={}&updated_after={at}", SEEDED[0].0);
    assert_eq!(count(&client, on_list).await, 1);
    crate::clock::advance(1);
    let unsubscribe = json!({"email_address": {"address": "b@example.com",
        "permission_to_send": "unsubscribed"}, "update_source": "Contact"});
    client
        .put(&format!("/v3/contacts/{b}"), unsubscribe.clone())
        .await;
    let opt_out = |body: serde_json::Value| body["email_address"]["opt_out_date"].clone();
    let first = opt_out(client.get(&format!("/v3/contacts/{b}")).await.1);
    crate::clock::advance(1);
    client.put(&format!("/v3/contacts/{b}"), unsubscribe).await;
    assert_eq!(
        opt_out(client.get(&format!("/v3/contacts/{b}")).await.1),
        first
    );
    assert_eq!(count(&client, format!("optout_after={at}")).await, 1);
    client.delete(&format!("/v3/contacts/{a}")).await;
    let (_, gone) = client.get(&format!("/v3/contacts/{a}")).await;
    assert!(gone["updated_at"].as_str().unwrap() > at.as_str());
    assert_eq!(
        count(&client, format!("status=deleted&updated_after={at}")).await,
        1
    );
    let (status, error) = client.get("/v3/contacts?optout_after=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
}

async fn count(client: &Client, query: String) -> usize {
    let (status, body) = client.get(&format!("/v3/contacts?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["contacts"].as_array().unwrap().len()
}
