//! Private storage links (a customer's own S3 bucket, reached through a role Packyard assumes or through
//! static credentials of an S3-compatible service) and an organization's choice of default storage.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::diagnostic::DiagnosticReport;
use super::names::OrgSlug;
use super::secret::{Sealed, SecretText};
use super::storage_names::{
    AccessKeyId, AccountId, AwsRegion, BucketName, EndpointUrl, KeyPrefix, KmsKeyArn, LinkId, SigningRegion,
};

/// The name every link role gets: `packyard-storage-<link id>`. Packyard builds the role ARN from the
/// customer's account id and this name, so nothing has to be reported back from the customer's stack.
pub const ROLE_NAME_PREFIX: &str = "packyard-storage-";

/// Where a link points, and how Packyard gets in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum LinkTarget {
    /// An S3 bucket in the customer's AWS account, through a role Packyard assumes with an ExternalId; with
    /// the KMS key that encrypts the bucket when it uses SSE-KMS (the stack grants the role that key).
    Aws {
        region: AwsRegion,
        bucket: BucketName,
        path: KeyPrefix,
        account_id: AccountId,
        external_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_key_arn: Option<KmsKeyArn>,
    },
    /// An S3-compatible service (MinIO, R2, …) with static credentials; the secret is sealed.
    S3Compatible {
        endpoint: EndpointUrl,
        region: SigningRegion,
        bucket: BucketName,
        path: KeyPrefix,
        access_key_id: AccessKeyId,
        secret_access_key: Sealed,
        path_style: bool,
    },
}

impl LinkTarget {
    pub fn bucket(&self) -> &BucketName {
        match self {
            Self::Aws { bucket, .. } | Self::S3Compatible { bucket, .. } => bucket,
        }
    }

    pub fn path(&self) -> &KeyPrefix {
        match self {
            Self::Aws { path, .. } | Self::S3Compatible { path, .. } => path,
        }
    }

    /// `s3://bucket/path/`, the way the API shows a link.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket(), self.path())
    }
}

/// Whether a link may be chosen for new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// No diagnostic has passed yet.
    Pending,
    /// The last diagnostic passed.
    Active,
    /// It passed once, but the last diagnostic failed.
    Failing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageLink {
    pub id: LinkId,
    pub organization: OrgSlug,
    #[serde(flatten)]
    pub target: LinkTarget,
    pub status: LinkStatus,
    pub last_diagnostic: Option<DiagnosticReport>,
    /// The version of `cloudformation/private-storage-link.yaml` the link was started with; its Launch Stack
    /// URL keeps naming that version, so a customer's stack matches what the link expects. Links stored
    /// before versions were recorded used version 1.
    #[serde(default = "first_template_version")]
    pub template_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn first_template_version() -> u32 {
    1
}

impl StorageLink {
    /// The role Packyard assumes for an AWS link: `arn:<partition>:iam::<account>:role/packyard-storage-<id>`.
    pub fn role_arn(&self) -> Option<String> {
        match &self.target {
            LinkTarget::Aws { region, account_id, .. } => {
                Some(format!("arn:{}:iam::{account_id}:role/{ROLE_NAME_PREFIX}{}", region.partition(), self.id))
            }
            LinkTarget::S3Compatible { .. } => None,
        }
    }
}

/// What a caller sends to start a link, by its `provider` (`aws` or `s3_compatible`). The API reads the
/// provider first and then the matching struct, so a bad value is reported with its field's name (serde's
/// internally tagged enums lose the path).
#[derive(Debug, Clone)]
pub enum NewLink {
    Aws(NewAwsLink),
    S3Compatible(NewS3CompatibleLink),
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAwsLink {
    #[serde(default)]
    #[schema(value_type = String, pattern = "^aws$", required = true)]
    pub provider: Option<serde::de::IgnoredAny>,
    #[schema(value_type = String, example = "eu-west-1", pattern = r"^[a-z]+(-[a-z]+)+-[0-9]+$", max_length = 32)]
    pub region: AwsRegion,
    #[schema(value_type = String, pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    pub bucket: BucketName,
    /// Empty (the whole bucket) or `segment/…/`.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^/?([A-Za-z0-9][A-Za-z0-9._-]*/)*([A-Za-z0-9][A-Za-z0-9._-]*)?$", max_length = 512)]
    pub path: KeyPrefix,
    /// The customer's account, where the stack creates the role.
    #[schema(value_type = String, pattern = "^[0-9]{12}$")]
    pub account_id: AccountId,
    /// The bucket's SSE-KMS key, when it has one: the Launch Stack URL passes it as `KmsKeyArn`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^arn:aws(-[a-z]+)*:kms:[a-z]+(-[a-z]+)+-[0-9]+:[0-9]{12}:(key/[A-Za-z0-9-]{1,256}|alias/[A-Za-z0-9/_-]{1,256})$")]
    pub kms_key_arn: Option<KmsKeyArn>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewS3CompatibleLink {
    #[serde(default)]
    #[schema(value_type = String, pattern = "^s3_compatible$", required = true)]
    pub provider: Option<serde::de::IgnoredAny>,
    /// The service's base URL, such as `https://minio.example.com`.
    #[schema(value_type = String, pattern = r"^https?://[a-z0-9]+(\.[a-z0-9]+)*(:[1-9][0-9]{1,3})?/?$")]
    pub endpoint: EndpointUrl,
    #[schema(value_type = String, example = "us-east-1", pattern = r"^[a-z0-9-]{1,64}$")]
    pub region: SigningRegion,
    #[schema(value_type = String, pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    pub bucket: BucketName,
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^/?([A-Za-z0-9][A-Za-z0-9._-]*/)*([A-Za-z0-9][A-Za-z0-9._-]*)?$", max_length = 512)]
    pub path: KeyPrefix,
    #[schema(value_type = String, pattern = r"^[!-~]{1,128}$")]
    pub access_key_id: AccessKeyId,
    /// Sealed when stored, never shown again.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub secret_access_key: SecretText,
    #[serde(default)]
    pub path_style: bool,
}

/// Where files go: Packyard's own bucket, or a link. JSON: `"hosted"` or `{"link": "<id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StorageRef {
    #[default]
    Hosted,
    Link(LinkId),
}

/// The schema of [`StorageRef`]'s JSON, written out because its link id is a newtype: `"hosted"` or
/// `{"link": "<id>"}`.
impl utoipa::PartialSchema for StorageRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let hosted = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["hosted"]));
        let link = ObjectBuilder::new()
            .property("link", ObjectBuilder::new().schema_type(Type::String))
            .required("link")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(hosted)
            .item(link)
            .description(Some("Packyard's own storage, or a storage link by id"))
            .into()
    }
}

impl utoipa::ToSchema for StorageRef {}

impl std::fmt::Display for StorageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hosted => f.write_str("hosted"),
            Self::Link(id) => write!(f, "link:{id}"),
        }
    }
}

/// An organization's storage settings, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StorageSettings {
    pub default: StorageRef,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn storage_refs_read_as_hosted_or_a_link_object() {
        let hosted: StorageRef = serde_json::from_value(json!("hosted")).unwrap();
        assert_eq!(hosted, StorageRef::Hosted);
        let link: StorageRef = serde_json::from_value(json!({"link": "01hzzzzzzzzzzzzzzzzzzzzzzz"})).unwrap();
        assert!(matches!(link, StorageRef::Link(_)));
        assert!(serde_json::from_value::<StorageRef>(json!({"link": "../x"})).is_err());
    }

    #[test]
    fn an_aws_link_derives_its_role_arn_in_the_region_partition() {
        let new: NewAwsLink = serde_json::from_value(
            json!({"provider": "aws", "region": "cn-north-1", "bucket": "b-1", "account_id": "111122223333"}),
        )
        .unwrap();
        let NewAwsLink { region, bucket, path, account_id, kms_key_arn, .. } = new;
        let now = Utc::now();
        let link = StorageLink {
            id: LinkId::try_from("01hzzzzzzzzzzzzzzzzzzzzzzz").unwrap(),
            organization: OrgSlug::try_from("acme").unwrap(),
            target: LinkTarget::Aws { region, bucket, path, account_id, external_id: "e".into(), kms_key_arn },
            status: LinkStatus::Pending,
            last_diagnostic: None,
            template_version: 1,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            link.role_arn().unwrap(),
            "arn:aws-cn:iam::111122223333:role/packyard-storage-01hzzzzzzzzzzzzzzzzzzzzzzz"
        );
        assert_eq!(link.target.location(), "s3://b-1/");
    }
}
