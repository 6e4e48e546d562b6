//! Versions that grow file by file: a Python release is a wheel and an sdist (and more wheels) uploaded one
//! at a time. The version record stays the one source of truth, rewritten under its `Version` condition; a
//! `FILE#` record written with `NotExists` in the same transaction makes each file name unique in its
//! registry for good, so a re-upload is refused and two concurrent uploads never lose a file.

use chrono::Utc;
use serde_json::{Value, json};

use super::Acting;
use super::packages::{Packages, lost_race_is_none, target};
use super::publish::ReceivedFile;
use super::races;
use crate::domain::audit::diff;
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::package::{Package, PackageFile};
use crate::domain::registry::Registry;
use crate::ecosystems::index::has_index;
use crate::ports::metadata::{Condition, Item, StoreError, WriteOp};

/// The refusal of a file name used before in the registry, in words PyPI uses (twine shows them).
fn file_exists(filename: &str, registry: &Registry) -> Error {
    Error::Conflict(format!(
        "File already exists: {filename} was uploaded to registry {} before; file names cannot be reused, publish a new version",
        registry.slug
    ))
}

impl Packages {
    /// A version with the version number of its record, for a conditional rewrite.
    pub(super) async fn version_record(
        &self,
        registry: &Registry,
        name: &str,
        version: &str,
    ) -> Result<Option<(Package, u64)>> {
        let (pk, sk) = keys::package_version(&registry.id, name, version);
        match self.store.get(&pk, &sk).await? {
            Some(item) => Ok(Some((item.to_value()?, item.version))),
            None => Ok(None),
        }
    }

    /// The operations that rewrite every record of an existing version whose record is at `version`.
    /// Its index entry is rendered with `yanked`, the version's yanked reason, if any.
    fn rewrite_ops(
        &self,
        ecosystem: Ecosystem,
        (package, version): (&Package, u64),
        yanked: Option<&str>,
    ) -> Result<Vec<WriteOp>> {
        super::packages::check_record_size(package)?;
        let (pk, sk) = keys::package_version(&package.registry_id, &package.name, &package.version);
        let (id_pk, id_sk) = keys::package_by_id(&package.registry_id, &package.id);
        let name_pk = keys::package_name_partition(&package.registry_id, &package.name);
        let mut ops = vec![
            WriteOp::put(Item::from_value(pk, sk, version + 1, package)?, Condition::Version(version)),
            WriteOp::put(Item::from_value(id_pk, id_sk, version + 1, package)?, Condition::Exists),
            WriteOp::put(Item::from_value(name_pk, package.id.clone(), version + 1, package)?, Condition::Exists),
        ];
        ops.extend(self.index_ops(ecosystem, package, yanked, Condition::Always)?);
        Ok(ops)
    }

    /// Adds a received file to `name@version`: refuses a file name the version already has before storing
    /// anything, streams the file into the registry's storage, then [`Self::add_file`].
    ///
    /// # Errors
    /// As [`Self::add_file`], and what storing fails with.
    pub async fn add_received_file(
        &self,
        acting: &Acting,
        registry: &Registry,
        (name, version): (&str, &str),
        file: &ReceivedFile,
        update: impl Fn(&mut Value),
    ) -> Result<Package> {
        // Only an early refusal: the `FILE#` record's condition decides, so a stale read costs at most a stored
        // file that is then discarded.
        let existing = self.get_version_eventually(registry, name, version).await?;
        if existing.is_some_and(|package| package.file(&file.filename).is_some()) {
            return Err(file_exists(&file.filename, registry));
        }
        let stored = self.store_received(registry, file).await?;
        self.add_file(acting, registry, (name, version), stored, update).await
    }

    /// Adds a stored file to `name@version`, creating the version with it when it is the first. `update`
    /// edits the version's metadata (`Null` for a new version) to record what came with the file.
    /// On any refusal the stored file is discarded.
    ///
    /// # Errors
    /// [`Error::Conflict`] when a file of that name was ever uploaded to the registry, or when other uploads
    /// to the same version kept winning the race.
    pub async fn add_file(
        &self,
        acting: &Acting,
        registry: &Registry,
        (name, version): (&str, &str),
        file: PackageFile,
        update: impl Fn(&mut Value),
    ) -> Result<Package> {
        let added = races::until_won(|| self.try_add_file(acting, registry, (name, version), &file, &update)).await;
        if !matches!(added, Ok(Some(_))) {
            self.discard_files(&registry.organization, std::slice::from_ref(&file)).await;
        }
        added?.ok_or_else(|| Error::Conflict(format!("{name} {version} is being changed by other uploads; retry")))
    }

    /// One attempt: the added-to version, or `None` when another upload changed the version meanwhile.
    async fn try_add_file(
        &self,
        acting: &Acting,
        registry: &Registry,
        (name, version): (&str, &str),
        file: &PackageFile,
        update: &impl Fn(&mut Value),
    ) -> Result<Option<Package>> {
        // A file name is written once per registry (PyPI's rule); a Maven file name is unique only within its
        // artifact (`core-1.0.jar` of two groups are two files), so there the artifact is part of the name.
        let unique_name = match registry.ecosystem {
            Ecosystem::Maven => format!("{name}/{}", file.filename),
            _ => file.filename.clone(),
        };
        let (file_pk, file_sk) = keys::package_file(&registry.id, &unique_name);
        let marker = json!({"filename": file.filename, "name": name, "version": version, "uploaded_at": Utc::now()});
        let mut ops = vec![WriteOp::put(Item::from_value(file_pk, file_sk, 1, &marker)?, Condition::NotExists)];
        let package = match self.version_record(registry, name, version).await? {
            Some((mut package, record_version)) => {
                package.files.push(file.clone());
                update(&mut package.metadata);
                // The index entry shows the version's yanked flag as read; the check makes a concurrent yank
                // and this upload retry rather than one undo the other's entry.
                let mut yanked = None;
                if has_index(registry.ecosystem) {
                    let (reasons, reasons_version) = self.yanked(registry, name).await?;
                    yanked = reasons.get(version).cloned();
                    let (pk, sk) = keys::yanked(&registry.id, name);
                    let condition =
                        if reasons_version == 0 { Condition::NotExists } else { Condition::Version(reasons_version) };
                    ops.push(WriteOp::Check { pk, sk, condition });
                }
                ops.extend(self.rewrite_ops(registry.ecosystem, (&package, record_version), yanked.as_deref())?);
                package
            }
            None => {
                let mut package = Package {
                    id: ulid::Ulid::new().to_string(),
                    registry_id: registry.id.clone(),
                    name: name.to_owned(),
                    version: version.to_owned(),
                    files: vec![file.clone()],
                    created_at: Utc::now(),
                    creator: acting.actor.clone(),
                    metadata: Value::Null,
                };
                update(&mut package.metadata);
                ops.extend(self.record_ops(registry.ecosystem, &package).await?);
                package
            }
        };
        let shown = json!({"name": name, "version": version, "file": file.filename});
        ops.push(acting.audit(
            &registry.organization,
            "package.file_added",
            target(&package),
            diff(&json!(null), &shown, &["name", "version", "file"]),
        )?);
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { op: 0 }) => Err(file_exists(&file.filename, registry)),
            other => Ok(lost_race_is_none(other)?.map(|()| package)),
        }
    }
}
