//! Packages through the REST API: direct and presigned publishing, immutability, downloads that redirect,
//! listing, copying and deleting.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::json;
use sha2::{Digest, Sha256};

const PACKAGES: &str = "/v1/organizations/acme/registries/tools/packages";

async fn app_with_files_registry() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("tools", "files").await;
    app
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_published_file_downloads_through_a_redirect_with_the_same_bytes() {
    let app = app_with_files_registry().await;
    let bytes = b"#!/bin/sh\necho tool 1.2.3\n";
    let published = app.publish_file("tools", "tool-1.2.3.tar.gz", bytes).await;
    assert_eq!(published.status, StatusCode::CREATED, "{:?}", published.json);
    assert_eq!((published.json["name"].as_str(), published.json["version"].as_str()), (Some("tool"), Some("1.2.3")));
    assert_eq!(published.json["files"][0]["sha256"], sha256(bytes));
    assert_eq!(published.json["files"][0]["storage"], "hosted");
    assert_eq!(published.json["creator"]["name"], "bootstrap admin token");

    let id = published.json["id"].as_str().unwrap();
    let download = app.get(&format!("{PACKAGES}/{id}/download")).await;
    assert_eq!(download.headers["cache-control"], "no-store");
    let (status, downloaded) = app.follow(&download).await;
    assert_eq!((status, downloaded.as_ref()), (StatusCode::OK, bytes.as_slice()));

    let by_name = app.get("/files/acme/tools/tool-1.2.3.tar.gz").await;
    assert_eq!(app.follow(&by_name).await.1.as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn head_is_answered_from_metadata_without_a_redirect() {
    let app = app_with_files_registry().await;
    let published = app.publish_file("tools", "tool-1.0.0.bin", b"0123456789").await;
    let id = published.json["id"].as_str().unwrap();
    for path in [format!("{PACKAGES}/{id}/download"), "/files/acme/tools/tool-1.0.0.bin".to_owned()] {
        let head = app.call(Method::HEAD, &path, Some(&app.admin_token), None).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(!head.headers.contains_key("location"), "{path} redirected");
        assert_eq!(head.headers["content-length"], "10");
        assert_eq!(head.headers["x-checksum-sha256"], sha256(b"0123456789"));
    }
}

#[tokio::test]
async fn publishing_an_existing_version_is_rejected_with_409_and_changes_nothing() {
    let app = app_with_files_registry().await;
    let first = app.publish_file("tools", "tool-2.0.0.zip", b"original").await;
    let again = app.publish_file("tools", "tool-2.0.0.zip", b"replacement").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.json);
    assert!(again.error_message().contains("immutable"), "{}", again.error_message());
    let id = first.json["id"].as_str().unwrap();
    let (_, bytes) = app.follow(&app.get(&format!("{PACKAGES}/{id}/download")).await).await;
    assert_eq!(bytes.as_ref(), b"original");
    assert_eq!(app.get(PACKAGES).await.json["packages"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishes_of_one_version_have_exactly_one_winner() {
    let app = std::sync::Arc::new(app_with_files_registry().await);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        let app = std::sync::Arc::clone(&app);
        tasks.spawn(async move {
            app.publish_file("tools", "race-1.0.0.bin", format!("contender {n}").as_bytes()).await.status
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    let listed = app.get(PACKAGES).await;
    assert_eq!(listed.json["packages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_file_names_and_oversize_uploads_are_4xx_naming_the_problem() {
    let app = app_with_files_registry().await;
    let unversioned = app.publish_file("tools", "tool.tar.gz", b"x").await;
    assert_eq!(
        (unversioned.status, unversioned.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file"))
    );
    let sneaky = app.publish_file("tools", "..-1.0.0.bin", b"x").await;
    assert!(sneaky.status.is_client_error(), "{:?}", sneaky.json);

    let small = TestApp::with_config(packyard::config::Config { max_body_bytes: 1024, ..Default::default() }).await;
    small.create_registry("tools", "files").await;
    let big = small.publish_file("tools", "big-1.0.0.bin", &vec![7_u8; 4096]).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", big.json);
    assert!(big.error_message().contains("presigned"), "{}", big.error_message());
    assert_eq!(small.get(PACKAGES).await.json["packages"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_presigned_upload_becomes_a_package_only_after_a_verified_finalize() {
    let app = app_with_files_registry().await;
    let bytes = vec![42_u8; 100_000];
    let uploads = "/v1/organizations/acme/registries/tools/uploads";
    let started =
        app.post(uploads, json!({"filename": "data-1.0.0.bin", "size": bytes.len(), "sha256": sha256(&bytes)})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.json);
    let url = started.json["url"].as_str().unwrap();
    assert_eq!(app.get(PACKAGES).await.json["packages"].as_array().unwrap().len(), 0, "visible before finalize");

    let unbound = http::Request::put(url.strip_prefix("http://packyard.test").unwrap())
        .body(axum::body::Body::from(bytes.clone()))
        .unwrap();
    assert_eq!(app.send(unbound).await.status, StatusCode::FORBIDDEN, "a PUT without its signed SHA-256 header");
    assert_eq!(app.put_signed(&started.json, url, bytes.clone()).await.status, StatusCode::OK);
    let id = started.json["id"].as_str().unwrap();
    let completed = app.post(&format!("{uploads}/{id}/complete"), json!({})).await;
    assert_eq!(completed.status, StatusCode::CREATED, "{:?}", completed.json);
    assert_eq!(completed.json["files"][0]["sha256"], sha256(&bytes));
    let package = completed.json["id"].as_str().unwrap();
    let (_, downloaded) = app.follow(&app.get(&format!("{PACKAGES}/{package}/download")).await).await;
    assert_eq!(downloaded.len(), bytes.len());
    let twice = app.post(&format!("{uploads}/{id}/complete"), json!({})).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND, "an upload finalized twice");
}

#[tokio::test]
async fn an_upload_whose_bytes_do_not_match_the_declared_digest_is_discarded() {
    let app = app_with_files_registry().await;
    let uploads = "/v1/organizations/acme/registries/tools/uploads";
    // A single PUT is bound to the declared SHA-256: the store refuses other bytes and keeps nothing.
    let started = app.post(uploads, json!({"filename": "data-1.0.0.bin", "size": 5, "sha256": sha256(b"hello")})).await;
    let refused = app.put_signed(&started.json, started.json["url"].as_str().unwrap(), "HELLO").await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, "BadDigest"), "{}", refused.text);
    let id = started.json["id"].as_str().unwrap();
    let completed = app.post(&format!("{uploads}/{id}/complete"), json!({})).await;
    assert_eq!(
        (completed.status, completed.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("upload"))
    );
    // Parts are checked when the upload completes, by hashing the object as it streams back.
    let size = (64 << 20) + 5;
    let declared = sha256(&vec![1_u8; size]);
    let started =
        app.post(uploads, json!({"filename": "data-2.0.0.bin", "size": size, "sha256": declared, "parts": true})).await;
    let mut parts = Vec::new();
    for (index, part) in started.json["parts"].as_array().unwrap().iter().enumerate() {
        let length = if index == 0 { 64 << 20 } else { 5 };
        let put = app.put_signed(&json!({}), part["url"].as_str().unwrap(), vec![2_u8; length]).await;
        parts.push(json!({"number": part["number"], "etag": put.headers["etag"].to_str().unwrap()}));
    }
    let id = started.json["id"].as_str().unwrap();
    let completed = app.post(&format!("{uploads}/{id}/complete"), json!({"parts": parts})).await;
    assert_eq!(
        (completed.status, completed.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("sha256")),
        "{:?}",
        completed.json
    );
    assert_eq!(app.get(PACKAGES).await.json["packages"].as_array().unwrap().len(), 0);
    let bad = app.post(uploads, json!({"filename": "data-1.0.0.bin", "size": 5, "sha256": "nothex"})).await;
    assert_eq!(bad.json["error"]["field"], "sha256");
}

#[tokio::test]
async fn uploads_never_finalized_are_swept_with_their_bytes() {
    let app = app_with_files_registry().await;
    let uploads = "/v1/organizations/acme/registries/tools/uploads";
    let started = app.post(uploads, json!({"filename": "lost-1.0.0.bin", "size": 4, "sha256": sha256(b"lost")})).await;
    assert_eq!(
        app.put_signed(&started.json, started.json["url"].as_str().unwrap(), "lost").await.status,
        StatusCode::OK
    );
    assert_eq!(app.state.uploads.sweep(chrono::Utc::now()).await.unwrap(), 0, "swept an unexpired upload");
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    assert_eq!(app.state.uploads.sweep(later).await.unwrap(), 1);
    let id = started.json["id"].as_str().unwrap();
    assert_eq!(app.post(&format!("{uploads}/{id}/complete"), json!({})).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listing_is_newest_first_pages_with_a_cursor_and_filters_by_name() {
    let app = app_with_files_registry().await;
    for file in ["a-1.0.0.bin", "b-1.0.0.bin", "a-1.1.0.bin", "a-2.0.0.bin"] {
        assert_eq!(app.publish_file("tools", file, file.as_bytes()).await.status, StatusCode::CREATED);
    }
    let first = app.get(&format!("{PACKAGES}?per_page=3")).await;
    let versions: Vec<_> = first.json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}@{}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert_eq!(versions, ["a@2.0.0", "a@1.1.0", "b@1.0.0"]);
    let next = first.json["links"]["next"].as_str().unwrap().trim_start_matches("http://packyard.test").to_owned();
    assert_eq!(app.get(&next).await.json["packages"][0]["version"], "1.0.0");
    let only_a = app.get(&format!("{PACKAGES}?name=a&per_page=2")).await;
    let versions: Vec<_> =
        only_a.json["packages"].as_array().unwrap().iter().map(|p| p["version"].as_str().unwrap().to_owned()).collect();
    assert_eq!(versions, ["2.0.0", "1.1.0"]);
    assert!(only_a.json["links"]["next"].as_str().unwrap().contains("name=a"));
}

#[tokio::test]
async fn deleting_a_package_removes_it_and_its_download_and_is_audited() {
    let app = app_with_files_registry().await;
    let published = app.publish_file("tools", "gone-1.0.0.bin", b"bytes").await;
    let id = published.json["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("{PACKAGES}/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("{PACKAGES}/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{PACKAGES}/{id}/download")).await.status, StatusCode::NOT_FOUND);
    let audit = app.get("/v1/organizations/acme/audit-events").await;
    assert_eq!(audit.json["audit_events"][0]["action"], "package.deleted");
    assert_eq!(audit.json["audit_events"][1]["action"], "package.published");
    // The version is free again once deleted, as on a registry with unpublish.
    assert_eq!(app.publish_file("tools", "gone-1.0.0.bin", b"new bytes").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_package_copies_to_another_registry_of_the_same_ecosystem_only() {
    let app = app_with_files_registry().await;
    app.create_registry("tools-stable", "files").await;
    app.create_registry("js", "npm").await;
    let published = app.publish_file("tools", "promote-3.0.0.bin", b"release candidate").await;
    let id = published.json["id"].as_str().unwrap();
    let copied = app.post(&format!("{PACKAGES}/{id}/copy"), json!({"destination": "tools-stable"})).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{:?}", copied.json);
    assert_eq!(copied.json["registry"], "tools-stable");
    assert_eq!(copied.json["files"][0]["sha256"], published.json["files"][0]["sha256"]);
    let copy_id = copied.json["id"].as_str().unwrap();
    let (_, bytes) = app
        .follow(&app.get(&format!("/v1/organizations/acme/registries/tools-stable/packages/{copy_id}/download")).await)
        .await;
    assert_eq!(bytes.as_ref(), b"release candidate");
    let again = app.post(&format!("{PACKAGES}/{id}/copy"), json!({"destination": "tools-stable"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let wrong = app.post(&format!("{PACKAGES}/{id}/copy"), json!({"destination": "js"})).await;
    assert_eq!(
        (wrong.status, wrong.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("destination"))
    );
}

#[tokio::test]
async fn package_routes_enforce_scopes_organizations_and_public_reads() {
    let app = app_with_files_registry().await;
    let published = app.publish_file("tools", "guarded-1.0.0.bin", b"x").await;
    let id = published.json["id"].as_str().unwrap();
    let reader = app.token_with(&["read_packages"]).await;
    let denied = app.publish_file_as(&reader, "tools", "guarded-2.0.0.bin", b"x").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::DELETE, &format!("{PACKAGES}/{id}"), Some(&reader), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.call(Method::GET, &format!("{PACKAGES}/{id}"), Some(&reader), None).await.status, StatusCode::OK);
    let other = TestApp::bootstrap(&app.state, "globex").await;
    assert_eq!(app.call(Method::GET, PACKAGES, Some(&other), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, PACKAGES, None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(Method::GET, "/files/acme/tools/guarded-1.0.0.bin", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    app.patch("/v1/organizations/acme/registries/tools", json!({"public": true})).await;
    assert_eq!(app.call(Method::GET, PACKAGES, None, None).await.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::GET, "/files/acme/tools/guarded-1.0.0.bin", None, None).await.status,
        StatusCode::FOUND
    );
    let anonymous = app.call(Method::DELETE, &format!("{PACKAGES}/{id}"), None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn housekeeping_removes_the_packages_and_files_of_a_deleted_registry() {
    let app = app_with_files_registry().await;
    app.create_registry("kept", "files").await;
    let doomed = app.publish_file("tools", "doomed-1.0.0.bin", b"doomed").await;
    app.publish_file("tools", "doomed-1.1.0.bin", b"doomed too").await;
    let kept = app.publish_file("kept", "kept-1.0.0.bin", b"kept").await;
    let blobs = app.state.blobs.clone();
    let doomed_key = packyard::ports::blob::StorageKey::parse(&stored_key(&app, "tools", &doomed).await).unwrap();
    assert!(blobs.head(&doomed_key).await.unwrap().is_some());

    assert_eq!(app.delete("/v1/organizations/acme/registries/tools").await.status, StatusCode::NO_CONTENT);
    let report = app.state.housekeeping.run(chrono::Utc::now()).await.unwrap();
    assert_eq!((report.registries_purged, report.packages_removed), (1, 2));
    assert_eq!(blobs.head(&doomed_key).await.unwrap(), None, "the deleted registry's file is still stored");
    let kept_id = kept.json["id"].as_str().unwrap();
    let (_, bytes) = app
        .follow(&app.get(&format!("/v1/organizations/acme/registries/kept/packages/{kept_id}/download")).await)
        .await;
    assert_eq!(bytes.as_ref(), b"kept");
    assert_eq!(
        app.state.housekeeping.run(chrono::Utc::now()).await.unwrap(),
        Default::default(),
        "a second run found work"
    );
}

/// The storage key of a package's first file, read from the store the way the service does.
async fn stored_key(app: &TestApp, registry: &str, published: &packyard_tests::app::Reply) -> String {
    let registry =
        app.state.registries.get(&"acme".try_into().unwrap(), &registry.try_into().unwrap()).await.unwrap().0;
    let package = app.state.packages.get(&registry, published.json["id"].as_str().unwrap()).await.unwrap();
    package.files[0].key.clone()
}
