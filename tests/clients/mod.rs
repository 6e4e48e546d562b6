//! Real clients against the dev server binary on a free loopback port.

mod cargo;
mod curl;
mod large;
mod maven;
mod npm;
mod python;
mod skopeo;
