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
