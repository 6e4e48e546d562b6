//! Adapters, named after their technology: DynamoDB and SQLite for metadata, S3 and the local disk for
//! blobs, and the STS/S3 clients of private storage links.

pub mod dynamodb;
pub mod link_clients;
pub mod link_credentials;
pub mod local_blob;
pub mod s3;
pub mod session_bound;
pub mod sqlite;
