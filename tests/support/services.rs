//! Clients for the real services `scripts/test` starts: DynamoDB Local, an S3 server that verifies
//! SigV4, and moto (CloudFormation, IAM, STS, S3). Their addresses come from the environment; a test that needs one fails loudly without it.

use aws_config::Region;
use aws_sdk_dynamodb::config::Credentials;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the suite with `bash scripts/test`, which starts DynamoDB Local and the S3 server"
        )
    })
}

async fn sdk_config(endpoint: &str, access_key: &str, secret_key: &str, region: &str) -> aws_config::SdkConfig {
    packyard::adapters::aws_sdk::defaults()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "packyard-tests"))
        .load()
        .await
}

/// The AWS configuration of DynamoDB Local (`PACKYARD_TEST_DYNAMODB_URL`).
pub async fn dynamodb_config() -> aws_config::SdkConfig {
    sdk_config(&required("PACKYARD_TEST_DYNAMODB_URL"), "local", "local", "us-east-1").await
}

/// A client for DynamoDB Local.
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&dynamodb_config().await)
}

/// A client for the S3 server (`PACKYARD_TEST_S3_URL`, `_ACCESS_KEY`, `_SECRET_KEY`, `_REGION`), path-style.
pub async fn s3() -> aws_sdk_s3::Client {
    s3_with_secret(&required("PACKYARD_TEST_S3_SECRET_KEY")).await
}

/// A client for the S3 server that signs with `secret_key`, to show a wrong secret is refused.
pub async fn s3_with_secret(secret_key: &str) -> aws_sdk_s3::Client {
    let config = s3_config_with_secret(secret_key).await;
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build())
}

/// The AWS configuration of the S3 server (address it path-style).
pub async fn s3_config() -> aws_config::SdkConfig {
    s3_config_with_secret(&required("PACKYARD_TEST_S3_SECRET_KEY")).await
}

async fn s3_config_with_secret(secret_key: &str) -> aws_config::SdkConfig {
    let region = std::env::var("PACKYARD_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into());
    sdk_config(&required("PACKYARD_TEST_S3_URL"), &required("PACKYARD_TEST_S3_ACCESS_KEY"), secret_key, &region).await
}

/// The AWS configuration of moto's server (`PACKYARD_TEST_MOTO_URL`): CloudFormation, IAM, STS and S3 in
/// moto's default account, 123456789012.
pub async fn moto() -> aws_config::SdkConfig {
    sdk_config(&required("PACKYARD_TEST_MOTO_URL"), "testing", "testing", "us-east-1").await
}

/// The account moto's resources live in, and whose roles it hands out.
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// A name no other test uses, valid as a DynamoDB table or an S3 bucket name.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}
