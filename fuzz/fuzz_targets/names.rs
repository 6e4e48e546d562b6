//! Every name and version a request can carry, by each ecosystem's rules: validation must never panic, and
//! what normalizes must normalize to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::domain::names::{Ecosystem, OrgSlug, RegistryName, RegistrySlug};
use packyard::domain::package::{parse_file_name, validate_name, validate_version};
use packyard::ecosystems::{cargo, python};

fuzz_target!(|text: &str| {
    for ecosystem in Ecosystem::ALL {
        let _ = validate_name(ecosystem, text);
    }
    let _ = validate_version(text);
    let _ = parse_file_name(text);
    let _ = OrgSlug::try_from(text);
    if let Ok(name) = RegistryName::try_from(text) {
        let _ = RegistrySlug::from_name(&name);
    }
    if cargo::validate_crate_name(text).is_ok() {
        let _ = cargo::index_path(text);
    }
    if let Ok(normal) = python::validate_name(text) {
        assert_eq!(python::normalize_name(&normal), normal);
    }
    if let Ok(normal) = python::normalize_version(text) {
        assert_eq!(python::normalize_version(&normal).as_deref(), Ok(normal.as_str()));
    }
    let _ = python::parse_filename(text);
    let _ = python::check_filename(text, "demo", "1.0");
});
