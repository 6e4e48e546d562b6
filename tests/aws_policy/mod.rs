//! The policy proof: every route group runs on the AWS wiring (DynamoDB Local, the S3 server, moto for STS and
//! link buckets) with its AWS calls recorded, each request routed to the function `template.yaml` routes its
//! path to, and the link-template custom resource publishes its template; then every call must be allowed by
//! that function's policy as SAM translates it. The emulators enforce no IAM; this test does. Granted actions no call used are printed, for pruning.

mod cost;
pub(crate) mod policy;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use packyard::adapters::aws_calls::{AwsCalls, Signer};
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::adapters::link_template;
use packyard::api::{AppState, ROUTE_GROUPS, finish};
use packyard::lambda::{AwsTargets, aws_state};
use packyard_tests::app::TestApp;
use packyard_tests::services;
use serde_json::json;
use tower::ServiceExt;

use crate::api::{cargo, debian, maven, npm, oci, pypi, ruby};
use crate::storage_links::aws::{launch_stack, moto_s3};
use crate::storage_links::{LINKS, link_config};
use policy::Function;

/// Each function's own app, as each Lambda function builds its own at cold start: its own clients and its own
/// cache of assumed link sessions, so one function's AssumeRole never serves another's calls.
type Functions = Arc<BTreeMap<String, AppState>>;

/// A router that sends each request where API Gateway would: to the route group of the function whose
/// HttpApi path matches, on that function's app, with the calls it makes attributed to that function.
fn gateway(states: Functions, functions: Arc<Vec<Function>>, calls: AwsCalls) -> Router {
    Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
        let (states, functions, calls) = (Arc::clone(&states), Arc::clone(&functions), calls.clone());
        async move {
            let Some(function) = policy::route(&functions, request.uri().path()) else {
                return Ok(http::Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Body::from("no route"))
                    .unwrap());
            };
            let (_, group) =
                ROUTE_GROUPS.iter().find(|(name, _)| *name == function.stem).expect("a group per function");
            let state = &states[&function.stem];
            calls.serving(&function.stem);
            finish(group(state.clone()), &state.config).oneshot(request).await
        }
    }))
}

/// The app the test bootstraps with (`setup`), and each function's own app.
async fn aws_app(calls: &AwsCalls) -> (TestApp, Functions, Arc<Vec<Function>>, String) {
    let (table, bucket) = (services::unique_name("policy"), services::unique_name("policy"));
    DynamoDbStore::create_table(&services::dynamodb().await, &table).await.expect("table");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let templates = policy::templates_bucket(&bucket);
    services::s3().await.create_bucket().bucket(&templates).send().await.expect("templates bucket");
    let functions = Arc::new(policy::functions(&table, &bucket));
    // One configuration (one secrets key) for all, as SAM's Globals give every function the same.
    let config = link_config();
    let mut states = BTreeMap::new();
    for stem in functions.iter().map(|f| f.stem.clone()).chain(["setup".to_owned()]) {
        let targets = AwsTargets {
            dynamodb: services::dynamodb_config().await,
            s3: services::s3_config().await,
            sts: services::moto().await,
            table: table.clone(),
            bucket: bucket.clone(),
            path_style: true,
            calls: Some(calls.clone()),
        };
        states.insert(stem, aws_state(config.clone(), targets));
    }
    let setup = states.remove("setup").expect("the setup app");
    let states = Arc::new(states);
    let store = Arc::new(DynamoDbStore::new(services::dynamodb().await, &table));
    calls.serving("setup");
    let router = gateway(Arc::clone(&states), Arc::clone(&functions), calls.clone());
    (TestApp::serving(setup, store, router).await, states, functions, templates)
}

/// What every function does for a customer, on hosted storage and then on an AWS link.
async fn exercise(app: &TestApp, states: &Functions, calls: &AwsCalls) {
    let ok = |status: StatusCode, what: &str| assert!(status.is_success(), "{what}: {status}");
    let registries = [
        ("tools", "files"),
        ("stable", "files"),
        ("js", "npm"),
        ("rs", "cargo"),
        ("py", "python"),
        ("images", "oci"),
        ("images-prod", "oci"),
        ("gems", "ruby"),
        ("jv", "maven"),
        ("debs", "debian"),
        ("gone", "files"),
    ];
    for (name, ecosystem) in registries {
        app.create_registry(name, ecosystem).await;
    }
    ok(app.get("/v1/organizations/acme/registries").await.status, "list registries");
    sign_in_to_the_console(app).await;
    ok(app.delete("/v1/organizations/acme/registries/gone").await.status, "delete a registry");
    app.token_with(&["read_packages"]).await;
    let registry_token = app.post("/v1/organizations/acme/registries/py/tokens", json!({"description": "ci"})).await;
    ok(registry_token.status, "create a registry token");
    let id = registry_token.json["id"].as_str().expect("token id");
    ok(app.get(&format!("/v1/organizations/acme/registries/py/tokens/{id}")).await.status, "show a registry token");

    for round in ["1.0.0", "2.0.0"] {
        let published = app.publish_file("tools", &format!("tool-{round}.bin"), round.as_bytes()).await;
        ok(published.status, "publish a file");
        let package = published.json["id"].as_str().expect("package id");
        let download = app.get(&format!("/v1/organizations/acme/registries/tools/packages/{package}/download")).await;
        assert_eq!(download.status, StatusCode::FOUND, "download redirects");
        let copy = format!("/v1/organizations/acme/registries/tools/packages/{package}/copy");
        ok(app.post(&copy, json!({"destination": "stable"})).await.status, "copy a package");
        let uploads = "/v1/organizations/acme/registries/tools/uploads";
        let started = app
            .post(uploads, json!({"filename": format!("up-{round}.bin"), "size": 4, "sha256": "00".repeat(32)}))
            .await;
        ok(started.status, "start an upload");
        let upload = started.json["id"].as_str().expect("upload id");
        // Never uploaded: finishing it HEADs a missing object.
        let early = app.post(&format!("{uploads}/{upload}/complete"), json!({})).await;
        assert!(early.status.is_client_error(), "{:?}", early.json);
        let tarball = npm::tarball("left-pad", round);
        ok(npm::put(app, "left-pad", &npm::document("left-pad", round, &tarball)).await.status, "npm publish");
        let crate_file = cargo::crate_file("demo", round);
        ok(
            cargo::publish(app, cargo::publish_body(&cargo::metadata("demo", round), &crate_file)).await.status,
            "cargo publish",
        );
        let yank = format!("/cargo/acme/rs/api/v1/crates/demo/{round}");
        ok(app.call(http::Method::DELETE, &format!("{yank}/yank"), Some(&app.admin_token), None).await.status, "yank");
        ok(app.call(http::Method::PUT, &format!("{yank}/unyank"), Some(&app.admin_token), None).await.status, "unyank");
        ok(pypi::upload(app, &format!("pkg-{round}.tar.gz"), round.as_bytes(), &[]).await.status, "twine upload");
        ok(app.post(&format!("/pypi/acme/py/yank/pkg/{round}"), json!({})).await.status, "yank a release");
        ok(app.delete(&format!("/pypi/acme/py/yank/pkg/{round}")).await.status, "undo the last yank");
        let jar = format!("com/acme/greet/{round}/greet-{round}.jar");
        assert_eq!(maven::deploy(app, &jar, round.as_bytes()).await.status, StatusCode::CREATED, "mvn deploy");
        let token = app.admin_token.clone();
        let metadata = maven::maven(app, http::Method::GET, "com/acme/greet/maven-metadata.xml", Some(&token), b"");
        ok(metadata.await.status, "resolve maven-metadata.xml");
        let download = maven::maven(app, http::Method::GET, &jar, Some(&token), b"").await;
        assert_eq!(download.status, StatusCode::FOUND, "a jar download redirects");
        let gem = ruby::gem_file("demo", round, "ruby", &[]);
        ok(ruby::push(app, "gems", &app.admin_token, gem).await.status, "gem push");
        for index in ["versions", "info/demo", "specs.4.8.gz", &format!("quick/Marshal.4.8/demo-{round}.gemspec.rz")] {
            ok(app.get(&format!("/ruby/acme/gems/{index}")).await.status, "read a gem index");
        }
        let gem_download = app.get(&format!("/ruby/acme/gems/gems/demo-{round}.gem")).await;
        assert_eq!(gem_download.status, StatusCode::FOUND, "gem download redirects");
        ok(ruby::yank(app, "gems", &format!("gem_name=demo&version={round}")).await.status, "gem yank");
        let deb = debian::deb_file(&debian::control("hello", round, "all"));
        ok(app.publish_file("debs", "hello.deb", &deb).await.status, "publish a .deb");
        let gone = debian::deb_file(&debian::control("gone", round, "all"));
        let gone = app.publish_file("debs", "gone.deb", &gone).await;
        ok(gone.status, "publish a .deb");
        let gone = format!("/v1/organizations/acme/registries/debs/packages/{}", gone.json["id"].as_str().unwrap());
        ok(app.delete(&gone).await.status, "delete a .deb");
        debian::leave_a_change_unindexed(app, "debs").await;
        let keys = "/v1/organizations/acme/registries/debs/signing-keys";
        ok(app.get(keys).await.status, "list signing keys");
        ok(app.post(&format!("{keys}/rotate"), json!({"overlap_days": 1})).await.status, "rotate the signing key");
        for index in [
            "gpgkey",
            "dists/any/InRelease",
            "dists/any/Release.gpg",
            "dists/any/main/binary-amd64/Packages.gz",
            "dists/any/main/binary-amd64/Packages.xz",
        ] {
            ok(app.get(&format!("/deb/acme/debs/{index}")).await.status, "read an apt index");
        }
        let release = app.get("/deb/acme/debs/dists/any/Release").await.text;
        let sha = debian::listed_sha256(&release, "main/binary-amd64/Packages");
        ok(
            app.get(&format!("/deb/acme/debs/dists/any/main/binary-amd64/by-hash/SHA256/{sha}")).await.status,
            "by hash",
        );
        let pool = app.get(&format!("/deb/acme/debs/pool/main/hello/{round}_all/hello_{round}_all.deb")).await;
        assert_eq!(pool.status, StatusCode::FOUND, "a .deb download redirects");
        let (_, image) = oci::push_image(app, oci::REPO, round).await;
        let token = app.admin_token.clone();
        for (method, reference, what) in
            [(http::Method::GET, image.as_str(), "pull an image"), (http::Method::DELETE, round, "untag")]
        {
            let path = format!("{}/manifests/{reference}", oci::REPO);
            ok(oci::oci(app, method, &path, Some(&token), &[], Body::empty()).await.status, what);
        }
        let images = "/v1/organizations/acme/registries/images/packages";
        ok(app.get(images).await.status, "list images");
        let promote = app.post(&format!("{images}/team~app@{image}/copy"), json!({"destination": "images-prod"})).await;
        ok(promote.status, "copy an image");
        ok(app.get("/v1/organizations/acme/audit-events").await.status, "audit events");
        if round == "1.0.0" {
            link_default_storage(app).await;
        }
    }
    ok(app.delete("/v1/organizations/acme/registries/tools").await.status, "delete a registry with packages");
    ok(app.delete("/v1/organizations/acme/registries/images").await.status, "delete a registry with images");
    ok(app.delete("/v1/organizations/acme/registries/gems").await.status, "delete a registry with gems");
    calls.serving("housekeeping");
    states["housekeeping"]
        .housekeeping
        .run(chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .expect("housekeeping");
}

/// Opens the console's page and signs in, as a browser does.
async fn sign_in_to_the_console(app: &TestApp) {
    let page = app.send(Request::get("/").header("host", "packyard.test").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "the console's page");
    let sign_in = Request::post("/console/session")
        .header("host", "packyard.test")
        .header("content-type", "application/json")
        .header("x-packyard-console", "1")
        .body(Body::from(json!({"token": app.admin_token}).to_string()))
        .unwrap();
    let signed_in = app.send(sign_in).await;
    assert_eq!(signed_in.status, StatusCode::CREATED, "sign in to the console: {}", signed_in.text);
}

/// Links an AWS bucket (in moto), passes its diagnostic and makes it the default storage.
async fn link_default_storage(app: &TestApp) {
    let moto = services::moto().await;
    let bucket = services::unique_name("customer");
    moto_s3(&moto).create_bucket().bucket(&bucket).send().await.expect("customer bucket");
    let link = app
        .post(
            LINKS,
            json!({"provider": "aws", "region": "us-east-1", "bucket": bucket, "path": "/packyard/",
                             "account_id": services::MOTO_ACCOUNT_ID}),
        )
        .await
        .json;
    let id = link["id"].as_str().expect("link id").to_owned();
    launch_stack(&moto, &link).await;
    let diagnostic = app.post(&format!("{LINKS}/{id}/diagnostic"), json!({})).await;
    assert_eq!(diagnostic.json["status"], "active", "{}", diagnostic.json);
    let storage = app.put("/v1/organizations/acme/storage", json!({"default": {"link": id}})).await;
    assert_eq!(storage.status, StatusCode::OK, "{}", storage.json);
}

#[tokio::test]
async fn every_aws_call_a_function_makes_is_allowed_by_its_policy_in_template_yaml() {
    let calls = AwsCalls::default();
    let (app, states, functions, templates) = aws_app(&calls).await;
    exercise(&app, &states, &calls).await;
    publish_link_template(&calls, &templates).await;

    let mut denied = BTreeSet::new();
    let mut used = BTreeSet::new();
    let mut exercised = BTreeSet::new();
    for call in calls.calls().iter().filter(|c| c.signer == Signer::Function && c.function != "setup") {
        let function = functions.iter().find(|f| f.stem == call.function).expect("calls come from template functions");
        let Some((action, resource)) = policy::needs(call) else {
            denied.insert(format!(
                "{}: {} {} {} is unknown to the proof",
                call.function, call.service, call.operation, call.resource
            ));
            continue;
        };
        exercised.insert(format!("{}: {action}", call.function));
        let granted: Vec<_> = function
            .grants
            .iter()
            .filter(|(a, r)| policy::allows(&[(a.clone(), r.clone())], &action, &resource))
            .collect();
        if granted.is_empty() {
            denied.insert(format!(
                "{}Function may not {action} on {resource} ({} {})",
                pascal(&call.function),
                call.service,
                call.operation
            ));
        }
        used.extend(granted.into_iter().map(|(a, r)| (call.function.clone(), a.clone(), r.clone())));
    }
    let unexercised: Vec<_> = functions
        .iter()
        .flat_map(|f| f.grants.iter().map(move |(a, r)| (f.stem.clone(), a.clone(), r.clone())))
        .filter(|grant| !used.contains(grant))
        .map(|(f, a, r)| format!("{f}: {a} on {r}"))
        .collect();
    // Every function assumes link roles through its own session cache, so each AssumeRole grant must be used:
    // one left unused means the test no longer reaches that function's link path.
    let unassumed: Vec<_> = unexercised.iter().filter(|grant| grant.contains(": sts:AssumeRole on ")).collect();
    eprintln!("AWS actions exercised per function:\n  {}", exercised.into_iter().collect::<Vec<_>>().join("\n  "));
    eprintln!("granted but exercised by no call:\n  {}", unexercised.join("\n  "));
    assert!(unassumed.is_empty(), "functions granted AssumeRole whose link path went unexercised: {unassumed:?}");
    assert!(
        denied.is_empty(),
        "calls IAM would deny on AWS:\n  {}",
        denied.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// What the `link-template` custom resource does on a deploy, and on the next one (found already published).
async fn publish_link_template(calls: &AwsCalls, bucket: &str) {
    calls.serving("link-template");
    let config = aws_sdk_s3::config::Builder::from(&services::s3_config().await)
        .force_path_style(true)
        .interceptor(calls.interceptor(Signer::Function))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    for _ in 0..2 {
        link_template::publish(&s3, bucket).await.expect("the template is published");
    }
}

fn pascal(stem: &str) -> String {
    stem.split('-').map(|part| part[..1].to_uppercase() + &part[1..]).collect()
}
