//! cargo against the dev server's sparse registry: publish two crates where one depends on the other,
//! build a fresh project from the registry, refuse a republish, yank (a lockfile keeps the yanked version,
//! a fresh resolution refuses it) and unyank, search and list owners.

use std::path::{Path, PathBuf};

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;

pub(crate) struct Cargo {
    env: Vec<(String, String)>,
}

impl Cargo {
    /// cargo with its own home (only this registry configured) and target directory.
    pub(crate) fn new(work: &Path, index: &str, token: &str) -> Self {
        let home = work.join("cargo-home");
        std::fs::create_dir_all(&home).unwrap();
        let config =
            format!("[registries.packyard]\nindex = \"sparse+{index}\"\ncredential-provider = [\"cargo:token\"]\n");
        std::fs::write(home.join("config.toml"), config).unwrap();
        let env = [
            ("CARGO_HOME", home.to_str().unwrap().to_owned()),
            ("CARGO_TARGET_DIR", work.join("target").to_str().unwrap().to_owned()),
            ("CARGO_REGISTRIES_PACKYARD_TOKEN", token.to_owned()),
            ("CARGO_TERM_COLOR", "never".to_owned()),
        ];
        Self { env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    pub(crate) fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let output = run(dir, "cargo", args, &self.env());
        assert!(output.status.success(), "cargo {args:?} failed:\n{}", describe(&output));
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }

    fn fails(&self, dir: &Path, args: &[&str]) -> String {
        let output = run(dir, "cargo", args, &self.env());
        assert!(!output.status.success(), "cargo {args:?} succeeded:\n{}", describe(&output));
        describe(&output)
    }
}

pub(crate) fn krate(work: &Path, name: &str, dependency: Option<&str>, source: &str) -> PathBuf {
    let dir = work.join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let dependency = dependency.map_or_else(String::new, |dep| {
        format!("[dependencies]\n{dep} = {{ version = \"0.1\", registry = \"packyard\" }}\n")
    });
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"{name} for tests\"\nlicense = \"MIT\"\npublish = [\"packyard\"]\n\n{dependency}"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let file = if source.contains("fn main") { "src/main.rs" } else { "src/lib.rs" };
    std::fs::write(dir.join(file), source).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_publishes_builds_yanks_and_searches_against_the_dev_server() {
    let server = DevServer::start();
    server.create_registry("rs", "cargo").await;
    let work = TempDir::new("packyard-cargo");
    let cargo = Cargo::new(&work.0, &format!("{}/cargo/acme/rs/index/", server.base_url), &server.admin_token);

    let base = krate(&work.0, "packyard-base", None, "pub fn base() -> u32 { 41 }\n");
    let app =
        krate(&work.0, "packyard-app", Some("packyard-base"), "pub fn answer() -> u32 { packyard_base::base() + 1 }\n");
    cargo.ok(&base, &["publish", "--registry", "packyard", "--allow-dirty"]);
    cargo.ok(&app, &["publish", "--registry", "packyard", "--allow-dirty"]);
    let again = cargo.fails(&base, &["publish", "--registry", "packyard", "--allow-dirty"]);
    assert!(again.contains("already exists"), "{again}");

    let consumer =
        krate(&work.0, "consumer", Some("packyard-app"), "fn main() { println!(\"{}\", packyard_app::answer()); }\n");
    let said = cargo.ok(&consumer, &["run", "-q"]);
    assert!(said.starts_with("42"), "{said}");

    // Yanked: the existing lockfile still builds; a fresh resolution refuses the version.
    cargo.ok(&work.0, &["yank", "--registry", "packyard", "packyard-base@0.1.0"]);
    assert!(cargo.ok(&consumer, &["run", "-q"]).starts_with("42"));
    let fresh =
        krate(&work.0, "fresh", Some("packyard-app"), "fn main() { println!(\"{}\", packyard_app::answer()); }\n");
    let refused = cargo.fails(&fresh, &["generate-lockfile"]);
    assert!(refused.contains("yanked"), "{refused}");
    cargo.ok(&work.0, &["yank", "--undo", "--registry", "packyard", "packyard-base@0.1.0"]);
    cargo.ok(&fresh, &["generate-lockfile"]);

    let found = cargo.ok(&work.0, &["search", "--registry", "packyard", "packyard"]);
    assert!(found.contains("packyard-app = \"0.1.0\"") && found.contains("packyard-base = \"0.1.0\""), "{found}");
    let owners = cargo.ok(&work.0, &["owner", "--list", "--registry", "packyard", "packyard-base"]);
    assert!(owners.contains("org:acme"), "{owners}");

    // Without the token the private registry's index is closed.
    let anonymous = ok(
        &work.0,
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/cargo/acme/rs/index/config.json", server.base_url),
        ],
        &[],
    );
    assert_eq!(anonymous, "401");
}
