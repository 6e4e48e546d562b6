//! What every Lambda function's `main` calls: build the app once per cold start and serve one route group.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::dynamodb::DynamoDbStore;
use crate::adapters::link_clients::LinkClients;
use crate::adapters::s3::S3BlobStore;
use crate::api::{AppState, RouteGroup, finish};
use crate::config::{Config, required_var};

/// The AWS wiring: DynamoDB table `PACKYARD_TABLE`, hosted packages in bucket `PACKYARD_BUCKET`.
///
/// # Errors
/// Names the missing or invalid environment variable.
pub async fn state_from_env() -> anyhow::Result<AppState> {
    let config = Config::from_env()?;
    let table = required_var("PACKYARD_TABLE")?;
    let bucket = required_var("PACKYARD_BUCKET")?;
    let aws = aws_config::load_from_env().await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let blobs = S3BlobStore::new(aws_sdk_s3::Client::new(&aws), bucket, "");
    Ok(AppState::new(config, Arc::new(store), Arc::new(blobs)).with_link_clients(LinkClients::with_config(aws)))
}

/// Serves `group` as a Lambda function behind API Gateway.
///
/// # Errors
/// When configuration is missing or the Lambda runtime fails.
pub async fn run(group: RouteGroup) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = state_from_env().await.context("cannot start")?;
    let router = finish(group(state.clone()), &state.config);
    lambda_http::run(router).await
}

/// Runs housekeeping as a scheduled Lambda function (an EventBridge schedule invokes it).
///
/// # Errors
/// When configuration is missing or the Lambda runtime fails.
pub async fn run_housekeeping() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, service_fn};
    lambda_http::tracing::init_default_subscriber();
    let state = state_from_env().await.context("cannot start")?;
    lambda_http::lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        async move {
            let report = state.housekeeping.run(chrono::Utc::now()).await.map_err(|error| {
                tracing::error!(error = %error, "housekeeping failed: {error}");
                Box::new(error) as Box<dyn std::error::Error + Send + Sync>
            })?;
            tracing::info!(?report, "housekeeping done: {report:?}");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(report)
        }
    }))
    .await
}
