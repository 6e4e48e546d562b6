//! Managing OCI content: immutable tags, `Accept` negotiation, deleting blobs, garbage collection of blobs
//! no manifest uses, and mounting a blob from another registry of the organization.

use axum::body::Body;
use chrono::{Duration, Utc};
use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::{Value, json};

use super::oci::{
    OCI_INDEX, OCI_MANIFEST, REPO, code, digest, header, image_manifest, oci, push_blob, push_image, put_manifest,
};

const ORG: &str = "/v1/organizations/acme";

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("images", "oci").await;
    app
}

async fn status(app: &TestApp, method: Method, path: &str) -> StatusCode {
    oci(app, method, path, Some(&app.admin_token.clone()), &[], Body::empty()).await.status
}

fn actions(events: &Value) -> Vec<String> {
    events["audit_events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn an_immutable_tag_refuses_another_manifest_but_takes_the_same_one_again() {
    let app = app().await;
    let patched = app.patch(&format!("{ORG}/registries/images"), json!({"immutable_tags": true})).await;
    assert_eq!((patched.status, &patched.json["immutable_tags"]), (StatusCode::OK, &json!(true)), "{:?}", patched.json);
    let (first, first_digest) = push_image(&app, REPO, "v1").await;

    let again = put_manifest(&app, REPO, "v1", OCI_MANIFEST, &serde_json::from_str(&first).unwrap()).await;
    assert_eq!(again.status, StatusCode::CREATED, "the same manifest under its own tag is no change: {}", again.text);
    let config = push_blob(&app, REPO, br#"{"os":"linux","architecture":"arm64"}"#).await;
    let layer = push_blob(&app, REPO, b"another layer").await;
    let other = image_manifest(&config, 38, &layer, 13);
    let refused = put_manifest(&app, REPO, "v1", OCI_MANIFEST, &other).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::CONFLICT, "DENIED"), "{}", refused.text);
    let message = refused.json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("immutable") && message.contains(&first_digest), "{message}");
    let pulled =
        oci(&app, Method::GET, &format!("{REPO}/manifests/v1"), Some(&app.admin_token), &[], Body::empty()).await;
    assert_eq!(header(&pulled, "docker-content-digest"), first_digest, "the tag kept its manifest");
    assert_eq!(put_manifest(&app, REPO, "v2", OCI_MANIFEST, &other).await.status, StatusCode::CREATED);

    let events = app.get(&format!("{ORG}/audit-events")).await;
    assert!(actions(&events.json).contains(&"registry.updated".to_owned()), "{:?}", actions(&events.json));
    app.create_registry("files", "files").await;
    let wrong = app.patch(&format!("{ORG}/registries/files"), json!({"immutable_tags": true})).await;
    assert_eq!(
        (wrong.status, wrong.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("immutable_tags")),
        "{:?}",
        wrong.json
    );
    let created = app
        .post(&format!("{ORG}/registries"), json!({"name": "frozen", "ecosystem": "oci", "immutable_tags": true}))
        .await;
    assert_eq!(created.json["immutable_tags"], json!(true), "{:?}", created.json);
}

#[tokio::test]
async fn a_manifest_is_served_only_as_a_media_type_the_client_accepts() {
    let app = app().await;
    let (_, manifest_digest) = push_image(&app, REPO, "v1").await;
    let token = app.admin_token.clone();
    let path = format!("{REPO}/manifests/v1");
    for accept in [
        OCI_MANIFEST,
        "*/*",
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json;q=0.9",
    ] {
        let pulled = oci(&app, Method::GET, &path, Some(&token), &[("accept", accept)], Body::empty()).await;
        assert_eq!((pulled.status, header(&pulled, "content-type")), (StatusCode::OK, OCI_MANIFEST), "{accept}");
    }
    let docker_only = [("accept", "application/vnd.docker.distribution.manifest.v2+json")];
    let refused = oci(&app, Method::GET, &path, Some(&token), &docker_only, Body::empty()).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    assert!(refused.json["errors"][0]["message"].as_str().unwrap().contains(OCI_MANIFEST), "{}", refused.text);
    let index = oci(
        &app,
        Method::HEAD,
        &format!("{REPO}/manifests/{manifest_digest}"),
        Some(&token),
        &[("accept", OCI_INDEX)],
        Body::empty(),
    )
    .await;
    assert_eq!(index.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_blob_is_deleted_only_once_no_manifest_uses_it() {
    let app = app().await;
    let (manifest, manifest_digest) = push_image(&app, REPO, "v1").await;
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let path = format!("{REPO}/blobs/{layer}");
    let token = app.admin_token.clone();

    let in_use = oci(&app, Method::DELETE, &path, Some(&token), &[], Body::empty()).await;
    assert_eq!((in_use.status, code(&in_use)), (StatusCode::CONFLICT, "DENIED"), "{}", in_use.text);
    let reader = app.token_with(&["read_packages"]).await;
    assert_eq!(oci(&app, Method::DELETE, &path, Some(&reader), &[], Body::empty()).await.status, StatusCode::FORBIDDEN);

    assert_eq!(
        status(&app, Method::DELETE, &format!("{REPO}/manifests/{manifest_digest}")).await,
        StatusCode::ACCEPTED
    );
    let objects = app.stored_objects();
    assert_eq!(status(&app, Method::DELETE, &path).await, StatusCode::ACCEPTED);
    assert_eq!(app.stored_objects(), objects - 1, "the layer's bytes went with it");
    let gone = oci(&app, Method::HEAD, &path, Some(&token), &[], Body::empty()).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let again = oci(&app, Method::DELETE, &path, Some(&token), &[], Body::empty()).await;
    assert_eq!((again.status, code(&again)), (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"));
    assert!(actions(&app.get(&format!("{ORG}/audit-events")).await.json).contains(&"oci.blob_deleted".to_owned()));
}

#[tokio::test]
async fn garbage_collection_removes_unused_blobs_after_their_grace_and_keeps_what_manifests_use() {
    let app = app().await;
    let (manifest, manifest_digest) = push_image(&app, REPO, "v1").await;
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let stray = push_blob(&app, REPO, b"pushed but never used by a manifest").await;
    let objects = app.stored_objects();
    let run = |hours: i64| {
        let state = app.state.clone();
        async move { state.housekeeping.run(Utc::now() + Duration::hours(hours)).await.unwrap().oci_blobs_collected }
    };

    assert_eq!(run(0).await, 0, "nothing is due before its grace");
    assert_eq!(run(25).await, 0, "a day later the stray blob is found unused and marked idle");
    assert_eq!(status(&app, Method::HEAD, &format!("{REPO}/blobs/{stray}")).await, StatusCode::OK);
    assert_eq!(run(49).await, 0, "a HEAD (a client about to push) made it new again: marked idle once more");
    assert_eq!(run(72).await, 0, "not yet a day idle");
    assert_eq!(run(74).await, 1, "idle for a day, it goes");
    assert_eq!(status(&app, Method::HEAD, &format!("{REPO}/blobs/{stray}")).await, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_objects(), objects - 1);
    for used in [&manifest["config"]["digest"], &manifest["layers"][0]["digest"]] {
        let path = format!("{REPO}/blobs/{}", used.as_str().unwrap());
        assert_eq!(status(&app, Method::HEAD, &path).await, StatusCode::OK, "a blob a manifest uses stays");
    }

    // Pushed again by another repository, the layer is used twice; deleting one manifest keeps it.
    let other = "/v2/acme/images/team/other";
    let mount = format!(
        "{other}/blobs/uploads/?mount={}&from=acme/images/team/app",
        manifest["layers"][0]["digest"].as_str().unwrap()
    );
    assert_eq!(status(&app, Method::POST, &mount).await, StatusCode::CREATED);
    let mount = format!(
        "{other}/blobs/uploads/?mount={}&from=acme/images/team/app",
        manifest["config"]["digest"].as_str().unwrap()
    );
    assert_eq!(status(&app, Method::POST, &mount).await, StatusCode::CREATED);
    assert_eq!(put_manifest(&app, other, "v1", OCI_MANIFEST, &manifest).await.status, StatusCode::CREATED);
    assert_eq!(
        status(&app, Method::DELETE, &format!("{REPO}/manifests/{manifest_digest}")).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(run(200).await, 0, "the other repository's manifest still uses every blob");
    assert_eq!(status(&app, Method::GET, &format!("{other}/manifests/v1")).await, StatusCode::OK);

    assert_eq!(
        status(&app, Method::DELETE, &format!("{other}/manifests/{manifest_digest}")).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(run(300).await, 0, "unused now: marked idle first");
    assert_eq!(run(330).await, 3, "config, layer and the manifest's own bytes go a grace later");
    assert_eq!(app.stored_objects(), objects - 4);
}

#[tokio::test]
async fn a_blob_mounts_from_another_registry_only_where_the_caller_may_read() {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("images", "oci").await;
    app.create_registry("private", "oci").await;
    let source = "/v2/acme/private/base";
    let layer = push_blob(&app, source, b"a base layer").await;
    let mount = format!("{REPO}/blobs/uploads/?mount={layer}&from=acme/private/base");

    assert_eq!(app.post(&format!("{ORG}/teams"), json!({"name": "builders"})).await.status, StatusCode::CREATED);
    app.call(Method::PUT, &format!("{ORG}/teams/builders/members/bob"), Some(&app.admin_token), None).await;
    let grant = app.put(&format!("{ORG}/teams/builders/registries/images"), json!({"access": "read_write"})).await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.json);
    let scopes = ["read_packages", "write_packages"];
    let bob =
        app.post(&format!("{ORG}/tokens"), json!({"description": "bob", "member": "bob", "scopes": scopes})).await;
    let bob = bob.json["token"].as_str().unwrap().to_owned();
    let refused = oci(&app, Method::POST, &mount, Some(&bob), &[], Body::empty()).await;
    assert_eq!(refused.status, StatusCode::ACCEPTED, "no read grant on the source: an upload starts instead");
    assert_eq!(
        oci(&app, Method::HEAD, &format!("{REPO}/blobs/{layer}"), Some(&bob), &[], Body::empty()).await.status,
        StatusCode::NOT_FOUND
    );

    let mounted = oci(&app, Method::POST, &mount, Some(&app.admin_token), &[], Body::empty()).await;
    assert_eq!(
        (mounted.status, header(&mounted, "location")),
        (StatusCode::CREATED, format!("{REPO}/blobs/{layer}").as_str())
    );
    let fetched = oci(&app, Method::GET, &format!("{REPO}/blobs/{layer}"), Some(&bob), &[], Body::empty()).await;
    let mut redirect = fetched;
    redirect.status = StatusCode::FOUND;
    let (_, bytes) = app.follow(&redirect).await;
    assert_eq!(digest(&bytes), layer, "copied server-side into the registry's own storage");
}

#[tokio::test]
async fn a_manifest_referencing_more_than_a_thousand_blobs_is_refused_before_any_is_looked_up() {
    let app = app().await;
    let layer = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(b"x"), "size": 1});
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": vec![layer; 1000]});
    let refused = put_manifest(&app, REPO, "huge", OCI_MANIFEST, &manifest).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"), "{}", refused.text);
    assert!(refused.json["errors"][0]["message"].as_str().unwrap().contains("1001"), "{}", refused.text);
}
