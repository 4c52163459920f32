//! Changing a contact list: `PUT` (a full replace) and `DELETE` (202 with the bulk
//! activity that strips its memberships), as the rules in `lists` describe.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use uuid::Uuid;

use super::{find_live, ContactList, ListInput};
use crate::auth::{ContactData, Needs};
use crate::bulk::{self, Work};
use crate::clock;
use crate::errors::ApiError;
use crate::request::{JsonBody, PathId};
use crate::state::Sandbox;

/// `PUT /v3/contact_lists/{list_id}`: 200 with the list.
pub(super) async fn update(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ListInput>,
) -> Result<Json<ContactList>, ApiError> {
    let mut account = sandbox.account();
    let index = find_live(&account, &id)?;
    let name = input.check(&account, Some(account.lists[index].list_id))?;
    let list = &mut account.lists[index];
    list.name = name;
    list.description = input.description;
    list.favorite = input.favorite.unwrap_or(false);
    list.updated_at = clock::now();
    Ok(Json(list.clone()))
}

/// `DELETE /v3/contact_lists/{list_id}`: 202 with the activity that strips memberships.
pub(super) async fn remove(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = find_live(&account, &id)?;
    let list = account.lists[index].list_id;
    let members: Vec<Uuid> = account
        .contacts
        .iter()
        .filter(|c| c.is_member(&list))
        .map(|c| c.id)
        .collect();
    let body = bulk::enqueue(
        &mut account,
        Work::DeleteList {
            list,
            contacts: members,
        },
        Vec::new(),
    )?;
    let now = clock::now();
    account.lists[index].deleted_at = Some(now);
    account.lists[index].updated_at = now;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[cfg(test)]
mod tests {
    use crate::lists::SEEDED;
    use crate::testing::{message, Client};
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    #[tokio::test]
    async fn lists_are_updated_and_deleted_through_an_activity() {
        let client = Client::new();
        let (_, list) = client
            .post("/v3/contact_lists", json!({"name": "Members"}))
            .await;
        let id = list["list_id"].as_str().unwrap().to_owned();
        let contact = client.contact("a@example.com", &[&id]).await;
        let (status, updated) = client
            .put(
                &format!("/v3/contact_lists/{id}"),
                json!({"name": "Patrons", "favorite": true}),
            )
            .await;
        assert_eq!(
            (
                status,
                updated["name"].as_str(),
                updated["favorite"].as_bool()
            ),
            (StatusCode::OK, Some("Patrons"), Some(true))
        );
        let (status, body) = client
            .put(
                &format!("/v3/contact_lists/{id}"),
                json!({"name": SEEDED[0].1}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (_, counted) = client
            .get(&format!(
                "/v3/contact_lists/{id}?include_membership_count=all"
            ))
            .await;
        assert_eq!(counted["membership_count"], 1);
        let (status, activity) = client.delete(&format!("/v3/contact_lists/{id}")).await;
        assert_eq!(
            (status, activity["state"].as_str()),
            (StatusCode::ACCEPTED, Some("initialized"))
        );
        let (_, gone) = client.get(&format!("/v3/contact_lists/{id}")).await;
        assert!(gone["deleted_at"].is_string());
        let (_, live) = client.get("/v3/contact_lists").await;
        assert_eq!(live["lists"].as_array().unwrap().len(), 2);
        let (_, deleted) = client
            .get("/v3/contact_lists?status=deleted&include_count=true")
            .await;
        assert_eq!(deleted["lists_count"], 1);
        let href = activity["_links"]["self"]["href"].as_str().unwrap();
        for _ in 0..3 {
            client.get(href).await;
        }
        let (_, contact) = client
            .get(&format!("/v3/contacts/{contact}?include=list_memberships"))
            .await;
        assert_eq!(contact["list_memberships"], json!([]));
        assert_eq!(
            client.delete(&format!("/v3/contact_lists/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn list_rules_answer_400_404_and_403() {
        let client = Client::new();
        let (status, body) = client
            .put(&format!("/v3/contact_lists/{}", SEEDED[0].0), json!({}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&body).contains("name is missing"));
        let unknown = "/v3/contact_lists/4d88f172-21d1-11ea-b5ae-fa163e56c9b0";
        assert_eq!(
            client.put(unknown, json!({"name": "x"})).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            client.get("/v3/contact_lists?limit=1001").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client.get("/v3/contact_lists?channel_type=fax").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client
                .get("/v3/contact_lists?include_sms_membership_count=true")
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        let (_, sms) = client
            .get("/v3/contact_lists?channel_type=sms&include_sms_membership_count=true")
            .await;
        assert_eq!(sms["lists"], json!([]));
        assert_eq!(
            client
                .send("account_read", Method::DELETE, unknown, None)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
}
