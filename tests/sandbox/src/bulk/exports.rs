//! Contact exports (spec `ContactsExport`, `ActivityExportStatus`), scope `contact_data`.
//!
//! - `POST /v3/activities/contact_exports` → 201 with the activity, whose
//!   `_links.results.href` is `/v3/contact_exports/{activity_id}`. The contacts (rows):
//!   every live one by default, or one source of `contact_ids` (≤500), `list_ids`
//!   (≤50), `tag_ids` (≤50), `segment_id`, `new_subscriber`; `status` narrows
//!   `contact_ids`, `list_ids` or the default; `exclude.contact_ids` (≤50) only with
//!   `list_ids` or `new_subscriber`. Any other combination is 400, as the spec's
//!   "mutually exclusive" says. Unknown lists, tags or segment: 404.
//!   The columns: `fields` (default: all of [`FIELDS`]), each one of [`FIELDS`] or
//!   `cf:<name>` of an existing custom field; the `email_opt*` ones need `email_address`.
//! - `GET /v3/contact_exports/{file_export_id}` → 200 `text/csv`: a header row, then one
//!   row per exported contact still in the account, written when fetched. 404 for an
//!   unknown id, or before the activity has completed (poll it first).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{enqueue, find, Phase, Work};
use crate::auth::{ContactData, Needs};
use crate::clock;
use crate::contacts::Contact;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, PathId};
use crate::state::{Account, Sandbox};

/// The contact columns an export may have, in their default order.
pub const FIELDS: [&str; 15] = [
    "email_address",
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "birthday_month",
    "birthday_day",
    "anniversary",
    "created_at",
    "updated_at",
    "email_optin_source",
    "email_optin_date",
    "email_optout_source",
    "email_optout_date",
    "email_optout_reason",
];

/// Contact statuses `status` may name.
const STATUSES: [&str; 7] = [
    "all",
    "active",
    "deleted",
    "not_set",
    "pending_confirmation",
    "temp_hold",
    "unsubscribed",
];

/// The export routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/activities/contact_exports", post(export))
        .route("/v3/contact_exports/{file_export_id}", get(file))
}

#[derive(Debug, Default, Deserialize)]
struct Exclude {
    contact_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ExportInput {
    contact_ids: Option<Vec<String>>,
    list_ids: Option<Vec<String>>,
    tag_ids: Option<Vec<String>>,
    new_subscriber: Option<bool>,
    segment_id: Option<i64>,
    fields: Option<Vec<String>>,
    status: Option<String>,
    exclude: Option<Exclude>,
}

impl ExportInput {
    /// 400 for a combination the spec calls mutually exclusive.
    fn check_combination(&self, p: &mut Problems) {
        let new_subscriber = self.new_subscriber == Some(true);
        let sources = [
            ("contact_ids", self.contact_ids.is_some()),
            ("list_ids", self.list_ids.is_some()),
            ("tag_ids", self.tag_ids.is_some()),
            ("segment_id", self.segment_id.is_some()),
        ];
        let given: Vec<&str> = sources.iter().filter(|s| s.1).map(|s| s.0).collect();
        if given.len() > 1 {
            p.add(format!("{} are mutually exclusive", given.join(" and ")));
        }
        let alone = self.tag_ids.is_some() || self.segment_id.is_some();
        if new_subscriber && (alone || self.contact_ids.is_some()) {
            p.add("new_subscriber may only be combined with list_ids or exclude");
        }
        if self.status.is_some() && (alone || new_subscriber) {
            p.add("status may only be combined with contact_ids or list_ids");
        }
        if self.exclude.is_some() && !(self.list_ids.is_some() || new_subscriber) {
            p.add("exclude may only be combined with list_ids or new_subscriber");
        }
    }
}

/// `POST /v3/activities/contact_exports`.
async fn export(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<ExportInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    input.check_combination(&mut p);
    p.one_of("status", input.status.as_deref(), &STATUSES);
    let fields = columns(input.fields.clone(), &account, &mut p);
    let contacts = rows(&account, &input, &mut p)?;
    p.finish(Area::Contacts)?;
    let body = enqueue(&mut account, Work::Export { contacts, fields }, Vec::new())?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// The columns asked for (or all of [`FIELDS`]), checked.
fn columns(fields: Option<Vec<String>>, account: &Account, p: &mut Problems) -> Vec<String> {
    let fields = fields.unwrap_or_else(|| FIELDS.map(str::to_owned).to_vec());
    for field in &fields {
        let known = match field.strip_prefix("cf:") {
            Some(name) => crate::custom_fields::id_by_name(&account.custom_fields, name).is_some(),
            None => FIELDS.contains(&field.as_str()),
        };
        if !known {
            p.add(format!(
                "fields contains {field}, which is not a contact field"
            ));
        }
    }
    let email = fields.iter().any(|f| f == "email_address");
    if !email && fields.iter().any(|f| f.starts_with("email_opt")) {
        p.add("fields must contain email_address to export email_optin_* or email_optout_*");
    }
    fields
}

/// The contacts the input picks, in account order; 404 for unknown lists, tags, segment.
fn rows(account: &Account, input: &ExportInput, p: &mut Problems) -> Result<Vec<Uuid>, ApiError> {
    let now = clock::now();
    let mut ids =
        |field: &str, texts: &Option<Vec<String>>, max: usize, exists: &dyn Fn(&Uuid) -> bool| {
            let texts = texts.clone().unwrap_or_default();
            if texts.len() > max {
                p.add(format!("{field} may contain at most {max} items"));
            }
            let parsed: Vec<Uuid> = texts
                .iter()
                .filter_map(|t| Uuid::try_parse(t.trim()).ok())
                .collect();
            if parsed.len() != texts.len() {
                p.add(format!("{field} contains an id in an invalid format"));
            }
            match parsed.iter().find(|id| !exists(id)) {
                Some(id) => Err(ApiError::not_found(
                    Area::Contacts,
                    format!("{field} contains {id}, which was not found"),
                )),
                None => Ok(parsed),
            }
        };
    let named = ids("contact_ids", &input.contact_ids, 500, &|id| {
        account.contacts.iter().any(|c| c.id == *id)
    })?;
    let lists = ids("list_ids", &input.list_ids, 50, &|id| {
        crate::lists::exists(&account.lists, id)
    })?;
    let tags = ids("tag_ids", &input.tag_ids, 50, &|id| {
        crate::tags::exists(&account.tags, id)
    })?;
    let excluded = ids(
        "exclude.contact_ids",
        &input.exclude.as_ref().and_then(|e| e.contact_ids.clone()),
        50,
        &|_| true,
    )?;
    let members = match input.segment_id {
        Some(id) => Some(
            crate::segments::members(&account.segments, id).ok_or_else(|| {
                ApiError::not_found(Area::Contacts, format!("segment {id} was not found"))
            })?,
        ),
        None => None,
    };
    let status = input.status.as_deref().unwrap_or("active");
    let keep = |c: &Contact| {
        let source = if input.contact_ids.is_some() {
            named.contains(&c.id)
        } else if input.list_ids.is_some() {
            lists.iter().any(|l| c.is_member(l))
        } else if input.tag_ids.is_some() {
            c.taggings.iter().any(|t| tags.contains(t))
        } else if let Some(members) = members {
            members.contains(&c.id)
        } else {
            true
        };
        let new = input.new_subscriber != Some(true) || c.is_new_subscriber(now);
        source && new && !excluded.contains(&c.id) && has_status(c, status)
    };
    Ok(account
        .contacts
        .iter()
        .filter(|&c| keep(c))
        .map(|c| c.id)
        .collect())
}

/// Whether `contact` has `status` (`all`, `active`, `deleted` or an email permission).
fn has_status(contact: &Contact, status: &str) -> bool {
    match status {
        "all" => true,
        "deleted" => contact.is_deleted(),
        "active" => !contact.is_deleted(),
        permission => !contact.is_deleted() && contact.permission() == permission,
    }
}

/// `GET /v3/contact_exports/{file_export_id}`: the CSV file.
async fn file(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<impl IntoResponse, ApiError> {
    let account = sandbox.account();
    let not_found =
        || ApiError::not_found(Area::Contacts, format!("export file {id} was not found"));
    let index = find(&account, &id).map_err(|_| not_found())?;
    let job = &account.bulk[index];
    let Work::Export { contacts, fields } = &job.work else {
        return Err(not_found());
    };
    if job.phase != Phase::Completed {
        return Err(ApiError::not_found(
            Area::Contacts,
            format!("export file {id} is not ready: poll the activity until it is completed"),
        ));
    }
    let csv = write_csv(&account, contacts, fields);
    Ok(([(CONTENT_TYPE, "text/csv")], csv))
}

/// The header row and one row per contact of `ids` still in the account.
fn write_csv(account: &Account, ids: &[Uuid], fields: &[String]) -> String {
    let mut out = line(fields.iter().map(String::as_str));
    for contact in account.contacts.iter().filter(|c| ids.contains(&c.id)) {
        let cells: Vec<String> = fields.iter().map(|f| cell(account, contact, f)).collect();
        out.push_str(&line(cells.iter().map(String::as_str)));
    }
    out
}

/// One CSV line: cells joined by commas, quoted where they hold `,`, `"` or a newline.
fn line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = cells
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_owned()
            }
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

/// The value of column `field` for `contact` (empty when it has none).
fn cell(account: &Account, contact: &Contact, field: &str) -> String {
    let d = &contact.details;
    let email = contact.email.as_ref();
    let date = |at: Option<&clock::Timestamp>| at.map(clock::format).unwrap_or_default();
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    let number = |v: Option<u8>| v.map(|n| n.to_string()).unwrap_or_default();
    match field {
        "email_address" => text(email.map(|e| &e.address)),
        "first_name" => text(d.first_name.as_ref()),
        "last_name" => text(d.last_name.as_ref()),
        "job_title" => text(d.job_title.as_ref()),
        "company_name" => text(d.company_name.as_ref()),
        "birthday_month" => number(d.birthday_month),
        "birthday_day" => number(d.birthday_day),
        "anniversary" => text(d.anniversary.as_ref()),
        "created_at" => clock::format(&contact.created_at),
        "updated_at" => clock::format(&contact.updated_at),
        "email_optin_source" => text(email.and_then(|e| e.opt_in_source.as_ref())),
        "email_optin_date" => date(email.and_then(|e| e.opt_in_date.as_ref())),
        "email_optout_source" => text(email.and_then(|e| e.opt_out_source.as_ref())),
        "email_optout_date" => date(email.and_then(|e| e.opt_out_date.as_ref())),
        "email_optout_reason" => text(email.and_then(|e| e.opt_out_reason.as_ref())),
        custom => {
            let name = custom.strip_prefix("cf:").unwrap_or(custom);
            let id = crate::custom_fields::id_by_name(&account.custom_fields, name);
            let value = contact
                .custom_fields
                .iter()
                .find(|v| Some(v.custom_field_id) == id);
            value.map(|v| v.value.clone()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Client;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn an_export_writes_the_chosen_contacts_and_columns() {
        let client = Client::new();
        let ada = client.contact("ada@example.com", &[]).await;
        client.contact("bob@example.com", &[]).await;
        let body = json!({"contact_ids": [ada], "fields": ["email_address", "first_name"]});
        let (status, activity) = client.post("/v3/activities/contact_exports", body).await;
        assert_eq!(status, StatusCode::CREATED, "{activity}");
        let href = activity["_links"]["results"]["href"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            client.get(&href).await.0,
            StatusCode::NOT_FOUND,
            "not ready yet"
        );
        let id = activity["activity_id"].as_str().unwrap();
        client
            .post(&format!("/__sandbox/activities/{id}/complete"), json!({}))
            .await;
        let response = client.raw("GET", &href, None, None).await;
        assert_eq!(response.0, StatusCode::OK);
        assert_eq!(
            response.1,
            "email_address,first_name\r\nada@example.com,\r\n"
        );
        for bad in [
            json!({"contact_ids": [ada], "list_ids": []}),
            json!({"tag_ids": [], "status": "active"}),
            json!({"exclude": {"contact_ids": [ada]}}),
            json!({"fields": ["shoe_size"]}),
            json!({"fields": ["email_optin_date"]}),
            json!({"status": "asleep"}),
        ] {
            let (status, error) = client
                .post("/v3/activities/contact_exports", bad.clone())
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
        }
        let unknown = json!({"list_ids": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]});
        let (status, _) = client.post("/v3/activities/contact_exports", unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
