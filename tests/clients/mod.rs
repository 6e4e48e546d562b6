//! Real clients against the dev server binary on a free loopback port.

mod apt;
mod cargo;
mod console;
mod curl;
mod dnf;
mod large;
mod maven;
mod npm;
mod openapi_client;
mod oras;
mod python;
mod ruby;
mod schemathesis;
mod skopeo;
