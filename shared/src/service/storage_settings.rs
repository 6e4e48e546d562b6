//! An organization's storage settings: its default storage, Packyard-hosted or one of its active links.

use serde_json::json;

use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::storage::{LinkStatus, StorageRef, StorageSettings};
use crate::ports::metadata::{Condition, Item, StoreError, WriteOp};

use super::Acting;
use super::storage_links::StorageLinks;

impl StorageLinks {
    /// The settings and their version; defaults (hosted) and `None` when never set.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn settings(&self, org: &OrgSlug) -> Result<(StorageSettings, Option<u64>)> {
        let (pk, sk) = keys::storage_settings(org);
        match self.store.get(&pk, &sk).await? {
            Some(item) => Ok((item.to_value()?, Some(item.version))),
            None => Ok((StorageSettings::default(), None)),
        }
    }

    /// How a storage reference reads to people: `hosted` or `s3://bucket/path/`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a link that is gone.
    pub async fn describe(&self, org: &OrgSlug, storage: &StorageRef) -> Result<String> {
        match storage {
            StorageRef::Hosted => Ok("hosted".to_owned()),
            StorageRef::Link(id) => Ok(self.get(org, id).await?.0.target.location()),
        }
    }

    /// Makes `storage` the default for new files. A link must be `active` (its diagnostic passed).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a link that is not active or does not exist, [`Error::Conflict`] when the
    /// settings or the link changed meanwhile.
    /// Checks `storage` may receive new files: hosted always, a link only while active. Returns the check
    /// to put in the same transaction as the write that starts using it, so the link cannot be deleted or
    /// fail its diagnostic in between.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `field` for an unknown or inactive link.
    pub async fn require_usable(&self, org: &OrgSlug, storage: &StorageRef, field: &str) -> Result<Option<WriteOp>> {
        let StorageRef::Link(id) = storage else { return Ok(None) };
        let invalid = |message: String| Error::Invalid { field: Some(field.into()), message };
        let (link, link_version) = self.get(org, id).await.map_err(|error| match error {
            Error::NotFound(message) => invalid(message),
            other => other,
        })?;
        if link.status != LinkStatus::Active {
            return Err(invalid(format!(
                "storage link {id} is {:?}, not active: run its diagnostic until it passes",
                link.status
            )));
        }
        let (pk, sk) = keys::storage_link(org, id);
        Ok(Some(WriteOp::Check { pk, sk, condition: Condition::Version(link_version) }))
    }

    pub async fn set_default(&self, acting: &Acting, org: &OrgSlug, storage: StorageRef) -> Result<StorageSettings> {
        let (current, version) = self.settings(org).await?;
        let mut ops: Vec<WriteOp> = self.require_usable(org, &storage, "default").await?.into_iter().collect();
        let updated = StorageSettings { default: storage };
        if updated == current {
            return Ok(current);
        }
        let (pk, sk) = keys::storage_settings(org);
        let condition = version.map_or(Condition::NotExists, Condition::Version);
        let item = Item::from_value(pk, sk, version.unwrap_or(0) + 1, &updated)?;
        ops.insert(0, WriteOp::put(item, condition));
        let before =
            json!({"default": self.describe(org, &current.default).await.unwrap_or_else(|_| "a deleted link".into())});
        let after = json!({"default": self.describe(org, &updated.default).await?});
        let target = Target { kind: "organization".into(), id: org.to_string(), name: org.to_string() };
        ops.push(acting.audit(org, "storage.default_changed", target, diff(&before, &after, &["default"]))?);
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(Error::Conflict(format!(
                "the storage settings of {org} or the chosen link changed at the same time; read them again and retry"
            ))),
            other => other.map(|()| updated).map_err(Error::from),
        }
    }
}
