//! Manifests of a repository (push, pull, delete), its tags and the referrers of a manifest.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use serde_json::json;

use super::{BlobRecord, Failure, ManifestRecord, Oci, OciResult, TagRecord, blob_key, refuse};
use crate::domain::audit::{Target, diff};
use crate::domain::error::Error;
use crate::domain::keys;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::oci::{Code, Digest, ParsedManifest, Platform, Reference, Refusal};
use crate::ports::blob::{BlobStore, StorageKey};
use crate::ports::metadata::{Condition, Item, MAX_WRITE_OPS, Query, StoreError, WriteOp};
use crate::service::Acting;
use crate::service::packages::blob_error;
use crate::service::races::until_won;

/// The most blobs of one manifest whose records a push rewrites under their versions (the rest of the
/// transaction's 100 operations are the manifest, its referrer entry, tag and audit event).
const GUARDED_BLOBS: usize = 90;

/// The most tags one `tags/list` without `n` answers (about 1 MB of JSON); a `Link` leads to the rest.
pub const TAGS_MAX: usize = 10_000;

/// What a manifest push is about.
#[derive(Clone, Copy)]
struct Push<'a> {
    acting: &'a Acting,
    registry: &'a Registry,
    repository: &'a str,
    reference: &'a Reference,
    parsed: &'a ParsedManifest,
    digest: &'a Digest,
    bytes: &'a Bytes,
    /// Its total size and platforms, for listings (see [`super::listing`]).
    described: &'a (u64, Vec<Platform>),
}

/// A manifest's bytes stored for a push, before their blob is recorded.
struct Stored {
    blobs: Arc<dyn BlobStore>,
    key: StorageKey,
    storage: StorageRef,
}

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
    /// manifests in the repository. A tag moves to it, audited with where it pointed before, unless the
    /// registry's tags are immutable. Its blobs are kept from garbage collection (see [`super::gc`]).
    ///
    /// # Errors
    /// `DIGEST_INVALID` when pushed by a digest its bytes do not have, `MANIFEST_BLOB_UNKNOWN` for a missing
    /// reference, `DENIED` (409) for an immutable tag that points elsewhere, and what storing fails with.
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
        for child in &parsed.manifests {
            if self.manifest(registry, repository, &Reference::Digest(child.clone())).await?.is_none() {
                return refuse(
                    Code::ManifestBlobUnknown,
                    format!("manifest {child} is not in repository {repository}; push it first"),
                );
            }
        }
        // The manifest's own bytes are a blob too, stored once before the attempts when the registry lacks it.
        let stored = match self.blob(registry, &digest).await? {
            Some(_) => None,
            None => {
                let (storage, blobs) = self.packages.storage_for(registry).await?;
                let key = blob_key(registry, &digest)?;
                blobs.put(&key, bytes.clone()).await.map_err(blob_error)?;
                Some(Stored { blobs, key, storage })
            }
        };
        let described = self.describe(registry, repository, &parsed, bytes.len() as u64).await?;
        let push = Push {
            acting,
            registry,
            repository,
            reference,
            parsed: &parsed,
            digest: &digest,
            bytes: &bytes,
            described: &described,
        };
        let outcome = until_won(|| self.try_put_manifest(&push, stored.as_ref())).await;
        if let Some(stored) = &stored {
            let kept = matches!(&outcome, Ok(Some(manifest)) if manifest.key == stored.key.to_string());
            if !kept && let Err(error) = stored.blobs.retire(&stored.key).await {
                tracing::warn!(error = %error, "could not remove the unused manifest bytes at {}", stored.key);
            }
        }
        let manifest = outcome?.ok_or_else(|| {
            Error::Conflict(format!("{repository}@{digest} is being pushed by many requests at once; try again"))
        })?;
        tracing::info!(registry.slug = %registry.slug, oci.repository = %repository, "pushed {repository}@{digest}");
        Ok(manifest)
    }

    /// One attempt at [`Self::put_manifest`]: `None` when another request changed a blob it uses first.
    async fn try_put_manifest(&self, push: &Push<'_>, stored: Option<&Stored>) -> OciResult<Option<ManifestRecord>> {
        let Push { acting, registry, repository, reference, parsed, digest, bytes, described } = *push;
        let now = Utc::now();
        let mut used = vec![digest.clone()];
        for blob in &parsed.blobs {
            if !used.contains(blob) {
                used.push(blob.clone());
            }
        }
        // Every blob it uses is rewritten under the version read here, so a removal racing this push either
        // happens first (and this attempt sees the blob gone) or fails.
        let mut ops = Vec::new();
        let mut own = None;
        for blob in &used {
            let versioned = self.blob_versioned(&registry.id, blob).await?;
            let versioned = match (versioned, blob == digest) {
                (Some(versioned), _) => versioned,
                (None, false) => {
                    return refuse(
                        Code::ManifestBlobUnknown,
                        format!("blob {blob} is not in this registry; push it first"),
                    );
                }
                (None, true) => {
                    let Some(stored) = stored else {
                        return Err(
                            Error::Conflict(format!("manifest {digest} was removed meanwhile; push it again")).into()
                        );
                    };
                    let record = BlobRecord {
                        digest: digest.to_string(),
                        size: bytes.len() as u64,
                        storage: stored.storage.clone(),
                        key: stored.key.to_string(),
                        created_at: now,
                        idle_since: None,
                    };
                    let (pk, sk) = keys::oci_blob(&registry.id, digest.hex());
                    ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &record)?, Condition::NotExists));
                    own = Some(record);
                    continue;
                }
            };
            if blob == digest {
                own = Some(versioned.0.clone());
            }
            if ops.len() < GUARDED_BLOBS {
                ops.push(Self::guard_op(&registry.id, &versioned)?);
            }
        }
        let guarded = ops.len();
        let own = own.expect("the manifest's own digest is the first used blob");
        let manifest = ManifestRecord {
            digest: digest.to_string(),
            media_type: parsed.media_type.clone(),
            size: own.size,
            storage: own.storage.clone(),
            key: own.key.clone(),
            subject: parsed.subject.as_ref().map(ToString::to_string),
            artifact_type: parsed.artifact_type.clone(),
            annotations: parsed.annotations.clone(),
            blobs: used[1..].iter().map(ToString::to_string).collect(),
            created_at: now,
            total_size: Some(described.0),
            platforms: described.1.clone(),
        };
        let references = Self::reference_ops(registry, repository, digest, &used, now)?;
        if ops.len() + references.len() + 5 <= MAX_WRITE_OPS {
            ops.extend(references);
        } else {
            // Written first: a reference whose manifest never lands only delays collection (see `gc`).
            for chunk in references.chunks(MAX_WRITE_OPS) {
                self.store.write(chunk.to_vec()).await?;
            }
        }
        let (pk, sk) = keys::oci_manifest(&registry.id, repository, digest.hex());
        ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always));
        ops.push(Self::repository_op(registry, repository, &manifest)?);
        if let Some(subject) = &parsed.subject {
            let (pk, sk) = keys::oci_referrer(&registry.id, repository, subject.hex(), digest.hex());
            ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always));
        }
        let mut before = json!({});
        let mut tag_op = None;
        if let Reference::Tag(tag) = reference {
            let key = keys::oci_tag(&registry.id, repository, tag);
            let previous = self.read::<TagRecord>(key.clone()).await?;
            let condition = match &previous {
                Some(previous) if registry.immutable_tags && previous.digest != digest.as_str() => {
                    return Err(tag_immutable(registry, repository, tag, &previous.digest));
                }
                // Two pushes of one new tag at once: the loser is told, not silently overwritten.
                None if registry.immutable_tags => Condition::NotExists,
                _ => Condition::Always,
            };
            tag_op = Some(ops.len());
            before = json!({"tag": tag, "digest": previous.map(|record| record.digest)});
            let record = TagRecord { digest: digest.to_string() };
            ops.push(WriteOp::put(Item::from_value(key.0, key.1, 1, &record)?, condition));
        }
        let after = json!({"tag": before.get("tag"), "digest": digest.to_string()});
        ops.push(acting.audit(
            &registry.organization,
            "oci.manifest_pushed",
            target(repository, reference),
            diff(&before, &after, &["digest"]),
        )?);
        match self.store.write(ops).await {
            Ok(()) => Ok(Some(manifest)),
            Err(StoreError::ConditionFailed { op }) if op < guarded => Ok(None),
            Err(StoreError::ConditionFailed { op }) if Some(op) == tag_op => {
                let Reference::Tag(tag) = reference else { unreachable!("only a tag has a tag op") };
                let current = self.read::<TagRecord>(keys::oci_tag(&registry.id, repository, tag)).await?;
                let current = current.map(|record| record.digest).unwrap_or_default();
                Err(tag_immutable(registry, repository, tag, &current))
            }
            Err(error) => Err(error.into()),
        }
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
    /// blobs (and its own bytes) lose its references and are queued for garbage collection.
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
        let released = Self::release_ops(registry, repository, &manifest, Utc::now())?;
        if ops.len() + released.len() <= MAX_WRITE_OPS {
            ops.extend(released);
            self.store.write(ops).await?;
        } else {
            // Written after: a reference left behind only delays collection until it is found orphaned.
            self.store.write(ops).await?;
            for chunk in released.chunks(MAX_WRITE_OPS) {
                self.store.write(chunk.to_vec()).await?;
            }
        }
        Ok(())
    }

    /// A repository's tags in lexical order after `last`: at most `limit` (when `None`, all of them up to
    /// [`TAGS_MAX`]), and whether more follow.
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
            // All tags, up to a bound that keeps the answer within a Lambda response; past it, a `Link`.
            let mut tags = Vec::new();
            let mut after = last.map(|last| format!("{prefix}{last}"));
            loop {
                let query = Query {
                    pk: keys::oci_partition(&registry.id),
                    sk_prefix: prefix.clone(),
                    after,
                    limit: crate::ports::metadata::MAX_PAGE_SIZE,
                    descending: false,
                };
                let page = self.store.query(&query).await?;
                tags.extend(page.items.iter().map(|item| strip(&item.sk)));
                match page.next_after() {
                    Some(next) if tags.len() < TAGS_MAX => after = Some(next.to_owned()),
                    next => return Ok((tags, next.is_some())),
                }
            }
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

/// ECR's `IMMUTABLE` answer: 409, and the digest the tag keeps.
fn tag_immutable(registry: &Registry, repository: &str, tag: &str, digest: &str) -> Failure {
    Refusal::new(
        Code::Denied,
        format!(
            "tag {tag} of {repository} points at {digest} and registry {} has immutable tags; push a new tag",
            registry.slug
        ),
    )
    .with_status(409)
    .into()
}

fn target(repository: &str, reference: &Reference) -> Target {
    let (id, name) = match reference {
        Reference::Tag(tag) => (tag.clone(), format!("{repository}:{tag}")),
        Reference::Digest(digest) => (digest.to_string(), format!("{repository}@{digest}")),
    };
    Target { kind: "oci_manifest".into(), id, name }
}
