//! A storage link's diagnostic run through the link port: assume the role (AWS links), then the S3 probe.
//! Whatever the customer got wrong becomes a failed step with a sentence saying what to fix, never an error.

use crate::domain::diagnostic::{DiagnosticReport, Place};
use crate::domain::error::Result;
use crate::domain::names::OrgSlug;
use crate::domain::storage::{LinkTarget, StorageLink};
use crate::ports::link_access::{BucketAccess, CompatibleAccess, RoleSpec};

use super::storage_links::StorageLinks;

/// The session name STS records (and CloudTrail shows the customer): `packyard-<org>`, within STS's 64.
pub fn session_name(org: &OrgSlug) -> String {
    let mut name = format!("packyard-{org}");
    name.truncate(64);
    name
}

/// What Packyard presents to assume an AWS link's role, for sessions of `session_seconds`.
pub fn role_spec(link: &StorageLink, session_seconds: i32) -> Option<RoleSpec> {
    let LinkTarget::Aws { external_id, .. } = &link.target else { return None };
    Some(RoleSpec {
        role_arn: link.role_arn()?,
        external_id: external_id.clone(),
        session_name: session_name(&link.organization),
        session_seconds,
    })
}

fn place(link: &StorageLink) -> Place {
    let region = match &link.target {
        LinkTarget::Aws { region, .. } => region.to_string(),
        LinkTarget::S3Compatible { region, .. } => region.to_string(),
    };
    Place {
        location: link.target.location(),
        bucket: link.target.bucket().to_string(),
        region,
        role_arn: link.role_arn(),
    }
}

impl StorageLinks {
    /// The link's bucket and how to get in, for the port.
    ///
    /// # Errors
    /// [`crate::domain::error::Error::Unavailable`] when an S3-compatible link's secret cannot be opened.
    pub(super) fn access<'a>(&self, link: &'a StorageLink) -> Result<BucketAccess<'a>> {
        Ok(match &link.target {
            LinkTarget::Aws { region, bucket, path, .. } => BucketAccess::Aws {
                region: region.as_str(),
                bucket: bucket.as_str(),
                prefix: path.as_str(),
                role: role_spec(link, self.config.session_seconds)
                    .unwrap_or_else(|| unreachable!("an AWS link has a role")),
            },
            LinkTarget::S3Compatible { endpoint, region, bucket, path, access_key_id, path_style, .. } => {
                BucketAccess::S3Compatible(CompatibleAccess {
                    endpoint: endpoint.as_str(),
                    region: region.as_str(),
                    bucket: bucket.as_str(),
                    prefix: path.as_str(),
                    access_key_id: access_key_id.as_str(),
                    secret_access_key: self
                        .secret_of(link)?
                        .unwrap_or_else(|| unreachable!("an S3-compatible link has a secret")),
                    path_style: *path_style,
                })
            }
        })
    }

    /// Runs every step against the link's bucket.
    ///
    /// # Errors
    /// Only Packyard's own misconfiguration (a missing or changed secrets key).
    pub(super) async fn diagnose(&self, link: &StorageLink) -> Result<DiagnosticReport> {
        let steps = self.clients.probe(self.access(link)?, &place(link)).await;
        let report = DiagnosticReport::new(steps);
        tracing::info!(
            storage_link.id = %link.id,
            organization = %link.organization,
            passed = report.passed,
            "diagnostic of storage link {} ({}): {}",
            link.id,
            link.target.location(),
            if report.passed { "passed" } else { "failed" }
        );
        Ok(report)
    }
}
