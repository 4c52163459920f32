//! Which publishers' code this host runs: connector components signed in
//! the WebAssembly signatures format (the one `wasmsign2` writes: an
//! Ed25519 signature over the component's sections, embedded as its first
//! custom section), checked against the operator's trusted public keys
//! before a byte is compiled.
//!
//! The policy ([`TrustPolicy`]) is host-wide from the environment
//! (`CONNECTOR_HOST_TRUSTED_KEYS`, `CONNECTOR_HOST_ALLOW_UNSIGNED`), or
//! `serve`'s own `[signatures]`. With no key configured nothing is checked
//! (and `describe` says so); once a key is, a component must carry a valid
//! signature by one of the keys, unless the operator explicitly allows
//! unsigned ones. A signed component whose signature does not verify is
//! refused whatever the policy says about unsigned ones: a broken signature
//! is never read as "unsigned".
//!
//! Why embedded and not a file beside the component: one file is replaced
//! atomically (the catalogue's hot reload never sees new code with an old
//! signature), and a connection's `connector_sha256` pin covers the
//! signature too.
//!
//! The artifact cache needs no part of this: an artifact is found by the
//! digest of the component's bytes, and only after those bytes passed this
//! check (see [`crate::invoke::artifact`]).

mod keys;

use std::io::Cursor;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmsign2::{Module, PublicKeySet, Section, WSError};

pub use keys::TrustedKey;

/// The environment variable listing trusted public key files or directories
/// (separated by `:`).
pub const TRUSTED_KEYS_VAR: &str = "CONNECTOR_HOST_TRUSTED_KEYS";
/// The environment variable that lets unsigned components load although
/// keys are trusted (`true`).
pub const ALLOW_UNSIGNED_VAR: &str = "CONNECTOR_HOST_ALLOW_UNSIGNED";

/// Which components may load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    keys: Vec<TrustedKey>,
    allow_unsigned: bool,
    /// Where the keys came from, for errors (`CONNECTOR_HOST_TRUSTED_KEYS`
    /// or `serve.toml [signatures]`).
    origin: String,
}

/// Who signed a component, as far as the policy knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Signer {
    /// No key is trusted: signatures were not checked.
    NotChecked,
    /// Unsigned, and the policy allows that explicitly.
    Unsigned,
    /// Signed by this trusted key.
    Trusted {
        /// The key's name (its file's name without `.pub`).
        name: String,
        /// The key's fingerprint.
        fingerprint: String,
    },
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::NotChecked => f.write_str("not checked (no trusted key configured)"),
            Signer::Unsigned => f.write_str("unsigned (allowed by CONNECTOR_HOST_ALLOW_UNSIGNED)"),
            Signer::Trusted { name, fingerprint } => write!(f, "{name} (key {fingerprint})"),
        }
    }
}

impl TrustPolicy {
    /// Checks nothing: every component loads (the default with no key).
    pub fn none() -> TrustPolicy {
        TrustPolicy::default()
    }

    /// The keys in `paths` (files, or directories whose `*.pub` files are
    /// keys); `origin` names the setting in errors.
    ///
    /// # Errors
    ///
    /// A key file that cannot be read, is not an Ed25519 public key, or can
    /// be written by others; a path with no key at all.
    pub fn from_paths(
        paths: &[std::path::PathBuf],
        allow_unsigned: bool,
        origin: &str,
    ) -> Result<TrustPolicy, String> {
        let mut keys = Vec::new();
        for path in paths {
            keys.extend(keys::read(path).map_err(|e| format!("{origin}: {e}"))?);
        }
        if keys.is_empty() && !paths.is_empty() {
            return Err(format!(
                "{origin} names no public key (directories are searched for *.pub files)\nhint: add the publisher's public key file, or unset it to load components without checking signatures"
            ));
        }
        Ok(TrustPolicy {
            keys,
            allow_unsigned,
            origin: origin.to_owned(),
        })
    }

    /// The policy of `CONNECTOR_HOST_TRUSTED_KEYS` and
    /// `CONNECTOR_HOST_ALLOW_UNSIGNED`.
    ///
    /// # Errors
    ///
    /// As [`TrustPolicy::from_paths`], and a value of
    /// `CONNECTOR_HOST_ALLOW_UNSIGNED` other than `true` or `false`.
    pub fn from_env() -> Result<TrustPolicy, String> {
        let allow = match std::env::var(ALLOW_UNSIGNED_VAR).ok().as_deref().map(str::trim) {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => {
                return Err(format!(
                    "{ALLOW_UNSIGNED_VAR} must be true or false\nhint: unset it to refuse unsigned components once a key is trusted"
                ))
            }
        };
        let paths: Vec<_> = std::env::var_os(TRUSTED_KEYS_VAR)
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if std::env::var_os(TRUSTED_KEYS_VAR).is_some() && paths.is_empty() {
            return Err(format!("{TRUSTED_KEYS_VAR} is set but empty\nhint: name the publisher's public key files, or unset it"));
        }
        TrustPolicy::from_paths(&paths, allow, TRUSTED_KEYS_VAR)
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Whether unsigned components may load although keys are trusted.
    pub fn allows_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    /// The signer a verification record names, if its key is still trusted
    /// (`raw`: the key's 32 bytes, as [`TrustPolicy::key_of`] gave them).
    pub fn signer_with_key(&self, raw: &[u8]) -> Option<Signer> {
        let key = self.keys.iter().find(|k| k.raw() == raw)?;
        Some(Signer::Trusted {
            name: key.name().to_owned(),
            fingerprint: key.fingerprint().to_owned(),
        })
    }

    /// The raw bytes of the trusted key behind `signer`, for a
    /// verification record.
    pub fn key_of(&self, signer: &Signer) -> Option<&[u8]> {
        let Signer::Trusted { name, fingerprint } = signer else {
            return None;
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.name() == name && k.fingerprint() == fingerprint)?;
        Some(key.raw())
    }

    /// Who signed `component`, or why it may not load.
    ///
    /// # Errors
    ///
    /// The reason in one sentence with a hint: unsigned under a policy that
    /// requires a signature, altered after signing, signed by no trusted key,
    /// or a signature section that cannot be read.
    pub fn check(&self, component: &[u8]) -> Result<Signer, String> {
        if self.keys.is_empty() {
            return Ok(Signer::NotChecked);
        }
        let set = PublicKeySet::new(self.keys.iter().map(TrustedKey::public_key).collect());
        match set.verify(&mut Cursor::new(component), None) {
            Ok(valid) => self
                .keys
                .iter()
                .find(|k| valid.iter().any(|v| v.pk == k.public_key().pk))
                .map(|key| Signer::Trusted {
                    name: key.name().to_owned(),
                    fingerprint: key.fingerprint().to_owned(),
                })
                .ok_or_else(|| "its signature verified under no trusted key".to_owned()),
            Err(WSError::NoSignatures) if self.allow_unsigned => Ok(Signer::Unsigned),
            Err(WSError::NoSignatures) => Err(format!(
                "it is not signed, and {} trusts {} so only signed components load\nhint: have the publisher sign it (`wasmsign2 sign -k publisher.sk -i in.wasm -o out.wasm`), or allow unsigned components explicitly ({ALLOW_UNSIGNED_VAR}=true)",
                self.origin,
                self.key_names(),
            )),
            Err(WSError::VerificationFailed) => Err(self.why_not_verified(component)),
            Err(e) => Err(format!(
                "its signature section cannot be read ({e})\nhint: sign it again with wasmsign2"
            )),
        }
    }

    /// Tells an altered component from one signed by an untrusted key: the
    /// hash the signature covers is, or is not, that of the sections here.
    fn why_not_verified(&self, component: &[u8]) -> String {
        match signed_hashes_match(component) {
            Some(false) => "it was altered after it was signed: its content no longer matches the hash its signature covers\nhint: get the component again from its publisher; never load a file that fails this check".into(),
            _ => format!(
                "it is signed, but by no key {} trusts ({})\nhint: if you trust its publisher, add their public key file to {}",
                self.origin,
                self.key_names(),
                self.origin,
            ),
        }
    }

    fn key_names(&self) -> String {
        let names: Vec<_> = self.keys.iter().map(|k| k.name().to_owned()).collect();
        format!(
            "key{} {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    }
}

/// Whether the hash of the sections after the signature is among the
/// hashes the embedded signature covers; `None` when that cannot be read.
fn signed_hashes_match(component: &[u8]) -> Option<bool> {
    let mut reader = Cursor::new(component);
    let signed = {
        let mut sections = Module::iterate(Module::init_from_reader(&mut reader).ok()?).ok()?;
        match sections.next()?.ok()? {
            Section::Custom(header) if header.is_signature_header() => {
                header.signature_data().ok()?.signed_hashes_set
            }
            _ => return None,
        }
    };
    let rest = &component[usize::try_from(reader.position()).ok()?..];
    let hash = Sha256::digest(rest).to_vec();
    Some(signed.iter().any(|s| s.hashes.contains(&hash)))
}
