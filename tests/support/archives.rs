//! Small packages built in memory the way each client builds them: an npm tarball and its publish
//! document, a `.crate` and cargo's binary publish body.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

/// A gzipped tarball holding `files` (path, contents).
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, *contents).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// An npm package tarball with one `package/package.json`.
pub fn npm_tarball(name: &str, version: &str) -> Vec<u8> {
    tar_gz(&[("package/package.json", json!({"name": name, "version": version}).to_string().as_bytes())])
}

/// The document `npm publish` sends: one version, its tarball attached in base64, `latest` pointing at it.
pub fn npm_document(name: &str, version: &str, tarball: &[u8]) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(tarball);
    json!({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {}}},
        "_attachments": {format!("{name}-{version}.tgz"): {"content_type": "application/octet-stream", "data": data, "length": tarball.len()}}
    })
}

/// A `.crate`: a gzipped tarball with `{name}-{version}/Cargo.toml`.
pub fn crate_file(name: &str, version: &str) -> Vec<u8> {
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\n");
    tar_gz(&[(&format!("{name}-{version}/Cargo.toml"), manifest.as_bytes())])
}

/// cargo's publish body: the metadata JSON and the `.crate`, each after its 32-bit little-endian length.
pub fn cargo_publish_body(metadata: &Value, crate_file: &[u8]) -> Vec<u8> {
    let json = metadata.to_string();
    let mut body = u32::try_from(json.len()).unwrap().to_le_bytes().to_vec();
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(&u32::try_from(crate_file.len()).unwrap().to_le_bytes());
    body.extend_from_slice(crate_file);
    body
}
