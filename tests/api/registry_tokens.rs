//! Registry tokens: read-only, one registry, shown again on request, silent while the registry is public.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::json;

const TOKENS: &str = "/v1/organizations/acme/registries/tools/tokens";
const PACKAGES: &str = "/v1/organizations/acme/registries/tools/packages";

async fn app() -> TestApp {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("tools", "files").await;
    app.create_registry("other", "files").await;
    assert_eq!(app.publish_file("tools", "tool-1.0.0.bin", b"tool").await.status, StatusCode::CREATED);
    assert_eq!(app.publish_file("other", "other-1.0.0.bin", b"other").await.status, StatusCode::CREATED);
    app
}

#[tokio::test]
async fn a_registry_token_reads_its_registry_only_and_can_be_shown_again() {
    let app = app().await;
    let created = app.post(TOKENS, json!({"description": "CI installs"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let secret = created.json["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pkr_"));
    assert_eq!(created.json["scopes"], json!(["read_packages"]));
    let id = created.json["id"].as_str().unwrap();

    let shown = app.get(&format!("{TOKENS}/{id}")).await;
    assert_eq!(shown.json["token"], secret, "the whole token can be viewed again");
    let listed = app.get(TOKENS).await;
    assert!(!listed.json.to_string().contains(&secret), "a listing leaks the secret");
    assert_eq!(listed.json["tokens"][0]["description"], "CI installs");

    assert_eq!(app.call(Method::GET, PACKAGES, Some(&secret), None).await.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::GET, "/files/acme/tools/tool-1.0.0.bin", Some(&secret), None).await.status,
        StatusCode::FOUND
    );
    let other = app.call(Method::GET, "/v1/organizations/acme/registries/other/packages", Some(&secret), None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another registry's packages were visible");
    assert!(!other.json.to_string().contains("other-1.0.0"));
    let publish = app.publish_file_as(&secret, "tools", "tool-2.0.0.bin", b"x").await;
    assert_eq!(publish.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::GET, "/v1/organizations/acme/registries", Some(&secret), None).await.status,
        StatusCode::FORBIDDEN
    );

    let renamed = app.patch(&format!("{TOKENS}/{id}"), json!({"description": "CI installs (prod)"})).await;
    assert_eq!(renamed.json["description"], "CI installs (prod)");
    assert_eq!(app.delete(&format!("{TOKENS}/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, PACKAGES, Some(&secret), None).await.status, StatusCode::UNAUTHORIZED);
    let actions: Vec<_> = app.get("/v1/organizations/acme/audit-events").await.json["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|event| event["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["registry_token.deleted", "registry_token.updated", "registry_token.created"]);
}

#[tokio::test]
async fn while_a_registry_is_public_its_token_endpoints_are_404_and_its_tokens_count_for_nothing() {
    let app = app().await;
    let created = app.post(TOKENS, json!({"description": "reader"})).await;
    let secret = created.json["token"].as_str().unwrap().to_owned();
    let id = created.json["id"].as_str().unwrap().to_owned();
    app.patch("/v1/organizations/acme/registries/tools", json!({"public": true})).await;
    assert_eq!(app.get(TOKENS).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{TOKENS}/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post(TOKENS, json!({"description": "x"})).await.status, StatusCode::NOT_FOUND);
    // Anyone may read a public registry; the token neither helps nor hurts, and writes stay closed to it.
    assert_eq!(app.call(Method::GET, PACKAGES, Some(&secret), None).await.status, StatusCode::OK);
    assert_eq!(app.publish_file_as(&secret, "tools", "tool-3.0.0.bin", b"x").await.status, StatusCode::FORBIDDEN);

    app.patch("/v1/organizations/acme/registries/tools", json!({"public": false})).await;
    assert_eq!(app.get(&format!("{TOKENS}/{id}")).await.json["token"], secret, "the token came back");
    assert_eq!(app.call(Method::GET, PACKAGES, Some(&secret), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn registry_tokens_need_a_secrets_key_and_a_scoped_caller() {
    let plain = TestApp::new().await;
    plain.create_registry("tools", "files").await;
    let refused = plain.post(TOKENS, json!({"description": "x"})).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", refused.json);
    assert!(refused.error_message().contains("PACKYARD_SECRETS_KEY"));

    let app = app().await;
    let reader = app.token_with(&["read_registries"]).await;
    let denied = app.call(Method::POST, TOKENS, Some(&reader), Some(json!({"description": "x"}))).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = app.post(TOKENS, json!({"description": "x", "scopes": ["write_packages"]})).await;
    assert_eq!((bad.status, bad.json["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes")));
}
