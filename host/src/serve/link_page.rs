//! The hosted page a connect link opens (`/connect/{id}`): one form for one
//! connection, server-rendered (no script), then the provider's sign-in,
//! then back to the platform's registered URL or a done page.
//!
//! The first browser to open a link gets a binding cookie (HttpOnly,
//! SameSite=Lax) and the form an anti-forgery value; any other browser,
//! and the same link after it expired or its form was submitted, gets the
//! same "ask for a new link" page, revealing nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, Redirect, Response};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::auth::{cookie, random_token, same_secret, set_cookie};
use super::connect::{begin, link_cookie, page};
use super::connections::{self, AssetChoice, Draft, FieldValue};
use super::headers::secured;
use super::links::{self, After, Link, Preset};
use super::space::Scope;
use super::state::{Binding, State};
use super::tenants::Principal;
use crate::invoke::ConnectionField;

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The one answer for a link that is unknown, expired, used or another
/// browser's.
fn gone() -> Response {
    page(
        StatusCode::GONE,
        "This link cannot be used",
        "It has expired, was already used, or was opened in another browser. Ask for a new link.",
    )
}

/// Whether `id` has a link's shape (anything else is never looked up).
fn well_formed(id: &str) -> bool {
    id.strip_prefix("cl_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `GET /connect/{id}`: binds the first browser and shows the form.
pub async fn open(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !well_formed(&id) {
        return gone();
    }
    let kept = links::record(&state.home_documents(), &id);
    // Only a link that exists is changed: an unknown id leaves no trace
    // (not even a lock file) however many are tried.
    if !matches!(kept.read().await, Ok(Some(_))) {
        return gone();
    }
    let name = link_cookie(&state, &digest(&id));
    let sent = cookie(&headers, &name).map(|v| digest(&v));
    let (value, token) = (random_token(), random_token());
    let bound = digest(&value);
    let opened = kept
        .change(move |slot| {
            let Some(link) = slot
                .as_mut()
                .filter(|l| l.expires_at > links::now() && !l.used)
            else {
                return (false, None);
            };
            match &link.opened {
                None => {
                    link.opened = Some(bound.clone());
                    link.form_token = Some(token.clone());
                    (true, Some((link.clone(), true)))
                }
                Some(kept) if sent.as_deref().is_some_and(|s| same_secret(s, kept)) => {
                    (false, Some((link.clone(), false)))
                }
                Some(_) => (false, None),
            }
        })
        .await;
    let Ok(Some((link, first))) = opened else {
        return gone();
    };
    let mut response = form(&state, &id, &link, None).await;
    if first {
        let life = Duration::from_secs(link.expires_at.saturating_sub(links::now()));
        let set = set_cookie(&state, &name, &value, life);
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}

/// `POST /connect/{id}`: saves the connection and starts the sign-in.
pub async fn submit(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form_data: HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let Some((link, value)) = bound_link(&state, &headers, &id, &form_data).await else {
        return gone();
    };
    let scope = Scope::new(
        state.clone(),
        Principal::EndUser {
            tenant: link.tenant.clone(),
            end_user: link.end_user.clone(),
        },
        &link.tenant,
    );
    let actor = super::auth::audit_actor(&state, &scope.principal, Some(&link.tenant));
    let saved = crate::audit::scope(actor.clone(), save(&scope, &link, &form_data)).await;
    if let Err(error) = saved {
        let message = error.body()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        return form(&state, &id, &link, Some(&message)).await;
    }
    // Saved: the link's form is spent.
    let spent = links::record(&state.home_documents(), &id)
        .change(|slot| match slot.as_mut().filter(|l| !l.used) {
            Some(link) => {
                link.used = true;
                (true, true)
            }
            None => (false, false),
        })
        .await;
    if !matches!(spent, Ok(true)) {
        return gone();
    }
    let after = After {
        redirect: link.redirect.clone(),
        end_user: link.end_user.clone(),
    };
    let oauth = scope
        .session(&link.connection)
        .await
        .is_ok_and(|s| s.tokens().is_some());
    if !oauth {
        return ended(&link.connection, &after, "connected");
    }
    let binding = Binding::Link {
        link: digest(&id),
        opened: Some(value),
    };
    let started = begin(&scope, link.connection.clone(), Some(after.clone()), |a| {
        (binding, a.url.to_string())
    });
    match crate::audit::scope(actor, started).await {
        Ok((url, _)) => onward(&url),
        Err(_) => ended(&link.connection, &after, "failed"),
    }
}

/// The link `id`, if this browser opened it, its form's anti-forgery value
/// is right, and it is neither expired nor used; with the binding cookie's value.
async fn bound_link(
    state: &State,
    headers: &HeaderMap,
    id: &str,
    form_data: &HashMap<String, String>,
) -> Option<(Link, String)> {
    if !well_formed(id) {
        return None;
    }
    let value = cookie(headers, &link_cookie(state, &digest(id)))?;
    let link = links::record(&state.home_documents(), id)
        .read()
        .await
        .ok()??;
    let live = link.expires_at > links::now() && !link.used;
    let browser = link
        .opened
        .as_deref()
        .is_some_and(|o| same_secret(o, &digest(&value)));
    let sent = form_data.get("form_token").map_or("", String::as_str);
    let token = link
        .form_token
        .as_deref()
        .is_some_and(|t| same_secret(t, sent));
    (live && browser && token).then_some((link, value))
}

/// Writes the connection: the link's presets, what was typed or picked,
/// and (connecting again) what it had for the rest.
async fn save(
    scope: &Scope,
    link: &Link,
    form_data: &HashMap<String, String>,
) -> Result<(), super::errors::ApiError> {
    let existing = match scope.stamp(&link.connection).await? {
        Some(_) => Some(super::api::load(scope, &link.connection).await?),
        None => None,
    };
    let (_, connector) = connections::connector(scope, &link.connector).await?;
    let mut fields = std::collections::BTreeMap::new();
    for field in &connector.info().fields {
        let entry = match link.presets.get(&field.name) {
            Some(Preset::Value(v)) => Some(FieldValue::Value(SecretString::from(v.clone()))),
            Some(Preset::Asset(a)) => Some(FieldValue::Asset(a.clone())),
            None => entered(link, field, form_data).or_else(|| {
                let kept = existing
                    .as_ref()
                    .is_some_and(|e| e.connection.fields.contains_key(&field.name));
                kept.then_some(FieldValue::Keep(true))
            }),
        };
        if let Some(entry) = entry {
            fields.insert(field.name.clone(), entry);
        }
    }
    let draft = Draft {
        name: Some(link.connection.to_string()),
        connector: link.connector.clone(),
        fields,
        scopes: None,
        end_user: Some(link.end_user.clone()),
    };
    let change = match existing {
        Some(_) => crate::audit::Change::Changed,
        None => crate::audit::Change::Created,
    };
    connections::write(scope, &link.connection, draft, existing.as_ref()).await?;
    crate::audit::connection_changed(change, link.connection.as_str(), Some(&link.connector));
    Ok(())
}

/// What the person typed or picked for `field`, if anything.
fn entered(
    link: &Link,
    field: &ConnectionField,
    form_data: &HashMap<String, String>,
) -> Option<FieldValue> {
    let typed = form_data
        .get(&format!("f.{}", field.name))
        .filter(|v| !v.is_empty());
    if let Some(value) = typed {
        return Some(FieldValue::Value(SecretString::from(value.clone())));
    }
    let part = |p: &str| {
        form_data
            .get(&format!("a.{}.{p}", field.name))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let name = part("name").filter(|_| link.assets && field.secret)?;
    Some(FieldValue::Asset(AssetChoice {
        store: part("store").unwrap_or_default(),
        name,
        kind: None,
        key: part("key"),
        part: None,
    }))
}

/// The page that sends the browser on to the provider. A meta refresh, not
/// a redirect: the page's policy allows forms to submit only to this
/// server (`form-action 'self'`), which browsers apply to a form's redirects.
fn onward(url: &str) -> Response {
    let url = escape(url);
    secured(Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={url}\"><title>Sign in</title><link rel=stylesheet href=/app.css><main class=sign-in><h1>Sign in</h1><p id=message>Taking you to the sign-in page…</p><p><a id=onward href=\"{url}\">Continue</a></p></main>"
    )))
}

/// Where the person goes once the sign-in ended: the registered URL with
/// `status`, `connection` and `end_user`, or a page saying how it ended.
pub fn ended(connection: &crate::name::Name, after: &After, outcome: &str) -> Response {
    if let Some(redirect) = &after.redirect {
        let mut url = url::Url::parse(redirect).expect("checked when the config was read");
        url.query_pairs_mut()
            .append_pair("status", outcome)
            .append_pair("connection", connection.as_str())
            .append_pair("end_user", &after.end_user);
        return secured(Redirect::to(url.as_str()));
    }
    let (title, message) = match outcome {
        "connected" => (
            "Connected",
            "Your account is connected. You may close this tab.",
        ),
        "declined" => (
            "Not connected",
            "The sign-in was declined. Ask for a new link to try again.",
        ),
        _ => (
            "Not connected",
            "The sign-in did not finish. Ask for a new link to try again.",
        ),
    };
    page(StatusCode::OK, title, message)
}

/// The form for `link`, with `error` above it.
async fn form(state: &Arc<State>, id: &str, link: &Link, error: Option<&str>) -> Response {
    let Ok(entry) = state.catalogue.find(&link.connector).await else {
        return gone();
    };
    let Ok(connector) = entry.loaded else {
        return gone();
    };
    let info = connector.info();
    let mut inputs = String::new();
    for field in info
        .fields
        .iter()
        .filter(|f| !link.presets.contains_key(&f.name))
    {
        inputs.push_str(&field_html(state, link, field));
    }
    let error = error.map_or_else(String::new, |e| {
        format!("<p id=form-error role=alert>{}</p>", escape(e))
    });
    let token = link.form_token.as_deref().unwrap_or("");
    secured(Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\"><title>Connect {title}</title><link rel=stylesheet href=/app.css></head><body><main class=sign-in><h1>Connect {title}</h1><p class=help>{description}</p>{error}<form method=post action=\"/connect/{id}\"><input type=hidden name=form_token value=\"{token}\">{inputs}<div class=actions><button id=connect class=primary type=submit>Connect</button></div></form></main></body></html>",
        title = escape(&info.name),
        description = escape(&info.description),
    )))
}

/// One field's label and input (and, where the link allows it, the
/// credential asset's store, name and key).
fn field_html(state: &State, link: &Link, field: &ConnectionField) -> String {
    let name = escape(&field.name);
    let kind = if field.secret { "password" } else { "text" };
    let required = if field.required && field.default_value.is_none() {
        " aria-required=true"
    } else {
        ""
    };
    let mut html = format!(
        "<label for=\"f.{name}\">{}</label><input id=\"f.{name}\" name=\"f.{name}\" type={kind} autocomplete=off{required}><p class=help>{}</p>",
        escape(&field.label),
        escape(&field.description)
    );
    if link.assets && field.secret {
        let stores: String = state
            .stores
            .keys()
            .map(|s| format!("<option>{}</option>", escape(s)))
            .collect();
        html.push_str(&format!(
            "<details><summary>Use a credential asset instead</summary><label for=\"a.{name}.store\">Store</label><select id=\"a.{name}.store\" name=\"a.{name}.store\">{stores}</select><label for=\"a.{name}.name\">Asset name</label><input id=\"a.{name}.name\" name=\"a.{name}.name\" type=text autocomplete=off><label for=\"a.{name}.key\">Key</label><input id=\"a.{name}.key\" name=\"a.{name}.key\" type=text autocomplete=off placeholder=value></details>"
        ));
    }
    html
}

/// Text made safe for HTML text and quoted attributes (connector text is
/// cleaned of invisible characters first).
fn escape(text: &str) -> String {
    crate::redact::untrusted(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
