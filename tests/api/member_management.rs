//! A member's token manages a registry only where the member's teams grant `full`, reads its settings only
//! where they grant something, and cannot create registries: management never reaches past the grants.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::{Value, json};

const ORG: &str = "/v1/organizations/acme";
const OTHER: &str = "/v1/organizations/acme/registries/other";

/// An app with registries `mine` and `other`, team `frontend` with member alice, and alice's token with
/// every registry and package scope.
async fn setup() -> (TestApp, String) {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("mine", "files").await;
    app.create_registry("other", "files").await;
    app.publish_file("mine", "tool-1.0.0.bin", b"tool").await;
    app.publish_file("other", "secret-1.0.0.bin", b"secret").await;
    assert_eq!(app.post(&format!("{ORG}/teams"), json!({"name": "frontend"})).await.status, StatusCode::CREATED);
    app.call(Method::PUT, &format!("{ORG}/teams/frontend/members/alice"), Some(&app.admin_token), None).await;
    grant(&app, "mine", Some("full")).await;
    let scopes = ["read_registries", "write_registries", "delete_registries", "read_packages", "write_packages"];
    let token =
        app.post(&format!("{ORG}/tokens"), json!({"description": "alice", "member": "alice", "scopes": scopes})).await;
    assert_eq!(token.status, StatusCode::CREATED, "{:?}", token.json);
    (app, token.json["token"].as_str().unwrap().to_owned())
}

async fn grant(app: &TestApp, registry: &str, access: Option<&str>) {
    let path = format!("{ORG}/teams/frontend/registries/{registry}");
    let reply = match access {
        Some(access) => app.put(&path, json!({"access": access})).await,
        None => app.delete(&path).await,
    };
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
}

/// Every registry-scoped management route, as (method, path, body); the registry's own DELETE last.
fn management_routes(token_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let tokens = format!("{OTHER}/tokens");
    let policy = json!([{"iss": "https://ci.example", "scopes": ["read_packages"]}]);
    vec![
        (Method::PATCH, OTHER.to_owned(), Some(json!({"public": true}))),
        (Method::PATCH, OTHER.to_owned(), Some(json!({"storage": "hosted"}))),
        (Method::POST, tokens.clone(), Some(json!({"description": "minted"}))),
        (Method::GET, tokens.clone(), None),
        (Method::GET, format!("{tokens}/{token_id}"), None),
        (Method::PATCH, format!("{tokens}/{token_id}"), Some(json!({"description": "renamed"}))),
        (Method::GET, format!("{OTHER}/oidc-policy"), None),
        (Method::PUT, format!("{OTHER}/oidc-policy"), Some(policy)),
        (Method::DELETE, format!("{tokens}/{token_id}"), None),
        (Method::DELETE, OTHER.to_owned(), None),
    ]
}

#[tokio::test]
async fn a_member_token_without_a_full_grant_cannot_manage_the_registry_on_any_route() {
    let (app, alice) = setup().await;
    let existing = app.post(&format!("{OTHER}/tokens"), json!({"description": "admin's"})).await;
    let token_id = existing.json["id"].as_str().unwrap().to_owned();
    for access in [None, Some("read"), Some("read_write")] {
        if let Some(access) = access {
            grant(&app, "other", Some(access)).await;
        }
        for (method, path, body) in management_routes(&token_id) {
            let reply = app.call(method.clone(), &path, Some(&alice), body).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path} with {access:?}: {:?}", reply.json);
            assert!(reply.error_message().contains("alice's teams"), "{}", reply.error_message());
        }
    }
    let registry = app.get(OTHER).await;
    assert_eq!((registry.status, registry.json["public"].as_bool()), (StatusCode::OK, Some(false)));
    let tokens = app.get(&format!("{OTHER}/tokens")).await;
    assert_eq!(tokens.json["tokens"].as_array().map(Vec::len), Some(1), "no token was minted: {:?}", tokens.json);
}

#[tokio::test]
async fn a_member_token_with_a_full_grant_manages_the_registry() {
    let (app, alice) = setup().await;
    let existing = app.post(&format!("{OTHER}/tokens"), json!({"description": "admin's"})).await;
    let token_id = existing.json["id"].as_str().unwrap().to_owned();
    grant(&app, "other", Some("full")).await;
    let expected = [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::CREATED,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::NO_CONTENT,
        StatusCode::NO_CONTENT,
    ];
    // Make it private again after the first PATCH, so its tokens answer.
    for ((method, path, body), status) in management_routes(&token_id).into_iter().zip(expected) {
        let reply = app.call(method.clone(), &path, Some(&alice), body).await;
        assert_eq!(reply.status, status, "{method} {path}: {:?}", reply.json);
        if reply.json["public"] == json!(true) {
            app.patch(OTHER, json!({"public": false})).await;
        }
    }
}

#[tokio::test]
async fn a_member_token_reads_and_lists_only_the_registries_its_teams_grant_and_creates_none() {
    let (app, alice) = setup().await;
    let registries = format!("{ORG}/registries");
    let slugs = |reply: &packyard_tests::app::Reply| -> Vec<String> {
        reply.json["registries"].as_array().unwrap().iter().map(|r| r["slug"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(slugs(&app.call(Method::GET, &registries, Some(&alice), None).await), ["mine"]);
    let hidden = app.call(Method::GET, OTHER, Some(&alice), None).await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN, "{:?}", hidden.json);

    grant(&app, "other", Some("read")).await;
    assert_eq!(slugs(&app.call(Method::GET, &registries, Some(&alice), None).await), ["mine", "other"]);
    assert_eq!(app.call(Method::GET, OTHER, Some(&alice), None).await.status, StatusCode::OK);

    let created = app.call(Method::POST, &registries, Some(&alice), Some(json!({"name": "new", "ecosystem": "files"})));
    let created = created.await;
    assert_eq!(created.status, StatusCode::FORBIDDEN, "{:?}", created.json);
    assert!(created.error_message().contains("member"), "{}", created.error_message());
    let admin_member = app
        .post(
            &format!("{ORG}/tokens"),
            json!({"description": "x", "member": "alice", "admin": true, "scopes": ["read_packages"]}),
        )
        .await;
    assert_eq!(admin_member.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", admin_member.json);
}

#[tokio::test]
async fn a_member_token_copies_a_package_only_into_a_registry_its_teams_let_it_write() {
    let (app, alice) = setup().await;
    let listed = app.call(Method::GET, &format!("{ORG}/registries/mine/packages"), Some(&alice), None).await;
    let copy = format!("{ORG}/registries/mine/packages/{}/copy", listed.json["packages"][0]["id"].as_str().unwrap());
    for access in [None, Some("read")] {
        if let Some(access) = access {
            grant(&app, "other", Some(access)).await;
        }
        let refused = app.call(Method::POST, &copy, Some(&alice), Some(json!({"destination": "other"}))).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{access:?}: {:?}", refused.json);
    }
    grant(&app, "other", Some("read_write")).await;
    let copied = app.call(Method::POST, &copy, Some(&alice), Some(json!({"destination": "other"}))).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{:?}", copied.json);
}
