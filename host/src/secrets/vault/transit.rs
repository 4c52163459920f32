//! Vault's Transit engine, for envelope encryption of files kept outside
//! Vault ([`crate::at_rest`]): a fresh data key, given in plain text and
//! wrapped by the Transit key (`transit/datakey/plaintext/<key>`), and the
//! unwrapping of a data key written earlier (`transit/decrypt/<key>`).
//!
//! The policy a store needs: `update` on both paths. Plain data keys are
//! decoded into zeroizing buffers at once; they never reach a log (the
//! `hashicorp_vault` target is silenced, see [`crate::logging`]) or an error.

use base64::Engine;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::VaultStore;
use crate::secrets::{BoxFuture, StoreError};

/// A 256-bit data key, wiped when dropped.
pub type DataKey = Zeroizing<[u8; 32]>;

impl VaultStore {
    /// A fresh data key from the Transit key `key` at `mount`, with its
    /// wrapped form (`vault:v<newest version>:…`).
    ///
    /// # Errors
    ///
    /// A [`StoreError`] (permission denied names the path).
    pub fn transit_data_key<'a>(
        &'a self,
        mount: &str,
        key: &str,
    ) -> BoxFuture<'a, Result<(DataKey, String), StoreError>> {
        let path = format!("{mount}/datakey/plaintext/{key}");
        self.run(move |session| {
            let data = session.post_logged_in(&path, &json!({ "bits": 256 }))?;
            let wrapped = data["ciphertext"]
                .as_str()
                .filter(|c| c.starts_with("vault:v") && !c.contains(char::is_whitespace))
                .ok_or_else(|| malformed(&path))?
                .to_owned();
            Ok((decode(&data, &path)?, wrapped))
        })
    }

    /// The data key `wrapped` by the Transit key `key` at `mount`.
    ///
    /// # Errors
    ///
    /// A [`StoreError`]: permission denied, or Vault refusing the wrapped key
    /// (another key's, or a version trimmed away).
    pub fn transit_unwrap<'a>(
        &'a self,
        mount: &str,
        key: &str,
        wrapped: &str,
    ) -> BoxFuture<'a, Result<DataKey, StoreError>> {
        let path = format!("{mount}/decrypt/{key}");
        let body = json!({ "ciphertext": wrapped });
        self.run(move |session| {
            let data = session.post_logged_in(&path, &body)?;
            decode(&data, &path)
        })
    }
}

fn decode(data: &Value, path: &str) -> Result<DataKey, StoreError> {
    let text = data["plaintext"].as_str().ok_or_else(|| malformed(path))?;
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| malformed(path))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(malformed(path));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn malformed(path: &str) -> StoreError {
    StoreError::Other {
        status: 200,
        message: format!(
            "{path} did not answer a 256-bit data key (is the Transit key an AES or ChaCha20 key?)"
        ),
    }
}
