//! The npm publish endpoint's own checks, for clients that do not check first: the tarball decides the
//! name and version, digests must match, a version is never overwritten.

use axum::body::Body;
use http::{Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use packyard_tests::archives;
use serde_json::{Value, json};

pub(crate) fn tarball(name: &str, version: &str) -> Vec<u8> {
    archives::npm_tarball(name, version)
}

pub(crate) fn document(name: &str, version: &str, tarball: &[u8]) -> Value {
    archives::npm_document(name, version, tarball)
}

pub(crate) async fn put(app: &TestApp, name: &str, body: &Value) -> Reply {
    let request = Request::put(format!("/npm/acme/js/{}", name.replace('/', "%2f")))
        .header("host", "packyard.test")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("js", "npm").await;
    app
}

#[tokio::test]
async fn a_republish_is_a_409_in_npms_error_shape() {
    let app = app().await;
    assert_eq!(
        put(&app, "@acme/x", &document("@acme/x", "1.0.0", &tarball("@acme/x", "1.0.0"))).await.status,
        StatusCode::CREATED
    );
    let again = put(&app, "@acme/x", &document("@acme/x", "1.0.0", &tarball("@acme/x", "1.0.0"))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.json["error"].as_str().unwrap().contains("cannot publish over the previously published version 1.0.0"),
        "{:?}",
        again.json
    );
}

#[tokio::test]
async fn the_tarball_must_agree_with_the_document() {
    let app = app().await;
    let mismatched = put(&app, "left", &document("left", "1.0.0", &tarball("right", "1.0.0"))).await;
    assert_eq!(mismatched.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatched.json["error"].as_str().unwrap().contains("right@1.0.0"), "{:?}", mismatched.json);
    let wrong_version = put(&app, "left", &document("left", "1.0.0", &tarball("left", "2.0.0"))).await;
    assert_eq!(wrong_version.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut lying = document("left", "1.0.0", &tarball("left", "1.0.0"));
    lying["versions"]["1.0.0"]["dist"]["shasum"] = json!("0000000000000000000000000000000000000000");
    assert_eq!(put(&app, "left", &lying).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut not_a_tarball = document("left", "1.0.0", b"plain text");
    not_a_tarball["_attachments"]["left-1.0.0.tgz"]["length"] = json!(999_999);
    assert_eq!(put(&app, "left", &not_a_tarball).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let elsewhere = put(&app, "other", &document("left", "1.0.0", &tarball("left", "1.0.0"))).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_name = put(&app, "Left", &document("Left", "1.0.0", &tarball("Left", "1.0.0"))).await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = app
        .send(
            Request::put("/npm/acme/js/left")
                .header("authorization", format!("Bearer {}", app.admin_token))
                .body(Body::from("{"))
                .unwrap(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let packument = app.get("/npm/acme/js/left").await;
    assert_eq!(packument.status, StatusCode::NOT_FOUND, "a refused publish left a version behind");
}

#[tokio::test]
async fn the_packument_lists_versions_tags_and_digests_of_the_stored_tarball() {
    let app = app().await;
    let bytes = tarball("lib", "1.0.0");
    put(&app, "lib", &document("lib", "1.0.0", &bytes)).await;
    let packument = app.get("/npm/acme/js/lib").await;
    assert_eq!(packument.status, StatusCode::OK);
    assert_eq!(packument.json["dist-tags"]["latest"], "1.0.0");
    let dist = &packument.json["versions"]["1.0.0"]["dist"];
    assert_eq!(dist["shasum"], hex::encode(<sha1_digest::Sha1 as sha1_digest::Digest>::digest(&bytes)));
    assert_eq!(dist["tarball"], "http://packyard.test/npm/acme/js/lib/-/lib-1.0.0.tgz");
    let download = app.get("/npm/acme/js/lib/-/lib-1.0.0.tgz").await;
    assert_eq!(app.follow(&download).await.1.as_ref(), bytes.as_slice());
    let files = app.get("/npm/acme/tools-not-npm/lib").await;
    assert_eq!(files.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn npm_install_gets_the_abbreviated_packument_and_a_version_by_tag_without_the_rest() {
    let app = app().await;
    for version in ["1.0.0", "1.1.0"] {
        let mut body = document("lean", version, &tarball("lean", version));
        body["versions"][version]["readme"] = json!("a long readme");
        body["versions"][version]["dependencies"] = json!({"left-pad": "^1.0.0"});
        body["versions"][version]["scripts"] = json!({"test": "true"});
        assert_eq!(put(&app, "lean", &body).await.status, StatusCode::CREATED);
    }
    let request = Request::get("/npm/acme/js/lean")
        .header("host", "packyard.test")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
        .body(Body::empty())
        .unwrap();
    let corgi = app.send(request).await;
    assert_eq!(corgi.status, StatusCode::OK);
    assert_eq!(corgi.headers["content-type"], "application/vnd.npm.install-v1+json");
    assert_eq!(corgi.json["dist-tags"]["latest"], "1.1.0");
    assert!(corgi.json["modified"].is_string(), "{:?}", corgi.json);
    let version = &corgi.json["versions"]["1.0.0"];
    assert_eq!(version["dependencies"]["left-pad"], "^1.0.0");
    assert_eq!(version["dist"]["tarball"], "http://packyard.test/npm/acme/js/lean/-/lean-1.0.0.tgz");
    assert!(version.get("readme").is_none() && version.get("scripts").is_none(), "{version:?}");
    assert!(corgi.json.get("time").is_none() && corgi.json.get("readme").is_none(), "{:?}", corgi.json);

    let full = app.get("/npm/acme/js/lean").await;
    assert_eq!(full.json["versions"]["1.0.0"]["scripts"]["test"], "true");
    assert!(full.json["time"]["1.1.0"].is_string(), "{:?}", full.json);
    let tagged = app.get("/npm/acme/js/lean/latest").await;
    assert_eq!((tagged.status, &tagged.json["version"]), (StatusCode::OK, &json!("1.1.0")));
    assert_eq!(app.get("/npm/acme/js/lean/1.0.0").await.json["_id"], "lean@1.0.0");
    assert_eq!(app.get("/npm/acme/js/lean/9.9.9").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_tarball_that_unpacks_past_the_budget_is_refused_with_422_and_stores_nothing() {
    let app = app().await;
    let manifest = json!({"name": "bomb", "version": "1.0.0"}).to_string();
    let bomb = archives::gzip_bomb(("package/package.json", manifest.as_bytes()));
    let refused = put(&app, "bomb", &document("bomb", "1.0.0", &bomb)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.json);
    let message = refused.json["error"].as_str().unwrap();
    assert!(message.contains("holds no package/package.json in its first 64 MiB unpacked"), "{message}");
    let truncated = tarball("bomb", "1.0.0");
    let refused = put(&app, "bomb", &document("bomb", "1.0.0", &truncated[..truncated.len() / 2])).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.json);
    assert!(refused.json["error"].as_str().unwrap().contains("not a readable gzipped tar"), "{:?}", refused.json);
    assert_eq!(app.stored_objects(), 0);
    assert_eq!(app.get("/npm/acme/js/bomb").await.status, StatusCode::NOT_FOUND);
}
