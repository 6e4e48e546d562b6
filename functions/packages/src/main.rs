//! The `packages` Lambda function: serves the `packages` route group (see `packyard::api::packages`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::packages::routes).await
}
