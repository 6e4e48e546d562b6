//! Bad input gets a 4xx with a JSON error that names the problem, and changes nothing.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use packyard::config::Config;
use packyard_tests::app::TestApp;
use serde_json::json;

const REGISTRIES: &str = "/v1/organizations/acme/registries";

fn raw(app: &TestApp, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::post(REGISTRIES).header("authorization", format!("Bearer {}", app.admin_token));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

async fn registry_count(app: &TestApp) -> usize {
    app.get(REGISTRIES).await.json["registries"].as_array().unwrap().len()
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_position() {
    let app = TestApp::new().await;
    let reply = app.send(raw(&app, Some("application/json"), r#"{"name": "x", "#)).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::BAD_REQUEST, "malformed_json"));
    assert!(reply.error_message().contains("line 1"), "{}", reply.error_message());
    assert!(reply.json["request_id"].is_string());
    assert_eq!(registry_count(&app).await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = TestApp::new().await;
    let reply = app.send(raw(&app, Some("text/plain"), r#"{"name": "x", "ecosystem": "npm"}"#)).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let missing = app.send(raw(&app, None, r#"{"name": "x", "ecosystem": "npm"}"#)).await;
    assert_eq!(missing.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn missing_unknown_and_invalid_fields_are_422s_naming_the_field() {
    let app = TestApp::new().await;
    let cases = [
        (json!({"ecosystem": "npm"}), None, "missing field `name`"),
        (json!({"name": "x"}), None, "missing field `ecosystem`"),
        (json!({"name": "x", "ecosystem": "npm", "public": true}), Some("public"), "unknown field `public`"),
        (json!({"name": "x", "ecosystem": "npm", "color": "blue"}), Some("color"), "#RRGGBB"),
        (json!({"name": "x", "ecosystem": "npm", "emoji": "smile"}), Some("emoji"), ":shortcode:"),
        (json!({"name": "", "ecosystem": "npm"}), Some("name"), "1 to 100 characters"),
        (json!({"name": "!!!", "ecosystem": "npm"}), Some("name"), "no letter or digit"),
        (json!({"name": 7, "ecosystem": "npm"}), Some("name"), "invalid type"),
        (json!({"name": "x", "ecosystem": "rubygems"}), Some("ecosystem"), "not supported"),
        (
            json!({"name": "x", "ecosystem": "npm", "description": "a".repeat(1001)}),
            Some("description"),
            "at most 1000",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post(REGISTRIES, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", reply.json);
        assert_eq!(reply.json["error"]["field"].as_str(), field, "{body}: {:?}", reply.json);
        assert!(reply.error_message().contains(message), "{body}: {}", reply.error_message());
    }
    assert_eq!(registry_count(&app).await, 0);
}

#[tokio::test]
async fn an_oversize_body_is_a_413() {
    let app = TestApp::with_config(Config { max_body_bytes: 1024, ..Config::default() }).await;
    let body = json!({"name": "big", "ecosystem": "npm", "description": "x".repeat(2000)}).to_string();
    let reply = app.send(raw(&app, Some("application/json"), &body)).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));
    assert_eq!(registry_count(&app).await, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = TestApp::new().await;
    let unknown = app.get("/v1/nothing-here").await;
    assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "not_found"));
    let method = app.call(Method::PUT, REGISTRIES, Some(&app.admin_token), Some(json!({}))).await;
    assert_eq!((method.status, method.error_code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

#[tokio::test]
async fn bad_paths_and_query_parameters_are_4xx_not_5xx() {
    let app = TestApp::new().await;
    assert_eq!(app.get(&format!("{REGISTRIES}/..%2F..%2Fetc")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{REGISTRIES}/UPPER")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/organizations/NOT_AN_ORG/registries").await.status, StatusCode::NOT_FOUND);
    let per_page = app.get(&format!("{REGISTRIES}?per_page=1000")).await;
    assert_eq!((per_page.status, per_page.error_code()), (StatusCode::BAD_REQUEST, "invalid_per_page"));
    let cursor = app.get(&format!("{REGISTRIES}?cursor=%25%25")).await;
    assert_eq!((cursor.status, cursor.error_code()), (StatusCode::BAD_REQUEST, "invalid_cursor"));
    let revoke = app.delete("/v1/organizations/acme/tokens/not-a-token-id").await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::new().await;
    let reply = app.get(REGISTRIES).await;
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 26);
    let error = app.get("/v1/nothing").await;
    assert_eq!(error.json["request_id"].as_str(), error.headers["x-request-id"].to_str().ok());
}

#[tokio::test]
async fn a_form_upload_without_a_multipart_content_type_is_a_400_in_the_envelope() {
    let app = TestApp::new().await;
    app.create_registry("fs", "files").await;
    let request = Request::post("/v1/organizations/acme/registries/fs/packages")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/octet-stream")
        .body(Body::from("not a form"))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.error_message().contains("multipart/form-data"), "{}", reply.text);
    assert!(reply.json["request_id"].is_string(), "{}", reply.text);
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_4xx_in_each_protocols_shape() {
    let app = TestApp::new().await;
    app.create_registry("js", "npm").await;
    app.create_registry("rs", "cargo").await;
    app.create_registry("fs", "files").await;
    app.create_registry("py", "python").await;
    let token = Some(app.admin_token.as_str());
    for path in [format!("{REGISTRIES}/%ff%fe"), "/files/acme/%ff%fe/x-1.0.0.bin".into()] {
        let reply = app.call(Method::GET, &path, token, None).await;
        assert!(reply.status.is_client_error(), "{path}: {}", reply.status);
        assert!(reply.error_message().contains("UTF-8"), "{path}: {}", reply.text);
    }
    let npm = app.call(Method::GET, "/npm/acme/%ff%fe/demo", token, None).await;
    assert!(
        npm.status.is_client_error() && npm.json["error"].as_str().is_some_and(|e| e.contains("UTF-8")),
        "{}",
        npm.text
    );
    let cargo = app.call(Method::GET, "/cargo/acme/%ff%fe/index/config.json", token, None).await;
    assert!(cargo.status.is_client_error(), "{}", cargo.text);
    assert!(cargo.json["errors"][0]["detail"].as_str().is_some_and(|d| d.contains("UTF-8")), "{}", cargo.text);
    let pypi = app.call(Method::GET, "/pypi/acme/%ff%fe/simple/", token, None).await;
    assert!(pypi.status.is_client_error() && pypi.text.contains("UTF-8"), "{}", pypi.text);
}

#[tokio::test]
async fn a_header_injection_attempt_in_a_python_project_name_is_a_404_that_says_so() {
    let app = TestApp::new().await;
    app.create_registry("py", "python").await;
    let path = "/pypi/acme/py/simple/%0d%0aX-Injected:%201/";
    let reply = app.call(Method::GET, path, Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.headers.get("x-injected").is_none());
    assert!(!reply.text.trim().is_empty(), "the 404 says why");
    let unslashed =
        app.call(Method::GET, "/pypi/acme/py/simple/%0d%0aX-Injected:%201", Some(&app.admin_token), None).await;
    assert_eq!(unslashed.status, StatusCode::NOT_FOUND, "{:?}", unslashed.headers);
    assert!(unslashed.headers.get("x-injected").is_none() && !unslashed.text.trim().is_empty());
}

#[tokio::test]
async fn npm_and_cargo_publishes_over_the_body_limit_get_a_413_in_their_own_shape() {
    let app = TestApp::with_config(Config { max_body_bytes: 4096, ..Config::default() }).await;
    app.create_registry("js", "npm").await;
    app.create_registry("rs", "cargo").await;
    let npm = Request::put("/npm/acme/js/big")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": "big", "pad": "x".repeat(10_000)}).to_string()))
        .unwrap();
    let npm = app.send(npm).await;
    assert_eq!(npm.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(npm.json["error"].as_str().is_some_and(|e| e.contains("larger than")), "{}", npm.text);
    let cargo = Request::put("/cargo/acme/rs/api/v1/crates/new")
        .header("authorization", app.admin_token.clone())
        .body(Body::from(vec![0_u8; 10_000]))
        .unwrap();
    let cargo = app.send(cargo).await;
    assert_eq!(cargo.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(cargo.json["errors"][0]["detail"].as_str().is_some_and(|d| d.contains("larger than")), "{}", cargo.text);
    let packages = app.get("/v1/organizations/acme/registries/js/packages").await;
    assert_eq!(packages.json["packages"], json!([]));
}

#[tokio::test]
async fn stored_values_are_bounded_and_a_refusal_does_not_echo_a_huge_value() {
    let app = TestApp::new().await;
    let emoji = format!(":{}:", "a".repeat(100_000));
    let reply = app.post(REGISTRIES, json!({"name": "e1", "ecosystem": "npm", "emoji": emoji})).await;
    assert_eq!(
        (reply.status, reply.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("emoji"))
    );
    assert!(reply.text.len() < 1000, "the refusal echoed {} bytes", reply.text.len());
    let longest = format!(":{}:", "a".repeat(62));
    let ok = app.post(REGISTRIES, json!({"name": "e2", "ecosystem": "npm", "emoji": longest})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.json);
    assert_eq!(registry_count(&app).await, 1);

    let policy = "- iss: https://agent.buildkite.com\n  scopes: [read_packages]\n".repeat(2000);
    let request = Request::put(format!("{REGISTRIES}/e2/oidc-policy"))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/yaml")
        .body(Body::from(policy))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert!(reply.error_message().contains("at most"), "{}", reply.text);
}

#[tokio::test]
async fn npm_metadata_too_large_to_store_is_a_422_and_a_long_readme_is_cut() {
    use packyard_tests::archives::{npm_document, npm_tarball};
    let app = TestApp::new().await;
    app.create_registry("js", "npm").await;
    let publish = |document: serde_json::Value| {
        Request::put(format!("/npm/acme/js/{}", document["name"].as_str().unwrap()))
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .body(Body::from(document.to_string()))
            .unwrap()
    };
    let mut huge = npm_document("huge", "1.0.0", &npm_tarball("huge", "1.0.0"));
    huge["versions"]["1.0.0"]["keywords"] = json!(vec!["word".repeat(100); 1000]);
    let reply = app.send(publish(huge)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert!(reply.json["error"].as_str().is_some_and(|e| e.contains("at most")), "{}", reply.text);

    let mut wordy = npm_document("wordy", "1.0.0", &npm_tarball("wordy", "1.0.0"));
    wordy["versions"]["1.0.0"]["readme"] = json!("é".repeat(200_000));
    assert_eq!(app.send(publish(wordy)).await.status, StatusCode::CREATED);
    let packument = app.call(Method::GET, "/npm/acme/js/wordy", Some(&app.admin_token), None).await;
    // The packument carries the latest version's readme once, as npm's registry does, not one per version.
    assert!(packument.json["versions"]["1.0.0"].get("readme").is_none(), "{}", packument.text);
    let readme = packument.json["readme"].as_str().unwrap();
    assert!(readme.len() <= 64 * 1024 && readme.len() > 60 * 1024, "{}", readme.len());
}
