//! S3-compatible links against s3s-fs, which verifies SigV4: the right secret passes the diagnostic and
//! stores files; a wrong one fails the PUT step with a reason, never a 500.

use bytes::Bytes;
use http::StatusCode;
use packyard::domain::names::OrgSlug;
use packyard::domain::storage::StorageRef;
use packyard::domain::storage_names::LinkId;
use packyard::ports::blob::StorageKey;
use packyard_tests::app::TestApp;
use packyard_tests::services;
use serde_json::{Value, json};

use super::{LINKS, link_config};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the suite with `bash scripts/test`"))
}

async fn link(app: &TestApp, bucket: &str, secret: &str) -> Value {
    let body = json!({"provider": "s3_compatible", "endpoint": env("PACKYARD_TEST_S3_URL"), "region": "us-east-1",
        "bucket": bucket, "path": "tenant-a", "access_key_id": env("PACKYARD_TEST_S3_ACCESS_KEY"),
        "secret_access_key": secret, "path_style": true});
    let reply = app.post(LINKS, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    reply.json
}

#[tokio::test]
async fn an_s3_compatible_link_with_the_right_secret_passes_and_stores_files() {
    let app = TestApp::with_config(link_config()).await;
    let bucket = services::unique_name("compat");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket on the S3 server");
    let link = link(&app, &bucket, &env("PACKYARD_TEST_S3_SECRET_KEY")).await;
    let id = link["id"].as_str().unwrap();
    let reply = app.post(&format!("{LINKS}/{id}/diagnostic"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["diagnostic"]["passed"], true, "{}", reply.json);
    assert_eq!(reply.json["status"], "active");

    let org = OrgSlug::try_from("acme").unwrap();
    let storage = StorageRef::Link(LinkId::try_from(id).unwrap());
    let store = app.state.storage.resolve(&org, &storage).await.unwrap();
    let key = StorageKey::parse("files/a.bin").unwrap();
    store.put(&key, Bytes::from_static(b"abc")).await.unwrap();
    let object = services::s3().await.get_object().bucket(&bucket).key("tenant-a/files/a.bin").send().await;
    assert!(object.is_ok(), "stored under the link's path");
    assert_eq!(
        app.state.storage.credentials_remaining(&org, &storage).await.unwrap(),
        None,
        "static keys do not expire"
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_the_put_step_with_a_reason_not_a_500() {
    let app = TestApp::with_config(link_config()).await;
    let bucket = services::unique_name("compat");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket on the S3 server");
    let link = link(&app, &bucket, "not-the-secret").await;
    let reply = app.post(&format!("{LINKS}/{}/diagnostic", link["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let put = &reply.json["diagnostic"]["steps"][0];
    assert_eq!((put["step"].as_str(), put["passed"].as_bool()), (Some("put_object"), Some(false)), "{put}");
    assert_eq!(put["aws_error_code"], "SignatureDoesNotMatch");
    assert!(put["message"].as_str().unwrap().contains("secret access key"), "{put}");
    assert_eq!(reply.json["status"], "pending");
}
