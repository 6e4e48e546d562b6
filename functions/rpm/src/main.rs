//! The `rpm` Lambda function: serves the `rpm` route group (see `packyard::api::rpm`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::rpm::routes).await
}
