//! The link port: how the services reach a customer's bucket through a storage link — a blob store over it,
//! and the diagnostic's probe — without knowing STS or S3. `adapters::link_clients` implements it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::blob::BlobStore;
use crate::domain::diagnostic::{Failure, Place, StepResult};
use crate::domain::secret::SecretText;

/// Who to be and how to prove it: the role, its ExternalId and the session name (naming the organization),
/// and how long a session to ask for (at most the role's MaxSessionDuration).
#[derive(Clone)]
pub struct RoleSpec {
    pub role_arn: String,
    pub external_id: String,
    pub session_name: String,
    pub session_seconds: i32,
}

impl std::fmt::Debug for RoleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSpec").field("role_arn", &self.role_arn).field("session_name", &self.session_name).finish()
    }
}

/// Where a link's bucket is and how to get in; an S3-compatible link's secret already unsealed.
#[derive(Debug)]
pub enum BucketAccess<'a> {
    Aws { region: &'a str, bucket: &'a str, prefix: &'a str, role: RoleSpec },
    S3Compatible(CompatibleAccess<'a>),
}

/// An S3-compatible service's bucket, with static credentials.
#[derive(Debug)]
pub struct CompatibleAccess<'a> {
    pub endpoint: &'a str,
    pub region: &'a str,
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: SecretText,
    pub path_style: bool,
}

/// An assumed-role session shared by everything signing for one AWS link.
#[async_trait]
pub trait LinkSession: Send + Sync {
    /// How long the session that signs the next request stays valid, assuming the role again when needed.
    ///
    /// # Errors
    /// The [`Failure`] STS answered with when a new session was needed.
    async fn remaining(&self) -> Result<Duration, Failure>;
}

/// A linked bucket as a store, and for an AWS link the session signing for it.
#[derive(Clone)]
pub struct LinkedBucket {
    pub store: Arc<dyn BlobStore>,
    pub session: Option<Arc<dyn LinkSession>>,
}

#[async_trait]
pub trait LinkConnector: Send + Sync {
    /// The bucket behind a link. Nothing is called until the store is used; an AWS link's store caps every
    /// presigned URL at what is left of its session.
    async fn open(&self, access: BucketAccess<'_>) -> LinkedBucket;

    /// The diagnostic's steps: assume the role (AWS links), then PUT, GET, tag and DELETE a test object.
    /// Whatever the customer got wrong is a failed step naming the fix, never an error.
    async fn probe(&self, access: BucketAccess<'_>, place: &Place) -> Vec<StepResult>;
}
