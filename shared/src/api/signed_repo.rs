//! What the signed-repository ecosystems (Debian's apt, RPM's dnf) share: the registry of the right
//! ecosystem, uncached text answers, the armored signing key, and index files kept in the registry's storage
//! under their SHA-256, written once and never overwritten, so a signed index never names a file that
//! cannot be fetched.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::signing::registry_key;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ports::blob::{BlobError, BlobStore, StorageKey};

/// The registry, once the caller may read it, if it holds `ecosystem` packages (`what` names them).
///
/// # Errors
/// As [`registry_for`]; 404 for a registry of another ecosystem.
pub async fn repo_registry(
    state: &AppState,
    caller: Option<&Caller>,
    (org, registry): (&str, &str),
    ecosystem: Ecosystem,
    what: &str,
) -> ApiResult<Registry> {
    let registry = registry_for(state, caller, org, registry, Scope::ReadPackages).await?;
    if registry.ecosystem != ecosystem {
        return Err(ApiError::not_found(format!(
            "registry {} holds {} packages, not {what}",
            registry.slug, registry.ecosystem
        )));
    }
    Ok(registry)
}

/// `body` as `content_type`, never cached by a shared cache (a private registry's indexes are private).
pub fn uncached(body: impl Into<Bytes>, content_type: &'static str) -> Response {
    let mut response = body.into().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    response
}

/// `GET .../gpgkey`: the registry's public key, armored.
///
/// # Errors
/// 503 without a secrets key; 500 when the key cannot be serialized.
pub async fn key_response(state: &AppState, registry: &Registry) -> ApiResult<Response> {
    let armored = registry_key(state, registry).await?.public_armored().map_err(|error| ApiError::internal(&error))?;
    Ok(uncached(armored, "application/pgp-keys"))
}

/// The storage key of an index object: `{prefix}/{registry id}/{name}`.
///
/// # Errors
/// 500 when `name` is not a valid key segment (callers pass digests and fixed names).
pub fn index_key(prefix: &str, registry: &Registry, name: &str) -> ApiResult<StorageKey> {
    StorageKey::new(&[prefix, registry.id.as_str(), name]).map_err(|error| ApiError::internal(&error))
}

/// Writes `bytes` at `key` of `blobs` unless something is there already (content-addressed keys hold the same
/// bytes).
///
/// # Errors
/// 500 when storage fails.
pub async fn put_once(blobs: &dyn BlobStore, key: &StorageKey, bytes: Bytes) -> ApiResult<()> {
    if blobs.head(key).await.map_err(|error| ApiError::internal(&error))?.is_none() {
        blobs.put(key, bytes).await.map_err(|error| ApiError::internal(&error))?;
    }
    Ok(())
}

/// The bytes at `key` of `blobs`, or `None` when there are none.
///
/// # Errors
/// 500 when storage fails.
pub async fn get_stored(blobs: &dyn BlobStore, key: &StorageKey) -> ApiResult<Option<Bytes>> {
    match blobs.get(key).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(BlobError::NotFound(_)) => Ok(None),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// Whether `digest` looks like a hex SHA-256, so it can name a stored index.
pub fn is_sha256(digest: &str) -> bool {
    digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
}
