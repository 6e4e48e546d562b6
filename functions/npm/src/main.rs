//! The `npm` Lambda function: serves the `npm` route group (see `packyard::api::npm`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::npm::routes).await
}
