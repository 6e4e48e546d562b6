//! The domain: validated names, records and the rules that govern them.

pub mod audit;
pub mod diagnostic;
pub mod error;
pub mod keys;
pub mod names;
pub mod oidc;
pub mod package;
pub mod registry;
pub mod secret;
pub mod storage;
pub mod storage_names;
pub mod team;
pub mod token;
