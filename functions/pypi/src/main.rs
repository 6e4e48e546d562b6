//! The `pypi` Lambda function: serves the `pypi` route group (see `packyard::api::pypi`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::pypi::routes).await
}
