//! Campaign activities through the router: the fields the real API returns and
//! takes back.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::testing::{message, Client};

/// A draft campaign made through `POST /v3/emails`; returns its body.
pub async fn campaign(client: &Client, name: &str) -> Value {
    let activity = json!({"format_type": 5, "from_name": "Acme",
        "from_email": "owner@example.com", "reply_to_email": "owner@example.com",
        "subject": "Hello", "html_content": "<html><body>[[trackingImage]]<p>Hi [[FIRSTNAME]]</p></body></html>"});
    let body = json!({"name": name, "email_campaign_activities": [activity]});
    let (status, campaign) = client.post("/v3/emails", body).await;
    assert_eq!(status, StatusCode::OK, "{campaign}");
    campaign
}

/// The id of the campaign's activity number `index` (0: primary, 1: permalink).
pub fn activity_id(campaign: &Value, index: usize) -> String {
    campaign["campaign_activities"][index]["campaign_activity_id"]
        .as_str()
        .expect("campaign_activity_id")
        .to_owned()
}

#[tokio::test]
async fn activities_carry_a_document_id_in_the_campaign_and_their_own_body() {
    let client = Client::new();
    let created = campaign(&client, "Documents").await;
    for index in 0..2 {
        let id = activity_id(&created, index);
        let (_, activity) = client.get(&format!("/v3/emails/activities/{id}")).await;
        let document = &activity["document_id"];
        assert!(document.is_string(), "{activity}");
        assert_eq!(
            &created["campaign_activities"][index]["document_id"],
            document
        );
    }
    // Each activity has its own document.
    assert_ne!(
        created["campaign_activities"][0]["document_id"],
        created["campaign_activities"][1]["document_id"]
    );
}

#[tokio::test]
async fn an_activity_put_takes_format_type_back_and_needs_no_document_id() {
    let client = Client::new();
    let created = campaign(&client, "Format kept").await;
    let path = format!("/v3/emails/activities/{}", activity_id(&created, 0));
    let (_, mut read) = client.get(&path).await;
    let document = read["document_id"].clone();
    // As the real API took it: format_type sent back, document_id left out.
    read.as_object_mut().unwrap().remove("document_id");
    read["subject"] = json!("Changed");
    let (status, updated) = client.put(&path, read.clone()).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["subject"], "Changed");
    assert_eq!(updated["document_id"], document, "the document stays");
    read["document_id"] = json!("4d88f172-21d1-11ea-b5ae-fa163e56c9b0");
    let (status, error) = client.put(&path, read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&error),
        "document_id is read-only and cannot be changed"
    );
}
