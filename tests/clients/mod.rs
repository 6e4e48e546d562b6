//! Real clients against the dev server binary on a free loopback port.

mod cargo;
mod curl;
mod npm;
mod python;
