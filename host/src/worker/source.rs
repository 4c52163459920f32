//! Where a worker's connections come from, behind one small trait: a
//! directory of connection files on this machine ([`Directory`]), and
//! whatever else keeps connection documents (the credential store's KV,
//! added beside it) without the worker changing.
//!
//! [`Kept`] reads them where `serve` keeps them ([`crate::documents`]).
//!
//! A source says which connections exist and a stamp for each that changes
//! when the connection does; the worker opens a connection again only when
//! its stamp changed, so a rescan every few seconds costs a directory read.

use std::future::Future;
use std::sync::Arc;

use super::routes::Key;
use crate::catalogue::Catalogue;
use crate::documents::Documents;
use crate::{Runtime, Session, SessionError};

/// Changes whenever the connection's document changes (for a file, its
/// modification time and length; for a store, its version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(pub String);

/// Where the connections a worker serves are kept.
pub trait ConnectionSource: Send + Sync + 'static {
    /// Every connection there now, of every tenant, with its stamp, in a
    /// stable order.
    fn list(&self) -> impl Future<Output = Vec<(Key, Stamp)>> + Send;

    /// Opens connection `name`: its connector loaded (pinned), its
    /// credentials set up, ready for calls.
    fn open(&self, name: &Key) -> impl Future<Output = Result<Session, SessionError>> + Send;

    /// Where the connections are, for people (a directory, a store path).
    fn describe(&self) -> String;
}

/// The connections a `serve` with the same settings keeps: files in a
/// directory, or documents in a credential store ([`Documents`]), their
/// connectors loaded once per component file by a [`Catalogue`] (as `serve`
/// does), pins checked against the bytes compiled.
pub struct Kept {
    documents: Documents,
    catalogue: Catalogue,
}

impl Kept {
    /// The connections `documents` keeps, with `connectors` as the directory
    /// of components (connection files may name others too).
    pub fn new(runtime: Arc<Runtime>, connectors: &std::path::Path, documents: Documents) -> Kept {
        Kept {
            documents,
            catalogue: Catalogue::new(runtime, connectors),
        }
    }

    /// Which file has a connector name several components claim (the serve
    /// config's `[names]`).
    #[must_use]
    pub fn with_names(self, names: std::collections::BTreeMap<String, String>) -> Kept {
        Kept {
            catalogue: self.catalogue.with_names(names),
            ..self
        }
    }
}

impl Kept {
    /// The documents of `tenant` (`None`: the default one).
    fn of(&self, tenant: Option<&crate::name::Name>) -> Documents {
        match tenant {
            Some(tenant) => self.documents.for_tenant(tenant),
            None => self.documents.clone(),
        }
    }

    /// The connections of `tenant`, with their stamps.
    async fn list_of(&self, tenant: Option<crate::name::Name>, found: &mut Vec<(Key, Stamp)>) {
        let documents = self.of(tenant.as_ref());
        let names = match documents.names().await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(%error, "cannot list the connections");
                return;
            }
        };
        for connection in names {
            if let Ok(Some(stamp)) = documents.stamp(&connection).await {
                let key = Key {
                    tenant: tenant.clone(),
                    connection,
                };
                found.push((key, Stamp(format!("{stamp:?}"))));
            }
        }
    }
}

impl ConnectionSource for Kept {
    async fn list(&self) -> Vec<(Key, Stamp)> {
        let mut found = Vec::new();
        self.list_of(None, &mut found).await;
        let tenants = self.documents.tenants().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot list the tenants");
            Vec::new()
        });
        for tenant in tenants {
            self.list_of(Some(tenant), &mut found).await;
        }
        found
    }

    async fn open(&self, key: &Key) -> Result<Session, SessionError> {
        let documents = self.of(key.tenant.as_ref());
        let name = &key.connection;
        let missing = || crate::ConnectionError::Read {
            path: documents.label(name),
            source: std::io::ErrorKind::NotFound.into(),
        };
        let (connection, _) = documents.load(name).await?.ok_or_else(missing)?;
        // Checks the pin against the bytes the catalogue compiled.
        let connector = self.catalogue.for_connection(&connection).await?;
        Session::with_connector(connection, connector).await
    }

    fn describe(&self) -> String {
        match &self.documents {
            Documents::Directory(dir) => dir.display().to_string(),
            Documents::Store { name, .. } => format!("store '{name}' connections/"),
        }
    }
}
