//! The OCI Distribution API in-process: credentials, blob uploads (chunked, monolithic, mounted), manifests
//! by tag and digest, tags, referrers and the spec's error codes.

use axum::body::Body;
use base64::Engine;
use http::{Method, Request, StatusCode};
use packyard_tests::app::{Reply, TestApp};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub(crate) const REPO: &str = "/v2/acme/images/team/app";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub(crate) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn basic(token: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("anything:{token}")))
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("images", "oci").await;
    app
}

/// Sends a request with Basic credentials (when a token is given), headers and a body.
pub(crate) async fn oci(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path).header("host", "packyard.test");
    if let Some(token) = token {
        request = request.header("authorization", basic(token));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(body.into()).unwrap()).await
}

pub(crate) fn code(reply: &Reply) -> &str {
    reply.json["errors"][0]["code"].as_str().unwrap_or_default()
}

pub(crate) fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply.headers.get(name).map_or("", |value| value.to_str().unwrap())
}

/// Pushes a blob in two PATCH chunks and a final PUT, and returns its digest.
pub(crate) async fn push_blob(app: &TestApp, repo: &str, bytes: &[u8]) -> String {
    let token = app.admin_token.clone();
    let started = oci(app, Method::POST, &format!("{repo}/blobs/uploads/"), Some(&token), &[], Body::empty()).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(header(&started, "range"), "0-0");
    assert!(!header(&started, "oci-chunk-min-length").is_empty());
    let mut location = header(&started, "location").to_owned();
    let half = bytes.len() / 2;
    for (start, chunk) in [(0, &bytes[..half]), (half, &bytes[half..])] {
        let range = format!("{start}-{}", start + chunk.len() - 1);
        let headers = [("content-range", range.as_str()), ("content-type", "application/octet-stream")];
        let patched = oci(app, Method::PATCH, &location, Some(&token), &headers, chunk.to_vec()).await;
        assert_eq!(patched.status, StatusCode::ACCEPTED, "{}", patched.text);
        assert_eq!(header(&patched, "range"), format!("0-{}", start + chunk.len() - 1));
        location = header(&patched, "location").to_owned();
    }
    let digest = digest(bytes);
    let done = oci(app, Method::PUT, &format!("{location}?digest={digest}"), Some(&token), &[], Body::empty()).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    assert_eq!(header(&done, "docker-content-digest"), digest);
    digest
}

pub(crate) fn image_manifest(config: &str, config_size: usize, layer: &str, layer_size: usize) -> Value {
    json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]})
}

pub(crate) async fn put_manifest(app: &TestApp, repo: &str, reference: &str, media_type: &str, body: &Value) -> Reply {
    let token = app.admin_token.clone();
    let path = format!("{repo}/manifests/{reference}");
    oci(app, Method::PUT, &path, Some(&token), &[("content-type", media_type)], body.to_string()).await
}

/// Pushes a config and a layer and a manifest tagged `tag`; returns the manifest's bytes and digest.
pub(crate) async fn push_image(app: &TestApp, repo: &str, tag: &str) -> (String, String) {
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer: Vec<u8> = (0..=255_u8).cycle().take(70_000).collect();
    let (config_digest, layer_digest) = (push_blob(app, repo, config).await, push_blob(app, repo, &layer).await);
    let manifest = image_manifest(&config_digest, config.len(), &layer_digest, layer.len());
    let pushed = put_manifest(app, repo, tag, OCI_MANIFEST, &manifest).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    let manifest = manifest.to_string();
    let manifest_digest = digest(manifest.as_bytes());
    assert_eq!(header(&pushed, "docker-content-digest"), manifest_digest);
    assert_eq!(header(&pushed, "location"), format!("{repo}/manifests/{manifest_digest}"));
    (manifest, manifest_digest)
}

#[tokio::test]
async fn the_base_endpoint_challenges_for_basic_credentials_and_accepts_a_token() {
    let app = app().await;
    let anonymous = oci(&app, Method::GET, "/v2/", None, &[], Body::empty()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&anonymous, "www-authenticate"), "Basic realm=\"packyard\"");
    assert_eq!(code(&anonymous), "UNAUTHORIZED");
    let token = app.admin_token.clone();
    let ok = oci(&app, Method::GET, "/v2/", Some(&token), &[], Body::empty()).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(header(&ok, "docker-distribution-api-version"), "registry/2.0");
    let bearer = app.call(Method::GET, "/v2/", Some(&token), None).await;
    assert_eq!(bearer.status, StatusCode::OK);
    let wrong = oci(&app, Method::GET, "/v2/", Some("pky_not_a_token"), &[], Body::empty()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong), "UNAUTHORIZED");
}

#[tokio::test]
async fn an_image_pushed_in_chunks_is_pulled_back_by_tag_and_digest() {
    let app = app().await;
    let (manifest, manifest_digest) = push_image(&app, REPO, "v1").await;
    let token = app.admin_token.clone();
    for reference in ["v1", manifest_digest.as_str()] {
        let pulled =
            oci(&app, Method::GET, &format!("{REPO}/manifests/{reference}"), Some(&token), &[], Body::empty()).await;
        assert_eq!(pulled.status, StatusCode::OK);
        assert_eq!(pulled.text, manifest);
        assert_eq!(header(&pulled, "content-type"), OCI_MANIFEST);
        assert_eq!(header(&pulled, "docker-content-digest"), manifest_digest);
        assert_eq!(header(&pulled, "etag"), format!("\"{manifest_digest}\""));
    }
    let head = oci(&app, Method::HEAD, &format!("{REPO}/manifests/v1"), Some(&token), &[], Body::empty()).await;
    assert_eq!(header(&head, "content-length"), manifest.len().to_string());
    let layer = serde_json::from_str::<Value>(&manifest).unwrap()["layers"][0]["digest"].as_str().unwrap().to_owned();
    let blob_head = oci(&app, Method::HEAD, &format!("{REPO}/blobs/{layer}"), Some(&token), &[], Body::empty()).await;
    assert_eq!((blob_head.status, header(&blob_head, "content-length")), (StatusCode::OK, "70000"));
    assert_eq!(header(&blob_head, "docker-content-digest"), layer);
    let blob = oci(&app, Method::GET, &format!("{REPO}/blobs/{layer}"), Some(&token), &[], Body::empty()).await;
    assert_eq!(blob.status, StatusCode::TEMPORARY_REDIRECT);
    let mut redirect = blob;
    redirect.status = StatusCode::FOUND;
    let (status, bytes) = app.follow(&redirect).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(digest(&bytes), layer);
    let missing = format!("{REPO}/manifests/v2");
    assert_eq!(code(&oci(&app, Method::GET, &missing, Some(&token), &[], Body::empty()).await), "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn a_wrong_digest_stores_nothing_and_monolithic_and_mounted_uploads_complete_at_once() {
    let app = app().await;
    let token = app.admin_token.clone();
    let before = app.stored_objects();
    let wrong = digest(b"something else");
    let refused =
        oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/?digest={wrong}"), Some(&token), &[], "hello").await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    assert_eq!(app.stored_objects(), before);
    let head = oci(&app, Method::HEAD, &format!("{REPO}/blobs/{wrong}"), Some(&token), &[], Body::empty()).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);

    let right = digest(b"hello");
    let whole =
        oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/?digest={right}"), Some(&token), &[], "hello").await;
    assert_eq!(whole.status, StatusCode::CREATED, "{}", whole.text);
    assert_eq!(header(&whole, "location"), format!("{REPO}/blobs/{right}"));
    let mount = format!("/v2/acme/images/other/blobs/uploads/?mount={right}&from=team/app");
    let mounted = oci(&app, Method::POST, &mount, Some(&token), &[], Body::empty()).await;
    assert_eq!(mounted.status, StatusCode::CREATED);
    let unknown = format!("/v2/acme/images/other/blobs/uploads/?mount={wrong}&from=team/app");
    assert_eq!(oci(&app, Method::POST, &unknown, Some(&token), &[], Body::empty()).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_upload_reports_its_range_refuses_chunks_out_of_order_and_can_be_cancelled() {
    let app = app().await;
    let token = app.admin_token.clone();
    let started = oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), Some(&token), &[], Body::empty()).await;
    let location = header(&started, "location").to_owned();
    let first = oci(&app, Method::PATCH, &location, Some(&token), &[], "abc").await;
    assert_eq!(header(&first, "range"), "0-2");
    let status = oci(&app, Method::GET, &location, Some(&token), &[], Body::empty()).await;
    assert_eq!((status.status, header(&status, "range")), (StatusCode::NO_CONTENT, "0-2"));
    let gap = oci(&app, Method::PATCH, &location, Some(&token), &[("content-range", "10-12")], "def").await;
    assert_eq!((gap.status, code(&gap)), (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID"));
    let finished = format!("{location}?digest={}", digest(b"abcdef"));
    let done = oci(&app, Method::PUT, &finished, Some(&token), &[], "def").await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    let gone = oci(&app, Method::GET, &location, Some(&token), &[], Body::empty()).await;
    assert_eq!((gone.status, code(&gone)), (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"));

    let again = oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), Some(&token), &[], Body::empty()).await;
    let location = header(&again, "location").to_owned();
    oci(&app, Method::PATCH, &location, Some(&token), &[], "xyz").await;
    assert_eq!(
        oci(&app, Method::DELETE, &location, Some(&token), &[], Body::empty()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(oci(&app, Method::GET, &location, Some(&token), &[], Body::empty()).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_manifest_needs_its_blobs_and_a_valid_body() {
    let app = app().await;
    let missing = digest(b"never pushed");
    let manifest = image_manifest(&missing, 12, &missing, 12);
    let refused = put_manifest(&app, REPO, "v1", OCI_MANIFEST, &manifest).await;
    assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"));
    let invalid = put_manifest(&app, REPO, "v1", OCI_MANIFEST, &json!({"schemaVersion": 2})).await;
    assert_eq!(code(&invalid), "MANIFEST_INVALID");
    let by_digest = put_manifest(&app, REPO, &digest(b"x"), OCI_MANIFEST, &manifest).await;
    assert_eq!(code(&by_digest), "DIGEST_INVALID");
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
                       "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 1}]});
    assert_eq!(code(&put_manifest(&app, REPO, "multi", OCI_INDEX, &index).await), "MANIFEST_BLOB_UNKNOWN");
    let bad_name = put_manifest(&app, "/v2/acme/images/Team", "v1", OCI_MANIFEST, &manifest).await;
    assert_eq!(code(&bad_name), "NAME_INVALID");
}

#[tokio::test]
async fn tags_move_list_in_pages_and_deleting_a_manifest_removes_its_tags() {
    let app = app().await;
    let (_, first) = push_image(&app, REPO, "a").await;
    let token = app.admin_token.clone();
    for tag in ["b", "c"] {
        let path = format!("{REPO}/manifests/{first}");
        let manifest = oci(&app, Method::GET, &path, Some(&token), &[], Body::empty()).await.text;
        let moved = put_manifest(&app, REPO, tag, OCI_MANIFEST, &serde_json::from_str(&manifest).unwrap()).await;
        assert_eq!(moved.status, StatusCode::CREATED);
    }
    let all = oci(&app, Method::GET, &format!("{REPO}/tags/list"), Some(&token), &[], Body::empty()).await;
    assert_eq!(all.json, json!({"name": "acme/images/team/app", "tags": ["a", "b", "c"]}));
    let page = oci(&app, Method::GET, &format!("{REPO}/tags/list?n=2"), Some(&token), &[], Body::empty()).await;
    assert_eq!(page.json["tags"], json!(["a", "b"]));
    assert_eq!(header(&page, "link"), format!("<{REPO}/tags/list?n=2&last=b>; rel=\"next\""));
    let rest = oci(&app, Method::GET, &format!("{REPO}/tags/list?n=2&last=b"), Some(&token), &[], Body::empty()).await;
    assert_eq!((rest.json["tags"].clone(), header(&rest, "link")), (json!(["c"]), ""));

    let untag = oci(&app, Method::DELETE, &format!("{REPO}/manifests/c"), Some(&token), &[], Body::empty()).await;
    assert_eq!(untag.status, StatusCode::ACCEPTED);
    let deleted =
        oci(&app, Method::DELETE, &format!("{REPO}/manifests/{first}"), Some(&token), &[], Body::empty()).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{}", deleted.text);
    let after = oci(&app, Method::GET, &format!("{REPO}/tags/list"), Some(&token), &[], Body::empty()).await;
    assert_eq!(after.json["tags"], json!([]));
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let actions: Vec<&str> =
        events.json["audit_events"].as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"oci.manifest_pushed") && actions.contains(&"oci.manifest_deleted"), "{actions:?}");
}

#[tokio::test]
async fn an_index_and_a_referrer_are_served_with_their_subject() {
    let app = app().await;
    let (_, image) = push_image(&app, REPO, "amd64").await;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
                       "manifests": [{"mediaType": OCI_MANIFEST, "digest": image, "size": 1,
                                      "platform": {"architecture": "amd64", "os": "linux"}}]});
    let pushed = put_manifest(&app, REPO, "latest", OCI_INDEX, &index).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);

    let empty_config = push_blob(&app, REPO, b"{}").await;
    let sbom = push_blob(&app, REPO, b"an sbom").await;
    let referrer = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_config, "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": sbom, "size": 7}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image, "size": 1}});
    let referrer_digest = digest(referrer.to_string().as_bytes());
    let attached = put_manifest(&app, REPO, &referrer_digest, OCI_MANIFEST, &referrer).await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.text);
    assert_eq!(header(&attached, "oci-subject"), image);

    let token = app.admin_token.clone();
    let referrers =
        oci(&app, Method::GET, &format!("{REPO}/referrers/{image}"), Some(&token), &[], Body::empty()).await;
    assert_eq!(header(&referrers, "content-type"), OCI_INDEX);
    assert_eq!(referrers.json["manifests"][0]["digest"], referrer_digest);
    assert_eq!(referrers.json["manifests"][0]["artifactType"], "application/spdx+json");
    let filtered = format!("{REPO}/referrers/{image}?artifactType=application/other");
    let none = oci(&app, Method::GET, &filtered, Some(&token), &[], Body::empty()).await;
    assert_eq!((none.json["manifests"].clone(), header(&none, "oci-filters-applied")), (json!([]), "artifactType"));
}

#[tokio::test]
async fn credentials_decide_who_pulls_and_pushes() {
    let app = app().await;
    let path = format!("{REPO}/blobs/uploads/");
    let anonymous = oci(&app, Method::POST, &path, None, &[], Body::empty()).await;
    assert_eq!((anonymous.status, code(&anonymous)), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    assert_eq!(header(&anonymous, "www-authenticate"), "Basic realm=\"packyard\"");
    let wrong = oci(&app, Method::POST, &path, Some("pky_wrong"), &[], Body::empty()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let reader = app.token_with(&["read_packages"]).await;
    let denied = oci(&app, Method::POST, &path, Some(&reader), &[], Body::empty()).await;
    assert_eq!((denied.status, code(&denied)), (StatusCode::FORBIDDEN, "DENIED"));
    let tags = format!("{REPO}/tags/list");
    assert_eq!(oci(&app, Method::GET, &tags, Some(&reader), &[], Body::empty()).await.status, StatusCode::OK);

    let other = TestApp::bootstrap(&app.state, "globex").await;
    let foreign = oci(&app, Method::GET, &tags, Some(&other), &[], Body::empty()).await;
    assert_eq!((foreign.status, code(&foreign)), (StatusCode::NOT_FOUND, "NAME_UNKNOWN"));
    app.create_registry("js", "npm").await;
    let npm = oci(&app, Method::GET, "/v2/acme/js/app/tags/list", Some(&app.admin_token), &[], Body::empty()).await;
    assert_eq!(code(&npm), "NAME_UNKNOWN");

    assert_eq!(oci(&app, Method::GET, &tags, None, &[], Body::empty()).await.status, StatusCode::UNAUTHORIZED);
    app.patch("/v1/organizations/acme/registries/images", json!({"public": true})).await;
    assert_eq!(oci(&app, Method::GET, &tags, None, &[], Body::empty()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn housekeeping_removes_the_images_and_uploads_of_a_deleted_registry() {
    let app = app().await;
    push_image(&app, REPO, "v1").await;
    let token = app.admin_token.clone();
    let open = oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), Some(&token), &[], Body::empty()).await;
    oci(&app, Method::PATCH, header(&open, "location"), Some(&token), &[], "unfinished").await;
    assert!(app.stored_objects() > 0);

    assert_eq!(app.delete("/v1/organizations/acme/registries/images").await.status, StatusCode::NO_CONTENT);
    let report = app.state.housekeeping.run(chrono::Utc::now()).await.unwrap();
    assert_eq!((report.registries_purged, report.oci_blobs_removed), (1, 3), "config, layer and manifest");
    assert_eq!(app.stored_objects(), 0, "no blob or chunk of the deleted registry is left");
}

#[tokio::test]
async fn housekeeping_sweeps_an_upload_left_unfinished_for_a_day() {
    let app = app().await;
    let token = app.admin_token.clone();
    let open = oci(&app, Method::POST, &format!("{REPO}/blobs/uploads/"), Some(&token), &[], Body::empty()).await;
    let location = header(&open, "location").to_owned();
    oci(&app, Method::PATCH, &location, Some(&token), &[], "unfinished").await;
    let report = app.state.housekeeping.run(chrono::Utc::now()).await.unwrap();
    assert_eq!(report.uploads_swept, 0, "a fresh upload stays");
    assert_eq!(
        oci(&app, Method::GET, &location, Some(&token), &[], Body::empty()).await.status,
        StatusCode::NO_CONTENT
    );

    let later = chrono::Utc::now() + chrono::Duration::hours(25);
    assert_eq!(app.state.housekeeping.run(later).await.unwrap().uploads_swept, 1);
    let gone = oci(&app, Method::GET, &location, Some(&token), &[], Body::empty()).await;
    assert_eq!(code(&gone), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(app.stored_objects(), 0, "its chunk is removed");
}
