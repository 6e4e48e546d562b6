//! Manifests of a repository (push, pull, delete), its tags and the referrers of a manifest.

use bytes::Bytes;
use chrono::Utc;
use serde_json::json;

use super::{BlobRecord, ManifestRecord, Oci, OciResult, TagRecord, blob_key, refuse};
use crate::domain::audit::{Target, diff};
use crate::domain::keys;
use crate::domain::registry::Registry;
use crate::ecosystems::oci::{Code, Digest, ParsedManifest, Reference};
use crate::ports::blob::StorageKey;
use crate::ports::metadata::{Condition, Item, Query, WriteOp};
use crate::service::Acting;
use crate::service::packages::blob_error;

impl Oci {
    /// A manifest of the repository by tag or digest.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn manifest(
        &self,
        registry: &Registry,
        repository: &str,
        reference: &Reference,
    ) -> OciResult<Option<ManifestRecord>> {
        let digest = match reference {
            Reference::Digest(digest) => digest.clone(),
            Reference::Tag(tag) => {
                let Some(tag) = self.read::<TagRecord>(keys::oci_tag(&registry.id, repository, tag)).await? else {
                    return Ok(None);
                };
                Digest::parse(&tag.digest)?
            }
        };
        self.read(keys::oci_manifest(&registry.id, repository, digest.hex())).await
    }

    /// A manifest's bytes (at most 4 MiB, so read whole).
    ///
    /// # Errors
    /// When the storage fails.
    pub async fn manifest_bytes(&self, registry: &Registry, manifest: &ManifestRecord) -> OciResult<Bytes> {
        let key = StorageKey::parse(&manifest.key).map_err(blob_error)?;
        let blobs = self.packages.blobs(&registry.organization, &manifest.storage).await?;
        Ok(blobs.get(&key).await.map_err(blob_error)?)
    }

    /// Stores a manifest once everything it references exists: its blobs in the registry, an index's
    /// manifests in the repository. A tag moves to it, audited with where it pointed before.
    ///
    /// # Errors
    /// `DIGEST_INVALID` when pushed by a digest its bytes do not have, `MANIFEST_BLOB_UNKNOWN` for a missing
    /// reference, and what storing fails with.
    pub async fn put_manifest(
        &self,
        acting: &Acting,
        registry: &Registry,
        repository: &str,
        reference: &Reference,
        parsed: ParsedManifest,
        bytes: Bytes,
    ) -> OciResult<ManifestRecord> {
        let digest = Digest::of(&bytes);
        if let Reference::Digest(expected) = reference
            && *expected != digest
        {
            return refuse(Code::DigestInvalid, format!("the manifest's digest is {digest}, not {expected}"));
        }
        for blob in &parsed.blobs {
            if self.blob(registry, blob).await?.is_none() {
                return refuse(
                    Code::ManifestBlobUnknown,
                    format!("blob {blob} is not in this registry; push it first"),
                );
            }
        }
        for child in &parsed.manifests {
            if self.manifest(registry, repository, &Reference::Digest(child.clone())).await?.is_none() {
                return refuse(
                    Code::ManifestBlobUnknown,
                    format!("manifest {child} is not in repository {repository}; push it first"),
                );
            }
        }
        let blob = match self.blob(registry, &digest).await? {
            Some(blob) => blob,
            None => {
                let (storage, blobs) = self.packages.storage_for(registry).await?;
                let key = blob_key(registry, &digest)?;
                blobs.put(&key, bytes.clone()).await.map_err(blob_error)?;
                BlobRecord {
                    digest: digest.to_string(),
                    size: bytes.len() as u64,
                    storage,
                    key: key.to_string(),
                    created_at: Utc::now(),
                }
            }
        };
        let (total_size, platforms) = self.describe(registry, repository, &parsed, blob.size).await?;
        let manifest = ManifestRecord {
            digest: digest.to_string(),
            media_type: parsed.media_type,
            size: blob.size,
            storage: blob.storage.clone(),
            key: blob.key.clone(),
            subject: parsed.subject.as_ref().map(ToString::to_string),
            artifact_type: parsed.artifact_type,
            annotations: parsed.annotations,
            created_at: Utc::now(),
            total_size: Some(total_size),
            platforms,
        };
        let (pk, sk) = keys::oci_manifest(&registry.id, repository, digest.hex());
        let mut ops = vec![
            Self::blob_op(registry, &blob)?,
            WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always),
            Self::repository_op(registry, repository, &manifest)?,
        ];
        if let Some(subject) = &parsed.subject {
            let (pk, sk) = keys::oci_referrer(&registry.id, repository, subject.hex(), digest.hex());
            ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always));
        }
        let mut before = json!({});
        if let Reference::Tag(tag) = reference {
            let key = keys::oci_tag(&registry.id, repository, tag);
            let previous = self.read::<TagRecord>(key.clone()).await?;
            before = json!({"tag": tag, "digest": previous.map(|record| record.digest)});
            let record = TagRecord { digest: digest.to_string() };
            ops.push(WriteOp::put(Item::from_value(key.0, key.1, 1, &record)?, Condition::Always));
        }
        let after = json!({"tag": before.get("tag"), "digest": digest.to_string()});
        ops.push(acting.audit(
            &registry.organization,
            "oci.manifest_pushed",
            target(repository, reference),
            diff(&before, &after, &["digest"]),
        )?);
        self.store.write(ops).await?;
        tracing::info!(registry.slug = %registry.slug, oci.repository = %repository, "pushed {repository}@{digest}");
        Ok(manifest)
    }

    /// Removes a tag, audited.
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN` when there is no such tag.
    pub async fn delete_tag(&self, acting: &Acting, registry: &Registry, repository: &str, tag: &str) -> OciResult<()> {
        let key = keys::oci_tag(&registry.id, repository, tag);
        let Some(previous) = self.read::<TagRecord>(key.clone()).await? else {
            return refuse(Code::ManifestUnknown, format!("{repository} has no tag {tag}"));
        };
        let reference = Reference::Tag(tag.to_owned());
        let ops = vec![
            WriteOp::delete(key.0, key.1, Condition::Exists),
            acting.audit(
                &registry.organization,
                "oci.tag_deleted",
                target(repository, &reference),
                diff(&json!({"digest": previous.digest}), &json!({}), &["digest"]),
            )?,
        ];
        self.store.write(ops).await?;
        Ok(())
    }

    /// Removes a manifest from the repository with the tags that point at it and its referrer entry. Its
    /// bytes stay (another repository may hold the same manifest; there is no garbage collection yet).
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN` when the repository has no such manifest.
    pub async fn delete_manifest(
        &self,
        acting: &Acting,
        registry: &Registry,
        repository: &str,
        digest: &Digest,
    ) -> OciResult<()> {
        let reference = Reference::Digest(digest.clone());
        let Some(manifest) = self.manifest(registry, repository, &reference).await? else {
            return refuse(Code::ManifestUnknown, format!("{repository} has no manifest {digest}"));
        };
        let (pk, sk) = keys::oci_manifest(&registry.id, repository, digest.hex());
        let mut ops = vec![WriteOp::delete(pk, sk, Condition::Exists)];
        if let Some(subject) = manifest.subject.as_deref().and_then(|subject| Digest::parse(subject).ok()) {
            let (pk, sk) = keys::oci_referrer(&registry.id, repository, subject.hex(), digest.hex());
            ops.push(WriteOp::delete(pk, sk, Condition::Always));
        }
        let prefix = keys::oci_tags_prefix(repository);
        for (sk, tag) in self.all(&registry.id, &prefix).await? {
            if tag.to_value::<TagRecord>()?.digest == digest.as_str() && ops.len() < 90 {
                ops.push(WriteOp::delete(keys::oci_partition(&registry.id), sk, Condition::Always));
            }
        }
        ops.push(acting.audit(
            &registry.organization,
            "oci.manifest_deleted",
            target(repository, &reference),
            diff(&json!({"digest": digest.to_string()}), &json!({}), &["digest"]),
        )?);
        self.store.write(ops).await?;
        Ok(())
    }

    /// A repository's tags in lexical order after `last`: at most `limit` (all when `None`), and whether
    /// more follow.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn tags(
        &self,
        registry: &Registry,
        repository: &str,
        last: Option<&str>,
        limit: Option<usize>,
    ) -> OciResult<(Vec<String>, bool)> {
        let prefix = keys::oci_tags_prefix(repository);
        let strip = |sk: &str| sk.strip_prefix(&prefix).unwrap_or(sk).to_owned();
        let Some(limit) = limit else {
            let mut tags: Vec<String> =
                self.all(&registry.id, &prefix).await?.iter().map(|(sk, _)| strip(sk)).collect();
            if let Some(last) = last {
                tags.retain(|tag| tag.as_str() > last);
            }
            return Ok((tags, false));
        };
        if limit == 0 {
            return Ok((Vec::new(), false));
        }
        let query = Query {
            pk: keys::oci_partition(&registry.id),
            sk_prefix: prefix.clone(),
            after: last.map(|last| format!("{prefix}{last}")),
            limit: limit.min(crate::ports::metadata::MAX_PAGE_SIZE),
            descending: false,
        };
        let page = self.store.query(&query).await?;
        Ok((page.items.iter().map(|item| strip(&item.sk)).collect(), page.more))
    }

    /// The manifests of the repository whose subject is `digest`, as descriptors.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn referrers(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &Digest,
    ) -> OciResult<Vec<ManifestRecord>> {
        let prefix = keys::oci_referrers_prefix(repository, digest.hex());
        let items = self.all(&registry.id, &prefix).await?;
        Ok(items.iter().map(|(_, item)| item.to_value()).collect::<Result<_, _>>()?)
    }
}

fn target(repository: &str, reference: &Reference) -> Target {
    let (id, name) = match reference {
        Reference::Tag(tag) => (tag.clone(), format!("{repository}:{tag}")),
        Reference::Digest(digest) => (digest.to_string(), format!("{repository}@{digest}")),
    };
    Target { kind: "oci_manifest".into(), id, name }
}
