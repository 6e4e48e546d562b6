//! A Debian suite rendered from control records: per architecture a `Packages` index and its `.gz` and
//! `.xz`, and the `Release` listing each by size and digest. Pure: storing and signing happen elsewhere.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::{ARCHITECTURES, IndexEntry, Listed, packages_file, release_file};

/// A rendered suite: the Release text and the index files it lists, with their bytes.
pub struct RenderedSuite {
    pub release: String,
    pub files: Vec<(Listed, Bytes)>,
}

/// The LZMA2 preset of `Packages.xz`: xz's default level, about 15% of the text for a typical index.
const XZ_PRESET: u32 = 6;

fn listed(path: String, bytes: &[u8]) -> Listed {
    Listed {
        path,
        size: bytes.len(),
        md5: hex::encode(<md5::Md5 as md5::Digest>::digest(bytes)),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    gz.finish()
}

fn xz(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(XZ_PRESET))?;
    writer.write_all(bytes)?;
    writer.finish()
}

/// The suite of `entries` dated `date`: every architecture of [`ARCHITECTURES`] and those published, each
/// index holding its architecture's packages and those of architecture `all`.
///
/// # Errors
/// When compressing fails (it does not, in memory).
pub fn render_suite(entries: &[IndexEntry], date: &str) -> std::io::Result<RenderedSuite> {
    let mut architectures: BTreeSet<String> = ARCHITECTURES.iter().map(|a| (*a).to_owned()).collect();
    architectures.extend(entries.iter().map(|e| e.control.architecture.clone()).filter(|a| a != "all"));
    let mut files = Vec::new();
    // Architectures without packages of their own have the same index: it is compressed once.
    let mut compressed: HashMap<Bytes, (Bytes, Bytes)> = HashMap::new();
    for arch in &architectures {
        let chosen: Vec<&IndexEntry> =
            entries.iter().filter(|e| e.control.architecture == *arch || e.control.architecture == "all").collect();
        let packages = Bytes::from(packages_file(&chosen).into_bytes());
        let (gz, xz) = match compressed.get(&packages) {
            Some(done) => done.clone(),
            None => {
                let done = (Bytes::from(gzip(&packages)?), Bytes::from(xz(&packages)?));
                compressed.insert(packages.clone(), done.clone());
                done
            }
        };
        files.push((listed(format!("main/binary-{arch}/Packages.xz"), &xz), xz));
        files.push((listed(format!("main/binary-{arch}/Packages.gz"), &gz), gz));
        files.push((listed(format!("main/binary-{arch}/Packages"), &packages), packages));
    }
    let architectures: Vec<String> = architectures.into_iter().collect();
    let listing: Vec<&Listed> = files.iter().map(|(l, _)| l).collect();
    let release = release_file(&architectures, date, &listing);
    Ok(RenderedSuite { release, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystems::debian::parse_control;

    #[test]
    fn each_architecture_gets_its_packages_and_the_all_ones_in_three_encodings() {
        let entry = |text: &str| IndexEntry {
            control: parse_control(text).unwrap(),
            filename: "pool/main/x.deb".into(),
            size: 1,
            sha256: "00".repeat(32),
            md5: None,
        };
        let entries = [
            entry("Package: tool\nVersion: 1.0\nArchitecture: amd64\n"),
            entry("Package: docs\nVersion: 1.0\nArchitecture: all\n"),
        ];
        let suite = render_suite(&entries, "Sun, 29 Nov 2026 00:00:00 UTC").unwrap();
        let file = |path: &str| &suite.files.iter().find(|(l, _)| l.path == path).unwrap().1;
        let amd64 = std::str::from_utf8(file("main/binary-amd64/Packages")).unwrap();
        assert!(amd64.contains("Package: tool") && amd64.contains("Package: docs"), "{amd64}");
        let arm64 = std::str::from_utf8(file("main/binary-arm64/Packages")).unwrap();
        assert!(!arm64.contains("Package: tool") && arm64.contains("Package: docs"), "{arm64}");
        let mut unpacked = Vec::new();
        lzma_rs::xz_decompress(&mut file("main/binary-amd64/Packages.xz").as_ref(), &mut unpacked).unwrap();
        assert_eq!(unpacked, amd64.as_bytes());
        assert!(suite.release.contains(" main/binary-amd64/Packages.xz\n"), "{}", suite.release);
    }
}
