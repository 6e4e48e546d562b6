//! The management API driven in-process on the embedded default.

mod audit_events;
mod cargo;
mod errors;
mod npm;
mod packages;
mod pypi;
mod registries;
mod registry_tokens;
mod teams;
mod tokens;
