//! The account's email addresses (reference §3.1).
//!
//! - `GET /v3/account/emails` (`account_read`): one filter at a time, bare array.
//! - `POST /v3/account/emails` (`account_update`): new addresses start `UNCONFIRMED`;
//!   only `CONFIRMED` ones may send campaigns (see `campaigns`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{AccountRead, AccountUpdate, Needs};
use crate::clock::{self, Timestamp};
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, Params};
use crate::state::Sandbox;

/// An email address of the account.
#[derive(Clone, Debug, Serialize)]
pub struct AccountEmail {
    email_address: String,
    email_id: u64,
    confirm_status: &'static str,
    #[serde(
        serialize_with = "clock::serialize_opt",
        skip_serializing_if = "Option::is_none"
    )]
    confirm_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm_source_type: Option<&'static str>,
    /// Who confirmed the address. The spec's `AccountEmails` lacks it, but the real
    /// API returns it beside `confirm_source_type` (recorded answers, issue 21).
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm_source: Option<&'static str>,
    roles: Vec<&'static str>,
    pending_roles: Vec<&'static str>,
}

/// The seeded addresses: `owner@example.com` (id 1, CONFIRMED, roles CONTACT and
/// REPLY_TO) and `pending@example.com` (id 2, UNCONFIRMED).
pub fn seed() -> Vec<AccountEmail> {
    let owner = AccountEmail {
        email_address: "owner@example.com".into(),
        email_id: 1,
        confirm_status: "CONFIRMED",
        confirm_time: clock::parse("2024-01-15T09:30:00.000Z"),
        confirm_source_type: Some("SITE_OWNER"),
        confirm_source: Some("SITE_OWNER"),
        roles: vec!["CONTACT", "REPLY_TO"],
        pending_roles: vec![],
    };
    vec![owner, unconfirmed("pending@example.com".into(), 2)]
}

fn unconfirmed(email_address: String, email_id: u64) -> AccountEmail {
    AccountEmail {
        email_address,
        email_id,
        confirm_status: "UNCONFIRMED",
        confirm_time: None,
        confirm_source_type: None,
        confirm_source: None,
        roles: vec![],
        pending_roles: vec![],
    }
}

/// Whether `address` is a CONFIRMED account email, the only kind a campaign may use as
/// `from_email` or `reply_to_email` (reference §3.1, §4 item 5).
pub fn is_confirmed(emails: &[AccountEmail], address: &str) -> bool {
    emails
        .iter()
        .any(|e| e.confirm_status == "CONFIRMED" && e.email_address.eq_ignore_ascii_case(address))
}

/// One `GET /account/emails` filter; the API accepts only one at a time.
enum Filter {
    All,
    Status(&'static str),
    Role(&'static str),
    Address(String),
}

impl Filter {
    fn from_query(query: &BTreeMap<String, String>) -> Result<Filter, ApiError> {
        let names = ["confirm_status", "role_code", "email_address"];
        let given: Vec<&str> = names
            .into_iter()
            .filter(|n| query.contains_key(*n))
            .collect();
        let invalid = |name: &str| {
            ApiError::validation(Area::General, format!("{name} does not have a valid value"))
        };
        match given.as_slice() {
            [] => Ok(Filter::All),
            ["confirm_status"] => match query["confirm_status"].to_ascii_uppercase().as_str() {
                "CONFIRMED" | "C" => Ok(Filter::Status("CONFIRMED")),
                "UNCONFIRMED" | "U" => Ok(Filter::Status("UNCONFIRMED")),
                _ => Err(invalid("confirm_status")),
            },
            ["role_code"] => role(&query["role_code"])
                .map(Filter::Role)
                .ok_or_else(|| invalid("role_code")),
            ["email_address"] => Ok(Filter::Address(query["email_address"].clone())),
            _ => Err(ApiError::validation(
                Area::General,
                "use only one of confirm_status, role_code and email_address per request",
            )),
        }
    }

    fn keeps(&self, email: &AccountEmail) -> bool {
        match self {
            Filter::All => true,
            Filter::Status(status) => email.confirm_status == *status,
            Filter::Role(role) => email.roles.contains(role),
            Filter::Address(address) => email.email_address.eq_ignore_ascii_case(address),
        }
    }
}

/// A role code in full or abbreviated form (`REPLY_TO` or `R`).
fn role(code: &str) -> Option<&'static str> {
    let roles = ["CONTACT", "BILLING", "REPLY_TO", "JOURNALING", "OTHER"];
    let code = code.to_ascii_uppercase();
    roles.into_iter().find(|r| *r == code || r[..1] == code)
}

/// `GET /v3/account/emails`: the account's addresses, optionally filtered; no paging.
pub async fn list_emails(
    _: Needs<AccountRead>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Vec<AccountEmail>>, ApiError> {
    let filter = Filter::from_query(&query)?;
    let account = sandbox.account();
    Ok(Json(
        account
            .emails
            .iter()
            .filter(|e| filter.keeps(e))
            .cloned()
            .collect(),
    ))
}

/// `POST /account/emails` body.
#[derive(Debug, Deserialize)]
pub struct EmailInput {
    email_address: Option<String>,
}

/// `POST /v3/account/emails`: 201 with the new UNCONFIRMED address; 409 if it exists.
pub async fn add_email(
    _: Needs<AccountUpdate>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<EmailInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut problems = Problems::default();
    let address = input.email_address.as_deref().map(str::trim);
    problems.required("email_address", address);
    problems.max_len("email_address", address, 80);
    problems.email("email_address", address.filter(|a| !a.is_empty()));
    problems.finish(Area::General)?;
    let address = address.unwrap_or_default().to_owned();
    let mut account = sandbox.account();
    if account
        .emails
        .iter()
        .any(|e| e.email_address.eq_ignore_ascii_case(&address))
    {
        return Err(ApiError::conflict(
            Area::General,
            format!("email_address {address} already exists in the account"),
        ));
    }
    let email_id = account.emails.iter().map(|e| e.email_id).max().unwrap_or(0) + 1;
    account.emails.push(unconfirmed(address.clone(), email_id));
    let body =
        json!({ "email_address": address, "email_id": email_id, "confirm_status": "UNCONFIRMED" });
    Ok((StatusCode::CREATED, Json(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_one_at_a_time() {
        let emails = seed();
        let count = |q: &[(&str, &str)]| {
            let filter = Filter::from_query(&query(q)).unwrap();
            emails.iter().filter(|e| filter.keeps(e)).count()
        };
        assert_eq!(count(&[]), 2);
        assert_eq!(count(&[("confirm_status", "C")]), 1);
        assert_eq!(count(&[("role_code", "R")]), 1);
        assert_eq!(count(&[("email_address", "PENDING@example.com")]), 1);
        assert!(
            Filter::from_query(&query(&[("confirm_status", "C"), ("role_code", "R")])).is_err()
        );
        assert!(Filter::from_query(&query(&[("role_code", "Z")])).is_err());
    }

    #[test]
    fn only_confirmed_addresses_may_send() {
        let emails = seed();
        assert!(is_confirmed(&emails, "Owner@Example.com"));
        assert!(!is_confirmed(&emails, "pending@example.com"));
    }
}
