//! The npm CLI against the dev server: publish scoped and unscoped packages, install them into a fresh
//! project with a lockfile, refuse a republish, manage dist-tags, view, and unpublish a version.

use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

pub(crate) struct Npm {
    env: Vec<(String, String)>,
}

impl Npm {
    /// npm configured for one registry with a token, and nothing else from the machine.
    pub(crate) fn new(work: &Path, registry_url: &str, token: &str) -> Self {
        let userconfig = work.join("npmrc");
        let auth_key = registry_url.trim_start_matches("http:");
        std::fs::write(&userconfig, format!("registry={registry_url}\n{auth_key}:_authToken={token}\n")).unwrap();
        let env = [
            ("NPM_CONFIG_USERCONFIG", userconfig.to_str().unwrap().to_owned()),
            ("NPM_CONFIG_CACHE", work.join("npm-cache").to_str().unwrap().to_owned()),
            ("NPM_CONFIG_UPDATE_NOTIFIER", "false".into()),
            ("NPM_CONFIG_FUND", "false".into()),
            ("NPM_CONFIG_AUDIT", "false".into()),
        ];
        Self { env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    pub(crate) fn ok(&self, dir: &Path, args: &[&str]) -> String {
        ok(dir, "npm", args, &self.env())
    }

    fn run(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        run(dir, "npm", args, &self.env())
    }
}

pub(crate) fn package(work: &Path, folder: &str, name: &str, version: &str, body: &str) -> std::path::PathBuf {
    let dir = work.join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = json!({"name": name, "version": version, "description": format!("{name} for tests"), "main": "index.js", "license": "MIT"});
    std::fs::write(dir.join("package.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    std::fs::write(dir.join("index.js"), format!("module.exports = {body:?};\n")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_publishes_installs_tags_views_and_unpublishes_against_the_dev_server() {
    let server = DevServer::start();
    server.create_registry("js", "npm").await;
    let registry_url = format!("{}/npm/acme/js/", server.base_url);
    let work = TempDir::new("packyard-npm");
    let npm = Npm::new(&work.0, &registry_url, &server.admin_token);

    let greet = package(&work.0, "greet", "@acme/greet", "1.0.0", "hello from greet 1.0.0");
    let util = package(&work.0, "util", "plain-util", "1.0.0", "util 1.0.0");
    let packed: Value = serde_json::from_str(&npm.ok(&greet, &["pack", "--dry-run", "--json"])).unwrap();
    npm.ok(&greet, &["publish"]);
    npm.ok(&util, &["publish"]);

    // A republish of the same version is refused and names why (npm checks the packument first; the
    // registry's own 409 for a client that does not is covered in tests/api/npm.rs).
    let again = npm.run(&greet, &["publish"]);
    assert!(!again.status.success(), "a republish succeeded");
    assert!(
        describe(&again).to_lowercase().contains("cannot publish over the previously published version"),
        "{}",
        describe(&again)
    );

    assert_eq!(npm.ok(&work.0, &["view", "@acme/greet", "version"]).trim(), "1.0.0");
    let packument: Value = reqwest::Client::new()
        .get(format!("{registry_url}@acme%2fgreet"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dist = &packument["versions"]["1.0.0"]["dist"];
    assert_eq!(dist["integrity"], packed[0]["integrity"], "the registry's integrity differs from what npm packed");
    assert_eq!(dist["shasum"], packed[0]["shasum"]);
    // The tarball download redirects to a presigned URL and yields exactly the published bytes.
    let tarball = reqwest::Client::new()
        .get(dist["tarball"].as_str().unwrap())
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(tarball.status(), 200);
    let bytes = tarball.bytes().await.unwrap();
    let integrity = format!("sha512-{}", base64_encode(&Sha512::digest(&bytes)));
    assert_eq!(integrity, dist["integrity"].as_str().unwrap());

    // dist-tags: a prerelease under `beta`, a tag added and removed.
    let beta = package(&work.0, "greet-beta", "@acme/greet", "1.1.0-beta.1", "hello from the beta");
    npm.ok(&beta, &["publish", "--tag", "beta"]);
    npm.ok(&work.0, &["dist-tag", "add", "@acme/greet@1.1.0-beta.1", "next"]);
    let tags = npm.ok(&work.0, &["dist-tag", "ls", "@acme/greet"]);
    for expected in ["latest: 1.0.0", "beta: 1.1.0-beta.1", "next: 1.1.0-beta.1"] {
        assert!(tags.contains(expected), "{expected} missing from:\n{tags}");
    }
    npm.ok(&work.0, &["dist-tag", "rm", "@acme/greet", "next"]);
    assert!(!npm.ok(&work.0, &["dist-tag", "ls", "@acme/greet"]).contains("next:"));

    // A fresh project installs both, writes a lockfile, and reinstalls from it with `npm ci`.
    let app = work.0.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let manifest = json!({"name": "app", "version": "1.0.0", "private": true, "dependencies": {"@acme/greet": "^1.0.0", "plain-util": "1.0.0"}});
    std::fs::write(app.join("package.json"), manifest.to_string()).unwrap();
    npm.ok(&app, &["install"]);
    let installed = std::fs::read_to_string(app.join("node_modules/@acme/greet/index.js")).unwrap();
    assert_eq!(installed, std::fs::read_to_string(greet.join("index.js")).unwrap());
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(app.join("package-lock.json")).unwrap()).unwrap();
    let locked = &lock["packages"]["node_modules/@acme/greet"];
    assert_eq!(locked["version"], "1.0.0", "^1.0.0 must not pick the beta");
    assert_eq!(locked["integrity"], dist["integrity"]);
    std::fs::remove_dir_all(app.join("node_modules")).unwrap();
    npm.ok(&app, &["ci"]);
    let said = ok(&app, "node", &["-e", "console.log(require('@acme/greet'), require('plain-util'))"], &[]);
    assert_eq!(said.trim(), "hello from greet 1.0.0 util 1.0.0");

    // Unpublishing one version leaves the others.
    let util_next = package(&work.0, "util-next", "plain-util", "1.0.1", "util 1.0.1");
    npm.ok(&util_next, &["publish"]);
    npm.ok(&work.0, &["unpublish", "plain-util@1.0.0"]);
    let versions: Value =
        serde_json::from_str(&npm.ok(&work.0, &["view", "plain-util", "versions", "--json"])).unwrap();
    assert_eq!(versions, json!(["1.0.1"]));
    assert_eq!(npm.ok(&work.0, &["view", "plain-util", "dist-tags.latest"]).trim(), "1.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_without_a_token_is_refused_on_a_private_registry() {
    let server = DevServer::start();
    server.create_registry("private-js", "npm").await;
    let work = TempDir::new("packyard-npm-anon");
    let npm = Npm::new(&work.0, &format!("{}/npm/acme/private-js/", server.base_url), "pky_wrong");
    let greet = package(&work.0, "greet", "anon-greet", "1.0.0", "x");
    let refused = npm.run(&greet, &["publish"]);
    assert!(!refused.status.success());
    assert!(describe(&refused).contains("401"), "{}", describe(&refused));
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
