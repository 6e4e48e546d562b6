//! The `tokens` Lambda function: serves the `tokens` route group (see `packyard::api::tokens`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::tokens::routes).await
}
