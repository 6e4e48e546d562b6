//! Schemathesis generates requests from `openapi.json` for every operation and sends them to the dev server
//! with the admin token: no answer may be a 5xx, and every answer must match the document.

use packyard_tests::client::run;
use packyard_tests::devserver::DevServer;

use super::python::tool;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let server = DevServer::start();
    let reports = server.data_dir.0.join("schemathesis");
    let authorization = format!("Authorization: Bearer {}", server.admin_token);
    let args = [
        "run",
        SCHEMA,
        "--url",
        &server.base_url,
        "-H",
        &authorization,
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "25",
        "--max-time",
        "120",
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
    assert!(output.status.success(), "schemathesis found failures:\n{printed}");
}
