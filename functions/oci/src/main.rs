//! The `oci` Lambda function: serves the `oci` route group, the OCI Distribution API (see
//! `packyard::api::oci`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::oci::routes).await
}
