//! Organization tokens: scopes are enforced, secrets are stored only as hashes, organizations are sealed
//! from each other.

use http::{Method, StatusCode};
use packyard::adapters::aws_calls::AwsCalls;
use packyard::config::Config;
use packyard::domain::secret::SecretsKey;
use packyard_tests::app::TestApp;
use serde_json::json;

const REGISTRIES: &str = "/v1/organizations/acme/registries";

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;
    let missing = app.call(Method::GET, REGISTRIES, None, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers["www-authenticate"], "Bearer realm=\"packyard\"");
    assert!(missing.error_message().contains("Authorization: Bearer"), "{}", missing.error_message());
    let wrong = app.call(Method::GET, REGISTRIES, Some("pky_not-a-real-token"), None).await;
    assert_eq!((wrong.status, wrong.error_code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let basic = app
        .send(
            http::Request::get(REGISTRIES)
                .header("authorization", "Basic Zm9vOmJhcg==")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_scope_allows_only_its_own_operations() {
    let app = TestApp::new().await;
    app.create_registry("existing", "npm").await;
    let reader = app.token_with(&["read_registries"]).await;
    let writer = app.token_with(&["write_registries"]).await;
    let deleter = app.token_with(&["delete_registries", "read_registries"]).await;

    assert_eq!(app.call(Method::GET, REGISTRIES, Some(&reader), None).await.status, StatusCode::OK);
    let denied =
        app.call(Method::POST, REGISTRIES, Some(&reader), Some(json!({"name": "n", "ecosystem": "npm"}))).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.error_message().contains("write_registries"), "{}", denied.error_message());

    assert_eq!(app.call(Method::GET, REGISTRIES, Some(&writer), None).await.status, StatusCode::FORBIDDEN);
    let created =
        app.call(Method::POST, REGISTRIES, Some(&writer), Some(json!({"name": "n", "ecosystem": "npm"}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let path = format!("{REGISTRIES}/existing");
    assert_eq!(app.call(Method::DELETE, &path, Some(&writer), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::DELETE, &path, Some(&deleter), None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn another_organizations_token_sees_404_not_403() {
    let app = TestApp::new().await;
    app.create_registry("secret-project", "npm").await;
    let other = TestApp::bootstrap(&app.state, "globex").await;
    for (method, path) in [
        (Method::GET, REGISTRIES.to_owned()),
        (Method::GET, format!("{REGISTRIES}/secret-project")),
        (Method::DELETE, format!("{REGISTRIES}/secret-project")),
        (Method::GET, "/v1/organizations/acme/audit-events".to_owned()),
        (Method::GET, "/v1/organizations/acme/tokens".to_owned()),
    ] {
        let reply = app.call(method.clone(), &path, Some(&other), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}: {:?}", reply.json);
        assert!(!reply.json.to_string().contains("secret-project"), "{method} {path} leaked: {:?}", reply.json);
    }
    assert_eq!(app.get(&format!("{REGISTRIES}/secret-project")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_are_shown_once_listed_without_secrets_and_stop_working_when_revoked() {
    let app = TestApp::new().await;
    let created =
        app.post("/v1/organizations/acme/tokens", json!({"description": "CI", "scopes": ["read_registries"]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let secret = created.json["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pky_"));

    let listed = app.get("/v1/organizations/acme/tokens").await;
    let text = listed.json.to_string();
    assert!(!text.contains(&secret) && !text.contains("secret_sha256"), "listing leaks secrets: {text}");
    assert_eq!(listed.json["tokens"].as_array().unwrap().len(), 2);

    let current = app.call(Method::GET, "/v1/organizations/acme/tokens/current", Some(&secret), None).await;
    assert_eq!(current.json["token"]["description"], "CI");

    let id = created.json["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/organizations/acme/tokens/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, REGISTRIES, Some(&secret), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.delete(&format!("/v1/organizations/acme/tokens/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_cannot_grant_more_than_it_holds() {
    let app = TestApp::new().await;
    let limited = app
        .post(
            "/v1/organizations/acme/tokens",
            json!({"description": "limited admin", "scopes": ["read_registries"], "admin": true}),
        )
        .await;
    let limited = limited.json["token"].as_str().unwrap().to_owned();
    let escalate = app
        .call(
            Method::POST,
            "/v1/organizations/acme/tokens",
            Some(&limited),
            Some(json!({"description": "x", "scopes": ["delete_registries"]})),
        )
        .await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
    assert!(escalate.error_message().contains("delete_registries"), "{}", escalate.error_message());
    let plain = app.token_with(&["read_registries"]).await;
    let not_admin = app
        .call(
            Method::POST,
            "/v1/organizations/acme/tokens",
            Some(&plain),
            Some(json!({"description": "x", "scopes": ["read_registries"]})),
        )
        .await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    let empty = app.post("/v1/organizations/acme/tokens", json!({"description": "x", "scopes": []})).await;
    assert_eq!(
        (empty.status, empty.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes"))
    );
}

#[tokio::test]
async fn only_the_hash_of_a_secret_is_stored() {
    let app = TestApp::new().await;
    let secret = app.token_with(&["read_registries"]).await;
    let hash = packyard::domain::token::secret_sha256(&secret);
    let stored = app.store.get(&format!("TOKEN#{hash}"), "TOKEN").await.unwrap().expect("token record");
    assert!(!serde_json::Value::Object(stored.attributes).to_string().contains(&secret));
}

/// Two Lambda containers on one table. The warm one answers a token it read moments ago from memory, with no
/// DynamoDB read; the other revokes it, and once that revocation has answered the warm one refuses it too.
#[tokio::test]
async fn a_warm_container_knows_a_token_from_memory_and_refuses_it_once_its_revocation_answers() {
    let calls = AwsCalls::default();
    let app = TestApp::on_aws_with(Config::default(), Some(calls.clone())).await;
    let warm = app.another_container().await;
    let created =
        app.post("/v1/organizations/acme/tokens", json!({"description": "CI", "scopes": ["read_registries"]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let secret = created.json["token"].as_str().unwrap().to_owned();
    let whoami = async |app: &TestApp| {
        app.call(Method::GET, "/v1/organizations/acme/tokens/current", Some(&secret), None).await.status
    };
    assert_eq!(whoami(&warm).await, StatusCode::OK);
    let before = calls.calls().len();
    assert_eq!(whoami(&warm).await, StatusCode::OK);
    let reads: Vec<_> = calls.calls()[before..].iter().filter(|call| call.service == "DynamoDB").cloned().collect();
    assert!(reads.is_empty(), "a warm container read the token again: {reads:?}");

    let id = created.json["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/organizations/acme/tokens/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(whoami(&warm).await, StatusCode::UNAUTHORIZED, "the warm container still knew the revoked token");
    assert_eq!(whoami(&app).await, StatusCode::UNAUTHORIZED);
}

/// The same for a registry token deleted through another container.
#[tokio::test]
async fn a_deleted_registry_token_is_refused_by_a_warm_container_once_the_deletion_answers() {
    let mut config = Config::default();
    config.links.secrets_key = Some(SecretsKey::from_text(&SecretsKey::generate_text()).expect("a key"));
    let app = TestApp::on_aws_with(config, None).await;
    let warm = app.another_container().await;
    app.create_registry("tools", "files").await;
    let tokens = format!("{REGISTRIES}/tools/tokens");
    let created = app.post(&tokens, json!({"description": "deploy hosts"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let secret = created.json["token"].as_str().unwrap().to_owned();
    let packages = format!("{REGISTRIES}/tools/packages");
    assert_eq!(warm.call(Method::GET, &packages, Some(&secret), None).await.status, StatusCode::OK);

    let id = created.json["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("{tokens}/{id}")).await.status, StatusCode::NO_CONTENT);
    let refused = warm.call(Method::GET, &packages, Some(&secret), None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{:?}", refused.json);
}
