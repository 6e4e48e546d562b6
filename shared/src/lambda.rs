//! What every Lambda function's `main` calls: build the app once per cold start and serve one route group.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::aws_calls::{AwsCalls, Signer};
use crate::adapters::dynamodb::DynamoDbStore;
use crate::adapters::link_clients::LinkClients;
use crate::adapters::link_template;
use crate::adapters::s3::S3BlobStore;
use crate::api::{AppState, RouteGroup, finish};
use crate::config::{Config, required_var};
use crate::domain::secret::SecretsKey;

/// Where the AWS wiring points. Lambda loads it from the environment; tests point it at emulators and
/// record its calls, so what they check is the very wiring the functions run.
pub struct AwsTargets {
    /// The configurations of DynamoDB, the hosted bucket's S3, and STS (one and the same in Lambda).
    pub dynamodb: aws_config::SdkConfig,
    pub s3: aws_config::SdkConfig,
    pub sts: aws_config::SdkConfig,
    pub table: String,
    pub bucket: String,
    /// Path-style bucket addressing, for S3 servers on a bare address.
    pub path_style: bool,
    pub calls: Option<AwsCalls>,
}

/// The AWS wiring: DynamoDB table `PACKYARD_TABLE`, hosted packages in bucket `PACKYARD_BUCKET`.
///
/// # Errors
/// Names the missing or invalid environment variable.
pub async fn state_from_env() -> anyhow::Result<AppState> {
    let mut config = Config::from_env()?;
    let sdk = crate::adapters::aws_sdk::load_from_env().await;
    if config.links.secrets_key.is_none()
        && let Some(arn) = crate::config::optional_var("PACKYARD_SECRETS_KEY_ARN")
    {
        config.links.secrets_key = Some(secrets_key_from(&sdk, &arn).await?);
    }
    let targets = AwsTargets {
        table: required_var("PACKYARD_TABLE")?,
        bucket: required_var("PACKYARD_BUCKET")?,
        dynamodb: sdk.clone(),
        s3: sdk.clone(),
        sts: sdk,
        path_style: false,
        calls: None,
    };
    Ok(aws_state(config, targets))
}

/// The key that seals customers' secrets, read once per cold start from the Secrets Manager secret `arn`
/// (`PACKYARD_SECRETS_KEY_ARN`), so that it never sits in a function's environment where anyone who may read
/// the function's configuration would see it. Logs how long the read took (what it adds to a cold start),
/// never the key.
///
/// # Errors
/// Names the secret when it cannot be read or is not a usable key.
pub async fn secrets_key_from(sdk: &aws_config::SdkConfig, arn: &str) -> anyhow::Result<SecretsKey> {
    let started = std::time::Instant::now();
    let output = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .with_context(|| format!("cannot read the secret PACKYARD_SECRETS_KEY_ARN names ({arn})"))?;
    let text = output.secret_string().with_context(|| format!("the secret {arn} has no SecretString"))?;
    let key = SecretsKey::from_text(text).map_err(|error| anyhow::anyhow!("the secret {arn}: {error}"))?;
    let elapsed = started.elapsed().as_millis();
    tracing::info!(secret.read_ms = elapsed, "read the secrets key from Secrets Manager in {elapsed} ms");
    Ok(key)
}

/// The app on DynamoDB, S3 and STS as `targets` says.
pub fn aws_state(config: Config, targets: AwsTargets) -> AppState {
    let AwsTargets { dynamodb, s3, sts, table, bucket, path_style, calls } = targets;
    let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&dynamodb);
    let mut s3 = aws_sdk_s3::config::Builder::from(&s3).force_path_style(path_style);
    let mut links = LinkClients::with_config(sts);
    if let Some(calls) = calls {
        dynamodb = dynamodb.interceptor(calls.interceptor(Signer::Function));
        s3 = s3.interceptor(calls.interceptor(Signer::Function));
        links = links.recording(calls);
    }
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), table);
    let blobs = S3BlobStore::new(aws_sdk_s3::Client::from_conf(s3.build()), bucket, "");
    AppState::new(config, Arc::new(store), Arc::new(blobs)).with_link_clients(links)
}

/// Logs as Lambda's advanced logging controls ask: JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the
/// level `AWS_LAMBDA_LOG_LEVEL` names (else `RUST_LOG`, else INFO), as `lambda_runtime`'s default subscriber
/// does.
fn init_logging() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = log_filter(std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok());
    let layer = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let registry = tracing_subscriber::registry();
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json")) {
        registry.with(layer.json().with_filter(filter)).init();
    } else {
        registry.with(layer.with_filter(filter)).init();
    }
}

/// What to log for a level or `RUST_LOG`-style directives: a default level and levels by target prefix
/// (`warn,packyard=debug`), without `EnvFilter`'s span and field filters, which would bring a regex engine into
/// every function. Lambda's `FATAL` is `error`; anything unreadable logs at INFO.
fn log_filter(text: Option<String>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let text = text.map(|text| if text.trim().eq_ignore_ascii_case("fatal") { "error".to_owned() } else { text });
    text.and_then(|text| text.trim().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Serves `group` as a Lambda function behind API Gateway.
///
/// # Errors
/// When configuration is missing or the Lambda runtime fails.
pub async fn run(group: RouteGroup) -> Result<(), lambda_http::Error> {
    init_logging();
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
    init_logging();
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

/// Runs the custom resource that publishes the storage link template to the stack's template bucket
/// (see `adapters::link_template`).
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run_link_template() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, service_fn};
    init_logging();
    let s3 = aws_sdk_s3::Client::new(&crate::adapters::aws_sdk::load_from_env().await);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<link_template::Request>| {
        let s3 = s3.clone();
        async move { link_template::handle(&s3, &event.payload).await.map_err(lambda_http::Error::from) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn log_levels_follow_lambda_and_rust_log_directives() {
        let directives = log_filter(Some("warn,packyard=debug".into()));
        assert!(directives.would_enable("packyard::api", &Level::DEBUG));
        assert!(!directives.would_enable("hyper::proto", &Level::INFO));
        assert!(directives.would_enable("hyper::proto", &Level::WARN));
        let lambda = log_filter(Some("DEBUG".into()));
        assert!(lambda.would_enable("aws_sdk_s3", &Level::DEBUG) && !lambda.would_enable("aws_sdk_s3", &Level::TRACE));
        let fatal = log_filter(Some("FATAL".into()));
        assert!(fatal.would_enable("packyard", &Level::ERROR) && !fatal.would_enable("packyard", &Level::WARN));
        for unset_or_unreadable in [None, Some("packyard=loud".into())] {
            let filter = log_filter(unset_or_unreadable);
            assert!(filter.would_enable("packyard", &Level::INFO) && !filter.would_enable("packyard", &Level::DEBUG));
        }
    }
}
