//! Maven repositories in-process: what `mvn deploy` writes (files, checksum files, its own metadata) and what
//! resolution reads back (metadata rendered from the stored versions, checksums from the records, `HEAD`,
//! redirects), SNAPSHOT builds, release immutability, and the refusals a client mistake gets.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use md5::Digest;
use packyard_tests::app::{Reply, TestApp};
use serde_json::json;

const REPO: &str = "/maven/acme/jv";

fn basic(token: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("deployer:{token}")))
}

/// A request as Maven sends it: Basic auth with the token as the password (from `settings.xml`).
pub(crate) async fn maven(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    maven_at(app, REPO, method, path, token, body).await
}

/// The same against another repository (`/maven/{org}/{registry}`).
async fn maven_at(app: &TestApp, repo: &str, method: Method, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    let mut request = Request::builder().method(method).uri(format!("{repo}/{path}")).header("host", "packyard.test");
    if let Some(token) = token {
        request = request.header("authorization", basic(token));
    }
    app.send(request.body(Body::from(body.to_vec())).unwrap()).await
}

/// Deploys one file and its SHA-1 file, as `mvn deploy` does.
pub(crate) async fn deploy(app: &TestApp, path: &str, body: &[u8]) -> Reply {
    let token = app.admin_token.clone();
    let put = maven(app, Method::PUT, path, Some(&token), body).await;
    if put.status == StatusCode::CREATED {
        let sha1 = hex::encode(<sha1_digest::Sha1 as sha1_digest::Digest>::digest(body));
        let checksum = maven(app, Method::PUT, &format!("{path}.sha1"), Some(&token), sha1.as_bytes()).await;
        assert_eq!(checksum.status, StatusCode::CREATED, "{checksum:?}");
    }
    put
}

async fn get(app: &TestApp, path: &str) -> Reply {
    let token = app.admin_token.clone();
    maven(app, Method::GET, path, Some(&token), b"").await
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("jv", "maven").await;
    app
}

#[tokio::test]
async fn a_deployed_release_resolves_by_rendered_metadata_checksums_head_and_redirect_and_is_never_redeployed() {
    let app = app().await;
    let jar = b"a jar's bytes".as_slice();
    let path = "com/acme/greet/1.0.0/greet-1.0.0.jar";
    assert_eq!(deploy(&app, path, jar).await.status, StatusCode::CREATED);
    let pom = b"<project><groupId>com.acme</groupId><artifactId>greet</artifactId><version>1.0.0</version></project>";
    assert_eq!(deploy(&app, "com/acme/greet/1.0.0/greet-1.0.0.pom", pom).await.status, StatusCode::CREATED);
    assert_eq!(deploy(&app, "com/acme/greet/1.1.0/greet-1.1.0.jar", b"newer").await.status, StatusCode::CREATED);
    // The client's own metadata is taken and dropped: what is served is rendered from what is stored.
    let lie = b"<metadata><versioning><latest>9.9</latest></versioning></metadata>";
    assert_eq!(deploy(&app, "com/acme/greet/maven-metadata.xml", lie).await.status, StatusCode::CREATED);

    let metadata = get(&app, "com/acme/greet/maven-metadata.xml").await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(metadata.headers["content-type"], "application/xml");
    for expected in [
        "<latest>1.1.0</latest>",
        "<release>1.1.0</release>",
        "<version>1.0.0</version>\n      <version>1.1.0</version>",
    ] {
        assert!(metadata.text.contains(expected), "{expected} missing from {}", metadata.text);
    }
    assert!(!metadata.text.contains("9.9"), "{}", metadata.text);
    let sha1 = get(&app, "com/acme/greet/maven-metadata.xml.sha1").await;
    assert_eq!(sha1.text, hex::encode(<sha1_digest::Sha1 as sha1_digest::Digest>::digest(metadata.text.as_bytes())));

    assert_eq!(get(&app, &format!("{path}.md5")).await.text, hex::encode(md5::Md5::digest(jar)));
    assert_eq!(
        get(&app, &format!("{path}.sha256")).await.text,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(jar))
    );
    let token = app.admin_token.clone();
    let head = maven(&app, Method::HEAD, path, Some(&token), b"").await;
    assert_eq!((head.status, head.headers["content-length"].to_str().unwrap()), (StatusCode::OK, "13"));
    let (status, bytes) = app.follow(&get(&app, path).await).await;
    assert_eq!((status, bytes.as_ref()), (StatusCode::OK, jar));

    // A release is immutable: the same file again is refused and leaves no bytes behind.
    let stored = app.stored_objects();
    let again = maven(&app, Method::PUT, path, Some(&token), b"other bytes").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    assert!(again.error_message().contains("release versions are immutable"), "{again:?}");
    assert_eq!(app.stored_objects(), stored);
    assert_eq!(app.follow(&get(&app, path).await).await.1.as_ref(), jar);
    assert_eq!(get(&app, "com/acme/other/maven-metadata.xml").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn snapshot_builds_are_listed_in_their_metadata_and_the_bare_snapshot_name_is_the_newest_build() {
    let app = app().await;
    let folder = "com/acme/greet/1.1.0-SNAPSHOT";
    for (build, body) in [("20261129.100000-1", "first"), ("20261129.110000-2", "second")] {
        for file in [format!("greet-1.1.0-{build}.jar"), format!("greet-1.1.0-{build}-sources.jar")] {
            assert_eq!(deploy(&app, &format!("{folder}/{file}"), body.as_bytes()).await.status, StatusCode::CREATED);
        }
    }
    let metadata = get(&app, &format!("{folder}/maven-metadata.xml")).await;
    assert_eq!(metadata.status, StatusCode::OK, "{metadata:?}");
    assert!(metadata.text.contains("<timestamp>20261129.110000</timestamp>\n      <buildNumber>2</buildNumber>"));
    assert!(metadata.text.contains("<classifier>sources</classifier>"), "{}", metadata.text);
    assert!(!metadata.text.contains("20261129.100000-1"), "only the newest build is listed: {}", metadata.text);
    let artifact = get(&app, "com/acme/greet/maven-metadata.xml").await;
    assert!(artifact.text.contains("<latest>1.1.0-SNAPSHOT</latest>") && !artifact.text.contains("<release>"));
    let (_, newest) = app.follow(&get(&app, &format!("{folder}/greet-1.1.0-SNAPSHOT-sources.jar")).await).await;
    assert_eq!(newest.as_ref(), b"second");
    let (_, first) = app.follow(&get(&app, &format!("{folder}/greet-1.1.0-20261129.100000-1.jar")).await).await;
    assert_eq!(first.as_ref(), b"first");
}

#[tokio::test]
async fn client_mistakes_get_a_4xx_naming_the_problem() {
    let app = app().await;
    app.create_registry("py", "python").await;
    let token = app.admin_token.clone();
    let put = |path: &'static str, body: &'static [u8], token: Option<String>| {
        let app = &app;
        async move { maven(app, Method::PUT, path, token.as_deref(), body).await }
    };
    let cases = [
        (put("greet/1.0/greet-1.0.jar", b"x", Some(token.clone())).await, StatusCode::BAD_REQUEST, "invalid_path"),
        (
            put("com/acme/greet/1.0/other-1.0.jar", b"x", Some(token.clone())).await,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            put("com/acme/gr%23eet/1.0/gr%23eet-1.0.jar", b"x", Some(token.clone())).await,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            put("com/acme/greet/1.0/greet-1.0.jar.sha1", b"00", Some(token.clone())).await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            put(
                "com/acme/greet/1.0/greet-1.0.pom",
                b"<project><artifactId>other</artifactId></project>",
                Some(token.clone()),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_pom",
        ),
        (put("com/acme/greet/1.0/greet-1.0.jar", b"x", None).await, StatusCode::UNAUTHORIZED, "unauthenticated"),
    ];
    for (reply, status, code) in cases {
        assert_eq!((reply.status, reply.error_code()), (status, code), "{reply:?}");
        assert!(!reply.error_message().is_empty(), "{reply:?}");
    }
    let anonymous = put("com/acme/greet/1.0/greet-1.0.jar", b"x", None).await;
    assert!(anonymous.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"), "{anonymous:?}");

    assert_eq!(deploy(&app, "com/acme/greet/1.0/greet-1.0.jar", b"x").await.status, StatusCode::CREATED);
    let wrong =
        put("com/acme/greet/1.0/greet-1.0.jar.md5", b"d41d8cd98f00b204e9800998ecf8427e", Some(token.clone())).await;
    assert_eq!((wrong.status, wrong.error_code()), (StatusCode::BAD_REQUEST, "checksum_mismatch"), "{wrong:?}");
    let reader = app.token_with(&["read_packages"]).await;
    let forbidden = put("com/acme/greet/1.1/greet-1.1.jar", b"x", Some(reader)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{forbidden:?}");
    let deleted = maven(&app, Method::DELETE, "com/acme/greet/1.0/greet-1.0.jar", Some(&token), b"").await;
    assert_eq!(deleted.status, StatusCode::METHOD_NOT_ALLOWED, "{deleted:?}");
    let elsewhere =
        maven_at(&app, "/maven/acme/py", Method::GET, "com/acme/greet/maven-metadata.xml", Some(&token), b"").await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND, "{elsewhere:?}");
    assert!(elsewhere.error_message().contains("not Maven"), "{elsewhere:?}");
}

#[tokio::test]
async fn maven_versions_are_listed_copied_deleted_and_audited_through_the_packages_api() {
    let app = app().await;
    app.create_registry("jv-stable", "maven").await;
    assert_eq!(deploy(&app, "com/acme/greet/1.0.0/greet-1.0.0.jar", b"one").await.status, StatusCode::CREATED);
    assert_eq!(deploy(&app, "com/acme/greet/2.0.0/greet-2.0.0.jar", b"two").await.status, StatusCode::CREATED);
    let packages = "/v1/organizations/acme/registries/jv/packages";
    let listed = app.get(packages).await;
    let versions: Vec<&str> =
        listed.json["packages"].as_array().unwrap().iter().map(|p| p["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["2.0.0", "1.0.0"], "{:?}", listed.json);
    assert_eq!(listed.json["packages"][0]["name"], "com.acme:greet");
    let id = listed.json["packages"][1]["id"].as_str().unwrap().to_owned();

    // Promoted into another Maven repository, it resolves there.
    let copied = app.post(&format!("{packages}/{id}/copy"), json!({"destination": "jv-stable"})).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{:?}", copied.json);
    let token = app.admin_token.clone();
    let metadata_path = "com/acme/greet/maven-metadata.xml";
    let stable = maven_at(&app, "/maven/acme/jv-stable", Method::GET, metadata_path, Some(&token), b"").await;
    assert!(stable.text.contains("<release>1.0.0</release>"), "{stable:?}");

    // Deleted, it leaves the metadata; its file name stays spent (a release is never replaced).
    assert_eq!(app.delete(&format!("{packages}/{id}")).await.status, StatusCode::NO_CONTENT);
    let metadata = get(&app, "com/acme/greet/maven-metadata.xml").await;
    assert!(!metadata.text.contains("1.0.0") && metadata.text.contains("<release>2.0.0</release>"), "{metadata:?}");
    assert_eq!(get(&app, "com/acme/greet/1.0.0/greet-1.0.0.jar").await.status, StatusCode::NOT_FOUND);
    let again = maven(&app, Method::PUT, "com/acme/greet/1.0.0/greet-1.0.0.jar", Some(&token), b"one").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");

    let audit = app.get("/v1/organizations/acme/audit-events").await;
    let actions: Vec<&str> =
        audit.json["audit_events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["package.file_added", "package.published", "package.deleted"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test]
async fn every_credential_kind_deploys_or_reads_as_far_as_it_may() {
    // Registry tokens are sealed with the secrets key.
    let app = TestApp::with_secrets_key().await;
    let registry = app.create_registry("jv", "maven").await;
    assert_eq!(deploy(&app, "com/acme/greet/1.0/greet-1.0.jar", b"x").await.status, StatusCode::CREATED);
    let metadata = "com/acme/greet/maven-metadata.xml";

    // A registry token reads its own private registry, as a Basic password, and deploys nothing.
    let registry_token = app
        .post("/v1/organizations/acme/registries/jv/tokens", json!({"description": "ci reader"}))
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(maven(&app, Method::GET, metadata, Some(&registry_token), b"").await.status, StatusCode::OK);
    let refused = maven(&app, Method::PUT, "com/acme/greet/2.0/greet-2.0.jar", Some(&registry_token), b"x").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    assert_eq!(maven(&app, Method::GET, metadata, None, b"").await.status, StatusCode::UNAUTHORIZED);

    // A CI job's OIDC token deploys when the registry's policy says so, and is audited as that job.
    let issuer = packyard_tests::oidc::Issuer::start().await;
    let policy =
        format!("- iss: {}\n  scopes: [read_packages, write_packages]\n  claims:\n    pipeline: build\n", issuer.url);
    let saved = app
        .send(
            Request::put("/v1/organizations/acme/registries/jv/oidc-policy")
                .header("authorization", format!("Bearer {}", app.admin_token))
                .header("content-type", "application/yaml")
                .body(Body::from(policy))
                .unwrap(),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{saved:?}");
    let audience = format!("packyard:acme:{}", registry["id"].as_str().unwrap());
    let job = issuer.token(json!({"aud": audience, "pipeline": "build"}));
    let from_ci = maven(&app, Method::PUT, "com/acme/greet/2.0/greet-2.0.jar", Some(&job), b"from CI").await;
    assert_eq!(from_ci.status, StatusCode::CREATED, "{from_ci:?}");
    let other_job = issuer.token(json!({"aud": audience, "pipeline": "other"}));
    let refused = maven(&app, Method::PUT, "com/acme/greet/3.0/greet-3.0.jar", Some(&other_job), b"x").await;
    assert!(refused.status.is_client_error() && !refused.error_message().is_empty(), "{refused:?}");

    // Made public, the registry resolves anonymously; deploying still needs a token, and Maven is asked for it.
    let public = app.patch("/v1/organizations/acme/registries/jv", json!({"public": true})).await;
    assert_eq!(public.status, StatusCode::OK, "{public:?}");
    let anonymous = maven(&app, Method::GET, metadata, None, b"").await;
    assert!(anonymous.status == StatusCode::OK && anonymous.text.contains("<release>2.0</release>"), "{anonymous:?}");
    let anonymous_deploy = maven(&app, Method::PUT, "com/acme/greet/4.0/greet-4.0.jar", None, b"x").await;
    assert_eq!(anonymous_deploy.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous_deploy.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
}

#[tokio::test]
async fn two_groups_may_each_have_an_artifact_of_the_same_name_and_version() {
    let app = app().await;
    let first = deploy(&app, "com/acme/core/1.0/core-1.0.jar", b"acme's core").await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let second = deploy(&app, "org/example/core/1.0/core-1.0.jar", b"example's core").await;
    assert_eq!(second.status, StatusCode::CREATED, "core-1.0.jar of another group is another file: {second:?}");
    let again = deploy(&app, "org/example/core/1.0/core-1.0.jar", b"example's core, changed").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    for (path, body) in
        [("com/acme/core/1.0/core-1.0.jar", "acme's core"), ("org/example/core/1.0/core-1.0.jar", "example's core")]
    {
        let got = get(&app, path).await;
        let (_, bytes) = app.follow(&got).await;
        assert_eq!(bytes, body.as_bytes(), "{path}");
    }
}
