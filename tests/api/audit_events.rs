//! The audit log records every mutation, newest first, with actor, changes, request id and source.

use http::StatusCode;
use packyard_tests::app::TestApp;
use serde_json::json;

#[tokio::test]
async fn every_step_of_a_registry_lifecycle_lands_in_the_audit_log_newest_first() {
    let app = TestApp::new().await;
    app.create_registry("Lifecycle", "npm").await;
    app.patch("/v1/organizations/acme/registries/lifecycle", json!({"name": "Renamed"})).await;
    app.patch("/v1/organizations/acme/registries/renamed", json!({"public": true})).await;
    app.patch("/v1/organizations/acme/registries/renamed", json!({"public": true})).await; // no change, no event
    app.delete("/v1/organizations/acme/registries/renamed").await;

    let reply = app.get("/v1/organizations/acme/audit-events").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    let events = reply.json["audit_events"].as_array().unwrap();
    let actions: Vec<_> = events.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "registry.deleted",
            "registry.made_public",
            "registry.renamed",
            "registry.created",
            "token.created",
            "organization.created"
        ]
    );
    let renamed = &events[2];
    assert_eq!(renamed["changes"]["slug"], json!({"before": "lifecycle", "after": "renamed"}));
    assert_eq!(renamed["changes"]["name"], json!({"before": "Lifecycle", "after": "Renamed"}));
    assert_eq!(renamed["actor"]["type"], "token");
    assert_eq!(renamed["actor"]["name"], "bootstrap admin token");
    assert_eq!(renamed["target"]["type"], "registry");
    assert!(renamed["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(renamed["source_ip"].is_string() && renamed["occurred_at"].is_string());
    assert_eq!(events[1]["changes"]["public"], json!({"before": false, "after": true}));
}

#[tokio::test]
async fn the_audit_log_pages_with_a_cursor() {
    let app = TestApp::new().await;
    for index in 0..4 {
        app.create_registry(&format!("r{index}"), "files").await;
    }
    let first = app.get("/v1/organizations/acme/audit-events?per_page=3").await;
    assert_eq!(first.json["audit_events"].as_array().unwrap().len(), 3);
    let next = first.json["links"]["next"].as_str().unwrap().trim_start_matches("http://packyard.test").to_owned();
    let second = app.get(&next).await;
    let second_ids: Vec<_> = second.json["audit_events"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(second_ids.len(), 3, "4 registries + token + organization = 6 events");
    assert!(first.json["audit_events"].as_array().unwrap().iter().all(|event| !second_ids.contains(&event["id"])));
    assert!(second.json["links"]["next"].is_null());
}

#[tokio::test]
async fn a_refused_change_writes_no_audit_event() {
    let app = TestApp::new().await;
    app.create_registry("one", "npm").await;
    app.post("/v1/organizations/acme/registries", json!({"name": "One", "ecosystem": "npm"})).await;
    let reply = app.get("/v1/organizations/acme/audit-events").await;
    let created =
        reply.json["audit_events"].as_array().unwrap().iter().filter(|e| e["action"] == "registry.created").count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn only_admin_tokens_read_the_audit_log() {
    let app = TestApp::new().await;
    let reader = app.token_with(&["read_registries"]).await;
    let reply = app.call(http::Method::GET, "/v1/organizations/acme/audit-events", Some(&reader), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
