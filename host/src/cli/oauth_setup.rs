//! Builds a connection's [`TokenManager`] from its file: client credentials
//! (any field source), the authorization server from `describe` with
//! `[endpoints]` applied, and the token store (`[token] store`, or a local file).

use std::path::PathBuf;
use std::sync::Arc;

use connector_host::oauth::{OAuthSettings, TokenManager, TokenStore};
use connector_host::secrets::vault::VaultStore;
use connector_host::secrets::Resolver;
use connector_host::{Connection, Connector};
use sha2::{Digest, Sha256};

/// The manager, or `None` when the connection has no `[oauth]` table.
pub async fn token_manager(
    connection: &Connection,
    connector: &Connector,
    resolver: &Resolver,
) -> anyhow::Result<Option<TokenManager>> {
    let Some(oauth) = &connection.oauth else {
        return Ok(None);
    };
    let client_id = match connection.fields.get("client_id") {
        Some(source) => {
            use secrecy::ExposeSecret;
            resolver
                .resolve("client_id", source)
                .await?
                .expose_secret()
                .to_owned()
        }
        None => anyhow::bail!(connector_host::ConnectionError::Invalid {
            path: connection.path.clone(),
            place: "[fields] client_id".into(),
            problem: "an OAuth connection needs the app's client id (API key)".into(),
        }),
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
    Ok(Some(TokenManager::new(
        settings,
        token_store(connection),
        display,
    )))
}

fn token_store(connection: &Connection) -> TokenStore {
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
        _ => TokenStore::File(token_file(connection)),
    }
}

/// `<data dir>/connector-host/tokens/<hash of the connection's path>.json`,
/// never inside the repository or next to the connection file.
fn token_file(connection: &Connection) -> PathBuf {
    let base = std::env::var_os("CONNECTOR_HOST_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("connector-host")))
        .unwrap_or_else(|| std::env::temp_dir().join("connector-host"));
    let absolute =
        std::fs::canonicalize(&connection.path).unwrap_or_else(|_| connection.path.clone());
    let digest = hex::encode(Sha256::digest(absolute.to_string_lossy().as_bytes()));
    base.join("tokens").join(format!("{}.json", &digest[..16]))
}
