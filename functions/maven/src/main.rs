//! The `maven` Lambda function: serves the `maven` route group (see `packyard::api::maven`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::maven::routes).await
}
