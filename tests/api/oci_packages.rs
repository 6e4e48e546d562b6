//! An `oci` registry's images through the REST packages API: listed as packages (repository and tag, or
//! digest when untagged) with size and platforms, shown, deleted like `DELETE /v2/.../manifests/...`, and
//! copied to another `oci` registry server-side; with the errors a caller can make.

use axum::body::Body;
use http::{Method, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::oci::{REPO, oci, push_image};

const PACKAGES: &str = "/v1/organizations/acme/registries/images/packages";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("images", "oci").await;
    app
}

/// Pushes a blob in one `POST ?digest=` and returns its descriptor.
async fn put_blob(app: &TestApp, repo: &str, media_type: &str, bytes: &[u8]) -> Value {
    let digest = digest(bytes);
    let path = format!("{repo}/blobs/uploads/?digest={digest}");
    let pushed = oci(app, Method::POST, &path, Some(&app.admin_token), &[], bytes.to_vec()).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

async fn put_manifest(app: &TestApp, repo: &str, reference: &str, media_type: &str, body: &Value) -> String {
    let path = format!("{repo}/manifests/{reference}");
    let headers = [("content-type", media_type)];
    let pushed = oci(app, Method::PUT, &path, Some(&app.admin_token), &headers, body.to_string()).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    digest(body.to_string().as_bytes())
}

/// Pushes an image for `arch` by digest; returns its descriptor with its platform and its total size.
async fn push_platform(app: &TestApp, repo: &str, arch: &str, variant: Option<&str>) -> (Value, u64) {
    let mut config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    if let Some(variant) = variant {
        config["variant"] = json!(variant);
    }
    let config = put_blob(app, repo, CONFIG, config.to_string().as_bytes()).await;
    let layer = put_blob(app, repo, "application/vnd.oci.image.layer.v1.tar", arch.repeat(1000).as_bytes()).await;
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]});
    let digest = put_manifest(app, repo, &digest(manifest.to_string().as_bytes()), OCI_MANIFEST, &manifest).await;
    let size = manifest.to_string().len() as u64 + config["size"].as_u64().unwrap() + layer["size"].as_u64().unwrap();
    let mut platform = json!({"os": "linux", "architecture": arch});
    if let Some(variant) = variant {
        platform["variant"] = json!(variant);
    }
    let descriptor = json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.to_string().len(),
                            "platform": platform});
    (descriptor, size)
}

/// Pushes a two-platform index tagged `tag`; returns its digest and total size.
async fn push_index(app: &TestApp, repo: &str, tag: &str) -> (String, u64) {
    let (amd64, amd64_size) = push_platform(app, repo, "amd64", None).await;
    let (arm, arm_size) = push_platform(app, repo, "arm", Some("v7")).await;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd64, arm]});
    let digest = put_manifest(app, repo, tag, OCI_INDEX, &index).await;
    (digest, index.to_string().len() as u64 + amd64_size + arm_size)
}

/// A `GET` of the registry API as the admin.
async fn get_v2(app: &TestApp, path: &str) -> packyard_tests::app::Reply {
    oci(app, Method::GET, path, Some(&app.admin_token), &[], Body::empty()).await
}

/// Every page of a listing, following `links.next`.
async fn list_all(app: &TestApp, first: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(url) = next {
        let page = app.get(url.trim_start_matches("http://packyard.test")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        found.extend(page.json["packages"].as_array().unwrap().iter().cloned());
        next = page.json["links"]["next"].as_str().map(str::to_owned);
    }
    found
}

#[tokio::test]
async fn images_list_as_packages_by_repository_then_tag_then_untagged_digest() {
    let app = app().await;
    let (manifest, image) = push_image(&app, REPO, "v1").await;
    push_image(&app, REPO, "v2").await;
    let (index, index_size) = push_index(&app, "/v2/acme/images/base", "stable").await;

    let listed = app.get(PACKAGES).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    let ids: Vec<&str> =
        listed.json["packages"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "base:stable", "repositories by name: base before team/app");
    assert_eq!(ids.len(), 5, "base:stable, its two platform manifests untagged, team~app:v1, team~app:v2: {ids:?}");
    assert!(ids[1].starts_with("base@sha256:") && ids[2].starts_with("base@sha256:"));
    assert_eq!(&ids[3..], ["team~app:v1", "team~app:v2"]);

    let packages = listed.json["packages"].as_array().unwrap();
    let tagged = &packages[3];
    let layer_and_config = 70_000 + r#"{"architecture":"amd64","os":"linux"}"#.len();
    assert_eq!(tagged["name"], "team/app");
    assert_eq!(tagged["version"], "v1");
    assert_eq!(tagged["tag"], "v1");
    assert_eq!(tagged["digest"], image);
    assert_eq!(tagged["media_type"], OCI_MANIFEST);
    assert_eq!(tagged["size"], (manifest.len() + layer_and_config) as u64);
    assert_eq!(tagged["manifest_size"], manifest.len() as u64);
    assert_eq!(tagged["platforms"], json!([{"os": "linux", "architecture": "amd64"}]));
    assert_eq!(tagged["ecosystem"], "oci");
    assert_eq!(tagged["image"], "packyard.test/acme/images/team/app:v1");
    assert!(tagged["created_at"].is_string());
    assert_eq!(tagged["url"], format!("http://packyard.test{PACKAGES}/team~app:v1"));

    let top = &packages[0];
    assert_eq!(top["digest"], index);
    assert_eq!(top["media_type"], OCI_INDEX);
    assert_eq!(top["size"], index_size, "the index with each platform's manifest, config and layer");
    assert_eq!(
        top["platforms"],
        json!([{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm", "variant": "v7"}])
    );
    let untagged = &packages[1];
    assert_eq!(untagged["tag"], Value::Null);
    assert_eq!(untagged["version"], untagged["digest"]);
    assert_eq!(untagged["platforms"].as_array().unwrap().len(), 1, "{untagged}");

    let paged = list_all(&app, &format!("{PACKAGES}?per_page=2")).await;
    assert_eq!(paged, *packages, "pages of two give the same images in the same order");
    let one = list_all(&app, &format!("{PACKAGES}?per_page=1&name=team/app")).await;
    let names: Vec<&str> = one.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(names, ["team~app:v1", "team~app:v2"], "name filters to one repository, across pages");
    let none = app.get(&format!("{PACKAGES}?name=nothing/here")).await;
    assert_eq!(none.json["packages"], json!([]));
    assert_eq!(app.get(&format!("{PACKAGES}?name=Bad%23name")).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get(&format!("{PACKAGES}?cursor=bm9wZQ")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_image_shows_by_tag_or_digest_and_downloads_point_at_the_registry_api() {
    let app = app().await;
    let (_, image) = push_image(&app, REPO, "v1").await;
    let by_tag = app.get(&format!("{PACKAGES}/team~app:v1")).await;
    assert_eq!(by_tag.status, StatusCode::OK, "{}", by_tag.json);
    assert_eq!(
        (by_tag.json["name"].as_str(), by_tag.json["digest"].as_str()),
        (Some("team/app"), Some(image.as_str()))
    );
    let by_digest = app.get(&format!("{PACKAGES}/team~app@{image}")).await;
    assert_eq!(by_digest.status, StatusCode::OK);
    assert_eq!(by_digest.json["version"], image);
    assert_eq!(by_digest.json["id"], format!("team~app@{image}"));

    for missing in ["team~app:v9", "other:v1", "01J00000000000000000000000", "team~app@sha256:beef"] {
        let reply = app.get(&format!("{PACKAGES}/{missing}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(reply.error_code(), "not_found");
    }
    let download = app.get(&format!("{PACKAGES}/team~app:v1/download")).await;
    assert_eq!(download.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(download.error_code(), "use_the_ecosystem_client");
    assert!(download.error_message().contains("/v2/acme/images/team/app/manifests/v1"), "{}", download.json);
    let head = app.call(Method::HEAD, &format!("{PACKAGES}/team~app:v1/download"), Some(&app.admin_token), None).await;
    assert_eq!(head.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn deleting_a_tag_or_a_digest_works_as_the_registry_api_delete_does() {
    let app = app().await;
    let (_, image) = push_image(&app, REPO, "v1").await;
    push_image(&app, REPO, "v2").await;
    let reader = app.token_with(&["read_packages"]).await;
    let refused = app.call(Method::DELETE, &format!("{PACKAGES}/team~app:v1"), Some(&reader), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    assert_eq!(app.delete(&format!("{PACKAGES}/team~app:v1")).await.status, StatusCode::NO_CONTENT);
    let tag = get_v2(&app, &format!("{REPO}/manifests/v1")).await;
    assert_eq!(tag.status, StatusCode::NOT_FOUND, "the tag is gone from /v2");
    let again = app.delete(&format!("{PACKAGES}/team~app:v1")).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::NOT_FOUND, "not_found"));
    let kept = get_v2(&app, &format!("{REPO}/manifests/v2")).await;
    assert_eq!(kept.status, StatusCode::OK, "the manifest stays under its other tag");

    assert_eq!(app.delete(&format!("{PACKAGES}/team~app@{image}")).await.status, StatusCode::NO_CONTENT);
    let gone = get_v2(&app, &format!("{REPO}/manifests/v2")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "deleting the digest takes its tags");
    assert_eq!(app.get(PACKAGES).await.json["packages"], json!([]));
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let actions: Vec<&str> =
        events.json["audit_events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"oci.tag_deleted") && actions.contains(&"oci.manifest_deleted"), "{actions:?}");
}

#[tokio::test]
async fn copying_an_image_promotes_it_with_its_blobs_and_tag() {
    let app = app().await;
    app.create_registry("images-prod", "oci").await;
    let (manifest, image) = push_image(&app, REPO, "v1").await;
    let copied = app.post(&format!("{PACKAGES}/team~app:v1/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{}", copied.json);
    assert_eq!(copied.json["registry"], "images-prod");
    assert_eq!(
        (copied.json["id"].as_str(), copied.json["digest"].as_str()),
        (Some("team~app:v1"), Some(image.as_str()))
    );

    let prod = "/v2/acme/images-prod/team/app";
    let pulled = get_v2(&app, &format!("{prod}/manifests/v1")).await;
    assert_eq!(pulled.status, StatusCode::OK);
    assert_eq!(pulled.text, manifest, "the same bytes, so the same digest");
    let document: Value = serde_json::from_str(&manifest).unwrap();
    for blob in [&document["config"]["digest"], &document["layers"][0]["digest"]] {
        let path = format!("{prod}/blobs/{}", blob.as_str().unwrap());
        let head = oci(&app, Method::HEAD, &path, Some(&app.admin_token), &[], Body::empty()).await;
        assert_eq!(head.status, StatusCode::OK, "blob {blob} is in the destination");
    }
    let again = app.post(&format!("{PACKAGES}/team~app:v1/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!(again.status, StatusCode::CREATED, "copying again finds everything there and changes nothing");
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let copied_event =
        events.json["audit_events"].as_array().unwrap().iter().find(|e| e["action"] == "oci.manifest_copied");
    assert_eq!(copied_event.unwrap()["changes"]["source"]["after"], "images/team~app:v1");
}

#[tokio::test]
async fn copying_an_index_copies_each_platform_and_keeps_the_digest() {
    let app = app().await;
    app.create_registry("images-prod", "oci").await;
    let (index, size) = push_index(&app, "/v2/acme/images/base", "stable").await;
    let copied = app.post(&format!("{PACKAGES}/base@{index}/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{}", copied.json);
    assert_eq!((copied.json["tag"].clone(), copied.json["size"].clone()), (Value::Null, json!(size)));
    let listed = app.get("/v1/organizations/acme/registries/images-prod/packages").await;
    assert_eq!(listed.json["packages"].as_array().unwrap().len(), 3, "the index and its two images: {}", listed.json);
    let by_tag = app.post(&format!("{PACKAGES}/base:stable/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!(by_tag.json["id"], "base:stable");
    let pulled = get_v2(&app, "/v2/acme/images-prod/base/manifests/stable").await;
    assert_eq!(digest(pulled.text.as_bytes()), index);
}

#[tokio::test]
async fn copies_are_refused_for_another_ecosystem_an_unknown_image_or_without_permission() {
    let app = app().await;
    app.create_registry("images-prod", "oci").await;
    app.create_registry("tools", "files").await;
    push_image(&app, REPO, "v1").await;
    let copy = format!("{PACKAGES}/team~app:v1/copy");
    let files = app.post(&copy, json!({"destination": "tools"})).await;
    assert_eq!(
        (files.status, files.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("destination"))
    );
    let same = app.post(&copy, json!({"destination": "images"})).await;
    assert_eq!(same.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.post(&format!("{PACKAGES}/team~app:v9/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "not_found"));
    let malformed = app.post(&format!("{PACKAGES}/nonsense/copy"), json!({"destination": "images-prod"})).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    let nowhere = app.post(&copy, json!({"destination": "missing"})).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let reader = app.token_with(&["read_packages"]).await;
    let denied = app.call(Method::POST, &copy, Some(&reader), Some(json!({"destination": "images-prod"}))).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.json);
    let listed = app.get("/v1/organizations/acme/registries/images-prod/packages").await;
    assert_eq!(listed.json["packages"], json!([]), "nothing was copied by a refused request");
}

#[tokio::test]
async fn a_copy_onto_an_immutable_tag_that_points_elsewhere_is_refused_with_409() {
    let app = app().await;
    let locked = json!({"name": "images-locked", "ecosystem": "oci", "immutable_tags": true});
    assert_eq!(app.post("/v1/organizations/acme/registries", locked).await.status, StatusCode::CREATED);
    let (_, image) = push_image(&app, REPO, "v1").await;
    let there = "/v2/acme/images-locked/team/app";
    let (other, _) = push_platform(&app, there, "s390x", None).await;
    let other = other["digest"].as_str().unwrap();
    let body: Value = serde_json::from_str(&get_v2(&app, &format!("{there}/manifests/{other}")).await.text).unwrap();
    put_manifest(&app, there, "v1", OCI_MANIFEST, &body).await;

    let copy = format!("{PACKAGES}/team~app:v1/copy");
    let refused = app.post(&copy, json!({"destination": "images-locked"})).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::CONFLICT, "conflict"), "{}", refused.json);
    assert!(refused.error_message().contains(other), "names the digest the tag keeps: {}", refused.json);
    let kept = get_v2(&app, &format!("{there}/manifests/v1")).await;
    assert_eq!(digest(kept.text.as_bytes()), other, "the tag still points where it did");
    let by_digest =
        app.post(&format!("{PACKAGES}/team~app@{image}/copy"), json!({"destination": "images-locked"})).await;
    assert_eq!(by_digest.status, StatusCode::CREATED, "the image itself may go there untagged: {}", by_digest.json);
}
