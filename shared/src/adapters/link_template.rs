//! Publishes `cloudformation/private-storage-link.yaml`, compiled into this binary, to the deployment's own
//! template bucket under `private-storage-link/v<version>/`, as a CloudFormation custom resource: the
//! template travels with the deploy that introduces it, and no version once published is ever rewritten, so
//! every link's Launch Stack URL keeps naming the template it was started with.

use aws_sdk_s3::primitives::ByteStream;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::LINK_TEMPLATE_VERSION;

/// The template every new link is launched with.
pub const TEMPLATE: &str = include_str!("../../../cloudformation/private-storage-link.yaml");

/// The key of template version `version`.
pub fn key(version: u32) -> String {
    format!("private-storage-link/v{version}/private-storage-link.yaml")
}

/// Puts this build's template under its version's key, unless that key already holds it.
///
/// # Errors
/// When S3 fails, or when the key holds a different template: a changed template needs a new
/// `TemplateVersion`, or links started with the old one would silently get the new one.
pub async fn publish(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<String, String> {
    let key = key(LINK_TEMPLATE_VERSION);
    match s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(existing) => {
            let bytes = existing.body.collect().await.map_err(|e| format!("reading s3://{bucket}/{key}: {e}"))?;
            return if bytes.into_bytes() == TEMPLATE.as_bytes() {
                Ok(key)
            } else {
                Err(format!(
                    "s3://{bucket}/{key} holds another template version {LINK_TEMPLATE_VERSION}: bump TemplateVersion \
                     in private-storage-link.yaml and LINK_TEMPLATE_VERSION together"
                ))
            };
        }
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {}
        Err(error) => {
            return Err(format!("reading s3://{bucket}/{key}: {}", crate::domain::error::cause_chain(&error)));
        }
    }
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/x-yaml")
        .body(ByteStream::from_static(TEMPLATE.as_bytes()))
        .send()
        .await
        .map_err(|error| format!("writing s3://{bucket}/{key}: {}", crate::domain::error::cause_chain(&error)))?;
    Ok(key)
}

/// The custom resource request CloudFormation sends (the fields Packyard reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    pub resource_properties: Properties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    /// The template bucket.
    pub bucket: String,
}

/// Handles one request: publish on Create and Update; on Delete keep every version (customers' stacks name
/// them). Always answers CloudFormation, or the stack would wait an hour for a reply that never comes.
///
/// # Errors
/// Only when the answer cannot be delivered to the ResponseURL.
pub async fn handle(s3: &aws_sdk_s3::Client, request: &Request) -> Result<Value, String> {
    let bucket = &request.resource_properties.bucket;
    let outcome = match request.request_type.as_str() {
        "Delete" => Ok(String::new()),
        _ => publish(s3, bucket).await,
    };
    let physical_id = request.physical_resource_id.clone().unwrap_or_else(|| format!("{bucket}/private-storage-link"));
    let mut response = match &outcome {
        Ok(key) => {
            tracing::info!(template.key = %key, "published the link template as s3://{bucket}/{key}");
            json!({"Status": "SUCCESS", "Data": {"Key": key, "Version": LINK_TEMPLATE_VERSION.to_string()}})
        }
        Err(reason) => {
            tracing::error!("cannot publish the link template: {reason}");
            json!({"Status": "FAILED", "Reason": reason})
        }
    };
    for (field, value) in [
        ("PhysicalResourceId", &physical_id),
        ("StackId", &request.stack_id),
        ("RequestId", &request.request_id),
        ("LogicalResourceId", &request.logical_resource_id),
    ] {
        response[field] = json!(value);
    }
    // CloudFormation's presigned ResponseURL is signed without a content type: send none.
    let body = response.to_string();
    let reply = reqwest::Client::new()
        .put(&request.response_url)
        .header(reqwest::header::CONTENT_LENGTH, body.len())
        .body(body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    reply.map_err(|error| format!("cannot answer CloudFormation: {error}"))?;
    Ok(response)
}
