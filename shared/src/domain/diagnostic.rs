//! A storage link's diagnostic: the steps Packyard takes against the customer's bucket, what each found,
//! and, when one fails, a sentence saying what to fix, chosen from the AWS error code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One step of the diagnostic, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// STS AssumeRole with the link's ExternalId (AWS links only).
    AssumeRole,
    PutObject,
    /// Reads the test object back and compares its bytes.
    GetObject,
    PutObjectTagging,
    DeleteObject,
}

impl Step {
    fn doing(self) -> &'static str {
        match self {
            Self::AssumeRole => "assuming the role",
            Self::PutObject => "writing a test object",
            Self::GetObject => "reading the test object back",
            Self::PutObjectTagging => "tagging the test object",
            Self::DeleteObject => "deleting the test object",
        }
    }

    fn permission(self) -> &'static str {
        match self {
            Self::AssumeRole => "sts:AssumeRole",
            Self::PutObject => "s3:PutObject",
            Self::GetObject => "s3:GetObject",
            Self::PutObjectTagging => "s3:PutObjectTagging",
            Self::DeleteObject => "s3:DeleteObject",
        }
    }
}

/// What one step found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepResult {
    pub step: Step,
    pub passed: bool,
    /// Not run, because an earlier step failed.
    #[serde(default)]
    pub skipped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_error_code: Option<String>,
    pub message: String,
}

impl StepResult {
    pub fn passed(step: Step, message: impl Into<String>) -> Self {
        Self { step, passed: true, skipped: false, aws_error_code: None, message: message.into() }
    }

    pub fn skipped(step: Step) -> Self {
        Self {
            step,
            passed: false,
            skipped: true,
            aws_error_code: None,
            message: "not run: an earlier step failed".into(),
        }
    }

    pub fn failed(step: Step, failure: &Failure, place: &Place) -> Self {
        Self {
            step,
            passed: false,
            skipped: false,
            aws_error_code: failure.code.clone(),
            message: advice(step, failure, place),
        }
    }
}

/// A diagnostic run: every step, and whether all passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiagnosticReport {
    pub passed: bool,
    pub ran_at: DateTime<Utc>,
    pub steps: Vec<StepResult>,
}

impl DiagnosticReport {
    pub fn new(steps: Vec<StepResult>) -> Self {
        Self { passed: steps.iter().all(|step| step.passed), ran_at: Utc::now(), steps }
    }
}

/// How a call failed: the service's error code when it answered, and its message or the transport error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Option<String>,
    pub detail: String,
}

/// What the advice names: the bucket, its region, the prefix and, for AWS links, the role.
#[derive(Debug, Clone)]
pub struct Place {
    pub location: String,
    pub bucket: String,
    pub region: String,
    pub role_arn: Option<String>,
}

/// Whether S3 refused a call because of the bucket's KMS key: KMS's own codes as S3 relays them
/// (`KMS.AccessDeniedException`, `KMS.DisabledException`), or an AccessDenied whose message names KMS.
fn kms_denial(code: &str, detail: &str) -> bool {
    code.starts_with("KMS.") || (code.starts_with("AccessDenied") && detail.to_ascii_lowercase().contains("kms"))
}

/// The sentence that tells the customer what to fix.
pub fn advice(step: Step, failure: &Failure, place: &Place) -> String {
    let Place { location, bucket, region, role_arn } = place;
    let code = failure.code.as_deref().unwrap_or_default();
    let detail = &failure.detail;
    match (step, code) {
        (Step::AssumeRole, "AccessDenied" | "AccessDeniedException" | "NoSuchEntity") => format!(
            "Packyard cannot assume role {}. Create the stack with this link's Launch Stack URL in account {} \
             and wait until it is CREATE_COMPLETE; keep its ExternalId and LinkId parameters as given ({code}: {detail})",
            role_arn.as_deref().unwrap_or("?"),
            role_arn.as_deref().and_then(|arn| arn.split(':').nth(4)).unwrap_or("?"),
        ),
        (Step::AssumeRole, "RegionDisabledException") => {
            format!(
                "STS is not activated in this region for your account; activate it in IAM account settings ({detail})"
            )
        }
        (_, "NoSuchBucket") => {
            format!("bucket {bucket} does not exist; create it in {region} or correct the link's bucket ({detail})")
        }
        (_, "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" | "301") => {
            format!(
                "bucket {bucket} is not in region {region}; create the link again with the bucket's region ({code}: {detail})"
            )
        }
        (_, "InvalidAccessKeyId") => {
            format!("the service does not know this access key id; check the link's access_key_id ({detail})")
        }
        (_, "SignatureDoesNotMatch") => format!(
            "the request was refused as wrongly signed: the secret access key, the region or the path-style \
             setting is wrong ({code}: {detail})"
        ),
        (_, "ExpiredToken" | "InvalidToken") => {
            format!("the temporary credentials were refused; run the diagnostic again ({code}: {detail})")
        }
        (_, code) if kms_denial(code, detail) => format!(
            "{} was refused by KMS on {location}: the bucket encrypts with a KMS key the role may not use. The \
             key policy must allow this account's IAM policies (or the role) to use the key, and the role needs \
             kms:GenerateDataKey and kms:Decrypt on it: create the link again with kms_key_arn set to the bucket's \
             key, and update the stack with that Launch Stack URL so KmsKeyArn is passed ({code}: {detail})",
            step.doing(),
        ),
        (_, "AccessDenied" | "AllAccessDisabled") => format!(
            "{} was denied on {location}: the role or key lacks {}, or a bucket policy, KMS key policy or SCP \
             denies it; check that the stack's BucketName and BucketPath match this link, and update the stack \
             to the latest template ({code}: {detail})",
            step.doing(),
            step.permission(),
        ),
        (Step::GetObject, "Mismatch") => format!(
            "the object read back from {location} differs from what was written; something rewrites objects \
             between Packyard and the bucket"
        ),
        (_, "") => format!(
            "{} failed: the storage could not be reached ({detail}); check the endpoint and region",
            step.doing()
        ),
        _ => format!("{} failed on {location} ({code}: {detail})", step.doing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            location: "s3://b/p/".into(),
            bucket: "b".into(),
            region: "eu-west-1".into(),
            role_arn: Some("arn:aws:iam::111122223333:role/packyard-storage-x".into()),
        }
    }

    fn fail(step: Step, code: &str) -> StepResult {
        let failure = Failure { code: Some(code.into()), detail: "detail".into() };
        StepResult::failed(step, &failure, &place())
    }

    #[test]
    fn each_known_failure_says_what_to_fix() {
        assert!(fail(Step::AssumeRole, "AccessDenied").message.contains("Launch Stack URL in account 111122223333"));
        assert!(fail(Step::PutObject, "NoSuchBucket").message.contains("bucket b does not exist"));
        assert!(fail(Step::PutObject, "PermanentRedirect").message.contains("not in region eu-west-1"));
        assert!(fail(Step::PutObject, "AuthorizationHeaderMalformed").message.contains("not in region"));
        assert!(fail(Step::PutObject, "AccessDenied").message.contains("lacks s3:PutObject"));
        assert!(fail(Step::PutObjectTagging, "AccessDenied").message.contains("lacks s3:PutObjectTagging"));
        assert!(fail(Step::PutObject, "SignatureDoesNotMatch").message.contains("secret access key"));
        let failed = fail(Step::PutObjectTagging, "AccessDenied");
        assert_eq!(failed.aws_error_code.as_deref(), Some("AccessDenied"));
        assert!(!failed.passed && !failed.skipped);
    }

    #[test]
    fn a_kms_denial_is_named_as_such_and_says_to_pass_the_key() {
        let failed = |code: &str, detail: &str| {
            StepResult::failed(Step::PutObject, &Failure { code: Some(code.into()), detail: detail.into() }, &place())
        };
        for kms in [
            failed("KMS.AccessDeniedException", "User is not authorized to perform kms:GenerateDataKey"),
            failed("AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: kms:Decrypt"),
        ] {
            assert!(kms.message.contains("refused by KMS"), "{}", kms.message);
            assert!(kms.message.contains("kms:GenerateDataKey and kms:Decrypt"), "{}", kms.message);
            assert!(kms.message.contains("KmsKeyArn"), "{}", kms.message);
        }
        let plain = failed("AccessDenied", "Access Denied");
        assert!(plain.message.contains("lacks s3:PutObject") && !plain.message.contains("refused by KMS"));
    }

    #[test]
    fn a_report_passes_only_when_every_step_does() {
        let report = DiagnosticReport::new(vec![
            StepResult::passed(Step::PutObject, "ok"),
            StepResult::skipped(Step::GetObject),
        ]);
        assert!(!report.passed);
    }
}
