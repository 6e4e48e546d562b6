//! The storage link API in-process: what creating a link answers, what is never shown, what is refused.

use http::StatusCode;
use packyard::config::Config;
use packyard_tests::app::TestApp;
use serde_json::json;

use super::{LINKS, link_config};

fn aws_link() -> serde_json::Value {
    json!({"provider": "aws", "region": "eu-west-1", "bucket": "acme-packages", "path": "/packyard/", "account_id": "111122223333"})
}

#[tokio::test]
async fn starting_an_aws_link_answers_a_pending_link_with_a_prefilled_launch_stack_url() {
    let app = TestApp::with_config(link_config()).await;
    let reply = app.post(LINKS, aws_link()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let link = &reply.json;
    let id = link["id"].as_str().unwrap();
    assert_eq!(link["status"], "pending");
    assert_eq!(link["location"], "s3://acme-packages/packyard/");
    assert_eq!(link["role_arn"], format!("arn:aws:iam::111122223333:role/packyard-storage-{id}"));
    let external_id = link["external_id"].as_str().unwrap();
    assert_eq!(external_id.len(), 64, "256 random bits");
    let url = link["launch_stack_url"].as_str().unwrap();
    assert!(url.starts_with("https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/quickcreate?templateURL=https%3A%2F%2F"), "{url}");
    for param in [
        "param_BucketName=acme-packages".to_owned(),
        "param_BucketPath=packyard%2F".to_owned(),
        format!("param_LinkId={id}"),
        format!("param_ExternalId={external_id}"),
        "param_PackyardAccountId=123456789012".to_owned(),
        format!("stackName=packyardStorageLink-{id}"),
    ] {
        assert!(url.contains(&param), "{param} missing from {url}");
    }
    let other = app.post(LINKS, aws_link()).await;
    assert_ne!(other.json["external_id"], link["external_id"], "each link gets its own ExternalId");

    let listed = app.get(LINKS).await;
    assert_eq!(listed.json["storage_links"].as_array().unwrap().len(), 2);
    assert_eq!(app.get(&format!("{LINKS}/{id}")).await.json["id"], id);
    let diagnostic = app.get(&format!("{LINKS}/{id}/diagnostic")).await;
    assert_eq!(diagnostic.status, StatusCode::NOT_FOUND, "no diagnostic has run yet");
    let audit = app.get("/v1/organizations/acme/audit-events").await;
    assert_eq!(audit.json["audit_events"][0]["action"], "storage_link.created");
}

#[tokio::test]
async fn an_s3_compatible_secret_is_sealed_and_never_shown() {
    let app = TestApp::with_config(link_config()).await;
    let secret = "wJalrXUtnFEMI-very-secret-key";
    let body = json!({"provider": "s3_compatible", "endpoint": "https://minio.example.com", "region": "auto",
        "bucket": "pkgs", "access_key_id": "AKIAEXAMPLE", "secret_access_key": secret, "path_style": true});
    let reply = app.post(LINKS, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let id = reply.json["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.json["access_key_id"], "AKIAEXAMPLE");
    for shown in [reply.json.clone(), app.get(&format!("{LINKS}/{id}")).await.json, app.get(LINKS).await.json] {
        assert!(!shown.to_string().contains(secret), "{shown}");
        assert!(!shown.to_string().contains("secret_access_key"), "{shown}");
    }
    let stored = app.store.get("ORG#acme", &format!("LINK#{id}")).await.unwrap().unwrap();
    let stored = serde_json::to_string(&stored.attributes).unwrap();
    assert!(!stored.contains(secret), "stored sealed: {stored}");
    let audit = app.get("/v1/organizations/acme/audit-events").await;
    assert!(!audit.json.to_string().contains(secret));
}

#[tokio::test]
async fn links_need_their_configuration_and_valid_values() {
    let app = TestApp::with_config(Config::default()).await;
    let reply = app.post(LINKS, aws_link()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.error_message().contains("PACKYARD_AWS_ACCOUNT_ID"), "{}", reply.json);

    let app = TestApp::with_config(link_config()).await;
    let reply = app
        .post(
            LINKS,
            json!({"provider": "aws", "region": "eu-west-1", "bucket": "Bad_Bucket", "account_id": "111122223333"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["error"]["field"], "bucket", "{}", reply.json);
    let reply = app.post(LINKS, json!({"provider": "aws", "region": "eu-west-1", "bucket": "ok-bucket", "path": "a/../b", "account_id": "111122223333"})).await;
    assert_eq!(reply.json["error"]["field"], "path", "{}", reply.json);
    assert_eq!(app.get(&format!("{LINKS}/not-a-link")).await.status, StatusCode::NOT_FOUND);
    let member = app.token_with(&["read_registries"]).await;
    let reply = app.call(http::Method::GET, LINKS, Some(&member), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "only admins manage storage");
}

#[tokio::test]
async fn only_an_active_link_can_become_the_default_and_hosted_is_the_start() {
    let app = TestApp::with_config(link_config()).await;
    let storage = app.get("/v1/organizations/acme/storage").await;
    assert_eq!(storage.json, json!({"default": "hosted", "location": "hosted"}));
    let id = app.post(LINKS, aws_link()).await.json["id"].as_str().unwrap().to_owned();
    let reply = app.put("/v1/organizations/acme/storage", json!({"default": {"link": id}})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.error_message().contains("not active"), "{}", reply.json);
    let reply =
        app.put("/v1/organizations/acme/storage", json!({"default": {"link": "01hzzzzzzzzzzzzzzzzzzzzzzz"}})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.json);
    let reply = app.delete(&format!("{LINKS}/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "an unused link can go");
    assert_eq!(app.get(&format!("{LINKS}/{id}")).await.status, StatusCode::NOT_FOUND);
}
