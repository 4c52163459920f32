//! The account summary and physical address (spec `Customer`, `CustomerPut`,
//! `AccountPhysicalAddress`).
//!
//! - `GET /v3/account/summary` (`account_read`): `extra_fields` csv of
//!   `physical_address`, `company_logo` (anything else 400).
//! - `PUT /v3/account/summary` (`account_update`): a **partial** update, as the spec
//!   says: only the `CustomerPut` properties sent change. `encoded_account_id` is
//!   read-only and ignored (spec: "changes to read-only fields are ignored"), as are
//!   properties `CustomerPut` lacks. `contact_email` must be an email address,
//!   `contact_phone` ≤25, `country_code` two letters. 200 with the `CustomerPut` view.
//! - `GET /v3/account/summary/physical_address` (`account_read`): 200; 404 when the
//!   account has none.
//! - `PUT /v3/account/summary/physical_address` (`account_update`): a full replace
//!   (omitted fields are removed); `address_line1`, `city`, `country_code` required;
//!   lines 1–80 characters; US and CA addresses need `state_code` (≤2) and
//!   `postal_code` and may not carry `state_name`; other countries may not carry
//!   `state_code`. 200.
//! - `POST /v3/account/summary/physical_address` (`account_update`): the same checks as
//!   the PUT (400), then 409 when the account already has an address (the seeded one
//!   does), else 201 with it. `POST /__sandbox/physical_address/remove` removes the
//!   address, so that a test can add one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{AccountRead, AccountUpdate, Needs};
use crate::errors::{ApiError, Area, Problems};
use crate::request::{self, JsonBody, Params};
use crate::state::Sandbox;

/// The account's profile (`Customer` without the extras).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Profile {
    contact_email: Option<String>,
    contact_phone: Option<String>,
    country_code: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    organization_name: Option<String>,
    organization_phone: Option<String>,
    state_code: Option<String>,
    time_zone_id: Option<String>,
    website: Option<String>,
}

/// The organization's physical address.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<String>,
}

/// What `/account/summary` holds.
#[derive(Clone, Debug)]
pub struct Summary {
    profile: Profile,
    address: Option<Address>,
}

/// The read-only account id.
const ENCODED_ACCOUNT_ID: &str = "a07e1sandbox0";
/// The partner that provisioned the account (spec `Customer.encoded_partner_id`,
/// read-only); recorded answers carry it (issue 21).
const ENCODED_PARTNER_ID: &str = "a37cranviy95el";

impl Summary {
    /// The sandbox account: the owner of `owner@example.com` in Boston, MA (the same
    /// address campaign footers default to).
    pub fn seeded() -> Summary {
        let text = |s: &str| Some(s.to_owned());
        Summary {
            profile: Profile {
                contact_email: text("owner@example.com"),
                contact_phone: text("555-555-0100"),
                country_code: text("US"),
                first_name: text("Sandbox"),
                last_name: text("Owner"),
                organization_name: text("Sandbox Company"),
                organization_phone: text("555-555-0101"),
                state_code: text("MA"),
                time_zone_id: text("US/Eastern"),
                website: text("https://www.example.com"),
            },
            address: Some(Address {
                address_line1: text("123 Main Street"),
                address_line2: None,
                address_line3: None,
                city: text("Boston"),
                state_code: text("MA"),
                state_name: None,
                postal_code: text("02108"),
                country_code: text("US"),
            }),
        }
    }

    fn render(&self) -> Value {
        let mut body = json!(self.profile);
        body["encoded_account_id"] = json!(ENCODED_ACCOUNT_ID);
        body["encoded_partner_id"] = json!(ENCODED_PARTNER_ID);
        body
    }
}

/// `GET /v3/account/summary`.
pub async fn fetch(
    _: Needs<AccountRead>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let extra = request::csv(
        Area::General,
        "extra_fields",
        query.get("extra_fields").map(String::as_str),
        &["physical_address", "company_logo"],
    )?;
    let account = sandbox.account();
    let mut body = account.summary.render();
    if let Some(address) = account.summary.address.as_ref() {
        if extra.contains(&"physical_address") {
            body["physical_address"] = json!(address);
        }
    }
    if extra.contains(&"company_logo") {
        body["company_logo"] = json!({
            "url": "https://files.example.com/sandbox/logo.png",
            "internal_id": "ACCOUNT.IMAGE.1",
        });
    }
    Ok(Json(body))
}

/// `PUT /v3/account/summary`: the sent properties change.
pub async fn update(
    _: Needs<AccountUpdate>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Profile>,
) -> Result<Json<Value>, ApiError> {
    let mut p = Problems::default();
    p.email("contact_email", input.contact_email.as_deref());
    p.max_len("contact_phone", input.contact_phone.as_deref(), 25);
    if input
        .country_code
        .as_deref()
        .is_some_and(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()))
    {
        p.add("country_code must be a two-letter ISO 3166-1 code");
    }
    p.finish(Area::General)?;
    let mut account = sandbox.account();
    let old = &mut account.summary.profile;
    let keep = |new: Option<String>, old: &mut Option<String>| {
        if new.is_some() {
            *old = new;
        }
    };
    keep(input.contact_email, &mut old.contact_email);
    keep(input.contact_phone, &mut old.contact_phone);
    keep(
        input.country_code.map(|c| c.to_ascii_uppercase()),
        &mut old.country_code,
    );
    keep(input.first_name, &mut old.first_name);
    keep(input.last_name, &mut old.last_name);
    keep(input.organization_name, &mut old.organization_name);
    keep(input.organization_phone, &mut old.organization_phone);
    keep(input.state_code, &mut old.state_code);
    keep(input.time_zone_id, &mut old.time_zone_id);
    keep(input.website, &mut old.website);
    Ok(Json(account.summary.render()))
}

/// `GET /v3/account/summary/physical_address`.
pub async fn address(
    _: Needs<AccountRead>,
    State(sandbox): State<Sandbox>,
) -> Result<Json<Address>, ApiError> {
    let address = sandbox.account().summary.address.clone();
    address
        .map(Json)
        .ok_or_else(|| ApiError::not_found(Area::General, "the account has no physical address"))
}

impl Address {
    fn check(&self) -> Result<(), ApiError> {
        let mut p = Problems::default();
        p.required("address_line1", self.address_line1.as_deref());
        p.required("city", self.city.as_deref());
        p.required("country_code", self.country_code.as_deref());
        for (name, line) in [
            ("address_line1", &self.address_line1),
            ("address_line2", &self.address_line2),
            ("address_line3", &self.address_line3),
        ] {
            p.max_len(name, line.as_deref(), 80);
            if line.as_deref().is_some_and(str::is_empty) {
                p.add(format!("{name} must not be empty"));
            }
        }
        p.max_len("state_code", self.state_code.as_deref(), 2);
        let country = self
            .country_code
            .as_deref()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if country == "US" || country == "CA" {
            p.required("state_code", self.state_code.as_deref());
            p.required("postal_code", self.postal_code.as_deref());
            if self.state_name.is_some() {
                p.add("state_name is only for countries other than US and CA; use state_code");
            }
        } else if self.state_code.is_some() {
            p.add("state_code is only for US and CA addresses; use state_name");
        }
        p.finish(Area::General)
    }
}

/// `PUT /v3/account/summary/physical_address`: replaces the address; 200.
pub async fn replace_address(
    _: Needs<AccountUpdate>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Address>,
) -> Result<Json<Address>, ApiError> {
    input.check()?;
    sandbox.account().summary.address = Some(input.clone());
    Ok(Json(input))
}

/// `POST /v3/account/summary/physical_address`: 201, or 409 when there is one.
pub async fn add_address(
    _: Needs<AccountUpdate>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Address>,
) -> Result<(StatusCode, Json<Address>), ApiError> {
    input.check()?;
    let mut account = sandbox.account();
    if account.summary.address.is_some() {
        return Err(ApiError::conflict(
            Area::General,
            "the account already has a physical address: use PUT to change it",
        ));
    }
    account.summary.address = Some(input.clone());
    Ok((StatusCode::CREATED, Json(input)))
}

/// `POST /__sandbox/physical_address/remove`: the account has no address any more; 204.
pub async fn remove_address(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.account().summary.address = None;
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use crate::testing::{message, Client};
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    #[tokio::test]
    async fn the_summary_updates_partially_and_ignores_read_only_fields() {
        let client = Client::new();
        let (status, summary) = client
            .send(
                "account_read",
                Method::GET,
                "/v3/account/summary?extra_fields=physical_address",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(summary["physical_address"]["city"], "Boston");
        assert!(summary.get("company_logo").is_none());
        let change = json!({"organization_name": "Acme", "encoded_account_id": "other"});
        let (status, updated) = client
            .send(
                "account_update",
                Method::PUT,
                "/v3/account/summary",
                Some(change),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                updated["organization_name"].as_str(),
                updated["first_name"].as_str()
            ),
            (Some("Acme"), Some("Sandbox"))
        );
        assert_eq!(updated["encoded_account_id"], "a07e1sandbox0");
        let (status, error) = client
            .put(
                "/v3/account/summary",
                json!({"contact_phone": "5".repeat(26)}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&error).contains("contact_phone"));
        assert_eq!(
            client
                .put("/v3/account/summary", json!({"contact_email": "nope"}))
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            client.get("/v3/account/summary?extra_fields=plan").await.0,
            StatusCode::BAD_REQUEST
        );
        let (status, _) = client
            .send(
                "account_read",
                Method::PUT,
                "/v3/account/summary",
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            client
                .send("contact_data", Method::GET, "/v3/account/summary", None)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn the_physical_address_follows_the_country_rules() {
        let client = Client::new();
        let path = "/v3/account/summary/physical_address";
        let paris = json!({"address_line1": "1 Rue de Rivoli", "city": "Paris", "country_code": "FR", "state_name": "IDF"});
        assert_eq!(
            client.put(path, paris.clone()).await,
            (StatusCode::OK, paris.clone())
        );
        assert_eq!(client.get(path).await.1, paris);
        let cases = [
            (
                json!({"city": "Paris", "country_code": "FR"}),
                "address_line1 is missing",
            ),
            (
                json!({"address_line1": "1 Main", "city": "Boston", "country_code": "US", "postal_code": "02108"}),
                "state_code is missing",
            ),
            (
                json!({"address_line1": "1 Main", "city": "Paris", "country_code": "FR", "state_code": "PA"}),
                "state_code is only for US and CA",
            ),
            (
                json!({"address_line1": "x".repeat(81), "city": "Paris", "country_code": "FR"}),
                "address_line1 exceeds",
            ),
        ];
        for (body, expected) in cases {
            let (status, error) = client.put(path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(message(&error).contains(expected), "{error}");
        }
        assert_eq!(
            client.post(path, paris.clone()).await.0,
            StatusCode::CONFLICT
        );
        let (status, _) = client
            .post("/__sandbox/physical_address/remove", json!({}))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(client.get(path).await.0, StatusCode::NOT_FOUND);
        let no_city = json!({"address_line1": "1 Rue de Rivoli", "country_code": "FR"});
        assert_eq!(client.post(path, no_city).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(
            client.post(path, paris.clone()).await,
            (StatusCode::CREATED, paris.clone())
        );
        assert_eq!(client.get(path).await.1, paris);
    }
}
