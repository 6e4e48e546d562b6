//! The cargo registry's own checks and caching, in-process: what cargo would hit if it did not check first.

use axum::body::Body;
use http::{Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use serde_json::{Value, json};

use packyard_tests::archives;
pub(crate) use packyard_tests::archives::{cargo_publish_body as publish_body, crate_file};

pub(crate) async fn publish(app: &TestApp, body: Vec<u8>) -> Reply {
    let request = Request::put("/cargo/acme/rs/api/v1/crates/new")
        .header("authorization", app.admin_token.clone()) // cargo sends the token bare
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

pub(crate) fn metadata(name: &str, version: &str) -> Value {
    json!({"name": name, "vers": version, "deps": [{"name": "serde", "version_req": "^1", "features": ["derive"], "optional": false,
           "default_features": true, "target": null, "kind": "normal", "registry": "https://github.com/rust-lang/crates.io-index"}],
           "features": {"default": [], "json": ["dep:serde_json"]}, "description": "demo"})
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("rs", "cargo").await;
    app
}

fn detail(reply: &Reply) -> &str {
    reply.json["errors"][0]["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn config_json_describes_the_registry_and_needs_a_token_while_private() {
    let app = app().await;
    let anonymous = app.call(http::Method::GET, "/cargo/acme/rs/index/config.json", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers["www-authenticate"], "Cargo");
    let config = app.get("/cargo/acme/rs/index/config.json").await;
    assert_eq!(
        config.json,
        json!({"dl": "http://packyard.test/cargo/acme/rs/api/v1/crates", "api": "http://packyard.test/cargo/acme/rs", "auth-required": true})
    );
    app.patch("/v1/organizations/acme/registries/rs", json!({"public": true})).await;
    let public = app.call(http::Method::GET, "/cargo/acme/rs/index/config.json", None, None).await;
    assert_eq!(public.json["auth-required"], false);
}

#[tokio::test]
async fn a_published_crate_appears_in_the_index_with_its_deps_features_and_checksum() {
    let app = app().await;
    let bytes = crate_file("Demo_Crate", "0.1.0");
    let reply = publish(&app, publish_body(&metadata("Demo_Crate", "0.1.0"), &bytes)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    let index = app.get("/cargo/acme/rs/index/de/mo/demo_crate").await;
    assert_eq!(index.status, StatusCode::OK);
    let request = Request::get("/cargo/acme/rs/index/de/mo/demo_crate")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request).await.unwrap();
    let etag = response.headers()["etag"].clone();
    let text =
        String::from_utf8(axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["name"], "Demo_Crate");
    assert_eq!(line["cksum"], hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)));
    assert_eq!(line["deps"][0]["req"], "^1");
    assert_eq!(line["deps"][0]["registry"], "https://github.com/rust-lang/crates.io-index");
    assert_eq!((line["features2"]["json"].clone(), line["v"].clone()), (json!(["dep:serde_json"]), json!(2)));
    assert_eq!(line["yanked"], false);

    let cached = Request::get("/cargo/acme/rs/index/de/mo/demo_crate")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("if-none-match", etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(cached).await.status, StatusCode::NOT_MODIFIED);
    assert_eq!(app.get("/cargo/acme/rs/index/de/mo/nothing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/cargo/acme/rs/index/xx/yy/demo_crate").await.status,
        StatusCode::NOT_FOUND,
        "a wrong index path served"
    );
}

#[tokio::test]
async fn bad_publishes_get_cargo_errors_and_store_nothing() {
    let app = app().await;
    let malformed = publish(&app, vec![1, 2, 3]).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(detail(&malformed).contains("malformed"), "{:?}", malformed.json);
    let mismatched = publish(&app, publish_body(&metadata("demo", "0.1.0"), &crate_file("other", "0.1.0"))).await;
    assert!(detail(&mismatched).contains("demo-0.1.0/Cargo.toml"), "{:?}", mismatched.json);
    let bad_name = publish(&app, publish_body(&metadata("2demo", "0.1.0"), &crate_file("2demo", "0.1.0"))).await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    let bad_version = publish(&app, publish_body(&metadata("demo", "1.0"), &crate_file("demo", "1.0"))).await;
    assert_eq!(bad_version.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/cargo/acme/rs/index/de/mo/demo").await.status, StatusCode::NOT_FOUND);

    assert_eq!(
        publish(&app, publish_body(&metadata("demo", "0.1.0"), &crate_file("demo", "0.1.0"))).await.status,
        StatusCode::OK
    );
    let again = publish(&app, publish_body(&metadata("demo", "0.1.0"), &crate_file("demo", "0.1.0"))).await;
    assert!(detail(&again).contains("already uploaded"), "{:?}", again.json);
    let other_case = publish(&app, publish_body(&metadata("Demo", "0.2.0"), &crate_file("Demo", "0.2.0"))).await;
    assert!(detail(&other_case).contains("already published as"), "{:?}", other_case.json);
}

#[tokio::test]
async fn yanking_marks_the_index_line_and_unyanking_clears_it() {
    let app = app().await;
    publish(&app, publish_body(&metadata("demo", "0.1.0"), &crate_file("demo", "0.1.0"))).await;
    let yank = app
        .call(http::Method::DELETE, "/cargo/acme/rs/api/v1/crates/demo/0.1.0/yank", Some(&app.admin_token), None)
        .await;
    assert_eq!(yank.json, json!({"ok": true}));
    let request = Request::get("/cargo/acme/rs/index/de/mo/demo")
        .header("authorization", app.admin_token.clone())
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request).await.unwrap();
    let text = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert!(String::from_utf8_lossy(&text).contains("\"yanked\":true"));
    let unknown = app
        .call(http::Method::DELETE, "/cargo/acme/rs/api/v1/crates/demo/9.9.9/yank", Some(&app.admin_token), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let audit = app.get("/v1/organizations/acme/audit-events").await;
    assert_eq!(audit.json["audit_events"][0]["action"], "package.yanked");
}

#[tokio::test]
async fn a_crate_whose_cargo_toml_names_another_version_is_refused_with_400_and_stores_nothing() {
    let app = app().await;
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.2.0\"\n";
    let lying = archives::tar_gz(&[("demo-0.1.0/Cargo.toml", manifest.as_bytes())]);
    let reply = publish(&app, publish_body(&metadata("demo", "0.1.0"), &lying)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.json);
    assert_eq!(detail(&reply), "the .crate file is not demo 0.1.0: its Cargo.toml is for demo 0.2.0");
    let bomb = archives::gzip_bomb(("demo-0.1.0/Cargo.toml", manifest.as_bytes()));
    let reply = publish(&app, publish_body(&metadata("demo", "0.1.0"), &bomb)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.json);
    assert!(detail(&reply).contains("in its first 64 MiB unpacked"), "{:?}", reply.json);
    assert_eq!(app.stored_objects(), 0);
    assert_eq!(app.get("/cargo/acme/rs/index/de/mo/demo").await.status, StatusCode::NOT_FOUND);
}
