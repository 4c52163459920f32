//! Client accounts: the Constant Contact accounts a technology partner provisions
//! and manages (spec tag "Technology Partners").
//!
//! Every activity needs the partner token's scope `v3api/general.partner` and the
//! partner's `x-api-key`, both added by the host. Accounts are named by their
//! `encoded_account_id` (e.g. `a07e1lxqqqo0`), which `list-client-accounts` and
//! `create-client-account` return.

use connector_sdk::check::{check, email, items, len, listed_by, max_len, range, Bound};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta, Call};

use crate::exports::constant_contact::partner::accounts::{
    CancelClientAccountInput, Cancellation, ClientAccountInput, ClientAccountsPage,
    CreateClientAccountInput, CreateSsoUserInput, Guest, ListClientAccountsInput, OnBehalfAnswer,
    Plan, Provisioned, SendOnBehalfInput, UnsubscribeContactsInput, Unsubscribed,
    UpdateClientAccountPlanInput,
};
use crate::{Connector, CC, PARTNER};

const CATEGORY: &str = "Partner accounts";

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-client-accounts",
        category: CATEGORY,
        description: "Lists the partner's client accounts, one page at a time.",
        scopes: &[PARTNER],
        pitfalls: &[
            "limit is 10 to 50; the API ignores other values and uses 50, so the host refuses them.",
            "Canceled accounts are listed too: check billing_status.",
        ],
        bounds: &[LIST],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-client-account",
        category: CATEGORY,
        description: "Provisions a new client account (a free trial) under the partner.",
        scopes: &[PARTNER],
        pitfalls: &[
            "login_name is unique across Constant Contact: a taken one is a conflict (409).",
            "Give password, or external_id and external_provider for SSO, not both.",
            "A 503 means provisioning is queued, not refused: do not create the account again.",
        ],
        bounds: &[PROVISION],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "get-client-account-plan",
        category: CATEGORY,
        description: "Gets a client account's billing plan, tiers and billing status.",
        scopes: &[PARTNER],
        pitfalls: &["A new account is on the TRIAL plan with no billing day."],
        bounds: &[ACCOUNT_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "update-client-account-plan",
        category: CATEGORY,
        description: "Moves a client account to another billing plan.",
        scopes: &[PARTNER],
        pitfalls: &[
            "A plan never goes back to TRIAL once it left it.",
            "billing_day_of_month counts only when leaving TRIAL; later it is ignored.",
            "The plan must exist in the partner's plan group, else 400.",
        ],
        bounds: &[ACCOUNT_ID, PLAN],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "cancel-client-account",
        category: CATEGORY,
        description: "Cancels a client account, now or at an effective date.",
        scopes: &[PARTNER],
        pitfalls: &[
            "Cancelling an account of another partner is a 400, an unknown one a 404.",
            "A canceled account cannot be cancelled again or change plans.",
        ],
        bounds: &[ACCOUNT_ID, CANCEL],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "send-on-behalf",
        category: CATEGORY,
        description: "Sends a V3 API request on behalf of a managed client account.",
        scopes: &[PARTNER],
        pitfalls: &[
            "Only managed accounts; the url is a V3 path without https://api.cc.email/v3.",
            "The request may change or delete the account's data: it is never retried.",
            "account_operation_payload is JSON as text, string-escaped.",
        ],
        bounds: &[ACCOUNT_ID],
        // Whatever the request does: it may create, change or delete.
        retry_safe: false,
        read_only: false,
        destructive: true,
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-sso-user",
        category: CATEGORY,
        description: "Adds a user to a client account that signs in with the partner's SSO.",
        scopes: &[PARTNER],
        pitfalls: &[
            "The account must have SSO for all users enabled (set up by the partner team).",
            "login_name is unique: a taken one is a conflict (409).",
        ],
        bounds: &[ACCOUNT_ID, SSO_USER],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "unsubscribe-contacts",
        category: CATEGORY,
        description: "Unsubscribes email addresses from a client account, or one address from all.",
        scopes: &[PARTNER],
        pitfalls: &[
            "global_unsubscribe takes exactly one address and applies to every client account.",
            "update_source is Account, Contact or System (capitalized).",
        ],
        bounds: &[ACCOUNT_ID, UNSUBSCRIBE],
        // Repeating it unsubscribes nobody new; what it changed is not undone by it.
        read_only: false,
        destructive: true,
        ..ActivityMeta::READ
    },
];

/// `limit`: 10 to 50 (spec).
const LIST: &[Bound] = &[range("limit", 10, 50)];
/// Pickers take ids from the list.
const ACCOUNT_ID: &[Bound] = &[listed_by(
    "encoded_account_id",
    "list-client-accounts",
    "site_owner_list",
    "encoded_account_id",
    "organization_name",
)];
/// Spec `Provision`.
const PROVISION: &[Bound] = &[
    max_len("contact_email", 80),
    email("contact_email"),
    len("contact_phone", 5, 25),
    len("country_code", 2, 3),
    len("organization_name", 1, 50),
    len("organization_phone", 5, 25),
    len("login_name", 6, 50),
    len("password", 8, 80),
    len("first_name", 2, 80),
    len("last_name", 2, 80),
    max_len("partner_account_id", 80),
    max_len("external_id", 255),
    max_len("external_provider", 80),
];
/// Spec `PlanInfo`: the billing day is a day of the month.
const PLAN: &[Bound] = &[range("billing_day_of_month", 1, 31)];
/// Spec `AccountCancellation`.
const CANCEL: &[Bound] = &[connector_sdk::check::date_time("effective_date")];
/// Spec `SSOUser`.
const SSO_USER: &[Bound] = &[
    max_len("first_name", 80),
    max_len("last_name", 80),
    max_len("contact_email", 80),
    email("contact_email"),
    max_len("login_name", 50),
    max_len("external_id", 255),
    max_len("external_provider", 80),
];
/// The unsubscribe body.
const UNSUBSCRIBE: &[Bound] = &[
    items("email_addresses", 1, 500),
    email("email_addresses"),
    max_len("opt_out_reason", 255),
];

/// The collection; one account is `{ACCOUNTS}/{encoded_account_id}`.
const ACCOUNTS: &str = "/v3/partner/accounts";

/// `call` (on [`ACCOUNTS`]) aimed at one account's `rest` (`/plan`).
fn account<'a>(call: Call<'a>, id: &str, rest: &str) -> Call<'a> {
    call.id("encoded_account_id", id).path(rest)
}

impl Guest for Connector {
    /// Lists client accounts, one page per call.
    ///
    /// `GET /v3/partner/accounts` — <https://developer.constantcontact.com/api_guide/partners_accts_get.html>.
    /// Scope `v3api/general.partner`. Retry-safe and read-only: a read. The API
    /// pages with `offset` inside `_links.next.href`, which is the cursor.
    fn list_client_accounts(
        input: ListClientAccountsInput,
    ) -> Result<ClientAccountsPage, ActivityError> {
        check(&input, LIST)?;
        CC.get(ACCOUNTS)
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Provisions a client account (a trial).
    ///
    /// `POST /v3/partner/accounts` (201) — <https://developer.constantcontact.com/api_guide/partners_accts_create.html>.
    /// Scope `v3api/general.partner`. Not retry-safe: a repeat is a conflict
    /// (the login name is taken). Not destructive: it only adds.
    fn create_client_account(
        input: CreateClientAccountInput,
    ) -> Result<Provisioned, ActivityError> {
        check(&input, PROVISION)?;
        if input.password.is_some() && input.external_id.is_some() {
            return Err(invalid_input(
                "give `password` or `external_id` (SSO), not both",
            ));
        }
        CC.post(ACCOUNTS).body(&input).json()
    }

    /// Gets a client account's billing plan.
    ///
    /// `GET /v3/partner/accounts/{encoded_account_id}/plan` — <https://developer.constantcontact.com/api_guide/partners_plans_get.html>.
    /// Scope `v3api/general.partner`. Retry-safe and read-only: a read.
    fn get_client_account_plan(input: ClientAccountInput) -> Result<Plan, ActivityError> {
        account(CC.get(ACCOUNTS), &input.encoded_account_id, "/plan").json()
    }

    /// Changes a client account's billing plan.
    ///
    /// `PUT /v3/partner/accounts/{encoded_account_id}/plan` — <https://developer.constantcontact.com/api_guide/partners_plans_update.html>.
    /// Scope `v3api/general.partner`. Retry-safe: it writes the same plan each
    /// time. Destructive: the previous plan is gone (and TRIAL for good).
    fn update_client_account_plan(
        input: UpdateClientAccountPlanInput,
    ) -> Result<Plan, ActivityError> {
        check(&input, PLAN)?;
        account(CC.put(ACCOUNTS), &input.encoded_account_id, "/plan")
            .body_except(&input, &["encoded_account_id"])
            .json()
    }

    /// Cancels a client account.
    ///
    /// `PUT /v3/partner/accounts/{encoded_account_id}/status/cancel` — <https://developer.constantcontact.com/api_guide/partners_plans_cancel.html>.
    /// Scope `v3api/general.partner`. Retry-safe in effect: a repeat is refused
    /// (already canceled) and changes nothing. Destructive: the account closes.
    fn cancel_client_account(
        input: CancelClientAccountInput,
    ) -> Result<Cancellation, ActivityError> {
        check(&input, CANCEL)?;
        account(
            CC.put(ACCOUNTS),
            &input.encoded_account_id,
            "/status/cancel",
        )
        .body_except(&input, &["encoded_account_id"])
        .json()
    }

    /// Sends a V3 request as a managed client account and returns its answer.
    ///
    /// `POST /v3/partner/accounts/{encoded_account_id}/account_operations/sync` — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners/partnerAccountOperationsPostSync>.
    /// Scope `v3api/general.partner`. Not retry-safe and destructive: the request
    /// it carries may create or delete.
    fn send_on_behalf(input: SendOnBehalfInput) -> Result<OnBehalfAnswer, ActivityError> {
        let reply = account(
            CC.post(ACCOUNTS),
            &input.encoded_account_id,
            "/account_operations/sync",
        )
        .body_except(&input, &["encoded_account_id"])
        .send()?;
        let body = reply.value()?;
        Ok(OnBehalfAnswer {
            body: (!body.is_null()).then(|| body.to_string()),
        })
    }

    /// Adds an SSO user to a client account.
    ///
    /// `POST /v3/partner/accounts/{encoded_account_id}/users/sso` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners/createSSOUser>.
    /// Scope `v3api/general.partner`. Not retry-safe: a repeat is a conflict.
    /// Not destructive: it only adds.
    fn create_sso_user(input: CreateSsoUserInput) -> Result<(), ActivityError> {
        check(&input, SSO_USER)?;
        account(CC.post(ACCOUNTS), &input.encoded_account_id, "/users/sso")
            .body_except(&input, &["encoded_account_id"])
            .send()?;
        Ok(())
    }

    /// Unsubscribes contacts from a client account (or one from all of them).
    ///
    /// `POST /v3/partner/accounts/{encoded_account_id}/contacts/unsubscribe` — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners/partnerUnsubscribeContacts>.
    /// Scope `v3api/general.partner`. Retry-safe: a repeat unsubscribes nobody
    /// new. Destructive: the contacts lose their permission to be emailed.
    fn unsubscribe_contacts(
        input: UnsubscribeContactsInput,
    ) -> Result<Unsubscribed, ActivityError> {
        check(&input, UNSUBSCRIBE)?;
        if input.global_unsubscribe == Some(true) && input.email_addresses.len() != 1 {
            return Err(invalid_input(
                "`global_unsubscribe` takes exactly one address in `email_addresses`",
            ));
        }
        account(
            CC.post(ACCOUNTS),
            &input.encoded_account_id,
            "/contacts/unsubscribe",
        )
        .body_except(&input, &["encoded_account_id"])
        .json()
    }
}
