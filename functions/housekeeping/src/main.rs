//! The `housekeeping` Lambda function, invoked on a schedule: sweeps uploads never finalized and removes
//! the packages of deleted registries (see `packyard::service::housekeeping`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run_housekeeping().await
}
