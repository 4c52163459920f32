//! Tenants and their API tokens.
//!
//! A platform serves many customers from one `serve`: each is a tenant,
//! with its own connections, typed secrets and OAuth tokens (see
//! [`super::space`]). The server's own API token is the operator's: it sees
//! every tenant (`?tenant=` chooses one; without it, `default`, whose places
//! are today's single-tenant layout). The operator issues each tenant its
//! tokens: `cht_` and 64 hex digits, shown once, kept only as SHA-256
//! digests beside the connections (a 0600 file, or a KV v2 document written
//! with check-and-set where connections are kept in a store, so every
//! replica sees an issue or a revocation within [`FRESH`]).
//!
//! Invariants: a token's value is never stored, logged or answered again
//! after it is issued; a candidate is compared with every digest in constant
//! time; a revoked token (and every page session made from it) is refused
//! within [`FRESH`], without a restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::record::Record;
use crate::documents::Documents;
use crate::name::{AssetName, Name};

/// The tenant of the server's own API token when a request names none: its
/// places are the single-tenant layout (`<connections>/*.toml`, `secrets/…`).
pub use crate::documents::DEFAULT_TENANT;

/// How long the token list read from its file or document is trusted: a
/// token issued or revoked on another replica counts within this.
pub const FRESH: Duration = Duration::from_secs(2);

/// Who a token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The server's own API token: every tenant.
    Operator,
    /// A tenant's token.
    Tenant {
        /// Its tenant.
        tenant: Name,
        /// The token's id (not secret: it names the token in lists and audits).
        token: String,
    },
    /// A person who opened a connect link of a tenant's.
    EndUser {
        /// The tenant.
        tenant: Name,
        /// The platform's id of the person.
        end_user: String,
    },
}

impl Principal {
    /// The tenant a request works in: the tenant's own, or for the operator
    /// the one `asked` names (else [`DEFAULT_TENANT`]). `None` when a tenant
    /// names another (answered as a name that does not exist) or the name
    /// is not a [`Name`].
    pub fn tenant(&self, asked: Option<&str>) -> Option<Name> {
        match self {
            Principal::Operator => Name::parse(asked.unwrap_or(DEFAULT_TENANT), "tenant").ok(),
            Principal::Tenant { tenant, .. } | Principal::EndUser { tenant, .. } => asked
                .is_none_or(|a| a == tenant.as_str())
                .then(|| tenant.clone()),
        }
    }
}

/// One issued token, as kept (its digest, never its value).
#[derive(Clone, Serialize, Deserialize)]
pub struct Issued {
    /// Its id: `tok_` and 12 hex digits.
    pub id: String,
    /// Its tenant.
    pub tenant: Name,
    /// What the operator called it.
    pub label: String,
    /// When it was issued (RFC 3339, UTC).
    pub created: String,
    /// SHA-256 of the token, hex.
    sha256: String,
}

impl Issued {
    /// What the API shows of it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({"id": self.id, "tenant": self.tenant, "label": self.label, "created": self.created})
    }
}

/// The tenants' tokens.
pub struct TenantTokens {
    kept: Record<Vec<Issued>>,
    cache: Mutex<Option<(Instant, Arc<Vec<Issued>>)>>,
}

/// The file beside the connections, or the document in the store.
const FILE: &str = ".api-tokens.json";
const DOCUMENT: &str = "api-tokens";

impl TenantTokens {
    /// Kept where `documents` keeps connections.
    pub fn beside(documents: &Documents) -> TenantTokens {
        let document = AssetName::parse(DOCUMENT, "document").expect("a fixed name");
        TenantTokens {
            kept: Record::beside(documents, std::path::Path::new(FILE), document),
            cache: Mutex::default(),
        }
    }

    /// The token `candidate` is, if it is a live one: compared with every
    /// digest, each in constant time.
    ///
    /// # Errors
    ///
    /// A sentence when the list cannot be read (the request is refused).
    pub async fn find(&self, candidate: &str) -> Result<Option<Issued>, String> {
        let digest = Sha256::digest(candidate.as_bytes());
        let mut found = None;
        for issued in self.all().await?.iter() {
            let kept = hex::decode(&issued.sha256).unwrap_or_default();
            if bool::from(kept.as_slice().ct_eq(digest.as_slice())) {
                found = Some(issued.clone());
            }
        }
        Ok(found)
    }

    /// Whether token `id` is still live (a page session made from it lives
    /// only as long).
    pub async fn live(&self, id: &str) -> bool {
        self.all()
            .await
            .is_ok_and(|all| all.iter().any(|i| i.id == id))
    }

    /// The tokens, of `tenant` or of every tenant.
    ///
    /// # Errors
    ///
    /// A sentence when the list cannot be read.
    pub async fn list(&self, tenant: Option<&Name>) -> Result<Vec<Issued>, String> {
        let all = self.all().await?;
        Ok(all
            .iter()
            .filter(|i| tenant.is_none_or(|t| &i.tenant == t))
            .cloned()
            .collect())
    }

    /// Issues a token for `tenant`: what is kept, and the value (shown once).
    ///
    /// # Errors
    ///
    /// A sentence when the list cannot be written.
    pub async fn issue(
        &self,
        tenant: &Name,
        label: &str,
    ) -> Result<(Issued, SecretString), String> {
        let value = format!("cht_{}", super::auth::random_token());
        let issued = Issued {
            id: format!("tok_{}", &super::auth::random_token()[..12]),
            tenant: tenant.clone(),
            label: label.to_owned(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            sha256: hex::encode(Sha256::digest(value.as_bytes())),
        };
        let added = issued.clone();
        self.change(move |all| {
            all.push(added.clone());
            true
        })
        .await?;
        let value = SecretString::from(value);
        crate::redact::remember(&value);
        Ok((issued, value))
    }

    /// Revokes `tenant`'s token `id`; `false` when it has no such token.
    ///
    /// # Errors
    ///
    /// A sentence when the list cannot be written.
    pub async fn revoke(&self, tenant: &Name, id: &str) -> Result<bool, String> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.change(move |all| {
            let before = all.len();
            all.retain(|i| !(i.tenant == tenant && i.id == id));
            all.len() != before
        })
        .await
    }

    /// Every token, as read within [`FRESH`].
    async fn all(&self) -> Result<Arc<Vec<Issued>>, String> {
        if let Some((at, all)) = self.lock().as_ref() {
            if at.elapsed() < FRESH {
                return Ok(all.clone());
            }
        }
        let all = Arc::new(self.kept.read().await?.unwrap_or_default());
        *self.lock() = Some((Instant::now(), all.clone()));
        Ok(all)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<Issued>>)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `edit` to the list, kept (see [`Record::change`]).
    async fn change(
        &self,
        edit: impl Fn(&mut Vec<Issued>) -> bool + Send + 'static,
    ) -> Result<bool, String> {
        *self.lock() = None;
        let changed = self
            .kept
            .change(move |kept| {
                let all = kept.get_or_insert_with(Vec::new);
                let changed = edit(all);
                (changed, changed)
            })
            .await;
        *self.lock() = None;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn tenant(text: &str) -> Name {
        Name::parse(text, "tenant").unwrap()
    }

    #[tokio::test]
    async fn issued_tokens_are_found_by_value_and_gone_once_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = TenantTokens::beside(&Documents::Directory(dir.path().to_owned()));
        let (acme, value) = tokens.issue(&tenant("acme"), "ci").await.unwrap();
        let (_, other) = tokens.issue(&tenant("globex"), "ci").await.unwrap();
        let found = tokens.find(value.expose_secret()).await.unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.tenant.as_str()),
            (acme.id.as_str(), "acme")
        );
        assert!(tokens.find("cht_wrong").await.unwrap().is_none());
        // Sealed or not (at rest, the record may be sealed), never the token.
        let kept = std::fs::read(dir.path().join(FILE)).unwrap();
        let holds = |t: &str| kept.windows(t.len()).any(|w| w == t.as_bytes());
        assert!(!holds(value.expose_secret()) && !holds(other.expose_secret()));
        assert!(
            !tokens.revoke(&tenant("globex"), &acme.id).await.unwrap(),
            "another tenant's id"
        );
        assert!(tokens.revoke(&tenant("acme"), &acme.id).await.unwrap());
        assert!(tokens.find(value.expose_secret()).await.unwrap().is_none());
        assert!(tokens.find(other.expose_secret()).await.unwrap().is_some());
    }

    #[test]
    fn a_tenant_works_only_in_its_own_tenant() {
        let acme = Principal::Tenant {
            tenant: tenant("acme"),
            token: "tok_1".into(),
        };
        assert_eq!(acme.tenant(None), Some(tenant("acme")));
        assert_eq!(acme.tenant(Some("acme")), Some(tenant("acme")));
        assert_eq!(acme.tenant(Some("globex")), None);
        assert_eq!(
            Principal::Operator.tenant(None),
            Some(tenant(DEFAULT_TENANT))
        );
        assert_eq!(
            Principal::Operator.tenant(Some("globex")),
            Some(tenant("globex"))
        );
        assert_eq!(Principal::Operator.tenant(Some("../x")), None);
    }
}
