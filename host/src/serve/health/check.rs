//! Looking at one connection: what its health is now, and when to look
//! again. An OAuth connection's access token is renewed here, ahead of its
//! expiry, through the token manager's one protocol (read again under a
//! check-and-set claim), so a replica or process that renewed it first makes
//! this a store read and nothing more. A credential asset is resolved through
//! the session's resolver, whose cache makes that cheap.
//!
//! Reasons are the host's own sentences: field, asset and store names,
//! error codes; never a value, a token, a path or a server's text.

use super::super::space::Scope;
use super::record::{Condition, Health};
use crate::name::Name;
use crate::oauth::store::{now, TokenRecord};
use crate::oauth::{OAuthError, TokenManager};
use crate::secrets::{FieldSource, SecretError, StoreError};
use crate::{Session, SessionError};

/// How soon a transient failure is tried again (at most; the monitor's
/// interval when that is shorter).
const RETRY_MS: u64 = 10_000;

/// The longest a token is renewed ahead of its expiry.
const MOST_LEAD_MS: u64 = 300_000;

/// What a look at a connection found.
pub struct Seen {
    /// The health now.
    pub health: Health,
    /// When to look again (unix milliseconds).
    pub next: u64,
}

fn seen(state: Condition, reason: impl Into<String>, next: u64) -> Seen {
    Seen {
        health: Health {
            state,
            reason: reason.into(),
            since: now(),
            announced: false,
            evidence: 0,
        },
        next,
    }
}

/// How long before expiry a token is renewed: half its life, at most five
/// minutes (a 24-hour token five minutes ahead, a 2-second one at 1 s).
pub fn lead(record: &TokenRecord) -> u64 {
    (record.expires_at.saturating_sub(record.issued_at) / 2).min(MOST_LEAD_MS)
}

/// Connection `name`'s health; `interval_ms` is the longest wait before
/// the next look.
pub async fn connection(scope: &Scope, name: &Name, interval_ms: u64) -> Seen {
    let later = now() + interval_ms;
    let retry = now() + interval_ms.min(RETRY_MS);
    let session = match scope.session(name).await {
        Ok(session) => session,
        Err(SessionError::Secret(error)) => return secret(&error, later, retry),
        Err(error) if error.class() == crate::ErrorClass::SecretUnresolvable => {
            return seen(
                Condition::Unreachable,
                "the connection's store did not answer",
                retry,
            )
        }
        Err(error) => {
            let class = error.class().name();
            return seen(
                Condition::Broken,
                format!("the connection cannot be opened ({class})"),
                later,
            );
        }
    };
    if let Some(problem) = assets(&session, later, retry).await {
        return problem;
    }
    match session.tokens() {
        Some(tokens) => oauth(tokens, later, retry).await,
        None => seen(Condition::Ok, "its credential resolves", later),
    }
}

/// Resolves each credential asset the connection names (from the
/// resolver's cache when it is warm).
async fn assets(session: &Session, later: u64, retry: u64) -> Option<Seen> {
    for (field, source) in &session.connection().fields {
        if let FieldSource::Asset(_) = source {
            if let Err(error) = session.resolver().resolve(field, source).await {
                return Some(secret(&error, later, retry));
            }
        }
    }
    None
}

/// A field whose secret does not resolve.
fn secret(error: &SecretError, later: u64, retry: u64) -> Seen {
    let field = error.field();
    match error {
        SecretError::Fetch {
            asset,
            store,
            error,
            ..
        } => match error.as_ref() {
            StoreError::NotFound { .. } => seen(
                Condition::NeedsReauth,
                format!(
                    "field {field}: credential asset '{asset}' is missing from store '{store}'"
                ),
                later,
            ),
            StoreError::Unreachable { .. } | StoreError::Sealed { .. } => seen(
                Condition::Unreachable,
                format!("field {field}: store '{store}' did not answer"),
                retry,
            ),
            _ => seen(
                Condition::Broken,
                format!(
                    "field {field}: store '{store}' refused to give credential asset '{asset}'"
                ),
                later,
            ),
        },
        SecretError::KeyMissing {
            asset, store, key, ..
        } => seen(
            Condition::NeedsReauth,
            format!(
                "field {field}: credential asset '{asset}' in store '{store}' has no key {key:?}"
            ),
            later,
        ),
        _ => seen(
            Condition::Broken,
            format!("field {field}: its secret cannot be resolved"),
            later,
        ),
    }
}

/// An OAuth connection: renewed when its token is within [`lead`] of expiry.
async fn oauth(tokens: &TokenManager, later: u64, retry: u64) -> Seen {
    let record = match tokens.current().await {
        Ok((record, _)) => record,
        Err(error) => return refused(&error, later, retry),
    };
    if record.refused_at != 0 {
        // Marked by whoever was refused (perhaps another replica): nothing
        // is spent to learn it again.
        let reason = "the refresh token was refused (invalid_grant): it expired or was revoked";
        let mut found = seen(Condition::NeedsReauth, reason, later);
        (found.health.since, found.health.evidence) = (record.refused_at, record.refused_at);
        return found;
    }
    let lead = lead(&record);
    let record = if now() + lead >= record.expires_at {
        match tokens.fresh_for(lead).await {
            Ok(record) => record,
            Err(error) => return oauth_failed(tokens, &error, later, retry).await,
        }
    } else {
        record
    };
    let renew_at = record.expires_at.saturating_sub(lead);
    let mut found = seen(
        Condition::Ok,
        "its access token is fresh",
        renew_at.min(later),
    );
    found.health.evidence = record.issued_at;
    found
}

/// A failed renewal; a refusal carries its mark's time as evidence.
async fn oauth_failed(tokens: &TokenManager, error: &OAuthError, later: u64, retry: u64) -> Seen {
    let mut found = refused(error, later, retry);
    if found.health.state == Condition::NeedsReauth {
        if let Ok((record, _)) = tokens.current().await {
            if record.refused_at != 0 {
                (found.health.since, found.health.evidence) =
                    (record.refused_at, record.refused_at);
            }
        }
    }
    found
}

/// What a failed token step means for the connection.
fn refused(error: &OAuthError, later: u64, retry: u64) -> Seen {
    match error {
        OAuthError::NotConnected { .. } => seen(
            Condition::NotConnected,
            "nobody has connected it yet",
            later,
        ),
        OAuthError::Reconnect { reason, .. } => seen(Condition::NeedsReauth, reason.clone(), later),
        OAuthError::NotPinned { .. } | OAuthError::TokenUrlChanged { .. } => seen(
            Condition::NeedsReauth,
            "its tokens cannot be renewed at the token URL it pins now",
            later,
        ),
        OAuthError::Store { .. } => seen(
            Condition::Unreachable,
            "the token store did not answer",
            retry,
        ),
        OAuthError::InvalidClient => seen(
            Condition::Broken,
            "the authorization server refused the client credentials (invalid_client)",
            later,
        ),
        OAuthError::Server { error, .. } if transient(error) => seen(
            Condition::Unreachable,
            "the authorization server's token endpoint did not answer; trying again",
            retry,
        ),
        OAuthError::Server { error, .. } => seen(
            Condition::Broken,
            format!(
                "the authorization server refused the refresh ({})",
                code(error)
            ),
            later,
        ),
        _ => seen(
            Condition::Broken,
            "its tokens cannot be renewed as configured",
            later,
        ),
    }
}

/// No answer, a failure that is not an OAuth error answer, or one that says
/// "try later" (RFC 6749 §5.2 and its registry).
fn transient(error: &str) -> bool {
    matches!(
        error,
        "request failed" | "server_error" | "temporarily_unavailable"
    )
}

/// An OAuth error code as it may be shown: its registry's characters only.
fn code(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .take(40)
        .collect()
}
