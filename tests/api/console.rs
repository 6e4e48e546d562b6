//! The console's sign-in and what the session cookie may do: the REST API takes it as the token, but a
//! change made with it must carry the console's header and a same-site Origin, so a cross-site form fails.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::json;

const REGISTRIES: &str = "/v1/organizations/acme/registries";

async fn sign_in(app: &TestApp, headers: &[(&str, &str)]) -> packyard_tests::app::Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/console/session")
        .header("host", "packyard.test")
        .header("content-type", "application/json")
        .header("x-packyard-console", "1");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::from(json!({"token": app.admin_token}).to_string())).unwrap()).await
}

fn with_cookie(method: Method, path: &str, token: &str, headers: &[(&str, &str)], body: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "packyard.test")
        .header("cookie", format!("theme=dark; packyard_session={token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    match body {
        Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_owned())).unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn signing_in_sets_an_http_only_same_site_strict_cookie_that_is_secure_over_https() {
    let app = TestApp::new().await;
    let reply = sign_in(&app, &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["organization"], "acme");
    assert_eq!(reply.json["admin"], true);
    assert!(!reply.text.contains(&app.admin_token), "the answer never repeats the token");
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("packyard_session={};", app.admin_token)), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");

    let secure = sign_in(&app, &[("x-forwarded-proto", "https")]).await;
    assert!(secure.headers["set-cookie"].to_str().unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn sign_in_refuses_a_wrong_token_a_registry_token_and_a_request_without_the_console_header() {
    let app = TestApp::new().await;
    let send = |body: serde_json::Value, console: bool| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/console/session")
            .header("host", "packyard.test")
            .header("content-type", "application/json");
        if console {
            request = request.header("x-packyard-console", "1");
        }
        app.send(request.body(Body::from(body.to_string())).unwrap())
    };
    let wrong = send(json!({"token": format!("pky_{}", "0".repeat(64))}), true).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get("set-cookie").is_none());
    let registry_token = send(json!({"token": format!("pkr_{}", "0".repeat(64))}), true).await;
    assert_eq!(
        (registry_token.status, registry_token.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("token"))
    );
    let forged = send(json!({"token": app.admin_token}), false).await;
    assert_eq!((forged.status, forged.error_code()), (StatusCode::FORBIDDEN, "cross_site_request"), "login CSRF");
}

#[tokio::test]
async fn the_session_cookie_authenticates_the_rest_api_and_signing_out_clears_it() {
    let app = TestApp::new().await;
    let token = app.admin_token.clone();
    let listed = app.send(with_cookie(Method::GET, REGISTRIES, &token, &[], None)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let session = app.send(with_cookie(Method::GET, "/console/session", &token, &[], None)).await;
    assert_eq!(session.json["description"], "bootstrap admin token");
    let created = app
        .send(with_cookie(
            Method::POST,
            REGISTRIES,
            &token,
            &[("x-packyard-console", "1"), ("origin", "http://packyard.test")],
            Some(r##"{"name":"Web","ecosystem":"npm","emoji":":rocket:","color":"#1a7f37"}"##),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!((created.json["emoji"].as_str(), created.json["color"].as_str()), (Some(":rocket:"), Some("#1a7f37")));

    let out =
        app.send(with_cookie(Method::DELETE, "/console/session", &token, &[("x-packyard-console", "1")], None)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let cleared = out.headers["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("packyard_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let anonymous = app.call(Method::GET, "/console/session", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cross_site_form_post_with_the_cookie_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let token = app.admin_token.clone();
    // What a form on another site submits: the cookie (were SameSite ignored), no custom header, its Origin.
    let form = app
        .send(with_cookie(
            Method::POST,
            REGISTRIES,
            &token,
            &[("origin", "https://evil.example")],
            Some(r#"{"name":"Evil","ecosystem":"npm"}"#),
        ))
        .await;
    assert_eq!((form.status, form.error_code()), (StatusCode::FORBIDDEN, "cross_site_request"), "{}", form.text);
    // A script elsewhere that somehow sent the header still fails on its Origin.
    let scripted = app
        .send(with_cookie(
            Method::DELETE,
            &format!("{REGISTRIES}/web"),
            &token,
            &[("x-packyard-console", "1"), ("origin", "https://evil.example")],
            None,
        ))
        .await;
    assert_eq!((scripted.status, scripted.error_code()), (StatusCode::FORBIDDEN, "cross_site_request"));
    let listed = app.get(REGISTRIES).await;
    assert_eq!(listed.json["registries"].as_array().map(Vec::len), Some(0), "nothing was created");
    // A client with its token in the Authorization header needs neither.
    let bearer = app.post(REGISTRIES, json!({"name": "Web", "ecosystem": "npm"})).await;
    assert_eq!(bearer.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_gzipped_with_a_strict_security_policy_and_revalidate_by_etag() {
    let app = TestApp::new().await;
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = Request::builder().uri(path).header("host", "packyard.test");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.send(request.body(Body::empty()).unwrap())
    };
    let page = get("/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.text.contains(r#"<script type="module" src="/console/app.js">"#));
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");

    let gzipped = get("/console/app.js", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(gzipped.headers["content-encoding"], "gzip");
    assert_eq!(gzipped.headers["content-type"], "text/javascript; charset=utf-8");
    let etag = gzipped.headers["etag"].to_str().unwrap().to_owned();
    let again = get("/console/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let missing = get("/console/nothing.js", &[]).await;
    assert_eq!((missing.status, missing.error_code()), (StatusCode::NOT_FOUND, "not_found"));
    let index = get("/console/index.html", &[]).await;
    assert_eq!(index.status, StatusCode::NOT_FOUND, "the page is served at / only");
}
