//! The Maven 2 repository layout: what a path under a repository names (an artifact file, a checksum of
//! one, a `maven-metadata.xml`) and the file names a version may hold (timestamped SNAPSHOT builds
//! included). Beside it: Maven's version order (`version`), the metadata documents Packyard renders from
//! what it stores instead of trusting the client's (`metadata`), and the check of a deployed pom (`pom`).

mod metadata;
mod pom;
mod version;

pub use metadata::{artifact_metadata, snapshot_builds, snapshot_metadata};
pub use pom::{POM_LIMIT, check_pom};
pub use version::compare_versions;

use crate::domain::names::InvalidValue;

/// The suffix of a version that keeps taking new builds.
pub const SNAPSHOT: &str = "-SNAPSHOT";
pub const METADATA: &str = "maven-metadata.xml";

/// The checksum files a client writes and reads beside every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Checksum {
    const ALL: [(Self, &'static str); 4] =
        [(Self::Md5, ".md5"), (Self::Sha1, ".sha1"), (Self::Sha256, ".sha256"), (Self::Sha512, ".sha512")];

    /// The file a checksum file's name stands for, and its algorithm.
    pub fn split(filename: &str) -> Option<(&str, Self)> {
        Self::ALL.iter().find_map(|(kind, ext)| filename.strip_suffix(ext).map(|base| (base, *kind)))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// One file of a version, by its coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinates {
    pub group_id: String,
    pub artifact_id: String,
    pub version: String,
    pub filename: String,
}

impl Coordinates {
    /// The package name Packyard keeps the artifact under.
    pub fn name(&self) -> String {
        package_name(&self.group_id, &self.artifact_id)
    }
}

/// `groupId:artifactId`, the name a Maven artifact is listed, copied and deleted by.
pub fn package_name(group_id: &str, artifact_id: &str) -> String {
    format!("{group_id}:{artifact_id}")
}

/// What a path under a repository names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A `maven-metadata.xml` in the folder of these segments: an artifact's (`group/artifact/`) or a
    /// SNAPSHOT version's (`group/artifact/1.0-SNAPSHOT/`); which one is decided by what is stored.
    Metadata(Vec<String>),
    File(Coordinates),
}

/// A path with the checksum it asks for, if it names a checksum file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPath {
    pub target: Target,
    pub checksum: Option<Checksum>,
}

fn invalid(message: String) -> InvalidValue {
    InvalidValue(message)
}

fn check_segment(segment: &str, what: &str, extra: &[u8]) -> Result<(), InvalidValue> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_-".contains(&b) || extra.contains(&b);
    if segment.is_empty() || segment.len() > 200 || !segment.bytes().all(allowed) || segment.starts_with('.') {
        let extras: String = extra.iter().map(|b| format!(", '{}'", *b as char)).collect();
        return Err(invalid(format!(
            "{what} {segment:?} may only use letters, digits, '_', '-'{extras}, and not start with '.'"
        )));
    }
    Ok(())
}

/// Reads a path under a repository (`com/acme/greet/1.0/greet-1.0.jar`).
///
/// # Errors
/// When it is not a Maven 2 layout path of an artifact file or a `maven-metadata.xml`.
pub fn parse_path(path: &str) -> Result<RepoPath, InvalidValue> {
    let segments: Vec<&str> = path.split('/').collect();
    let Some((last, folders)) = segments.split_last() else { return Err(invalid("an empty path".into())) };
    let (filename, checksum) = match Checksum::split(last) {
        Some((base, kind)) => (base, Some(kind)),
        None => (*last, None),
    };
    if filename == METADATA {
        if folders.is_empty() {
            return Err(invalid("maven-metadata.xml belongs in a group, artifact or version folder".into()));
        }
        for folder in folders {
            check_segment(folder, "the folder", b".+")?;
        }
        return Ok(RepoPath { target: Target::Metadata(folders.iter().map(|s| (*s).to_owned()).collect()), checksum });
    }
    let [group @ .., artifact_id, version] = folders else {
        return Err(invalid(format!(
            "{path} is not group/artifact/version/file: a Maven 2 layout path has a group, an artifact and a version folder"
        )));
    };
    if group.is_empty() {
        return Err(invalid(format!("{path} has no group folder before its artifact folder")));
    }
    for segment in group {
        check_segment(segment, "the group segment", b"")?;
    }
    check_segment(artifact_id, "the artifactId", b".")?;
    check_segment(version, "the version", b".+")?;
    check_segment(filename, "the file name", b".+")?;
    let coordinates = Coordinates {
        group_id: group.join("."),
        artifact_id: (*artifact_id).to_owned(),
        version: (*version).to_owned(),
        filename: filename.to_owned(),
    };
    file_name(&coordinates)?;
    Ok(RepoPath { target: Target::File(coordinates), checksum })
}

/// A SNAPSHOT build: `yyyyMMdd.HHmmss` (UTC) and its build number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Build {
    pub timestamp: String,
    pub number: u32,
}

impl Build {
    /// `1.0-20261129.120000-3` for base version `1.0`.
    pub fn value(&self, base: &str) -> String {
        format!("{base}-{}-{}", self.timestamp, self.number)
    }
}

/// What a file name says beside its artifact and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The build of a timestamped SNAPSHOT file; `None` for a release file or a bare `-SNAPSHOT` one.
    pub build: Option<Build>,
    pub classifier: Option<String>,
    /// Everything after the first dot that follows the version and classifier: `jar`, `pom`, `jar.asc`.
    pub extension: String,
}

fn parse_build(text: &str) -> Option<(Build, &str)> {
    let (timestamp, rest) = (text.get(..15)?, text.get(15..)?);
    let (date, time) = timestamp.split_once('.')?;
    if date.len() != 8 || time.len() != 6 || !date.bytes().chain(time.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.strip_prefix('-')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let number = rest[..digits].parse().ok()?;
    Some((Build { timestamp: timestamp.to_owned(), number }, &rest[digits..]))
}

/// Reads a file name against its coordinates: `{artifactId}-{version}[-{classifier}].{extension}`, where a
/// SNAPSHOT version's files carry a build (`greet-1.0-20261129.120000-1.jar`) or the bare `-SNAPSHOT`.
///
/// # Errors
/// When the name does not start with the artifact and version its folder says.
pub fn file_name(coordinates: &Coordinates) -> Result<FileName, InvalidValue> {
    let Coordinates { artifact_id, version, filename, .. } = coordinates;
    let mismatch = || {
        invalid(format!(
            "file {filename:?} does not belong in {artifact_id}/{version}/: its name must start with {artifact_id}-{version}"
        ))
    };
    let (build, rest) = match filename.strip_prefix(&format!("{artifact_id}-{version}")) {
        Some(rest) => (None, rest),
        None => {
            let base = version.strip_suffix(SNAPSHOT).ok_or_else(mismatch)?;
            let after = filename.strip_prefix(&format!("{artifact_id}-{base}-")).ok_or_else(mismatch)?;
            let (build, rest) = parse_build(after).ok_or_else(mismatch)?;
            (Some(build), rest)
        }
    };
    let (classifier, extension) = match (rest.strip_prefix('-'), rest.strip_prefix('.')) {
        (Some(classified), _) => match classified.split_once('.') {
            Some((classifier, extension)) if !classifier.is_empty() => (Some(classifier.to_owned()), extension),
            _ => return Err(invalid(format!("file {filename:?} has a classifier but no extension"))),
        },
        (None, Some(extension)) => (None, extension),
        (None, None) => return Err(mismatch()),
    };
    // An extension starts with a letter: `greet-1.0.1.jar` in folder `1.0` is another version's file, not
    // version 1.0 with extension `1.jar`.
    if extension.is_empty() || extension.ends_with('.') {
        return Err(invalid(format!("file {filename:?} has no extension")));
    }
    if !extension.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(mismatch());
    }
    Ok(FileName { build, classifier, extension: extension.to_owned() })
}

pub fn is_snapshot(version: &str) -> bool {
    version.ends_with(SNAPSHOT)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn file(path: &str) -> Coordinates {
        match parse_path(path).unwrap().target {
            Target::File(coordinates) => coordinates,
            other => panic!("{path} is {other:?}"),
        }
    }

    #[test]
    fn paths_name_files_checksums_and_metadata() {
        let jar = file("com/acme/greet/1.0/greet-1.0.jar");
        assert_eq!(
            (jar.group_id.as_str(), jar.artifact_id.as_str(), jar.version.as_str()),
            ("com.acme", "greet", "1.0")
        );
        assert_eq!(jar.name(), "com.acme:greet");
        let sha1 = parse_path("com/acme/greet/1.0/greet-1.0-sources.jar.sha1").unwrap();
        assert_eq!(sha1.checksum, Some(Checksum::Sha1));
        assert_eq!(
            parse_path("com/acme/greet/maven-metadata.xml.sha512").unwrap(),
            RepoPath {
                target: Target::Metadata(vec!["com".into(), "acme".into(), "greet".into()]),
                checksum: Some(Checksum::Sha512)
            }
        );
        for bad in [
            "greet/1.0/greet-1.0.jar",
            "com/acme/greet/1.0/other-1.0.jar",
            "com/acme/greet/1.0/greet-1.1.jar",
            "com/acme/greet/1.0/greet-1.0.1.jar",
            "com/acme/greet/1.0/greet-1.0-20261129.120000-1.jar",
            "com/../greet/1.0/greet-1.0.jar",
            "com/acme/greet/1.0/greet-1.0",
            "com/acme/greet/1.0-SNAPSHOT/greet-1.0-2026.jar",
            "com/acme/gr#eet/1.0/gr#eet-1.0.jar",
            "maven-metadata.xml",
        ] {
            assert!(parse_path(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn file_names_give_build_classifier_and_extension() {
        let name = file_name(&file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-20261129.120000-3-sources.jar")).unwrap();
        assert_eq!(name.build, Some(Build { timestamp: "20261129.120000".into(), number: 3 }));
        assert_eq!((name.classifier.as_deref(), name.extension.as_str()), (Some("sources"), "jar"));
        let name = file_name(&file("com/acme/greet/1.0/greet-1.0.jar.asc")).unwrap();
        assert_eq!((name.build, name.classifier, name.extension.as_str()), (None, None, "jar.asc"));
        let bare = file_name(&file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-SNAPSHOT.pom")).unwrap();
        assert_eq!((bare.build, bare.extension.as_str()), (None, "pom"));
    }
}
