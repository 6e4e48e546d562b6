//! Maps a storage reference (hosted, or a link) to the blob store that reads and writes it. Link stores
//! are built once per link and kept, so an AWS link's assumed-role session is shared and refreshed in one
//! place; every presigned URL of an AWS link is capped at what is left of that session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::domain::error::{Error, Result};
use crate::domain::names::OrgSlug;
use crate::domain::storage::StorageRef;
use crate::domain::storage_names::LinkId;
use crate::ports::blob::BlobStore;
use crate::ports::link_access::LinkedBucket;

use super::storage_links::StorageLinks;

/// Hands out the [`BlobStore`] behind a [`StorageRef`]; cheap to clone.
#[derive(Clone)]
pub struct StorageResolver {
    hosted: Arc<dyn BlobStore>,
    links: StorageLinks,
    cache: Arc<Mutex<HashMap<(OrgSlug, LinkId), LinkedBucket>>>,
}

impl StorageResolver {
    pub fn new(hosted: Arc<dyn BlobStore>, links: StorageLinks) -> Self {
        Self { hosted, links, cache: Arc::default() }
    }

    /// The store files under `storage` live in. Any link resolves, whatever its status, so files already
    /// written to a link stay readable after it stops being the default.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a link the organization does not have; [`Error::Unavailable`] when an
    /// S3-compatible link's secret cannot be opened.
    pub async fn resolve(&self, org: &OrgSlug, storage: &StorageRef) -> Result<Arc<dyn BlobStore>> {
        Ok(self.resolved(org, storage).await?.store)
    }

    /// The organization's default storage for new files, and its store.
    ///
    /// # Errors
    /// As [`StorageResolver::resolve`].
    pub async fn default_storage(&self, org: &OrgSlug) -> Result<(StorageRef, Arc<dyn BlobStore>)> {
        let (settings, _) = self.links.settings(org).await?;
        let store = self.resolve(org, &settings.default).await?;
        Ok((settings.default, store))
    }

    /// How long credentials signing for `storage` stay valid: `None` when they do not expire (hosted,
    /// S3-compatible); for an AWS link, what is left of the session (at least 15 minutes after a refresh).
    /// The link's store already caps presigned URLs at this; callers may use it to plan longer transfers.
    ///
    /// # Errors
    /// As [`StorageResolver::resolve`], and [`Error::Unavailable`] when the role cannot be assumed.
    pub async fn credentials_remaining(&self, org: &OrgSlug, storage: &StorageRef) -> Result<Option<Duration>> {
        let Some(session) = self.resolved(org, storage).await?.session else { return Ok(None) };
        session.remaining().await.map(Some).map_err(|failure| {
            Error::Unavailable(format!(
                "cannot assume the storage link's role ({}): {}; run the link's diagnostic",
                failure.code.unwrap_or_default(),
                failure.detail
            ))
        })
    }

    /// Drops what is kept for a link, e.g. once it is deleted.
    pub fn forget(&self, org: &OrgSlug, id: &LinkId) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).remove(&(org.clone(), id.clone()));
    }

    async fn resolved(&self, org: &OrgSlug, storage: &StorageRef) -> Result<LinkedBucket> {
        let StorageRef::Link(id) = storage else {
            return Ok(LinkedBucket { store: Arc::clone(&self.hosted), session: None });
        };
        let key = (org.clone(), id.clone());
        if let Some(resolved) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(resolved.clone());
        }
        let (link, _) = self.links.get(org, id).await?;
        let resolved = self.links.clients.open(self.links.access(&link)?).await;
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, resolved.clone());
        Ok(resolved)
    }
}
