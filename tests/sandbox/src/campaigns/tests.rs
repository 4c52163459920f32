//! Campaign activities through the router: the fields the real API returns and
//! takes back, A/B tests, resends, previews, send histories and V2 id look-ups.

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

/// Sets the activity's recipients to the first seeded list (needed to schedule or send).
async fn set_recipients(client: &Client, path: &str) {
    let (_, mut read) = client.get(path).await;
    read["contact_list_ids"] = json!([crate::lists::SEEDED[0].0]);
    let (status, body) = client.put(path, read).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn ab_tests_follow_the_spec_rules_and_change_the_campaign_type() {
    let client = Client::new();
    let created = campaign(&client, "A/B").await;
    let campaign_path = format!("/v3/emails/{}", created["campaign_id"].as_str().unwrap());
    let path = format!("/v3/emails/activities/{}/abtest", activity_id(&created, 0));
    assert_eq!(client.get(&path).await.0, StatusCode::NOT_FOUND);
    let (status, error) = client
        .post(&path, json!({"test_size": 51, "winner_wait_duration": 10}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&error),
        "alternative_subject is missing, test_size must be from 5 to 50, \
         winner_wait_duration must be 6, 12, 24 or 48"
    );
    let test = json!({"alternative_subject": "B", "test_size": 5, "winner_wait_duration": 48});
    assert_eq!(
        client.post(&path, test.clone()).await,
        (StatusCode::CREATED, test.clone())
    );
    assert_eq!(client.get(&path).await, (StatusCode::OK, test.clone()));
    assert_eq!(client.get(&campaign_path).await.1["type_code"], 57);
    assert_eq!(
        client.post(&path, test.clone()).await.0,
        StatusCode::CONFLICT
    );
    let permalink = format!("/v3/emails/activities/{}/abtest", activity_id(&created, 1));
    assert_eq!(
        client.post(&permalink, test.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(client.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(client.delete(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(client.get(&campaign_path).await.1["type_code"], 26);
    // Only in DRAFT.
    let activity = format!("/v3/emails/activities/{}", activity_id(&created, 0));
    set_recipients(&client, &activity).await;
    client
        .post(
            &format!("{activity}/schedules"),
            json!({"scheduled_date": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let (status, error) = client.post(&path, test).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&error).contains("only be created in DRAFT"),
        "{error}"
    );
}

#[tokio::test]
async fn a_campaign_takes_one_resend_within_the_delay_bounds() {
    let client = Client::new();
    let created = campaign(&client, "Resends").await;
    let activity = format!("/v3/emails/activities/{}", activity_id(&created, 0));
    let path = format!("{activity}/non_opener_resends");
    assert_eq!(client.get(&path).await, (StatusCode::OK, json!([])));
    for (body, problem) in [
        (
            json!({"resend_subject": "Again"}),
            "delay_days or delay_minutes is missing",
        ),
        (
            json!({"resend_subject": "Again", "delay_days": 11}),
            "delay_days must be from 1 to 10",
        ),
        (
            json!({"resend_subject": "Again", "delay_minutes": 719}),
            "delay_minutes must be from 720 to 14400",
        ),
        (json!({"delay_days": 2}), "resend_subject is missing"),
    ] {
        let (status, error) = client.post(&path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(message(&error), problem);
    }
    // With both, delay_minutes is ignored (as documented).
    let body = json!({"resend_subject": "Again", "delay_days": 2, "delay_minutes": 800});
    let (status, resend) = client.post(&path, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{resend}");
    assert_eq!(
        resend,
        json!({"resend_subject": "Again", "delay_days": 2,
        "delay_minutes": 2880, "resend_request_id": "DRAFT"})
    );
    assert_eq!(client.post(&path, body).await.0, StatusCode::CONFLICT);
    // Scheduled: the resend has its own id and a status.
    set_recipients(&client, &activity).await;
    client
        .post(
            &format!("{activity}/schedules"),
            json!({"scheduled_date": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let (_, listed) = client.get(&path).await;
    let id = listed[0]["resend_request_id"].as_str().unwrap().to_owned();
    assert!(
        id.len() == 6 && id.bytes().all(|b| b.is_ascii_digit()),
        "{listed}"
    );
    assert_eq!(listed[0]["resend_status"], "SCHEDULED");
    assert_eq!(
        client.delete(&format!("{path}/DRAFT")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.delete(&format!("{path}/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(client.get(&path).await.1, json!([]));
}

#[tokio::test]
async fn previews_and_send_histories_show_the_email_and_its_sends() {
    let client = Client::new();
    let created = campaign(&client, "History").await;
    let id = activity_id(&created, 0);
    let activity = format!("/v3/emails/activities/{id}");
    let (status, preview) = client.get(&format!("{activity}/previews")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(preview["campaign_activity_id"], id.as_str());
    assert_eq!(preview["subject"], "Hello");
    assert_eq!(preview["preview_text_content"], "Hi [[FIRSTNAME]]");
    let history = format!("{activity}/send_history");
    assert_eq!(client.get(&history).await, (StatusCode::OK, json!([])));
    set_recipients(&client, &activity).await;
    let (status, _) = client
        .post(&format!("/__sandbox/campaigns/{id}/send"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, sends) = client.get(&history).await;
    assert_eq!(sends[0]["send_id"], 1);
    assert_eq!(
        sends[0]["contact_list_ids"],
        json!([crate::lists::SEEDED[0].0])
    );
    assert_eq!(sends[0]["send_status"], "COMPLETED");
    // The seeded list has no members: nobody was eligible (documented reason 12).
    assert_eq!(
        (sends[0]["count"].clone(), sends[0]["reason_code"].clone()),
        (json!(0), json!(12))
    );
    let permalink = format!(
        "/v3/emails/activities/{}/send_history",
        activity_id(&created, 1)
    );
    assert_eq!(client.get(&permalink).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn xrefs_map_known_v2_ids_within_the_bounds() {
    let client = Client::new();
    let created = campaign(&client, "V2").await;
    let campaign_id = created["campaign_id"].clone();
    let seed = json!({"campaign_id": campaign_id, "v2_email_campaign_id": "1100567546598"});
    assert_eq!(
        client.post("/__sandbox/campaign_xrefs", seed).await.0,
        StatusCode::CREATED
    );
    let other = campaign(&client, "V2 other").await;
    let taken =
        json!({"campaign_id": other["campaign_id"], "v2_email_campaign_id": "1100567546598"});
    assert_eq!(
        client.post("/__sandbox/campaign_xrefs", taken).await.0,
        StatusCode::CONFLICT
    );
    let (status, found) = client
        .get("/v3/emails/campaign_id_xrefs?v2_email_campaign_ids=42,1100567546598")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found,
        json!({"xrefs": [{"v2_email_campaign_id": "1100567546598",
        "campaign_id": campaign_id, "campaign_activity_id": activity_id(&created, 0)}]})
    );
    let many = (0..51).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    for query in [
        "",
        "?v2_email_campaign_ids=abc",
        &format!("?v2_email_campaign_ids={many}"),
    ] {
        let (status, _) = client
            .get(&format!("/v3/emails/campaign_id_xrefs{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn delivery_endpoints_need_the_campaign_data_scope() {
    let client = Client::new();
    let created = campaign(&client, "Scopes").await;
    let activity = format!("/v3/emails/activities/{}", activity_id(&created, 0));
    for path in [
        format!("{activity}/abtest"),
        format!("{activity}/non_opener_resends"),
        format!("{activity}/previews"),
        format!("{activity}/send_history"),
        "/v3/emails/campaign_id_xrefs?v2_email_campaign_ids=1".to_owned(),
    ] {
        let (status, _) = client
            .send("contact_data", axum::http::Method::GET, &path, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let (status, _) = client
            .send("campaign_data", axum::http::Method::GET, &path, None)
            .await;
        assert_ne!(status, StatusCode::FORBIDDEN, "{path}");
    }
}
