//! Schemathesis generates requests from `openapi.json` for every operation and sends them to the dev server
//! with the admin token: no answer may be a 5xx, and every answer must match the document (status, content
//! type, body). Three runs, each bounded in time: examples, boundary cases and fuzzing of each operation on its
//! own; then the stateful phase, which follows the document's links (create a registry, then read, update,
//! publish to and delete it; the same for registry tokens, teams and uploads); then the same for storage
//! links on their own, whose diagnostics are slow enough that they would not be reached in a shared run.

use packyard_tests::client::run;
use packyard_tests::devserver::DevServer;

use super::python::tool;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/schemathesis.toml");

/// One bounded run of the given phases (and operations); its report, printed, is the test's output.
fn schemathesis(server: &DevServer, name: &str, selection: &[&str], max_time: &str) -> String {
    let reports = server.data_dir.0.join(format!("schemathesis-{name}"));
    let authorization = format!("Authorization: Bearer {}", server.admin_token);
    let mut args = vec!["--config-file", CONFIG, "run", SCHEMA, "--url", &server.base_url, "-H", &authorization];
    args.extend_from_slice(selection);
    args.extend_from_slice(&[
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "5",
        "--max-time",
        max_time,
        "--seed",
        "1",
        "--workers",
        "1",
        "--no-color",
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    let home = server.data_dir.0.to_str().unwrap().to_owned();
    let output = run(&server.data_dir.0, &tool("PACKYARD_SCHEMATHESIS", "schemathesis"), &args, &[("HOME", &home)]);
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{printed}");
    assert!(output.status.success(), "schemathesis ({name}) found failures:\n{printed}");
    printed
}

/// How many operations the document has.
fn operation_count() -> usize {
    let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
    let methods = ["get", "put", "post", "delete", "patch", "head"];
    let paths = document["paths"].as_object().expect("the document has paths");
    paths.values().map(|item| methods.iter().filter(|method| item.get(**method).is_some()).count()).sum()
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    // An AWS account id, as every AWS deployment has: without it, starting an AWS link is a 503.
    let server = DevServer::start_with_env(&[("PACKYARD_AWS_ACCOUNT_ID", "123456789012")]);
    let operations = schemathesis(&server, "operations", &["--phases", "examples,coverage,fuzzing"], "150");
    let tested = format!("Tested: {}", operation_count());
    assert!(operations.contains(&tested), "not every operation was tested (expected {tested:?}):\n{operations}");
    for (name, selection, max_time) in [
        ("stateful", ["--phases", "stateful", "--exclude-tag", "storage-links"], "90"),
        ("storage-links", ["--phases", "stateful", "--include-tag", "storage-links"], "40"),
    ] {
        let stateful = schemathesis(&server, name, &selection, max_time);
        assert!(!stateful.contains("Scenarios:    0"), "no {name} scenario ran:\n{stateful}");
    }
}
