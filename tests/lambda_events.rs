//! The `events/` fixtures (API Gateway HTTP API events, the same files `cargo lambda invoke` and
//! `sam local invoke -e` take) driven through the Lambda handler path: lambda_http parses the event into a
//! request, the function's own route group answers it, and the answer converts to an API Gateway response.

use lambda_http::IntoResponse as _;
use packyard::api::{ROUTE_GROUPS, finish};
use packyard_tests::app::TestApp;
use serde_json::Value;
use tower::ServiceExt;

/// Replaced by a real token before an event is sent; see `events/README.md`.
const TOKEN_PLACEHOLDER: &str = "PACKYARD_TOKEN";

async fn invoke(app: &TestApp, fixture: &str) -> (u16, Value) {
    let (status, body, _) = invoke_text(app, fixture).await;
    (status, body)
}

/// The status, the body as JSON (`Null` when it is not JSON) and as text.
async fn invoke_text(app: &TestApp, fixture: &str) -> (u16, Value, String) {
    let path = format!("{}/../events/{fixture}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let request = lambda_http::request::from_str(&text.replace(TOKEN_PLACEHOLDER, &app.admin_token))
        .unwrap_or_else(|error| panic!("{fixture} is not an API Gateway event: {error}"));
    let function = fixture.split('.').next().unwrap();
    let (_, group) = ROUTE_GROUPS.iter().find(|(name, _)| *name == function).expect("a route group per event prefix");
    let router = finish(group(app.state.clone()), &app.state.config);
    let response = router.oneshot(request).await.unwrap();
    let response = response.into_response().await;
    let status = response.status().as_u16();
    let text = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

#[tokio::test]
async fn every_event_fixture_gets_its_expected_answer_through_the_lambda_path() {
    let app = TestApp::new().await;
    app.create_registry("py", "python").await;
    app.create_registry("images", "oci").await;
    app.create_registry("gems", "ruby").await;
    // In order: the good cases build on each other, each bad case sits beside its good twin. The third column
    // is the field a JSON error names, or a phrase a plain-text error (the Python upload API's) contains.
    // An OCI error names its spec code there.
    let expectations: [(&str, u16, Option<&str>); 25] = [
        ("registries.create", 201, None),
        ("registries.create-invalid-color", 422, Some("color")),
        ("registries.create-malformed", 400, None),
        ("registries.list", 200, None),
        ("registries.list-session-cookie", 200, None),
        ("registries.get", 200, None),
        ("registries.update", 200, None),
        ("registries.update-ecosystem", 422, Some("ecosystem")),
        ("registries.delete", 204, None),
        ("registries.openapi", 200, None),
        ("console.page", 200, None),
        ("console.sign-in", 201, None),
        ("console.sign-in-cross-site", 403, None),
        ("console.session-cookie", 200, None),
        ("tokens.create", 201, None),
        ("tokens.create-unknown-scope", 422, Some("scopes[0]")),
        ("audit-events.list", 200, None),
        ("pypi.upload", 200, None),
        ("pypi.upload-wrong-digest", 400, Some("SHA-256")),
        ("oci.base", 200, None),
        ("oci.base-anonymous", 401, Some("UNAUTHORIZED")),
        ("oci.put-manifest-unknown-blob", 400, Some("MANIFEST_BLOB_UNKNOWN")),
        ("ruby.push", 200, None),
        ("ruby.push-not-a-gem", 400, Some(".gem")),
        ("ruby.versions", 200, None),
    ];
    for (fixture, status, field) in expectations {
        let (actual, body, text) = invoke_text(&app, fixture).await;
        assert_eq!(actual, status, "{fixture}: {text}");
        if let Some(errors) = body["errors"].as_array().filter(|_| status >= 400) {
            assert_eq!(errors[0]["code"].as_str(), field, "{fixture}: {body}");
        } else if status >= 400 && body.is_null() {
            assert!(text.contains(field.unwrap_or_default()) && !text.is_empty(), "{fixture}: {text}");
        } else if status >= 400 {
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{fixture}: {body}");
            assert_eq!(body["error"]["field"].as_str(), field, "{fixture}: {body}");
        }
    }
    // The URLs the API hands out follow the host and scheme API Gateway reports.
    let (_, created) = invoke(&app, "registries.get").await;
    assert_eq!(created["error"]["code"], "not_found", "the registry was renamed, then deleted");
    let (_, audit) = invoke(&app, "audit-events.list").await;
    let renamed =
        audit["audit_events"].as_array().unwrap().iter().find(|event| event["action"] == "registry.renamed").unwrap();
    assert_eq!(renamed["source_ip"], "203.0.113.7", "the source address comes from the API Gateway request context");
    assert!(renamed["request_id"].as_str().unwrap().starts_with("evt-patch-"), "{renamed}");
}

#[tokio::test]
async fn links_use_the_host_and_scheme_api_gateway_saw() {
    let app = TestApp::new().await;
    let (_, created) = invoke(&app, "registries.create").await;
    assert_eq!(
        created["url"],
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/organizations/acme/registries/front-end"
    );
}
