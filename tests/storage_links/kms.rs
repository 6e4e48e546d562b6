//! Links to SSE-KMS buckets and longer sessions: the Launch Stack URL passes `KmsKeyArn` and
//! `MaxSessionDuration`, and the stack moto creates from them grants the role that key only, for that long.

use http::StatusCode;
use packyard::config::Config;
use packyard_tests::app::TestApp;
use packyard_tests::services;
use serde_json::json;

use super::aws::{launch_stack, moto_s3};
use super::{LINKS, link_config};

/// One IAM query against moto (which checks no signature, but reads the service from the credential scope).
async fn iam(action: &str, params: &[(&str, &str)]) -> String {
    let url = std::env::var("PACKYARD_TEST_MOTO_URL").expect("PACKYARD_TEST_MOTO_URL");
    let mut form = vec![("Action", action), ("Version", "2010-05-08")];
    form.extend_from_slice(params);
    let reply = reqwest::Client::new()
        .post(url)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&form)
        .send()
        .await
        .expect("moto answers IAM");
    assert!(reply.status().is_success(), "IAM {action}: {}", reply.status());
    reply.text().await.expect("IAM's XML")
}

#[tokio::test]
async fn a_kms_key_and_a_session_length_reach_the_stack_through_the_launch_stack_url() {
    let mut config: Config = link_config();
    config.links.session_seconds = 7200;
    let moto = services::moto().await;
    let clients = packyard::adapters::link_clients::LinkClients::with_config(moto.clone());
    let app = TestApp::with_links(config, Some(clients)).await;
    let bucket = services::unique_name("customer-kms");
    moto_s3(&moto).create_bucket().bucket(&bucket).send().await.expect("customer bucket");
    let key = format!("arn:aws:kms:us-east-1:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab", services::MOTO_ACCOUNT_ID);
    let body = json!({"provider": "aws", "region": "us-east-1", "bucket": bucket, "kms_key_arn": key,
                      "account_id": services::MOTO_ACCOUNT_ID});
    let link = app.post(LINKS, body).await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.json);
    assert_eq!(link.json["kms_key_arn"], key);
    let url = link.json["launch_stack_url"].as_str().unwrap();
    assert!(url.contains(&format!("&param_KmsKeyArn={}", key.replace(':', "%3A").replace('/', "%2F"))), "{url}");
    assert!(url.contains("&param_MaxSessionDuration=7200"), "{url}");
    let shown = app.get(&format!("{LINKS}/{}", link.json["id"].as_str().unwrap())).await;
    assert_eq!(shown.json["kms_key_arn"], key, "stored and shown");

    launch_stack(&moto, &link.json).await;
    let role_name = format!("packyard-storage-{}", link.json["id"].as_str().unwrap());
    let role = iam("GetRole", &[("RoleName", &role_name)]).await;
    assert!(role.contains("<MaxSessionDuration>7200</MaxSessionDuration>"), "{role}");
    let policy = iam("GetRolePolicy", &[("RoleName", &role_name), ("PolicyName", "packyard-storage")]).await;
    let policy = url::form_urlencoded::parse(policy.as_bytes()).map(|(k, v)| format!("{k}{v}")).collect::<String>();
    assert!(policy.contains("kms:GenerateDataKey") && policy.contains("kms:Decrypt"), "{policy}");
    assert!(policy.contains(&key), "the grant names that key only: {policy}");

    // A session as long as configured: the diagnostic's AssumeRole asked for 7200 s.
    let diagnostic = app.post(&format!("{LINKS}/{}/diagnostic", link.json["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(diagnostic.json["status"], "active", "{}", diagnostic.json);
}

#[tokio::test]
async fn a_link_without_a_key_grants_no_kms_and_a_malformed_key_is_refused_naming_the_field() {
    let app = TestApp::with_links(link_config(), None).await;
    let bad = json!({"provider": "aws", "region": "us-east-1", "bucket": "b-1", "kms_key_arn": "my-key",
                     "account_id": services::MOTO_ACCOUNT_ID});
    let refused = app.post(LINKS, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.json);
    assert_eq!(refused.json["error"]["field"], "kms_key_arn", "{}", refused.json);

    let moto = services::moto().await;
    let link = app
        .post(
            LINKS,
            json!({"provider": "aws", "region": "us-east-1", "bucket": services::unique_name("plain"),
                            "account_id": services::MOTO_ACCOUNT_ID}),
        )
        .await;
    let url = link.json["launch_stack_url"].as_str().unwrap();
    assert!(!url.contains("param_KmsKeyArn") && url.contains("&param_MaxSessionDuration=3600"), "{url}");
    launch_stack(&moto, &link.json).await;
    let role_name = format!("packyard-storage-{}", link.json["id"].as_str().unwrap());
    let policy = iam("GetRolePolicy", &[("RoleName", &role_name), ("PolicyName", "packyard-storage")]).await;
    assert!(!policy.contains("kms"), "{policy}");
    assert!(
        iam("GetRole", &[("RoleName", &role_name)]).await.contains("<MaxSessionDuration>3600</MaxSessionDuration>")
    );
}
