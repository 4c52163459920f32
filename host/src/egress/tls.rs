//! TLS trust for outgoing connections: the system's certificate store, plus
//! a CA file from the host (`CONNECTOR_HOST_CA_FILE`) and one from the
//! connection (`[tls] ca_file`).
//!
//! Invariants:
//! - hostname verification is always on: rustls's WebPKI verifier checks the
//!   chain *and* that the certificate names the host, and there is no switch
//!   to turn either off;
//! - connections made under one trust are never reused under another: each
//!   distinct CA bundle, by the sha256 of its certificates, gets a pool of
//!   its own (see [`super::transport`]), so a connection that a private CA
//!   vouched for never serves a connection that does not trust that CA.
//!
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`, when set, replace the system store
//! (OpenSSL's meaning, applied by `rustls-native-certs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use sha2::{Digest, Sha256};

/// The host-wide extra CA file.
pub const HOST_CA_FILE: &str = "CONNECTOR_HOST_CA_FILE";

/// A connection's TLS settings: the `[tls]` table of its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// A PEM file of CA certificates trusted besides the system's store, for
    /// an API behind a private CA or a TLS-inspecting proxy (`[tls] ca_file`).
    pub ca_file: Option<PathBuf>,
}

/// Which pool a trust's connections live in: `None` for the base trust
/// (system and host CA file), else the sha256 of the connection's CA bundle.
pub(crate) type TrustKey = Option<[u8; 32]>;

/// A CA file that cannot be used, and which setting named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFileProblem {
    /// `[tls] ca_file` or `CONNECTOR_HOST_CA_FILE`.
    pub setting: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

/// Builds and caches the TLS client configurations of one process.
#[derive(Default)]
pub(crate) struct Trusts {
    /// The system's store plus the host CA file, read once.
    base: OnceLock<Result<RootCertStore, CaFileProblem>>,
    /// A connection's CA file as last read, so it is read again only when it changes.
    files: Mutex<HashMap<PathBuf, Stamped>>,
}

struct Stamped {
    modified: Option<SystemTime>,
    len: u64,
    key: [u8; 32],
    certificates: Arc<Vec<CertificateDer<'static>>>,
}

impl Trusts {
    /// The pool key for `settings`, and the certificates to add to the base
    /// trust when a client for that key is built.
    pub(crate) fn key(
        &self,
        settings: &TlsSettings,
    ) -> Result<(TrustKey, Arc<Vec<CertificateDer<'static>>>), CaFileProblem> {
        let Some(path) = &settings.ca_file else {
            return Ok((None, Arc::default()));
        };
        let problem = |problem: String| CaFileProblem {
            setting: "[tls] ca_file",
            path: path.clone(),
            problem,
        };
        let metadata = std::fs::metadata(path).map_err(|e| problem(e.to_string()))?;
        let (modified, len) = (metadata.modified().ok(), metadata.len());
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = files.get(path) {
            if known.modified == modified && known.len == len && modified.is_some() {
                return Ok((Some(known.key), known.certificates.clone()));
            }
        }
        let certificates = read_certificates(path).map_err(problem)?;
        let mut digest = Sha256::new();
        for certificate in &certificates {
            digest.update(certificate.as_ref());
        }
        let key: [u8; 32] = digest.finalize().into();
        let certificates = Arc::new(certificates);
        files.insert(
            path.clone(),
            Stamped {
                modified,
                len,
                key,
                certificates: certificates.clone(),
            },
        );
        Ok((Some(key), certificates))
    }

    /// A client configuration trusting the base store plus `extra`.
    pub(crate) fn config(
        &self,
        extra: &[CertificateDer<'static>],
    ) -> Result<Arc<ClientConfig>, CaFileProblem> {
        let mut roots = self.base.get_or_init(base_roots).clone()?;
        let (_, refused) = roots.add_parsable_certificates(extra.iter().cloned());
        if refused > 0 {
            tracing::warn!(
                refused,
                "some [tls] ca_file certificates are not usable CAs"
            );
        }
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The system's store (or `SSL_CERT_FILE`/`SSL_CERT_DIR`) plus the host CA
/// file. A machine without a readable store falls back to the Mozilla roots
/// built into the host, so public APIs stay reachable.
fn base_roots() -> Result<RootCertStore, CaFileProblem> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(
            errors = native.errors.len(),
            "some system certificates could not be read"
        );
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::info!("no system certificate store found; trusting the built-in web PKI roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = std::env::var_os(HOST_CA_FILE).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let certificates = read_certificates(&path).map_err(|problem| CaFileProblem {
            setting: HOST_CA_FILE,
            path: path.clone(),
            problem,
        })?;
        roots.add_parsable_certificates(certificates);
    }
    Ok(roots)
}

/// Every certificate in a PEM file; an error when there is none.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "it is not a valid PEM file".to_owned())?;
    if certificates.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certificates)
}

/// A handshake failure as one clause a person understands.
pub(crate) fn handshake_failure(error: &std::io::Error) -> String {
    use rustls::CertificateError as C;
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer)) => {
            "its certificate is not signed by a CA this host trusts (unknown issuer)".into()
        }
        Some(rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        )) => "its certificate does not name this host (hostname verification is always on)".into(),
        Some(rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => {
            "its certificate has expired".into()
        }
        Some(rustls::Error::InvalidCertificate(other)) => {
            format!("its certificate was refused ({other:?})")
        }
        Some(other) => format!("the TLS handshake failed ({other})"),
        None => "the TLS handshake failed (the connection closed)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let trusts = Trusts::default();
        let settings = TlsSettings {
            ca_file: Some(path.clone()),
        };
        let problem = trusts.key(&settings).unwrap_err();
        assert_eq!(problem.setting, "[tls] ca_file");
        assert!(
            problem.problem.contains("no PEM certificate"),
            "{problem:?}"
        );
        let missing = TlsSettings {
            ca_file: Some(dir.path().join("absent.pem")),
        };
        assert!(trusts.key(&missing).is_err());
        assert_eq!(trusts.key(&TlsSettings::default()).unwrap().0, None);
    }
}
