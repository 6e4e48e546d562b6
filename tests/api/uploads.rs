//! Signed blob URLs and presigned uploads under hostile use: a request is judged before its body is read,
//! an interrupted body leaves nothing behind, and every size the API accepts gets parts S3 can take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use http::{Request, StatusCode};
use packyard_tests::app::TestApp;
use serde_json::json;

/// A body that counts how many of its chunks were read, and never ends on its own: a server that reads
/// it before judging the request would wait forever.
fn counted_endless_body() -> (Body, Arc<AtomicUsize>) {
    let polled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polled);
    let chunks = futures_util::stream::repeat_with(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![0_u8; 64 * 1024]))
    });
    (Body::from_stream(chunks), polled)
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_forged_or_expired_signed_put_is_refused_before_a_byte_of_its_body_is_read() {
    let app = TestApp::new().await;
    for query in ["expires=99999999999&signature=00", "expires=1&signature=00", "expires=99999999999&signature=zz"] {
        let (body, polled) = counted_endless_body();
        let request = Request::put(format!("/_blobs/packages/a/b/c.bin?{query}")).body(body).unwrap();
        let reply = tokio::time::timeout(std::time::Duration::from_secs(10), app.send(request))
            .await
            .expect("the refusal came without reading the endless body");
        assert_eq!((reply.status, reply.error_code()), (StatusCode::FORBIDDEN, "signature_rejected"), "{query}");
        assert_eq!(polled.load(Ordering::SeqCst), 0, "{query}: the body was read before the signature was checked");
    }
}

#[tokio::test]
async fn an_upload_whose_body_breaks_off_leaves_no_object_and_no_temporary_file() {
    let app = TestApp::new().await;
    app.create_registry("fs", "files").await;
    let reply = app
        .post(
            "/v1/organizations/acme/registries/fs/uploads",
            json!({"filename": "tool-1.0.0.bin", "size": 3_000_000, "sha256": "ab".repeat(32)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
    let instructions = reply.json.clone();
    let path = reply.json["url"].as_str().unwrap().strip_prefix("http://packyard.test").unwrap().to_owned();
    let chunks = futures_util::stream::iter([
        Ok(Bytes::from(vec![1_u8; 1_000_000])),
        Ok(Bytes::from(vec![2_u8; 1_000_000])),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the client went away")),
    ]);
    let checksum = instructions["headers"]["x-amz-checksum-sha256"].as_str().unwrap();
    let request = Request::put(&path).header("x-amz-checksum-sha256", checksum);
    let reply = app.send(request.body(Body::from_stream(chunks)).unwrap()).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::BAD_REQUEST, "upload_interrupted"), "{}", reply.text);
    assert_eq!(files_in(&app.blob_dir.as_ref().unwrap().0.join("tmp")), Vec::<String>::new());
    let complete = app
        .post(&format!("/v1/organizations/acme/registries/fs/uploads/{}/complete", reply_id(&path)), json!({}))
        .await;
    assert_eq!(complete.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", complete.json);
    assert!(complete.error_message().contains("nothing was uploaded"), "{}", complete.error_message());
}

/// The upload id in a signed single-PUT URL path (`/_blobs/packages/<registry>/<upload id>/<file>`).
fn reply_id(path: &str) -> String {
    path.split('?').next().unwrap().split('/').nth(4).unwrap().to_owned()
}

#[tokio::test]
async fn the_largest_upload_the_api_promises_gets_parts_s3_accepts_in_batches() {
    let app = TestApp::new().await;
    app.create_registry("fs", "files").await;
    let five_tib: u64 = 5 * 1024 * 1024 * 1024 * 1024;
    let reply = app
        .post(
            "/v1/organizations/acme/registries/fs/uploads",
            json!({"filename": "disk-1.0.0.img", "size": five_tib, "sha256": "cd".repeat(32)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
    let part_size = reply.json["part_size"].as_u64().unwrap();
    let part_count = reply.json["part_count"].as_u64().unwrap();
    assert!((5 * 1024 * 1024..=5 * 1024 * 1024 * 1024).contains(&part_size), "part size {part_size}");
    assert!(part_count <= 10_000 && part_count * part_size >= five_tib, "{part_count} parts of {part_size}");
    assert_eq!(reply.json["parts"].as_array().unwrap().len(), 1000, "one answer signs a bounded batch");

    let mut numbers = Vec::new();
    let mut page = reply.json;
    loop {
        numbers.extend(page["parts"].as_array().unwrap().iter().map(|part| part["number"].as_u64().unwrap()));
        let Some(next) = page["more_parts"].as_str() else { break };
        let next = app.get(next.strip_prefix("http://packyard.test").unwrap()).await;
        assert_eq!(next.status, StatusCode::OK, "{:?}", next.json);
        page = next.json;
    }
    assert_eq!(numbers, (1..=part_count).collect::<Vec<_>>(), "every part is signed exactly once, in order");
}

#[tokio::test]
async fn asking_for_parts_past_the_last_or_of_a_single_put_upload_is_a_422() {
    let app = TestApp::new().await;
    app.create_registry("fs", "files").await;
    let base = "/v1/organizations/acme/registries/fs/uploads";
    let large = app
        .post(
            base,
            json!({"filename": "big-1.0.0.bin", "size": 200_u64 << 20, "sha256": "ef".repeat(32), "parts": true}),
        )
        .await;
    assert_eq!(large.json["part_count"], 4, "{:?}", large.json);
    assert!(large.json["more_parts"].is_null());
    let id = large.json["id"].as_str().unwrap();
    let past = app.get(&format!("{base}/{id}/parts?first=5")).await;
    assert_eq!((past.status, past.json["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("first")));
    let small = app.post(base, json!({"filename": "small-1.0.0.bin", "size": 10, "sha256": "ef".repeat(32)})).await;
    let single = app.get(&format!("{base}/{}/parts?first=1", small.json["id"].as_str().unwrap())).await;
    assert_eq!(single.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", single.json);
    let malformed = app.get(&format!("{base}/{id}/parts?first=x")).await;
    assert_eq!(
        (malformed.status, malformed.error_code()),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{}",
        malformed.text
    );
}
