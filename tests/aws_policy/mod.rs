//! The policy proof: every route group runs on the AWS wiring (DynamoDB Local, the S3 server, moto for STS and
//! link buckets) with its AWS calls recorded, each request routed to the function `template.yaml` routes its
//! path to; then every call must be allowed by that function's policy as SAM translates it. The emulators
//! enforce no IAM; this test does. Granted actions no call used are printed, for pruning.

mod policy;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use packyard::adapters::aws_calls::{AwsCalls, Signer};
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::api::{ROUTE_GROUPS, finish};
use packyard::lambda::{AwsTargets, aws_state};
use packyard_tests::app::TestApp;
use packyard_tests::services;
use serde_json::json;
use tower::ServiceExt;

use crate::api::{cargo, npm, oci, pypi};
use crate::storage_links::aws::{launch_stack, moto_s3};
use crate::storage_links::{LINKS, link_config};
use policy::Function;

/// A router that sends each request where API Gateway would: to the route group of the function whose
/// HttpApi path matches, with the calls it makes attributed to that function.
fn gateway(state: &packyard::api::AppState, functions: Arc<Vec<Function>>, calls: AwsCalls) -> Router {
    let state = state.clone();
    Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
        let (state, functions, calls) = (state.clone(), Arc::clone(&functions), calls.clone());
        async move {
            let Some(function) = policy::route(&functions, request.uri().path()) else {
                return Ok(http::Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Body::from("no route"))
                    .unwrap());
            };
            let (_, group) =
                ROUTE_GROUPS.iter().find(|(name, _)| *name == function.stem).expect("a group per function");
            calls.serving(&function.stem);
            finish(group(state.clone()), &state.config).oneshot(request).await
        }
    }))
}

async fn aws_app(calls: &AwsCalls) -> (TestApp, Arc<Vec<Function>>, String, String) {
    let (table, bucket) = (services::unique_name("policy"), services::unique_name("policy"));
    DynamoDbStore::create_table(&services::dynamodb().await, &table).await.expect("table");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let functions = Arc::new(policy::functions(&table, &bucket));
    let targets = AwsTargets {
        dynamodb: services::dynamodb_config().await,
        s3: services::s3_config().await,
        sts: services::moto().await,
        table: table.clone(),
        bucket: bucket.clone(),
        path_style: true,
        calls: Some(calls.clone()),
    };
    let state = aws_state(link_config(), targets);
    let store = Arc::new(DynamoDbStore::new(services::dynamodb().await, &table));
    calls.serving("setup");
    let router = gateway(&state, Arc::clone(&functions), calls.clone());
    (TestApp::serving(state, store, router).await, functions, table, bucket)
}

/// What every function does for a customer, on hosted storage and then on an AWS link.
async fn exercise(app: &TestApp, calls: &AwsCalls) {
    let ok = |status: StatusCode, what: &str| assert!(status.is_success(), "{what}: {status}");
    for (name, ecosystem) in
        [("tools", "files"), ("js", "npm"), ("rs", "cargo"), ("py", "python"), ("images", "oci"), ("gone", "files")]
    {
        app.create_registry(name, ecosystem).await;
    }
    ok(app.get("/v1/organizations/acme/registries").await.status, "list registries");
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
        let (_, image) = oci::push_image(app, oci::REPO, round).await;
        let token = app.admin_token.clone();
        for (method, reference, what) in
            [(http::Method::GET, image.as_str(), "pull an image"), (http::Method::DELETE, round, "untag")]
        {
            let path = format!("{}/manifests/{reference}", oci::REPO);
            ok(oci::oci(app, method, &path, Some(&token), &[], Body::empty()).await.status, what);
        }
        ok(app.get("/v1/organizations/acme/audit-events").await.status, "audit events");
        if round == "1.0.0" {
            link_default_storage(app).await;
        }
    }
    ok(app.delete("/v1/organizations/acme/registries/tools").await.status, "delete a registry with packages");
    ok(app.delete("/v1/organizations/acme/registries/images").await.status, "delete a registry with images");
    calls.serving("housekeeping");
    app.state.housekeeping.run(chrono::Utc::now() + chrono::Duration::days(1)).await.expect("housekeeping");
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
    let (app, functions, _table, _bucket) = aws_app(&calls).await;
    exercise(&app, &calls).await;

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
    eprintln!("AWS actions exercised per function:\n  {}", exercised.into_iter().collect::<Vec<_>>().join("\n  "));
    eprintln!("granted but exercised by no call:\n  {}", unexercised.join("\n  "));
    assert!(
        denied.is_empty(),
        "calls IAM would deny on AWS:\n  {}",
        denied.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

fn pascal(stem: &str) -> String {
    stem.split('-').map(|part| part[..1].to_uppercase() + &part[1..]).collect()
}
