//! Segments (spec `SegmentMaster`, `SegmentDetail`), scope `contact_data`.
//!
//! - `GET /v3/segments`: `limit` 1–1000 (default 1000, the spec's default), `sort_by`
//!   `date` (default: most recently edited first) or `name` (ascending); deleted
//!   segments are never listed. Cursor-paginated.
//! - `GET /v3/segments/{segment_id}`: an integer id (else 400), 404 when unknown; the
//!   detail carries `segment_criteria`; a deleted segment is still shown.
//! - Create, replace, rename and delete: see `writes`.
//!
//! The sandbox cannot evaluate segment criteria, so segments are made through the
//! control API, naming their members: `POST /__sandbox/segments {"name",
//! "segment_criteria"?, "contact_ids": [...], "processing_polls"?}` → 201 with the
//! segment (and its `contact_ids`). The criteria are stored as given (opaque, ≤20,000
//! characters). `GET /v3/contacts?segment_id=` returns the members and, while
//! `processing_polls` is above zero, answers 202 `{"status": "processing"}` once per
//! poll instead (the documented "retry" case). Campaign activities accept the ids in
//! `segment_ids`; sends go to the members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, PageRequest};
use crate::request::{JsonBody, Params};
use crate::state::{Account, Sandbox};

mod writes;

const LIMITS: Limits = Limits {
    default: 1000,
    max: 1000,
};

/// A segment.
#[derive(Clone, Debug)]
pub struct Segment {
    pub segment_id: i64,
    name: String,
    segment_criteria: String,
    created_at: Timestamp,
    edited_at: Timestamp,
    contact_ids: Vec<Uuid>,
    /// How many more `GET /contacts?segment_id=` answer 202 "processing".
    pub processing_polls: u32,
    /// Deleted: no longer listed or changed, still shown by id.
    deleted: bool,
}

impl Segment {
    fn summary(&self) -> Value {
        json!({
            "segment_id": self.segment_id,
            "name": self.name,
            "created_at": clock::format(&self.created_at),
            "edited_at": clock::format(&self.edited_at),
        })
    }

    fn detail(&self) -> Value {
        let mut body = self.summary();
        body["segment_criteria"] = json!(self.segment_criteria);
        body
    }
}

/// The members of segment `id`; `None` when there is no such segment.
pub fn members(segments: &[Segment], id: i64) -> Option<&[Uuid]> {
    segments
        .iter()
        .find(|s| s.segment_id == id)
        .map(|s| s.contact_ids.as_slice())
}

/// The segment routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/segments", get(list).post(writes::create))
        .route(
            "/v3/segments/{segment_id}",
            get(fetch).put(writes::replace).delete(writes::delete),
        )
        .route("/v3/segments/{segment_id}/name", patch(writes::rename))
}

/// The control route that creates segments.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route("/__sandbox/segments", post(create))
}

/// `GET /v3/segments`: `{"segments": [...], "_links": ...}`.
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("segments", query, LIMITS, Area::General)?;
    let account = sandbox.account();
    let mut sorted: Vec<&Segment> = account.segments.iter().collect();
    match request.param("sort_by").unwrap_or("date") {
        "date" => sorted.sort_by_key(|s| std::cmp::Reverse(s.edited_at)),
        "name" => sorted.sort_by_key(|s| s.name.to_lowercase()),
        _ => {
            return Err(ApiError::validation(
                Area::General,
                "sort_by does not have a valid value (expected date|name)",
            ))
        }
    }
    let page = request.page(&sorted, |s| !s.deleted);
    let segments: Vec<Value> = page.items.iter().map(|s| s.summary()).collect();
    let mut body = json!({ "segments": segments });
    page.link(&mut body);
    Ok(Json(body))
}

/// `GET /v3/segments/{segment_id}`.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let account = sandbox.account();
    let segment = account
        .segments
        .iter()
        .find(|s| s.segment_id == id)
        .ok_or_else(|| ApiError::not_found(Area::General, format!("segment {id} was not found")))?;
    Ok(Json(segment.detail()))
}

/// A `{segment_id}` of the path: an int32, else 400.
fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse()
        .ok()
        .filter(|id| (0..=i64::from(i32::MAX)).contains(id))
        .ok_or_else(|| ApiError::validation(Area::General, "segment_id must be an integer"))
}

#[derive(Debug, Deserialize)]
struct SegmentInput {
    name: Option<String>,
    segment_criteria: Option<String>,
    #[serde(default)]
    contact_ids: Vec<Uuid>,
    #[serde(default)]
    processing_polls: u32,
}

/// `POST /__sandbox/segments`: 201 with the segment; 409 when the name is taken.
async fn create(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<SegmentInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut p = Problems::default();
    let name = input.name.as_deref().map(str::trim);
    p.required("name", name);
    p.max_len(
        "segment_criteria",
        input.segment_criteria.as_deref(),
        20_000,
    );
    p.finish(Area::General)?;
    let name = name.unwrap_or_default().to_owned();
    let mut account = sandbox.account();
    ensure_members(&account, &input.contact_ids)?;
    let others = account
        .segments
        .iter()
        .filter(|s| !s.deleted)
        .map(|s| s.name.as_str());
    ApiError::unless_unique(Area::General, "segment", &name, others)?;
    let now = clock::now();
    let segment = Segment {
        segment_id: account.segments.len() as i64 + 1,
        name,
        segment_criteria: input.segment_criteria.unwrap_or_else(|| "{}".to_owned()),
        created_at: now,
        edited_at: now,
        contact_ids: input.contact_ids,
        processing_polls: input.processing_polls,
        deleted: false,
    };
    let mut body = segment.detail();
    body["contact_ids"] = json!(segment.contact_ids);
    account.segments.push(segment);
    Ok((StatusCode::CREATED, Json(body)))
}

/// 400 unless every id names a contact of the account.
fn ensure_members(account: &Account, ids: &[Uuid]) -> Result<(), ApiError> {
    match ids
        .iter()
        .find(|id| !account.contacts.iter().any(|c| c.id == **id))
    {
        Some(id) => Err(ApiError::bad_request(format!(
            "contact_ids contains {id}, which does not exist"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Client;
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    #[tokio::test]
    async fn segments_are_listed_fetched_and_filter_contacts() {
        let client = Client::new();
        let a = client.contact("a@example.com", &[]).await;
        client.contact("b@example.com", &[]).await;
        let body = json!({"name": "Engaged", "segment_criteria": "{\"version\":\"1.0.0\"}", "contact_ids": [a], "processing_polls": 1});
        let (status, segment) = client.post("/__sandbox/segments", body).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(segment["segment_id"], 1);
        assert_eq!(
            client
                .post("/__sandbox/segments", json!({"name": "engaged"}))
                .await
                .0,
            StatusCode::CONFLICT
        );
        let (_, list) = client.get("/v3/segments").await;
        assert_eq!(list["segments"][0]["name"], "Engaged");
        assert!(list["segments"][0].get("segment_criteria").is_none());
        let (_, detail) = client.get("/v3/segments/1").await;
        assert_eq!(detail["segment_criteria"], "{\"version\":\"1.0.0\"}");
        assert_eq!(client.get("/v3/segments/2").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            client.get("/v3/segments/abc").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client.get("/v3/segments?sort_by=size").await.0,
            StatusCode::BAD_REQUEST
        );
        let (status, processing) = client.get("/v3/contacts?segment_id=1&limit=10").await;
        assert_eq!(
            (status, processing["status"].as_str()),
            (StatusCode::ACCEPTED, Some("processing"))
        );
        let (status, members) = client.get("/v3/contacts?segment_id=1&limit=10").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(members["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(
            client.get("/v3/contacts?segment_id=1&status=all").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client.get("/v3/contacts?segment_id=9").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            client
                .send("campaign_data", Method::GET, "/v3/segments", None)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn segments_are_created_changed_renamed_and_deleted() {
        let client = Client::new();
        let criteria = r#"{"version":"1.0.0","criteria":{"type":"and","group":[]}}"#;
        let body = json!({"name": "Openers", "segment_criteria": criteria});
        let (status, made) = client.post("/v3/segments", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["segment_criteria"], criteria);
        let id = made["segment_id"].as_i64().unwrap();
        assert_eq!(
            client.post("/v3/segments", body).await.0,
            StatusCode::CONFLICT
        );
        for bad in [
            json!({"name": "X"}),
            json!({"name": "X", "segment_criteria": "{not json"}),
            json!({"name": "X", "segment_criteria": r#"{"criteria":{"type":"or","group":[]}}"#}),
            json!({"name": "X", "segment_criteria": "x".repeat(20_001)}),
        ] {
            let (status, error) = client.post("/v3/segments", bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
        }
        let path = format!("/v3/segments/{id}");
        let (status, put) = client
            .put(
                &path,
                json!({"name": "Clickers", "segment_criteria": criteria}),
            )
            .await;
        assert_eq!(
            (status, put["name"].as_str()),
            (StatusCode::OK, Some("Clickers"))
        );
        let rename = json!({"name": "Fans"});
        let (status, renamed) = client
            .send("all", Method::PATCH, &format!("{path}/name"), Some(rename))
            .await;
        assert_eq!(
            (status, renamed["name"].as_str()),
            (StatusCode::OK, Some("Fans"))
        );
        assert_eq!(client.delete(&path).await.0, StatusCode::NO_CONTENT);
        assert_eq!(client.delete(&path).await.0, StatusCode::NOT_FOUND);
        assert_eq!(client.get(&path).await.1["name"], "Fans");
        let (_, list) = client.get("/v3/segments").await;
        assert_eq!(list["segments"], json!([]));
        let (status, _) = client
            .post(
                "/v3/segments",
                json!({"name": "fans", "segment_criteria": criteria}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "a deleted segment's name is free again"
        );
    }
}
