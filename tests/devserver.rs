//! The dev server binary, as the README's quick start runs it: bootstraps on first start, serves every
//! route group, keeps its data across restarts.

use packyard_tests::devserver::DevServer;
use serde_json::{Value, json};

async fn call(server: &DevServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{}{path}", server.base_url)).bearer_auth(&server.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the dev server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_quick_start_walkthrough_works_against_the_dev_server_binary() {
    let server = DevServer::start();
    assert!(server.admin_token.starts_with("pky_"));
    let registries = "/v1/organizations/acme/registries";
    let (status, created) =
        call(&server, reqwest::Method::POST, registries, Some(json!({"name": "My Registry", "ecosystem": "npm"})))
            .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["url"], format!("{}{registries}/my-registry", server.base_url));
    let (status, _) =
        call(&server, reqwest::Method::PATCH, &format!("{registries}/my-registry"), Some(json!({"name": "Renamed"})))
            .await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&server, reqwest::Method::PATCH, &format!("{registries}/renamed"), Some(json!({"public": true}))).await;
    assert_eq!(status, 200);

    // Restarted on the same data directory, it keeps the organization, its token and its registries.
    let data_dir = server.stop();
    let server = DevServer::start_in(data_dir);
    let (status, listed) = call(&server, reqwest::Method::GET, registries, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["registries"][0]["slug"], "renamed");
    assert_eq!(listed["registries"][0]["public"], true);
    let (status, _) = call(&server, reqwest::Method::DELETE, &format!("{registries}/renamed"), None).await;
    assert_eq!(status, 204);
    let (_, audit) = call(&server, reqwest::Method::GET, "/v1/organizations/acme/audit-events", None).await;
    let actions: Vec<_> =
        audit["audit_events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..4], ["registry.deleted", "registry.made_public", "registry.renamed", "registry.created"]);
    assert_eq!(audit["audit_events"][0]["source_ip"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packyard_serve_answers_healthz_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let data_dir = packyard_tests::app::tempdir::TempDir::new("packyard-serve");
    let mut child = std::process::Command::new(packyard_tests::devserver::packyard_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--backend", "embedded", "--data-dir"])
        .arg(&data_dir.0)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start packyard serve");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base_url = lines
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("Packyard listening on ").map(|rest| rest.split(' ').next().unwrap().to_owned())
        })
        .expect("the server said where it listens");
    let health = reqwest::get(format!("{base_url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"ok": true}));

    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "SIGTERM is a clean stop, not a crash: {status}");
}
