//! The `ruby` Lambda function: serves the `ruby` route group, RubyGems registries (see `packyard::api::ruby`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run(packyard::api::ruby::routes).await
}
