//! Client accounts: provisioning, listing, billing plans, cancellation, SSO users,
//! unsubscribes, and requests sent on behalf of a managed account (see the table in
//! [`super`]).

use std::collections::BTreeSet;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

use super::PartnerCaller;
use crate::auth::{ALL_SCOPES, DEFAULT_APP};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{JsonBody, Params, PathId};
use crate::state::Sandbox;

/// `limit` of `GET /partner/accounts`: 10–50; anything else is ignored (spec).
const LIMIT_DEFAULT: usize = 50;
const LIMIT_RANGE: std::ops::RangeInclusive<usize> = 10..=50;

/// The plan types the spec documents (older ones "continue to be supported").
const PLAN_TYPES: &[&str] = &["TRIAL", "BRONZE", "SILVER", "GOLD"];

/// `reason_id`s the spec lists for a cancellation.
const REASONS: &[i64] = &[1, 2, 3, 11, 12, 14, 21, 27, 30];

/// One client account of the partner.
#[derive(Clone, Debug)]
pub struct ClientAccount {
    encoded_account_id: String,
    organization_name: Option<String>,
    login_name: String,
    managed: bool,
    billing_status: &'static str,
    plan_type: String,
    plan_group_id: Option<i64>,
    billing_day_of_month: Option<i64>,
    unsubscribed: BTreeSet<String>,
}

impl ClientAccount {
    fn listed(&self) -> Value {
        json!({
            "encoded_account_id": self.encoded_account_id,
            "subscriber_count": 0,
            "organization_name": self.organization_name,
            "site_owner_name": self.login_name,
            "billing_status": self.billing_status,
        })
    }

    fn plan(&self) -> Value {
        let tiers: Vec<Value> = match self.plan_type.as_str() {
            "TRIAL" => Vec::new(),
            _ => vec![
                json!({"usage_type": "CONTACTS", "current_usage": 0, "tier": 1,
                             "tier_min": 0, "tier_max": 500, "price": 12.0,
                             "currency_code": "USD"}),
            ],
        };
        json!({
            "plan_type": self.plan_type,
            "current_tiers": tiers,
            "billing_status": self.billing_status,
            "billing_day_of_month": self.billing_day_of_month,
        })
    }
}

pub fn routes() -> Router<Sandbox> {
    let account = "/v3/partner/accounts/{encoded_account_id}";
    Router::new()
        .route("/v3/partner/accounts", get(list).post(provision))
        .route(&format!("{account}/plan"), get(plan).put(set_plan))
        .route(&format!("{account}/status/cancel"), put(cancel))
        .route(
            &format!("{account}/account_operations/sync"),
            post(on_behalf),
        )
        .route(&format!("{account}/users/sso"), post(sso_user))
        .route(
            &format!("{account}/contacts/unsubscribe"),
            post(unsubscribe),
        )
}

/// The index of the client account `id`, else 404.
fn find(accounts: &[ClientAccount], id: &str) -> Result<usize, ApiError> {
    accounts
        .iter()
        .position(|a| a.encoded_account_id == id)
        .ok_or_else(|| {
            ApiError::not_found(Area::General, format!("client account {id} was not found"))
        })
}

async fn list(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let account_type = query.get("account_type").map_or("all", String::as_str);
    if !["all", "managed", "unmanaged"].contains(&account_type) {
        return Err(ApiError::bad_request(
            "account_type does not have a valid value (expected all|managed|unmanaged)",
        ));
    }
    let limit = query
        .get("limit")
        .and_then(|l| l.trim().parse().ok())
        .filter(|l| LIMIT_RANGE.contains(l))
        .unwrap_or(LIMIT_DEFAULT);
    let offset: usize = match query.get("offset") {
        None => 0,
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| ApiError::bad_request("offset must be a whole number"))?,
    };
    let account = sandbox.account();
    let kept: Vec<&ClientAccount> = account
        .partner
        .accounts
        .iter()
        .filter(|a| match account_type {
            "managed" => a.managed,
            "unmanaged" => !a.managed,
            _ => true,
        })
        .collect();
    let page: Vec<Value> = kept
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| a.listed())
        .collect();
    let mut body = json!({ "site_owner_list": page });
    if offset + limit < kept.len() {
        let href = format!(
            "/v3/partner/accounts?account_type={account_type}&limit={limit}&offset={}",
            offset + limit
        );
        body["_links"] = json!({ "next": { "href": href } });
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
struct Provision {
    contact_email: Option<String>,
    contact_phone: Option<String>,
    country_code: Option<String>,
    organization_name: Option<String>,
    organization_phone: Option<String>,
    state_code: Option<String>,
    login_name: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    partner_account_id: Option<String>,
    billing_locale: Option<String>,
    managed_site_owner: Option<bool>,
    external_id: Option<String>,
    external_provider: Option<String>,
}

/// Records a failure when `value` has fewer than `min` characters.
fn min_len(problems: &mut Problems, field: &str, value: Option<&str>, min: usize) {
    if value.is_some_and(|v| v.chars().count() < min) {
        problems.add(format!("{field} is shorter than {min} characters"));
    }
}

fn check_provision(p: &Provision) -> Problems {
    let mut problems = Problems::default();
    for (field, value) in [
        ("contact_email", &p.contact_email),
        ("country_code", &p.country_code),
        ("login_name", &p.login_name),
        ("state_code", &p.state_code),
    ] {
        problems.required(field, value.as_deref());
    }
    problems.email("contact_email", p.contact_email.as_deref());
    let bounds: [(&str, &Option<String>, usize, usize); 12] = [
        ("contact_email", &p.contact_email, 0, 80),
        ("contact_phone", &p.contact_phone, 5, 25),
        ("country_code", &p.country_code, 2, 3),
        ("organization_name", &p.organization_name, 1, 50),
        ("organization_phone", &p.organization_phone, 5, 25),
        ("login_name", &p.login_name, 6, 50),
        ("password", &p.password, 8, 80),
        ("first_name", &p.first_name, 2, 80),
        ("last_name", &p.last_name, 2, 80),
        ("partner_account_id", &p.partner_account_id, 0, 80),
        ("external_id", &p.external_id, 0, 255),
        ("external_provider", &p.external_provider, 0, 80),
    ];
    for (field, value, min, max) in bounds {
        min_len(&mut problems, field, value.as_deref(), min);
        problems.max_len(field, value.as_deref(), max);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_@.+".contains(c);
    if p.login_name
        .as_deref()
        .is_some_and(|l| !l.chars().all(allowed))
    {
        problems.add("login_name may hold only letters, digits and - _ @ . +");
    }
    problems.one_of(
        "billing_locale",
        p.billing_locale.as_deref(),
        &["en_US", "en_GB"],
    );
    if p.password.is_some() && p.external_id.is_some() {
        problems.add("password and external_id exclude each other");
    }
    problems
}

async fn provision(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Provision>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_provision(&input).finish(Area::General)?;
    let login = input.login_name.clone().unwrap_or_default();
    let mut account = sandbox.account();
    let partner = &mut account.partner;
    let taken = partner.sso_logins.contains(&login)
        || partner.accounts.iter().any(|a| a.login_name == login);
    if taken {
        return Err(ApiError::conflict(
            Area::General,
            format!("login_name {login} is already in use"),
        ));
    }
    let id = format!("a07e{}", &Uuid::new_v4().simple().to_string()[..8]);
    partner.accounts.push(ClientAccount {
        encoded_account_id: id.clone(),
        organization_name: input.organization_name,
        login_name: login,
        // A partner's accounts are managed unless it says otherwise (spec).
        managed: input.managed_site_owner.unwrap_or(true),
        billing_status: "Trial",
        plan_type: "TRIAL".into(),
        plan_group_id: None,
        billing_day_of_month: None,
        unsubscribed: BTreeSet::new(),
    });
    Ok((
        StatusCode::CREATED,
        Json(json!({ "encoded_account_id": id, "provision_uuid": Uuid::new_v4() })),
    ))
}

async fn plan(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let account = sandbox.account();
    let i = find(&account.partner.accounts, &id)?;
    Ok(Json(account.partner.accounts[i].plan()))
}

#[derive(Deserialize)]
struct PlanInfo {
    plan_type: Option<String>,
    plan_group_id: Option<i64>,
    billing_day_of_month: Option<i64>,
}

async fn set_plan(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<PlanInfo>,
) -> Result<Json<Value>, ApiError> {
    let mut problems = Problems::default();
    problems.one_of("plan_type", input.plan_type.as_deref(), PLAN_TYPES);
    if input
        .billing_day_of_month
        .is_some_and(|d| !(1..=31).contains(&d))
    {
        problems.add("billing_day_of_month must be from 1 to 31");
    }
    problems.finish(Area::General)?;
    let mut account = sandbox.account();
    let i = find(&account.partner.accounts, &id)?;
    let client = &mut account.partner.accounts[i];
    if client.billing_status == "Canceled" {
        return Err(ApiError::bad_request("the client account is canceled"));
    }
    if let Some(plan_type) = input.plan_type {
        let from_trial = client.plan_type == "TRIAL";
        if plan_type == "TRIAL" && !from_trial {
            return Err(ApiError::bad_request(
                "plan_type cannot change back to TRIAL",
            ));
        }
        if from_trial && plan_type != "TRIAL" {
            // Only leaving the trial sets the billing day (today's by default).
            let today = i64::from(chrono::Datelike::day(&clock::now()));
            client.billing_day_of_month = Some(input.billing_day_of_month.unwrap_or(today));
            client.billing_status = "Open";
        }
        client.plan_type = plan_type;
    }
    if input.plan_group_id.is_some() {
        client.plan_group_id = input.plan_group_id;
    }
    Ok(Json(client.plan()))
}

#[derive(Deserialize)]
struct Cancellation {
    reason_id: Option<i64>,
    effective_date: Option<String>,
}

async fn cancel(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<Cancellation>,
) -> Result<Json<Value>, ApiError> {
    let mut problems = Problems::default();
    if input.reason_id.is_some_and(|r| !REASONS.contains(&r)) {
        problems.add("reason_id does not have a valid value");
    }
    let effective = match input.effective_date.as_deref() {
        None => clock::now(),
        Some(text) => clock::parse(text).unwrap_or_else(|| {
            problems.add("effective_date is not an ISO-8601 date-time");
            clock::now()
        }),
    };
    problems.finish(Area::General)?;
    let mut account = sandbox.account();
    let i = find(&account.partner.accounts, &id)?;
    let client = &mut account.partner.accounts[i];
    if client.billing_status == "Canceled" {
        return Err(ApiError::bad_request(
            "the client account is already canceled",
        ));
    }
    client.billing_status = "Canceled";
    let mut body = json!({ "effective_date": clock::format(&effective) });
    if let Some(reason) = input.reason_id {
        body["reason_id"] = json!(reason);
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
struct SsoUser {
    first_name: Option<String>,
    last_name: Option<String>,
    role_name: Option<String>,
    contact_email: Option<String>,
    login_name: Option<String>,
    external_id: Option<String>,
    external_provider: Option<String>,
}

async fn sso_user(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<SsoUser>,
) -> Result<StatusCode, ApiError> {
    let mut problems = Problems::default();
    let fields = [
        ("first_name", &input.first_name, 80),
        ("last_name", &input.last_name, 80),
        ("role_name", &input.role_name, 80),
        ("contact_email", &input.contact_email, 80),
        ("login_name", &input.login_name, 50),
        ("external_id", &input.external_id, 255),
        ("external_provider", &input.external_provider, 80),
    ];
    for (field, value, max) in fields {
        problems.required(field, value.as_deref());
        problems.max_len(field, value.as_deref(), max);
    }
    problems.one_of(
        "role_name",
        input.role_name.as_deref(),
        &["account_manager", "campaign_creator"],
    );
    problems.email("contact_email", input.contact_email.as_deref());
    problems.finish(Area::General)?;
    let login = input.login_name.unwrap_or_default();
    let mut account = sandbox.account();
    find(&account.partner.accounts, &id)?;
    let partner = &mut account.partner;
    if partner.accounts.iter().any(|a| a.login_name == login) || !partner.sso_logins.insert(login) {
        return Err(ApiError::conflict(
            Area::General,
            "login_name is already in use",
        ));
    }
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
struct Unsubscribe {
    #[serde(default)]
    email_addresses: Vec<String>,
    update_source: Option<String>,
    opt_out_reason: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // soft-deleting has no trace the sandbox shows
    delete_contacts: bool,
    #[serde(default)]
    global_unsubscribe: bool,
}

async fn unsubscribe(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<Unsubscribe>,
) -> Result<Json<Value>, ApiError> {
    let mut problems = Problems::default();
    problems.required("update_source", input.update_source.as_deref());
    problems.one_of(
        "update_source",
        input.update_source.as_deref(),
        &["Account", "Contact", "System"],
    );
    problems.max_len("opt_out_reason", input.opt_out_reason.as_deref(), 255);
    if input.email_addresses.len() > 500 {
        problems.add("email_addresses holds more than 500 items");
    }
    for address in &input.email_addresses {
        problems.email("email_addresses", Some(address.as_str()));
    }
    if input.global_unsubscribe && input.email_addresses.len() != 1 {
        problems.add("global_unsubscribe takes exactly one address in email_addresses");
    }
    problems.finish(Area::General)?;
    let mut account = sandbox.account();
    let i = find(&account.partner.accounts, &id)?;
    let accounts = &mut account.partner.accounts;
    let targets: Vec<usize> = if input.global_unsubscribe {
        (0..accounts.len()).collect()
    } else {
        vec![i]
    };
    let mut count = 0;
    for target in targets {
        for address in &input.email_addresses {
            if accounts[target]
                .unsubscribed
                .insert(address.to_ascii_lowercase())
            {
                count += 1;
            }
        }
    }
    Ok(Json(json!({ "unsubscribed_count": count })))
}

#[derive(Deserialize)]
struct Operation {
    account_operation_url: Option<String>,
    account_operation_method: Option<String>,
    account_operation_payload: Option<String>,
    #[serde(default)]
    account_operation_query_parameters: Vec<QueryParam>,
    #[serde(default)]
    account_operation_path_parameters: Vec<PathParam>,
}

#[derive(Deserialize)]
struct QueryParam {
    query_param_key: String,
    query_param_value: String,
}

#[derive(Deserialize)]
struct PathParam {
    path_param_key: String,
    path_param_value: String,
}

/// The V3 request an operation describes: method and path (with the query).
fn operation_request(op: &Operation) -> Result<(Method, String), ApiError> {
    let mut problems = Problems::default();
    problems.required("account_operation_url", op.account_operation_url.as_deref());
    problems.required(
        "account_operation_method",
        op.account_operation_method.as_deref(),
    );
    problems.one_of(
        "account_operation_method",
        op.account_operation_method.as_deref(),
        &["GET", "POST", "PUT", "PATCH", "DELETE"],
    );
    let url = op.account_operation_url.clone().unwrap_or_default();
    if !url.is_empty() && (!url.starts_with('/') || url.starts_with("/partner")) {
        problems.add("account_operation_url must be a non-partner V3 path such as /contacts");
    }
    problems.finish(Area::General)?;
    let mut path = url;
    for p in &op.account_operation_path_parameters {
        path = path.replace(&format!("{{{}}}", p.path_param_key), &p.path_param_value);
    }
    if path.contains(['{', '}']) {
        return Err(ApiError::bad_request(
            "account_operation_url names a path parameter that account_operation_path_parameters does not give",
        ));
    }
    let pairs: Vec<(&str, &str)> = op
        .account_operation_query_parameters
        .iter()
        .map(|q| (q.query_param_key.as_str(), q.query_param_value.as_str()))
        .collect();
    let query = serde_urlencoded::to_string(pairs).map_err(|_| {
        ApiError::bad_request("account_operation_query_parameters cannot be encoded")
    })?;
    let uri = match query.is_empty() {
        true => format!("/v3{path}"),
        false => format!("/v3{path}?{query}"),
    };
    let method = op
        .account_operation_method
        .as_deref()
        .unwrap_or("GET")
        .parse()
        .map_err(|_| ApiError::bad_request("account_operation_method is not a method"))?;
    Ok((method, uri))
}

/// Runs the V3 request through this sandbox as the managed account (a short-lived
/// token of every scope) and answers with its status and body.
async fn on_behalf(
    _: PartnerCaller,
    State(sandbox): State<Sandbox>,
    PathId(id): PathId,
    JsonBody(op): JsonBody<Operation>,
) -> Result<Response, ApiError> {
    let (method, uri) = operation_request(&op)?;
    {
        let account = sandbox.account();
        let i = find(&account.partner.accounts, &id)?;
        if !account.partner.accounts[i].managed {
            return Err(ApiError::bad_request(
                "requests on behalf of a client account need a managed account",
            ));
        }
    }
    let token = format!("on-behalf-{}", Uuid::new_v4());
    let scopes = ALL_SCOPES.map(str::to_owned);
    let lifetime = Some(std::time::Duration::from_secs(60));
    sandbox.tokens.insert(&token, DEFAULT_APP, scopes, lifetime);
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let body = match op.account_operation_payload.filter(|p| !p.is_empty()) {
        Some(payload) => {
            request = request.header("content-type", "application/json");
            Body::from(payload)
        }
        None => Body::empty(),
    };
    let request = request
        .body(body)
        .map_err(|_| ApiError::bad_request("account_operation_url is not a valid path"))?;
    let answer = crate::app::router(sandbox.clone()).oneshot(request).await;
    sandbox.tokens.remove(&token);
    let answer = answer.unwrap_or_else(|never| match never {});
    let status = answer.status();
    let bytes = to_bytes(answer.into_body(), 16 << 20)
        .await
        .map_err(|_| ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::partner::tests::Partner;

    fn provision(login: &str) -> serde_json::Value {
        json!({"contact_email": "owner@example.com", "country_code": "US",
               "state_code": "MA", "login_name": login, "organization_name": "Fruit"})
    }

    #[tokio::test]
    async fn provisioning_validates_refuses_taken_logins_and_lists_in_pages() {
        let p = Partner::new().await;
        let path = "/v3/partner/accounts";
        let (status, body) = p
            .send(Method::POST, path, Some(json!({"login_name": "abc"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = body[0]["error_message"].as_str().unwrap();
        assert!(message.contains("contact_email is missing"), "{message}");
        assert!(
            message.contains("login_name is shorter than 6"),
            "{message}"
        );
        for i in 0..12 {
            let (status, body) = p
                .send(Method::POST, path, Some(provision(&format!("login_{i}"))))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert!(body["encoded_account_id"]
                .as_str()
                .unwrap()
                .starts_with("a07e"));
        }
        let (status, _) = p.send(Method::POST, path, Some(provision("login_0"))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (_, first) = p
            .send(Method::GET, "/v3/partner/accounts?limit=10", None)
            .await;
        assert_eq!(first["site_owner_list"].as_array().unwrap().len(), 10);
        let next = first["_links"]["next"]["href"].as_str().unwrap();
        let (_, second) = p.send(Method::GET, next, None).await;
        assert_eq!(second["site_owner_list"].as_array().unwrap().len(), 2);
        assert!(second.get("_links").is_none());
        // Out of range is ignored (the default 50), as the spec says.
        let (_, all) = p
            .send(Method::GET, "/v3/partner/accounts?limit=5", None)
            .await;
        assert_eq!(all["site_owner_list"].as_array().unwrap().len(), 12);
        let (status, _) = p
            .send(Method::GET, "/v3/partner/accounts?account_type=some", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn plans_leave_the_trial_once_and_canceled_accounts_stay_canceled() {
        let p = Partner::new().await;
        let (_, made) = p
            .send(
                Method::POST,
                "/v3/partner/accounts",
                Some(provision("plan_owner")),
            )
            .await;
        let id = made["encoded_account_id"].as_str().unwrap();
        let plan = format!("/v3/partner/accounts/{id}/plan");
        let (_, trial) = p.send(Method::GET, &plan, None).await;
        assert_eq!(trial["plan_type"], "TRIAL");
        assert_eq!(trial["billing_status"], "Trial");
        let bad = json!({"plan_type": "GOLD", "billing_day_of_month": 32});
        let (status, _) = p.send(Method::PUT, &plan, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let gold = json!({"plan_type": "GOLD", "billing_day_of_month": 15});
        let (status, body) = p.send(Method::PUT, &plan, Some(gold)).await;
        assert_eq!(
            (status, &body["billing_status"]),
            (StatusCode::OK, &json!("Open"))
        );
        assert_eq!(body["billing_day_of_month"], 15);
        let (status, _) = p
            .send(Method::PUT, &plan, Some(json!({"plan_type": "TRIAL"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let cancel = format!("/v3/partner/accounts/{id}/status/cancel");
        let (status, _) = p
            .send(Method::PUT, &cancel, Some(json!({"reason_id": 4})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = p
            .send(Method::PUT, &cancel, Some(json!({"reason_id": 1})))
            .await;
        assert_eq!((status, &body["reason_id"]), (StatusCode::OK, &json!(1)));
        let (status, _) = p.send(Method::PUT, &cancel, Some(json!({}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = p
            .send(Method::GET, "/v3/partner/accounts/a07eunknown/plan", None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn sso_users_unsubscribes_and_requests_on_behalf_are_checked() {
        let p = Partner::new().await;
        let (_, made) = p
            .send(
                Method::POST,
                "/v3/partner/accounts",
                Some(provision("sso_owner")),
            )
            .await;
        let id = made["encoded_account_id"].as_str().unwrap();
        let sso = format!("/v3/partner/accounts/{id}/users/sso");
        let user = json!({"first_name": "Jo", "last_name": "Lang", "role_name": "campaign_creator",
                          "contact_email": "jo@example.com", "login_name": "jo.lang",
                          "external_id": "1", "external_provider": "Yahoo"});
        let (status, _) = p
            .send(Method::POST, &sso, Some(json!({"first_name": "Jo"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = p.send(Method::POST, &sso, Some(user.clone())).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = p.send(Method::POST, &sso, Some(user)).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let unsubscribe = format!("/v3/partner/accounts/{id}/contacts/unsubscribe");
        let (status, _) = p
            .send(
                Method::POST,
                &unsubscribe,
                Some(json!({"email_addresses": ["a@example.com"]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "update_source is required");
        let body = json!({"email_addresses": ["a@example.com", "b@example.com"], "update_source": "Account",
                          "global_unsubscribe": true});
        let (status, _) = p.send(Method::POST, &unsubscribe, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "global takes one address");
        let body = json!({"email_addresses": ["a@example.com", "b@example.com"], "update_source": "Account"});
        let (_, counted) = p.send(Method::POST, &unsubscribe, Some(body.clone())).await;
        assert_eq!(counted["unsubscribed_count"], 2);
        let (_, again) = p.send(Method::POST, &unsubscribe, Some(body)).await;
        assert_eq!(again["unsubscribed_count"], 0);

        let sync = format!("/v3/partner/accounts/{id}/account_operations/sync");
        let op = json!({"account_operation_url": "/contact_lists", "account_operation_method": "GET",
                        "account_operation_query_parameters": [{"query_param_key": "limit", "query_param_value": "1"}]});
        let (status, body) = p.send(Method::POST, &sync, Some(op)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["lists"].as_array().unwrap().len(), 1);
        let op = json!({"account_operation_url": "/partner/accounts", "account_operation_method": "GET"});
        let (status, _) = p.send(Method::POST, &sync, Some(op)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
