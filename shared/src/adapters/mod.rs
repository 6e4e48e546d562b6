//! Adapters, named after their technology: DynamoDB and SQLite for metadata, S3 and the local disk for
//! blobs.

pub mod dynamodb;
pub mod local_blob;
pub mod s3;
pub mod sqlite;
