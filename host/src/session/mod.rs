//! An opened connection and the one call pipeline every front end uses
//! (DESIGN §4, §10): the CLI's `run`, `--batch` and `--all-pages`, `serve`,
//! and MCP are thin adapters over [`Session::call`].
//!
//! A session owns the connection, its loaded connector, its secret resolver
//! (with the TTL cache), its credential source (OAuth token manager or
//! static fields) and its rate limiter (shared with every connection on the
//! same application or credential). One call: fresh credential and scope
//! check → the activity in a fresh store under the limits → on a 401 the host
//! itself saw, renew the credential and retry once → on a 429 for a
//! retry-safe activity, back off and retry. Calls may run concurrently.

// Errors carry what failed for their message; they are rare, so their size
// on the error path does not matter.
#![allow(clippy::result_large_err)]

mod credential;
mod error;
pub mod overrides;
mod pages;
mod poll;
pub mod remedy;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

pub use error::{ErrorClass, SessionError};
pub use poll::{PollRequest, Polled, TriggerEvent};

pub(crate) use self::credential::client_grant;
use self::credential::{Credentials, ExtraKeys};
use crate::connection::Connection;
use crate::egress::{bound_origins, Credential, EgressEvent, Progress, RateLimiter, SendGate};
use crate::invoke::{
    error_case, ActivityInfo, CallOptions, Connector, InvokeError, LimitScope, LimitWindow,
    RateLimit, Runtime,
};
use crate::oauth::TokenManager;
use crate::quota::{Quota, QuotaState};
use crate::secrets::Resolver;

/// How often a call is tried again with a new token when the API refused
/// one that had run out by then (the call waited past its life, e.g. for the
/// rate limiter): that is no sign the connection needs connecting again.
const RAN_OUT_RETRIES: u32 = 3;

/// How often a retry-safe activity is retried when the API rate-limits it
/// (requests refused with 429 are already resent by the egress hook; this
/// covers connectors that report `rate-limited` after that).
const RATE_LIMIT_RETRIES: u32 = 3;

/// How a front end takes part in one call ([`Session::call_with`]).
#[derive(Debug, Clone, Default)]
pub struct CallHooks {
    /// Told of each request sent.
    pub progress: Option<Progress>,
    /// Passed before each request goes out ([`SendGate`]).
    pub gate: Option<SendGate>,
    /// The caller retries what the API refused with 429 itself, through a
    /// queue that holds the API's rate across processes (the worker): the
    /// host neither resends the request nor retries the call.
    pub caller_retries_429: bool,
}

/// An opened connection, ready for calls.
pub struct Session {
    connection: Connection,
    connector: Arc<Connector>,
    resolver: Resolver,
    credentials: Credentials,
    /// API keys sent beside the credential (sdk 0.4.0 `extra-keys`).
    extra: ExtraKeys,
    rate: Option<Arc<RateLimiter>>,
    quotas: Vec<Arc<Quota>>,
}

impl Session {
    /// Reads the connection file at `path`, loads its (pinned) connector and
    /// sets up its credentials.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use connector_host::{Runtime, Session};
    /// let runtime = Runtime::new()?;
    /// let session = Session::open(&runtime, "cc.toml".as_ref()).await?;
    /// let lists = session.call("list-contact-lists", &serde_json::json!({})).await?;
    /// println!("{lists}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Session::with_connector`], plus reading and loading the files.
    pub async fn open(runtime: &Runtime, path: &Path) -> Result<Session, SessionError> {
        let connection = Connection::load(path)?;
        let bytes = connection.read_connector()?;
        let connector = runtime
            .load(&connection.connector, &bytes, &connection.limits)
            .await?;
        Session::with_connector(connection, Arc::new(connector)).await
    }

    /// A session over a connector loaded already (a catalogue shares one
    /// loaded connector between its connections).
    ///
    /// # Errors
    ///
    /// A [`SessionError`] when the credentials cannot be set up: a missing
    /// field, an unresolvable client id or secret, unusable OAuth endpoints,
    /// or `[token] origins` the connector does not declare.
    pub async fn with_connector(
        connection: Connection,
        connector: Arc<Connector>,
    ) -> Result<Session, SessionError> {
        let resolver = connection.resolver();
        overrides::check(&connection, &connector).map_err(InvokeError::Binding)?;
        bound_origins(
            connector.origins(),
            &connection.endpoints,
            connection.token_origins.as_deref(),
        )
        .map_err(InvokeError::Binding)?;
        let credentials = Credentials::for_connection(&connection, &connector, &resolver).await?;
        let extra = ExtraKeys::for_connection(&connection, &connector)?;
        let limits = connection
            .rate_limits
            .as_deref()
            .unwrap_or(&connector.info().rate_limits);
        let rate = limiter(&connection, &credentials, limits);
        let quotas = quotas(&connection, &credentials, limits, &connector.info().name);
        Ok(Session {
            connection,
            connector,
            resolver,
            credentials,
            extra,
            rate,
            quotas,
        })
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The loaded connector.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The loaded connector, shared.
    pub fn connector_arc(&self) -> Arc<Connector> {
        self.connector.clone()
    }

    /// The connection's secret resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The OAuth token manager, for OAuth connections.
    pub fn tokens(&self) -> Option<&TokenManager> {
        self.credentials.tokens()
    }

    /// The client-credentials grant, for connections that use one.
    pub fn client_grant(&self) -> Option<&crate::oauth::ClientGrant> {
        self.credentials.client_grant()
    }

    /// What the API's limits count against, as a digest (never a secret):
    /// the OAuth application (client id at its token URL) or the static
    /// credential's sources. Connections with the same key share a rate
    /// limiter in a process, and a worker's task queue across processes.
    pub fn application_key(&self) -> [u8; 32] {
        self.credentials.rate_key(&self.connection)
    }

    /// The API's calendar quotas for this connection, and what is left.
    pub async fn quotas(&self) -> Vec<QuotaState> {
        let mut states = Vec::with_capacity(self.quotas.len());
        for quota in &self.quotas {
            states.push(quota.state().await);
        }
        states
    }

    /// Runs `activity` with `input` (DESIGN §4) and returns its result.
    ///
    /// # Errors
    ///
    /// A [`SessionError`]; [`SessionError::class`] says which kind.
    pub async fn call(&self, activity: &str, input: &Value) -> Result<Value, SessionError> {
        self.call_reporting(activity, input, None).await
    }

    /// [`Session::call`], telling `progress` of each request sent (a
    /// retried call counts again from one).
    ///
    /// # Errors
    ///
    /// As [`Session::call`].
    pub async fn call_reporting(
        &self,
        activity: &str,
        input: &Value,
        progress: Option<Progress>,
    ) -> Result<Value, SessionError> {
        let hooks = CallHooks {
            progress,
            ..CallHooks::default()
        };
        self.call_with(activity, input, hooks).await
    }

    /// [`Session::call`] with a front end's [`CallHooks`]: progress, a gate
    /// each request passes before it goes out (the worker's at-most-once
    /// evidence), and rate-limit retries left to the caller.
    ///
    /// # Errors
    ///
    /// As [`Session::call`]; a request the gate held back fails the call
    /// with [`EgressEvent::Held`] among its events.
    pub async fn call_with(
        &self,
        activity: &str,
        input: &Value,
        hooks: CallHooks,
    ) -> Result<Value, SessionError> {
        let described = self.activity(activity).cloned();
        self.run_described(activity, described, input, hooks, false)
            .await
    }

    /// One call of a described export (an activity, or a trigger's poll
    /// when `read_only`) through the whole pipeline, with its audit line
    /// and metrics: a name that is not described is counted and audited too.
    async fn run_described(
        &self,
        activity: &str,
        described: Result<ActivityInfo, SessionError>,
        input: &Value,
        hooks: CallHooks,
        read_only: bool,
    ) -> Result<Value, SessionError> {
        crate::audit::in_call(async {
            let began = std::time::Instant::now();
            let result = match described {
                Ok(described) => self.calling(&described, input, hooks, read_only).await,
                Err(error) => Err(error),
            };
            let info = self.connector.info();
            crate::metrics::call(info, activity, &result, began);
            let outcome = result.map_err(|error| self.credentials.worded(error));
            crate::audit::activity_run(&self.connection, info, activity, &outcome, began);
            outcome
        })
        .await
    }

    async fn calling(
        &self,
        info: &ActivityInfo,
        input: &Value,
        hooks: CallHooks,
        read_only: bool,
    ) -> Result<Value, SessionError> {
        let CallHooks {
            progress,
            gate,
            caller_retries_429,
        } = hooks;
        let activity = info.name.as_str();
        // A quota this process already found spent fails the call at once.
        for quota in &self.quotas {
            quota.check().map_err(SessionError::QuotaExhausted)?;
        }
        let (mut renewed, mut rate_retries, mut ran_out) = (false, 0, 0);
        let mut rejected: Option<SecretString> = None;
        loop {
            let (credential, used) = self
                .credentials
                .current(&self.resolver, info, rejected.as_ref())
                .await?;
            let credential =
                Credential::with(credential, self.extra.current(&self.resolver).await?);
            let options = CallOptions {
                limits: self.connection.limits.clone(),
                overrides: self.connection.endpoints.clone(),
                credential,
                token_origins: self.connection.token_origins.clone(),
                rate: self.rate.clone(),
                quotas: self.quotas.clone(),
                tls: self.connection.tls.clone(),
                progress: progress.clone(),
                gate: gate.clone(),
                caller_retries_429,
                read_only,
            };
            let error = match self.connector.call(activity, input, &options).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if let Some(quota) = quota_error(&error) {
                return Err(quota);
            }
            match &error {
                // Only a 401 the host itself saw on a credentialed request
                // renews: a connector that merely claims `unauthorized` must
                // not make the host spend refresh tokens.
                InvokeError::Activity {
                    error: e, events, ..
                } if error_case(e) == Some("unauthorized")
                    && refused_credential(events)
                    && used.as_ref().is_some_and(|u| u.ran_out())
                    && ran_out < RAN_OUT_RETRIES =>
                {
                    tracing::info!(
                        activity,
                        "the access token ran out while the call waited; retrying with a fresh one"
                    );
                    ran_out += 1;
                    rejected = used.map(|u| u.token);
                }
                InvokeError::Activity {
                    error: e, events, ..
                } if error_case(e) == Some("unauthorized")
                    && refused_credential(events)
                    && !renewed
                    && (self.credentials.renewable() || self.extra.renewable()) =>
                {
                    tracing::info!(
                        activity,
                        "the API refused the credential; renewing it and retrying once"
                    );
                    renewed = true;
                    self.credentials.forget(&self.resolver).await;
                    self.extra.forget(&self.resolver).await;
                    rejected = used.map(|u| u.token);
                }
                InvokeError::Activity { error: e, .. }
                    if info.retry_safe
                        && !caller_retries_429
                        && rate_retries < RATE_LIMIT_RETRIES
                        && error_case(e) == Some("rate_limited") =>
                {
                    rate_retries += 1;
                    tracing::info!(activity, attempt = rate_retries, "rate limited; retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(rate_retries))).await;
                }
                _ => return Err(error.into()),
            }
        }
    }

    /// The described activity, or the error naming the real ones.
    fn activity(&self, name: &str) -> Result<&ActivityInfo, SessionError> {
        let info = self.connector.info();
        info.activities
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = info.activities.iter().map(|a| a.name.as_str()).collect();
                InvokeError::UnknownActivity {
                    connector: info.name.clone(),
                    name: name.to_owned(),
                    hint: crate::suggest::hint(name, &names, "its activities are"),
                }
                .into()
            })
    }
}

/// The connection's calendar quotas (its daily limits), counted in its
/// quota store across processes: per application shared with every
/// connection on that application, per account or token its own.
fn quotas(
    connection: &Connection,
    credentials: &Credentials,
    limits: &[RateLimit],
    connector: &str,
) -> Vec<Arc<Quota>> {
    let application = credentials.rate_key(connection);
    limits
        .iter()
        .filter_map(|limit| {
            let LimitWindow::Daily(offset) = limit.window else {
                return None;
            };
            let (key, app) = match limit.per {
                LimitScope::Application => (
                    application,
                    format!("application {}", &hex::encode(application)[..8]),
                ),
                _ => {
                    let own = connection_key(connection, application);
                    (own, format!("connection {}", &hex::encode(own)[..8]))
                }
            };
            let app = format!("{connector} {app}");
            let base = format!("quotas/{connector}/{}", &hex::encode(key)[..16]);
            let base = crate::name::AssetName::parse(&base, "quota path").ok()?;
            let store = connection.quota_store();
            Some(Quota::shared(
                key,
                limit.requests,
                offset,
                app,
                &base,
                store,
            ))
        })
        .collect()
}

/// A key of this connection's own, derived from its application's.
fn connection_key(connection: &Connection, application: [u8; 32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(application)
        .chain_update(connection.path.to_string_lossy().as_bytes())
        .finalize()
        .into()
}

/// A call that stopped on a calendar quota, as the quota's own error.
fn quota_error(error: &InvokeError) -> Option<SessionError> {
    let InvokeError::Activity { events, .. } = error else {
        return None;
    };
    events.iter().find_map(|event| match event {
        EgressEvent::QuotaExhausted(spent) => Some(SessionError::QuotaExhausted(spent.clone())),
        EgressEvent::QuotaUnavailable { store, reason } => Some(SessionError::QuotaUnavailable {
            store: store.clone(),
            reason: reason.clone(),
        }),
        _ => None,
    })
}

/// The connection's rate limiter: limits per application shared by every
/// connection on that application (or static credential) in the process,
/// so two connections on one API key share the API's allowance; limits per
/// account or token by this connection alone.
fn limiter(
    connection: &Connection,
    credentials: &Credentials,
    limits: &[RateLimit],
) -> Option<Arc<RateLimiter>> {
    let application = credentials.rate_key(connection);
    let own = connection_key(connection, application);
    let of = |wanted: fn(LimitScope) -> bool| -> Vec<RateLimit> {
        limits.iter().copied().filter(|l| wanted(l.per)).collect()
    };
    let groups = [
        (application, of(|p| p == LimitScope::Application)),
        (own, of(|p| p != LimitScope::Application)),
    ];
    RateLimiter::shared(&groups).map(Arc::new)
}

fn refused_credential(events: &[EgressEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, EgressEvent::CredentialRefused { .. }))
}
