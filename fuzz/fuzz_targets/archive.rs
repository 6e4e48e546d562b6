//! Package archives as uploads deliver them: the same bytes as a wheel, an sdist (gzipped tar and zip), a
//! `.crate` and an npm tarball. Each check must answer, within its unpacking budget, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::ecosystems::{cargo, npm, python};

fuzz_target!(|data: &[u8]| {
    for filename in ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0.zip"] {
        let _ = python::dist::check_distribution(filename, data, "demo", "1.0");
    }
    let _ = python::dist::metadata_headers(data);
    let _ = cargo::check_crate_file(data, "demo", "0.1.0");
    let _ = npm::read_manifest(data);
});
