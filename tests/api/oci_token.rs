//! The registry token flow: the Bearer challenge, `/v2/token` trading Packyard credentials for a
//! short-lived JWT that lists only the granted actions, and that JWT on the registry routes.

use axum::body::Body;
use base64::Engine;
use http::{Method, Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use serde_json::{Value, json};

use super::oci::{OCI_MANIFEST, REPO, code, digest, header, oci, push_image};

const SCOPE: &str = "repository:acme/images/team/app";

async fn app() -> TestApp {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("images", "oci").await;
    app
}

/// `GET /v2/token` with the token as the Basic password (when given) for these scopes.
async fn token_for(app: &TestApp, credential: Option<&str>, scopes: &[&str]) -> Reply {
    let query: String = scopes.iter().map(|scope| format!("&scope={scope}")).collect();
    oci(app, Method::GET, &format!("/v2/token?service=packyard{query}"), credential, &[], Body::empty()).await
}

async fn jwt(app: &TestApp, credential: Option<&str>, scopes: &[&str]) -> String {
    let reply = token_for(app, credential, scopes).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["token"], reply.json["access_token"]);
    assert_eq!(reply.json["expires_in"], json!(300));
    reply.json["token"].as_str().unwrap().to_owned()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn bearer(app: &TestApp, method: Method, path: &str, jwt: &str, body: impl Into<Body>) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "packyard.test")
        .header("authorization", format!("Bearer {jwt}"))
        .header("content-type", OCI_MANIFEST);
    app.send(request.body(body.into()).unwrap()).await
}

#[tokio::test]
async fn a_401_leads_clients_to_the_token_endpoint_with_the_scope_they_need() {
    let app = app().await;
    let base = oci(&app, Method::GET, "/v2/", None, &[], Body::empty()).await;
    assert_eq!(base.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&base, "www-authenticate"),
        "Bearer realm=\"http://packyard.test/v2/token\",service=\"packyard\""
    );
    let tags = oci(&app, Method::GET, &format!("{REPO}/tags/list"), None, &[], Body::empty()).await;
    assert_eq!(
        header(&tags, "www-authenticate"),
        format!("Bearer realm=\"http://packyard.test/v2/token\",service=\"packyard\",scope=\"{SCOPE}:pull\"")
    );
    let push = oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), None, &[], Body::empty()).await;
    assert!(header(&push, "www-authenticate").ends_with(&format!("scope=\"{SCOPE}:pull,push\"")));
    let wrong = token_for(&app, Some("pky_not_a_token"), &[&format!("{SCOPE}:pull")]).await;
    assert_eq!((wrong.status, code(&wrong)), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
}

#[tokio::test]
async fn a_token_from_the_token_endpoint_pushes_and_pulls_what_it_lists() {
    let app = app().await;
    let admin = app.admin_token.clone();
    let pushing = jwt(&app, Some(&admin), &[&format!("{SCOPE}:pull,push")]).await;
    let granted = claims(&pushing);
    assert_eq!(granted["access"][0]["name"], "acme/images/team/app");
    assert_eq!(granted["access"][0]["actions"], json!(["pull", "push"]));
    assert!(!pushing.contains(&admin) && !granted.to_string().contains(&admin), "the token never carries the secret");

    let layer = b"a layer pushed with a registry token";
    let layer_digest = digest(layer);
    let upload =
        bearer(&app, Method::POST, &format!("{REPO}/blobs/uploads/?digest={layer_digest}"), &pushing, &layer[..]).await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.text);
    let config = b"{}";
    let config_digest = digest(config);
    let upload =
        bearer(&app, Method::POST, &format!("{REPO}/blobs/uploads/?digest={config_digest}"), &pushing, &config[..])
            .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.text);
    let manifest = super::oci::image_manifest(&config_digest, config.len(), &layer_digest, layer.len()).to_string();
    let pushed = bearer(&app, Method::PUT, &format!("{REPO}/manifests/v1"), &pushing, manifest.clone()).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    let pulled = bearer(&app, Method::GET, &format!("{REPO}/manifests/v1"), &pushing, Body::empty()).await;
    assert_eq!(pulled.text, manifest);

    let elsewhere = bearer(&app, Method::GET, "/v2/acme/images/team/other/tags/list", &pushing, Body::empty()).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "a token is for the repositories it lists");
    assert!(header(&elsewhere, "www-authenticate").contains("error=\"insufficient_scope\""));
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let pushed_by = events.json["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "oci.manifest_pushed")
        .map(|event| event["actor"]["id"].clone());
    assert!(pushed_by.is_some_and(|actor| actor != json!("anonymous")), "audited as the token it was issued for");
}

#[tokio::test]
async fn a_token_grants_only_what_the_credentials_allow() {
    let app = app().await;
    push_image(&app, REPO, "v1").await;
    let reader = app.token_with(&["read_packages"]).await;
    let reading = jwt(&app, Some(&reader), &[&format!("{SCOPE}:pull,push,delete")]).await;
    assert_eq!(claims(&reading)["access"][0]["actions"], json!(["pull"]), "push and delete are not the reader's");
    let pull = bearer(&app, Method::GET, &format!("{REPO}/manifests/v1"), &reading, Body::empty()).await;
    assert_eq!(pull.status, StatusCode::OK);
    let push = bearer(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), &reading, Body::empty()).await;
    assert_eq!((push.status, code(&push)), (StatusCode::FORBIDDEN, "DENIED"));
    assert!(header(&push, "www-authenticate").contains("scope=\"repository:acme/images/team/app:pull,push\""));

    let registry_token =
        app.post("/v1/organizations/acme/registries/images/tokens", json!({"description": "ci pull"})).await;
    let registry_token = registry_token.json["token"].as_str().unwrap().to_owned();
    let pulling = jwt(&app, Some(&registry_token), &[&format!("{SCOPE}:pull,push")]).await;
    assert_eq!(claims(&pulling)["access"][0]["actions"], json!(["pull"]));

    let anonymous = jwt(&app, None, &[&format!("{SCOPE}:pull")]).await;
    assert_eq!(claims(&anonymous)["access"], json!([]), "a private registry gives an anonymous caller nothing");
    let denied = bearer(&app, Method::GET, &format!("{REPO}/manifests/v1"), &anonymous, Body::empty()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    app.patch("/v1/organizations/acme/registries/images", json!({"public": true})).await;
    let public = jwt(&app, None, &[&format!("{SCOPE}:pull,push")]).await;
    assert_eq!(claims(&public)["access"][0]["actions"], json!(["pull"]));
    assert_eq!(
        bearer(&app, Method::GET, &format!("{REPO}/manifests/v1"), &public, Body::empty()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_forged_or_foreign_token_is_refused() {
    let app = app().await;
    let admin = app.admin_token.clone();
    let token = jwt(&app, Some(&admin), &[&format!("{SCOPE}:pull,push")]).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut widened = claims(&token);
    widened["access"][0]["name"] = json!("acme/images/team/other");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(widened.to_string());
    let forged = parts.join(".");
    let refused = bearer(&app, Method::GET, "/v2/acme/images/team/other/tags/list", &forged, Body::empty()).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));

    // Another deployment (another secrets key) signs tokens this one does not take.
    let other = TestApp::with_secrets_key().await;
    other.create_registry("images", "oci").await;
    let foreign = jwt(&other, Some(&other.admin_token), &[&format!("{SCOPE}:pull")]).await;
    let refused = bearer(&app, Method::GET, &format!("{REPO}/tags/list"), &foreign, Body::empty()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
