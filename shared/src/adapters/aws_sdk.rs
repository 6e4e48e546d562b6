//! How every AWS SDK client here is configured: HTTPS through rustls on ring. The SDK's default client brings
//! aws-lc as well, a second crypto library beside the ring reqwest already uses, and with it about a
//! megabyte of every function (`benchmarks/functions.md`). Without the SDK's `default-https-client` feature a
//! client has no HTTP client unless it is given one, so every configuration is loaded or built here.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// A new HTTPS client with its own connection pool, for one configuration and the clients built from it, as
/// the SDK's default would be. Not one for the whole process: a pooled connection's task lives on the runtime
/// that opened it, and a process may run more than one (each test does).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The configuration loader, with the shared HTTPS client (its credential providers use it too).
#[must_use]
pub fn defaults() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}

/// The configuration from the environment: region, credentials, endpoints, as `aws_config::load_from_env`.
pub async fn load_from_env() -> SdkConfig {
    defaults().load().await
}
