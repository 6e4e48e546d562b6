//! curl against the dev server: a generic file downloads through its redirect with a bearer token.

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::ok;
use packyard_tests::devserver::DevServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_downloads_a_file_package_through_its_redirect() {
    let server = DevServer::start();
    let client = reqwest::Client::new();
    let registries = format!("{}/v1/organizations/acme/registries", server.base_url);
    let created = client
        .post(&registries)
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": "tools", "ecosystem": "files"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let bytes: Vec<u8> = (0..=255_u8).cycle().take(300_000).collect();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("cli-4.5.6.tar.gz"));
    let published = client
        .post(format!("{registries}/tools/packages"))
        .bearer_auth(&server.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 201);

    let work = TempDir::new("packyard-curl");
    let out = work.0.join("cli.tar.gz");
    let url = format!("{}/files/acme/tools/cli-4.5.6.tar.gz", server.base_url);
    let auth = format!("Authorization: Bearer {}", server.admin_token);
    let status = ok(
        &work.0,
        "curl",
        &["-sS", "-L", "--fail", "-H", &auth, "-o", out.to_str().unwrap(), "-w", "%{http_code} %{num_redirects}", &url],
        &[],
    );
    assert_eq!(status, "200 1");
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let refused = ok(&work.0, "curl", &["-sS", "-o", "/dev/null", "-w", "%{http_code}", &url], &[]);
    assert_eq!(refused, "401");
}
