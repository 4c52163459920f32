//! Custom field rules, through the router.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::testing::{message, Client};

#[tokio::test]
async fn select_fields_carry_choices_that_put_replaces() {
    let client = Client::new();
    let body = json!({"label": "Fruit", "type": "single_select", "metadata": {"display_type": "dropdown"},
        "choices": [{"choice_label": "Apple"}, {"choice_label": "Pear", "display_order": 5}]});
    let (status, field) = client.post("/v3/contact_custom_fields", body).await;
    assert_eq!(status, StatusCode::CREATED, "{field}");
    assert_eq!(field["version"], 2);
    assert_eq!(field["choices"][0]["choice_id"], 1);
    assert_eq!(field["choices"][1]["display_order"], 5);
    let id = field["custom_field_id"].as_str().unwrap();
    let path = format!("/v3/contact_custom_fields/{id}");
    let put = json!({"label": "Fruits", "choices": [{"choice_id": 2, "choice_label": "Pears"}, {"choice_label": "Plum"}]});
    let (status, field) = client.put(&path, put).await;
    assert_eq!(status, StatusCode::OK, "{field}");
    let labels: Vec<_> = field["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["choice_id"].clone(), c["choice_label"].clone()))
        .collect();
    assert_eq!(
        labels,
        [(json!(2), json!("Pears")), (json!(3), json!("Plum"))]
    );
    let (status, error) = client
        .put(
            &path,
            json!({"label": "Fruits", "choices": [{"choice_id": 9, "choice_label": "X"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&error).contains("choices.choice_id 9"));
    assert_eq!(client.get(&path).await.1["label"], "Fruits");
    let value = json!({"email_address": {"address": "a@example.com"}, "create_source": "Account",
        "custom_fields": [{"custom_field_id": id, "value": "Plum"}]});
    let (_, contact) = client.post("/v3/contacts", value).await;
    assert_eq!(client.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(client.get(&path).await.0, StatusCode::NOT_FOUND);
    let (_, contact) = client
        .get(&format!(
            "/v3/contacts/{}?include=custom_fields",
            contact["contact_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(contact["custom_fields"], json!([]));
}

#[tokio::test]
async fn custom_field_rules_answer_400_409_404_and_403() {
    let client = Client::new();
    let many: Vec<_> = (0..101)
        .map(|i| json!({"choice_label": format!("c{i}")}))
        .collect();
    let radio: Vec<_> = (0..21)
        .map(|i| json!({"choice_label": format!("c{i}")}))
        .collect();
    let cases = [
        (
            json!({"label": "A", "type": "single_select"}),
            "choices must contain from 1 to 100",
        ),
        (
            json!({"label": "A", "type": "multi_select", "choices": many}),
            "choices must contain from 1 to 100",
        ),
        (
            json!({"label": "A", "type": "single_select", "metadata": {"display_type": "radio"}, "choices": radio}),
            "from 1 to 20",
        ),
        (
            json!({"label": "A", "type": "string", "choices": [{"choice_label": "x"}]}),
            "choices are only allowed",
        ),
        (
            json!({"label": "A", "type": "single_select", "choices": [{"choice_label": "x"}, {"choice_label": "X"}]}),
            "used twice",
        ),
        (
            json!({"label": "A", "type": "colour"}),
            "type does not have a valid value",
        ),
        (
            json!({"label": "A", "type": "string", "version": 3}),
            "version does not have a valid value",
        ),
        (
            json!({"label": "A", "type": "number", "metadata": {"integer": false, "decimal_places": 6}}),
            "decimal_places must be from 1 to 4",
        ),
        (
            json!({"label": "x".repeat(51), "type": "string"}),
            "label exceeds the maximum length of 50",
        ),
    ];
    for (body, expected) in cases {
        let (status, error) = client.post("/v3/contact_custom_fields", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert!(message(&error).contains(expected), "{body}: {error}");
    }
    let field = json!({"label": "Tier", "type": "string"});
    let (_, created) = client
        .post("/v3/contact_custom_fields", field.clone())
        .await;
    assert!(created.get("choices").is_none());
    assert_eq!(
        client.post("/v3/contact_custom_fields", field).await.0,
        StatusCode::CONFLICT
    );
    let unknown = "/v3/contact_custom_fields/4d88f172-21d1-11ea-b5ae-fa163e56c9b0";
    assert_eq!(client.get(unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(client.delete(unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        client.get("/v3/contact_custom_fields?limit=101").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        client
            .send("campaign_data", Method::GET, unknown, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
