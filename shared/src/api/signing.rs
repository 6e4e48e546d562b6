//! The OpenPGP key a registry signs its repository metadata with (Debian's `InRelease`, RPM's
//! `repomd.xml.asc`), shared by every ecosystem whose clients verify signed indexes.

use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::registry::Registry;
use crate::ecosystems::openpgp::SigningKey;

/// The registry's signing key, derived from the secrets key (see [`crate::ecosystems::openpgp`]).
///
/// # Errors
/// `503 signing_unavailable` when the deployment has no secrets key.
pub async fn registry_key(state: &AppState, registry: &Registry) -> ApiResult<SigningKey> {
    let secrets = state.config.links.secrets_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "signing_unavailable",
            "registries sign their indexes with a key derived from PACKYARD_SECRETS_KEY, which this deployment does not set",
        )
    })?;
    let seed = secrets.derive(&format!("debian-signing-key:{}", registry.id));
    let created = u32::try_from(registry.created_at.timestamp()).unwrap_or_default();
    let user_id = format!("Packyard {}/{} <{}@packyard.invalid>", registry.organization, registry.slug, registry.slug);
    SigningKey::derive(seed, created, &user_id).map_err(|error| ApiError::internal(&error))
}
