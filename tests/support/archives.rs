//! Package archives built in memory, as the ecosystems' tools pack them, and the broken ones an upload must
//! refuse; npm's publish document and cargo's binary publish body around them.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, contents: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, path, contents).expect("tar entry");
}

/// A gzipped tar holding `files` (path, contents), with fixed timestamps so the same files make the same bytes.
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        append(&mut builder, path, contents);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().expect("tar")).expect("gzip");
    gz.finish().expect("gzip")
}

/// A zip holding `files` (path, contents), deflated.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, contents) in files {
        writer.start_file(*path, options).expect("zip entry");
        writer.write_all(contents).expect("zip entry");
    }
    writer.finish().expect("zip").into_inner()
}

/// A gzipped tar of well under a megabyte that unpacks to 80 MiB of zeros before its one real file, `last`:
/// more than any archive check may unpack.
pub fn gzip_bomb(last: (&str, &[u8])) -> Vec<u8> {
    let zeros = vec![0_u8; 8 * 1024 * 1024];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(Vec::new());
    let padding = (0..10).map(|index| (format!("padding/{index}"), zeros.as_slice()));
    for (path, contents) in padding.chain([(last.0.to_owned(), last.1)]) {
        append(&mut builder, &path, contents);
        gz.write_all(&std::mem::take(builder.get_mut())).expect("gzip");
    }
    gz.write_all(&builder.into_inner().expect("tar")).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    assert!(bomb.len() < 1024 * 1024, "the bomb is {} bytes", bomb.len());
    bomb
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

/// A `.gem` as `gem build` lays it out: a plain tar of `metadata.gz` (the YAML gemspec, with rubygems'
/// tags), `data.tar.gz` and `checksums.yaml.gz`. `platform` is `ruby` for a pure-Ruby gem; `deps` are runtime
/// dependencies (name, requirement such as `~> 1.0`).
pub fn gem_file(name: &str, version: &str, platform: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let dependencies: String = deps
        .iter()
        .map(|(dep, requirement)| {
            let (op, number) = requirement.split_once(' ').unwrap_or((">=", requirement));
            format!(
                "- !ruby/object:Gem::Dependency\n  name: {dep}\n  requirement: !ruby/object:Gem::Requirement\n    requirements:\n    - - \"{op}\"\n      - !ruby/object:Gem::Version\n        version: '{number}'\n  type: :runtime\n  prerelease: false\n"
            )
        })
        .collect();
    let gemspec = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n  version: {version}\nplatform: {platform}\nauthors:\n- Acme\ndate: 2026-11-29 00:00:00.000000000 Z\ndependencies:{}\n{dependencies}summary: {name} for tests\nrubygems_version: 3.3.15\nspecification_version: 4\n",
        if deps.is_empty() { " []" } else { "" }
    );
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).expect("gzip");
        gz.finish().expect("gzip")
    };
    let metadata = gzip(gemspec.as_bytes());
    let data = tar_gz(&[("lib/gem.rb", b"# a gem\n")]);
    let sha = |bytes: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let checksums =
        gzip(format!("---\nSHA256:\n  metadata.gz: {}\n  data.tar.gz: {}\n", sha(&metadata), sha(&data)).as_bytes());
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents) in [("metadata.gz", &metadata), ("data.tar.gz", &data), ("checksums.yaml.gz", &checksums)] {
        append(&mut builder, path, contents);
    }
    builder.into_inner().expect("tar")
}
