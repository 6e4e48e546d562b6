//! The `registries` Lambda function: serves the `registries` route group (see `packyard::api::registries`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::registries::routes).await
}
