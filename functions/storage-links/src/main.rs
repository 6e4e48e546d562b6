//! The `storage-links` Lambda function: serves the `storage-links` route group (see
//! `packyard::api::storage_links`): private storage links, their diagnostics and the default storage.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::storage_links::routes).await
}
