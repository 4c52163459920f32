//! How a store gets its Vault token, one function per login method: a
//! token (literal, env or file), AppRole, userpass, LDAP, JWT/OIDC workload
//! identity, TLS client certificate, and a Vault Agent's token file.
//!
//! Every credential read here is remembered by [`crate::redact`] (so no log
//! line can carry it) and never put in an error: errors name the method,
//! its mount and role ([`VaultAuth::summary`]). Files that rotate (a
//! Kubernetes projected JWT, an Agent's sink) are read again at each login,
//! never kept; an Agent's file is also watched (inode, mtime, size) so the
//! host follows the Agent, which alone renews and revokes its token.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::config::VaultAuth;
use super::session::Session;
use crate::secrets::{FieldSource, StoreError};

/// What logins remember between one another.
#[derive(Default)]
pub(super) struct Memory {
    /// A wrapped AppRole secret_id unwraps once; later logins reuse it.
    secret_id: Option<SecretString>,
    /// The Agent's token file as it was when last read.
    stamp: Option<Stamp>,
    /// Digest of the Agent token in use, to tell a new one after a 403.
    token: Option<blake3::Hash>,
}

/// A file's identity: a rewrite in place changes its mtime or size, a
/// rename or symlink swap (Kubernetes' `..data`) its inode.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    size: u64,
}

impl Stamp {
    /// Follows links: what matters is the file the link points at now.
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            size: m.size(),
        })
    }
}

/// A new Vault token by the store's method.
pub(super) fn token(session: &mut Session) -> Result<SecretString, StoreError> {
    match session.config().auth.clone() {
        VaultAuth::Token(FieldSource::File(path))
            if path.ends_with(".vault-token") && !path.exists() =>
        {
            Err(StoreError::AuthFailed {
                method: "no token".into(),
                reason: "VAULT_TOKEN is not set and ~/.vault-token does not exist".into(),
            })
        }
        VaultAuth::Token(source) => plain(&source, "token"),
        VaultAuth::AppRole {
            role_id,
            secret_id,
            wrapped,
            mount,
        } => {
            let secret_id = approle_secret_id(session, &secret_id, wrapped)?;
            let body = json!({ "role_id": plain(&role_id, "role_id")?.expose_secret(), "secret_id": secret_id.expose_secret() });
            post_login(session, &format!("auth/{mount}/login"), &body)
        }
        VaultAuth::UserPass {
            username,
            password,
            mount,
        }
        | VaultAuth::Ldap {
            username,
            password,
            mount,
        } => {
            // The path ends in the user name: `Session::post` keeps it out of errors.
            let user = plain(&username, "username")?;
            let body = json!({ "password": plain(&password, "password")?.expose_secret() });
            // One path segment whatever the name holds (`/`, `..`, `?`): a
            // user name never reaches another Vault path with the password.
            let user = percent_encoding::utf8_percent_encode(
                user.expose_secret(),
                percent_encoding::NON_ALPHANUMERIC,
            );
            let path = format!("auth/{mount}/login/{user}");
            post_login(session, &path, &body)
        }
        VaultAuth::Jwt { role, jwt, mount } => jwt_login(session, &role, &jwt, &mount),
        VaultAuth::Cert { name, mount, .. } => {
            // The certificate itself went out on the TLS handshake (see `identity`).
            let body = name.map_or_else(|| json!({}), |name| json!({ "name": name }));
            post_login(session, &format!("auth/{mount}/login"), &body)
        }
        VaultAuth::Agent { token_file } => agent_token(session, &token_file),
    }
}

/// Logs in with the JWT its source holds now; when Vault refuses it and the
/// file has been rewritten since (a rotation racing the login), once more
/// with the new one.
fn jwt_login(
    session: &Session,
    role: &str,
    source: &FieldSource,
    mount: &str,
) -> Result<SecretString, StoreError> {
    let path = format!("auth/{mount}/login");
    let jwt = read_jwt(session, source)?;
    let refused = match post_login(
        session,
        &path,
        &json!({ "role": role, "jwt": jwt.expose_secret() }),
    ) {
        Err(refused @ StoreError::AuthFailed { .. }) => refused,
        other => return other,
    };
    let FieldSource::File(_) = source else {
        return Err(refused);
    };
    let again = read_jwt(session, source)?;
    if again.expose_secret() == jwt.expose_secret() {
        return Err(refused);
    }
    tracing::info!(
        mount,
        role,
        "jwt login refused; the token file changed: trying its new token"
    );
    post_login(
        session,
        &path,
        &json!({ "role": role, "jwt": again.expose_secret() }),
    )
}

/// The JWT from its file or variable, remembered with its claims' values
/// (a subject names a workload), so neither reaches a log. Not the issuer
/// and audience: public names, often the role's own, which errors name.
fn read_jwt(session: &Session, source: &FieldSource) -> Result<SecretString, StoreError> {
    let jwt = match source {
        FieldSource::File(path) => read_file(session, path)?,
        other => plain(other, "jwt")?,
    };
    crate::redact::remember(&jwt);
    let payload = jwt.expose_secret().split('.').nth(1).unwrap_or_default();
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload);
    let claims: Value = decoded
        .ok()
        .and_then(|bytes| serde_json::from_slice(&Zeroizing::new(bytes)).ok())
        .unwrap_or(Value::Null);
    let claims = claims.as_object().into_iter().flatten();
    for (_, value) in claims.filter(|(name, _)| !["iss", "aud"].contains(&name.as_str())) {
        if let Some(text) = value.as_str() {
            crate::redact::remember(&SecretString::from(text.to_owned()));
        }
    }
    Ok(jwt)
}

/// The Agent's current token; its file's stamp is taken first, so a write
/// after the read is seen by the next [`agent_file_changed`].
fn agent_token(session: &mut Session, path: &Path) -> Result<SecretString, StoreError> {
    let stamp = Stamp::of(path);
    let token = read_file(session, path)?;
    session.memory.stamp = stamp;
    session.memory.token = Some(blake3::hash(token.expose_secret().as_bytes()));
    Ok(token)
}

/// Whether the Agent's token file is not the one last read (a cheap
/// `stat`, done before each request).
pub(super) fn agent_file_changed(session: &Session) -> bool {
    match &session.config().auth {
        VaultAuth::Agent { token_file } => Stamp::of(token_file) != session.memory.stamp,
        _ => false,
    }
}

/// After a 403: whether the Agent's file now holds another token than the
/// one in use (rewritten without its stamp changing), so a retry may pass.
pub(super) fn agent_token_replaced(session: &Session) -> bool {
    let VaultAuth::Agent { token_file } = &session.config().auth else {
        return false;
    };
    let Ok(token) = read_file(session, token_file) else {
        return false;
    };
    session.memory.token != Some(blake3::hash(token.expose_secret().as_bytes()))
}

/// The first line of a rotating credential file, as a login failure
/// naming the method and the file (never its contents).
fn read_file(session: &Session, path: &Path) -> Result<SecretString, StoreError> {
    let method = session.config().auth.summary();
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::AuthFailed {
        method: method.clone(),
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    let text = Zeroizing::new(text);
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(StoreError::AuthFailed {
            method,
            reason: format!("{} is empty", path.display()),
        });
    }
    let value = SecretString::from(line.to_owned());
    crate::redact::remember(&value);
    Ok(value)
}

/// The client certificate a `cert` login presents on every connection to
/// Vault (reqwest cannot add one to a single request); `None` for others.
pub(super) fn identity(auth: &VaultAuth) -> Result<Option<reqwest::Identity>, StoreError> {
    let VaultAuth::Cert {
        cert_file,
        key_file,
        ..
    } = auth
    else {
        return Ok(None);
    };
    let failed = |reason: String| StoreError::AuthFailed {
        method: auth.summary(),
        reason,
    };
    let mut pem = private_key(key_file)
        .map_err(|reason| failed(format!("key_file {} {reason}", key_file.display())))?;
    let cert = std::fs::read(cert_file).map_err(|e| {
        failed(format!(
            "cannot read cert_file {}: {e}",
            cert_file.display()
        ))
    })?;
    pem.push(b'\n');
    pem.extend_from_slice(&cert);
    reqwest::Identity::from_pem(&pem).map(Some).map_err(|_| {
        failed("cert_file and key_file do not hold a PEM certificate and its private key (RSA, EC or PKCS #8)".into())
    })
}

/// A private key file's bytes, if only its owner, this user, may read it
/// (as ssh does, and the artifact cache for its key).
fn private_key(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be examined: {e}"))?;
    crate::ownership::check_metadata(&meta, 0o077, false).map_err(|exposure| match exposure {
        crate::ownership::Exposure::Mode { .. } => format!("{exposure}; chmod 600 it"),
        crate::ownership::Exposure::Owner { .. } => exposure.to_string(),
    })?;
    let mut key = Zeroizing::new(Vec::new());
    file.read_to_end(&mut key)
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(key)
}

/// The AppRole secret_id, unwrapping a response-wrapping token the first time.
fn approle_secret_id(
    session: &mut Session,
    source: &FieldSource,
    wrapped: bool,
) -> Result<SecretString, StoreError> {
    if !wrapped {
        return plain(source, "secret_id");
    }
    if let Some(id) = &session.memory.secret_id {
        return Ok(id.clone());
    }
    let wrapping = plain(source, "secret_id")?;
    let reply = session.post(
        "sys/wrapping/unwrap",
        Some(&wrapping),
        &json!({}),
        "approle",
    )?;
    let id = reply["data"]["secret_id"]
        .as_str()
        .ok_or_else(|| StoreError::AuthFailed {
            method: "approle".into(),
            reason: "the wrapped response holds no secret_id".into(),
        })?;
    let id = SecretString::from(id.to_owned());
    crate::redact::remember(&id);
    session.memory.secret_id = Some(id.clone());
    Ok(id)
}

fn post_login(session: &Session, path: &str, body: &Value) -> Result<SecretString, StoreError> {
    let method = session.config().auth.login();
    let reply = session.post(path, None, body, &method)?;
    reply["auth"]["client_token"]
        .as_str()
        .map(|t| SecretString::from(t.to_owned()))
        .inspect(crate::redact::remember)
        .ok_or_else(|| StoreError::AuthFailed {
            method,
            reason: "no client token in the answer".into(),
        })
}

/// Resolves a credential of the store's own login (literal, env or file).
pub(super) fn plain(source: &FieldSource, what: &str) -> Result<SecretString, StoreError> {
    let value = crate::secrets::resolve_plain(&format!("auth {what}"), source)
        .map_err(|e| StoreError::Config(e.to_string()))?;
    crate::redact::remember(&value);
    Ok(value)
}
