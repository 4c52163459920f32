//! Bulk activities (spec `Activity`, `/activities/*`), scope `contact_data`.
//!
//! - `POST /v3/activities/{add,remove}_list_memberships`, `contacts_taggings_{add,remove}`,
//!   `contact_delete` (see `sources`) and `contacts_json_import` (see `import`) answer
//!   **201** with a new activity in state `initialized`; `DELETE /contact_lists/{id}` and
//!   `DELETE /contact_tags/{id}` answer 202 with one. More than 1,000 unfinished
//!   activities → 429.
//! - `GET /v3/activities/{activity_id}`: each GET moves the activity one step, so a
//!   client polling it sees it progress deterministically, without any sleep:
//!
//!   | GET | `state` | `percent_done` |
//!   |---|---|---|
//!   | (the 201) | `initialized` | 0 |
//!   | 1st | `processing` | 33 |
//!   | 2nd | `processing` | 66 |
//!   | 3rd and later | `completed` | 100 |
//!
//!   The effect on contacts, lists and tags (`work`) is applied at the step that
//!   completes it; `activity_errors` (items that could not be processed) are shown from
//!   then on. `POST /__sandbox/activities/{activity_id}/complete` completes one at once.
//! - `list_delete`, `contacts_tags_delete`, `custom_fields_delete` (see `deletes`),
//!   `contact_exports` and `GET /v3/contact_exports/{id}` (see `exports`), and
//!   `contacts_file_import` (see `file_import`) answer 201 with an activity too; an
//!   export's has `_links.results.href`, where its CSV file is.
//! - `GET /v3/activities`: `limit` 1–500 (default 50), `state` (one of `processing`,
//!   `completed`, `cancelled`, `failed`, `timed_out`; `processing` also matches
//!   `initialized`, which the spec's filter does not name); does not advance anything.

mod deletes;
mod exports;
mod file_import;
mod import;
mod select;
mod sources;
mod work;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

pub use work::Work;

use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, Params, PathId};
use crate::state::{Account, Sandbox};

const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};
/// Unfinished activities an account may have queued (spec: 429 past 1,000).
const MAX_QUEUED: usize = 1000;
/// GETs from `initialized` to `completed`.
const STEPS: u8 = 3;

/// Where an activity is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Initialized,
    Processing,
    Completed,
}

/// One bulk activity.
#[derive(Debug)]
pub struct Job {
    id: Uuid,
    work: Work,
    phase: Phase,
    steps: u8,
    created_at: Timestamp,
    updated_at: Timestamp,
    started_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
    /// Items that cannot be processed, known when the activity was created or found
    /// while it completed; shown once it has completed.
    errors: Vec<String>,
}

/// The bulk activity routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/activities", get(list))
        .route("/v3/activities/{activity_id}", get(fetch))
        .merge(sources::routes())
        .merge(import::routes())
        .merge(deletes::routes())
        .merge(exports::routes())
        .merge(file_import::routes())
}

/// The control route that completes an activity at once.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(
        "/__sandbox/activities/{activity_id}/complete",
        post(complete),
    )
}

/// Queues `work` (with the `errors` already known) and returns the activity as the
/// creating request answers it; 429 when the queue is full.
pub fn enqueue(account: &mut Account, work: Work, errors: Vec<String>) -> Result<Value, ApiError> {
    let queued = account
        .bulk
        .iter()
        .filter(|j| j.phase != Phase::Completed)
        .count();
    if queued >= MAX_QUEUED {
        return Err(ApiError::queue_full());
    }
    let now = clock::now();
    let job = Job {
        id: Uuid::new_v4(),
        work,
        phase: Phase::Initialized,
        steps: 0,
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
        errors,
    };
    let body = job.render();
    account.bulk.push(job);
    Ok(body)
}

impl Job {
    fn percent(&self) -> usize {
        match self.phase {
            Phase::Completed => 100,
            _ => usize::from(self.steps) * 100 / usize::from(STEPS),
        }
    }

    fn state(&self) -> &'static str {
        match self.phase {
            Phase::Initialized => "initialized",
            Phase::Processing => "processing",
            Phase::Completed => "completed",
        }
    }

    fn render(&self) -> Value {
        let total = self.work.total();
        let completed = total * self.percent() / 100;
        let done = self.phase == Phase::Completed;
        let errors: &[String] = if done { &self.errors } else { &[] };
        let mut body = json!({
            "activity_id": self.id,
            "state": self.state(),
            "created_at": clock::format(&self.created_at),
            "updated_at": clock::format(&self.updated_at),
            "percent_done": self.percent(),
            "activity_errors": errors,
            "status": self.work.status(total, completed, done.then_some(errors.len())),
            "_links": { "self": { "href": format!("/v3/activities/{}", self.id) } },
        });
        if let Some(at) = &self.started_at {
            body["started_at"] = json!(clock::format(at));
        }
        if let Some(at) = &self.completed_at {
            body["completed_at"] = json!(clock::format(at));
        }
        if let Work::Export { .. } = self.work {
            // The file's id is the activity's (spec `ActivityStatusExportLink`).
            body["_links"]["results"] =
                json!({ "href": format!("/v3/contact_exports/{}", self.id) });
        }
        body
    }
}

/// Moves activity `index` one step (or all the way with `finish`), applying its work
/// when it completes.
fn step(account: &mut Account, index: usize, finish: bool) {
    let now = clock::now();
    let job = &mut account.bulk[index];
    if job.phase == Phase::Completed {
        return;
    }
    job.steps = if finish { STEPS } else { job.steps + 1 };
    job.updated_at = now;
    job.started_at.get_or_insert(now);
    if job.steps < STEPS {
        job.phase = Phase::Processing;
        return;
    }
    job.phase = Phase::Completed;
    job.completed_at = Some(now);
    // Take the work out so it can change the rest of the account, then put it back.
    let work = std::mem::replace(&mut job.work, Work::Done);
    let mut errors = work.apply(account, now);
    let job = &mut account.bulk[index];
    job.work = work;
    job.errors.append(&mut errors);
}

fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::Contacts, "activity_id", id)?;
    account
        .bulk
        .iter()
        .position(|j| j.id == id)
        .ok_or_else(|| ApiError::not_found(Area::Contacts, format!("activity {id} was not found")))
}

/// `GET /v3/activities/{activity_id}`: one step further, then the activity.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    step(&mut account, index, false);
    Ok(Json(account.bulk[index].render()))
}

/// `GET /v3/activities`: `{"activities": [...], "_links": ...}`.
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("activities", query, LIMITS, Area::Contacts)?;
    let states = [
        "processing",
        "completed",
        "cancelled",
        "failed",
        "timed_out",
    ];
    let state = request.param("state");
    if state.is_some_and(|s| !states.contains(&s)) {
        return Err(ApiError::validation(
            Area::Contacts,
            format!(
                "state does not have a valid value (expected {})",
                states.join("|")
            ),
        ));
    }
    let keep = |job: &Job| match state {
        None => true,
        Some("processing") => job.phase != Phase::Completed,
        Some(state) => job.state() == state,
    };
    let account = sandbox.account();
    let page = request.page(&account.bulk, keep);
    let activities: Vec<Value> = page.items.iter().map(|j| j.render()).collect();
    let mut body = json!({ "activities": activities });
    page.link(&mut body);
    Ok(Json(body))
}

/// `POST /__sandbox/activities/{activity_id}/complete`: 200 with the completed activity.
async fn complete(
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let mut account = sandbox.account();
    let index = find(&account, &id)?;
    step(&mut account, index, true);
    Ok(Json(account.bulk[index].render()))
}

#[cfg(test)]
mod tests {
    use crate::lists::SEEDED;
    use crate::testing::Client;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn an_activity_progresses_over_three_polls_then_applies() {
        let client = Client::new();
        let contact = client.contact("a@example.com", &[]).await;
        let body = json!({"source": {"contact_ids": [contact]}, "list_ids": [SEEDED[0].0]});
        let (status, activity) = client
            .post("/v3/activities/add_list_memberships", body)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            (
                activity["state"].as_str(),
                activity["percent_done"].as_u64()
            ),
            (Some("initialized"), Some(0))
        );
        let href = activity["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .to_owned();
        let polls: Vec<(String, u64)> = {
            let mut polls = Vec::new();
            for _ in 0..3 {
                let (_, a) = client.get(&href).await;
                polls.push((
                    a["state"].as_str().unwrap().to_owned(),
                    a["percent_done"].as_u64().unwrap(),
                ));
            }
            polls
        };
        let expected = [("processing", 33), ("processing", 66), ("completed", 100)];
        assert_eq!(polls, expected.map(|(s, p)| (s.to_owned(), p)));
        let (_, contact) = client
            .get(&format!("/v3/contacts/{contact}?include=list_memberships"))
            .await;
        assert_eq!(contact["list_memberships"], json!([SEEDED[0].0]));
        let (_, list) = client.get("/v3/activities?state=completed").await;
        assert_eq!(list["activities"].as_array().unwrap().len(), 1);
        assert_eq!(
            client.get("/v3/activities?state=done").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client.get("/v3/activities?limit=0").await.0,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn unknown_activities_are_404() {
        let client = Client::new();
        let (status, _) = client
            .get("/v3/activities/4d88f172-21d1-11ea-b5ae-fa163e56c9b0")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            client.get("/v3/activities/nope").await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
