//! npm tarballs: a gzipped tar whose `package/package.json` names the package and its version.

use std::io::Read;

use flate2::read::GzDecoder;
use serde_json::Value;

use crate::domain::names::InvalidValue;

/// The most a tarball may expand to while looking for its manifest, against decompression bombs.
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
const MAX_MANIFEST: u64 = 1024 * 1024;

/// The `package.json` inside an npm tarball.
///
/// # Errors
/// Says why the bytes are not an npm package tarball.
pub fn read_manifest(tarball: &[u8]) -> Result<Value, InvalidValue> {
    let invalid = |why: String| InvalidValue(format!("the tarball is not an npm package: {why}"));
    let mut archive = tar::Archive::new(GzDecoder::new(tarball).take(MAX_UNPACKED));
    let entries = archive.entries().map_err(|error| invalid(error.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|error| invalid(error.to_string()))?;
        let path = entry.path().map_err(|error| invalid(error.to_string()))?.into_owned();
        let components: Vec<_> = path.components().collect();
        // npm packs into `package/`, but some tools use another top folder; the manifest is one level down.
        if components.len() == 2 && path.file_name().is_some_and(|name| name == "package.json") {
            let mut text = String::new();
            entry
                .take(MAX_MANIFEST)
                .read_to_string(&mut text)
                .map_err(|error| invalid(format!("package.json: {error}")))?;
            return serde_json::from_str(&text).map_err(|error| invalid(format!("package.json is not JSON: {error}")));
        }
    }
    Err(invalid("it holds no package/package.json".into()))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A gzipped tarball holding `files` (path, contents), as npm would pack them.
    pub fn tarball(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, contents.as_bytes()).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn the_manifest_is_read_from_the_top_folder() {
        let bytes =
            tarball(&[("package/index.js", "x"), ("package/package.json", r#"{"name":"a","version":"1.0.0"}"#)]);
        assert_eq!(read_manifest(&bytes).unwrap()["version"], "1.0.0");
    }

    #[test]
    fn tarballs_without_a_manifest_or_not_gzipped_are_refused() {
        assert!(read_manifest(&tarball(&[("package/index.js", "x")])).is_err());
        assert!(read_manifest(&tarball(&[("package/lib/package.json", "{}")])).is_err());
        assert!(read_manifest(b"not a tarball").is_err());
    }
}
