//! The `audit-events` Lambda function: serves the `audit-events` route group (see `packyard::api::audit_events`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::audit_events::routes).await
}
