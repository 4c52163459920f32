//! Deleting many lists, tags or custom fields at once (spec `ListIdList100`,
//! `TagIdList500Limit`, `CustomFieldId100`): 201 with the activity, as every
//! `POST /v3/activities/*`.
//!
//! - `POST /v3/activities/list_delete`: `list_ids`, 1 to 100 live lists, else 400
//!   (the spec documents no 404 here). `status.list_count` counts them.
//! - `POST /v3/activities/contacts_tags_delete`: `tag_ids`, 1 to 500 live tags, else 400.
//! - `POST /v3/activities/custom_fields_delete`: `custom_field_ids`, 1 to 100; a
//!   malformed id is 400, an unknown one 404 (documented here).
//!
//! As `DELETE /contact_lists/{id}` and `/contact_tags/{id}` do, the lists, tags and
//! fields are deleted at once (gone from their collections, their names free); the
//! activity strips them from the contacts when it completes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{enqueue, Work};
use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::{Account, Sandbox};

/// The bulk delete routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/activities/list_delete", post(delete_lists))
        .route("/v3/activities/contacts_tags_delete", post(delete_tags))
        .route(
            "/v3/activities/custom_fields_delete",
            post(delete_custom_fields),
        )
}

type Created = Result<(StatusCode, Json<Value>), ApiError>;

#[derive(Debug, Deserialize)]
struct Ids {
    list_ids: Option<Vec<String>>,
    tag_ids: Option<Vec<String>>,
    custom_field_ids: Option<Vec<String>>,
}

/// Checks that `ids` holds 1 to `max` ids that `exists`; 400 listing what is wrong.
fn live_ids(
    field: &str,
    ids: Option<Vec<String>>,
    max: usize,
    exists: impl Fn(&Uuid) -> bool,
) -> Result<Vec<Uuid>, ApiError> {
    let mut p = Problems::default();
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        p.add(format!("{field} must contain from 1 to {max} ids"));
    }
    let parsed = p.ids(field, ids, max, exists);
    p.finish(Area::Contacts)?;
    Ok(parsed)
}

/// The live contacts for which `has` holds.
fn holders(account: &Account, has: impl Fn(&crate::contacts::Contact) -> bool) -> Vec<Uuid> {
    account
        .contacts
        .iter()
        .filter(|&c| has(c))
        .map(|c| c.id)
        .collect()
}

/// `POST /v3/activities/list_delete`.
async fn delete_lists(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Ids>,
) -> Created {
    let mut account = sandbox.account();
    let lists = live_ids("list_ids", input.list_ids, 100, |id| {
        crate::lists::exists(&account.lists, id)
    })?;
    let contacts = holders(&account, |c| lists.iter().any(|l| c.is_member(l)));
    let body = enqueue(
        &mut account,
        Work::DeleteLists {
            lists: lists.clone(),
            contacts,
        },
        Vec::new(),
    )?;
    crate::lists::mark_deleted(&mut account.lists, &lists, clock::now());
    Ok((StatusCode::CREATED, Json(body)))
}

/// `POST /v3/activities/contacts_tags_delete`.
async fn delete_tags(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Ids>,
) -> Created {
    let mut account = sandbox.account();
    let tags = live_ids("tag_ids", input.tag_ids, 500, |id| {
        crate::tags::exists(&account.tags, id)
    })?;
    let contacts = holders(&account, |c| c.taggings.iter().any(|t| tags.contains(t)));
    let body = enqueue(
        &mut account,
        Work::DeleteTags {
            tags: tags.clone(),
            contacts,
        },
        Vec::new(),
    )?;
    for tag in account.tags.iter_mut().filter(|t| tags.contains(&t.tag_id)) {
        tag.deleted = true;
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// `POST /v3/activities/custom_fields_delete`.
async fn delete_custom_fields(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Ids>,
) -> Created {
    let mut account = sandbox.account();
    let texts = input.custom_field_ids.clone().unwrap_or_default();
    // Documented here: an id that is well formed but unknown is 404, not 400.
    if let Some(id) = texts
        .iter()
        .filter_map(|t| Uuid::try_parse(t.trim()).ok())
        .find(|id| !crate::custom_fields::exists(&account.custom_fields, id))
    {
        return Err(ApiError::not_found(
            Area::Contacts,
            format!("custom field {id} was not found"),
        ));
    }
    let fields = live_ids("custom_field_ids", input.custom_field_ids, 100, |_| true)?;
    let body = enqueue(
        &mut account,
        Work::DeleteCustomFields {
            fields: fields.clone(),
        },
        Vec::new(),
    )?;
    crate::custom_fields::mark_deleted(&mut account.custom_fields, &fields);
    Ok((StatusCode::CREATED, Json(body)))
}

#[cfg(test)]
mod tests {
    use crate::testing::Client;
    use axum::http::StatusCode;
    use serde_json::{json, Value};

    async fn complete(client: &Client, activity: &Value) {
        let id = activity["activity_id"].as_str().unwrap();
        let path = format!("/__sandbox/activities/{id}/complete");
        assert_eq!(client.post(&path, json!({})).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn lists_tags_and_fields_are_deleted_in_bulk() {
        let client = Client::new();
        let (_, list) = client
            .post("/v3/contact_lists", json!({"name": "Gone"}))
            .await;
        let (_, tag) = client
            .post("/v3/contact_tags", json!({"name": "Old"}))
            .await;
        let field = json!({"label": "Size", "type": "string"});
        let (_, field) = client.post("/v3/contact_custom_fields", field).await;
        let list_id = list["list_id"].as_str().unwrap();
        let contact = client.contact("a@example.com", &[list_id]).await;
        let (status, done) = client
            .post("/v3/activities/list_delete", json!({"list_ids": [list_id]}))
            .await;
        assert_eq!(
            (status, &done["status"]),
            (StatusCode::CREATED, &json!({"list_count": 1}))
        );
        complete(&client, &done).await;
        let (_, member) = client
            .get(&format!("/v3/contacts/{contact}?include=list_memberships"))
            .await;
        assert_eq!(member["list_memberships"], json!([]));
        let again = json!({"list_ids": [list_id]});
        let (status, _) = client.post("/v3/activities/list_delete", again).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a deleted list is not live"
        );
        let (status, _) = client
            .post(
                "/v3/activities/contacts_tags_delete",
                json!({"tag_ids": [tag["tag_id"]]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, tags) = client.get("/v3/contact_tags").await;
        assert_eq!(tags["tags"], json!([]));
        let unknown = json!({"custom_field_ids": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]});
        let path = "/v3/activities/custom_fields_delete";
        assert_eq!(client.post(path, unknown).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            client.post(path, json!({"custom_field_ids": []})).await.0,
            StatusCode::BAD_REQUEST
        );
        let ids = json!({"custom_field_ids": [field["custom_field_id"]]});
        assert_eq!(client.post(path, ids).await.0, StatusCode::CREATED);
        let (_, fields) = client.get("/v3/contact_custom_fields").await;
        assert_eq!(fields["custom_fields"], json!([]));
        let many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let (status, _) = client
            .post("/v3/activities/list_delete", json!({"list_ids": many}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
