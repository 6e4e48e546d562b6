//! Packyard: a serverless, multi-ecosystem package registry. This library holds the domain, its ports and
//! adapters, the HTTP route groups every Lambda function and the dev server run, and the dev server's wiring.

pub mod adapters;
pub mod api;
pub mod config;
pub mod devserver;
pub mod domain;
pub mod ecosystems;
pub mod lambda;
pub mod ports;
pub mod service;
