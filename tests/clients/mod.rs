//! Real clients against the dev server binary on a free loopback port.

mod cargo;
mod curl;
mod large;
mod npm;
mod oras;
mod python;
mod ruby;
mod skopeo;
