//! The web console: `/` serves its page and `/console/...` its stylesheet and scripts, all compiled into
//! the binary (no CDN, no build step), gzipped once per process and revalidated by ETag. The page calls the
//! same REST API every other client does; signing in is `api::session`.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;

pub fn routes(state: AppState) -> Router {
    // Compress at start-up (a Lambda's init phase), not in the first visitor's request.
    LazyLock::force(&PREPARED);
    Router::new()
        .route("/", get(get_page))
        .route("/console/{asset}", get(get_asset))
        .merge(super::session::routes(state))
}

/// One file of the console, as compiled in and as sent.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    text: &'static str,
}

/// Every file the console is made of. `index.html` is served at `/` only.
const ASSETS: [Asset; 5] = [
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        text: include_str!("../../console/index.html"),
    },
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", text: include_str!("../../console/app.css") },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../console/app.js"),
    },
    Asset { name: "ui.js", content_type: "text/javascript; charset=utf-8", text: include_str!("../../console/ui.js") },
    Asset {
        name: "install.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../console/install.js"),
    },
];

/// An asset ready to send: its gzipped bytes and the ETag of its text.
struct Prepared {
    gzipped: Vec<u8>,
    etag: HeaderValue,
}

/// Where the page names its stylesheet; the page is served with the stylesheet in its place.
const STYLESHEET_LINK: &str = r#"<link rel="stylesheet" href="/console/app.css">"#;

/// The page as served: its stylesheet inline, so the first paint waits for no second request (the page is
/// 3 KB gzipped with it). `app.css` is still served on its own for anything that links it.
static PAGE: LazyLock<String> =
    LazyLock::new(|| ASSETS[0].text.replacen(STYLESHEET_LINK, &format!("<style>{}</style>", ASSETS[1].text), 1));

/// The text sent for an asset.
fn text(index: usize) -> &'static str {
    if index == 0 { PAGE.as_str() } else { ASSETS[index].text }
}

static PREPARED: LazyLock<Vec<Prepared>> = LazyLock::new(|| {
    (0..ASSETS.len())
        .map(|index| {
            use std::io::Write;
            let text = text(index);
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let gzipped = encoder.write_all(text.as_bytes()).and_then(|()| encoder.finish()).unwrap_or_default();
            let digest = hex::encode(&Sha256::digest(text.as_bytes())[..12]);
            let etag = HeaderValue::from_str(&format!("\"{digest}\"")).unwrap_or(HeaderValue::from_static("\"0\""));
            Prepared { gzipped, etag }
        })
        .collect()
});

/// What the page may load and where it may send: itself only. No inline script runs, no other site may
/// frame it, and it never reaches another origin.
/// The inline stylesheet is allowed by its hash alone.
static SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    use base64::Engine;
    let style = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(ASSETS[1].text.as_bytes()));
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'sha256-{style}'; script-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
});

async fn get_page(headers: HeaderMap) -> Response {
    send(0, &headers)
}

async fn get_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|asset| asset.name == name && name != "index.html") {
        Some(index) => send(index, &headers),
        None => ApiError::not_found(format!("the console has no file {name}")).into_response(),
    }
}

fn send(index: usize, request: &HeaderMap) -> Response {
    let (asset, prepared) = (&ASSETS[index], &PREPARED[index]);
    let fresh = request.get(header::IF_NONE_MATCH).is_some_and(|tag| tag == prepared.etag);
    let gzip = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|coding| coding.trim().starts_with("gzip")));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip && !prepared.gzipped.is_empty() {
        ([(header::CONTENT_ENCODING, "gzip")], prepared.gzipped.clone()).into_response()
    } else {
        text(index).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::ETAG, prepared.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CONTENT_SECURITY_POLICY, SECURITY_POLICY.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_compresses_and_the_page_loads_only_the_console_s_own_files() {
        assert!(PREPARED.iter().all(|prepared| !prepared.gzipped.is_empty()));
        let page = text(0);
        assert!(!page.contains("http://") && !page.contains("https://"), "the page loads nothing from elsewhere");
        assert!(!page.contains("<script>"), "no inline script: the security policy would refuse it");
        assert!(page.contains("<style>") && !page.contains(STYLESHEET_LINK), "the stylesheet is inline");
    }
}
