//! Organization API tokens: a random secret shown once, stored only as its SHA-256.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::names::{Description, OrgSlug};

/// What a token may do. Token management itself needs an admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    ReadRegistries,
    WriteRegistries,
    DeleteRegistries,
    ReadPackages,
    WritePackages,
    DeletePackages,
}

impl Scope {
    pub const ALL: [Self; 6] = [
        Self::ReadRegistries,
        Self::WriteRegistries,
        Self::DeleteRegistries,
        Self::ReadPackages,
        Self::WritePackages,
        Self::DeletePackages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadRegistries => "read_registries",
            Self::WriteRegistries => "write_registries",
            Self::DeleteRegistries => "delete_registries",
            Self::ReadPackages => "read_packages",
            Self::WritePackages => "write_packages",
            Self::DeletePackages => "delete_packages",
        }
    }
}

/// A token's record; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub id: String,
    pub organization: OrgSlug,
    pub description: Description,
    pub scopes: Vec<Scope>,
    /// May manage tokens and read the audit log.
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    /// Who created it: a token id, or `bootstrap`.
    pub created_by: String,
    /// SHA-256 of the secret, hex; the key under which the token is looked up.
    pub secret_sha256: String,
    /// Set for a registry token: it may only read this registry's packages, and only while the registry is
    /// private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// A registry token's secret, sealed, so it can be shown again; organization tokens keep only the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_secret: Option<crate::domain::secret::Sealed>,
    /// Set for a member's token: its package access per registry is also limited to what the member's
    /// teams grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// The prefix of every organization token, so secret scanners can recognise a leaked one.
pub const SECRET_PREFIX: &str = "pky_";

/// The prefix of every registry token.
pub const REGISTRY_SECRET_PREFIX: &str = "pkr_";

/// A fresh secret: the prefix and 256 random bits in hex.
pub fn new_secret() -> String {
    secret_with(SECRET_PREFIX)
}

pub fn secret_with(prefix: &str) -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
