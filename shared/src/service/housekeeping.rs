//! Background work: sweeping uploads that were never finalized, removing Debian indexes no Release lists
//! any more, and removing the packages (and OCI
//! content) of deleted registries. Runs on a schedule (a Lambda function in AWS, a task in the dev server); every step is
//! idempotent, so a run cut short is finished by the next.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::error::Result;
use crate::domain::keys;
use crate::domain::package::Package;
use crate::domain::registry::Registry;
use crate::ports::metadata::{Condition, MetadataStore, Query, WriteOp};

use super::oci::Oci;
use super::packages::Packages;
use super::uploads::Uploads;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub uploads_swept: usize,
    pub registries_purged: usize,
    pub packages_removed: usize,
    pub oci_blobs_removed: usize,
    /// Blobs no manifest used for [`super::oci::gc::GRACE`] after they were found unused.
    pub oci_blobs_collected: usize,
    /// Debian by-hash indexes no Release listed for [`super::debian_suite::GRACE`].
    pub debian_indexes_collected: usize,
}

#[derive(Clone)]
pub struct Housekeeping {
    store: Arc<dyn MetadataStore>,
    packages: Packages,
    uploads: Uploads,
    oci: Oci,
}

impl Housekeeping {
    pub fn new(store: Arc<dyn MetadataStore>, packages: Packages, uploads: Uploads, oci: Oci) -> Self {
        Self { store, packages, uploads, oci }
    }

    /// One pass over everything due at `now`.
    ///
    /// # Errors
    /// When the store fails; what was done before stays done.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Report> {
        let uploads_swept = self.uploads.sweep(now).await? + self.oci.sweep(now).await?;
        let oci_blobs_collected = self.oci.collect(now).await?;
        let debian_indexes_collected = self.packages.collect_debian_indexes(now).await?;
        let mut report = Report { uploads_swept, oci_blobs_collected, debian_indexes_collected, ..Report::default() };
        loop {
            let jobs = Query {
                pk: keys::DELETION_PARTITION.into(),
                sk_prefix: String::new(),
                after: None,
                limit: 10,
                descending: false,
            };
            let page = self.store.query(&jobs).await?;
            if page.items.is_empty() {
                return Ok(report);
            }
            for job in &page.items {
                let registry: Registry = job.to_value()?;
                report.packages_removed += self.purge(&registry).await?;
                self.packages.purge_gem_index(&registry).await?;
                self.packages.purge_debian_suite(&registry).await?;
                loop {
                    let leftovers = self.oci.leftovers(&registry).await?;
                    if leftovers.is_empty() {
                        break;
                    }
                    for item in &leftovers {
                        report.oci_blobs_removed += usize::from(self.oci.purge(&registry, item).await?);
                    }
                }
                self.store.write(vec![WriteOp::delete(job.pk.clone(), job.sk.clone(), Condition::Always)]).await?;
                report.registries_purged += 1;
                tracing::info!(registry.id = %registry.id, "removed the packages of deleted registry {}/{}", registry.organization, registry.slug);
            }
        }
    }

    /// Removes every record and file of a deleted registry; returns how many versions it removed.
    async fn purge(&self, registry: &Registry) -> Result<usize> {
        let mut removed = 0;
        loop {
            let query = Query {
                pk: keys::package_partition(&registry.id),
                sk_prefix: String::new(),
                after: None,
                limit: 25,
                descending: false,
            };
            let page = self.store.query(&query).await?;
            if page.items.is_empty() {
                return Ok(removed);
            }
            for item in &page.items {
                let mut ops = vec![WriteOp::delete(item.pk.clone(), item.sk.clone(), Condition::Always)];
                let package =
                    item.sk.starts_with(keys::PACKAGE_BY_ID_PREFIX).then(|| item.to_value::<Package>()).transpose()?;
                if let Some(package) = &package {
                    ops.push(WriteOp::delete(
                        keys::package_name_partition(&registry.id, &package.name),
                        package.id.clone(),
                        Condition::Always,
                    ));
                }
                self.store.write(ops).await?;
                if let Some(package) = package {
                    self.packages.retire_files(&registry.organization, &package.files).await;
                    removed += 1;
                }
            }
        }
    }
}
