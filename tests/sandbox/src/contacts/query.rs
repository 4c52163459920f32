//! The filters of `GET /v3/contacts` (reference §3.2 table).
//!
//! `status` (csv; default: every contact but deleted ones), `email` (exact,
//! case-insensitive), `lists` (csv of up to 25 ids, any of), `tags` (csv of up to 50
//! ids, any of), the `updated_*` / `created_*` / `optout_*` bounds (ISO-8601,
//! exclusive; `optout_*` keeps only contacts whose email opted out), `sms_status` (csv
//! of `all, explicit, unsubscribed, pending_confirmation, not_set`: the sandbox has no
//! SMS channel, so every contact's SMS status is `not_set`), and `segment_id` (only with
//! `limit`, as the spec says; the segment's members). Every documented filter is
//! honoured; an unknown value is 400. Filters arrive either in the query or inside a
//! cursor; both pass through here.

use uuid::Uuid;

use super::record::Contact;
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area};
use crate::pagination::PageRequest;
use crate::request;
use crate::state::Account;

const STATUSES: [&str; 7] = [
    "all",
    "active",
    "deleted",
    "not_set",
    "pending_confirmation",
    "temp_hold",
    "unsubscribed",
];

/// The filters of one `GET /contacts`.
#[derive(Debug)]
pub struct Filter {
    /// `None`: the default, every contact not deleted.
    status: Option<Vec<String>>,
    email: Option<String>,
    lists: Vec<Uuid>,
    tags: Vec<Uuid>,
    updated_after: Option<Timestamp>,
    updated_before: Option<Timestamp>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    optout_after: Option<Timestamp>,
    optout_before: Option<Timestamp>,
    /// False when `sms_status` asks only for statuses no contact has (see the module doc).
    sms_matches: bool,
    /// The members of the `segment_id` segment.
    pub segment: Option<Vec<Uuid>>,
}

/// The SMS statuses of the spec.
const SMS_STATUSES: [&str; 5] = [
    "all",
    "explicit",
    "unsubscribed",
    "pending_confirmation",
    "not_set",
];

/// The parameters `segment_id` may be combined with (spec: "only with limit").
const WITH_SEGMENT: [&str; 3] = ["segment_id", "limit", "cursor"];

impl Filter {
    /// Reads the filters in force for `request`; 400 for a value the API would refuse.
    pub fn from_request(request: &PageRequest, account: &Account) -> Result<Filter, ApiError> {
        let segment = match request.param("segment_id") {
            None => None,
            Some(text) => Some(segment(request, text, account)?),
        };
        let sms = request::csv(
            Area::Contacts,
            "sms_status",
            request.param("sms_status"),
            &SMS_STATUSES,
        )?;
        let status = request::csv(Area::Contacts, "status", request.param("status"), &STATUSES)?;
        let date = |name: &str| match request.param(name) {
            None => Ok(None),
            Some(text) => clock::parse(text).map(Some).ok_or_else(|| {
                ApiError::validation(
                    Area::Contacts,
                    format!("{name} is not an ISO-8601 date-time"),
                )
            }),
        };
        Ok(Filter {
            status: (!status.is_empty()).then(|| status.into_iter().map(str::to_owned).collect()),
            email: request.param("email").map(|e| e.trim().to_owned()),
            lists: ids(request.param("lists"), "lists", 25)?,
            tags: ids(request.param("tags"), "tags", 50)?,
            updated_after: date("updated_after")?,
            updated_before: date("updated_before")?,
            created_after: date("created_after")?,
            created_before: date("created_before")?,
            optout_after: date("optout_after")?,
            optout_before: date("optout_before")?,
            sms_matches: sms.is_empty() || sms.iter().any(|s| matches!(*s, "all" | "not_set")),
            segment,
        })
    }

    /// Whether `contact` passes every filter.
    pub fn keeps(&self, contact: &Contact) -> bool {
        let after = |bound: Option<Timestamp>, at: Timestamp| bound.is_none_or(|b| at > b);
        let before = |bound: Option<Timestamp>, at: Timestamp| bound.is_none_or(|b| at < b);
        self.keeps_status(contact)
            && self.email.as_deref().is_none_or(|e| contact.has_email(e))
            && (self.lists.is_empty() || self.lists.iter().any(|l| contact.is_member(l)))
            && (self.tags.is_empty() || self.tags.iter().any(|t| contact.taggings.contains(t)))
            && after(self.updated_after, contact.updated_at)
            && before(self.updated_before, contact.updated_at)
            && after(self.created_after, contact.created_at)
            && before(self.created_before, contact.created_at)
            && self.keeps_opt_out(contact)
            && self.sms_matches
            && self
                .segment
                .as_ref()
                .is_none_or(|m| m.contains(&contact.id))
    }

    fn keeps_opt_out(&self, contact: &Contact) -> bool {
        if self.optout_after.is_none() && self.optout_before.is_none() {
            return true;
        }
        contact.opt_out_date().is_some_and(|at| {
            self.optout_after.is_none_or(|b| at > b) && self.optout_before.is_none_or(|b| at < b)
        })
    }

    fn keeps_status(&self, contact: &Contact) -> bool {
        let Some(wanted) = &self.status else {
            return !contact.is_deleted();
        };
        let has = |s: &str| wanted.iter().any(|w| w == s);
        if has("all") {
            return true;
        }
        if contact.is_deleted() {
            return has("deleted");
        }
        (has("active") && contact.is_active()) || has(contact.permission())
    }
}

/// The members of the `segment_id` segment: 400 when other filters come with it or the
/// id is not an integer, 404 when there is no such segment.
fn segment(request: &PageRequest, text: &str, account: &Account) -> Result<Vec<Uuid>, ApiError> {
    if let Some(other) = request.names().find(|n| !WITH_SEGMENT.contains(n)) {
        return Err(ApiError::validation(
            Area::Contacts,
            format!("segment_id can only be combined with limit, not with {other}"),
        ));
    }
    let id: i64 = text.trim().parse().map_err(|_| {
        ApiError::validation(
            Area::Contacts,
            "segment_id must be a single integer segment id",
        )
    })?;
    crate::segments::members(&account.segments, id)
        .map(<[Uuid]>::to_vec)
        .ok_or_else(|| ApiError::not_found(Area::Contacts, format!("segment {id} was not found")))
}

/// A csv of at most `max` UUIDs.
fn ids(value: Option<&str>, name: &str, max: usize) -> Result<Vec<Uuid>, ApiError> {
    let items: Vec<&str> = value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > max {
        return Err(ApiError::validation(
            Area::Contacts,
            format!("{name} may name at most {max} ids"),
        ));
    }
    items
        .into_iter()
        .map(|item| {
            Uuid::try_parse(item).map_err(|_| {
                ApiError::validation(
                    Area::Contacts,
                    format!("{name} contains an id in an invalid format"),
                )
            })
        })
        .collect()
}
