use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::testing::{message, Client};

/// Creates a DRAFT event named `name`; returns it.
async fn event(client: &Client, name: &str) -> Value {
    let path = format!("/v3/events/default?name={}", name.replace(' ', "%20"));
    let (status, event) = client.send("all", Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    event
}

async fn patch(client: &Client, id: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/v3/events/{id}");
    client.send("all", Method::PATCH, &path, Some(body)).await
}

#[tokio::test]
async fn events_are_created_patched_field_by_field_and_copied() {
    let client = Client::new();
    let gala = event(&client, "Gala").await;
    let id = gala["event_id"].as_str().unwrap();
    assert_eq!(gala["status"], "DRAFT");
    assert!(gala["default_track"]["track_id"].is_string());
    let (status, _) = client
        .send("all", Method::POST, "/v3/events/default?name=gala", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "names are unique");
    let bad_time = "/v3/events/default?start_time=tomorrow";
    assert_eq!(
        client.send("all", Method::POST, bad_time, None).await.0,
        StatusCode::BAD_REQUEST
    );

    let change =
        json!({"title": "Winter Gala", "contact": {"name": "Ann", "organization_name": "Acme"}});
    assert_eq!(patch(&client, id, change).await.0, StatusCode::NO_CONTENT);
    let (_, read) = client.get(&format!("/v3/events/{id}?include=true")).await;
    assert_eq!(
        (read["title"].as_str(), read["name"].as_str()),
        (Some("Winter Gala"), Some("Gala"))
    );
    assert_eq!(read["contact"]["organization_name"], "Acme");
    assert!(read["event_settings"].is_object());
    for (body, why) in [
        (json!({"eso": "x"}), "read-only"),
        (json!({"name": ""}), "name too short"),
        (
            json!({"description": "d".repeat(601)}),
            "description too long",
        ),
        (json!({"currency_type": "XYZ"}), "currency"),
        (
            json!({"contact": {"name": "Ann"}}),
            "contact without organization_name",
        ),
        (
            json!({"address": {"line1": "1 Main St"}}),
            "address without type",
        ),
        (
            json!({"event_start": "2030-01-02T00:00:00Z", "event_end": "2030-01-01T00:00:00Z"}),
            "end before start",
        ),
    ] {
        assert_eq!(
            patch(&client, id, body).await.0,
            StatusCode::BAD_REQUEST,
            "{why}"
        );
    }

    let (status, copy) = client
        .post(
            &format!("/v3/events/{id}/copy"),
            json!({"target_event_name": "Gala 2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{copy}");
    assert_eq!(
        (copy["status"].as_str(), copy["title"].as_str()),
        (Some("DRAFT"), Some("Winter Gala"))
    );
    assert_ne!(copy["event_id"], gala["event_id"]);
    let partial = json!({"target_event_name": "Gala 3", "source_campaign_activities": ["550e8400-e29b-41d4-a716-446655440000"]});
    let (status, copy) = client.post(&format!("/v3/events/{id}/copy"), partial).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(
        copy["failed_campaign_activities"][0],
        "550e8400-e29b-41d4-a716-446655440000"
    );
    let taken = client
        .post(
            &format!("/v3/events/{id}/copy"),
            json!({"target_event_name": "Gala 2"}),
        )
        .await;
    assert_eq!(taken.0, StatusCode::BAD_REQUEST);

    client
        .post(
            &format!("/__sandbox/events/{id}/status"),
            json!({"status": "COMPLETE"}),
        )
        .await;
    let (status, body) = patch(&client, id, json!({"title": "Late"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("COMPLETE"), "{body}");
    assert_eq!(client.get("/v3/events/nope").await.0, StatusCode::NOT_FOUND);
    let forbidden = client
        .send("contact_data", Method::GET, "/v3/events", None)
        .await;
    assert_eq!(forbidden.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn events_page_with_the_next_parameter_and_filter() {
    let client = Client::new();
    for name in ["Alpha", "Bravo", "Charlie"] {
        event(&client, name).await;
    }
    let mut href = Some("/v3/events?limit=1&sort_by=name&sort_order=DESC".to_owned());
    let mut names = Vec::new();
    while let Some(path) = href {
        let (status, page) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total_records"], 3);
        names.push(page["records"][0]["name"].as_str().unwrap().to_owned());
        href = page["_links"]["next"]["href"].as_str().map(str::to_owned);
        if let Some(h) = &href {
            assert!(h.starts_with("/v3/events?next="), "{h}");
            assert!(h.ends_with(page["next_cursor"].as_str().unwrap()));
        }
    }
    assert_eq!(names, ["Charlie", "Bravo", "Alpha"]);
    let (_, found) = client.get("/v3/events?search_text=rav").await;
    assert_eq!(found["records"].as_array().unwrap().len(), 1);
    let (_, active) = client.get("/v3/events?event_status=ACTIVE").await;
    assert_eq!(active["total_records"], 0);
    for bad in [
        "limit=101",
        "event_status=LIVE",
        "sort_by=size",
        "next=garbage",
        "prev=x",
    ] {
        let (status, _) = client.get(&format!("/v3/events?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// An ACTIVE event with three registrations (one paid); its id, track and registrations.
async fn registered(client: &Client) -> (String, String, Vec<Value>) {
    let event = event(client, "Concert").await;
    let id = event["event_id"].as_str().unwrap().to_owned();
    let track = event["default_track"]["track_id"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .post(
            &format!("/__sandbox/events/{id}/status"),
            json!({"status": "ACTIVE"}),
        )
        .await;
    let mut registrations = Vec::new();
    for (first, paid) in [("Ann", true), ("Bob", false), ("Cy", false)] {
        let mut body = json!({"first_name": first, "last_name": "Lee", "email_address": format!("{first}@example.com")});
        if paid {
            body["payment_method"] = json!("DOOR");
            body["tickets"] = json!([{"ticket_name": "VIP", "price": 25.0}, {"ticket_name": "VIP", "price": 25.0}]);
        }
        let (status, r) = client
            .post(&format!("/__sandbox/events/{id}/registrations"), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        registrations.push(r);
    }
    (id, track, registrations)
}

#[tokio::test]
async fn check_in_changes_a_registrations_checked_in_state() {
    let client = Client::new();
    let (id, track, registrations) = registered(&client).await;
    let reg = registrations[0]["registration_id"].as_str().unwrap();
    let key = registrations[0]["tickets"][0]["order_ticket_key"]
        .as_str()
        .unwrap();
    let path = format!("/v3/events/{id}/tracks/{track}/registrations/{reg}");
    let check_in = format!("/v3/events/{id}/check_in/tickets");
    let (status, _) = client
        .post(&check_in, json!({"order_ticket_keys": [key]}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, read) = client.get(&path).await;
    assert_eq!(
        (
            read["checkedIn_tickets"].as_i64(),
            read["checkin_status"].as_str()
        ),
        (Some(1), Some("PARTIALLY_CHECKED_IN"))
    );
    assert!(read["tickets"][0]["checked_in_time"].is_string());
    let undo = format!("/v3/events/{id}/undo_check_in/tickets");
    assert_eq!(
        client
            .post(&undo, json!({"order_ticket_keys": [key]}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, read) = client.get(&path).await;
    assert_eq!(read["checkin_status"], "NOT_CHECKED_IN");
    for body in [
        json!({"order_ticket_keys": []}),
        json!({"order_ticket_keys": ["zzzzzz"]}),
    ] {
        assert_eq!(
            client.post(&check_in, body).await.0,
            StatusCode::BAD_REQUEST
        );
    }
    let cancel = json!({"registration_ids": [reg], "registration_status": "CANCELED"});
    let registrations_path = format!("/v3/events/{id}/tracks/{track}/registrations");
    assert_eq!(
        client.put(&registrations_path, cancel).await.0,
        StatusCode::OK
    );
    let (status, body) = client
        .post(&check_in, json!({"order_ticket_keys": [key]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("CANCELED"), "{body}");
    let draft = event(&client, "Draft").await;
    let draft_check_in = format!(
        "/v3/events/{}/check_in/tickets",
        draft["event_id"].as_str().unwrap()
    );
    assert_eq!(
        client
            .post(&draft_check_in, json!({"order_ticket_keys": [key]}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn registrations_are_listed_and_their_statuses_updated() {
    let client = Client::new();
    let (id, track, registrations) = registered(&client).await;
    let base = format!("/v3/events/{id}/tracks/{track}/registrations");
    let (status, page) = client
        .get(&format!(
            "{base}?limit=2&sort_by=first_name&sort_order=DESC"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["records"][0]["first_name"], "Cy");
    assert_eq!(page["total_records"], 3);
    let next = page["_links"]["next"]["href"].as_str().unwrap();
    let (_, last) = client.get(next).await;
    assert_eq!(last["records"][0]["first_name"], "Ann");
    assert!(last.get("_links").is_none());
    let (_, paid) = client.get(&format!("{base}?payment_status=PENDING")).await;
    assert_eq!(paid["total_records"], 1);
    for bad in [
        "limit=2&page_size=3",
        "registration_status=DONE",
        "sort_by=age",
    ] {
        assert_eq!(
            client.get(&format!("{base}?{bad}")).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        client
            .get(&format!("/v3/events/{id}/tracks/other/registrations"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let ids: Vec<&Value> = registrations
        .iter()
        .map(|r| &r["registration_id"])
        .collect();
    let body = json!({"registration_ids": ids, "payment_status": "PAID"});
    assert_eq!(
        client.put(&format!("{base}/payment_status"), body).await.0,
        StatusCode::OK
    );
    let (_, paid) = client.get(&format!("{base}?payment_status=PAID")).await;
    assert_eq!(paid["total_records"], 1, "free registrations are skipped");
    let unknown =
        json!({"registration_ids": [ids[1], "missing"], "registration_status": "CANCELED"});
    let (status, body) = client.put(&base, unknown).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["failed_registration_ids"], json!(["missing"]));
    let (_, canceled) = client
        .get(&format!("{base}?registration_status=CANCELED"))
        .await;
    assert_eq!(canceled["records"][0]["first_name"], "Bob");
    let bad = json!({"registration_ids": [ids[0]], "registration_status": "GONE"});
    assert_eq!(client.put(&base, bad).await.0, StatusCode::BAD_REQUEST);
    let bad_flag = format!("{base}?increase_count=maybe");
    let body = json!({"registration_ids": [ids[0]], "registration_status": "REGISTERED"});
    assert_eq!(client.put(&bad_flag, body).await.0, StatusCode::BAD_REQUEST);
}
