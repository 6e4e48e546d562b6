//! A storage link's diagnostic run: assume the role (AWS links), then the S3 probe. Whatever the customer
//! got wrong becomes a failed step with a sentence saying what to fix, never an error.

use aws_sdk_s3::config::SharedCredentialsProvider;

use crate::adapters::link_clients::{LinkClients, probe};
use crate::adapters::link_credentials::{RoleSpec, assume_role};
use crate::domain::diagnostic::{DiagnosticReport, Place, Step, StepResult};
use crate::domain::error::Result;
use crate::domain::names::OrgSlug;
use crate::domain::storage::{LinkTarget, StorageLink};

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
    /// Runs every step against the link's bucket.
    ///
    /// # Errors
    /// Only Packyard's own misconfiguration (a missing or changed secrets key).
    pub(super) async fn diagnose(&self, link: &StorageLink) -> Result<DiagnosticReport> {
        let place = place(link);
        let bucket = link.target.bucket().as_str();
        let prefix = link.target.path().as_str();
        let steps = match &link.target {
            LinkTarget::Aws { region, .. } => {
                let spec = role_spec(link, self.config.session_seconds)
                    .unwrap_or_else(|| unreachable!("an AWS link has a role"));
                match assume_role(&self.clients.sts().await, &spec).await {
                    Err(failure) => {
                        let mut steps = vec![StepResult::failed(Step::AssumeRole, &failure, &place)];
                        steps.extend(
                            [Step::PutObject, Step::GetObject, Step::PutObjectTagging, Step::DeleteObject]
                                .map(StepResult::skipped),
                        );
                        steps
                    }
                    Ok(credentials) => {
                        let assumed = StepResult::passed(Step::AssumeRole, format!("assumed {}", spec.role_arn));
                        let client =
                            self.clients.aws_s3(region.as_str(), SharedCredentialsProvider::new(credentials)).await;
                        std::iter::once(assumed).chain(probe(&client, bucket, prefix, &place, true).await).collect()
                    }
                }
            }
            LinkTarget::S3Compatible { endpoint, region, access_key_id, path_style, .. } => {
                let secret =
                    self.secret_of(link)?.unwrap_or_else(|| unreachable!("an S3-compatible link has a secret"));
                let client = LinkClients::s3_compatible(
                    endpoint.as_str(),
                    region.as_str(),
                    access_key_id.as_str(),
                    secret.expose(),
                    *path_style,
                );
                probe(&client, bucket, prefix, &place, false).await
            }
        };
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
