//! Garbage collection of blobs no manifest uses, and the explicit `DELETE` of a blob.
//!
//! Every manifest writes one reference item per blob it uses (`REF#<blob>#<repository>#<manifest>`), and
//! deleting the manifest removes them. A blob that may have lost its last reference (a new upload, the
//! blobs of a deleted manifest) is queued for a look after [`GRACE`]. The first look with no references
//! marks it idle; the blob goes at a later look once it has been idle for another [`GRACE`]. Every push
//! signal starts that over: a `HEAD`, a mount or an upload of an idle blob touches it (see
//! [`Oci::touch`]), so a client that checked a blob exists and pushes its manifest minutes later never
//! finds it gone.
//!
//! The race between a manifest push and a removal is settled by the blob's record version: a push rewrites
//! the record of every blob it uses under a version condition in the same transaction as its references,
//! and a removal deletes the record under the version it read. Whichever writes first wins; the push that
//! loses tries again and finds the blob gone (`MANIFEST_BLOB_UNKNOWN`), the removal that loses leaves a blob
//! that is in use. Blob bytes live under a key unique to their record ([`super::blob_key`]), so bytes
//! removed after their record never belong to a newer upload of the same digest.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BlobRecord, Failure, ManifestRecord, Oci, OciResult, refuse};
use crate::domain::audit::{Target, diff};
use crate::domain::error::Error;
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::registry::Registry;
use crate::ecosystems::oci::{Code, Digest, Refusal};
use crate::ports::blob::StorageKey;
use crate::ports::metadata::{Condition, Item, StoreError, WriteOp};
use crate::service::Acting;
use crate::service::packages::blob_error;
use crate::service::races::until_won;
use crate::service::uploads::expired;

/// How long a blob stays after it is last used or touched, and how old a reference must be before a
/// missing manifest makes it an orphan.
pub const GRACE: TimeDelta = TimeDelta::hours(24);

/// A blob due for a look.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Candidate {
    organization: OrgSlug,
    registry_id: String,
    digest: String,
    due_at: DateTime<Utc>,
}

/// That a manifest uses a blob, for as long as the manifest is in its repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reference {
    created_at: DateTime<Utc>,
}

/// A blob's record and the version it was read at.
pub(super) type Versioned = (BlobRecord, u64);

impl Oci {
    /// The registry's blob with its record version.
    pub(super) async fn blob_versioned(&self, registry_id: &str, digest: &Digest) -> OciResult<Option<Versioned>> {
        let (pk, sk) = keys::oci_blob(registry_id, digest.hex());
        let Some(item) = self.store.get(&pk, &sk).await? else { return Ok(None) };
        Ok(Some((item.to_value()?, item.version)))
    }

    /// The write that rewrites a blob's record under the version it was read at, in use again.
    pub(super) fn guard_op(registry_id: &str, (blob, version): &Versioned) -> OciResult<WriteOp> {
        let digest = Digest::parse(&blob.digest)?;
        let (pk, sk) = keys::oci_blob(registry_id, digest.hex());
        let record = BlobRecord { idle_since: None, ..blob.clone() };
        Ok(WriteOp::put(Item::from_value(pk, sk, version + 1, &record)?, Condition::Version(*version)))
    }

    /// Queues a look at a blob at `due`.
    pub(super) fn candidate_op(registry: (&OrgSlug, &str), digest: &Digest, due: DateTime<Utc>) -> OciResult<WriteOp> {
        let (organization, registry_id) = registry;
        let candidate = Candidate {
            organization: organization.clone(),
            registry_id: registry_id.to_owned(),
            digest: digest.to_string(),
            due_at: due,
        };
        let (pk, sk) = keys::oci_gc(due.timestamp(), registry_id, digest.hex());
        Ok(WriteOp::put(Item::from_value(pk, sk, 1, &candidate)?, Condition::Always))
    }

    /// The reference items of a manifest's blobs (and of its own bytes).
    pub(super) fn reference_ops(
        registry: &Registry,
        repository: &str,
        manifest: &Digest,
        blobs: &[Digest],
        now: DateTime<Utc>,
    ) -> OciResult<Vec<WriteOp>> {
        let reference = Reference { created_at: now };
        blobs
            .iter()
            .map(|blob| {
                let (pk, sk) = keys::oci_ref(&registry.id, blob.hex(), repository, manifest.hex());
                Ok(WriteOp::put(Item::from_value(pk, sk, 1, &reference)?, Condition::Always))
            })
            .collect()
    }

    /// What removing a manifest does to its blobs: their references go, and each is queued for a look.
    pub(super) fn release_ops(
        registry: &Registry,
        repository: &str,
        manifest: &ManifestRecord,
        now: DateTime<Utc>,
    ) -> OciResult<Vec<WriteOp>> {
        let own = Digest::parse(&manifest.digest)?;
        let mut ops = Vec::new();
        for blob in manifest.used_blobs()? {
            let (pk, sk) = keys::oci_ref(&registry.id, blob.hex(), repository, own.hex());
            ops.push(WriteOp::delete(pk, sk, Condition::Always));
            ops.push(Self::candidate_op((&registry.organization, &registry.id), &blob, now + GRACE)?);
        }
        Ok(ops)
    }

    /// Whether any manifest still uses the blob. References older than [`GRACE`] whose manifest is gone
    /// (a push or delete cut short between its writes) are removed on the way.
    async fn in_use(&self, registry_id: &str, digest: &Digest, now: DateTime<Utc>) -> OciResult<bool> {
        let prefix = keys::oci_refs_prefix(digest.hex());
        for (sk, item) in self.all(registry_id, &prefix).await? {
            let reference: Reference = item.to_value()?;
            if reference.created_at + GRACE > now {
                return Ok(true);
            }
            let Some((repository, manifest)) = sk.strip_prefix(&prefix).and_then(|rest| rest.rsplit_once('#')) else {
                continue;
            };
            let (pk, manifest_sk) = keys::oci_manifest(registry_id, repository, manifest);
            if self.store.get(&pk, &manifest_sk).await?.is_some() {
                return Ok(true);
            }
            self.store.write(vec![WriteOp::delete(item.pk, sk, Condition::Always)]).await?;
        }
        Ok(false)
    }

    /// A push signal on a blob (`HEAD`, mount, upload): an idle blob is idle no more, and is looked at again
    /// after [`GRACE`] as if just uploaded. Best effort: a lost race means another request changed the record,
    /// which is a use too.
    pub async fn touch(&self, registry: &Registry, digest: &Digest) -> OciResult<()> {
        let Some((blob, version)) = self.blob_versioned(&registry.id, digest).await? else { return Ok(()) };
        if blob.idle_since.is_none() {
            return Ok(());
        }
        let now = Utc::now();
        let (pk, sk) = keys::oci_blob(&registry.id, digest.hex());
        let record = BlobRecord { idle_since: None, ..blob };
        let ops = vec![
            WriteOp::put(Item::from_value(pk, sk, version + 1, &record)?, Condition::Version(version)),
            Self::candidate_op((&registry.organization, &registry.id), digest, now + GRACE)?,
        ];
        match self.store.write(ops).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// `DELETE /blobs/<digest>`: removes a blob no manifest of the registry uses, audited.
    ///
    /// # Errors
    /// `BLOB_UNKNOWN`, and `DENIED` (409) while a manifest uses it.
    pub async fn delete_blob(
        &self,
        acting: &Acting,
        registry: &Registry,
        repository: &str,
        digest: &Digest,
    ) -> OciResult<()> {
        let removed = until_won(|| async {
            let Some((blob, version)) = self.blob_versioned(&registry.id, digest).await? else {
                return refuse(Code::BlobUnknown, format!("this registry has no blob {digest}"));
            };
            if self.in_use(&registry.id, digest, Utc::now()).await? {
                return Err(Refusal::new(
                    Code::Denied,
                    format!("blob {digest} is used by a manifest of this registry; delete the manifests that use it"),
                )
                .with_status(409)
                .into());
            }
            let (pk, sk) = keys::oci_blob(&registry.id, digest.hex());
            let target =
                Target { kind: "oci_blob".into(), id: digest.to_string(), name: format!("{repository}@{digest}") };
            let ops = vec![
                WriteOp::delete(pk, sk, Condition::Version(version)),
                acting.audit(
                    &registry.organization,
                    "oci.blob_deleted",
                    target,
                    diff(&json!({"digest": digest.to_string(), "size": blob.size}), &json!({}), &["digest", "size"]),
                )?,
            ];
            match self.store.write(ops).await {
                Ok(()) => Ok(Some(blob)),
                Err(StoreError::ConditionFailed { op: 0 }) => Ok(None),
                Err(error) => Err(Failure::from(error)),
            }
        })
        .await?;
        let blob = removed.ok_or_else(|| Error::Conflict(format!("blob {digest} is being changed; try again")))?;
        self.remove_bytes(&registry.organization, &blob).await;
        Ok(())
    }

    async fn remove_bytes(&self, organization: &OrgSlug, blob: &BlobRecord) {
        let removed = async {
            let blobs = self.packages.blobs(organization, &blob.storage).await?;
            blobs.retire(&StorageKey::parse(&blob.key).map_err(blob_error)?).await.map_err(blob_error)
        };
        if let Err(error) = removed.await {
            tracing::warn!(error = %error, "could not remove the bytes of blob {} at {}", blob.digest, blob.key);
        }
    }

    /// Looks at every blob due at `now`: one in use stays, an unused one is marked idle, and one idle for
    /// [`GRACE`] is removed with its bytes. Returns how many blobs went.
    ///
    /// # Errors
    /// When the store fails; what was done before stays done.
    pub async fn collect(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut removed = 0;
        loop {
            let due: Vec<Candidate> =
                expired(&*self.store, keys::OCI_GC_PARTITION, now, |candidate: &Candidate| candidate.due_at).await?;
            if due.is_empty() {
                return Ok(removed);
            }
            for candidate in due {
                match self.look_at(&candidate, now).await {
                    Ok(gone) => removed += usize::from(gone),
                    Err(Failure::Failed(error)) => return Err(error),
                    // Only a candidate with an unreadable digest is refused: there is nothing to look at.
                    Err(Failure::Refused(_)) => {}
                }
                let (pk, sk) =
                    keys::oci_gc(candidate.due_at.timestamp(), &candidate.registry_id, digest_hex(&candidate));
                self.store.write(vec![WriteOp::delete(pk, sk, Condition::Always)]).await?;
            }
        }
    }

    /// One look at a due blob; `true` when it was removed.
    async fn look_at(&self, candidate: &Candidate, now: DateTime<Utc>) -> OciResult<bool> {
        let digest = Digest::parse(&candidate.digest)?;
        let registry = (&candidate.organization, candidate.registry_id.as_str());
        let Some((blob, version)) = self.blob_versioned(&candidate.registry_id, &digest).await? else {
            return Ok(false);
        };
        let (pk, sk) = keys::oci_blob(&candidate.registry_id, digest.hex());
        let ops = if self.in_use(&candidate.registry_id, &digest, now).await? {
            if blob.idle_since.is_none() {
                return Ok(false);
            }
            vec![Self::guard_op(&candidate.registry_id, &(blob.clone(), version))?]
        } else {
            match blob.idle_since {
                None => {
                    let record = BlobRecord { idle_since: Some(now), ..blob.clone() };
                    vec![
                        WriteOp::put(Item::from_value(pk, sk, version + 1, &record)?, Condition::Version(version)),
                        Self::candidate_op(registry, &digest, now + GRACE)?,
                    ]
                }
                Some(since) if since + GRACE > now => vec![Self::candidate_op(registry, &digest, since + GRACE)?],
                Some(_) => vec![WriteOp::delete(pk, sk, Condition::Version(version))],
            }
        };
        let removing = matches!(ops.first(), Some(WriteOp::Delete { .. }));
        match self.store.write(ops).await {
            Ok(()) if removing => {
                self.remove_bytes(&candidate.organization, &blob).await;
                tracing::info!(registry.id = %candidate.registry_id, "removed unused blob {digest}");
                Ok(true)
            }
            // Another request used or touched the blob since it was read; it stays, queued again if idle.
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

fn digest_hex(candidate: &Candidate) -> &str {
    candidate.digest.strip_prefix("sha256:").unwrap_or(&candidate.digest)
}
