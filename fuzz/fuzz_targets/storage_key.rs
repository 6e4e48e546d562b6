//! Storage keys from signed URL paths and stored records: whatever parses must format back to itself, and
//! never climb out of its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::ports::blob::StorageKey;
use packyard::service::packages::file_key;

fuzz_target!(|text: &str| {
    if let Ok(key) = StorageKey::parse(text) {
        assert_eq!(key.as_str(), text);
        assert!(key.as_str().split('/').all(|segment| !segment.is_empty() && segment != "." && segment != ".."));
        assert_eq!(StorageKey::parse(key.as_str()).ok(), Some(key));
    }
    let _ = file_key("01J0000000000000000000000", "01J0000000000000000000001", text);
});
