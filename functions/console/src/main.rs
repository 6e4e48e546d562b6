//! The `console` Lambda function: serves the web console's page, assets and sign-in (see `packyard::api::console`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::console::routes).await
}
