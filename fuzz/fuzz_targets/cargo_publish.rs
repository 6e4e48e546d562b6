//! `cargo publish`'s body: two little-endian length-prefixed parts, the JSON metadata and the `.crate`, then
//! every check the publish route makes on them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::ecosystems::cargo::{IndexDependency, check_crate_file, index_path, parse_publish, validate_crate_name};

fuzz_target!(|data: &[u8]| {
    let Ok((metadata, crate_file)) = parse_publish(data) else { return };
    if validate_crate_name(&metadata.name).is_ok() {
        let _ = index_path(&metadata.name);
        let _ = check_crate_file(&crate_file, &metadata.name, &metadata.vers);
    }
    let _: Vec<IndexDependency> = metadata.deps.into_iter().map(IndexDependency::from).collect();
});
