//! The management API driven in-process on the embedded default.

mod access_matrix;
mod audit_events;
pub(crate) mod cargo;
mod errors;
pub(crate) mod maven;
mod member_management;
pub(crate) mod npm;
pub(crate) mod oci;
mod oidc;
mod packages;
pub(crate) mod pypi;
mod races;
mod registries;
mod registry_tokens;
mod teams;
mod tokens;
mod uploads;
