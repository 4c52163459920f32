//! Contact lists (reference §3.4), scope `contact_data`.
//!
//! - `GET /v3/contact_lists`: `limit` (1–1000, default 50), `include_count` →
//!   `lists_count`, `include_membership_count=all|active` → `membership_count`, `name`
//!   (exact), `status` (csv of `all|active|deleted`, default `active`), `channel_type`
//!   (`email`, the default, or `sms`: the sandbox has no SMS lists, so `sms` finds none),
//!   `include_sms_membership_count` (only with `channel_type=sms`, else 400);
//!   cursor-paginated.
//! - `POST /v3/contact_lists`: `name` (≤255, unique among live lists → 409),
//!   `description`, `favorite`. 201.
//! - `GET /v3/contact_lists/{list_id}`: one list (+ `include_membership_count`); a
//!   deleted list is still returned, with `deleted_at`.
//! - `PUT /v3/contact_lists/{list_id}`: `name` required (same rules), `favorite`,
//!   `description`; omitted ones are reset (a full replace). 200; 404 for a deleted list.
//! - `DELETE /v3/contact_lists/{list_id}`: **202** with a bulk activity (spec
//!   `ActivityDeleteListResponse`): the list is deleted at once (its name is free
//!   again, contacts can no longer join it); its memberships are stripped when the
//!   activity completes (see `bulk`; `POST /v3/activities/list_delete` deletes many).
//! - `GET /v3/contact_lists/list_id_xrefs`: V2 → V3 ids (see `contacts::xrefs`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

mod changes;

use crate::auth::{ContactData, Needs};
use crate::clock::{self, Timestamp};
use crate::contacts::Contact;
use crate::errors::{ApiError, Area, Problems};
use crate::pagination::{Limits, PageRequest};
use crate::request::{self, JsonBody, Params, PathId};
use crate::state::{Account, Sandbox};

/// The spec's maximum `limit` is 1000 (the description says 500; the larger is accepted).
const LIMITS: Limits = Limits {
    default: 50,
    max: 1000,
};

/// The seeded lists, with fixed ids so demos and tests can name them.
pub const SEEDED: [(&str, &str); 2] = [
    ("0f7d3c8a-5b7e-4d2a-9c41-6e2f1a3b5c01", "General Interest"),
    ("0f7d3c8a-5b7e-4d2a-9c41-6e2f1a3b5c02", "Newsletter"),
];

/// A contact list.
#[derive(Clone, Debug, Serialize)]
pub struct ContactList {
    list_id: Uuid,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    favorite: bool,
    #[serde(serialize_with = "clock::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "clock::serialize")]
    updated_at: Timestamp,
    #[serde(
        serialize_with = "clock::serialize_opt",
        skip_serializing_if = "Option::is_none"
    )]
    deleted_at: Option<Timestamp>,
}

/// The lists every sandbox starts with (see [`SEEDED`]).
pub fn seed() -> Vec<ContactList> {
    let now = clock::now();
    let list = |(id, name): (&str, &str)| ContactList {
        // The ids above are valid UUIDs; `nil` is unreachable.
        list_id: Uuid::try_parse(id).unwrap_or_default(),
        name: name.to_owned(),
        description: None,
        favorite: false,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    SEEDED.into_iter().map(list).collect()
}

/// Whether the account has a live (not deleted) list with this id.
pub fn exists(lists: &[ContactList], id: &Uuid) -> bool {
    lists
        .iter()
        .any(|l| l.list_id == *id && l.deleted_at.is_none())
}

/// Marks the lists `ids` deleted at `now` (their names are free again).
pub fn mark_deleted(lists: &mut [ContactList], ids: &[Uuid], now: Timestamp) {
    for list in lists.iter_mut().filter(|l| ids.contains(&l.list_id)) {
        list.deleted_at = Some(now);
        list.updated_at = now;
    }
}

/// The list routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/contact_lists", get(list).post(create))
        .route(
            "/v3/contact_lists/{list_id}",
            get(fetch).put(changes::update).delete(changes::remove),
        )
        .route("/v3/contact_lists/list_id_xrefs", get(list_xrefs))
}

/// `GET /v3/contact_lists/list_id_xrefs`: V2 list ids, by creation order (see
/// `contacts::xrefs`).
async fn list_xrefs(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    use crate::contacts::xrefs;
    let ids = xrefs::sequence_ids(query.get("sequence_ids").map(String::as_str))?;
    let account = sandbox.account();
    let known: Vec<String> = account
        .lists
        .iter()
        .map(|l| l.list_id.to_string())
        .collect();
    Ok(Json(xrefs::xrefs(&ids, "list_id", &known)))
}

/// Which members `membership_count` counts: every one, or only active contacts.
#[derive(Clone, Copy)]
enum Count {
    All,
    Active,
}

fn membership_count(value: Option<&str>) -> Result<Option<Count>, ApiError> {
    match value {
        None => Ok(None),
        Some("all") => Ok(Some(Count::All)),
        Some("active") => Ok(Some(Count::Active)),
        Some(_) => Err(ApiError::validation(
            Area::Contacts,
            "include_membership_count does not have a valid value",
        )),
    }
}

/// A list as JSON, with `membership_count` when asked for.
fn render(list: &ContactList, count: Option<Count>, contacts: &[Contact]) -> Value {
    let mut body = json!(list);
    if let Some(count) = count {
        let members = contacts.iter().filter(|c| c.is_member(&list.list_id));
        body["membership_count"] = json!(match count {
            Count::All => members.count(),
            Count::Active => members.filter(|c| c.is_active()).count(),
        });
    }
    body
}

/// `GET /v3/contact_lists`: `{"lists": [...], "lists_count": n, "_links": ...}`.
async fn list(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query("contact_lists", query, LIMITS, Area::Contacts)?;
    let count = membership_count(request.param("include_membership_count"))?;
    let include_count = request::flag(
        Area::Contacts,
        "include_count",
        request.param("include_count"),
    )?;
    let status = request::csv(
        Area::Contacts,
        "status",
        request.param("status"),
        &["all", "active", "deleted"],
    )?;
    let has = |s: &str| status.contains(&s) || status.contains(&"all");
    let (active, deleted) = if status.is_empty() {
        (true, false)
    } else {
        (has("active"), has("deleted"))
    };
    let sms = match request.param("channel_type") {
        None | Some("email") => false,
        Some("sms") => true,
        Some(_) => {
            return Err(ApiError::validation(
                Area::Contacts,
                "channel_type does not have a valid value (expected email|sms)",
            ))
        }
    };
    let sms_count = request::flag(
        Area::Contacts,
        "include_sms_membership_count",
        request.param("include_sms_membership_count"),
    )?;
    if sms_count && !sms {
        return Err(ApiError::validation(
            Area::Contacts,
            "include_sms_membership_count is only applicable with channel_type=sms",
        ));
    }
    let name = request.param("name");
    // Every sandbox list is an email list: an `sms` channel finds none.
    let keep = |l: &ContactList| {
        !sms && (if l.deleted_at.is_some() {
            deleted
        } else {
            active
        }) && name.is_none_or(|n| l.name == n)
    };
    let account = sandbox.account();
    let page = request.page(&account.lists, keep);
    let lists: Vec<Value> = page
        .items
        .iter()
        .map(|l| render(l, count, &account.contacts))
        .collect();
    let mut body = json!({ "lists": lists });
    if include_count {
        body["lists_count"] = json!(account.lists.iter().filter(|l| keep(l)).count());
    }
    page.link(&mut body);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
struct ListInput {
    name: Option<String>,
    description: Option<String>,
    favorite: Option<bool>,
}

impl ListInput {
    /// The trimmed name, or 400; 409 when another live list has it.
    fn check(&self, account: &Account, except: Option<Uuid>) -> Result<String, ApiError> {
        let name = self.name.as_deref().map(str::trim);
        let mut problems = Problems::default();
        problems.required("name", name);
        problems.max_len("name", name, 255);
        problems.finish(Area::Contacts)?;
        let name = name.unwrap_or_default().to_owned();
        let others = account
            .lists
            .iter()
            .filter(|l| l.deleted_at.is_none() && Some(l.list_id) != except);
        ApiError::unless_unique(
            Area::Contacts,
            "list",
            &name,
            others.map(|l| l.name.as_str()),
        )?;
        Ok(name)
    }
}

/// `POST /v3/contact_lists`: 201 with the list; 409 when the name is taken.
async fn create(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<ListInput>,
) -> Result<(StatusCode, Json<ContactList>), ApiError> {
    let mut account = sandbox.account();
    let name = input.check(&account, None)?;
    let now = clock::now();
    let list = ContactList {
        list_id: Uuid::new_v4(),
        name,
        description: input.description,
        favorite: input.favorite.unwrap_or(false),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    account.lists.push(list.clone());
    Ok((StatusCode::CREATED, Json(list)))
}

pub(super) fn find(account: &Account, id: &str) -> Result<usize, ApiError> {
    let id = request::uuid(Area::Contacts, "list_id", id)?;
    account
        .lists
        .iter()
        .position(|l| l.list_id == id)
        .ok_or_else(|| ApiError::not_found(Area::Contacts, format!("list {id} was not found")))
}

/// [`find`] for a list that is not deleted.
pub(super) fn find_live(account: &Account, id: &str) -> Result<usize, ApiError> {
    let index = find(account, id)?;
    if account.lists[index].deleted_at.is_some() {
        let id = account.lists[index].list_id;
        return Err(ApiError::not_found(
            Area::Contacts,
            format!("list {id} was deleted"),
        ));
    }
    Ok(index)
}

/// `GET /v3/contact_lists/{list_id}`.
async fn fetch(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let count = membership_count(query.get("include_membership_count").map(String::as_str))?;
    let account = sandbox.account();
    let index = find(&account, &id)?;
    Ok(Json(render(
        &account.lists[index],
        count,
        &account.contacts,
    )))
}
