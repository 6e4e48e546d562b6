//! The `BlobStore` contract, run against the local-disk store (its signed URLs served by its own router,
//! as the dev server does) and against an S3 server that verifies SigV4 and presigned URLs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use packyard::adapters::local_blob::LocalBlobStore;
use packyard::adapters::s3::S3BlobStore;
use packyard::ports::blob::{BlobError, BlobStore, ByteStream, CHECKSUM_HEADER, CompletedPart, StorageKey};
use packyard_tests::app::tempdir::TempDir;
use packyard_tests::services;

/// A store under test, and whatever must live as long as it.
struct Subject {
    store: Arc<dyn BlobStore>,
    _keep: Option<(TempDir, tokio::task::JoinHandle<()>)>,
}

async fn local_store() -> Subject {
    let dir = TempDir::new("packyard-blob-contract");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let store = LocalBlobStore::open(&dir.0, &base_url).unwrap();
    let router = store.clone().router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Subject { store: Arc::new(store), _keep: Some((dir, server)) }
}

async fn s3_store() -> Subject {
    let client = services::s3().await;
    let bucket = services::unique_name("contract");
    client.create_bucket().bucket(&bucket).send().await.expect("create bucket on the S3 server");
    Subject { store: Arc::new(S3BlobStore::new(client, bucket, "/tenant/prefix/")), _keep: None }
}

fn key(path: &str) -> StorageKey {
    StorageKey::parse(path).unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The same URL with one character of its signature changed.
fn tampered(url: &str) -> String {
    let (index, character) = url.char_indices().last().unwrap();
    let replacement = if character == '0' { '1' } else { '0' };
    format!("{}{replacement}", &url[..index])
}

async fn objects_round_trip_and_deleting_is_idempotent(subject: Subject) {
    let store = subject.store;
    let key = key("registries/r1/pkg/1.0.0/pkg-1.0.0.tgz");
    assert_eq!(store.head(&key).await.unwrap(), None);
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))));
    store.put(&key, Bytes::from_static(b"hello bytes")).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"hello bytes"));
    assert_eq!(store.head(&key).await.unwrap().unwrap().size, 11);
    store.put(&key, Bytes::new()).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap().unwrap().size, 0);
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap(), None);
}

async fn presigned_urls_move_bytes_without_credentials(subject: Subject) {
    let store = subject.store;
    let key = key("uploads/u1/file.bin");
    let body: Vec<u8> = (0..=255).cycle().take(100_000).collect();
    let put_url = store.presign_put(&key, Duration::from_secs(60), None).await.unwrap();
    let uploaded = http().put(&put_url).body(body.clone()).send().await.unwrap();
    assert!(uploaded.status().is_success(), "PUT {}: {}", uploaded.status(), uploaded.text().await.unwrap());
    assert_eq!(store.get(&key).await.unwrap().as_ref(), body.as_slice());
    let get_url = store.presign_get(&key, Duration::from_secs(60)).await.unwrap();
    let downloaded = http().get(&get_url).send().await.unwrap();
    assert!(downloaded.status().is_success(), "GET {}", downloaded.status());
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), body.as_slice());
}

/// The base64 SHA-256 a checksum-bound PUT carries.
fn checksum_of(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

async fn a_put_bound_to_a_sha256_refuses_other_bytes_and_reports_the_checksum(subject: Subject) {
    let store = subject.store;
    let key = key("uploads/checked/file.bin");
    let body: Vec<u8> = (0..=255).cycle().take(300_000).collect();
    let checksum = checksum_of(&body);
    let url = store.presign_put(&key, Duration::from_secs(60), Some(&checksum)).await.unwrap();
    let mut wrong = body.clone();
    wrong[1000] ^= 1;
    let refused = http().put(&url).header(CHECKSUM_HEADER, &checksum).body(wrong).send().await.unwrap();
    assert_eq!(refused.status(), 400, "other bytes were accepted: {}", refused.text().await.unwrap());
    // AWS stores nothing on BadDigest, and neither does the local store; s3s-fs keeps the refused body (but
    // without a checksum), so what the contract holds every store to is what completion relies on: refused
    // bytes are never reported as carrying the signed checksum.
    let after = store.head(&key).await.unwrap();
    assert!(after.as_ref().is_none_or(|meta| meta.sha256.as_deref() != Some(checksum.as_str())), "{after:?}");
    let unsent = http().put(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsent.status(), 403, "a PUT without the signed checksum header was accepted");
    let lying =
        http().put(&url).header(CHECKSUM_HEADER, checksum_of(b"other")).body(body.clone()).send().await.unwrap();
    assert_eq!(lying.status(), 403, "a PUT with another checksum than the signed one was accepted");
    let stored = http().put(&url).header(CHECKSUM_HEADER, &checksum).body(body.clone()).send().await.unwrap();
    assert!(stored.status().is_success(), "PUT {}: {}", stored.status(), stored.text().await.unwrap());
    let meta = store.head(&key).await.unwrap().unwrap();
    assert_eq!((meta.size, meta.sha256.as_deref()), (body.len() as u64, Some(checksum.as_str())));
}

async fn tampered_and_repurposed_urls_are_refused(subject: Subject) {
    let store = subject.store;
    let key = key("files/secret.txt");
    store.put(&key, Bytes::from_static(b"secret")).await.unwrap();
    let get_url = store.presign_get(&key, Duration::from_secs(60)).await.unwrap();
    let forged = http().get(tampered(&get_url)).send().await.unwrap();
    assert_eq!(forged.status(), 403, "a tampered signature was accepted");
    let other_key = get_url.replacen("secret.txt", "other.txt", 1);
    assert_eq!(http().get(&other_key).send().await.unwrap().status(), 403, "a URL was reused for another key");
    let upload_with_get_url = http().put(&get_url).body("overwritten").send().await.unwrap();
    assert_eq!(upload_with_get_url.status(), 403, "a GET URL was accepted for a PUT");
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"secret"));
}

async fn expired_urls_are_refused(subject: Subject) {
    let store = subject.store;
    let key = key("files/short-lived.txt");
    store.put(&key, Bytes::from_static(b"soon gone")).await.unwrap();
    let url = store.presign_get(&key, Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 403, "an expired URL was accepted");
}

async fn multipart_uploads_assemble_parts_in_order(subject: Subject) {
    let store = subject.store;
    let key = key("uploads/big/archive.tar");
    // S3 requires every part but the last to be at least 5 MiB.
    let first = vec![b'a'; 5 * 1024 * 1024];
    let second = b"tail end".to_vec();
    let upload_id = store.start_multipart(&key).await.unwrap();
    let mut parts = Vec::new();
    for (number, body) in [(1, &first), (2, &second)] {
        let url = store.presign_part(&key, &upload_id, number, Duration::from_secs(60)).await.unwrap();
        let response = http().put(&url).body(body.clone()).send().await.unwrap();
        assert!(response.status().is_success(), "part {number}: {}", response.status());
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        parts.push(CompletedPart { number, etag });
    }
    assert_eq!(store.head(&key).await.unwrap(), None, "an object appeared before the upload completed");
    store.complete_multipart(&key, &upload_id, &parts).await.unwrap();
    let stored = store.get(&key).await.unwrap();
    assert_eq!(stored.len(), first.len() + second.len());
    assert!(stored.ends_with(b"tail end") && stored.starts_with(b"aaaa"));
}

async fn an_aborted_upload_or_a_missing_part_cannot_complete(subject: Subject) {
    let store = subject.store;
    let key = key("uploads/aborted/file.bin");
    let upload_id = store.start_multipart(&key).await.unwrap();
    let url = store.presign_part(&key, &upload_id, 1, Duration::from_secs(60)).await.unwrap();
    let response = http().put(&url).body("only part").send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    store.abort_multipart(&key, &upload_id).await.unwrap();
    let right = [CompletedPart { number: 1, etag: etag.clone() }];
    assert!(store.complete_multipart(&key, &upload_id, &right).await.is_err(), "an aborted upload completed");
    assert_eq!(store.head(&key).await.unwrap(), None);

    let other = store.start_multipart(&key).await.unwrap();
    let url = store.presign_part(&key, &other, 1, Duration::from_secs(60)).await.unwrap();
    let response = http().put(&url).body("first of two").send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let missing = [CompletedPart { number: 1, etag: etag.clone() }, CompletedPart { number: 2, etag }];
    assert!(store.complete_multipart(&key, &other, &missing).await.is_err(), "a part never uploaded was accepted");
    assert_eq!(store.head(&key).await.unwrap(), None);
}

/// A body of `size` bytes in uneven chunks (so no chunk lines up with a part), each byte its offset mod 251.
fn uneven_body(size: usize) -> (ByteStream, Vec<u8>) {
    let bytes: Vec<u8> = (0..size).map(|offset| (offset % 251) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> =
        bytes.chunks(1_000_003).map(|chunk| Ok(Bytes::copy_from_slice(chunk))).collect();
    (Box::pin(futures_util::stream::iter(chunks)), bytes)
}

async fn streamed_bodies_of_any_size_are_stored_whole(subject: Subject) {
    let store = subject.store;
    for size in [0, 1, 5 * 1024 * 1024, 8 * 1024 * 1024, 8 * 1024 * 1024 + 1, 21 * 1024 * 1024] {
        let key = key(&format!("streams/{size}/file.bin"));
        let (body, bytes) = uneven_body(size);
        assert_eq!(store.put_stream(&key, body).await.unwrap(), size as u64);
        assert_eq!(store.head(&key).await.unwrap().map(|meta| meta.size), Some(size as u64));
        assert!(store.get(&key).await.unwrap() == bytes, "{size} bytes came back different");
        let mut streamed = Vec::new();
        let mut stream = store.get_stream(&key).await.unwrap();
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        assert!(streamed == bytes, "{size} bytes streamed back different");
    }
}

async fn a_streamed_body_that_breaks_off_stores_nothing(subject: Subject) {
    let store = subject.store;
    for size in [1024, 20 * 1024 * 1024] {
        let key = key(&format!("broken/{size}/file.bin"));
        let (body, _) = uneven_body(size);
        let broken = futures_util::StreamExt::chain(
            body,
            futures_util::stream::iter([Err(std::io::Error::other("the client went away"))]),
        );
        assert!(store.put_stream(&key, Box::pin(broken)).await.is_err(), "{size}: a broken body was stored");
        assert_eq!(store.head(&key).await.unwrap(), None, "{size}: a broken body left an object");
        assert!(matches!(store.get_stream(&key).await, Err(BlobError::NotFound(_))), "{size}");
    }
}

macro_rules! blob_contract {
    ($adapter:ident, $make:ident) => {
        mod $adapter {
            blob_contract!(@checks $make,
                objects_round_trip_and_deleting_is_idempotent,
                presigned_urls_move_bytes_without_credentials,
                tampered_and_repurposed_urls_are_refused,
                expired_urls_are_refused,
                multipart_uploads_assemble_parts_in_order,
                an_aborted_upload_or_a_missing_part_cannot_complete,
                streamed_bodies_of_any_size_are_stored_whole,
                a_streamed_body_that_breaks_off_stores_nothing,
                a_put_bound_to_a_sha256_refuses_other_bytes_and_reports_the_checksum
            );
        }
    };
    (@checks $make:ident, $($check:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::$make().await).await;
            }
        )+
    };
}

blob_contract!(local_disk, local_store);
blob_contract!(s3, s3_store);

#[tokio::test]
async fn the_s3_server_under_test_refuses_a_wrong_secret() {
    let client = services::s3_with_secret("not-the-secret").await;
    let refused = client.create_bucket().bucket(services::unique_name("forged")).send().await;
    assert!(refused.is_err(), "the S3 server does not verify signatures, so the S3 contract proves nothing");
}

/// S3 refuses a part whose ETag does not match (`InvalidPart`); s3s-fs does not check, so this part of the
/// contract runs against the local store only.
#[tokio::test]
async fn the_local_store_refuses_a_part_with_the_wrong_etag() {
    let subject = local_store().await;
    let store = &subject.store;
    let key = key("uploads/etag/file.bin");
    let upload_id = store.start_multipart(&key).await.unwrap();
    let url = store.presign_part(&key, &upload_id, 1, Duration::from_secs(60)).await.unwrap();
    assert!(http().put(&url).body("part").send().await.unwrap().status().is_success());
    let wrong = [CompletedPart { number: 1, etag: "\"0000\"".into() }];
    assert!(store.complete_multipart(&key, &upload_id, &wrong).await.is_err(), "a wrong ETag completed");
    assert_eq!(store.head(&key).await.unwrap(), None);
}

/// S3 stores nothing when a checksum does not match; s3s-fs keeps the body, so this runs on the local store.
#[tokio::test]
async fn the_local_store_keeps_nothing_of_a_put_that_fails_its_checksum() {
    let subject = local_store().await;
    let store = &subject.store;
    let key = key("uploads/bad-digest/file.bin");
    let url = store.presign_put(&key, Duration::from_secs(60), Some(&checksum_of(b"good"))).await.unwrap();
    let refused = http().put(&url).header(CHECKSUM_HEADER, checksum_of(b"good")).body("evil").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(store.head(&key).await.unwrap(), None);
}

#[test]
fn storage_keys_refuse_path_tricks() {
    for bad in ["", "a//b", "../etc/passwd", "a/./b", "a/../b", "/abs", "a b", "a\\b", "trailing/"] {
        assert!(StorageKey::parse(bad).is_err(), "{bad:?} was accepted");
    }
    assert_eq!(StorageKey::new(&["r", "@scope+name", "1.0.0-rc.1"]).unwrap().as_str(), "r/@scope+name/1.0.0-rc.1");
}
