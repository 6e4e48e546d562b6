//! The domain: validated names, records and the rules that govern them.

pub mod audit;
pub mod error;
pub mod keys;
pub mod names;
pub mod package;
pub mod registry;
pub mod storage;
pub mod token;
