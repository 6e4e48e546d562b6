//! `packyard push` against the dev server binary: a multipart upload of a file larger than the multipart
//! threshold arrives byte for byte, a bad token fails on one line, and the CLI answers --help and --version.

use std::io::Write;
use std::process::{Command, Output};

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::devserver::{DevServer, packyard_binary};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Writes `size` pseudo-random bytes (xorshift, so no two parts look alike) and answers their SHA-256.
fn generate(path: &std::path::Path, size: usize) -> String {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut chunk = vec![0_u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let take = left.min(chunk.len());
        file.write_all(&chunk[..take]).unwrap();
        hasher.update(&chunk[..take]);
        left -= take;
    }
    file.flush().unwrap();
    hex::encode(hasher.finalize())
}

async fn packyard(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(packyard_binary()).args(args).envs(env).output().expect("run packyard")
    })
    .await
    .unwrap()
}

fn push_args(server: &DevServer, file: &std::path::Path) -> Vec<String> {
    ["push", "--url", &server.base_url, "--org", "acme", "--registry", "tools", file.to_str().unwrap()]
        .map(str::to_owned)
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packyard_push_sends_a_150_mb_file_in_parts_and_it_downloads_byte_for_byte() {
    // --parts: one PUT could take 150 MB (up to 5 GiB), so parts are asked for.
    let server = DevServer::start();
    server.create_registry("tools", "files").await;
    let work = TempDir::new("packyard-push");
    let file = work.0.join("bundle-2.0.1.tar.zst");
    let size = 150 * 1024 * 1024 + 12_345;
    let sha256 = tokio::task::spawn_blocking({
        let file = file.clone();
        move || generate(&file, size)
    })
    .await
    .unwrap();

    let mut args = push_args(&server, &file);
    args.insert(1, "--parts".into());
    let pushed = packyard(args, vec![("PACKYARD_TOKEN", server.admin_token.clone())]).await;
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    let published: serde_json::Value = serde_json::from_slice(&pushed.stdout).expect("the package as JSON");
    assert_eq!((published["name"].as_str(), published["version"].as_str()), (Some("bundle"), Some("2.0.1")));
    assert_eq!(published["files"][0]["sha256"], sha256);

    let mut download = reqwest::Client::new()
        .get(format!("{}/files/acme/tools/bundle-2.0.1.tar.zst", server.base_url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let mut hasher = Sha256::new();
    let mut received = 0;
    while let Some(chunk) = download.chunk().await.unwrap() {
        received += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(received, size);
    assert_eq!(hex::encode(hasher.finalize()), sha256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packyard_push_with_a_wrong_token_fails_on_one_line_with_a_nonzero_exit() {
    let server = DevServer::start();
    server.create_registry("tools", "files").await;
    let work = TempDir::new("packyard-push");
    let file = work.0.join("tool-1.0.0.bin");
    std::fs::write(&file, b"not much").unwrap();
    let pushed = packyard(push_args(&server, &file), vec![("PACKYARD_TOKEN", "pky_0000".to_owned())]).await;
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert_eq!(pushed.status.code(), Some(1), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: starting the upload: 401"), "{stderr}");
    assert!(!stderr.contains("pky_0000"), "the token never reaches the output");
}

#[tokio::test]
async fn packyard_help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let output = packyard(vec![flag.to_owned()], vec![]).await;
        assert!(output.status.success(), "{flag}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("packyard"), "{flag}: {stdout}");
    }
    let help = packyard(vec!["--help".to_owned()], vec![]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    for command in ["dev", "serve", "push", "bootstrap"] {
        assert!(help.contains(command), "{command} is missing from --help");
    }
}

/// A push in parts that was interrupted after its first part: the same command run again finds the journal,
/// continues the same upload without sending that part again, and the file arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_push_in_parts_continues_where_it_stopped() {
    use packyard::push::{Journal, journal};
    let server = DevServer::start();
    server.create_registry("tools", "files").await;
    let work = TempDir::new("packyard-push-resume");
    let file = work.0.join("bundle-3.0.0.tar.zst");
    let size = 140 * 1024 * 1024;
    let sha256 = tokio::task::spawn_blocking({
        let file = file.clone();
        move || generate(&file, size)
    })
    .await
    .unwrap();
    let uploads = format!("{}/v1/organizations/acme/registries/tools/uploads", server.base_url);
    let client = reqwest::Client::new();
    let started: serde_json::Value = client
        .post(&uploads)
        .bearer_auth(&server.admin_token)
        .json(&json!({"filename": "bundle-3.0.0.tar.zst", "size": size, "sha256": sha256, "parts": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let part_size = started["part_size"].as_u64().unwrap() as usize;
    let first = std::fs::read(&file).unwrap()[..part_size].to_vec();
    let sent = client.put(started["parts"][0]["url"].as_str().unwrap()).body(first).send().await.unwrap();
    assert!(sent.status().is_success());
    let etag = sent.headers()["etag"].to_str().unwrap().to_owned();
    let id = started["id"].as_str().unwrap().to_owned();
    let state = work.0.join("state");
    let journal_path = journal::path_for(&state.join("push"), &uploads, &sha256, size as u64);
    Journal { id: id.clone(), done: [(1, etag)].into() }.save(&journal_path).unwrap();

    let mut args = push_args(&server, &file);
    args.insert(1, "--parts".into());
    let env = vec![("PACKYARD_TOKEN", server.admin_token.clone()), ("PACKYARD_STATE_DIR", state.display().to_string())];
    let pushed = packyard(args, env).await;
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("resuming upload {id}: 1 of 3 parts already sent")), "{stderr}");
    let published: serde_json::Value = serde_json::from_slice(&pushed.stdout).expect("the package as JSON");
    assert_eq!(published["files"][0]["sha256"], sha256);
    assert!(!journal_path.exists(), "the journal outlived the push");
}
