//! Every credential kind against every operation on a private and a public registry: each "no" is a 401,
//! 403 or 404 with a message, and nothing of another registry or organization leaks.

use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use packyard_tests::oidc::Issuer;
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Op {
    Read,
    Publish,
    Delete,
    Manage,
}

async fn attempt(app: &TestApp, registry: &str, credential: Option<&str>, op: Op, n: usize) -> StatusCode {
    let base = format!("/v1/organizations/acme/registries/{registry}");
    match op {
        Op::Read => app.call(Method::GET, &format!("{base}/packages"), credential, None).await.status,
        Op::Publish => match credential {
            Some(credential) => app.publish_file_as(credential, registry, &format!("m-{n}.0.0.bin"), b"x").await.status,
            None => app.call(Method::POST, &format!("{base}/packages"), None, None).await.status,
        },
        Op::Delete => {
            let victim = app.publish_file(registry, &format!("victim-{n}.0.0.bin"), b"x").await;
            let id = victim.json["id"].as_str().unwrap();
            app.call(Method::DELETE, &format!("{base}/packages/{id}"), credential, None).await.status
        }
        Op::Manage => {
            app.call(Method::PATCH, &base, credential, Some(json!({"description": format!("edit {n}")}))).await.status
        }
    }
}

#[tokio::test]
async fn every_credential_kind_against_every_operation_on_private_and_public_registries() {
    let app = TestApp::with_secrets_key().await;
    let issuer = Issuer::start().await;
    let other_org = TestApp::bootstrap(&app.state, "globex").await;
    let reader = app.token_with(&["read_packages"]).await;
    app.post("/v1/organizations/acme/teams", json!({"name": "readers"})).await;
    app.call(Method::PUT, "/v1/organizations/acme/teams/readers/members/bob", Some(&app.admin_token), None).await;
    let member = app
        .post("/v1/organizations/acme/tokens", json!({"description": "bob", "member": "bob", "scopes": ["read_packages", "write_packages", "delete_packages"]}))
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut n = 0;
    for (registry, public) in [("private-reg", false), ("public-reg", true)] {
        let created = app.create_registry(registry, "files").await;
        app.publish_file(registry, "seed-1.0.0.bin", b"seed").await;
        let registry_token = app
            .post(&format!("/v1/organizations/acme/registries/{registry}/tokens"), json!({"description": "ro"}))
            .await
            .json["token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.call(
            Method::PUT,
            &format!("/v1/organizations/acme/teams/readers/registries/{registry}"),
            Some(&app.admin_token),
            Some(json!({"access": "read"})),
        )
        .await;
        let policy = format!("- iss: {}\n  scopes: [read_packages, write_packages]\n", issuer.url);
        let request = http::Request::put(format!("/v1/organizations/acme/registries/{registry}/oidc-policy"))
            .header("authorization", format!("Bearer {}", app.admin_token))
            .body(axum::body::Body::from(policy))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::OK);
        if public {
            app.patch(&format!("/v1/organizations/acme/registries/{registry}"), json!({"public": true})).await;
        }
        let job = issuer.token(json!({"aud": format!("packyard:acme:{}", created["id"].as_str().unwrap())}));
        use StatusCode as S;
        let read_anyone = if public { S::OK } else { S::UNAUTHORIZED };
        // credential, then the expected status for read, publish, delete, manage.
        let matrix: [(&str, Option<&str>, [StatusCode; 4]); 7] = [
            ("no credentials", None, [read_anyone, S::UNAUTHORIZED, S::UNAUTHORIZED, S::UNAUTHORIZED]),
            ("admin token", Some(&app.admin_token), [S::OK, S::CREATED, S::NO_CONTENT, S::OK]),
            ("read_packages token", Some(&reader), [S::OK, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
            (
                "another organization's admin",
                Some(&other_org),
                [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
            ),
            ("registry token", Some(&registry_token), [S::OK, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
            ("team member with read", Some(&member), [S::OK, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
            ("CI job (OIDC)", Some(&job), [S::OK, S::CREATED, S::FORBIDDEN, S::NOT_FOUND]),
        ];
        for (who, credential, expected) in matrix {
            for (op, status) in [Op::Read, Op::Publish, Op::Delete, Op::Manage].into_iter().zip(expected) {
                n += 1;
                let actual = attempt(&app, registry, credential, op, n).await;
                assert_eq!(actual, status, "{who} / {op:?} on {registry}");
            }
        }
        // A "no" always says why, and never names another registry's packages.
        let refused = app
            .call(
                Method::GET,
                &format!("/v1/organizations/acme/registries/{registry}/packages"),
                Some(&other_org),
                None,
            )
            .await;
        assert!(!refused.error_message().is_empty() && !refused.json.to_string().contains("seed-1.0.0"));
    }
}
