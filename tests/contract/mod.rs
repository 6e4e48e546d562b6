//! One contract suite per port, run against every adapter.

mod blob;
mod metadata;
