//! A connection's OAuth tokens in a local file: JSON, sealed with the
//! connection's `[at_rest]` key ([`crate::at_rest`]), mode 0600, replaced
//! atomically (temporary file and rename) under an exclusive lock on a lock
//! file beside it, with a version for check-and-set.
//!
//! The file is bound to its name (`oauth-tokens <hash of the connection's
//! path>.json`): another connection's sealed token file copied over it does
//! not open. A plain file from before is re-written sealed when first read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::store::TokenRecord;
use super::OAuthError;
use crate::at_rest::{token_binding, AtRest};
use crate::secrets::SecretData;

/// The current record and its version; `None` when there is none.
pub(super) async fn read(
    path: &Path,
    at_rest: &AtRest,
) -> Result<Option<(TokenRecord, u64)>, OAuthError> {
    let Some(bytes) = read_bytes(path)? else {
        return Ok(None);
    };
    let opened = at_rest
        .open(path, &token_binding(path), &bytes)
        .await
        .map_err(sealing)?;
    if opened.needs_sealing {
        reseal(path, at_rest, &bytes, &opened.plain).await?;
    }
    parse(path, &opened.plain)
}

/// Writes `record` as version `expected + 1` if the file is still at
/// `expected` (0: none); `Ok(None)` when another process wrote first.
pub(super) async fn write(
    path: &Path,
    at_rest: &AtRest,
    record: &TokenRecord,
    expected: u64,
) -> Result<Option<u64>, OAuthError> {
    let mut map: BTreeMap<String, String> = record
        .to_data()
        .into_iter()
        .map(|(k, v)| (k, v.expose_secret().to_owned()))
        .collect();
    map.insert("version".into(), (expected + 1).to_string());
    let text = Zeroizing::new(serde_json::to_vec_pretty(&map).expect("strings serialize"));
    map.values_mut().for_each(zeroize::Zeroize::zeroize);
    // Sealed before the lock is taken: a Transit data key may take a round trip.
    let sealed = Zeroizing::new(
        at_rest
            .seal(path, &token_binding(path), &text)
            .await
            .map_err(sealing)?,
    );
    let _lock = lock(path).await?;
    let current = match read_bytes(path)? {
        None => 0,
        Some(bytes) => {
            let opened = at_rest
                .open(path, &token_binding(path), &bytes)
                .await
                .map_err(sealing)?;
            parse(path, &opened.plain)?.map_or(0, |(_, v)| v)
        }
    };
    if current != expected {
        return Ok(None);
    }
    replace(path, &sealed)?;
    Ok(Some(expected + 1))
}

/// Re-writes a plain file sealed, unless it changed since it was read (its
/// version stays: the record is the same).
async fn reseal(
    path: &Path,
    at_rest: &AtRest,
    seen: &[u8],
    plain: &[u8],
) -> Result<(), OAuthError> {
    let sealed = Zeroizing::new(
        at_rest
            .seal(path, &token_binding(path), plain)
            .await
            .map_err(sealing)?,
    );
    let _lock = lock(path).await?;
    if read_bytes(path)?.is_some_and(|now| now.as_slice() == seen) {
        replace(path, &sealed)?;
        tracing::info!(file = %path.display(), "sealed a plain token file from before");
    }
    Ok(())
}

fn parse(path: &Path, plain: &[u8]) -> Result<Option<(TokenRecord, u64)>, OAuthError> {
    let map: BTreeMap<String, String> = serde_json::from_slice(plain).map_err(|_| {
        OAuthError::Config(format!(
            "token file {} is damaged; run connect again",
            path.display()
        ))
    })?;
    let version = map.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let data: SecretData = map
        .into_iter()
        .map(|(k, v)| (k, SecretString::from(v)))
        .collect();
    Ok(TokenRecord::from_data(&data).map(|r| (r, version)))
}

fn read_bytes(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, OAuthError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(OAuthError::Config(format!(
            "cannot read token file {}: {e}",
            path.display()
        ))),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OAuthError + '_ {
    move |e| OAuthError::Config(format!("cannot write token file {}: {e}", path.display()))
}

/// The exclusive lock on `<file>.lock`, taken on a blocking thread (it may
/// wait for another process) and held until dropped.
async fn lock(path: &Path) -> Result<std::fs::File, OAuthError> {
    let dir = path.parent().expect("token files live in a directory");
    crate::documents::create_private_dir(dir).map_err(io(path))?;
    let lock_path: PathBuf = path.with_extension("lock");
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::create(lock_path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| OAuthError::Config(format!("token file lock: {e}")))?;
    locked.map_err(io(path))
}

/// Replaces the file atomically with `bytes`, mode 0600.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), OAuthError> {
    crate::documents::write_private(path, bytes).map_err(io(path))
}

/// A sealing or opening failure, as the token store reports it.
fn sealing(error: crate::at_rest::AtRestError) -> OAuthError {
    OAuthError::Config(format!("token file: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_rest::AtRestSettings;

    fn record() -> TokenRecord {
        TokenRecord {
            access_token: SecretString::from("CANARY-access".to_owned()),
            refresh_token: None,
            issued_at: 1,
            expires_at: 2,
            scopes: vec!["contact_data".into()],
            claim_until: 0,
            claim_id: String::new(),
            token_url: None,
            refused_at: 0,
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[cfg(unix)]
    #[test]
    fn token_files_are_sealed_0600_whatever_an_earlier_run_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let at_rest = AtRest::new(
            &AtRestSettings::LocalKey(dir.path().join("at-rest.key")),
            &Default::default(),
        );
        let path = dir.path().join("tokens").join("t.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        for leftover in [
            path.clone(),
            path.with_extension(format!("tmp-{}", std::process::id())),
        ] {
            std::fs::write(&leftover, "{}").unwrap();
            std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(
            block_on(write(&path, &at_rest, &record(), 0)).unwrap(),
            Some(1)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"CANARY"));
        assert_eq!(
            block_on(write(&path, &at_rest, &record(), 0)).unwrap(),
            None,
            "stale version"
        );
        let (read_back, version) = block_on(read(&path, &at_rest)).unwrap().unwrap();
        assert_eq!(version, 1);
        assert_eq!(read_back.access_token.expose_secret(), "CANARY-access");
        // Another connection's token file copied over this one does not open.
        let other = dir.path().join("tokens").join("u.json");
        std::fs::copy(&path, &other).unwrap();
        let error = block_on(read(&other, &at_rest)).err().unwrap().to_string();
        assert!(error.contains("moved here from another place"), "{error}");
    }

    #[test]
    fn a_plain_token_file_is_sealed_when_first_read_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        assert_eq!(
            block_on(write(&path, &AtRest::plain(), &record(), 0)).unwrap(),
            Some(1)
        );
        assert!(std::fs::read_to_string(&path).unwrap().contains("CANARY"));
        let at_rest = AtRest::new(
            &AtRestSettings::LocalKey(dir.path().join("k")),
            &Default::default(),
        );
        let (_, version) = block_on(read(&path, &at_rest)).unwrap().unwrap();
        assert_eq!(version, 1);
        assert!(crate::at_rest::format::is_sealed(
            &std::fs::read(&path).unwrap()
        ));
        assert_eq!(
            block_on(write(&path, &at_rest, &record(), 1)).unwrap(),
            Some(2)
        );
    }
}
