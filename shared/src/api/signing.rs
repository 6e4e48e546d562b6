//! The OpenPGP keys a registry signs its repository metadata with (Debian's `InRelease`, RPM's
//! `repomd.xml.asc`), shared by every ecosystem whose clients verify signed indexes.

use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::error::Error;
use crate::domain::registry::Registry;
use crate::ecosystems::openpgp::SigningKey;

/// The keys the registry signs with now (see [`crate::service::signing_keys`]): one, or two during a
/// rotation's overlap; [`SigningKey`] signs with each and exports each.
///
/// # Errors
/// `503 signing_unavailable` when the deployment has no secrets key, or not the one that sealed the keys.
pub async fn registry_key(state: &AppState, registry: &Registry) -> ApiResult<SigningKey> {
    state.signing_keys.signing_key(registry, chrono::Utc::now()).await.map_err(|error| match error {
        Error::Unavailable(message) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "signing_unavailable", message),
        other => other.into(),
    })
}
