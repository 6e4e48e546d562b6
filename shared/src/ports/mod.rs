//! Ports: the small traits the domain owns and adapters implement.

pub mod blob;
pub mod link_access;
pub mod metadata;
