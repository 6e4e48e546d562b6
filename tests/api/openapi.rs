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
    // The committed document, compiled in gzipped, goes gzipped to a client that takes it.
    let request =
        http::Request::get("/v1/openapi.json").header("accept-encoding", "gzip").body(axum::body::Body::empty());
    let gzipped = app.send(request.unwrap()).await;
    assert_eq!(gzipped.headers["content-encoding"], "gzip");
    let mut unpacked = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gzipped.bytes.as_ref()), &mut unpacked).unwrap();
    assert_eq!(unpacked, document());

    let docs = app.call(http::Method::GET, "/v1/docs/", None, None).await;
    assert_eq!(docs.status, 200, "{}", docs.text);
    assert!(docs.text.contains("swagger-ui"), "{}", docs.text);
    assert!(!docs.text.contains("https://"), "the reference loads nothing from a CDN: {}", docs.text);
}

#[tokio::test]
async fn the_reference_serves_swagger_ui_gzipped_to_browsers_and_plain_to_others() {
    let app = TestApp::new().await;
    let bare = app.call(http::Method::GET, "/v1/docs", None, None).await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.headers["location"], "/v1/docs/");

    let page = app.call(http::Method::GET, "/v1/docs/", None, None).await;
    assert!(page.headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'"));
    for file in ["swagger-ui-bundle.js", "swagger-ui.css", "start.js"] {
        assert!(
            page.text.contains(&format!("src=\"{file}\"")) || page.text.contains(&format!("href=\"{file}\"")),
            "{file}"
        );
    }

    let browser = http::Request::get("/v1/docs/swagger-ui-bundle.js")
        .header("accept-encoding", "gzip, deflate, br")
        .body(axum::body::Body::empty())
        .unwrap();
    let gzipped = app.send(browser).await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.headers["content-encoding"], "gzip");
    assert!(gzipped.text.starts_with('\u{1f}') && !gzipped.text.contains("SwaggerUIBundle"), "sent compressed");

    let plain = app.call(http::Method::GET, "/v1/docs/swagger-ui-bundle.js", None, None).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(plain.text.contains("SwaggerUIBundle") && plain.text.len() > 1_000_000);
    assert!(app.call(http::Method::GET, "/v1/docs/start.js", None, None).await.text.contains("../openapi.json"));

    let missing = app.call(http::Method::GET, "/v1/docs/swagger-ui.js.map", None, None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
}
