//! Writing segments through the API (spec `SegmentData`, `SegmentName`), scope
//! `contact_data`.
//!
//! - `POST /v3/segments` → 201 `SegmentDetail`; `PUT /v3/segments/{segment_id}` → 200:
//!   both `name` and `segment_criteria` required (400 naming what is missing); the
//!   criteria are JSON text (≤20,000 characters) whose top-level `criteria.type` is
//!   `and`, with a `group` array, else 400; the name is unique among live segments in
//!   any case, else 409.
//! - `PATCH /v3/segments/{segment_id}/name` → 200: `name` required and unique.
//! - `DELETE /v3/segments/{segment_id}` → 204. A deleted segment is no longer listed
//!   and cannot be changed or deleted again (404), but `GET` by id still shows it
//!   (spec: its details are kept for campaign histories).
//!
//! The sandbox does not evaluate criteria: a segment made through the API has no
//! members (seed members with `POST /__sandbox/segments`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::{parse_id, Segment};
use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::{Account, Sandbox};

/// `SegmentData` and `SegmentName`: what the writes read.
#[derive(Debug, Deserialize)]
pub struct SegmentBody {
    name: Option<String>,
    segment_criteria: Option<String>,
}

/// `POST /v3/segments`.
pub async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<SegmentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (name, criteria) = segment_data(&input)?;
    let mut account = sandbox.account();
    unique(&account, &name, None)?;
    let now = clock::now();
    let segment = Segment {
        segment_id: account.segments.len() as i64 + 1,
        name,
        segment_criteria: criteria,
        created_at: now,
        edited_at: now,
        contact_ids: Vec::new(),
        processing_polls: 0,
        deleted: false,
    };
    let body = segment.detail();
    account.segments.push(segment);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `PUT /v3/segments/{segment_id}`: name and criteria replaced.
pub async fn replace(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SegmentBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let (name, criteria) = segment_data(&input)?;
    let mut account = sandbox.account();
    let index = live(&account, id)?;
    unique(&account, &name, Some(id))?;
    let segment = &mut account.segments[index];
    segment.name = name;
    segment.segment_criteria = criteria;
    segment.edited_at = clock::now();
    Ok(Json(segment.detail()))
}

/// `PATCH /v3/segments/{segment_id}/name`.
pub async fn rename(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SegmentBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let mut p = Problems::default();
    let name = input.name.as_deref().map(str::trim);
    p.required("name", name);
    p.finish(Area::General)?;
    let name = name.unwrap_or_default().to_owned();
    let mut account = sandbox.account();
    let index = live(&account, id)?;
    unique(&account, &name, Some(id))?;
    let segment = &mut account.segments[index];
    segment.name = name;
    segment.edited_at = clock::now();
    Ok(Json(segment.detail()))
}

/// `DELETE /v3/segments/{segment_id}`: 204.
pub async fn delete(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut account = sandbox.account();
    let index = live(&account, id)?;
    account.segments[index].deleted = true;
    Ok(StatusCode::NO_CONTENT)
}

/// The name and criteria of a `SegmentData` body, checked.
fn segment_data(input: &SegmentBody) -> Result<(String, String), ApiError> {
    let mut p = Problems::default();
    let name = input.name.as_deref().map(str::trim);
    p.required("name", name);
    let criteria = input.segment_criteria.as_deref();
    p.required("segment_criteria", criteria);
    p.max_len("segment_criteria", criteria, 20_000);
    if let Some(problem) = criteria
        .filter(|c| !c.trim().is_empty())
        .and_then(criteria_problem)
    {
        p.add(problem);
    }
    p.finish(Area::General)?;
    Ok((
        name.unwrap_or_default().to_owned(),
        criteria.unwrap_or_default().to_owned(),
    ))
}

/// Why `criteria` is not segment criteria, if it is not: JSON text whose top-level
/// group (`criteria`) has `type` `and` and a `group` array (spec `SegmentData`).
pub fn criteria_problem(criteria: &str) -> Option<String> {
    let Ok(value) = serde_json::from_str::<Value>(criteria) else {
        return Some("segment_criteria is not valid JSON".to_owned());
    };
    let top = &value["criteria"];
    if top["type"] != "and" || !top["group"].is_array() {
        return Some(
            "segment_criteria.criteria must be a group of type and with a group array".to_owned(),
        );
    }
    None
}

/// The index of live segment `id`; 404 when unknown or deleted.
fn live(account: &Account, id: i64) -> Result<usize, ApiError> {
    account
        .segments
        .iter()
        .position(|s| s.segment_id == id && !s.deleted)
        .ok_or_else(|| ApiError::not_found(Area::General, format!("segment {id} was not found")))
}

/// 409 when another live segment than `except` is named `name` (any case).
fn unique(account: &Account, name: &str, except: Option<i64>) -> Result<(), ApiError> {
    let others = account
        .segments
        .iter()
        .filter(|s| !s.deleted && Some(s.segment_id) != except)
        .map(|s| s.name.as_str());
    ApiError::unless_unique(Area::General, "segment", name, others)
}
