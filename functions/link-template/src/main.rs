//! The `link-template` Lambda function, a CloudFormation custom resource: publishes
//! `cloudformation/private-storage-link.yaml` to the stack's template bucket (see
//! `packyard::adapters::link_template`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    packyard::lambda::run_link_template().await
}
