//! Where a connection's credential comes from for each call, and how it is
//! renewed when the API refuses it.
//!
//! - OAuth2 (an `[oauth]` table): the [`TokenManager`] gives a fresh access
//!   token, checks the activity's scopes, and refreshes after a refusal.
//! - The OAuth2 client-credentials grant (sdk 0.4.0): a [`ClientGrant`] asks
//!   for a token with the `client_id` and `client_secret` fields, keeps it in
//!   memory and asks again ahead of expiry and after a refusal.
//! - A static credential from the connection's fields: a bearer token
//!   (`[token] access_token`, or the field the connector's `bearer` scheme
//!   names), an API key in a header or the query, or HTTP Basic. A refused
//!   value that came from a credential store is read again (it may have been
//!   rotated); other sources cannot change, so they are not retried.
//!
//! [`ExtraKeys`] are the API keys a connector asks for beside its scheme
//! (sdk 0.4.0 `extra-keys`): built from fields the same way, sent with the
//! main credential under the same binding.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{ErrorClass, SessionError};
use crate::connection::Connection;
use crate::egress::Credential;
use crate::invoke::{ActivityInfo, AuthScheme, Connector, InvokeError, KeyPlacement};
use crate::oauth::{ClientGrant, OAuthSettings, TokenManager, TokenStore};
use crate::secrets::vault::VaultStore;
use crate::secrets::{FieldSource, Resolver};

/// The OAuth access token a call used, and when it expires (unix ms).
pub(crate) struct Used {
    pub(crate) token: SecretString,
    pub(crate) expires_at: u64,
}

impl Used {
    /// Whether the token had run out by now: a 401 for it says nothing of
    /// the connection, only that the call waited past its life.
    pub(crate) fn ran_out(&self) -> bool {
        crate::oauth::store::now() >= self.expires_at
    }
}

/// How a credential is built from resolved field values.
pub(crate) enum Shape {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// `<name>: <prefix><value>`.
    HeaderKey { name: HeaderName, prefix: String },
    /// `?<name>=<value>`.
    QueryKey { name: String },
    /// `Authorization: Basic base64(user:password)`.
    Basic,
}

/// A connection's credential source.
pub(crate) enum Credentials {
    /// No credential at all.
    None,
    /// OAuth2 tokens.
    OAuth(Box<TokenManager>),
    /// A client-credentials grant's token (memory only).
    Client(Box<ClientGrant>),
    /// Built from fields (in the order the shape needs them).
    Fields {
        shape: Shape,
        sources: Vec<(String, FieldSource)>,
    },
}

impl Credentials {
    /// The source the connection and its connector call for.
    pub(crate) async fn for_connection(
        connection: &Connection,
        connector: &Connector,
        resolver: &Resolver,
    ) -> Result<Credentials, SessionError> {
        if matches!(
            connector.info().auth,
            AuthScheme::Oauth2ClientCredentials(_)
        ) {
            let grant = client_grant(connection, connector, resolver).await?;
            return Ok(Credentials::Client(Box::new(grant)));
        }
        if connection.oauth.is_some() {
            let manager = token_manager(connection, connector, resolver).await?;
            return Ok(Credentials::OAuth(Box::new(manager)));
        }
        if let Some(token) = &connection.access_token {
            let sources = vec![("access_token".to_owned(), token.clone())];
            return Ok(Credentials::Fields {
                shape: Shape::Bearer,
                sources,
            });
        }
        let field = |name: &str, why: &str| {
            connection
                .fields
                .get(name)
                .map(|source| (name.to_owned(), source.clone()))
                .ok_or_else(|| SessionError::MissingField {
                    path: connection.path.display().to_string(),
                    field: name.to_owned(),
                    why: why.to_owned(),
                })
        };
        // A credential whose fields the connector marks optional and the
        // connection leaves out is simply not sent.
        let info = connector.info();
        let optional = |name: &str| info.fields.iter().any(|f| f.name == name && !f.required);
        let unset = |name: &str| optional(name) && !connection.fields.contains_key(name);
        let scheme_fields = info.auth.fields();
        if !scheme_fields.is_empty() && scheme_fields.iter().all(|f| unset(f)) {
            return Ok(Credentials::None);
        }
        Ok(match &info.auth {
            AuthScheme::None | AuthScheme::Oauth2(_) | AuthScheme::Oauth2ClientCredentials(_) => {
                Credentials::None
            }
            AuthScheme::Bearer(name) => Credentials::Fields {
                shape: Shape::Bearer,
                sources: vec![field(name, "the connector's bearer token")?],
            },
            AuthScheme::ApiKey(key) => Credentials::Fields {
                shape: match key.placement {
                    KeyPlacement::Query => Shape::QueryKey {
                        name: key.name.clone(),
                    },
                    KeyPlacement::Header => Shape::HeaderKey {
                        name: header_name(connector, &key.name)?,
                        prefix: key.prefix.clone().unwrap_or_default(),
                    },
                },
                sources: vec![field(&key.field, "the connector's API key")?],
            },
            AuthScheme::Basic(basic) => Credentials::Fields {
                shape: Shape::Basic,
                sources: vec![
                    field(&basic.username_field, "HTTP Basic (user name)")?,
                    field(&basic.password_field, "HTTP Basic (password)")?,
                ],
            },
        })
    }

    /// The OAuth token manager, for OAuth connections.
    pub(crate) fn tokens(&self) -> Option<&TokenManager> {
        match self {
            Credentials::OAuth(manager) => Some(manager),
            _ => None,
        }
    }

    /// The client-credentials grant, for connections that use one.
    pub(crate) fn client_grant(&self) -> Option<&ClientGrant> {
        match self {
            Credentials::Client(grant) => Some(grant),
            _ => None,
        }
    }

    /// What the API's rate limits count against, as a digest: the OAuth
    /// application (its client id at its token URL), or the static
    /// credential's sources (two connections naming the same asset, variable,
    /// file or value share it). A connection without a credential is its own.
    pub(crate) fn rate_key(&self, connection: &Connection) -> [u8; 32] {
        let mut digest = Sha256::new();
        match self {
            Credentials::OAuth(manager) => {
                let settings = manager.settings();
                digest.update(b"oauth\0");
                digest.update(settings.token_url.as_str());
                digest.update(b"\0");
                digest.update(&settings.client_id);
            }
            Credentials::Client(grant) => {
                digest.update(b"client-credentials\0");
                digest.update(grant.token_url().as_str());
                digest.update(b"\0");
                digest.update(grant.client_id());
            }
            Credentials::Fields { sources, .. } => {
                digest.update(b"fields\0");
                for (_, source) in sources {
                    digest.update(source_identity(connection, source));
                    digest.update(b"\0");
                }
            }
            Credentials::None => {
                digest.update(b"none\0");
                digest.update(connection.path.to_string_lossy().as_bytes());
            }
        }
        digest.finalize().into()
    }

    /// `error`, saying which field to change when the API refused a
    /// credential that came from the connection's own fields (connecting
    /// again is an OAuth remedy; these can only be replaced).
    pub(crate) fn worded(&self, error: SessionError) -> SessionError {
        let Credentials::Fields { sources, .. } = self else {
            return error;
        };
        let refused = matches!(
            error.class(),
            ErrorClass::NeedsConnect | ErrorClass::MissingScope
        );
        match sources.first() {
            Some((field, _)) if refused => SessionError::CredentialRefused {
                field: field.clone(),
                source: Box::new(error),
            },
            _ => error,
        }
    }

    /// Whether a refused credential can be replaced by another.
    pub(crate) fn renewable(&self) -> bool {
        match self {
            Credentials::None => false,
            Credentials::OAuth(_) | Credentials::Client(_) => true,
            Credentials::Fields { sources, .. } => sources
                .iter()
                .any(|(_, s)| matches!(s, FieldSource::Asset(_))),
        }
    }

    /// The credential for one call of `activity`, and the access token it
    /// used (to tell the token manager which one was refused) with its
    /// expiry. For OAuth the scopes are checked first; `rejected` forces a
    /// refresh.
    pub(crate) async fn current(
        &self,
        resolver: &Resolver,
        activity: &ActivityInfo,
        rejected: Option<&SecretString>,
    ) -> Result<(Option<Credential>, Option<Used>), SessionError> {
        match self {
            Credentials::None => Ok((None, None)),
            Credentials::OAuth(manager) => {
                let record = manager.fresh(rejected).await?;
                manager.check_scopes(&record, &activity.name, &activity.required_scopes)?;
                let credential = Credential::bearer(&record.access_token);
                let used = Used {
                    token: record.access_token,
                    expires_at: record.expires_at,
                };
                Ok((Some(credential), Some(used)))
            }
            Credentials::Client(grant) => {
                let record = grant.fresh(rejected).await?;
                grant.check_scopes(&record, &activity.name, &activity.required_scopes)?;
                let credential = Credential::bearer(&record.access_token);
                let used = Used {
                    token: record.access_token,
                    expires_at: record.expires_at,
                };
                Ok((Some(credential), Some(used)))
            }
            Credentials::Fields { shape, sources } => {
                let mut values = Vec::with_capacity(sources.len());
                for (name, source) in sources {
                    values.push(resolver.resolve(name, source).await?);
                }
                Ok((Some(build(shape, &values)), None))
            }
        }
    }

    /// Drops cached store values after the API refused them.
    pub(crate) async fn forget(&self, resolver: &Resolver) {
        if let Credentials::Fields { sources, .. } = self {
            for (_, source) in sources {
                resolver.forget(source).await;
            }
        }
    }
}

/// What identifies where a credential comes from (a literal by a digest of
/// its value, never the value).
fn source_identity(connection: &Connection, source: &FieldSource) -> Vec<u8> {
    match source {
        FieldSource::Literal(value) => [
            b"literal:".as_slice(),
            &Sha256::digest(value.expose_secret().as_bytes()),
        ]
        .concat(),
        FieldSource::Env(var) => format!("env:{var}").into_bytes(),
        FieldSource::File(path) => {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            format!("file:{}", path.display()).into_bytes()
        }
        FieldSource::Asset(asset) => {
            let store = asset
                .store
                .as_ref()
                .or_else(|| connection.stores.keys().next())
                .and_then(|name| connection.stores.get(name));
            let place = store.map_or_else(String::new, |c| {
                format!("{} {}", c.address, c.secret_path(asset))
            });
            format!("asset:{place} {} {:?}", asset.key(), asset.version).into_bytes()
        }
    }
}

/// The header an API key goes in; a name no header can have breaks the contract.
fn header_name(connector: &Connector, name: &str) -> Result<HeaderName, SessionError> {
    HeaderName::try_from(name).map_err(|_| {
        SessionError::Invoke(InvokeError::Contract {
            path: connector.path().to_owned(),
            reason: "its api-key scheme names a header that no request can carry".into(),
        })
    })
}

/// The API keys a connector asks for beside its scheme (sdk 0.4.0), each
/// built from its field like a static credential.
#[derive(Default)]
pub(crate) struct ExtraKeys(Vec<(Shape, (String, FieldSource))>);

impl ExtraKeys {
    /// The connector's extra keys, from the connection's fields.
    pub(crate) fn for_connection(
        connection: &Connection,
        connector: &Connector,
    ) -> Result<ExtraKeys, SessionError> {
        let mut keys = Vec::new();
        for key in &connector.info().extra_keys {
            let source = connection.fields.get(&key.field).cloned().ok_or_else(|| {
                SessionError::MissingField {
                    path: connection.path.display().to_string(),
                    field: key.field.clone(),
                    why: format!("the API key the connector sends in {}", key.name),
                }
            })?;
            let shape = match key.placement {
                KeyPlacement::Query => Shape::QueryKey {
                    name: key.name.clone(),
                },
                KeyPlacement::Header => Shape::HeaderKey {
                    name: extra_header(connector, &key.name)?,
                    prefix: key.prefix.clone().unwrap_or_default(),
                },
            };
            keys.push((shape, (key.field.clone(), source)));
        }
        Ok(ExtraKeys(keys))
    }

    /// The keys for one call.
    pub(crate) async fn current(
        &self,
        resolver: &Resolver,
    ) -> Result<Vec<Credential>, SessionError> {
        let mut built = Vec::with_capacity(self.0.len());
        for (shape, (name, source)) in &self.0 {
            let value = resolver.resolve(name, source).await?;
            built.push(build(shape, &[value]));
        }
        Ok(built)
    }

    /// Whether a refused key can be replaced (it comes from a store).
    pub(crate) fn renewable(&self) -> bool {
        self.0
            .iter()
            .any(|(_, (_, s))| matches!(s, FieldSource::Asset(_)))
    }

    /// Drops cached store values after the API refused a request.
    pub(crate) async fn forget(&self, resolver: &Resolver) {
        for (_, (_, source)) in &self.0 {
            resolver.forget(source).await;
        }
    }
}

/// An extra key's header: one a request can carry, and not one the host
/// sets itself (`Authorization` is the main credential's, `Host` the
/// target's): a connector must not replace either through a key.
fn extra_header(connector: &Connector, name: &str) -> Result<HeaderName, SessionError> {
    let header = header_name(connector, name)?;
    if header == http::header::AUTHORIZATION || header == http::header::HOST {
        return Err(SessionError::Invoke(InvokeError::Contract {
            path: connector.path().to_owned(),
            reason: format!("its extra-keys name the header {header}, which the host sets itself"),
        }));
    }
    Ok(header)
}

fn build(shape: &Shape, values: &[SecretString]) -> Credential {
    let value = |i: usize| values[i].expose_secret();
    match shape {
        Shape::Bearer => Credential::bearer(&values[0]),
        Shape::QueryKey { name } => Credential::Query {
            name: name.clone(),
            value: values[0].clone(),
        },
        Shape::HeaderKey { name, prefix } => Credential::Header {
            name: name.clone(),
            value: SecretString::from(format!("{prefix}{}", value(0))),
        },
        Shape::Basic => {
            let pair = zeroize::Zeroizing::new(format!("{}:{}", value(0), value(1)));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
            Credential::Header {
                name: http::header::AUTHORIZATION,
                value: SecretString::from(format!("Basic {encoded}")),
            }
        }
    }
}

/// Builds an OAuth connection's [`TokenManager`]: client credentials (any
/// field source), the authorization server (pinned, or proposed before the
/// first connect) with `[endpoints]` applied, and the token store.
async fn token_manager(
    connection: &Connection,
    connector: &Connector,
    resolver: &Resolver,
) -> Result<TokenManager, SessionError> {
    let oauth = connection.oauth.as_ref().expect("caller checked");
    let client_id = match connection.fields.get("client_id") {
        Some(source) => resolver
            .resolve("client_id", source)
            .await?
            .expose_secret()
            .to_owned(),
        None => {
            return Err(SessionError::MissingField {
                path: connection.path.display().to_string(),
                field: "client_id".into(),
                why: "an OAuth connection (the app's client id, or API key)".into(),
            })
        }
    };
    let client_secret = match connection.fields.get("client_secret") {
        Some(source) => Some(resolver.resolve("client_secret", source).await?),
        None => None,
    };
    let settings = OAuthSettings::new(
        connector.info(),
        oauth,
        &connection.endpoints,
        client_id,
        client_secret,
    )?;
    let display = connection.path.display().to_string();
    Ok(TokenManager::new(
        settings,
        token_store(connection, resolver),
        display,
    ))
}

/// Builds a client-credentials connection's [`ClientGrant`]: the client id
/// and secret (any field source, the secret never shown), the token URL the
/// connection pins (or the proposal, before `connect`) with `[endpoints]`
/// applied, and `[oauth] scopes` when set.
pub(crate) async fn client_grant(
    connection: &Connection,
    connector: &Connector,
    resolver: &Resolver,
) -> Result<ClientGrant, SessionError> {
    let field = |name: &str, why: &str| {
        connection
            .fields
            .get(name)
            .ok_or_else(|| SessionError::MissingField {
                path: connection.path.display().to_string(),
                field: name.to_owned(),
                why: why.to_owned(),
            })
    };
    let id = field("client_id", "the client-credentials grant (the client id)")?;
    let secret = field(
        "client_secret",
        "the client-credentials grant (the client secret)",
    )?;
    let client_id = resolver
        .resolve("client_id", id)
        .await?
        .expose_secret()
        .to_owned();
    let client_secret = resolver.resolve("client_secret", secret).await?;
    Ok(ClientGrant::new(
        connector.info(),
        connection.oauth.as_ref(),
        &connection.endpoints,
        client_id,
        client_secret,
        connection.path.display().to_string(),
    )?)
}

fn token_store(connection: &Connection, resolver: &Resolver) -> TokenStore {
    match (&connection.token_store, connection.token_record()) {
        (Some(name), Some(asset)) => {
            // The connection checked at load time that this store exists and is read-write.
            let store = Arc::new(VaultStore::new(connection.stores[name].clone()));
            TokenStore::Vault {
                name: name.clone(),
                store,
                asset,
            }
        }
        _ => TokenStore::File {
            path: token_file(connection),
            at_rest: resolver.at_rest().clone(),
        },
    }
}

/// `<data dir>/connector-host/tokens/<hash of the connection's path>.json`,
/// never inside the repository or next to the connection file.
fn token_file(connection: &Connection) -> PathBuf {
    let base = crate::at_rest::data_dir();
    let absolute =
        std::fs::canonicalize(&connection.path).unwrap_or_else(|_| connection.path.clone());
    let digest = hex::encode(Sha256::digest(absolute.to_string_lossy().as_bytes()));
    base.join("tokens").join(format!("{}.json", &digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Vec<SecretString> {
        v.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    fn header(credential: Credential) -> (String, String) {
        match credential {
            Credential::Header { name, value } => {
                (name.to_string(), value.expose_secret().to_owned())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_scheme_builds_its_credential() {
        assert_eq!(
            header(build(&Shape::Bearer, &values(&["t0k"]))),
            ("authorization".into(), "Bearer t0k".into())
        );
        let key = Shape::HeaderKey {
            name: HeaderName::from_static("x-api-key"),
            prefix: "Token ".into(),
        };
        assert_eq!(
            header(build(&key, &values(&["k1"]))),
            ("x-api-key".into(), "Token k1".into())
        );
        let basic = header(build(&Shape::Basic, &values(&["ada", "pa:ss"])));
        assert_eq!(basic, ("authorization".into(), "Basic YWRhOnBhOnNz".into()));
        match build(
            &Shape::QueryKey {
                name: "api_key".into(),
            },
            &values(&["q"]),
        ) {
            Credential::Query { name, value } => {
                assert_eq!((name.as_str(), value.expose_secret()), ("api_key", "q"))
            }
            other => panic!("{other:?}"),
        }
    }
}
