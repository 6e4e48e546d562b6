//! The `cargo` Lambda function: serves the `cargo` route group, a Cargo sparse registry (see
//! `packyard::api::cargo`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::cargo::routes).await
}
