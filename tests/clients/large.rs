//! Packages as big as real ones, with the stock clients: npm, twine and cargo publish 50 MB packages to the
//! dev server and get back exactly those bytes; a multipart form and the presigned flow (one checksummed PUT,
//! and parts) move 1 GiB; a body
//! over the configured limit is a 413 that stores nothing; a client that hangs up mid-upload leaves nothing
//! behind, not even a temporary file.

use std::io::{Read, Write};
use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cargo::{Cargo, krate};
use super::npm::{Npm, package};
use super::python::{as_refs, python, quiet_env, tool};

const FIFTY_MB: usize = 50 * 1024 * 1024;

/// `size` bytes that do not compress (an xorshift stream), so a packed archive stays as large as its files.
fn incompressible(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

fn sha256_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).unwrap();
        if read == 0 {
            return hex::encode(hasher.finalize());
        }
        hasher.update(&buffer[..read]);
    }
}

/// Files left in a directory tree (the dev server's spool and temporary folders must end empty).
fn files_under(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| {
            if entry.path().is_dir() { files_under(&entry.path()) } else { vec![entry.path().display().to_string()] }
        })
        .collect()
}

fn leftovers(server: &DevServer) -> Vec<String> {
    [files_under(&server.data_dir.0.join("spool")), files_under(&server.data_dir.0.join("blobs/tmp"))].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_publishes_and_installs_a_50_mb_package_byte_for_byte() {
    let server = DevServer::start();
    server.create_registry("js", "npm").await;
    let work = TempDir::new("packyard-npm-large");
    let npm = Npm::new(&work.0, &format!("{}/npm/acme/js/", server.base_url), &server.admin_token);
    let big = package(&work.0, "big", "big-native", "1.0.0", "the big one");
    std::fs::write(big.join("blob.bin"), incompressible(FIFTY_MB, 7)).unwrap();
    npm.ok(&big, &["publish"]);

    let app = work.0.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let manifest = json!({"name": "app", "version": "1.0.0", "private": true, "dependencies": {"big-native": "1.0.0"}});
    std::fs::write(app.join("package.json"), manifest.to_string()).unwrap();
    npm.ok(&app, &["install"]);
    assert_eq!(sha256_of(&app.join("node_modules/big-native/blob.bin")), sha256_of(&big.join("blob.bin")));
    assert_eq!(leftovers(&server), Vec::<String>::new());
}

/// A wheel with a 50 MB data file, stored (not deflated) as `zipfile` writes it.
const MAKE_BIG_WHEEL: &str = r#"
import os, sys, zipfile
out, blob = sys.argv[1], sys.argv[2]
info = "big_wheel-1.0.0.dist-info"
with zipfile.ZipFile(os.path.join(out, "big_wheel-1.0.0-py3-none-any.whl"), "w") as wheel:
    wheel.writestr("big_wheel/__init__.py", "")
    wheel.write(blob, "big_wheel/blob.bin")
    wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: big-wheel\nVersion: 1.0.0\n")
    wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: packyard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    wheel.writestr(f"{info}/RECORD", "")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twine_uploads_and_pip_downloads_a_50_mb_wheel_byte_for_byte() {
    let server = DevServer::start();
    server.create_registry("py", "python").await;
    let work = TempDir::new("packyard-python-large");
    let dists = work.0.join("dist");
    std::fs::create_dir_all(&dists).unwrap();
    std::fs::write(work.0.join("blob.bin"), incompressible(FIFTY_MB, 11)).unwrap();
    let python = python(&work.0);
    let blob = work.0.join("blob.bin");
    ok(&work.0, &python, &["-c", MAKE_BIG_WHEEL, dists.to_str().unwrap(), blob.to_str().unwrap()], &[]);
    let env = quiet_env(&work.0);
    let env = as_refs(&env);
    let token = &server.admin_token;
    let url = format!("{}/pypi/acme/py/legacy/", server.base_url);
    let wheel = "big_wheel-1.0.0-py3-none-any.whl";
    let args = ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", &url, "-u", "__token__"];
    let uploaded =
        run(&dists, &tool("PACKYARD_TWINE", "twine"), &[&args[..], &["-p", token.as_str(), wheel]].concat(), &env);
    assert!(uploaded.status.success(), "twine upload failed:\n{}", describe(&uploaded));

    let index =
        format!("{}/pypi/acme/py/simple/", server.base_url.replace("http://", &format!("http://__token__:{token}@")));
    let downloaded = work.0.join("downloaded");
    let pip_args = ["-m", "pip", "download", "--no-deps", "--no-cache-dir", "--index-url", &index, "-d"];
    ok(&work.0, &python, &[&pip_args[..], &[downloaded.to_str().unwrap(), "big-wheel==1.0.0"]].concat(), &env);
    assert_eq!(sha256_of(&downloaded.join(wheel)), sha256_of(&dists.join(wheel)));
    assert_eq!(leftovers(&server), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_publishes_a_50_mb_crate_that_downloads_byte_for_byte() {
    let server = DevServer::start();
    server.create_registry("rs", "cargo").await;
    let work = TempDir::new("packyard-cargo-large");
    let cargo = Cargo::new(&work.0, &format!("{}/cargo/acme/rs/index/", server.base_url), &server.admin_token);
    let big = krate(&work.0, "big-data", None, "pub const DATA: &str = \"data.bin\";\n");
    std::fs::write(big.join("data.bin"), incompressible(FIFTY_MB, 13)).unwrap();
    cargo.ok(&big, &["publish", "--registry", "packyard", "--allow-dirty", "--no-verify"]);
    // cargo packs reproducibly: packing again gives the bytes it published.
    cargo.ok(&big, &["package", "--allow-dirty", "--no-verify"]);
    let packed = work.0.join("target/package/big-data-0.1.0.crate");

    let download = reqwest::Client::new()
        .get(format!("{}/cargo/acme/rs/api/v1/crates/big-data/0.1.0/download", server.base_url))
        .header("authorization", &server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let bytes = download.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), sha256_of(&packed));
    assert!(bytes.len() > FIFTY_MB, "the crate is {} bytes", bytes.len());
    assert_eq!(leftovers(&server), Vec::<String>::new());
}

/// A 1 GiB file of incompressible bytes, written in pieces.
fn gib_file(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let piece = incompressible(64 * 1024 * 1024, 17);
    for index in 0..16_u8 {
        let mut piece = piece.clone();
        piece[0] = index;
        file.write_all(&piece).unwrap();
    }
    file.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_gib_file_moves_through_the_form_upload_and_the_presigned_flow() {
    let server = DevServer::start();
    server.create_registry("fs", "files").await;
    let work = TempDir::new("packyard-gib");
    let source = work.0.join("disk-1.0.0.img");
    gib_file(&source);
    let digest = sha256_of(&source);
    let api = format!("{}/v1/organizations/acme/registries/fs", server.base_url);
    let auth = format!("Authorization: Bearer {}", server.admin_token);

    // The multipart form, as curl sends it.
    let form = format!("file=@{}", source.display());
    let created =
        ok(&work.0, "curl", &["-sS", "--fail-with-body", "-H", &auth, "-F", &form, &format!("{api}/packages")], &[]);
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["files"][0]["sha256"], digest.as_str());
    let fetched = work.0.join("fetched.img");
    let url = format!("{}/files/acme/fs/disk-1.0.0.img", server.base_url);
    ok(&work.0, "curl", &["-sS", "--fail", "-L", "-H", &auth, "-o", fetched.to_str().unwrap(), &url], &[]);
    assert_eq!(sha256_of(&fetched), digest);

    // The presigned flow in one PUT, bound to the file's SHA-256 by its signed checksum header.
    let single = reqwest::Client::new()
        .post(format!("{api}/uploads"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"filename": "disk-3.0.0.img", "size": 1_u64 << 30, "sha256": digest}))
        .send()
        .await
        .unwrap();
    assert_eq!(single.status(), 201);
    let single: Value = single.json().await.unwrap();
    let checksum = format!("x-amz-checksum-sha256: {}", single["headers"]["x-amz-checksum-sha256"].as_str().unwrap());
    let put =
        ["-sS", "--fail-with-body", "-H", &checksum, "-T", source.to_str().unwrap(), single["url"].as_str().unwrap()];
    ok(&work.0, "curl", &put, &[]);
    let completed = reqwest::Client::new()
        .post(format!("{api}/uploads/{}/complete", single["id"].as_str().unwrap()))
        .bearer_auth(&server.admin_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 201, "{}", completed.text().await.unwrap());

    // The presigned flow in parts, each PUT straight to its signed URL, then completed.
    let start = reqwest::Client::new()
        .post(format!("{api}/uploads"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"filename": "disk-2.0.0.img", "size": 1_u64 << 30, "sha256": digest, "parts": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 201);
    let start: Value = start.json().await.unwrap();
    let part_size = start["part_size"].as_u64().unwrap();
    let mut parts = Vec::new();
    for part in start["parts"].as_array().unwrap() {
        let number = part["number"].as_u64().unwrap();
        let range = format!("{}-{}", (number - 1) * part_size, (number * part_size).min(1 << 30) - 1);
        let headers = work.0.join(format!("part-{number}.headers"));
        let piece = work.0.join(format!("part-{number}"));
        ok(
            &work.0,
            "sh",
            &[
                "-c",
                &format!(
                    "tail -c +{} {} | head -c {} > {}",
                    (number - 1) * part_size + 1,
                    source.display(),
                    part_size,
                    piece.display()
                ),
            ],
            &[],
        );
        ok(
            &work.0,
            "curl",
            &[
                "-sS",
                "--fail",
                "-T",
                piece.to_str().unwrap(),
                "-D",
                headers.to_str().unwrap(),
                part["url"].as_str().unwrap(),
            ],
            &[],
        );
        std::fs::remove_file(&piece).unwrap();
        let etag = std::fs::read_to_string(&headers)
            .unwrap()
            .lines()
            .find_map(|line| line.to_ascii_lowercase().starts_with("etag:").then(|| line[5..].trim().to_owned()));
        parts.push(
            json!({"number": number, "etag": etag.unwrap_or_else(|| panic!("no ETag for part {number} ({range})"))}),
        );
    }
    let completed = reqwest::Client::new()
        .post(format!("{api}/uploads/{}/complete", start["id"].as_str().unwrap()))
        .bearer_auth(&server.admin_token)
        .json(&json!({"parts": parts}))
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 201, "{}", completed.text().await.unwrap());
    let url = format!("{}/files/acme/fs/disk-2.0.0.img", server.base_url);
    ok(&work.0, "curl", &["-sS", "--fail", "-L", "-H", &auth, "-o", fetched.to_str().unwrap(), &url], &[]);
    assert_eq!(sha256_of(&fetched), digest);
    assert_eq!(leftovers(&server), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_a_413_and_a_hung_up_upload_leaves_nothing() {
    let server = DevServer::start_with_env(&[("PACKYARD_MAX_BODY_BYTES", "1000000")]);
    server.create_registry("js", "npm").await;
    let token = server.admin_token.clone();

    // npm's publish document of 2 MB: refused in npm's shape, nothing stored.
    let tarball = packyard_tests::archives::npm_tarball("over", "1.0.0");
    let mut document = packyard_tests::archives::npm_document("over", "1.0.0", &tarball);
    document["versions"]["1.0.0"]["readme"] = json!("x".repeat(2_000_000));
    let refused = reqwest::Client::new()
        .put(format!("{}/npm/acme/js/over", server.base_url))
        .bearer_auth(&token)
        .json(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().is_some_and(|e| e.contains("larger than")), "{body}");

    // A client that promises 5 MB, sends 500 KB and hangs up.
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let head = format!(
        "PUT /npm/acme/js/gone HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![b' '; 500_000]).unwrap();
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let packages = reqwest::Client::new()
        .get(format!("{}/v1/organizations/acme/registries/js/packages", server.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let packages: Value = packages.json().await.unwrap();
    assert_eq!(packages["packages"], json!([]));
    assert_eq!(leftovers(&server), Vec::<String>::new());
    assert_eq!(files_under(&server.data_dir.0.join("blobs/objects")), Vec::<String>::new());
}
