//! Connect links: a platform's backend asks for a link for (tenant, end
//! user, connector, connection, preset fields); its person opens it and
//! sees one hosted form for that one connection ([`super::link_page`]),
//! signs in at the provider, and is sent back to a URL the operator
//! registered (`connect_redirects`, matched exactly) or shown a done page.
//!
//! A link is `<public_url>/connect/cl_<64 hex>`. Only its SHA-256 names the
//! record (`.connect-links/<digest>.json` beside the connections, or
//! `connect-links/<digest>` in the connections store), so a leaked list
//! of records opens nothing.
//!
//! Invariants: a link works for at most `expires_in` seconds (≤ 1 hour);
//! the first browser to open it is bound to it (a cookie) and no other
//! may use it; its form is submitted once; a preset secret is only ever a
//! credential asset (a link record holds no secret); the end user never
//! sees a token, another connection, or another tenant's anything.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::connections::{self, AssetChoice};
use super::errors::ApiError;
use super::record::Record;
use super::space::Scope;
use crate::documents::Documents;
use crate::name::{AssetName, Name};

/// A link, as kept.
#[derive(Serialize, Deserialize, Clone)]
pub struct Link {
    /// Its tenant.
    pub tenant: Name,
    /// The platform's id of the person.
    pub end_user: String,
    /// The connector, by name.
    pub connector: String,
    /// The connection it makes (or connects again).
    pub connection: Name,
    /// Fields the platform chose; the form shows only the others.
    pub presets: BTreeMap<String, Preset>,
    /// Whether the form offers "Use credential asset" for secret fields.
    pub assets: bool,
    /// Where the person goes back to (one of `connect_redirects`).
    pub redirect: Option<String>,
    /// When it stops working (Unix seconds).
    pub expires_at: u64,
    /// SHA-256 (hex) of the binding cookie of the browser that opened it.
    pub opened: Option<String>,
    /// The form's anti-forgery value (set when opened).
    pub form_token: Option<String>,
    /// Whether its form was submitted.
    pub used: bool,
}

/// A field the platform set in the link.
#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Preset {
    /// A value, for a field that is not secret.
    Value(String),
    /// A credential asset.
    Asset(AssetChoice),
}

/// Where a connect link's person goes when the sign-in ends.
#[derive(Clone)]
pub struct After {
    /// The registered URL, if the link named one.
    pub redirect: Option<String>,
    /// The person.
    pub end_user: String,
}

/// What `POST /api/connect-links` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    end_user: String,
    connector: String,
    connection: String,
    #[serde(default)]
    fields: BTreeMap<String, Preset>,
    #[serde(default)]
    allow_assets: bool,
    redirect_url: Option<String>,
    expires_in: Option<u64>,
}

/// How long a link works unless the request says (seconds), and at most.
const DEFAULT_LIFE: u64 = 900;
const LONGEST_LIFE: u64 = 3600;

/// The record of link `id` (by its digest).
pub fn record(documents: &Documents, id: &str) -> Record<Link> {
    let digest = hex::encode(Sha256::digest(id.as_bytes()));
    let file = std::path::Path::new(".connect-links").join(format!("{digest}.json"));
    let asset = AssetName::parse(&format!("connect-links/{digest}"), "document")
        .expect("a fixed folder and hex digits");
    Record::beside(documents, &file, asset)
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    crate::oauth::store::now() / 1000
}

fn invalid(text: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", text)
}

/// `POST /api/connect-links`: a link for the caller's tenant.
pub async fn create(scope: Scope, Json(new): Json<NewLink>) -> Result<Response, ApiError> {
    if !crate::connection::is_end_user(&new.end_user) {
        return Err(invalid("end_user: 1 to 128 letters, digits or . _ : @ + -"));
    }
    let connection = Name::parse(&new.connection, "connection name")
        .map_err(|e| invalid(format!("connection: {e}")))?;
    let life = new.expires_in.unwrap_or(DEFAULT_LIFE);
    if !(60..=LONGEST_LIFE).contains(&life) {
        return Err(invalid(format!(
            "expires_in: from 60 to {LONGEST_LIFE} seconds"
        )));
    }
    if let Some(url) = &new.redirect_url {
        if !scope.config.connect_redirects.iter().any(|r| r == url) {
            return Err(invalid(
                "redirect_url: not one of the serve config's connect_redirects (matched exactly)\nhint: the operator registers each URL a link may send people back to",
            ));
        }
    }
    if new.allow_assets && !scope.config.connect_link_assets {
        return Err(invalid(
            "allow_assets: this server does not let connect links offer credential assets\nhint: the operator allows it with connect_link_assets = true in the serve config",
        ));
    }
    check_presets(&scope, &new).await?;
    check_owner(&scope, &connection, &new.end_user).await?;
    let id = format!("cl_{}", super::auth::random_token());
    let link = Link {
        tenant: scope.space.tenant.clone(),
        end_user: new.end_user,
        connector: new.connector,
        connection,
        presets: new.fields,
        assets: new.allow_assets,
        redirect: new.redirect_url,
        expires_at: now() + life,
        opened: None,
        form_token: None,
        used: false,
    };
    let kept = link.clone();
    record(&scope.state.home_documents(), &id)
        .change(move |slot| {
            *slot = Some(kept.clone());
            (true, ())
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
    let url = format!("{}/connect/{id}", scope.config.public_url());
    crate::redact::remember(&secrecy::SecretString::from(id));
    let body = json!({"url": url, "expires_in": life, "connection": link.connection,
        "end_user": link.end_user, "connector": link.connector});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Each preset names a declared field; a secret one is a credential asset
/// the tenant may name.
async fn check_presets(scope: &Scope, new: &NewLink) -> Result<(), ApiError> {
    let (_, connector) = connections::connector(scope, &new.connector).await?;
    for (field, preset) in &new.fields {
        let declared = connector.info().fields.iter().find(|f| &f.name == field);
        let Some(declared) = declared else {
            return Err(invalid(format!(
                "fields.{}: the connector has no such field",
                crate::redact::untrusted(field)
            )));
        };
        match preset {
            Preset::Value(_) if declared.secret => {
                return Err(invalid(format!(
                    "fields.{field}: a secret field is preset as a credential asset, never as a value (a link keeps no secret)"
                )))
            }
            Preset::Value(_) => {}
            Preset::Asset(choice) => {
                connections::asset_source(scope, field, choice)?;
            }
        }
    }
    Ok(())
}

/// A link may connect again only a connection of the same person.
async fn check_owner(scope: &Scope, connection: &Name, end_user: &str) -> Result<(), ApiError> {
    let existing = scope
        .documents()
        .load(connection)
        .await
        .map_err(|e| ApiError::from(crate::SessionError::from(e)))?;
    match existing {
        Some((found, _)) if found.end_user.as_deref() != Some(end_user) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("connection {connection} exists and is not this end user's\nhint: choose another connection name"),
        )),
        _ => Ok(()),
    }
}
