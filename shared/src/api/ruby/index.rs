//! The index routes. Compact index files carry what bundler checks: an `ETag` that is the quoted MD5 of the
//! whole file (bundler 2.3 compares it with its copy), `Repr-Digest` (newer bundlers verify it), and
//! `Range: bytes=N-` answered `206` with the file's end, so an up-to-date client downloads only what was
//! appended. Legacy indexes are gzipped or deflated Ruby Marshal, written in Rust.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{RubyResult, gem_by_full_name, gem_registry, refused};
use crate::api::AppState;
use crate::api::context::Caller;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::ruby::GemSpec;
use crate::ecosystems::ruby::index::{Specs, info, md5_hex, names, specs, versions_file};
use crate::ecosystems::ruby::marshal::{deflate, gemspec};

/// The requested start of `Range: bytes=N-` when it lies inside a body of `len` bytes.
fn range_start(headers: &HeaderMap, len: usize) -> Option<usize> {
    let spec = headers.get(header::RANGE)?.to_str().ok()?.trim().strip_prefix("bytes=")?;
    let start: usize = spec.strip_suffix('-')?.parse().ok()?;
    (start < len).then_some(start)
}

/// An index file with its validators: `304` when the client's `If-None-Match` is current, `206` for a
/// satisfiable `Range: bytes=N-`, else the whole file (also when the range lies past its end: the file was
/// compacted, and the client starts over).
fn index_file(headers: &HeaderMap, body: Vec<u8>, content_type: &'static str) -> Response {
    let etag = format!("\"{}\"", md5_hex(&body));
    let digest = format!("sha-256=:{}:", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body)));
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let len = body.len();
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else if let Some(start) = range_start(headers, len) {
        let mut partial = (StatusCode::PARTIAL_CONTENT, body[start..].to_vec()).into_response();
        if let Ok(range) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", len - 1)) {
            partial.headers_mut().insert(header::CONTENT_RANGE, range);
        }
        partial
    } else {
        body.into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    for (name, value) in [(header::ETAG.as_str(), etag), ("repr-digest", digest)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(name, value);
        }
    }
    response
}

const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

async fn readable(state: &AppState, caller: Option<&Caller>, org: &str, registry: &str) -> RubyResult<Registry> {
    gem_registry(state, caller, org, registry, Scope::ReadPackages).await
}

/// `GET info/{gem}`: one line per installable version, with its dependencies and checksum.
pub async fn get_info(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> RubyResult {
    let registry = readable(&state, caller.as_ref(), &org, &registry).await?;
    let not_found = || refused(StatusCode::NOT_FOUND, "not_found", format!("no gem {name} in this registry"));
    if crate::ecosystems::ruby::validate_gem_name(&name).is_err() {
        return Err(not_found());
    }
    let summary = state.packages.gem_summary(&registry, &name).await?.ok_or_else(not_found)?;
    Ok(index_file(&headers, info(&summary.versions).into_bytes(), TEXT))
}

/// The registry-wide index files: `versions` (every gem's versions and the MD5 of its info file,
/// append-only), `names`, and the legacy `specs.4.8.gz`, `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`.
pub async fn get_index_file(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> RubyResult {
    let which = match file.as_str() {
        "versions" | "names" => None,
        "specs.4.8.gz" => Some(Specs::Released),
        "latest_specs.4.8.gz" => Some(Specs::Latest),
        "prerelease_specs.4.8.gz" => Some(Specs::Prerelease),
        _ => return Err(refused(StatusCode::NOT_FOUND, "not_found", format!("no index file {file} here"))),
    };
    let registry = readable(&state, caller.as_ref(), &org, &registry).await?;
    let gems = state.packages.gem_summaries(&registry).await?;
    Ok(match which {
        Some(which) => index_file(&headers, specs(&gems, which), BINARY),
        None if file == "names" => index_file(&headers, names(&gems).into_bytes(), TEXT),
        None => {
            // The registry's creation time, so the header never changes and the file only grows.
            let created = registry.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            index_file(&headers, versions_file(&created, &gems).into_bytes(), TEXT)
        }
    })
}

/// `GET quick/Marshal.4.8/{gem}.gemspec.rz`: the version's `Gem::Specification`, Marshal, deflated.
pub async fn get_quick_spec(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, file)): Path<(String, String, String)>,
) -> RubyResult {
    let registry = readable(&state, caller.as_ref(), &org, &registry).await?;
    let stem = file.strip_suffix(".gemspec.rz").ok_or_else(|| {
        refused(StatusCode::NOT_FOUND, "not_found", format!("no file {file} here; quick specs end in .gemspec.rz"))
    })?;
    let package = gem_by_full_name(&state, &registry, stem).await?;
    let spec: GemSpec = serde_json::from_value(package.metadata["gem"].clone())
        .map_err(|_| refused(StatusCode::NOT_FOUND, "not_found", format!("{stem} has no gemspec recorded")))?;
    let mut response = deflate(&gemspec(&spec)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(BINARY));
    Ok(response)
}
