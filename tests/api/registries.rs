//! Registries: create, list with cursors, get, rename, make public, delete.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::json;

const REGISTRIES: &str = "/v1/organizations/acme/registries";

#[tokio::test]
async fn creating_a_registry_derives_its_slug_and_starts_private() {
    let app = TestApp::new().await;
    let reply = app
        .post(REGISTRIES, json!({"name": "Front End (npm)", "ecosystem": "npm", "description": "UI packages", "emoji": ":package:", "color": "#FFAA00"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
    assert_eq!(reply.json["slug"], "front-end-npm");
    assert_eq!(reply.json["public"], false);
    assert_eq!(reply.json["color"], "#ffaa00");
    assert_eq!(reply.json["url"], "http://packyard.test/v1/organizations/acme/registries/front-end-npm");
    assert_eq!(reply.headers["location"], "http://packyard.test/v1/organizations/acme/registries/front-end-npm");

    let fetched = app.get(&format!("{REGISTRIES}/front-end-npm")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json["description"], "UI packages");
    assert_eq!(fetched.json["id"], reply.json["id"]);
    assert_eq!(fetched.headers["etag"], "\"1\"");
}

#[tokio::test]
async fn a_second_registry_with_the_same_slug_is_refused_with_409_and_the_first_is_untouched() {
    let app = TestApp::new().await;
    let first = app.create_registry("Backend", "cargo").await;
    let reply = app.post(REGISTRIES, json!({"name": "backend!", "ecosystem": "python"})).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.error_message().contains("slug backend"), "{}", reply.error_message());
    let kept = app.get(&format!("{REGISTRIES}/backend")).await;
    assert_eq!((kept.json["ecosystem"].as_str(), &kept.json["id"]), (Some("cargo"), &first["id"]));
}

#[tokio::test]
async fn listing_pages_through_every_registry_with_links_next() {
    let app = TestApp::new().await;
    for index in 0..5 {
        app.create_registry(&format!("reg {index}"), "files").await;
    }
    let mut seen = Vec::new();
    let mut path = format!("{REGISTRIES}?per_page=2");
    loop {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
        let page = reply.json["registries"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|registry| registry["slug"].as_str().unwrap().to_owned()));
        match reply.json["links"]["next"].as_str() {
            Some(next) => path = next.trim_start_matches("http://packyard.test").to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["reg-0", "reg-1", "reg-2", "reg-3", "reg-4"]);
}

#[tokio::test]
async fn renaming_moves_the_registry_to_its_new_slug_and_says_so() {
    let app = TestApp::new().await;
    let created = app.create_registry("Old Name", "npm").await;
    let reply = app.patch(&format!("{REGISTRIES}/old-name"), json!({"name": "New Name"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    assert_eq!(reply.json["slug"], "new-name");
    assert_eq!(reply.json["renamed_from"], "old-name");
    assert_eq!(reply.json["id"], created["id"]);
    assert_eq!(reply.headers["location"], "http://packyard.test/v1/organizations/acme/registries/new-name");
    assert_eq!(app.get(&format!("{REGISTRIES}/old-name")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{REGISTRIES}/new-name")).await.json["created_at"], created["created_at"]);
}

#[tokio::test]
async fn renaming_onto_a_taken_slug_is_a_409_that_changes_nothing() {
    let app = TestApp::new().await;
    app.create_registry("alpha", "npm").await;
    app.create_registry("beta", "npm").await;
    let reply = app.patch(&format!("{REGISTRIES}/alpha"), json!({"name": "Beta"})).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.json);
    assert_eq!(app.get(&format!("{REGISTRIES}/alpha")).await.json["name"], "alpha");
    assert_eq!(app.get(&format!("{REGISTRIES}/beta")).await.json["name"], "beta");
}

#[tokio::test]
async fn updates_change_only_the_fields_sent_and_null_clears_an_optional_field() {
    let app = TestApp::new().await;
    app.post(REGISTRIES, json!({"name": "docs", "ecosystem": "files", "description": "d", "color": "#000000"})).await;
    let reply = app.patch(&format!("{REGISTRIES}/docs"), json!({"description": null, "public": true})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    assert_eq!(reply.json["description"], serde_json::Value::Null);
    assert_eq!(reply.json["color"], "#000000");
    assert_eq!(reply.json["public"], true);
    assert_eq!(reply.headers["etag"], "\"2\"");
}

#[tokio::test]
async fn the_ecosystem_cannot_change_after_creation() {
    let app = TestApp::new().await;
    app.create_registry("images", "oci").await;
    let reply = app.patch(&format!("{REGISTRIES}/images"), json!({"ecosystem": "npm"})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["error"]["field"], "ecosystem");
    assert_eq!(app.get(&format!("{REGISTRIES}/images")).await.json["ecosystem"], "oci");
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412() {
    let app = TestApp::new().await;
    app.create_registry("pinned", "npm").await;
    app.patch(&format!("{REGISTRIES}/pinned"), json!({"description": "v2"})).await;
    let request = http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("{REGISTRIES}/pinned"))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .header("if-match", "\"1\"")
        .body(axum::body::Body::from(r#"{"description": "v3"}"#))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED, "{:?}", reply.json);
    assert_eq!(app.get(&format!("{REGISTRIES}/pinned")).await.json["description"], "v2");
}

#[tokio::test]
async fn deleting_removes_the_registry_and_queues_its_packages_for_removal() {
    let app = TestApp::new().await;
    let created = app.create_registry("doomed", "npm").await;
    assert_eq!(app.delete(&format!("{REGISTRIES}/doomed")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("{REGISTRIES}/doomed")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&format!("{REGISTRIES}/doomed")).await.status, StatusCode::NOT_FOUND);
    let job = app.store.get("DELETIONS", created["id"].as_str().unwrap()).await.unwrap();
    assert!(job.is_some(), "no deletion job was queued");
    // The slug is free again, for a new registry with a new id.
    let again = app.create_registry("doomed", "files").await;
    assert_ne!(again["id"], created["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_slug_produce_exactly_one_registry() {
    let app = TestApp::new().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let router = app.router.clone();
        let request = http::Request::post(REGISTRIES)
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"name": "race", "ecosystem": "npm"}"#))
            .unwrap();
        tasks.spawn(async move { tower::ServiceExt::oneshot(router, request).await.unwrap().status() });
    }
    let statuses = tasks.join_all().await;
    let created = statuses.iter().filter(|status| **status == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    let listed = app.get(REGISTRIES).await;
    assert_eq!(listed.json["registries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_registry_read_moments_ago_still_answers_a_change_at_once_in_the_same_container() {
    let app = TestApp::new().await;
    app.create_registry("tools", "files").await;
    let packages = "/v1/organizations/acme/registries/tools/packages";
    // Read while private: this container now keeps the registry for a few seconds.
    assert_eq!(app.get(packages).await.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, packages, None, None).await.status, StatusCode::UNAUTHORIZED);
    app.patch(&format!("{REGISTRIES}/tools"), json!({"public": true})).await;
    assert_eq!(app.call(Method::GET, packages, None, None).await.status, StatusCode::OK, "made public");
    app.patch(&format!("{REGISTRIES}/tools"), json!({"public": false})).await;
    assert_eq!(app.call(Method::GET, packages, None, None).await.status, StatusCode::UNAUTHORIZED, "made private");
    assert_eq!(app.delete(&format!("{REGISTRIES}/tools")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(packages).await.status, StatusCode::NOT_FOUND, "deleted");
}

/// Two Lambda containers on one table: the warm one has just served a public registry from memory; the other
/// makes it private, and once that change has answered the warm one asks for a token too.
#[tokio::test]
async fn a_registry_made_private_through_another_container_is_closed_once_the_change_answers() {
    let app = TestApp::on_aws().await;
    let warm = app.another_container().await;
    app.create_registry("tools", "files").await;
    app.patch(&format!("{REGISTRIES}/tools"), json!({"public": true})).await;
    let packages = "/v1/organizations/acme/registries/tools/packages";
    assert_eq!(warm.call(Method::GET, packages, None, None).await.status, StatusCode::OK);

    let changed = app.patch(&format!("{REGISTRIES}/tools"), json!({"public": false})).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.json);
    assert_eq!(warm.call(Method::GET, packages, None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(warm.get(packages).await.status, StatusCode::OK, "a token still reads it");
}
