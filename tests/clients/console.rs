//! The web console in headless Chromium (Debian's `chromium`, driven by npm's `playwright-core`) against the
//! dev server: `tests/console/e2e.mjs` clicks through every flow and asserts what each page shows; this test
//! starts the servers it needs and checks the script's verdict. It saves screenshots to `docs/screenshots/`.

use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, run};
use packyard_tests::devserver::DevServer;
use packyard_tests::services;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the suite with `bash scripts/test`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_creates_publishes_installs_links_storage_and_reads_the_audit_log_in_the_console() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository").to_owned();
    assert!(
        repo.join("tests/console/node_modules/playwright-core").is_dir(),
        "playwright-core is missing: scripts/test installs it (npm ci --prefix tests/console)"
    );
    // Any account id: the Launch Stack URL is only looked at, never opened.
    let server = DevServer::start_with_env(&[("PACKYARD_AWS_ACCOUNT_ID", "123456789012")]);
    let bucket = services::unique_name("console");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket on the S3 server");
    let work = TempDir::new("packyard-console");
    let screenshots = repo.join("docs/screenshots");
    let output = run(
        &repo,
        "node",
        &["tests/console/e2e.mjs", &server.base_url, &server.admin_token],
        &[
            ("CONSOLE_E2E_BUCKET", &bucket),
            ("CONSOLE_E2E_WORK", work.0.to_str().expect("a UTF-8 path")),
            ("CONSOLE_E2E_SCREENSHOTS", screenshots.to_str().expect("a UTF-8 path")),
            ("PACKYARD_TEST_S3_URL", &env("PACKYARD_TEST_S3_URL")),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the console's end-to-end run failed:\n{}", describe(&output));
    let script = std::fs::read_to_string(repo.join("tests/console/e2e.mjs")).expect("the script");
    let steps = script.matches("await step(").count();
    assert!(stdout.contains(&format!("console e2e: {steps} steps passed")), "{stdout}");
    assert!(!stdout.contains("not ok"), "{stdout}");
    for page in [
        "sign-in",
        "registries",
        "registries-phone",
        "create-registry",
        "install",
        "package",
        "tokens",
        "storage",
        "audit",
    ] {
        assert!(screenshots.join(format!("{page}.png")).is_file(), "no screenshot of {page}");
    }
}
