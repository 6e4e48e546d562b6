//! What each ecosystem needs to understand about its package files.

pub mod archive;
pub mod cargo;
pub mod debian;
pub mod index;
pub mod maven;
pub mod npm;
pub mod npm_attachment;
pub mod oci;
pub mod openpgp;
pub mod python;
pub mod rpm;
pub mod ruby;
