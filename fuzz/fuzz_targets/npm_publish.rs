//! `npm publish`'s JSON document, as the publish route reads it: the document for the name it names (or
//! `pkg`), its one version, its base64 tarball and that tarball's package.json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::ecosystems::npm::check_publish;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else { return };
    let name = document["name"].as_str().unwrap_or("pkg").to_owned();
    if let Ok((publish, _)) = check_publish(&name, &document) {
        assert!(publish.tags.values().all(|version| *version == publish.version));
    }
});
