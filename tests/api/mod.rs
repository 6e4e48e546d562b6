//! The management API driven in-process on the embedded default.

mod access_matrix;
mod audit_events;
pub(crate) mod cargo;
mod console;
pub(crate) mod debian;
mod errors;
pub(crate) mod maven;
mod member_management;
pub(crate) mod npm;
pub(crate) mod oci;
mod oci_content;
mod oci_packages;
mod oci_token;
mod oidc;
mod openapi;
mod packages;
pub(crate) mod pypi;
mod races;
mod registries;
mod registry_tokens;
pub(crate) mod ruby;
mod signing_keys;
mod teams;
mod tokens;
mod uploads;
