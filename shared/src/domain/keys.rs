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

/// A registry's packages, by id (a ULID, so newest last) and by name and version.
pub fn package_partition(registry_id: &str) -> String {
    format!("PKG#{registry_id}")
}

pub const PACKAGE_BY_ID_PREFIX: &str = "ID#";

pub fn package_by_id(registry_id: &str, id: &str) -> (String, String) {
    (package_partition(registry_id), format!("{PACKAGE_BY_ID_PREFIX}{id}"))
}

/// Every version of one name sorts under this prefix. Names never contain `#`.
pub fn package_versions_prefix(name: &str) -> String {
    format!("NAME#{name}#V#")
}

/// The record that makes a version unique: written with `NotExists`, so versions are create-only.
pub fn package_version(registry_id: &str, name: &str, version: &str) -> (String, String) {
    (package_partition(registry_id), format!("{}{version}", package_versions_prefix(name)))
}

/// A name's summary (`service::name_summaries`); a registry's summaries sort together under this prefix.
pub const NAME_SUMMARY_PREFIX: &str = "SUMMARY#";

pub fn name_summary(registry_id: &str, name: &str) -> (String, String) {
    (package_partition(registry_id), format!("{NAME_SUMMARY_PREFIX}{name}"))
}

/// Says every name of the registry has its summary (written once, by the first listing of an older registry).
pub fn name_summaries_marker(registry_id: &str) -> (String, String) {
    (package_partition(registry_id), "SUMMARIES".to_owned())
}

pub fn dist_tags(registry_id: &str, name: &str) -> (String, String) {
    (package_partition(registry_id), dist_tags_sort_key(name))
}

fn dist_tags_sort_key(name: &str) -> String {
    format!("NAME#{name}#TAGS")
}

pub fn yanked(registry_id: &str, name: &str) -> (String, String) {
    (package_partition(registry_id), format!("NAME#{name}#YANKED"))
}

/// What the full npm packument says of a name besides its versions: its latest version's description and
/// readme, under the index prefix and before the dist-tags (`TA` sorts before `TAGS`), so the full packument
/// reads it in the same query and the abbreviated one starts after it.
pub fn npm_about(registry_id: &str, name: &str) -> (String, String) {
    (package_partition(registry_id), format!("{}A", index_prefix(name)))
}

/// A name's dist-tags and its index entries share this prefix (`TAGS` sorts before `TV#`), so one query
/// reads what a packument, a simple page or a cargo index file is made of.
pub fn index_prefix(name: &str) -> String {
    format!("NAME#{name}#T")
}

/// One version's index entry (see `ecosystems::index`), by the version's id, so entries read in publication
/// order.
pub fn index_entry(registry_id: &str, name: &str, package_id: &str) -> (String, String) {
    (package_partition(registry_id), format!("{}V#{package_id}", index_prefix(name)))
}

/// What the abbreviated npm packument reads: the name's dist-tags record, whose key is this prefix, the marker
/// [`npm_short_marker`] and the versions' [`npm_short_entry`]s, and nothing of the full packument.
pub fn npm_short_prefix(name: &str) -> String {
    dist_tags_sort_key(name)
}

/// Says every version of the name has its [`npm_short_entry`]: written with a name's first version (or when
/// its entries are first filled in), so a name from before short entries is read as it was.
pub fn npm_short_marker(registry_id: &str, name: &str) -> (String, String) {
    (package_partition(registry_id), format!("{}#!", npm_short_prefix(name)))
}

/// One npm version's rendering for the abbreviated packument, apart from its full one (the entry under
/// [`index_entry`]), so that `npm install`'s read takes only the bytes it sends. Sorts after the marker.
pub fn npm_short_entry(registry_id: &str, name: &str, package_id: &str) -> (String, String) {
    (package_partition(registry_id), format!("{}#{package_id}", npm_short_prefix(name)))
}

/// A registry's RubyGems index summaries, one per gem (see `service::gem_index`).
pub fn gem_index_partition(registry_id: &str) -> String {
    format!("GEMS#{registry_id}")
}

pub const GEM_INDEX_PREFIX: &str = "GEM#";

pub fn gem_index(registry_id: &str, name: &str) -> (String, String) {
    (gem_index_partition(registry_id), format!("{GEM_INDEX_PREFIX}{name}"))
}

/// One name's versions by id, so a name filter lists newest first too.
pub fn package_name_partition(registry_id: &str, name: &str) -> String {
    format!("PKGNAME#{registry_id}#{name}")
}

pub fn upload(registry_id: &str, upload_id: &str) -> (String, String) {
    (format!("UPLOAD#{registry_id}"), upload_id.to_owned())
}

/// Uploads by expiry, oldest first, for the sweeper.
pub const UPLOAD_EXPIRY_PARTITION: &str = "UPLOADS";

pub fn upload_expiry(expires_at_unix: i64, upload_id: &str) -> (String, String) {
    (UPLOAD_EXPIRY_PARTITION.to_owned(), format!("{expires_at_unix:012}#{upload_id}"))
}

/// The record that makes a file name unique in its registry for good (as on PyPI, a deleted file's name is
/// not reused): written with `NotExists` in the same transaction that adds the file to its version.
pub fn package_file(registry_id: &str, filename: &str) -> (String, String) {
    (package_partition(registry_id), format!("FILE#{filename}"))
}

/// A registry's read-only tokens, listed under the organization.
pub fn registry_tokens_prefix(registry_id: &str) -> String {
    format!("RTOKEN#{registry_id}#")
}

pub fn registry_token(org: &OrgSlug, registry_id: &str, token_id: &str) -> (String, String) {
    (organization_partition(org), format!("{}{token_id}", registry_tokens_prefix(registry_id)))
}

pub const TEAM_PREFIX: &str = "TEAM#";

pub fn team(org: &OrgSlug, slug: &RegistrySlug) -> (String, String) {
    (organization_partition(org), format!("{TEAM_PREFIX}{slug}"))
}

pub fn oidc_policy(org: &OrgSlug, registry_id: &str) -> (String, String) {
    (organization_partition(org), format!("OIDCPOLICY#{registry_id}"))
}

/// A registry's OCI content: blobs, uploads, and per repository its manifests, tags and referrers.
/// Repository names never contain `#` (see `ecosystems::oci::check_repository`).
pub fn oci_partition(registry_id: &str) -> String {
    format!("OCI#{registry_id}")
}

pub fn oci_blob(registry_id: &str, digest_hex: &str) -> (String, String) {
    (oci_partition(registry_id), format!("BLOB#{digest_hex}"))
}

pub fn oci_upload(registry_id: &str, upload_id: &str) -> (String, String) {
    (oci_partition(registry_id), format!("UPLOAD#{upload_id}"))
}

/// OCI uploads by expiry, oldest first, for the sweeper.
pub const OCI_UPLOAD_EXPIRY_PARTITION: &str = "OCIUPLOADS";

pub fn oci_upload_expiry(expires_at_unix: i64, upload_id: &str) -> (String, String) {
    (OCI_UPLOAD_EXPIRY_PARTITION.to_owned(), format!("{expires_at_unix:012}#{upload_id}"))
}

/// Which manifests use a blob: one item per blob, repository and manifest, under the blob's digest.
pub fn oci_refs_prefix(blob_hex: &str) -> String {
    format!("REF#{blob_hex}#")
}

pub fn oci_ref(registry_id: &str, blob_hex: &str, repository: &str, manifest_hex: &str) -> (String, String) {
    (oci_partition(registry_id), format!("{}{repository}#{manifest_hex}", oci_refs_prefix(blob_hex)))
}

/// Blobs to look at again for garbage collection, by the time they are due, oldest first.
pub const OCI_GC_PARTITION: &str = "OCIGC";

pub fn oci_gc(due_unix: i64, registry_id: &str, blob_hex: &str) -> (String, String) {
    (OCI_GC_PARTITION.to_owned(), format!("{due_unix:012}#{registry_id}#{blob_hex}"))
}

pub fn oci_manifest(registry_id: &str, repository: &str, digest_hex: &str) -> (String, String) {
    (oci_partition(registry_id), format!("REPO#{repository}#M#{digest_hex}"))
}

/// A repository's tags sort under this prefix, by name.
pub fn oci_tags_prefix(repository: &str) -> String {
    format!("REPO#{repository}#T#")
}

pub fn oci_tag(registry_id: &str, repository: &str, tag: &str) -> (String, String) {
    (oci_partition(registry_id), format!("{}{tag}", oci_tags_prefix(repository)))
}

/// The manifests of a repository whose `subject` is one digest sort under this prefix.
pub fn oci_referrers_prefix(repository: &str, subject_hex: &str) -> String {
    format!("REPO#{repository}#R#{subject_hex}#")
}

pub fn oci_referrer(registry_id: &str, repository: &str, subject_hex: &str, digest_hex: &str) -> (String, String) {
    (oci_partition(registry_id), format!("{}{digest_hex}", oci_referrers_prefix(repository, subject_hex)))
}

/// Every record of one repository (manifests `M#`, referrers `R#`, tags `T#`) sorts under this prefix.
pub fn oci_repository_records_prefix(repository: &str) -> String {
    format!("REPO#{repository}#")
}

/// A repository's summary, so that a registry's repositories list without reading what they hold. Not under
/// `REPO#`, whose prefix scans must see only a repository's own records.
pub const OCI_REPOSITORY_PREFIX: &str = "REPOSITORY#";

pub fn oci_repository(registry_id: &str, repository: &str) -> (String, String) {
    (oci_partition(registry_id), format!("{OCI_REPOSITORY_PREFIX}{repository}"))
}

/// A registry's OpenPGP signing keys, sealed (see `service::signing_keys`).
pub fn signing_keys(registry_id: &str) -> (String, String) {
    (format!("SIGNKEYS#{registry_id}"), "KEYS".to_owned())
}

/// A Debian registry's suite as last generated: the Release text and the by-hash indexes it lists.
pub fn debian_suite(registry_id: &str) -> (String, String) {
    (format!("DEBSUITE#{registry_id}"), "SUITE".to_owned())
}

/// Changes to a Debian registry not yet in its suite: one item per publish or delete, written in the
/// change's own transaction, removed by the generation that includes it.
pub fn debian_changes_partition(registry_id: &str) -> String {
    format!("DEBCHANGES#{registry_id}")
}

pub fn debian_change(registry_id: &str, change_id: &str) -> (String, String) {
    (debian_changes_partition(registry_id), change_id.to_owned())
}

/// By-hash indexes a suite stopped listing, by when they may be removed, oldest first.
pub const DEBIAN_INDEX_GC_PARTITION: &str = "DEBIANGC";

pub fn debian_index_gc(due_unix: i64, registry_id: &str, id: &str) -> (String, String) {
    (DEBIAN_INDEX_GC_PARTITION.to_owned(), format!("{due_unix:012}#{registry_id}#{id}"))
}
