//! Tracking, campaign-stats, landing-page, contact-summary and SMS reports, through the
//! router, from data seeded with the control routes.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::testing::{message, Client};

const UNKNOWN: &str = "4d88f172-21d1-11ea-b5ae-fa163e56c9b0";
const HTML: &str = r#"<html><body>[[trackingImage]]<a href="https://a.example/1">1</a><a href="https://a.example/2">2</a><a href="https://a.example/1">again</a></body></html>"#;

/// A draft campaign with two links; returns (campaign id, primary activity id).
async fn campaign(client: &Client, name: &str) -> (String, String) {
    let activity = json!({"format_type": 5, "from_name": "Acme", "from_email": "owner@example.com",
        "reply_to_email": "owner@example.com", "subject": "Hi", "html_content": HTML});
    let body = json!({"name": name, "email_campaign_activities": [activity]});
    let (status, created) = client.post("/v3/emails", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = |v: &Value| v.as_str().unwrap().to_owned();
    (
        id(&created["campaign_id"]),
        id(&created["campaign_activities"][0]["campaign_activity_id"]),
    )
}

/// Contacts named by outcome keyword, sent `activity` through the seeding route.
async fn sent(client: &Client, activity: &str, locals: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for local in locals {
        ids.push(client.contact(&format!("{local}@example.com"), &[]).await);
    }
    let path = format!("/__sandbox/email_reports/{activity}/sends");
    let (status, body) = client.post(&path, json!({ "contact_ids": ids })).await;
    assert_eq!(
        (status, body["sends"].clone()),
        (StatusCode::CREATED, json!(locals.len()))
    );
    ids
}

fn kinds(page: &Value) -> Vec<String> {
    page["tracking_activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["email_address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tracking_reports_list_each_outcome_newest_first() {
    let client = Client::new();
    let (_, activity) = campaign(&client, "Tracked").await;
    sent(
        &client,
        &activity,
        &["bounce", "optout", "click", "forward", "open", "ignore"],
    )
    .await;
    let base = format!("/v3/reports/email_reports/{activity}/tracking");
    let at = |report: &str| format!("{base}/{report}");
    let (status, sends) = client.get(&at("sends")).await;
    assert_eq!(status, StatusCode::OK, "{sends}");
    assert_eq!(kinds(&sends)[0], "ignore@example.com");
    assert_eq!(kinds(&sends).len(), 6);
    let (_, opens) = client.get(&at("unique_opens")).await;
    assert_eq!(
        kinds(&opens),
        [
            "open@example.com",
            "forward@example.com",
            "click@example.com",
            "optout@example.com"
        ]
    );
    for (report, only) in [
        ("didnotopens", "ignore"),
        ("forwards", "forward"),
        ("optouts", "optout"),
        ("bounces?bounce_code=B&bounce_code=Z", "bounce"),
        ("bounces?bounce_code=B,D", "bounce"),
    ] {
        let (_, page) = client.get(&at(report)).await;
        assert_eq!(kinds(&page), [format!("{only}@example.com")], "{report}");
    }
    let (_, none) = client.get(&at("bounces?bounce_code=D")).await;
    assert_eq!(none, json!({"tracking_activities": []}));
    // One click per link; duplicate URLs are one link.
    let (_, clicks) = client.get(&at("clicks")).await;
    let urls: Vec<&str> = clicks["tracking_activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["link_url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["https://a.example/1", "https://a.example/2"]);
    let url_id = clicks["tracking_activities"][1]["url_id"].as_str().unwrap();
    let (_, one) = client.get(&at(&format!("clicks?url_id={url_id}"))).await;
    assert_eq!(
        one["tracking_activities"][0]["link_url"],
        "https://a.example/2"
    );
    // Pages follow the cursor with the filters kept.
    let (_, first) = client.get(&at("sends?limit=4")).await;
    assert_eq!(kinds(&first).len(), 4);
    let next = first["_links"]["next"]["href"].as_str().unwrap();
    let (_, second) = client.get(next).await;
    assert_eq!(kinds(&second), ["optout@example.com", "bounce@example.com"]);
    assert!(second.get("_links").is_none());
}

#[tokio::test]
async fn the_links_report_counts_clickers_and_hides_unclicked_links() {
    let client = Client::new();
    let (_, quiet) = campaign(&client, "Quiet").await;
    let links = format!("/v3/reports/email_reports/{quiet}/links");
    let (status, body) = client.get(&links).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["link_click_counts"], json!([]));
    let (_, all) = client.get(&format!("{links}?no_clicks=true")).await;
    assert_eq!(all["link_click_counts"][1]["unique_clicks"], 0);
    let (_, loud) = campaign(&client, "Loud").await;
    sent(&client, &loud, &["click1", "click2", "open"]).await;
    let (_, body) = client
        .get(&format!("/v3/reports/email_reports/{loud}/links"))
        .await;
    assert_eq!(
        body["link_click_counts"][0]["link_url"],
        "https://a.example/1"
    );
    assert_eq!(body["link_click_counts"][0]["unique_clicks"], 2);
    let bad = format!("{links}?no_clicks=maybe");
    assert_eq!(client.get(&bad).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tracking_requests_are_validated_as_the_api_does() {
    let client = Client::new();
    let (_, activity) = campaign(&client, "Rules").await;
    let base = format!("/v3/reports/email_reports/{activity}/tracking");
    for (path, status) in [
        (format!("{base}/sends?limit=501"), StatusCode::BAD_REQUEST),
        (format!("{base}/sends?limit=0"), StatusCode::BAD_REQUEST),
        (
            format!("{base}/bounces?bounce_code=Q"),
            StatusCode::BAD_REQUEST,
        ),
        (format!("{base}/clicks?url_id=abc"), StatusCode::BAD_REQUEST),
        (format!("{base}/reads"), StatusCode::NOT_FOUND),
        (
            "/v3/reports/email_reports/nope/tracking/sends".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v3/reports/email_reports/{UNKNOWN}/tracking/opens"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/v3/reports/email_reports/{UNKNOWN}/links"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(client.get(&path).await.0, status, "{path}");
    }
    let sends = format!("{base}/sends");
    let denied = client.send("contact_data", Method::GET, &sends, None).await;
    assert_eq!(denied.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn campaign_stats_count_per_campaign_and_report_unsent_ones() {
    let client = Client::new();
    let (sent_id, activity) = campaign(&client, "Counted").await;
    sent(
        &client,
        &activity,
        &["bounce", "click", "forward", "ignore"],
    )
    .await;
    let path = format!("/v3/reports/stats/email_campaigns/{sent_id},{UNKNOWN}");
    let (status, body) = client.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stats = &body["results"][0]["stats"];
    assert_eq!(
        (
            &stats["em_sends"],
            &stats["em_opens"],
            &stats["em_forwards"]
        ),
        (&json!(4), &json!(2), &json!(1))
    );
    assert!(stats.get("em_abuse").is_none());
    assert_eq!(body["results"][0]["percents"]["bounce"], 25.0);
    assert_eq!(body["results"][0]["percents"]["open"], 66.7);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    let many = vec![UNKNOWN; 151].join(",");
    let too_many = format!("/v3/reports/stats/email_campaigns/{many}");
    assert_eq!(client.get(&too_many).await.0, StatusCode::BAD_REQUEST);
    let malformed = format!("/v3/reports/stats/email_campaigns/{sent_id},nope");
    assert_eq!(client.get(&malformed).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn landing_page_reports_keep_the_latest_event_per_contact() {
    let client = Client::new();
    let (_, activity) = campaign(&client, "Landing").await;
    let ann = client.contact("ann@example.com", &[]).await;
    let bob = client.contact("bob@example.com", &[]).await;
    let events = format!("/__sandbox/landing_pages/{activity}/events");
    for (who, kind) in [
        (&ann, "open"),
        (&bob, "open"),
        (&ann, "open"),
        (&bob, "add"),
    ] {
        let (status, _) = client
            .post(&events, json!({"contact_id": who, "type": kind}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let base = format!("/v3/reports/landing_pages/campaign_details/{activity}");
    let (_, all) = client.get(&format!("{base}/p_contact_opens")).await;
    assert_eq!(
        kinds(&all),
        ["ann@example.com", "bob@example.com", "ann@example.com"]
    );
    let (_, unique) = client.get(&format!("{base}/p_unique_contact_opens")).await;
    assert_eq!(kinds(&unique), ["ann@example.com", "bob@example.com"]);
    let (_, filtered) = client
        .get(&format!("{base}/p_unique_contact_opens?contacts_filter=BO"))
        .await;
    assert_eq!(kinds(&filtered), ["bob@example.com"]);
    let (_, adds) = client.get(&format!("{base}/p_unique_contact_adds")).await;
    assert_eq!(
        adds["tracking_activities"][0]["tracking_activity_type"],
        "p_contact_adds"
    );
    for (body, status) in [
        (
            json!({"contact_id": ann, "type": "click"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"contact_id": ann, "type": "share"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"contact_id": UNKNOWN, "type": "open"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(client.post(&events, body).await.0, status);
    }
    let unknown = format!("/v3/reports/landing_pages/campaign_details/{UNKNOWN}/p_contact_opens");
    assert_eq!(client.get(&unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        client.get(&format!("{base}/p_reads")).await.0,
        StatusCode::NOT_FOUND
    );
    let big = format!("{base}/p_contact_opens?limit=501");
    assert_eq!(client.get(&big).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn contact_summaries_need_a_range_of_at_most_five_years() {
    let client = Client::new();
    let (_, activity) = campaign(&client, "Summed").await;
    let ids = sent(&client, &activity, &["click"]).await;
    let rates = format!(
        "/v3/reports/contact_reports/{}/open_and_click_rates",
        ids[0]
    );
    let range = "start=2020-01-01T00:00:00-0500&end=2024-12-31T00:00:00Z";
    let (status, body) = client.get(&format!("{rates}?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["included_activities_count"], 0);
    assert_eq!(body["average_open_rate"], 0.0);
    let now = crate::clock::now();
    let around = format!(
        "start={}&end={}",
        crate::clock::format(&(now - chrono::Duration::days(1))),
        crate::clock::format(&(now + chrono::Duration::days(1)))
    );
    let (_, body) = client.get(&format!("{rates}?{around}")).await;
    assert_eq!(body["average_click_rate"], 1.0);
    let summary = format!("/v3/reports/contact_reports/{}/activity_summary", ids[0]);
    let (_, body) = client.get(&format!("{summary}?{around}")).await;
    assert_eq!(body["campaign_activities"][0]["em_clicks"], 1);
    for query in [
        "start=2020-01-01T00:00:00Z",
        "start=2018-01-01T00:00:00Z&end=2024-01-01T00:00:00Z",
        "start=2024-01-01T00:00:00Z&end=2023-01-01T00:00:00Z",
        "start=yesterday&end=2024-01-01T00:00:00Z",
    ] {
        let (status, error) = client.get(&format!("{summary}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(!message(&error).is_empty());
    }
    let unknown = format!("/v3/reports/contact_reports/{UNKNOWN}/activity_summary?{range}");
    assert_eq!(client.get(&unknown).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sms_summaries_filter_by_date_and_sum_the_page() {
    let client = Client::new();
    for (name, sends, delivers, clicks, date) in [
        ("March", 100, 90, 19, "2025-03-01T00:00:00Z"),
        ("April", 100, 100, 19, "2025-04-01T00:00:00Z"),
        ("Old", 5, 5, 0, "2024-01-01T00:00:00Z"),
    ] {
        let body = json!({"name": name, "sends": sends, "delivers": delivers, "clicks": clicks,
            "last_sent_date": date});
        assert_eq!(
            client.post("/__sandbox/sms_campaigns", body).await.0,
            StatusCode::CREATED
        );
    }
    let path = "/v3/reports/summary_reports/sms_campaign_summaries";
    let (status, body) = client.get(&format!("{path}?start_at=2025-01-01")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["bulk_sms_campaign_summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["campaign_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["April", "March"]);
    assert_eq!(body["aggregate_percents"]["deliver"], 95.0);
    assert_eq!(body["aggregate_percents"]["click"], 20.0);
    let (_, page) = client
        .get(&format!("{path}?start_at=2025-01-01&limit=1"))
        .await;
    let (_, last) = client
        .get(page["_links"]["next"]["href"].as_str().unwrap())
        .await;
    assert_eq!(
        last["bulk_sms_campaign_summaries"][0]["campaign_name"],
        "March"
    );
    for query in ["", "?start_at=never", "?start_at=2025-01-01&limit=51"] {
        let status = client.get(&format!("{path}{query}")).await.0;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
    let bad = json!({"name": "x", "sends": 1, "delivers": 2});
    assert_eq!(
        client.post("/__sandbox/sms_campaigns", bad).await.0,
        StatusCode::BAD_REQUEST
    );
}
