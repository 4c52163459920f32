//! A key file: 32 random bytes (raw, or base64 on one line), mode 0600 or
//! 0400 and owned by the user the host runs as; anything else is refused.
//!
//! The default key (no `[at_rest]` setting) is such a file made on first use
//! in the user's data directory, created atomically so that two processes
//! starting together agree on one key.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use zeroize::Zeroizing;

use super::format::Key;
use super::AtRestError;

/// Reads the key at `path`; with `create`, makes it first when absent.
///
/// # Errors
///
/// [`AtRestError::KeyFile`] naming the file and what to do (never the key).
pub(super) fn load(path: &Path, create: bool) -> Result<Key, AtRestError> {
    match read(path) {
        Err(AtRestError::KeyFile { missing: true, .. }) if create => {
            make(path)?;
            read(path)
        }
        other => other,
    }
}

fn refused(path: &Path, problem: String, hint: &str) -> AtRestError {
    AtRestError::KeyFile {
        path: path.to_owned(),
        problem,
        hint: hint.to_owned(),
        missing: false,
    }
}

fn read(path: &Path) -> Result<Key, AtRestError> {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return Err(AtRestError::KeyFile {
                path: path.to_owned(),
                missing: e.kind() == std::io::ErrorKind::NotFound,
                problem: format!("cannot read it: {e}"),
                hint: "make one with `openssl rand -base64 32 > FILE && chmod 600 FILE`, or fix [at_rest] key_file (or CONNECTOR_HOST_AT_REST_KEY_FILE)".into(),
            })
        }
    };
    check_owner(path, &metadata)?;
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        refused(
            path,
            format!("cannot read it: {e}"),
            "check its permissions",
        )
    })?);
    decode(&bytes).ok_or_else(|| {
        refused(
            path,
            format!("it holds {} bytes, not a key", bytes.len()),
            "an at-rest key is 32 random bytes, or their base64 on one line (`openssl rand -base64 32`)",
        )
    })
}

/// Only the owner may read or write the key: a key others can read protects
/// nothing, and one others can write could be swapped for theirs.
fn check_owner(path: &Path, metadata: &std::fs::Metadata) -> Result<(), AtRestError> {
    use crate::ownership::Exposure;
    if !metadata.is_file() {
        return Err(refused(path, "it is not a file".into(), "give a key file"));
    }
    crate::ownership::check_metadata(metadata, 0o077, false).map_err(|exposure| {
        let hint = match exposure {
            Exposure::Owner { .. } => {
                "give the host its own key file, owned by the user it runs as".to_owned()
            }
            Exposure::Mode { .. } => format!("chmod 600 {}", path.display()),
        };
        refused(path, format!("it {exposure}"), &hint)
    })
}

fn decode(bytes: &[u8]) -> Option<Key> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() == 32 {
        key.copy_from_slice(bytes);
        return Some(key);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let decoded = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
    );
    (decoded.len() == 32).then(|| {
        key.copy_from_slice(&decoded);
        key
    })
}

/// Writes a fresh key beside `path` and links it into place: the link fails
/// when another process made the key first, and then that key is used.
fn make(path: &Path) -> Result<(), AtRestError> {
    let failed = |e: std::io::Error| {
        refused(
            path,
            format!("cannot create it: {e}"),
            "check that the data directory is writable (CONNECTOR_HOST_DATA_DIR)",
        )
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::documents::create_private_dir(dir).map_err(failed)?;
    let mut key = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
    let text =
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.as_ref()) + "\n");
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(failed)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(failed(e)),
        _ => {
            tracing::info!(key_file = %path.display(), "made the at-rest key on first use");
            Ok(())
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_default_key_is_made_once_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("at-rest.key");
        let first = load(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path, true).unwrap(), first);
        assert_eq!(load(&path, false).unwrap(), first);
    }

    #[test]
    fn a_key_others_can_read_or_a_short_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [7u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = load(&path, false).unwrap_err().to_string();
        assert!(
            error.contains("mode 0644") && error.contains("chmod 600"),
            "{error}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(*load(&path, false).unwrap(), [7u8; 32]);
        std::fs::write(&path, "c2hvcnQ=\n").unwrap();
        let error = load(&path, false).unwrap_err().to_string();
        assert!(error.contains("not a key"), "{error}");
        assert!(load(&dir.path().join("absent"), false).is_err());
    }
}
