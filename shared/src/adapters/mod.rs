//! Adapters, named after their technology: DynamoDB and SQLite for metadata, S3 and the local disk for
//! blobs, the STS/S3 clients of private storage links, the AWS SDK's HTTPS client, and a recorder of the AWS
//! calls they all make.

pub mod aws_calls;
pub mod aws_sdk;
pub mod dynamodb;
pub mod link_clients;
pub mod link_credentials;
pub mod link_template;
#[cfg(feature = "embedded")]
pub mod local_blob;
pub mod s3;
pub mod session_bound;
#[cfg(feature = "embedded")]
pub mod sqlite;
