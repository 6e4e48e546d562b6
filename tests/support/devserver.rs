//! The `packyard dev` binary on a free loopback port in a fresh data directory, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::app::tempdir::TempDir;

pub struct DevServer {
    pub base_url: String,
    pub admin_token: String,
    pub data_dir: TempDir,
    child: Child,
}

/// The `packyard` binary beside this test binary (`scripts/test` builds the workspace first).
pub fn packyard_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let binary = dir.join("packyard");
    assert!(binary.exists(), "{} is missing: build it with `cargo build --workspace`", binary.display());
    binary
}

impl DevServer {
    /// Starts the dev server and waits for the line that says where it listens.
    pub fn start() -> Self {
        let data_dir = TempDir::new("packyard-dev");
        Self::start_in(data_dir)
    }

    /// Starts the dev server with these environment variables (`PACKYARD_MAX_BODY_BYTES`, …).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        Self::launch(TempDir::new("packyard-dev"), env)
    }

    pub fn start_in(data_dir: TempDir) -> Self {
        Self::launch(data_dir, &[])
    }

    fn launch(data_dir: TempDir, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(packyard_binary())
            .args(["dev", "--port", "0", "--data-dir"])
            .arg(&data_dir.0)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start packyard dev");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.strip_prefix("Packyard dev server listening on ")
                    .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
            })
            .expect("the dev server never said where it listens");
        // Keep draining its output so a later line never meets a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let admin_token =
            std::fs::read_to_string(data_dir.0.join("admin-token")).expect("admin token file").trim().to_owned();
        Self { base_url, admin_token, data_dir, child }
    }

    /// Creates registry `name` of `ecosystem` in organization `acme`, as its admin.
    pub async fn create_registry(&self, name: &str, ecosystem: &str) {
        let created = reqwest::Client::new()
            .post(format!("{}/v1/organizations/acme/registries", self.base_url))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({"name": name, "ecosystem": ecosystem}))
            .send()
            .await
            .expect("the dev server answers");
        assert_eq!(created.status(), 201, "creating registry {name}");
    }

    /// Publishes `file` to registry `registry` of `acme` through the packages API's form, as its admin.
    pub async fn publish(&self, registry: &str, file: &std::path::Path) -> reqwest::Response {
        let bytes = std::fs::read(file).expect("the package file");
        let name = file.file_name().expect("a file name").to_string_lossy().into_owned();
        reqwest::Client::new()
            .post(format!("{}/v1/organizations/acme/registries/{registry}/packages", self.base_url))
            .bearer_auth(&self.admin_token)
            .multipart(
                reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name)),
            )
            .send()
            .await
            .expect("the dev server answers")
    }

    /// Stops the server and hands back its data directory, to start it again on the same data.
    pub fn stop(mut self) -> TempDir {
        self.kill();
        let data_dir = TempDir(std::mem::take(&mut self.data_dir.0));
        std::mem::forget(self);
        data_dir
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.kill();
    }
}
