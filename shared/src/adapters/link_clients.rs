//! AWS SDK clients for storage links, and the probe the diagnostic runs with them: PUT a test object,
//! GET it back, tag it, DELETE it, each step reported with the service's error code.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{IdentityCache, Region, SharedCredentialsProvider};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};
use tokio::sync::OnceCell;

use super::aws_calls::{AwsCalls, Signer};
use super::link_credentials::{AssumedRole, assume_role, failure};
use super::s3::S3BlobStore;
use super::session_bound::SessionBoundBlobStore;
use crate::domain::diagnostic::{Failure, Place, Step, StepResult};
use crate::ports::link_access::{BucketAccess, CompatibleAccess, LinkConnector, LinkSession, LinkedBucket};

/// A customer's endpoint that does not answer must fail a diagnostic step rather than run into the Lambda
/// timeout (29 s). Only connecting and each read are bounded, not whole operations, so large transfers
/// through the same clients are not cut off.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).read_timeout(Duration::from_secs(8)).build()
}

/// Builds the clients links need. Packyard's own AWS configuration (its credentials, and in tests an
/// endpoint override) is loaded from the environment on first use, unless one was given.
#[derive(Clone, Debug, Default)]
pub struct LinkClients {
    base: Arc<OnceCell<SdkConfig>>,
    calls: Option<AwsCalls>,
}

impl LinkClients {
    /// Clients built on `config`, e.g. one pointing at an emulator.
    pub fn with_config(config: SdkConfig) -> Self {
        Self { base: Arc::new(OnceCell::new_with(Some(config))), calls: None }
    }

    /// The same clients, recording their AWS calls into `calls`: STS as the function's own, S3 as the link role's.
    #[must_use]
    pub fn recording(self, calls: AwsCalls) -> Self {
        Self { calls: Some(calls), ..self }
    }

    async fn base(&self) -> &SdkConfig {
        self.base.get_or_init(super::aws_sdk::load_from_env).await
    }

    /// An STS client with Packyard's own credentials.
    pub async fn sts(&self) -> aws_sdk_sts::Client {
        let mut config = aws_sdk_sts::config::Builder::from(self.base().await);
        if let Some(calls) = &self.calls {
            config = config.interceptor(calls.interceptor(Signer::Function));
        }
        aws_sdk_sts::Client::from_conf(config.build())
    }

    /// An S3 client for a bucket in `region` of the customer's account, signing with `credentials`. The
    /// SDK's identity cache is off: the link's own cache decides when to refresh, so what signs a URL is
    /// exactly the session whose lifetime capped it.
    pub async fn aws_s3(&self, region: &str, credentials: SharedCredentialsProvider) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::from(self.base().await)
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .identity_cache(IdentityCache::no_cache())
            .timeout_config(timeouts());
        if let Some(calls) = &self.calls {
            config = config.interceptor(calls.interceptor(Signer::LinkRole));
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    /// An S3 client for an S3-compatible service with static credentials. Checksums only where the API
    /// requires them: many S3-compatible services refuse the newer default checksum headers.
    pub fn s3_compatible(
        endpoint: &str,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
        path_style: bool,
    ) -> aws_sdk_s3::Client {
        let credentials = Credentials::new(access_key_id, secret_access_key, None, None, "packyard-storage-link");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .http_client(super::aws_sdk::http_client())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .force_path_style(path_style)
            .timeout_config(timeouts())
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

fn compatible_client(access: &CompatibleAccess<'_>) -> aws_sdk_s3::Client {
    LinkClients::s3_compatible(
        access.endpoint,
        access.region,
        access.access_key_id,
        access.secret_access_key.expose(),
        access.path_style,
    )
}

#[async_trait::async_trait]
impl LinkConnector for LinkClients {
    async fn open(&self, access: BucketAccess<'_>) -> LinkedBucket {
        match access {
            BucketAccess::Aws { region, bucket, prefix, role } => {
                let session = AssumedRole::new(self.sts().await, role);
                let client = self.aws_s3(region, SharedCredentialsProvider::new(session.clone())).await;
                let inner = S3BlobStore::new(client, bucket, prefix).tagging_retired();
                let store = SessionBoundBlobStore::new(inner, session.clone());
                let session: Arc<dyn LinkSession> = Arc::new(session);
                LinkedBucket { store: Arc::new(store), session: Some(session) }
            }
            BucketAccess::S3Compatible(access) => {
                let (client, bucket, prefix) = (compatible_client(&access), access.bucket, access.prefix);
                LinkedBucket {
                    store: Arc::new(S3BlobStore::new(client, bucket, prefix).tagging_retired()),
                    session: None,
                }
            }
        }
    }

    async fn probe(&self, access: BucketAccess<'_>, place: &Place) -> Vec<StepResult> {
        match access {
            BucketAccess::Aws { region, bucket, prefix, role } => match assume_role(&self.sts().await, &role).await {
                Err(failure) => {
                    let mut steps = vec![StepResult::failed(Step::AssumeRole, &failure, place)];
                    steps.extend(
                        [Step::PutObject, Step::GetObject, Step::PutObjectTagging, Step::DeleteObject]
                            .map(StepResult::skipped),
                    );
                    steps
                }
                Ok(credentials) => {
                    let assumed = StepResult::passed(Step::AssumeRole, format!("assumed {}", role.role_arn));
                    let client = self.aws_s3(region, SharedCredentialsProvider::new(credentials)).await;
                    std::iter::once(assumed).chain(probe(&client, bucket, prefix, place, true).await).collect()
                }
            },
            BucketAccess::S3Compatible(access) => {
                let (client, bucket, prefix) = (compatible_client(&access), access.bucket, access.prefix);
                probe(&client, bucket, prefix, place, false).await
            }
        }
    }
}

/// Runs the S3 steps of a diagnostic under `prefix` of `bucket`. Once the test object exists, the DELETE
/// is tried even after a failed step, so a failed run leaves nothing behind when it can. Tagging must work
/// on AWS; an S3-compatible service that does not implement it (R2, some MinIO set-ups) passes that step
/// with a note, since Packyard can store files there without tags.
async fn probe(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    place: &Place,
    tagging_required: bool,
) -> Vec<StepResult> {
    let key = format!("{prefix}packyard-diagnostic/{}.txt", ulid::Ulid::new());
    let body = format!("Packyard storage link diagnostic {}\n", ulid::Ulid::new());
    let mut steps = Vec::with_capacity(4);

    let put =
        client.put_object().bucket(bucket).key(&key).body(ByteStream::from(body.clone().into_bytes())).send().await;
    if let Err(error) = put {
        steps.push(StepResult::failed(Step::PutObject, &failure(&error), place));
        steps.extend([Step::GetObject, Step::PutObjectTagging, Step::DeleteObject].map(StepResult::skipped));
        return steps;
    }
    steps.push(StepResult::passed(Step::PutObject, format!("wrote s3://{bucket}/{key}")));

    let read = match client.get_object().bucket(bucket).key(&key).send().await {
        Ok(output) => match output.body.collect().await.map(aws_sdk_s3::primitives::AggregatedBytes::into_bytes) {
            Ok(bytes) if bytes == body.as_bytes() => Ok(()),
            Ok(_) => Err(Failure { code: Some("Mismatch".into()), detail: "the bytes differ".into() }),
            Err(error) => Err(Failure { code: None, detail: error.to_string() }),
        },
        Err(error) => Err(failure(&error)),
    };
    let read_ok = read.is_ok();
    steps.push(match read {
        Ok(()) => StepResult::passed(Step::GetObject, "read the test object back, byte for byte"),
        Err(failed) => StepResult::failed(Step::GetObject, &failed, place),
    });

    if read_ok {
        let tagging = Tag::builder()
            .key("packyard")
            .value("diagnostic")
            .build()
            .and_then(|tag| Tagging::builder().tag_set(tag).build());
        steps.push(match tagging {
            Ok(tagging) => match client.put_object_tagging().bucket(bucket).key(&key).tagging(tagging).send().await {
                Ok(_) => StepResult::passed(Step::PutObjectTagging, "tagged the test object"),
                Err(error) => {
                    let failed = failure(&error);
                    if !tagging_required && failed.code.as_deref() == Some("NotImplemented") {
                        StepResult::passed(
                            Step::PutObjectTagging,
                            "this service does not implement object tagging; Packyard stores files here untagged",
                        )
                    } else {
                        StepResult::failed(Step::PutObjectTagging, &failed, place)
                    }
                }
            },
            Err(error) => {
                StepResult::failed(Step::PutObjectTagging, &Failure { code: None, detail: error.to_string() }, place)
            }
        });
    } else {
        steps.push(StepResult::skipped(Step::PutObjectTagging));
    }

    steps.push(match client.delete_object().bucket(bucket).key(&key).send().await {
        Ok(_) => StepResult::passed(Step::DeleteObject, "deleted the test object"),
        Err(error) => StepResult::failed(Step::DeleteObject, &failure(&error), place),
    });
    steps
}
