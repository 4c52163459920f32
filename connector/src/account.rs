//! Account: its profile and address, the addresses it may send from, and the
//! signed-in user's privileges.
//!
//! Only `CONFIRMED` account emails may be a campaign's `from_email` or
//! `reply_to_email`, so flows usually list them before creating a campaign.

use connector_sdk::check::{check, email, len, max_len, Bound};
use connector_sdk::json::case_name;
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::account::{
    AccountAddress, AccountEmail, AccountEmailFilter, AccountEmails, AccountSummary,
    AddAccountEmailInput, GetAccountSummaryInput, Guest, ListAccountEmailsInput,
    UpdateAccountSummaryInput, UserPrivileges,
};
use crate::{Connector, CC};

/// `update-account-summary`'s bounds.
const ACCOUNT_SUMMARY: &[Bound] = &[
    email("contact_email"),
    max_len("contact_phone", 25),
    len("country_code", 2, 2),
];

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-account-emails",
        category: "Account",
        description:
            "Lists the account's email addresses, optionally filtered by status, role or address.",
        scopes: &["account_read"],
        pitfalls: &[
            "Only CONFIRMED addresses may send campaigns.",
            "The API applies one filter at a time; the answer is not paged.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "add-account-email",
        category: "Account",
        description:
            "Adds an email address to the account; Constant Contact mails it a confirmation link.",
        scopes: &["account_update"],
        pitfalls: &[
            "The address stays UNCONFIRMED, unable to send campaigns, until someone clicks the link.",
            "Only the account owner may add addresses (else forbidden); an existing one is a conflict.",
        ],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "list-user-privileges",
        category: "Account",
        description: "Lists the privileges of the signed-in user, to explain a 403.",
        scopes: &[],
        pitfalls: &["Scopes and privileges differ: a token with the scope can still get 403."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-account-summary",
        category: "Account",
        description: "Gets the account's profile: organization, contact, time zone, address.",
        scopes: &["account_read"],
        pitfalls: &["The address and logo come only when named in extra_fields."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-account-summary",
        category: "Account",
        description: "Changes the given fields of the account's profile; the others are kept.",
        scopes: &["account_update"],
        pitfalls: &["Only the account owner may change it (else forbidden)."],
        bounds: &[ACCOUNT_SUMMARY],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "get-physical-address",
        category: "Account",
        description: "Gets the organization's address, which campaign footers default to.",
        scopes: &["account_read"],
        pitfalls: &["US and CA addresses use state_code, others state_name."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-physical-address",
        category: "Account",
        description: "Replaces the organization's address, shown in every campaign footer.",
        scopes: &["account_update"],
        pitfalls: &[
            "A full replace: lines left out are removed.",
            "US and CA addresses need state_code and postal_code; others may not have state_code.",
        ],
        bounds: &[ADDRESS],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "add-physical-address",
        category: "Account",
        description: "Adds the organization's address to an account that has none yet.",
        scopes: &["account_update"],
        pitfalls: &[
            "An account that already has an address answers conflict (409): use update-physical-address.",
            "US and CA addresses need state_code and postal_code; others may not have state_code.",
        ],
        bounds: &[ADDRESS],
        ..ActivityMeta::CREATE
    },
];

/// `AccountPhysicalAddress`'s bounds.
const ADDRESS: &[Bound] = &[
    len("address_line1", 1, 80),
    len("address_line2", 1, 80),
    len("address_line3", 1, 80),
    len("state_code", 2, 2),
    len("country_code", 2, 2),
];

impl Guest for Connector {
    /// Lists the account's email addresses.
    ///
    /// `GET /v3/account/emails` —
    /// <https://developer.constantcontact.com/api_guide/account_get_emails.html>.
    /// Scope `account_read`. Retry-safe and read-only: a read.
    fn list_account_emails(input: ListAccountEmailsInput) -> Result<AccountEmails, ActivityError> {
        // One filter at a time, hence a WIT `variant`; the API spells the values in
        // capitals (`REPLY_TO`).
        let filter = input.filter.map(|filter| match filter {
            AccountEmailFilter::ConfirmStatus(s) => ("confirm_status", upper(&s)),
            AccountEmailFilter::RoleCode(role) => ("role_code", upper(&role)),
            AccountEmailFilter::EmailAddress(address) => ("email_address", address),
        });
        let mut call = CC.get("/v3/account/emails");
        if let Some((name, value)) = filter {
            call = call.query(name, &value);
        }
        // A bare JSON array, no paging.
        Ok(AccountEmails {
            emails: call.json()?,
        })
    }

    /// Adds an email address to the account.
    ///
    /// `POST /v3/account/emails` (201) —
    /// <https://developer.constantcontact.com/api_guide/account_post_emails.html>.
    /// Scope `account_update`. Not retry-safe: a repeat answers 409 and each call
    /// mails a confirmation link. Not destructive: it only adds.
    fn add_account_email(input: AddAccountEmailInput) -> Result<AccountEmail, ActivityError> {
        check(
            &input,
            &[max_len("email_address", 80), email("email_address")],
        )?;
        CC.post("/v3/account/emails").body(&input).json()
    }

    /// Lists the signed-in user's privileges (e.g. `campaign:send`).
    ///
    /// `GET /v3/account/user/privileges` (singular `user`) —
    /// <https://v3.developer.constantcontact.com/api_guide/account_get_privileges.html>.
    /// No scope and no privilege needed: it exists to explain 403 errors.
    /// Retry-safe and read-only: a read.
    fn list_user_privileges() -> Result<UserPrivileges, ActivityError> {
        let privileges = CC.get("/v3/account/user/privileges").json()?;
        Ok(UserPrivileges { privileges })
    }

    /// Gets the account's profile.
    ///
    /// `GET /v3/account/summary` — <https://developer.constantcontact.com/api_guide/account_details_get.html>.
    /// Scope `account_read`. Retry-safe and read-only: a read.
    fn get_account_summary(input: GetAccountSummaryInput) -> Result<AccountSummary, ActivityError> {
        CC.get("/v3/account/summary").queries(&input, &[]).json()
    }

    /// Changes the given profile fields.
    ///
    /// `PUT /v3/account/summary` — <https://developer.constantcontact.com/api_guide/account_details_put.html>.
    /// Scope `account_update`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone. The API changes only what it is
    /// sent, so no read comes first.
    fn update_account_summary(
        input: UpdateAccountSummaryInput,
    ) -> Result<AccountSummary, ActivityError> {
        check(&input, ACCOUNT_SUMMARY)?;
        CC.put("/v3/account/summary").body(&input).json()
    }

    /// Gets the organization's address.
    ///
    /// `GET /v3/account/summary/physical_address` — <https://developer.constantcontact.com/api_guide/account_address_get.html>.
    /// Scope `account_read`. Retry-safe and read-only: a read.
    fn get_physical_address() -> Result<AccountAddress, ActivityError> {
        CC.get("/v3/account/summary/physical_address").json()
    }

    /// Replaces the organization's address.
    ///
    /// `PUT /v3/account/summary/physical_address` — <https://developer.constantcontact.com/api_guide/account_address_put.html>.
    /// Scope `account_update`. Retry-safe: it writes the same address each time.
    /// Destructive: the old address is gone.
    fn update_physical_address(input: AccountAddress) -> Result<AccountAddress, ActivityError> {
        check(&input, ADDRESS)?;
        CC.put("/v3/account/summary/physical_address")
            .body(&input)
            .json()
    }

    /// Adds the organization's address, where there is none.
    ///
    /// `POST /v3/account/summary/physical_address` (201) — <https://developer.constantcontact.com/api_guide/account_address_post.html>.
    /// Scope `account_update`. Not retry-safe: a repeat answers 409 (there is one now).
    /// Not destructive: it only adds.
    fn add_physical_address(input: AccountAddress) -> Result<AccountAddress, ActivityError> {
        check(&input, ADDRESS)?;
        CC.post("/v3/account/summary/physical_address")
            .body(&input)
            .json()
    }
}

/// An enum case as the API spells it: `reply-to` → `REPLY_TO`.
fn upper<T: serde::Serialize>(case: &T) -> String {
    case_name(case).to_ascii_uppercase()
}
