//! Report numbers, from recorded sends, through the router.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::Outcome;
use crate::lists::SEEDED;
use crate::testing::{message, Client};

const UNKNOWN: &str = "4d88f172-21d1-11ea-b5ae-fa163e56c9b0";

/// A campaign whose primary activity targets the first seeded list; returns
/// (campaign id, primary activity id).
async fn campaign(client: &Client, name: &str) -> (String, String) {
    let sender = json!({"from_name": "Acme", "from_email": "owner@example.com",
        "reply_to_email": "owner@example.com", "subject": "Hello"});
    let mut activity = sender.clone();
    activity["format_type"] = json!(5);
    activity["html_content"] = json!("<html><body>[[trackingImage]]</body></html>");
    let (status, campaign) = client
        .post(
            "/v3/emails",
            json!({"name": name, "email_campaign_activities": [activity]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{campaign}");
    let primary = campaign["campaign_activities"][0]["campaign_activity_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut put = sender;
    put["contact_list_ids"] = json!([SEEDED[0].0]);
    let (status, body) = client
        .put(&format!("/v3/emails/activities/{primary}"), put)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        campaign["campaign_id"].as_str().unwrap().to_owned(),
        primary,
    )
}

async fn audience(client: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    for local in ["bounce", "optout", "click", "open", "ignore"] {
        ids.push(
            client
                .contact(&format!("{local}@example.com"), &[SEEDED[0].0])
                .await,
        );
    }
    ids
}

#[test]
fn outcomes_follow_keywords_then_the_hash() {
    assert_eq!(Outcome::of("Bounce.Me@example.com"), Outcome::Bounce);
    assert_eq!(Outcome::of("x-click@example.com"), Outcome::Click);
    // FNV-1a 32 of the address: 3038710930 % 10 = 0, 2453812388 % 10 = 8, ...
    assert_eq!(Outcome::of("dlang@example.com"), Outcome::Bounce);
    assert_eq!(Outcome::of("joe@example.com"), Outcome::NotOpened);
    assert_eq!(Outcome::of("ann@example.com"), Outcome::Open);
    assert_eq!(Outcome::of("eve@example.com"), Outcome::Click);
}

#[tokio::test]
async fn a_send_now_is_counted_in_stats_summaries_and_contact_details() {
    let client = Client::new();
    let contacts = audience(&client).await;
    let (campaign_id, primary) = campaign(&client, "Spring").await;
    let (status, sent) = client
        .post(
            &format!("/v3/emails/activities/{primary}/schedules"),
            json!({"scheduled_date": "0"}),
        )
        .await;
    assert_eq!((status, sent), (StatusCode::CREATED, json!([])));
    let (status, stats) = client
        .get(&format!(
            "/v3/reports/stats/email_campaign_activities/{primary},{UNKNOWN}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let s = &stats["results"][0]["stats"];
    let got: Vec<&Value> = [
        "em_sends",
        "em_bounces",
        "em_opens",
        "em_clicks",
        "em_optouts",
        "em_not_opened",
    ]
    .iter()
    .map(|k| &s[*k])
    .collect();
    assert_eq!(
        got,
        [
            &json!(5),
            &json!(1),
            &json!(3),
            &json!(1),
            &json!(1),
            &json!(1)
        ]
    );
    assert_eq!(stats["results"][0]["campaign_id"], json!(campaign_id));
    assert_eq!(
        stats["errors"][0]["error_key"],
        "reportingsvc.not_found.invalid_path_param.campaign_activity_ids"
    );
    let (_, summaries) = client
        .get("/v3/reports/summary_reports/email_campaign_summaries")
        .await;
    let summary = &summaries["bulk_email_campaign_summaries"][0];
    assert_eq!(
        summary["unique_counts"],
        json!({"sends": 5, "opens": 3, "clicks": 1, "forwards": 0, "optouts": 1, "abuse": 0, "bounces": 1, "not_opened": 1})
    );
    assert_eq!(
        summaries["aggregate_percents"],
        json!({"click": 25.0, "open": 75.0, "did_not_open": 25.0, "bounce": 20.0, "unsubscribe": 25.0})
    );
    // The opt-out unsubscribed its contact.
    let (_, optout) = client.get(&format!("/v3/contacts/{}", contacts[1])).await;
    assert_eq!(
        optout["email_address"]["permission_to_send"],
        "unsubscribed"
    );
    let path = format!("/v3/reports/contact_reports/{}/activity_details?tracking_activities_list=em_sends,em_opens,em_optouts", contacts[1]);
    let (status, details) = client.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    let kinds: Vec<&str> = details["tracking_activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tracking_activity_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["em_optouts", "em_opens", "em_sends"]);
    assert_eq!(
        details["tracking_activities"][0]["campaign_activity_name"],
        "Spring"
    );
    // The details page with cursors that keep the types asked for.
    let first = format!("/v3/reports/contact_reports/{}/activity_details?tracking_activity_type=em_sends&tracking_activity_type=em_opens&limit=1", contacts[1]);
    let (_, page) = client.get(&first).await;
    assert_eq!(
        page["tracking_activities"][0]["tracking_activity_type"],
        "em_opens"
    );
    let (_, page) = client
        .get(page["_links"]["next"]["href"].as_str().unwrap())
        .await;
    assert_eq!(
        page["tracking_activities"][0]["tracking_activity_type"],
        "em_sends"
    );
    assert!(page.get("_links").is_none());
    // Sending again reaches nobody new.
    let (_, again) = client
        .post(&format!("/__sandbox/campaigns/{primary}/send"), json!({}))
        .await;
    assert_eq!(again["sends"], 0);
}

#[tokio::test]
async fn a_schedule_is_sent_when_the_sandbox_clock_passes_it() {
    let client = Client::new();
    audience(&client).await;
    let (_, primary) = campaign(&client, "Later").await;
    let schedules = format!("/v3/emails/activities/{primary}/schedules");
    let later = crate::clock::format(&(crate::clock::now() + chrono::Duration::hours(1)));
    assert_eq!(
        client
            .post(&schedules, json!({"scheduled_date": later}))
            .await
            .0,
        StatusCode::CREATED
    );
    let stats = format!("/v3/reports/stats/email_campaign_activities/{primary}");
    assert_eq!(client.get(&stats).await.1["results"], json!([]));
    let (status, _) = client
        .post("/__sandbox/clock", json!({"advance_seconds": 7200}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = client.get(&stats).await;
    assert_eq!(body["results"][0]["stats"]["em_sends"], 5);
    assert_eq!(body["results"][0]["last_refresh_time"], json!(later));
    assert_eq!(client.get(&schedules).await.1, json!([]));
}

#[tokio::test]
async fn report_rules_answer_400_404_and_403() {
    let client = Client::new();
    let contact = client.contact("a@example.com", &[]).await;
    let eleven = [UNKNOWN; 11].join(",");
    let (status, _) = client
        .get(&format!(
            "/v3/reports/stats/email_campaign_activities/{eleven}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = client
        .get(&format!(
            "/v3/reports/stats/email_campaign_activities/{UNKNOWN},nope"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let details = format!("/v3/reports/contact_reports/{contact}/activity_details");
    let (status, error) = client.get(&details).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&error).contains("is required"));
    let both =
        format!("{details}?tracking_activities_list=em_sends&tracking_activity_type=em_opens");
    assert_eq!(client.get(&both).await.0, StatusCode::BAD_REQUEST);
    let bad = format!("{details}?tracking_activity_type=em_sends&tracking_activity_type=em_reads");
    assert_eq!(client.get(&bad).await.0, StatusCode::BAD_REQUEST);
    let ok = format!(
        "{details}?tracking_activity_type=em_sends&tracking_activity_type=em_opens&limit=100"
    );
    assert_eq!(client.get(&ok).await.1, json!({"tracking_activities": []}));
    assert_eq!(
        client.get(&format!("{ok}&limit=101")).await.0,
        StatusCode::BAD_REQUEST
    );
    let unknown = format!(
        "/v3/reports/contact_reports/{UNKNOWN}/activity_details?tracking_activities_list=em_sends"
    );
    assert_eq!(client.get(&unknown).await.0, StatusCode::NOT_FOUND);
    let summaries = "/v3/reports/summary_reports/email_campaign_summaries";
    assert_eq!(
        client.get(&format!("{summaries}?limit=501")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        client
            .send("contact_data", Method::GET, summaries, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        client
            .send("campaign_data", Method::GET, &unknown, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn activity_put_refuses_changed_read_only_fields_and_unknown_segments() {
    let client = Client::new();
    let (campaign_id, primary) = campaign(&client, "Rules").await;
    let path = format!("/v3/emails/activities/{primary}");
    let (_, read) = client.get(&path).await;
    // Echoing back what was read is accepted.
    assert_eq!(client.put(&path, read.clone()).await.0, StatusCode::OK);
    for (field, value) in [
        ("role", json!("permalink")),
        ("format_type", json!(1)),
        ("campaign_id", json!(UNKNOWN)),
        ("current_status", json!("DONE")),
    ] {
        let mut body = read.clone();
        body[field] = value;
        let (status, error) = client.put(&path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(
            message(&error),
            format!("{field} is read-only and cannot be changed")
        );
    }
    let mut body = read.clone();
    body["contact_list_ids"] = json!([]);
    body["segment_ids"] = json!([7]);
    let (status, error) = client.put(&path, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&error).contains("segment_ids contains 7"));
    // Unschedule and list schedules.
    let later = crate::clock::format(&(crate::clock::now() + chrono::Duration::days(1)));
    let schedules = format!("{path}/schedules");
    client
        .post(&schedules, json!({"scheduled_date": later}))
        .await;
    assert_eq!(
        client.get(&schedules).await.1,
        json!([{"scheduled_date": later}])
    );
    assert_eq!(
        client.delete(&format!("/v3/emails/{campaign_id}")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(client.delete(&schedules).await.0, StatusCode::NO_CONTENT);
    assert_eq!(client.get(&schedules).await.1, json!([]));
    assert_eq!(client.delete(&schedules).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        client.delete(&format!("/v3/emails/{campaign_id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(client.get(&path).await.0, StatusCode::NOT_FOUND);
}
