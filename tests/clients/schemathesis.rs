//! Schemathesis generates requests from `openapi.json` for every operation and sends them to the dev server
//! with the admin token: no answer may be a 5xx, and every answer must match the document (status, content
//! type, body). Two runs, each bounded in time: examples, boundary cases and fuzzing of each operation on its
//! own, then the stateful phase, which follows the document's links (create a registry, then read, update,
//! publish to and delete it; the same for tokens, teams and storage links).

use packyard_tests::client::run;
use packyard_tests::devserver::DevServer;

use super::python::tool;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/schemathesis.toml");

/// One bounded run of the given phases; its report, printed, is the test's output.
fn schemathesis(server: &DevServer, phases: &str, max_time: &str) -> String {
    let reports = server.data_dir.0.join(format!("schemathesis-{phases}"));
    let authorization = format!("Authorization: Bearer {}", server.admin_token);
    let args = [
        "--config-file",
        CONFIG,
        "run",
        SCHEMA,
        "--url",
        &server.base_url,
        "-H",
        &authorization,
        "--phases",
        phases,
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
    ];
    let home = server.data_dir.0.to_str().unwrap().to_owned();
    let output = run(&server.data_dir.0, &tool("PACKYARD_SCHEMATHESIS", "schemathesis"), &args, &[("HOME", &home)]);
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{printed}");
    assert!(output.status.success(), "schemathesis ({phases}) found failures:\n{printed}");
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
    let operations = schemathesis(&server, "examples,coverage,fuzzing", "150");
    let tested = format!("Tested: {}", operation_count());
    assert!(operations.contains(&tested), "not every operation was tested (expected {tested:?}):\n{operations}");
    let stateful = schemathesis(&server, "stateful", "120");
    assert!(!stateful.contains("Scenarios:    0"), "no stateful scenario ran:\n{stateful}");
}
