//! Trusted public keys: files in any format `wasmsign2` reads (its own
//! `keygen` output, PEM, DER, or an OpenSSH `ssh-ed25519` line), named
//! after their file, and refused when others could swap them.

use std::path::Path;

use sha2::{Digest, Sha256};
use wasmsign2::PublicKey;

use crate::ownership::Exposure;

/// A key the operator trusts to sign connectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    raw: [u8; 32],
    fingerprint: String,
}

impl TrustedKey {
    /// Its name: the file's name without `.pub`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `SHA256:` and the first 16 hex digits of the SHA-256 of the raw key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub(super) fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub(super) fn public_key(&self) -> PublicKey {
        // 0x01: wasmsign2's tag for an Ed25519 public key.
        PublicKey::from_bytes(&[&[1u8][..], &self.raw].concat())
            .expect("32 bytes that were a public key when read")
    }

    fn parse(name: String, bytes: &[u8]) -> Option<TrustedKey> {
        let key = PublicKey::from_any(bytes).ok()?;
        let raw: [u8; 32] = key.to_bytes().get(1..)?.try_into().ok()?;
        let fingerprint = format!("SHA256:{}", &hex::encode(Sha256::digest(raw))[..16]);
        Some(TrustedKey {
            name,
            raw,
            fingerprint,
        })
    }
}

/// The key in `path`, or every `*.pub` key in the directory `path`.
pub(super) fn read(path: &Path) -> Result<Vec<TrustedKey>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    writable_only_by_owner(path, &meta)?;
    if !meta.is_dir() {
        return Ok(vec![read_file(path)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("cannot list {shown}: {e}"))?;
    let mut keys = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path();
        if file.extension().is_some_and(|e| e == "pub") && file.is_file() {
            writable_only_by_owner(&file, &entry.metadata().map_err(|e| e.to_string())?)?;
            keys.push(read_file(&file)?);
        }
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

fn read_file(path: &Path) -> Result<TrustedKey, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".pub").to_owned())
        .unwrap_or_default();
    TrustedKey::parse(name, &bytes).ok_or_else(|| {
        format!(
            "{} is not an Ed25519 public key (wasmsign2 keygen's public key, PEM, DER or an ssh-ed25519 line)\nhint: give the publisher's public key, never a secret key",
            path.display()
        )
    })
}

/// A trusted key others can replace would let them sign for the publisher.
fn writable_only_by_owner(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    crate::ownership::check_metadata(meta, 0o022, true).map_err(|exposure| {
        let hint = match exposure {
            Exposure::Owner { .. } => "chown it".to_owned(),
            Exposure::Mode { .. } => format!("chmod go-w {}", path.display()),
        };
        format!(
            "{} {exposure}, so the trusted key could be swapped\nhint: {hint}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_read_from_files_and_directories_and_refused_when_others_can_write_them() {
        let dir = tempfile::tempdir().unwrap();
        let pair = wasmsign2::KeyPair::generate();
        let file = dir.path().join("acme.pub");
        std::fs::write(&file, pair.pk.to_bytes()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let keys = read(dir.path()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name(), "acme");
        assert_eq!(read(&file).unwrap(), keys);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let refused = read(&file).unwrap_err();
        assert!(refused.contains("mode 0666"), "{refused}");
        std::fs::write(dir.path().join("secret.pub"), pair.sk.to_bytes()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read(dir.path()).unwrap_err();
        assert!(
            refused.contains("is not an Ed25519 public key"),
            "{refused}"
        );
    }
}
