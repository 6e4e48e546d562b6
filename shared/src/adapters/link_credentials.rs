//! Credentials for an AWS storage link: STS AssumeRole with the link's ExternalId, cached per link and
//! refreshed well before they expire, with the remaining lifetime exposed so presigned URLs never outlive
//! the session that signs them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sdk_sts::config::http::HttpResponse;
use tokio::sync::Mutex;

use crate::domain::diagnostic::Failure;
use crate::ports::link_access::{LinkSession, RoleSpec};

/// Credentials with less than this left are replaced before use, so a URL signed now lasts at least this.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(15 * 60);

/// A failed STS or S3 call as the diagnostic reports it: the service's code and message, or the
/// transport error when no answer came.
pub fn failure<E>(error: &aws_sdk_sts::error::SdkError<E, HttpResponse>) -> Failure
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        aws_sdk_sts::error::SdkError::ServiceError(service) => {
            let raw = service.raw();
            let err = service.err();
            Failure {
                // S3 answers a wrong-region HEAD with a bare 301; the status then stands in for the code.
                code: err.code().map(str::to_owned).or_else(|| (raw.status().as_u16() == 301).then(|| "301".into())),
                detail: err.message().map_or_else(|| err.to_string(), str::to_owned),
            }
        }
        other => Failure { code: None, detail: crate::domain::error::cause_chain(other) },
    }
}

/// Calls STS AssumeRole once.
///
/// # Errors
/// The [`Failure`] STS answered with, or the transport error.
pub async fn assume_role(sts: &aws_sdk_sts::Client, spec: &RoleSpec) -> Result<Credentials, Failure> {
    let output = sts
        .assume_role()
        .role_arn(&spec.role_arn)
        .external_id(&spec.external_id)
        .role_session_name(&spec.session_name)
        .duration_seconds(spec.session_seconds)
        .send()
        .await
        .map_err(|error| failure(&error))?;
    let credentials =
        output.credentials.ok_or_else(|| Failure { code: None, detail: "STS answered without credentials".into() })?;
    let expiry = SystemTime::try_from(*credentials.expiration())
        .map_err(|error| Failure { code: None, detail: format!("STS answered an unusable expiry: {error}") })?;
    Ok(Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        Some(expiry),
        "packyard-storage-link",
    ))
}

/// The cached assumed-role session of one link; cheap to clone, shared by every client of the link.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    spec: RoleSpec,
    current: Arc<Mutex<Option<Credentials>>>,
}

fn remaining(credentials: &Credentials) -> Duration {
    credentials.expiry().and_then(|expiry| expiry.duration_since(SystemTime::now()).ok()).unwrap_or(Duration::ZERO)
}

impl AssumedRole {
    pub fn new(sts: aws_sdk_sts::Client, spec: RoleSpec) -> Self {
        Self { sts, spec, current: Arc::new(Mutex::new(None)) }
    }

    /// Credentials with at least [`REFRESH_BEFORE`] left, assuming the role again when needed.
    ///
    /// # Errors
    /// The [`Failure`] STS answered with.
    pub async fn credentials(&self) -> Result<Credentials, Failure> {
        let mut current = self.current.lock().await;
        if let Some(credentials) = current.as_ref().filter(|c| remaining(c) > REFRESH_BEFORE) {
            return Ok(credentials.clone());
        }
        let fresh = assume_role(&self.sts, &self.spec).await?;
        tracing::info!(role.arn = %self.spec.role_arn, "assumed storage link role {}", self.spec.role_arn);
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    /// How long the session that signs the next request stays valid.
    ///
    /// # Errors
    /// The [`Failure`] STS answered with when a new session was needed.
    pub async fn remaining(&self) -> Result<Duration, Failure> {
        self.credentials().await.map(|credentials| remaining(&credentials))
    }
}

#[async_trait::async_trait]
impl LinkSession for AssumedRole {
    async fn remaining(&self) -> Result<Duration, Failure> {
        Self::remaining(self).await
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials().await.map_err(|failure| {
                CredentialsError::provider_error(format!(
                    "cannot assume {}: {}{}",
                    self.spec.role_arn,
                    failure.code.map(|code| format!("{code}: ")).unwrap_or_default(),
                    failure.detail
                ))
            })
        })
    }
}
