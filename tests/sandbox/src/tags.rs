//! Contact tags (spec `Tag`, `TagPost`, `TagPut`), scope `contact_data`.
//!
//! - `GET /v3/contact_tags`: `limit` 1–500 (default 50), `include_count` → each tag's
//!   `contacts_count`; cursor-paginated.
//! - `POST /v3/contact_tags`: `name` required, 1–255 characters, unique
//!   (case-insensitive) → 409; optional `tag_source`. 201 with the tag.
//! - `GET /v3/contact_tags/{tag_id}` (`include_count`), `PUT` (`{"name"}`, same rules,
//!   200), `DELETE` → **202** with a bulk activity (spec `ActivityGeneric`): the tag is
//!   gone at once (404 afterwards, its name free again), and its taggings are stripped
//!   from contacts when the activity completes (see `bulk`).
//!
//! Contacts carry tags as `taggings` (tag ids); an unknown or deleted tag id there is
//! 400. Deleted tags stay in the collection, hidden, so cursor positions stay valid.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{ContactData, Needs};
use crate::bulk::{self, Work};
use crate::clock::{self, Timestamp};
use crate::contacts::Contact;
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, JsonBody, Params, PathId};
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};

/// A contact tag.
#[derive(Clone, Debug, Serialize)]
pub struct Tag {
    pub tag_id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_source: Option<String>,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
    #[serde(skip)]
    pub deleted: bool,
}

/// Whether the account has a (not deleted) tag with this id.
pub fn exists(tags: &[Tag], id: &Uuid) -> bool {
    tags.iter().any(|t| !t.deleted && t.tag_id == *id)
}

/// The tag routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/contact_tags", get(list).post(create))
        .route(
            "/v3/contact_tags/{tag_id}",
            get(fetch).put(update).delete(remove),
        )
}

fn render(tag: &Tag, count: bool, contacts: &[Contact]) -> Value {
    let mut body = json!(tag);
    if count {
        let tagged = contacts
            .iter()
            .filter(|c| !c.is_deleted() && c.taggings.contains(&tag.tag_id));
        body["contacts_count"] = json!(tagged.count());
    }
    body
}

fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::Contacts, "tag_id", id)?;
    account
        .tags
        .iter()
        .position(|t| !t.deleted && t.tag_id == id)
        .ok_or_else(|| ApiError::not_found(Area::Contacts, format!("tag {id} was not found")))
}

#[derive(Debug, Deserialize)]
struct TagInput {
    name: Option<String>,
    tag_source: Option<String>,
}

/// The trimmed name, or 400; 409 when another live tag has it.
fn check_name(
    input: &TagInput,
    account: &Account,
    except: Option<Uuid>,
) -> Result<String, ApiError> {
    let name = input.name.as_deref().map(str::trim);
    let mut p = Problems::default();
    p.required("name", name);
    p.max_len("name", name, 255);
    p.finish(Area::Contacts)?;
    let name = name.unwrap_or_default().to_owned();
    let others = account
        .tags
        .iter()
        .filter(|t| !t.deleted && Some(t.tag_id) != except);
    ApiError::unless_unique(
        Area::Contacts,
        "tag",
        &name,
        others.map(|t| t.name.as_str()),
    )?;
    Ok(name)
}

/// `GET /v3/contact_tags`: `{"tags": [...], "_links": ...}`.
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("contact_tags", query, LIMITS, Area::Contacts)?;
    let count = request::flag(
        Area::Contacts,
        "include_count",
        request.param("include_count"),
    )?;
    let account = sandbox.account();
    let page = request.page(&account.tags, |t| !t.deleted);
    let tags: Vec<Value> = page
        .items
        .iter()
        .map(|t| render(t, count, &account.contacts))
        .collect();
    let mut body = json!({ "tags": tags });
    page.link(&mut body);
    Ok(Json(body))
}

/// `POST /v3/contact_tags`: 201 with the tag.
async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<TagInput>,
) -> Result<(StatusCode, Json<Tag>), ApiError> {
    let mut account = sandbox.account();
    let name = check_name(&input, &account, None)?;
    let now = clock::now();
    let tag = Tag {
        tag_id: Uuid::new_v4(),
        name,
        tag_source: input.tag_source.filter(|s| !s.trim().is_empty()),
        created_at: now,
        updated_at: now,
        deleted: false,
    };
    account.tags.push(tag.clone());
    Ok((StatusCode::CREATED, Json(tag)))
}

/// `GET /v3/contact_tags/{tag_id}`.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let count = request::flag(
        Area::Contacts,
        "include_count",
        query.get("include_count").map(String::as_str),
    )?;
    let account = sandbox.account();
    let index = find(&account, &id)?;
    Ok(Json(render(&account.tags[index], count, &account.contacts)))
}

/// `PUT /v3/contact_tags/{tag_id}`: renames; 200 with the tag.
async fn update(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<TagInput>,
) -> Result<Json<Tag>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let name = check_name(&input, &account, Some(account.tags[index].tag_id))?;
    let tag = &mut account.tags[index];
    tag.name = name;
    tag.updated_at = clock::now();
    Ok(Json(tag.clone()))
}

/// `DELETE /v3/contact_tags/{tag_id}`: 202 with the activity that un-tags the contacts.
async fn remove(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    let tag_id = account.tags[index].tag_id;
    let tagged: Vec<Uuid> = account
        .contacts
        .iter()
        .filter(|c| c.taggings.contains(&tag_id))
        .map(|c| c.id)
        .collect();
    let body = bulk::enqueue(
        &mut account,
        Work::DeleteTag {
            tag: tag_id,
            contacts: tagged,
        },
        Vec::new(),
    )?;
    account.tags[index].deleted = true;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[cfg(test)]
mod tests {
    use crate::testing::{message, Client};
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    #[tokio::test]
    async fn tags_are_created_renamed_counted_and_deleted() {
        let client = Client::new();
        let (status, tag) = client
            .post("/v3/contact_tags", json!({"name": "VIP"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let id = tag["tag_id"].as_str().unwrap().to_owned();
        let (status, body) = client
            .post("/v3/contact_tags", json!({"name": "vip"}))
            .await;
        assert_eq!(
            (status, body[0]["error_key"].as_str()),
            (StatusCode::CONFLICT, Some("contacts.api.conflict"))
        );
        let contact = json!({"email_address": {"address": "a@example.com"}, "create_source": "Account", "taggings": [id]});
        assert_eq!(
            client.post("/v3/contacts", contact).await.0,
            StatusCode::CREATED
        );
        let (_, tag) = client
            .get(&format!("/v3/contact_tags/{id}?include_count=true"))
            .await;
        assert_eq!(tag["contacts_count"], 1);
        let (status, tag) = client
            .put(&format!("/v3/contact_tags/{id}"), json!({"name": "Gold"}))
            .await;
        assert_eq!(
            (status, tag["name"].as_str()),
            (StatusCode::OK, Some("Gold"))
        );
        let (status, activity) = client.delete(&format!("/v3/contact_tags/{id}")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(activity["state"], "initialized");
        assert_eq!(
            client.get(&format!("/v3/contact_tags/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn tag_rules_answer_400_404_and_403() {
        let client = Client::new();
        let (status, body) = client.post("/v3/contact_tags", json!({"name": ""})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&body).contains("name is missing"));
        let long = "x".repeat(256);
        let (status, body) = client.post("/v3/contact_tags", json!({"name": long})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&body).contains("name exceeds the maximum length of 255"));
        let (status, _) = client.get("/v3/contact_tags?limit=501").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = client
            .get("/v3/contact_tags/4d88f172-21d1-11ea-b5ae-fa163e56c9b0")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = client
            .send("campaign_data", Method::GET, "/v3/contact_tags", None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let unknown = json!({"email_address": {"address": "b@example.com"}, "create_source": "Account", "taggings": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]});
        let (status, body) = client.post("/v3/contacts", unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&body).contains("taggings contains"));
    }
}
