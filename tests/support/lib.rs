//! Shared test support: the real services the test rig started, an in-process app on the embedded
//! default, and the dev server binary on a free loopback port.

pub mod app;
pub mod archives;
pub mod client;
pub mod devserver;
pub mod oidc;
pub mod runtime;
pub mod services;
