//! CI jobs' OIDC tokens as credentials, against an issuer of our own on loopback: the policy decides, and
//! every kind of bad token gets a 401 or 403 that says why.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use packyard_tests::oidc::Issuer;
use serde_json::json;

const PACKAGES: &str = "/v1/organizations/acme/registries/tools/packages";

/// The app, the issuer, the id of a published package, and the audiences of registries `tools` and `other`.
struct Setup {
    app: TestApp,
    issuer: Issuer,
    package: String,
    audience: String,
    other_audience: String,
}

/// The audience a job requests for a registry: fixed by its id, whatever URL the API is reached at.
fn audience_of(registry: &serde_json::Value) -> String {
    format!("packyard:acme:{}", registry["id"].as_str().unwrap())
}

async fn setup() -> Setup {
    let app = TestApp::new().await;
    let audience = audience_of(&app.create_registry("tools", "files").await);
    let other_audience = audience_of(&app.create_registry("other", "files").await);
    let published = app.publish_file("tools", "tool-1.0.0.bin", b"tool").await;
    let issuer = Issuer::start().await;
    let policy = format!(
        "# CI may read and publish from release branches of the web pipeline\n- iss: {}\n  scopes: [read_packages, write_packages]\n  claims:\n    pipeline: {{ in: [web, api] }}\n    branch: {{ matches: 'release/*' }}\n",
        issuer.url
    );
    let request = http::Request::put("/v1/organizations/acme/registries/tools/oidc-policy")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/yaml")
        .body(axum::body::Body::from(policy))
        .unwrap();
    let saved = app.send(request).await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.json);
    let package = published.json["id"].as_str().unwrap().to_owned();
    Setup { app, issuer, package, audience, other_audience }
}

fn job(audience: &str) -> serde_json::Value {
    json!({"aud": audience, "pipeline": "web", "branch": "release/2.0"})
}

#[tokio::test]
async fn a_matching_job_token_reads_and_publishes_with_the_statements_scopes() {
    let Setup { app, issuer, package: id, audience, .. } = setup().await;
    let token = issuer.token(job(&audience));
    assert_eq!(app.call(Method::GET, PACKAGES, Some(&token), None).await.status, StatusCode::OK);
    let published = app.publish_file_as(&token, "tools", "tool-2.0.0.bin", b"from CI").await;
    assert_eq!(published.status, StatusCode::CREATED, "{:?}", published.json);
    assert!(
        published.json["creator"]["name"].as_str().unwrap().contains("pipeline:web"),
        "{:?}",
        published.json["creator"]
    );
    let delete = app.call(Method::DELETE, &format!("{PACKAGES}/{id}"), Some(&token), None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN, "the statement gives no delete_packages");
    let basic = base64_basic(&token);
    let request = http::Request::get(PACKAGES)
        .header("host", "packyard.test")
        .header("authorization", basic)
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK, "the JWT as Basic auth's password");
}

#[tokio::test]
async fn bad_tokens_are_refused_with_the_reason() {
    let Setup { app, issuer, audience, other_audience, .. } = setup().await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("expired", issuer.token(json!({"aud": audience, "pipeline": "web", "branch": "release/1", "iat": now - 600, "nbf": now - 600, "exp": now - 300})), StatusCode::UNAUTHORIZED, "expired"),
        ("another registry's audience", issuer.token(job(&other_audience)), StatusCode::UNAUTHORIZED, "audience"),
        ("the registry's URL as audience", issuer.token(job("http://packyard.test/v1/organizations/acme/registries/tools")), StatusCode::UNAUTHORIZED, "audience"),
        ("wrong issuer", issuer.token(json!({"aud": audience, "iss": "https://ci.example", "pipeline": "web", "branch": "release/1"})), StatusCode::UNAUTHORIZED, "does not trust"),
        ("forged", issuer.forged(job(&audience)), StatusCode::UNAUTHORIZED, "signature"),
        ("claim mismatch", issuer.token(json!({"aud": audience, "pipeline": "web", "branch": "main"})), StatusCode::FORBIDDEN, "no statement"),
        ("too long-lived", issuer.token(json!({"aud": audience, "pipeline": "web", "branch": "release/1", "exp": now + 3600})), StatusCode::UNAUTHORIZED, "at most 300"),
        ("not yet valid", issuer.token(json!({"aud": audience, "pipeline": "web", "branch": "release/1", "nbf": now + 600, "iat": now, "exp": now + 200})), StatusCode::UNAUTHORIZED, "not valid yet"),
    ];
    for (case, token, status, reason) in cases {
        let reply = app.call(Method::GET, PACKAGES, Some(&token), None).await;
        assert_eq!(reply.status, status, "{case}: {:?}", reply.json);
        assert!(reply.error_message().contains(reason), "{case}: {}", reply.error_message());
    }
    let elsewhere = app
        .call(
            Method::GET,
            "/v1/organizations/acme/registries/other/packages",
            Some(&issuer.token(job(&audience))),
            None,
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED, "a registry without a policy trusts no issuer");
    let management =
        app.call(Method::GET, "/v1/organizations/acme/registries", Some(&issuer.token(job(&audience))), None).await;
    assert_eq!(management.status, StatusCode::NOT_FOUND, "a job token manages nothing and learns nothing");
}

#[tokio::test]
async fn an_invalid_policy_is_refused_on_save_with_its_line() {
    let Setup { app, audience, .. } = setup().await;
    let request = http::Request::put("/v1/organizations/acme/registries/tools/oidc-policy")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(axum::body::Body::from("- iss: https://ci.example\n  scopes: [read_packages, publish]\n"))
        .unwrap();
    let refused = app.send(request).await;
    assert_eq!(
        (refused.status, refused.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("policy"))
    );
    assert!(refused.error_message().starts_with("line 2:"), "{}", refused.error_message());
    let kept = app.get("/v1/organizations/acme/registries/tools/oidc-policy").await;
    assert_eq!(
        kept.json["statements"][0]["scopes"],
        json!(["read_packages", "write_packages"]),
        "the old policy stays"
    );
    assert_eq!(kept.json["audience"], audience);
}

#[tokio::test]
async fn a_job_token_for_the_host_it_is_sent_to_is_refused_and_the_host_never_sets_the_audience() {
    let Setup { app, issuer, audience, .. } = setup().await;
    let token = issuer.token(job("http://evil.example/v1/organizations/acme/registries/tools"));
    let request = http::Request::get(PACKAGES)
        .header("host", "evil.example")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let refused = app.send(request).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{:?}", refused.json);
    assert!(refused.error_message().contains(&audience), "{}", refused.error_message());
    let request = http::Request::get("/v1/organizations/acme/registries/tools/oidc-policy")
        .header("host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.json["audience"], audience, "the audience shown ignores the Host");
}

fn base64_basic(token: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("ci:{token}")))
}
