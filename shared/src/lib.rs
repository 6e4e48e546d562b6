//! Packyard: a serverless, multi-ecosystem package registry. This library holds the domain, its ports and
//! adapters, the HTTP route groups every Lambda function and the server run, the server's wiring, and the `packyard push` client.

pub mod adapters;
pub mod api;
pub mod config;
#[cfg(feature = "embedded")]
pub mod devserver;
pub mod domain;
pub mod ecosystems;
pub mod lambda;
pub mod ports;
#[cfg(feature = "cli")]
pub mod push;
#[cfg(feature = "embedded")]
pub mod server;
pub mod service;
