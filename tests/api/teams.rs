//! Teams: members' tokens reach a registry's packages only as far as their teams' grants allow, and
//! grants can be changed after a team is created.

use http::{Method, StatusCode};
use packyard::adapters::aws_calls::AwsCalls;
use packyard::config::Config;
use packyard_tests::app::TestApp;
use serde_json::json;

const TEAMS: &str = "/v1/organizations/acme/teams";

async fn setup() -> (TestApp, String, String) {
    setup_on(TestApp::new().await).await
}

async fn setup_on(app: TestApp) -> (TestApp, String, String) {
    app.create_registry("tools", "files").await;
    app.create_registry("secret", "files").await;
    let published = app.publish_file("tools", "tool-1.0.0.bin", b"tool").await;
    let id = published.json["id"].as_str().unwrap().to_owned();
    let team = app.post(TEAMS, json!({"name": "Frontend", "description": "UI people"})).await;
    assert_eq!(team.status, StatusCode::CREATED, "{:?}", team.json);
    assert_eq!(
        app.call(Method::PUT, &format!("{TEAMS}/frontend/members/alice"), Some(&app.admin_token), None).await.status,
        StatusCode::OK
    );
    let token = app
        .post("/v1/organizations/acme/tokens", json!({"description": "alice's laptop", "member": "alice", "scopes": ["read_packages", "write_packages", "delete_packages"]}))
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{:?}", token.json);
    (app, token.json["token"].as_str().unwrap().to_owned(), id)
}

async fn grant(app: &TestApp, registry: &str, access: &str) -> StatusCode {
    app.call(
        Method::PUT,
        &format!("{TEAMS}/frontend/registries/{registry}"),
        Some(&app.admin_token),
        Some(json!({"access": access})),
    )
    .await
    .status
}

#[tokio::test]
async fn a_members_token_follows_the_access_level_its_team_is_granted() {
    let (app, alice, id) = setup().await;
    let packages = "/v1/organizations/acme/registries/tools/packages";
    let denied = app.call(Method::GET, packages, Some(&alice), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "no grant yet");
    assert!(denied.error_message().contains("alice's teams"), "{}", denied.error_message());

    assert_eq!(grant(&app, "tools", "read").await, StatusCode::OK);
    assert_eq!(app.call(Method::GET, packages, Some(&alice), None).await.status, StatusCode::OK);
    assert_eq!(app.publish_file_as(&alice, "tools", "tool-2.0.0.bin", b"x").await.status, StatusCode::FORBIDDEN);

    assert_eq!(grant(&app, "tools", "read_write").await, StatusCode::OK, "grants change after creation");
    assert_eq!(app.publish_file_as(&alice, "tools", "tool-2.0.0.bin", b"x").await.status, StatusCode::CREATED);
    assert_eq!(
        app.call(Method::DELETE, &format!("{packages}/{id}"), Some(&alice), None).await.status,
        StatusCode::FORBIDDEN
    );

    assert_eq!(grant(&app, "tools", "full").await, StatusCode::OK);
    assert_eq!(
        app.call(Method::DELETE, &format!("{packages}/{id}"), Some(&alice), None).await.status,
        StatusCode::NO_CONTENT
    );
    let elsewhere =
        app.call(Method::GET, "/v1/organizations/acme/registries/secret/packages", Some(&alice), None).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "a registry the team has no grant on");

    let revoked =
        app.call(Method::DELETE, &format!("{TEAMS}/frontend/registries/tools"), Some(&app.admin_token), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, packages, Some(&alice), None).await.status, StatusCode::FORBIDDEN);
    grant(&app, "tools", "read").await;
    app.call(Method::DELETE, &format!("{TEAMS}/frontend/members/alice"), Some(&app.admin_token), None).await;
    assert_eq!(
        app.call(Method::GET, packages, Some(&alice), None).await.status,
        StatusCode::FORBIDDEN,
        "removed from the team"
    );
}

/// Two Lambda containers on one table. The warm one answers a member's grant it read moments ago from memory,
/// with no read of the organization's teams; it takes a widened grant at once; and once a removed grant or a
/// removed member has answered through the other container, it refuses the member's token.
#[tokio::test]
async fn a_warm_container_follows_team_changes_made_through_another() {
    let calls = AwsCalls::default();
    let (app, alice, _) = setup_on(TestApp::on_aws_with(Config::default(), Some(calls.clone())).await).await;
    let warm = app.another_container().await;
    let packages = "/v1/organizations/acme/registries/tools/packages";
    let list = async || warm.call(Method::GET, packages, Some(&alice), None).await.status;
    assert_eq!(grant(&app, "tools", "read").await, StatusCode::OK);
    assert_eq!(list().await, StatusCode::OK);
    let before = calls.calls().len();
    assert_eq!(list().await, StatusCode::OK);
    let reads: Vec<_> = calls.calls()[before..].iter().filter(|call| call.service == "DynamoDB").cloned().collect();
    assert_eq!(reads.len(), 1, "the listing alone, no read of the teams: {reads:?}");

    assert_eq!(grant(&app, "tools", "read_write").await, StatusCode::OK);
    let published = warm.publish_file_as(&alice, "tools", "tool-2.0.0.bin", b"x").await;
    assert_eq!(published.status, StatusCode::CREATED, "a widened grant shows at once: {:?}", published.json);

    let revoked =
        app.call(Method::DELETE, &format!("{TEAMS}/frontend/registries/tools"), Some(&app.admin_token), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(list().await, StatusCode::FORBIDDEN, "the warm container still knew the removed grant");

    assert_eq!(grant(&app, "tools", "read").await, StatusCode::OK);
    assert_eq!(list().await, StatusCode::OK);
    let removed =
        app.call(Method::DELETE, &format!("{TEAMS}/frontend/members/alice"), Some(&app.admin_token), None).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(list().await, StatusCode::FORBIDDEN, "the warm container still knew alice as a member");
}

#[tokio::test]
async fn teams_are_listed_with_members_and_grants_and_every_change_is_audited() {
    let (app, _, _) = setup().await;
    grant(&app, "tools", "read_write").await;
    let listed = app.get(TEAMS).await;
    let team = &listed.json["teams"][0];
    assert_eq!((team["slug"].as_str(), team["members"].clone()), (Some("frontend"), json!(["alice"])));
    assert_eq!(
        team["registries"][0],
        json!({"registry": "tools", "registry_id": team["registries"][0]["registry_id"], "access": "read_write"})
    );
    let audit = app.get("/v1/organizations/acme/audit-events").await;
    let event = &audit.json["audit_events"][0];
    assert_eq!(event["action"], "team.updated");
    assert!(event["changes"]["grants"].is_object(), "{event}");
    assert_eq!(app.delete(&format!("{TEAMS}/frontend")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("{TEAMS}/frontend")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_team_requests_are_4xx_naming_the_problem() {
    let (app, alice, _) = setup().await;
    let bad_login =
        app.call(Method::PUT, &format!("{TEAMS}/frontend/members/not%20ok"), Some(&app.admin_token), None).await;
    assert_eq!(
        (bad_login.status, bad_login.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("member"))
    );
    assert_eq!(grant(&app, "nope", "read").await, StatusCode::NOT_FOUND);
    assert_eq!(grant(&app, "tools", "owner").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.post(TEAMS, json!({"name": "frontend"})).await.status, StatusCode::CONFLICT);
    assert_eq!(
        app.call(Method::GET, TEAMS, Some(&alice), None).await.status,
        StatusCode::FORBIDDEN,
        "only admins manage teams"
    );
    let bad_member = app
        .post(
            "/v1/organizations/acme/tokens",
            json!({"description": "x", "member": "a b", "scopes": ["read_packages"]}),
        )
        .await;
    assert_eq!(bad_member.json["error"]["field"], "member");
}

#[tokio::test]
async fn a_grant_names_its_registry_past_the_first_page_and_a_deleted_one_as_deleted() {
    let (app, _, _) = setup().await;
    for n in 0..110 {
        app.create_registry(&format!("r{n:03}"), "files").await;
    }
    app.create_registry("zz-last", "files").await;
    app.create_registry("gone", "files").await;
    assert_eq!(grant(&app, "zz-last", "read").await, StatusCode::OK);
    assert_eq!(grant(&app, "gone", "read").await, StatusCode::OK);
    assert_eq!(app.delete("/v1/organizations/acme/registries/gone").await.status, StatusCode::NO_CONTENT);

    let one = app.get(&format!("{TEAMS}/frontend")).await;
    let listed = app.get(TEAMS).await;
    for team in [&one.json, &listed.json["teams"][0]] {
        let mut named: Vec<&str> =
            team["registries"].as_array().unwrap().iter().map(|g| g["registry"].as_str().unwrap()).collect();
        named.sort_unstable();
        assert_eq!(named, ["(deleted)", "zz-last"], "{team}");
    }
}
