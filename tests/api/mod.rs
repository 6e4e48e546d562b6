//! The management API driven in-process on the embedded default.

mod audit_events;
mod errors;
mod packages;
mod registries;
mod tokens;
