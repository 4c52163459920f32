//! The hash chain that makes the trail tamper-evident, shared by the writer
//! and [`super::verify`].
//!
//! A line is one JSON object, its keys in this order: `time`, `chain`,
//! `seq`, `prev`, `process`, `actor`, `kind`, `fields`, and with a key
//! `mac` last. `prev` is the SHA-256 (hex) of the previous line of the same
//! chain, byte for byte without its newline ([`GENESIS`] for a chain's
//! first line), so removing, editing or reordering a line breaks the chain
//! at the next one. `mac` is keyed BLAKE3 over the line's bytes before
//! `,"mac"`: without the key nobody can write a line that verifies, the
//! last line included.

use std::path::Path;

use sha2::{Digest, Sha256};

/// `prev` of a chain's first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bytes between a line's body and its MAC.
const MAC_OPEN: &str = ",\"mac\":\"";
/// `MAC_OPEN`, 64 hex digits and `"}`.
const MAC_SUFFIX: usize = MAC_OPEN.len() + 64 + 2;

/// The hash a line is chained by: SHA-256 of its bytes, hex.
pub fn hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// A MAC key for audit lines.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The key derived from the contents of `path` (at least 32 bytes, e.g.
    /// `openssl rand -hex 32 > audit.key`).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is too short (never its contents).
    pub fn from_file(path: &Path) -> Result<Key, String> {
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
            format!(
                "audit key file {}: {e}\nhint: give a file of at least 32 random bytes, e.g. `openssl rand -hex 32 > {}`",
                path.display(),
                path.display()
            )
        })?);
        let material = bytes.trim_ascii();
        if material.len() < 32 {
            return Err(format!(
                "audit key file {}: it holds {} bytes, fewer than 32\nhint: `openssl rand -hex 32 > {}`",
                path.display(),
                material.len(),
                path.display()
            ));
        }
        Ok(Key(blake3::derive_key(
            "connector-host audit line MAC v1",
            material,
        )))
    }

    /// The MAC of `body`, hex.
    pub fn mac(&self, body: &[u8]) -> String {
        blake3::keyed_hash(&self.0, body).to_hex().to_string()
    }

    /// `line` (a JSON object) with its MAC appended as the last key.
    pub fn seal(&self, line: &str) -> String {
        let body = &line[..line.len() - 1];
        format!("{body}{MAC_OPEN}{}\"}}", self.mac(body.as_bytes()))
    }

    /// Whether `line` carries a MAC made with this key.
    pub fn verifies(&self, line: &[u8]) -> bool {
        match split_mac(line) {
            Some((body, mac)) => {
                let want = self.mac(body);
                // Constant time: a forger learns nothing from how long a
                // wrong guess took.
                use subtle::ConstantTimeEq;
                bool::from(want.as_bytes().ct_eq(mac))
            }
            None => false,
        }
    }
}

/// A line's body and its MAC (hex), when it ends with one.
fn split_mac(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.len().checked_sub(MAC_SUFFIX)?;
    let (body, tail) = line.split_at(at);
    let rest = tail.strip_prefix(MAC_OPEN.as_bytes())?;
    let mac = rest.strip_suffix(b"\"}")?;
    Some((body, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_line_verifies_and_any_change_does_not() {
        let key = Key([7; 32]);
        let sealed = key.seal(r#"{"seq":1,"kind":"x"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&sealed).is_ok());
        assert!(key.verifies(sealed.as_bytes()));
        let edited = sealed.replace("\"x\"", "\"y\"");
        assert!(!key.verifies(edited.as_bytes()));
        assert!(!Key([8; 32]).verifies(sealed.as_bytes()));
        assert!(!key.verifies(br#"{"seq":1,"kind":"x"}"#));
    }
}
