//! The browsable API reference at `/v1/docs/`: a page of Packyard's own that runs Swagger UI on
//! `/v1/openapi.json`. Swagger UI's bundle and stylesheet, and the committed `openapi.json`, are compiled in
//! gzipped (see `build.rs`), sent gzipped to every client that takes gzip and unpacked for one that does not.

use std::io::Read;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use bytes::Bytes;

use super::error::ApiError;

/// A file of the reference: its name under `/v1/docs/`, type and gzipped bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    gzipped: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui-bundle.js.gz")),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        gzipped: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui.css.gz")),
    },
    Asset {
        name: "openapi.json",
        content_type: "application/json",
        gzipped: include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz")),
    },
];

/// `ASSETS`' index of the OpenAPI document, which is served at `/v1/openapi.json`, not under `/v1/docs/`.
const OPENAPI: usize = 2;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Packyard API reference</title>
<link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script src="start.js"></script>
</body>
</html>
"#;

/// Relative to the page, so the reference works under any prefix (an API Gateway stage, a proxy's path).
const START: &str = r##"window.ui = SwaggerUIBundle({ url: "../openapi.json", dom_id: "#swagger-ui", deepLinking: true });
"##;

/// Swagger UI sets styles inline and shows images as data URLs; everything else comes from this origin.
const SECURITY_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
);

/// `/v1/openapi.json`, `/v1/docs` and its files.
pub fn routes() -> Router {
    Router::new()
        .route("/v1/openapi.json", get(|headers: HeaderMap| async move { send_asset(OPENAPI, &headers) }))
        .route("/v1/docs", get(|| async { Redirect::permanent("/v1/docs/") }))
        .route("/v1/docs/", get(|| async { send("text/html; charset=utf-8", Bytes::from_static(PAGE.as_bytes())) }))
        .route("/v1/docs/{file}", get(get_file))
}

async fn get_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file == "start.js" {
        return send("text/javascript; charset=utf-8", Bytes::from_static(START.as_bytes()));
    }
    let Some(index) = ASSETS.iter().position(|asset| asset.name == file).filter(|index| *index != OPENAPI) else {
        return ApiError::not_found(format!("the API reference has no file {file}")).into_response();
    };
    send_asset(index, &headers)
}

/// `ASSETS[index]`, gzipped when the client takes gzip.
fn send_asset(index: usize, headers: &HeaderMap) -> Response {
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|coding| coding.trim().starts_with("gzip")));
    let asset = &ASSETS[index];
    let mut response = if gzip {
        send(asset.content_type, Bytes::from_static(asset.gzipped))
    } else {
        send(asset.content_type, unpacked(index))
    };
    if gzip {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// The bytes of `ASSETS[index]` for a client that does not take gzip; unpacked once per process.
fn unpacked(index: usize) -> Bytes {
    static UNPACKED: LazyLock<Vec<Bytes>> = LazyLock::new(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let mut bytes = Vec::new();
                flate2::read::GzDecoder::new(asset.gzipped)
                    .read_to_end(&mut bytes)
                    .expect("build.rs gzipped the asset itself");
                Bytes::from(bytes)
            })
            .collect()
    });
    UNPACKED[index].clone()
}

fn send(content_type: &'static str, body: Bytes) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, SECURITY_POLICY);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_swagger_ui_unpacks_and_the_page_loads_only_its_own_files() {
        let bundle = unpacked(0);
        assert!(bundle.len() > 1_000_000 && std::str::from_utf8(&bundle).unwrap().contains("SwaggerUIBundle"));
        assert!(unpacked(1).starts_with(b".swagger-ui"));
        assert!(ASSETS.iter().map(|asset| asset.gzipped.len()).sum::<usize>() < 600_000, "gzipped, not raw");
        assert!(!PAGE.contains("://") && !PAGE.contains("<script>window"), "no CDN, no inline script");
    }
}
