//! The OpenAPI document: the committed `openapi.json` is the generated one, and the API serves it and its
//! browsable reference.

use packyard::api::openapi::document;
use packyard_tests::app::TestApp;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

#[test]
fn the_committed_openapi_json_is_the_generated_one() {
    let generated = document();
    if std::env::var_os("PACKYARD_UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json differs from the document the code generates; regenerate it with \
         `PACKYARD_UPDATE_OPENAPI=1 cargo test -p packyard-tests the_committed_openapi_json` and commit it"
    );
}

#[tokio::test]
async fn the_api_serves_its_openapi_document_and_a_browsable_reference_without_a_token() {
    let app = TestApp::new().await;
    let served = app.call(http::Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json["openapi"], "3.1.0");
    assert_eq!(served.json, serde_json::from_str::<serde_json::Value>(&document()).unwrap());
    assert!(served.json["paths"]["/v1/organizations/{org}/registries"]["post"].is_object());

    let docs = app.call(http::Method::GET, "/v1/docs/", None, None).await;
    assert_eq!(docs.status, 200, "{}", docs.text);
    assert!(docs.text.contains("swagger-ui"), "{}", docs.text);
    assert!(!docs.text.contains("https://"), "the reference loads nothing from a CDN: {}", docs.text);
}
