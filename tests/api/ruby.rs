//! RubyGems registries in-process: what `gem push` and `gem yank` get back, and what the compact and
//! legacy indexes say after pushes, yanks, deletes and copies; the real clients are in `clients::ruby`.

use std::io::Read;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use serde_json::json;

pub(crate) use packyard_tests::archives::gem_file;

/// `gem push`: the `.gem` as the body, the API key bare in `Authorization`.
pub(crate) async fn push(app: &TestApp, registry: &str, key: &str, gem: Vec<u8>) -> Reply {
    let request = Request::post(format!("/ruby/acme/{registry}/api/v1/gems"))
        .header("host", "packyard.test")
        .header("authorization", key)
        .header("content-type", "application/octet-stream")
        .body(Body::from(gem))
        .unwrap();
    app.send(request).await
}

/// `gem yank`: a form in a DELETE.
pub(crate) async fn yank(app: &TestApp, registry: &str, form: &str) -> Reply {
    let request = Request::delete(format!("/ruby/acme/{registry}/api/v1/gems/yank"))
        .header("authorization", app.admin_token.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    app.send(request).await
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(path).header("authorization", format!("Bearer {}", app.admin_token));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("gems", "ruby").await;
    app
}

async fn pushed(app: &TestApp, gem: Vec<u8>) {
    let reply = push(app, "gems", &app.admin_token, gem).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

fn unzip(bytes: &[u8], zlib: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if zlib {
        flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out).unwrap();
    } else {
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    }
    out
}

async fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let request = Request::get(path).header("authorization", format!("Bearer {}", app.admin_token));
    let response = tower::ServiceExt::oneshot(app.router.clone(), request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()
}

#[tokio::test]
async fn pushed_gems_appear_in_every_index_with_their_dependencies_and_checksums() {
    let app = app().await;
    let base = gem_file("acme-base", "1.0.0", "ruby", &[]);
    let reply = push(&app, "gems", &app.admin_token, base.clone()).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (StatusCode::OK, "Successfully registered gem: acme-base (1.0.0)\n")
    );
    pushed(&app, gem_file("acme-app", "1.0.0", "ruby", &[("acme-base", "~> 1.0")])).await;
    pushed(&app, gem_file("acme-base", "2.0.0.rc1", "ruby", &[])).await;

    let versions = app.get("/ruby/acme/gems/versions").await;
    let lines: Vec<&str> = versions.text.lines().collect();
    assert!(lines[0].starts_with("created_at: ") && lines[1] == "---", "{}", versions.text);
    let info = app.get("/ruby/acme/gems/info/acme-app").await;
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(info.text.as_bytes()));
    assert!(lines.contains(&format!("acme-app 1.0.0 {md5}").as_str()), "{}", versions.text);
    assert_eq!(
        versions.headers["etag"],
        format!("\"{}\"", hex::encode(<md5::Md5 as md5::Digest>::digest(versions.text.as_bytes())))
    );
    assert!(versions.headers["repr-digest"].to_str().unwrap().starts_with("sha-256=:"));
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&base));
    let base_info = app.get("/ruby/acme/gems/info/acme-base").await;
    assert_eq!(
        base_info.text,
        format!(
            "---\n1.0.0 |checksum:{sha}\n2.0.0.rc1 |checksum:{}\n",
            base_info.text.lines().nth(2).unwrap().rsplit(':').next().unwrap()
        )
    );
    assert!(info.text.contains("1.0.0 acme-base:~> 1.0|checksum:"), "{}", info.text);
    assert_eq!(app.get("/ruby/acme/gems/names").await.text, "---\nacme-app\nacme-base\n");
    assert_eq!(app.get("/ruby/acme/gems/info/nope").await.status, StatusCode::NOT_FOUND);

    // The legacy indexes are Marshal 4.8: releases, the latest of each, prereleases apart.
    let specs = unzip(&bytes(&app, "/ruby/acme/gems/specs.4.8.gz").await, false);
    assert!(specs.starts_with(b"\x04\x08[\x07"), "two released versions: {specs:?}");
    let latest = unzip(&bytes(&app, "/ruby/acme/gems/latest_specs.4.8.gz").await, false);
    assert!(latest.windows(5).any(|w| w == b"1.0.0") && !latest.windows(3).any(|w| w == b"rc1"));
    let pre = unzip(&bytes(&app, "/ruby/acme/gems/prerelease_specs.4.8.gz").await, false);
    assert!(pre.windows(9).any(|w| w == b"2.0.0.rc1"));
    let quick = unzip(&bytes(&app, "/ruby/acme/gems/quick/Marshal.4.8/acme-app-1.0.0.gemspec.rz").await, true);
    assert!(quick.starts_with(b"\x04\x08u:\x17Gem::Specification"), "{quick:?}");

    // Downloads redirect to the stored .gem; HEAD answers from metadata.
    let download = app.get("/ruby/acme/gems/gems/acme-base-1.0.0.gem").await;
    assert_eq!(app.follow(&download).await, (StatusCode::OK, bytes::Bytes::from(base.clone())));
    let head = app.call(Method::HEAD, "/ruby/acme/gems/gems/acme-base-1.0.0.gem", Some(&app.admin_token), None).await;
    assert_eq!(
        (head.status, head.headers["content-length"].to_str().unwrap()),
        (StatusCode::OK, base.len().to_string().as_str())
    );
    assert_eq!(app.get("/ruby/acme/gems/gems/acme-base-9.9.9.gem").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pushes_that_are_not_new_intact_gems_are_refused_with_a_reason_and_leave_nothing() {
    let app = app().await;
    pushed(&app, gem_file("acme-base", "1.0.0", "ruby", &[])).await;
    let objects = app.stored_objects();
    let again = push(&app, "gems", &app.admin_token, gem_file("acme-base", "1.0.0", "ruby", &[])).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text.contains("Repushing of gem versions is not allowed"), "{}", again.text);
    let junk = push(&app, "gems", &app.admin_token, b"not a gem".to_vec()).await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST, "{}", junk.text);
    let mut damaged = gem_file("acme-other", "1.0.0", "ruby", &[]);
    let at = damaged.len() / 2;
    damaged[at] ^= 0xff;
    assert_eq!(push(&app, "gems", &app.admin_token, damaged).await.status, StatusCode::BAD_REQUEST);
    let bad_name = push(&app, "gems", &app.admin_token, gem_file("../etc", "1.0.0", "ruby", &[])).await;
    assert!(bad_name.status == StatusCode::BAD_REQUEST && bad_name.text.contains("gem name"), "{}", bad_name.text);
    assert_eq!(app.stored_objects(), objects, "refused pushes left files behind");

    let anonymous = app.send(Request::post("/ruby/acme/gems/api/v1/gems").body(Body::from("x")).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let reader = app.token_with(&["read_packages"]).await;
    let read_only = push(&app, "gems", &reader, gem_file("acme-x", "1.0.0", "ruby", &[])).await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN, "{}", read_only.text);
    app.create_registry("rs", "cargo").await;
    let elsewhere = push(&app, "rs", &app.admin_token, gem_file("acme-x", "1.0.0", "ruby", &[])).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND, "{}", elsewhere.text);
}

#[tokio::test]
async fn platform_gems_are_versions_of_their_own() {
    let app = app().await;
    pushed(&app, gem_file("acme-native", "1.0.0", "ruby", &[])).await;
    pushed(&app, gem_file("acme-native", "1.0.0", "x86_64-linux", &[])).await;
    let info = app.get("/ruby/acme/gems/info/acme-native").await;
    assert!(info.text.contains("\n1.0.0 |") && info.text.contains("\n1.0.0-x86_64-linux |"), "{}", info.text);
    let download = app.get("/ruby/acme/gems/gems/acme-native-1.0.0-x86_64-linux.gem").await;
    assert_eq!(download.status, StatusCode::FOUND);
    let yanked = yank(&app, "gems", "gem_name=acme-native&version=1.0.0&platform=x86_64-linux").await;
    assert_eq!(yanked.text, "Successfully deleted gem: acme-native (1.0.0-x86_64-linux)\n");
    assert!(!app.get("/ruby/acme/gems/info/acme-native").await.text.contains("x86_64-linux"));
}

#[tokio::test]
async fn versions_only_grows_so_bundler_fetches_the_new_end_with_a_range() {
    let app = app().await;
    pushed(&app, gem_file("acme-base", "1.0.0", "ruby", &[])).await;
    pushed(&app, gem_file("acme-base", "1.1.0", "ruby", &[])).await;
    let before = app.get("/ruby/acme/gems/versions").await;
    let etag = before.headers["etag"].to_str().unwrap().to_owned();
    let unchanged = get_with(&app, "/ruby/acme/gems/versions", &[("if-none-match", &etag)]).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);

    let yanked = yank(&app, "gems", "gem_name=acme-base&version=1.1.0").await;
    assert_eq!(yanked.status, StatusCode::OK, "{}", yanked.text);
    let missing = yank(&app, "gems", "gem_name=acme-base&version=9.0.0").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let after = app.get("/ruby/acme/gems/versions").await;
    assert!(after.text.starts_with(&before.text), "{}\nwas\n{}", after.text, before.text);
    let info = app.get("/ruby/acme/gems/info/acme-base").await;
    assert!(!info.text.contains("1.1.0"), "{}", info.text);
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(info.text.as_bytes()));
    assert!(after.text.ends_with(&format!("acme-base -1.1.0 {md5}\n")), "{}", after.text);

    // As bundler asks: its copy's size less one byte, with its copy's ETag.
    let range = format!("bytes={}-", before.text.len() - 1);
    let partial = get_with(&app, "/ruby/acme/gems/versions", &[("range", &range), ("if-none-match", &etag)]).await;
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(format!("{}{}", &before.text[..before.text.len() - 1], partial.text), after.text);
    assert_eq!(partial.headers["etag"], after.headers["etag"]);
    let past_the_end = get_with(&app, "/ruby/acme/gems/versions", &[("range", "bytes=99999-")]).await;
    assert_eq!((past_the_end.status, past_the_end.text), (StatusCode::OK, after.text.clone()));
}

#[tokio::test]
async fn deleting_and_copying_through_the_packages_api_keep_the_indexes_true() {
    let app = app().await;
    app.create_registry("stable", "ruby").await;
    pushed(&app, gem_file("acme-base", "1.0.0", "ruby", &[])).await;
    pushed(&app, gem_file("acme-base", "1.1.0", "ruby", &[])).await;
    let listed = app.get("/v1/organizations/acme/registries/gems/packages?name=acme-base").await;
    let ids: Vec<(String, String)> = listed.json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["version"].as_str().unwrap().to_owned(), p["id"].as_str().unwrap().to_owned()))
        .collect();
    let id_of = |version: &str| ids.iter().find(|(v, _)| v == version).unwrap().1.clone();
    let copy = format!("/v1/organizations/acme/registries/gems/packages/{}/copy", id_of("1.0.0"));
    assert_eq!(app.post(&copy, json!({"destination": "stable"})).await.status, StatusCode::CREATED);
    assert!(app.get("/ruby/acme/stable/info/acme-base").await.text.contains("\n1.0.0 |"));
    let deleted = app.delete(&format!("/v1/organizations/acme/registries/gems/packages/{}", id_of("1.1.0"))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.json);
    assert!(!app.get("/ruby/acme/gems/info/acme-base").await.text.contains("1.1.0"));
    assert!(app.get("/ruby/acme/gems/versions").await.text.contains("acme-base -1.1.0 "));
}

#[tokio::test]
async fn a_public_registry_serves_its_indexes_to_anyone_and_a_private_one_asks_for_basic_credentials() {
    let app = app().await;
    pushed(&app, gem_file("acme-base", "1.0.0", "ruby", &[])).await;
    let anonymous = app.call(Method::GET, "/ruby/acme/gems/versions", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    // bundler sends the credentials of the source URL as Basic.
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("x:{}", app.admin_token));
    let with_basic = get_with(&app, "/ruby/acme/gems/info/acme-base", &[]).await;
    assert_eq!(with_basic.status, StatusCode::OK);
    let request = Request::get("/ruby/acme/gems/names").header("authorization", format!("Basic {basic}"));
    assert_eq!(app.send(request.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    app.patch("/v1/organizations/acme/registries/gems", json!({"public": true})).await;
    let public = app.call(Method::GET, "/ruby/acme/gems/versions", None, None).await;
    assert_eq!(public.status, StatusCode::OK);
    let anonymous_push = app.send(Request::post("/ruby/acme/gems/api/v1/gems").body(Body::from("x")).unwrap()).await;
    assert_eq!(anonymous_push.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_ci_jobs_oidc_token_pushes_as_gem_host_api_key_and_a_registry_token_only_reads() {
    // Registry tokens are sealed so they can be shown again, which takes a secrets key.
    let app = TestApp::with_secrets_key().await;
    let registry = app.create_registry("gems", "ruby").await;
    let issuer = packyard_tests::oidc::Issuer::start().await;
    let policy =
        format!("- iss: {}\n  scopes: [read_packages, write_packages]\n  claims:\n    branch: main\n", issuer.url);
    let request = Request::put("/v1/organizations/acme/registries/gems/oidc-policy")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/yaml")
        .body(Body::from(policy))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    let audience = format!("packyard:acme:{}", registry["id"].as_str().unwrap());
    let job = issuer.token(json!({"aud": audience, "branch": "main"}));
    let pushed = push(&app, "gems", &job, gem_file("acme-ci", "1.0.0", "ruby", &[])).await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let published = events.json["audit_events"].as_array().unwrap().iter().find(|e| e["action"] == "package.published");
    let actor = published.map(|event| event["actor"]["name"].as_str().unwrap_or_default());
    assert!(actor.is_some_and(|name| name.starts_with("OIDC ")), "the job is the actor: {}", events.json);

    let created = app.post("/v1/organizations/acme/registries/gems/tokens", json!({"description": "bundler"})).await;
    let read_token = created.json["token"].as_str().unwrap().to_owned();
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("token:{read_token}"));
    let request = Request::get("/ruby/acme/gems/info/acme-ci").header("authorization", format!("Basic {basic}"));
    let read = app.send(request.body(Body::empty()).unwrap()).await;
    assert!(read.status == StatusCode::OK && read.text.contains("1.0.0 |checksum:"), "{}", read.text);
    let refused = push(&app, "gems", &read_token, gem_file("acme-ci", "1.1.0", "ruby", &[])).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
}
