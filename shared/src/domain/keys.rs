//! Where each record lives in the single table: the one place partition and sort keys are spelled.
//!
//! Keys embed only validated slugs, ids and hashes, so no request text can forge a key of another kind.

use super::names::{OrgSlug, RegistrySlug};
use super::storage_names::LinkId;

pub fn organization(org: &OrgSlug) -> (String, String) {
    (format!("ORG#{org}"), "ORG".to_owned())
}

pub const REGISTRY_PREFIX: &str = "REGISTRY#";

pub fn registry(org: &OrgSlug, slug: &RegistrySlug) -> (String, String) {
    (format!("ORG#{org}"), format!("{REGISTRY_PREFIX}{slug}"))
}

pub const STORAGE_LINK_PREFIX: &str = "LINK#";

pub fn storage_link(org: &OrgSlug, id: &LinkId) -> (String, String) {
    (format!("ORG#{org}"), format!("{STORAGE_LINK_PREFIX}{id}"))
}

/// An organization's storage settings (its default storage).
pub fn storage_settings(org: &OrgSlug) -> (String, String) {
    (format!("ORG#{org}"), "STORAGE".to_owned())
}

/// The partition holding an organization's registries and token listings.
pub fn organization_partition(org: &OrgSlug) -> String {
    format!("ORG#{org}")
}

/// A token is found by the SHA-256 of its secret, never by the secret.
pub fn token_by_hash(hash_hex: &str) -> (String, String) {
    (format!("TOKEN#{hash_hex}"), "TOKEN".to_owned())
}

pub const TOKEN_LISTING_PREFIX: &str = "TOKEN#";

pub fn token_listing(org: &OrgSlug, token_id: &str) -> (String, String) {
    (format!("ORG#{org}"), format!("{TOKEN_LISTING_PREFIX}{token_id}"))
}

/// Audit events sort by their ULID, so a descending query is newest first.
pub fn audit_partition(org: &OrgSlug) -> String {
    format!("AUDIT#{org}")
}

/// Registries whose packages still have to be removed, oldest first.
pub const DELETION_PARTITION: &str = "DELETIONS";

pub fn registry_deletion(registry_id: &str) -> (String, String) {
    (DELETION_PARTITION.to_owned(), registry_id.to_owned())
}
