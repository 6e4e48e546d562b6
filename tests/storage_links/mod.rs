//! Private storage links: the API in-process, the AWS flow against moto (a stack from
//! `cloudformation/private-storage-link.yaml`, STS, S3) and S3-compatible links against s3s-fs.

mod api;

pub(crate) mod aws;
mod kms;
mod s3_compatible;

use packyard::config::Config;
use packyard::domain::secret::SecretsKey;
use packyard::domain::storage_names::AccountId;

/// A configuration with everything links need: Packyard's account (moto's) and a secrets key.
pub fn link_config() -> Config {
    let mut config = Config::default();
    config.links.aws_account_id = Some(AccountId::try_from(packyard_tests::services::MOTO_ACCOUNT_ID).unwrap());
    config.links.secrets_key = Some(SecretsKey::from_text(&SecretsKey::generate_text()).unwrap());
    config
}

pub const LINKS: &str = "/v1/organizations/acme/storage-links";
