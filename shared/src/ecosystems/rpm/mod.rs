//! RPM: what Packyard reads out of a binary `.rpm` (the 96-byte lead, the signature header and the main
//! header; never the payload), the record it keeps with each version, and the repodata dnf reads
//! ([`repodata`]), rendered from those records, never from the files again.

pub mod header;
pub mod repodata;

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use self::header::Header;
use crate::domain::names::InvalidValue;

const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];

// Main header tags (rpmtag.h).
const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const SUMMARY: u32 = 1004;
const DESCRIPTION: u32 = 1005;
const BUILDTIME: u32 = 1006;
const BUILDHOST: u32 = 1007;
const SIZE: u32 = 1009;
const VENDOR: u32 = 1011;
const LICENSE: u32 = 1014;
const PACKAGER: u32 = 1015;
const GROUP: u32 = 1016;
const URL: u32 = 1020;
const ARCH: u32 = 1022;
const FILEMODES: u32 = 1030;
const FILEFLAGS: u32 = 1037;
const SOURCERPM: u32 = 1044;
const PROVIDENAME: u32 = 1047;
const REQUIREFLAGS: u32 = 1048;
const REQUIRENAME: u32 = 1049;
const REQUIREVERSION: u32 = 1050;
const CONFLICTFLAGS: u32 = 1053;
const CONFLICTNAME: u32 = 1054;
const CONFLICTVERSION: u32 = 1055;
const CHANGELOGTIME: u32 = 1080;
const CHANGELOGNAME: u32 = 1081;
const CHANGELOGTEXT: u32 = 1082;
const OBSOLETENAME: u32 = 1090;
const SOURCEPACKAGE: u32 = 1106;
const PROVIDEFLAGS: u32 = 1112;
const PROVIDEVERSION: u32 = 1113;
const OBSOLETEFLAGS: u32 = 1114;
const OBSOLETEVERSION: u32 = 1115;
const DIRINDEXES: u32 = 1116;
const BASENAMES: u32 = 1117;
const DIRNAMES: u32 = 1118;
const LONGARCHIVESIZE: u32 = 271;
const LONGSIZE: u32 = 5009;
// Signature header tags.
const SIG_SHA256: u32 = 273;
const SIG_PAYLOADSIZE: u32 = 1007;

// Dependency sense flags.
const SENSE_LESS: u64 = 2;
const SENSE_GREATER: u64 = 4;
const SENSE_EQUAL: u64 = 8;
const SENSE_PREREQ: u64 = 64;
const SENSE_SCRIPT_PRE: u64 = 512;
const SENSE_SCRIPT_POST: u64 = 1024;
const FILE_GHOST: u64 = 64;

/// The newest changelog entries kept with a version (createrepo_c's `--changelog-limit` habit): older ones
/// only make `other.xml` and the metadata record larger.
pub const CHANGELOG_LIMIT: usize = 10;

/// One provides/requires/conflicts/obsoletes entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// `EQ`, `LT`, `GT`, `LE` or `GE`, when versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// Needed before the package's scriptlets run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre: bool,
}

/// One path the package installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    /// `dir` or `ghost`; a plain file has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One changelog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changelog {
    pub author: String,
    pub date: u64,
    pub text: String,
}

/// What the repodata says of one binary package, read once from its headers and kept with the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpmHeader {
    pub name: String,
    pub epoch: u64,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub summary: String,
    pub description: String,
    pub packager: String,
    pub url: String,
    pub license: String,
    pub vendor: String,
    pub group: String,
    pub buildhost: String,
    pub sourcerpm: String,
    pub build_time: u64,
    pub installed_size: u64,
    pub archive_size: u64,
    /// Where the main header starts and ends in the file (`rpm:header-range`).
    pub header_start: u64,
    pub header_end: u64,
    pub provides: Vec<Dependency>,
    pub requires: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub files: Vec<FileEntry>,
    pub changelogs: Vec<Changelog>,
}

impl RpmHeader {
    /// `[epoch:]version-release`, as dnf prints it.
    pub fn evr(&self) -> String {
        let epoch = if self.epoch == 0 { String::new() } else { format!("{}:", self.epoch) };
        format!("{epoch}{}-{}", self.version, self.release)
    }

    /// The version as Packyard records it: the EVR and the architecture, so each architecture of a build
    /// is a version of its own and a NEVRA is published once (`1.0-1.x86_64`, `2:1.0-1.noarch`).
    pub fn packyard_version(&self) -> String {
        format!("{}.{}", self.evr(), self.arch)
    }

    /// The canonical file name, `{name}-{version}-{release}.{arch}.rpm` (no epoch, as rpmbuild writes it).
    pub fn canonical_file_name(&self) -> String {
        format!("{}-{}-{}.{}.rpm", self.name, self.version, self.release, self.arch)
    }

    /// The stored file's name: the canonical one with `~` and `^` (which storage keys do not take) as `+`;
    /// dnf reads the location from primary.xml, never this name.
    pub fn file_name(&self) -> String {
        self.canonical_file_name().replace(['~', '^'], "+")
    }
}

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

/// RPM names: letters, digits and `-._+`, starting with a letter or digit (Fedora's packaging rules).
///
/// # Errors
/// Says what is wrong with the name.
pub fn validate_package_name(name: &str) -> Result<(), InvalidValue> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._+".contains(&b));
    if ok { Ok(()) } else { Err(invalid(format!("package name {name:?} is not an RPM package name"))) }
}

/// An RPM version, release or architecture: letters, digits and `._+~^`, no `-`.
fn validate_label(what: &str, value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+~^".contains(&b));
    if ok { Ok(()) } else { Err(invalid(format!("the RPM's {what} {value:?} is not valid"))) }
}

/// Splits `[epoch:]version[-release]` as a dependency's version.
fn dependency(name: String, flags: u64, evr: &str) -> Dependency {
    let pre = flags & (SENSE_PREREQ | SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST) != 0;
    let sense = match flags & (SENSE_LESS | SENSE_GREATER | SENSE_EQUAL) {
        SENSE_EQUAL => Some("EQ"),
        SENSE_LESS => Some("LT"),
        SENSE_GREATER => Some("GT"),
        x if x == SENSE_LESS | SENSE_EQUAL => Some("LE"),
        x if x == SENSE_GREATER | SENSE_EQUAL => Some("GE"),
        _ => None,
    };
    if evr.is_empty() || sense.is_none() {
        return Dependency { name, flags: None, epoch: None, ver: None, rel: None, pre };
    }
    let (epoch, rest) = match evr.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => (epoch.to_owned(), rest),
        _ => ("0".to_owned(), evr),
    };
    let (ver, rel) = match rest.rsplit_once('-') {
        Some((ver, rel)) => (ver.to_owned(), Some(rel.to_owned())),
        None => (rest.to_owned(), None),
    };
    Dependency { name, flags: sense.map(str::to_owned), epoch: Some(epoch), ver: Some(ver), rel, pre }
}

fn dependencies(header: &Header, names: u32, flags: u32, versions: u32) -> Result<Vec<Dependency>, InvalidValue> {
    let names = header.strings(names)?;
    let flags = header.numbers(flags)?;
    let versions = header.strings(versions)?;
    let mut out: Vec<Dependency> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let entry =
            dependency(name, flags.get(i).copied().unwrap_or(0), versions.get(i).map(String::as_str).unwrap_or(""));
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn files(header: &Header) -> Result<Vec<FileEntry>, InvalidValue> {
    let basenames = header.strings(BASENAMES)?;
    let dirnames = header.strings(DIRNAMES)?;
    let indexes = header.numbers(DIRINDEXES)?;
    let modes = header.numbers(FILEMODES)?;
    let flags = header.numbers(FILEFLAGS)?;
    if indexes.len() != basenames.len() {
        return Err(invalid("the RPM's file list is damaged: BASENAMES and DIRINDEXES differ in length"));
    }
    basenames
        .into_iter()
        .enumerate()
        .map(|(i, base)| {
            let dir = usize::try_from(indexes[i])
                .ok()
                .and_then(|d| dirnames.get(d))
                .ok_or_else(|| invalid("the RPM's file list is damaged: a DIRINDEXES entry points nowhere"))?;
            let kind = if flags.get(i).is_some_and(|f| f & FILE_GHOST != 0) {
                Some("ghost".to_owned())
            } else if modes.get(i).is_some_and(|m| m & 0o170_000 == 0o040_000) {
                Some("dir".to_owned())
            } else {
                None
            };
            Ok(FileEntry { path: format!("{dir}{base}"), kind })
        })
        .collect()
}

fn changelogs(header: &Header) -> Result<Vec<Changelog>, InvalidValue> {
    let times = header.numbers(CHANGELOGTIME)?;
    let names = header.strings(CHANGELOGNAME)?;
    let texts = header.strings(CHANGELOGTEXT)?;
    // rpm keeps the newest first; other.xml lists them oldest first.
    let mut kept: Vec<Changelog> = times
        .into_iter()
        .zip(names)
        .zip(texts)
        .take(CHANGELOG_LIMIT)
        .map(|((date, author), text)| Changelog { author, date, text })
        .collect();
    kept.reverse();
    Ok(kept)
}

/// The header record of the binary `.rpm` read from `input`; only the lead and the two headers are read.
///
/// # Errors
/// When the file is not a binary RPM, a header is damaged or larger than the bound, the signature header's
/// SHA-256 of the main header does not match, or a name, version or architecture is not valid.
pub fn read_rpm(mut input: impl Read) -> Result<RpmHeader, InvalidValue> {
    let mut lead = [0_u8; 96];
    input.read_exact(&mut lead).map_err(|_| invalid("the file is not an RPM: it is too short"))?;
    if lead[..4] != LEAD_MAGIC {
        return Err(invalid("the file is not an RPM: it does not start with the RPM lead magic"));
    }
    if lead[6..8] == [0, 1] {
        return Err(invalid("the file is a source RPM; Packyard's RPM registries hold binary RPMs only"));
    }
    let signature = Header::read(&mut input, "signature header")?;
    let padding = (8 - signature.size() % 8) % 8;
    let mut pad = [0_u8; 8];
    input.read_exact(&mut pad[..padding]).map_err(|_| invalid("the RPM is truncated after its signature header"))?;
    let main = Header::read(&mut input, "header")?;
    if let Some(expected) = signature.string(SIG_SHA256)
        && !expected.eq_ignore_ascii_case(&hex::encode(Sha256::digest(&main.bytes)))
    {
        return Err(invalid("the RPM's header does not match the SHA-256 its signature header gives"));
    }
    if main.has(SOURCEPACKAGE) || !main.has(SOURCERPM) {
        return Err(invalid("the file is a source RPM; Packyard's RPM registries hold binary RPMs only"));
    }
    let required = |tag: u32, what: &str| {
        main.string(tag).filter(|s| !s.is_empty()).ok_or_else(|| invalid(format!("the RPM's header has no {what}")))
    };
    let text = |tag: u32| main.string(tag).unwrap_or_default();
    let header_start = (96 + signature.size() + padding) as u64;
    let name = required(NAME, "name")?;
    let provides = dependencies(&main, PROVIDENAME, PROVIDEFLAGS, PROVIDEVERSION)?;
    // rpmlib() capabilities are rpm's own; createrepo_c leaves them out of the repodata too.
    let requires = dependencies(&main, REQUIRENAME, REQUIREFLAGS, REQUIREVERSION)?
        .into_iter()
        .filter(|r| !r.name.starts_with("rpmlib("))
        .collect();
    let record = RpmHeader {
        epoch: main.number(EPOCH)?.unwrap_or(0),
        version: required(VERSION, "version")?,
        release: required(RELEASE, "release")?,
        arch: required(ARCH, "architecture")?,
        summary: text(SUMMARY),
        description: text(DESCRIPTION),
        packager: text(PACKAGER),
        url: text(URL),
        license: text(LICENSE),
        vendor: text(VENDOR),
        group: text(GROUP),
        buildhost: text(BUILDHOST),
        sourcerpm: text(SOURCERPM),
        build_time: main.number(BUILDTIME)?.unwrap_or(0),
        installed_size: main.number(LONGSIZE)?.or(main.number(SIZE)?).unwrap_or(0),
        archive_size: signature.number(LONGARCHIVESIZE)?.or(signature.number(SIG_PAYLOADSIZE)?).unwrap_or(0),
        header_start,
        header_end: header_start + main.size() as u64,
        provides,
        requires,
        conflicts: dependencies(&main, CONFLICTNAME, CONFLICTFLAGS, CONFLICTVERSION)?,
        obsoletes: dependencies(&main, OBSOLETENAME, OBSOLETEFLAGS, OBSOLETEVERSION)?,
        files: files(&main)?,
        changelogs: changelogs(&main)?,
        name,
    };
    validate_package_name(&record.name)?;
    validate_label("version", &record.version)?;
    validate_label("release", &record.release)?;
    validate_label("architecture", &record.arch)?;
    if record.arch == "src" || record.arch == "nosrc" {
        return Err(invalid("the file is a source RPM; Packyard's RPM registries hold binary RPMs only"));
    }
    Ok(record)
}

/// The largest header record kept with a version: a DynamoDB item holds at most 400 KB, and the record
/// shares it with the version's other attributes.
pub const MAX_RECORD_BYTES: usize = 320 * 1024;

/// The record kept in the version's metadata, `{"rpm": header}`.
///
/// # Errors
/// When the record is larger than [`MAX_RECORD_BYTES`] (a package listing tens of thousands of files).
pub fn record(header: &RpmHeader) -> Result<serde_json::Value, InvalidValue> {
    let value = serde_json::json!({ "rpm": header });
    let size = value.to_string().len();
    if size > MAX_RECORD_BYTES {
        return Err(invalid(format!(
            "the RPM's header record (its file list, dependencies and changelog) is {size} bytes; Packyard keeps at most {MAX_RECORD_BYTES} per version"
        )));
    }
    Ok(value)
}

/// Checks that an upload named `filename` is the package its header describes.
///
/// # Errors
/// When the name is not `{name}-{version}-{release}.{arch}.rpm` for this header.
pub fn check_file_name(filename: &str, header: &RpmHeader) -> Result<(), InvalidValue> {
    let expected = header.canonical_file_name();
    if filename == expected || filename == header.file_name() {
        Ok(())
    } else {
        Err(invalid(format!(
            "the file is named {filename:?} but its header says it is {} {} for {}: name it {expected:?}",
            header.name,
            header.evr(),
            header.arch
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Real packages from `rpmbuild` (see `testdata/README.md`).
    pub(crate) const LIB: &[u8] = include_bytes!("testdata/hello-lib-1.0-1.noarch.rpm");
    pub(crate) const APP: &[u8] = include_bytes!("testdata/hello-app-1.0-1.noarch.rpm");
    const SOURCE: &[u8] = include_bytes!("testdata/hello-lib-1.0-1.src.rpm");

    #[test]
    fn a_binary_rpm_is_read_from_its_headers() {
        let read = read_rpm(APP).unwrap();
        assert_eq!((read.name.as_str(), read.evr(), read.arch.as_str()), ("hello-app", "1.0-1".to_owned(), "noarch"));
        assert_eq!(read.packyard_version(), "1.0-1.noarch");
        assert_eq!((read.summary.as_str(), read.license.as_str()), ("hello app", "MIT"));
        // What createrepo_c 0.20 writes for the same file.
        assert_eq!((read.header_start, read.header_end), (4504, 5997));
        assert_eq!((read.installed_size, read.archive_size), (44, 300));
        let requires: Vec<_> = read.requires.iter().map(|r| (r.name.as_str(), r.flags.as_deref())).collect();
        assert_eq!(requires, [("hello-lib", Some("GE"))], "rpmlib() capabilities are left out");
        assert_eq!((read.requires[0].epoch.as_deref(), read.requires[0].ver.as_deref()), (Some("0"), Some("1.0")));
        assert_eq!(read.files, [FileEntry { path: "/usr/bin/hello-app".into(), kind: None }]);
        let lib = read_rpm(LIB).unwrap();
        assert_eq!(lib.changelogs.len(), 1);
        assert_eq!(lib.changelogs[0].text, "- First");
        assert!(check_file_name("hello-app-1.0-1.noarch.rpm", &read).is_ok());
        assert!(check_file_name("hello-app-2.0-1.noarch.rpm", &read).unwrap_err().0.contains("header says"));
    }

    #[test]
    fn files_that_are_not_binary_rpms_are_refused() {
        assert!(read_rpm(&b"!<arch>\ndebian-binary"[..]).unwrap_err().0.contains("not an RPM"));
        assert!(read_rpm(SOURCE).unwrap_err().0.contains("source RPM"));
        let mut tampered = APP.to_vec();
        let at = tampered.windows(9).rposition(|w| w == b"hello app").unwrap();
        tampered[at] = b'j';
        assert!(read_rpm(tampered.as_slice()).unwrap_err().0.contains("SHA-256"));
        assert!(read_rpm(&APP[..3000]).unwrap_err().0.contains("truncated"));
    }
}
