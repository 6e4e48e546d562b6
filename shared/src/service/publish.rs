//! The publish use case every protocol shares. A protocol route receives a body, spools it, lets its
//! ecosystem read what it must (a manifest inside the archive) and hands over the spooled files with the
//! name, version and metadata found; from there it is the same for npm, cargo, Python, generic files and the
//! ecosystems to come: refuse a version that exists, stream the files into the registry's storage, record
//! the version (create-only), and leave no file behind when anything refuses.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::Acting;
use super::packages::{NewVersion, Packages, blob_error, file_key};
use crate::domain::error::{Error, Result};
use crate::domain::names::OrgSlug;
use crate::domain::package::{Digests, DistTags, Package, PackageFile};
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ports::blob::{BlobStore, StorageKey, file_stream};
use crate::ports::metadata::StoreError;

/// A file as a protocol route received it: spooled to `path`, counted and hashed, not yet stored.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub filename: String,
    pub path: PathBuf,
    pub size: u64,
    pub digests: Digests,
}

/// A version as a protocol route read it from what it received.
#[derive(Debug, Clone)]
pub struct Received {
    pub name: String,
    pub version: String,
    pub files: Vec<ReceivedFile>,
    pub metadata: Value,
    pub tags: DistTags,
}

impl Packages {
    /// Streams a received file into the registry's current storage, under a key no other upload uses.
    ///
    /// # Errors
    /// For an unusable filename or a storage failure.
    pub async fn store_received(&self, registry: &Registry, file: &ReceivedFile) -> Result<PackageFile> {
        let (storage, blobs) = self.storage_for(registry).await?;
        let key = file_key(&registry.id, &ulid::Ulid::new().to_string(), &file.filename)?;
        let body = file_stream(&file.path).await.map_err(|error| Error::Store(StoreError::backend(error)))?;
        let size = blobs.put_stream(&key, body).await.map_err(blob_error)?;
        let stored = PackageFile {
            filename: file.filename.clone(),
            size,
            digests: file.digests.clone(),
            storage,
            key: key.to_string(),
        };
        if size != file.size {
            self.discard_files(&registry.organization, std::slice::from_ref(&stored)).await;
            return Err(Error::Store(StoreError::Corrupt(format!(
                "{} was received with {} bytes but {size} were stored",
                file.filename, file.size
            ))));
        }
        Ok(stored)
    }

    /// Publishes a received version: refuses one that exists before storing anything, streams its files into
    /// the registry's storage, and records it with its metadata and dist-tags. When the record is refused
    /// (another publish of the version won meanwhile) or anything fails, the stored files are removed.
    ///
    /// # Errors
    /// [`Error::Conflict`] for an existing version (the message says versions are immutable), and what
    /// storing or recording fails with.
    pub async fn publish_received(&self, acting: &Acting, registry: &Registry, received: Received) -> Result<Package> {
        let Received { name, version, files, metadata, tags } = received;
        if self.has_version(registry, &name, &version).await? {
            return Err(Error::Conflict(format!(
                "{name}@{version} already exists in registry {}; versions are immutable, publish a new version",
                registry.slug
            )));
        }
        let mut stored = Vec::with_capacity(files.len());
        for file in &files {
            match self.store_received(registry, file).await {
                Ok(file) => stored.push(file),
                Err(error) => {
                    self.discard_files(&registry.organization, &stored).await;
                    return Err(error);
                }
            }
        }
        let package =
            self.publish(acting, registry, NewVersion { name, version, files: stored, metadata, tags }).await?;
        tracing::info!(
            registry.slug = %registry.slug, package.name = %package.name,
            "published {}@{}", package.name, package.version
        );
        Ok(package)
    }

    /// Copies one stored object of `source_org` into `target`, the storage `storage`, at `key`, and returns
    /// its size. Within one storage the store copies it itself (S3 `CopyObject`); across storages (a registry
    /// that moved to a linked bucket, say) the bytes stream through, a buffer at a time.
    ///
    /// # Errors
    /// What reading or storing fails with.
    pub async fn copy_object(
        &self,
        source_org: &OrgSlug,
        (from_storage, from): (&StorageRef, &StorageKey),
        (storage, target, key): (&StorageRef, &Arc<dyn BlobStore>, &StorageKey),
    ) -> Result<u64> {
        let copied = match from_storage == storage {
            true => target.copy_within(from, key).await.map_err(blob_error)?,
            false => None,
        };
        match copied {
            Some(size) => Ok(size),
            None => {
                let origin = self.blobs(source_org, from_storage).await?;
                let body = origin.get_stream(from).await.map_err(blob_error)?;
                target.put_stream(key, body).await.map_err(blob_error)
            }
        }
    }

    /// Copies (promotes) a version into another registry of the same ecosystem: each file is copied by the
    /// store when both registries use one storage (S3 `CopyObject`), or streams from its storage into the
    /// destination's, the version is recorded there with the dist-tags that pointed at it,
    /// and a refused copy leaves no file behind.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the destination has the version, and what reading or storing fails with.
    pub async fn copy(
        &self,
        acting: &Acting,
        source: &Registry,
        destination: &Registry,
        package: Package,
    ) -> Result<Package> {
        if self.has_version(destination, &package.name, &package.version).await? {
            return Err(Error::Conflict(format!(
                "{}@{} already exists in registry {}; versions are immutable",
                package.name, package.version, destination.slug
            )));
        }
        let (storage, target) = self.storage_for(destination).await?;
        let mut copied: Vec<PackageFile> = Vec::with_capacity(package.files.len());
        for file in &package.files {
            let stored = async {
                let from = StorageKey::parse(&file.key).map_err(blob_error)?;
                let key = file_key(&destination.id, &ulid::Ulid::new().to_string(), &file.filename)?;
                let size =
                    self.copy_object(&source.organization, (&file.storage, &from), (&storage, &target, &key)).await?;
                Ok::<_, Error>(PackageFile { size, storage: storage.clone(), key: key.to_string(), ..file.clone() })
            }
            .await;
            match stored {
                Ok(file) => copied.push(file),
                Err(error) => {
                    self.discard_files(&destination.organization, &copied).await;
                    return Err(error);
                }
            }
        }
        let (tags, _) = self.dist_tags(source, &package.name).await?;
        let tags: DistTags = tags.into_iter().filter(|(_, version)| *version == package.version).collect();
        let new = NewVersion {
            name: package.name,
            version: package.version,
            files: copied,
            metadata: package.metadata,
            tags,
        };
        self.publish(acting, destination, new).await
    }
}
