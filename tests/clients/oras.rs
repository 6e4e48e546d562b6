//! oras-py, the ORAS Python SDK, against the dev server: an artifact and a signature whose subject it is,
//! read back through the referrers API with and without an `artifactType` filter, all through the Bearer
//! token flow the client follows from the registry's challenge (see tests/clients/oras/artifacts.py).

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::ok;
use packyard_tests::devserver::DevServer;
use serde_json::{Value, json};

use super::python::tool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_pushes_a_signature_with_a_subject_and_finds_it_through_the_referrers_api() {
    let server = DevServer::start();
    server.create_registry("images", "oci").await;
    let work = TempDir::new("packyard-oras");
    let host = server.base_url.trim_start_matches("http://").trim_end_matches('/');
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/oras/artifacts.py");
    let home = work.0.to_str().unwrap();
    let python = tool("PACKYARD_CLIENTS_PYTHON", "python3");
    let output = ok(&work.0, &python, &[script, host, &server.admin_token, home], &[("HOME", home)]);
    let seen: Value = serde_json::from_str(output.lines().last().unwrap()).unwrap_or_else(|_| panic!("{output}"));

    let (subject, signature) = (seen["subject"].as_str().unwrap(), seen["signature"].as_str().unwrap());
    assert_eq!(seen["oci_subject_header"], json!(subject), "the push says the subject was processed");
    assert_eq!(seen["referrers_content_type"], "application/vnd.oci.image.index.v1+json");
    let descriptors = seen["referrers"]["manifests"].as_array().unwrap();
    assert_eq!(descriptors.len(), 1, "{seen}");
    assert_eq!(descriptors[0]["digest"], json!(signature));
    assert_eq!(descriptors[0]["artifactType"], "application/vnd.example.signature.v1");
    assert_eq!(seen["filtered"]["manifests"][0]["digest"], json!(signature));
    assert_eq!(seen["filters_applied"], "artifactType");
    assert_eq!(seen["other"]["manifests"], json!([]));
    assert_eq!(seen["pulled"], json!(["a signature\n"]));
}
