//! A busy CI fleet: concurrent writes that do not conflict all land (distinct versions, dist-tags, yanks),
//! and a true conflict (one version published twice at once) still has exactly one winner. npm and cargo
//! do not retry a 409, so a lost race that is not a real conflict must never reach them.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use packyard_tests::archives::{cargo_publish_body, crate_file, npm_document, npm_tarball};
use serde_json::json;

const WRITERS: usize = 20;

async fn npm_publish(app: &TestApp, name: &str, version: &str) -> Reply {
    let document = npm_document(name, version, &npm_tarball(name, version));
    let request = Request::put(format!("/npm/acme/js/{name}"))
        .header("host", "packyard.test")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .body(Body::from(document.to_string()))
        .unwrap();
    app.send(request).await
}

/// Runs `WRITERS` copies of a request at once, each given its index, and returns their statuses.
async fn all_at_once<F, Fut>(request: F) -> Vec<StatusCode>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let tasks: Vec<_> = (0..WRITERS).map(|index| tokio::spawn(request(index))).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    statuses
}

async fn npm_app() -> std::sync::Arc<TestApp> {
    let app = TestApp::new().await;
    app.create_registry("js", "npm").await;
    std::sync::Arc::new(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_npm_publishes_of_distinct_versions_all_land() {
    let app = npm_app().await;
    let statuses = all_at_once(|index| {
        let app = std::sync::Arc::clone(&app);
        async move { npm_publish(&app, "busy", &format!("1.0.{index}")).await }
    })
    .await;
    assert_eq!(statuses, vec![StatusCode::CREATED; WRITERS]);
    let packument = app.call(Method::GET, "/npm/acme/js/busy", Some(&app.admin_token), None).await;
    assert_eq!(packument.json["versions"].as_object().unwrap().len(), WRITERS);
    let latest = packument.json["dist-tags"]["latest"].as_str().unwrap();
    assert!(packument.json["versions"].get(latest).is_some(), "latest points at a published version: {latest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishes_of_one_version_have_exactly_one_winner() {
    let app = npm_app().await;
    let statuses = all_at_once(|_| {
        let app = std::sync::Arc::clone(&app);
        async move { npm_publish(&app, "contested", "1.0.0").await }
    })
    .await;
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| [StatusCode::CREATED, StatusCode::CONFLICT].contains(status)), "{statuses:?}");
    let packages = app.get("/v1/organizations/acme/registries/js/packages").await;
    assert_eq!(packages.json["packages"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dist_tag_changes_of_one_package_all_land() {
    let app = npm_app().await;
    assert_eq!(npm_publish(&app, "tagged", "1.0.0").await.status, StatusCode::CREATED);
    let statuses = all_at_once(|index| {
        let app = std::sync::Arc::clone(&app);
        async move {
            let request = Request::put(format!("/npm/acme/js/-/package/tagged/dist-tags/tag{index}"))
                .header("authorization", format!("Bearer {}", app.admin_token))
                .header("content-type", "application/json")
                .body(Body::from("\"1.0.0\""))
                .unwrap();
            app.send(request).await
        }
    })
    .await;
    assert_eq!(statuses, vec![StatusCode::CREATED; WRITERS]);
    let tags = app.call(Method::GET, "/npm/acme/js/-/package/tagged/dist-tags", Some(&app.admin_token), None).await;
    assert_eq!(tags.json.as_object().unwrap().len(), WRITERS + 1, "every tag and latest: {:?}", tags.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cargo_yanks_of_distinct_versions_all_land() {
    let app = TestApp::new().await;
    app.create_registry("rs", "cargo").await;
    for index in 0..WRITERS {
        let version = format!("0.1.{index}");
        let metadata = json!({"name": "yanky", "vers": version, "deps": [], "features": {}});
        let request = Request::put("/cargo/acme/rs/api/v1/crates/new")
            .header("authorization", app.admin_token.clone())
            .body(Body::from(cargo_publish_body(&metadata, &crate_file("yanky", &version))))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::OK);
    }
    let app = std::sync::Arc::new(app);
    let statuses = all_at_once(|index| {
        let app = std::sync::Arc::clone(&app);
        async move {
            let path = format!("/cargo/acme/rs/api/v1/crates/yanky/0.1.{index}/yank");
            app.call(Method::DELETE, &path, Some(&app.admin_token), None).await
        }
    })
    .await;
    assert_eq!(statuses, vec![StatusCode::OK; WRITERS]);
    let request = Request::get("/cargo/acme/rs/index/ya/nk/yanky")
        .header("authorization", app.admin_token.clone())
        .body(Body::empty())
        .unwrap();
    let index = app.send(request).await.text;
    assert_eq!(index.matches("\"yanked\":true").count(), WRITERS, "{index}");
}
