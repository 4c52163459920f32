//! Account: the addresses the account may send from, and the signed-in user's privileges.
//!
//! Only `CONFIRMED` account emails may be a campaign's `from_email` or
//! `reply_to_email`, so flows usually list them before creating a campaign.

use serde::{Deserialize, Serialize};

use crate::connector::sdk::types::ActivityError;
use crate::exports::constant_contact::connector::account::{
    AccountEmail, AccountEmailFilter, AccountEmails, AddAccountEmailInput, ConfirmStatus, Guest,
    ListAccountEmailsInput, RoleCode, UserPrivilege, UserPrivileges,
};
use crate::{http, ActivityMeta, Connector};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-account-emails",
        display_name: "List account emails",
        category: "Account",
        description:
            "Lists the account's email addresses, optionally filtered by status, role or address.",
        scopes: &["account_read"],
        retry_safe: true,
    },
    ActivityMeta {
        name: "add-account-email",
        display_name: "Add account email",
        category: "Account",
        description:
            "Adds an email address to the account; Constant Contact mails it a confirmation link.",
        scopes: &["account_update"],
        retry_safe: false,
    },
    ActivityMeta {
        name: "list-user-privileges",
        display_name: "List user privileges",
        category: "Account",
        description: "Lists the privileges of the signed-in user, to explain a 403.",
        scopes: &[],
        retry_safe: true,
    },
];

/// An account email as the API spells it (`AccountEmails` items).
#[derive(Deserialize)]
struct EmailJson {
    email_address: String,
    email_id: Option<i64>,
    // `POST /account/emails` may leave it out; a new address is always unconfirmed.
    #[serde(default = "unconfirmed")]
    confirm_status: String,
    confirm_time: Option<String>,
    confirm_source_type: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    pending_roles: Vec<String>,
}

fn unconfirmed() -> String {
    "UNCONFIRMED".into()
}

impl From<EmailJson> for AccountEmail {
    fn from(json: EmailJson) -> Self {
        AccountEmail {
            email_address: json.email_address,
            email_id: json.email_id,
            confirm_status: json.confirm_status,
            confirm_time: json.confirm_time,
            confirm_source_type: json.confirm_source_type,
            roles: json.roles,
            pending_roles: json.pending_roles,
        }
    }
}

#[derive(Serialize)]
struct NewEmail<'a> {
    email_address: &'a str,
}

#[derive(Deserialize)]
struct PrivilegeJson {
    privilege_id: Option<i64>,
    privilege_name: String,
}

impl Guest for Connector {
    /// Lists the account's email addresses.
    ///
    /// `GET /v3/account/emails` —
    /// <https://developer.constantcontact.com/api_guide/account_get_emails.html>.
    /// Scope `account_read`. Retry-safe: a read.
    ///
    /// Pitfalls: the API applies one filter at a time (hence a WIT `variant`), and the
    /// answer is a bare JSON array with no paging.
    fn list_account_emails(input: ListAccountEmailsInput) -> Result<AccountEmails, ActivityError> {
        let filter = input.filter.map(|filter| match filter {
            AccountEmailFilter::ConfirmStatus(status) => {
                ("confirm_status", confirm_status(status).to_string())
            }
            AccountEmailFilter::RoleCode(role) => ("role_code", role_code(role).to_string()),
            AccountEmailFilter::EmailAddress(address) => ("email_address", address),
        });
        let reply = http::get("/v3/account/emails", filter.as_slice())?;
        let emails: Vec<EmailJson> = reply.json("a list of account emails")?;
        Ok(AccountEmails {
            emails: emails.into_iter().map(Into::into).collect(),
        })
    }

    /// Adds an email address to the account.
    ///
    /// `POST /v3/account/emails` (201) —
    /// <https://developer.constantcontact.com/api_guide/account_post_emails.html>.
    /// Scope `account_update`, and the user must be the account owner (else 403).
    /// Not retry-safe: a second call answers 409 conflict, and each call mails a
    /// confirmation link.
    ///
    /// Pitfalls: the address starts `UNCONFIRMED` and cannot send campaigns until
    /// someone clicks the link.
    fn add_account_email(input: AddAccountEmailInput) -> Result<AccountEmail, ActivityError> {
        let reply = http::post(
            "/v3/account/emails",
            &NewEmail {
                email_address: &input.email_address,
            },
        )?;
        let email: EmailJson = reply.json("the added account email")?;
        Ok(email.into())
    }

    /// Lists the signed-in user's privileges (e.g. `campaign:send`).
    ///
    /// `GET /v3/account/user/privileges` —
    /// <https://v3.developer.constantcontact.com/api_guide/account_get_privileges.html>.
    /// No scope and no privilege needed: it exists to explain 403 errors.
    /// Retry-safe: a read.
    ///
    /// Pitfall: the path is `/account/user/privileges`, singular `user`.
    fn list_user_privileges() -> Result<UserPrivileges, ActivityError> {
        let reply = http::get("/v3/account/user/privileges", &[])?;
        let privileges: Vec<PrivilegeJson> = reply.json("a list of user privileges")?;
        let privileges = privileges
            .into_iter()
            .map(|p| UserPrivilege {
                privilege_id: p.privilege_id,
                privilege_name: p.privilege_name,
            })
            .collect();
        Ok(UserPrivileges { privileges })
    }
}

/// The API's spelling of a confirmation status filter.
fn confirm_status(status: ConfirmStatus) -> &'static str {
    match status {
        ConfirmStatus::Confirmed => "CONFIRMED",
        ConfirmStatus::Unconfirmed => "UNCONFIRMED",
    }
}

/// The API's spelling of a role filter.
fn role_code(role: RoleCode) -> &'static str {
    match role {
        RoleCode::Contact => "CONTACT",
        RoleCode::Billing => "BILLING",
        RoleCode::ReplyTo => "REPLY_TO",
        RoleCode::Journaling => "JOURNALING",
        RoleCode::Other => "OTHER",
    }
}
