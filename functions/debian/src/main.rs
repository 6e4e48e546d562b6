//! The `debian` Lambda function: serves the `debian` route group (see `packyard::api::debian`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::debian::routes).await
}
