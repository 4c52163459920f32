//! The host's provider list: authorization servers an operator pins once for
//! every connection of a connector, so no first `connect` has to trust what
//! a connector proposes.
//!
//! `CONNECTOR_HOST_PROVIDERS` names a TOML file with one table per connector
//! name (as `describe` gives it):
//!
//! ```toml
//! [constant-contact]
//! authorize_url = "https://authz.constantcontact.com/oauth2/default/v1/authorize"
//! token_url = "https://authz.constantcontact.com/oauth2/default/v1/token"
//! device_authorize_url = "https://authz.constantcontact.com/oauth2/default/v1/device/authorize"
//! ```
//!
//! A connection's own `[oauth]` pins still come first; a connector that
//! proposes other URLs than its entry is refused, naming both and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Endpoints, OAuthError};
use crate::connection::{ConnectionError, OAuthConfig};

/// The environment variable naming the provider list.
pub const ENV: &str = "CONNECTOR_HOST_PROVIDERS";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    authorize_url: String,
    token_url: String,
    device_authorize_url: Option<String>,
}

/// The endpoints the provider list pins for `connector`, if it has an entry;
/// `None` when `CONNECTOR_HOST_PROVIDERS` is unset.
///
/// # Errors
///
/// [`OAuthError::Config`] when the file cannot be read or parsed (naming
/// the file and the line), [`OAuthError::Endpoint`] for a URL that is not
/// `https`.
pub fn lookup(connector: &str) -> Result<Option<(Endpoints, PathBuf)>, OAuthError> {
    let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let Some(entry) = read(&path)?.remove(connector) else {
        return Ok(None);
    };
    let config = OAuthConfig {
        authorize_url: Some(entry.authorize_url),
        token_url: Some(entry.token_url),
        device_authorize_url: entry.device_authorize_url,
        ..OAuthConfig::default()
    };
    let endpoints =
        Endpoints::pinned_in(&config, &format!("the provider list {}", path.display()))?
            .expect("both URLs are required by the entry");
    Ok(Some((endpoints, path)))
}

fn read(path: &Path) -> Result<BTreeMap<String, Entry>, OAuthError> {
    let problem = |what: String| {
        OAuthError::Config(format!(
            "provider list {} ({ENV}): {what}\nhint: fix the file, or unset {ENV}",
            path.display()
        ))
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
    crate::connection::parse_toml(path, &text).map_err(|e| match e {
        ConnectionError::Parse {
            line, key, message, ..
        } => problem(format!("line {line}, key {key:?}: {message}")),
        other => problem(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_plain_http_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("providers.toml");
        std::fs::write(
            &path,
            "[x]\nauthorize_url = \"https://a/\"\ntoken_url = \"https://a/t\"\nscope = 1\n",
        )
        .unwrap();
        let error = read(&path).err().unwrap().to_string();
        assert!(
            error.contains("line 4") && error.contains("scope"),
            "{error}"
        );
        std::fs::write(
            &path,
            "[x]\nauthorize_url = \"https://a/\"\ntoken_url = \"http://a/t\"\n",
        )
        .unwrap();
        let entry = read(&path).unwrap().remove("x").unwrap();
        let config = OAuthConfig {
            authorize_url: Some(entry.authorize_url),
            token_url: Some(entry.token_url),
            ..OAuthConfig::default()
        };
        let error = Endpoints::pinned_in(&config, "the provider list")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("not https") && error.contains("the provider list"),
            "{error}"
        );
    }
}
