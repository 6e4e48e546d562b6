//! Debian: what Packyard reads out of a `.deb` (an `ar` archive of `debian-binary`, `control.tar.{gz,xz}`
//! and `data.tar.*`), the names and versions it accepts, and the index files apt reads (`Packages`,
//! `Release`), rendered from the control records kept in the metadata store, never from the files again.

pub mod suite;

use std::fmt::Write as _;
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::archive::{MAX_ENTRY, tar_gz_entry};
use crate::domain::names::InvalidValue;

/// The architectures every Release offers, so apt on any of them finds an index (arch `all` packages are
/// listed in each), plus whatever architectures were published.
pub const ARCHITECTURES: [&str; 7] = ["amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x"];

/// A binary package's control paragraph, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebControl {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub depends: Option<String>,
    /// The whole paragraph, fields in the builder's order, without a trailing blank line.
    pub paragraph: String,
}

impl DebControl {
    /// The version as Packyard records it: the Debian version with its architecture, so each architecture
    /// of a release is a version of its own (`1.0-1_amd64`). An epoch's `:` becomes `%3a`, as in pool names.
    pub fn packyard_version(&self) -> String {
        format!("{}_{}", self.version.replace(':', "%3a"), self.architecture)
    }

    /// The stored file's name: `{package}_{version without epoch}_{arch}.deb`, with `~` (which storage keys
    /// do not take) as `+`; apt reads the pool path from the index, never this name.
    pub fn file_name(&self) -> String {
        let upstream = self.version.split_once(':').map_or(self.version.as_str(), |(_, rest)| rest);
        format!("{}_{}_{}.deb", self.package, upstream.replace('~', "+"), self.architecture)
    }
}

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

/// Debian policy 5.6.1: lowercase letters, digits, `+`, `-`, `.`, at least two, starting alphanumeric.
///
/// # Errors
/// Says what is wrong with the name.
pub fn validate_package_name(name: &str) -> Result<(), InvalidValue> {
    let ok = name.len() >= 2
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if ok { Ok(()) } else { Err(invalid(format!("package name {name:?} is not a Debian package name"))) }
}

/// Debian policy 5.6.12: `[epoch:]upstream[-revision]`, starting with a digit, of letters, digits and `.+~-:`.
///
/// # Errors
/// Says what is wrong with the version.
pub fn validate_version(version: &str) -> Result<(), InvalidValue> {
    let upstream = match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => rest,
        Some(_) => return Err(invalid(format!("version {version:?} has an epoch that is not a number"))),
        None => version,
    };
    let ok = !upstream.is_empty()
        && version.len() <= 128
        && upstream.as_bytes()[0].is_ascii_digit()
        && upstream.bytes().all(|b| b.is_ascii_alphanumeric() || b".+~-".contains(&b));
    if ok { Ok(()) } else { Err(invalid(format!("version {version:?} is not a Debian version"))) }
}

/// An architecture name: lowercase letters, digits and `-`, such as `amd64` or `all`.
///
/// # Errors
/// Says what is wrong with it.
pub fn validate_architecture(arch: &str) -> Result<(), InvalidValue> {
    let ok = !arch.is_empty()
        && arch.len() <= 32
        && arch.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(invalid(format!("architecture {arch:?} is not a Debian architecture"))) }
}

/// The value of `field` in a control paragraph, continuation lines joined.
fn field(paragraph: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in paragraph.lines() {
        match &mut value {
            Some(found) if line.starts_with([' ', '\t']) => {
                found.push('\n');
                found.push_str(line);
            }
            Some(_) => break,
            None => {
                if let Some((key, rest)) = line.split_once(':')
                    && key.eq_ignore_ascii_case(name)
                {
                    value = Some(rest.trim().to_owned());
                }
            }
        }
    }
    value
}

/// Fields Packyard writes into each index entry itself, so a builder's copies are dropped.
const INDEX_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];

/// Parses `control`, checks the fields apt needs, and keeps the paragraph.
///
/// # Errors
/// When a field is missing or not valid.
pub fn parse_control(text: &str) -> Result<DebControl, InvalidValue> {
    let paragraph: Vec<&str> = text.trim_matches('\n').lines().collect();
    if paragraph.iter().any(|line| line.trim().is_empty()) {
        return Err(invalid("the control file holds more than one paragraph"));
    }
    let mut kept = String::new();
    let mut skipping = false;
    for line in paragraph {
        if line.starts_with([' ', '\t']) {
            if !skipping {
                kept.push_str(line);
                kept.push('\n');
            }
            continue;
        }
        let Some((key, _)) = line.split_once(':') else {
            return Err(invalid(format!("the control file has a line that is not a field: {line:?}")));
        };
        skipping = INDEX_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key));
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let paragraph = kept.trim_end_matches('\n').to_owned();
    let required =
        |name: &str| field(&paragraph, name).ok_or_else(|| invalid(format!("the control file has no {name} field")));
    let control = DebControl {
        package: required("Package")?,
        version: required("Version")?,
        architecture: required("Architecture")?,
        depends: field(&paragraph, "Depends"),
        paragraph,
    };
    validate_package_name(&control.package)?;
    validate_version(&control.version)?;
    validate_architecture(&control.architecture)?;
    Ok(control)
}

/// Reads one `ar` member header: its name and size.
fn ar_member(input: &mut impl Read) -> Result<Option<(String, u64)>, InvalidValue> {
    let mut header = [0_u8; 60];
    let mut read = 0;
    while read < header.len() {
        let n = input.read(&mut header[read..]).map_err(|e| invalid(format!("the .deb cannot be read: {e}")))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if read == 0 {
        return Ok(None);
    }
    if read < 60 || &header[58..60] != b"`\n" {
        return Err(invalid("the .deb is not an ar archive: a member header is damaged"));
    }
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&header[range]).trim().to_owned();
    let name = text(0..16).trim_end_matches('/').to_owned();
    let size =
        text(48..58).parse().map_err(|_| invalid("the .deb is not an ar archive: a member size is not a number"))?;
    Ok(Some((name, size)))
}

/// Reads a member's bytes, at most `limit`.
fn member_bytes(input: &mut impl Read, name: &str, size: u64, limit: u64) -> Result<Vec<u8>, InvalidValue> {
    if size > limit {
        return Err(invalid(format!("the .deb's {name} is larger than {limit} bytes")));
    }
    let mut bytes = Vec::new();
    input.take(size).read_to_end(&mut bytes).map_err(|e| invalid(format!("the .deb cannot be read: {e}")))?;
    if bytes.len() as u64 != size {
        return Err(invalid(format!("the .deb is truncated inside {name}")));
    }
    if size % 2 == 1 {
        let mut pad = [0_u8; 1];
        let _ = input.read(&mut pad);
    }
    Ok(bytes)
}

/// The largest control tarball read, packed and unpacked.
const MAX_CONTROL_TAR: u64 = 4 * MAX_ENTRY;

/// `./control` out of a plain tar.
fn control_in_tar(tar_bytes: &[u8]) -> Result<String, InvalidValue> {
    let unreadable = |e: std::io::Error| invalid(format!("the .deb's control tarball is not readable: {e}"));
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = entry.path().map_err(unreadable)?.to_string_lossy().trim_start_matches("./").to_owned();
        if path == "control" {
            let mut text = String::new();
            entry.by_ref().take(MAX_ENTRY).read_to_string(&mut text).map_err(unreadable)?;
            return Ok(text);
        }
    }
    Err(invalid("the .deb's control tarball holds no control file"))
}

/// The control record of a `.deb` read from `input`: only `debian-binary` and the control tarball are read.
///
/// # Errors
/// When the file is not a `.deb` or its control file is missing or invalid.
pub fn read_deb(mut input: impl Read) -> Result<DebControl, InvalidValue> {
    let mut magic = [0_u8; 8];
    input.read_exact(&mut magic).map_err(|_| invalid("the file is not a .deb: it is too short"))?;
    if &magic != b"!<arch>\n" {
        return Err(invalid("the file is not a .deb: it is not an ar archive"));
    }
    match ar_member(&mut input)? {
        Some((name, size)) if name == "debian-binary" => {
            let version = member_bytes(&mut input, &name, size, 64)?;
            if !version.starts_with(b"2.") {
                return Err(invalid("the .deb's debian-binary is not format 2.x"));
            }
        }
        _ => return Err(invalid("the file is not a .deb: its first member is not debian-binary")),
    }
    let (name, size) = ar_member(&mut input)?.ok_or_else(|| invalid("the .deb has no control tarball"))?;
    let packed = member_bytes(&mut input, &name, size, MAX_CONTROL_TAR)?;
    let text = match name.as_str() {
        "control.tar.gz" => {
            let entry =
                tar_gz_entry(&packed, "control file", |p| p.to_string_lossy().trim_start_matches("./") == "control")
                    .map_err(|e| invalid(format!("the .deb's control tarball {e}")))?;
            String::from_utf8(entry.bytes).map_err(|_| invalid("the .deb's control file is not UTF-8"))?
        }
        "control.tar.xz" => {
            let mut tar = Vec::new();
            let mut limited = LimitedWriter { inner: &mut tar, left: MAX_CONTROL_TAR };
            lzma_rs::xz_decompress(&mut packed.as_slice(), &mut limited)
                .map_err(|e| invalid(format!("the .deb's control.tar.xz cannot be unpacked: {e}")))?;
            control_in_tar(&tar)?
        }
        "control.tar" => control_in_tar(&packed)?,
        other => {
            return Err(invalid(format!(
                "the .deb's second member is {other:?}; Packyard reads control.tar, control.tar.gz and control.tar.xz"
            )));
        }
    };
    parse_control(&text)
}

/// A writer that fails once more than `left` bytes are written: a bound on decompression.
struct LimitedWriter<'a> {
    inner: &'a mut Vec<u8>,
    left: u64,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other("the control tarball unpacks past its limit"));
        }
        self.left -= buf.len() as u64;
        self.inner.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One package as the index lists it: its control paragraph and where and what its file is.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub control: DebControl,
    /// The path under the repository root, `pool/main/...`.
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub md5: Option<String>,
}

/// A `Packages` file: one paragraph per entry, sorted by name and version for a stable hash.
pub fn packages_file(entries: &[&IndexEntry]) -> String {
    let mut sorted: Vec<&&IndexEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| (&a.control.package, &a.filename).cmp(&(&b.control.package, &b.filename)));
    let mut out = String::new();
    for entry in sorted {
        let _ = writeln!(out, "{}", entry.control.paragraph);
        let _ = writeln!(out, "Filename: {}\nSize: {}", entry.filename, entry.size);
        if let Some(md5) = &entry.md5 {
            let _ = writeln!(out, "MD5sum: {md5}");
        }
        let _ = writeln!(out, "SHA256: {}\n", entry.sha256);
    }
    out
}

/// An index file as `Release` lists it: its path under `dists/{suite}/` and its bytes' digests.
pub struct Listed {
    pub path: String,
    pub size: usize,
    pub md5: String,
    pub sha256: String,
}

/// The `Release` file of suite `any`, component `main`.
pub fn release_file(architectures: &[String], date: &str, files: &[&Listed]) -> String {
    let mut out = format!(
        "Origin: Packyard\nLabel: Packyard\nSuite: any\nCodename: any\nDate: {date}\nArchitectures: {}\nComponents: main\nAcquire-By-Hash: yes\n",
        architectures.join(" ")
    );
    out.push_str("MD5Sum:\n");
    for file in files {
        let _ = writeln!(out, " {} {:>8} {}", file.md5, file.size, file.path);
    }
    out.push_str("SHA256:\n");
    for file in files {
        let _ = writeln!(out, " {} {:>8} {}", file.sha256, file.size, file.path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = b"!<arch>\n".to_vec();
        for (name, bytes) in members {
            out.extend_from_slice(
                format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, 100644, bytes.len()).as_bytes(),
            );
            out.extend_from_slice(bytes);
            if bytes.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    const CONTROL: &str = "Package: hello-tool\nVersion: 1:1.0~rc1-2\nArchitecture: amd64\nDepends: libc6 (>= 2.31),\n hello-lib\nSHA256: forged\nDescription: says hello\n more text\n";

    #[test]
    fn a_deb_with_a_gzipped_control_tarball_is_read() {
        let control = crate::ecosystems::archive::tests::tar_gz(&[("./control", CONTROL.as_bytes())]);
        let deb = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &control), ("data.tar.xz", b"x")]);
        let read = read_deb(deb.as_slice()).unwrap();
        assert_eq!(
            (read.package.as_str(), read.version.as_str(), read.architecture.as_str()),
            ("hello-tool", "1:1.0~rc1-2", "amd64")
        );
        assert_eq!(read.depends.as_deref(), Some("libc6 (>= 2.31),\n hello-lib"));
        assert!(!read.paragraph.contains("forged"), "a builder's SHA256 is not kept: {}", read.paragraph);
        assert_eq!(read.file_name(), "hello-tool_1.0+rc1-2_amd64.deb");
        assert_eq!(read.packyard_version(), "1%3a1.0~rc1-2_amd64");
    }

    #[test]
    fn files_that_are_not_debs_are_refused() {
        assert!(read_deb(&b"PK\x03\x04 not a deb at all"[..]).is_err());
        let rpm_like = ar(&[("data.tar.gz", b"x")]);
        assert!(read_deb(rpm_like.as_slice()).unwrap_err().0.contains("debian-binary"));
        let no_version =
            crate::ecosystems::archive::tests::tar_gz(&[("./control", b"Package: x1\nArchitecture: all\n")]);
        let deb = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &no_version)]);
        assert!(read_deb(deb.as_slice()).unwrap_err().0.contains("Version"));
    }

    #[test]
    fn names_and_versions_follow_debian_policy() {
        assert!(validate_package_name("Hello").is_err());
        assert!(validate_package_name("../x").is_err());
        assert!(validate_version("1.0/../x").is_err());
        assert!(validate_version("a1.0").is_err());
        assert!(validate_version("2:1.0-1").is_ok());
    }
}
