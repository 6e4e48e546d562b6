//! The Maven 2 repository layout: what a path under a repository names (an artifact file, a checksum of
//! one, a `maven-metadata.xml`), the file names a version may hold (timestamped SNAPSHOT builds included),
//! Maven's version order, and the metadata documents Packyard renders from what it stores instead of
//! trusting the client's.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};

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

/// The most of a pom that is read: poms are small, and only their coordinates are wanted.
pub const POM_LIMIT: u64 = 4 * 1024 * 1024;

/// Checks that a deployed pom names the coordinates it is deployed under: its `artifactId`, and its
/// `groupId` and `version` (or its parent's, which it inherits). A value that is a property (`${revision}`)
/// is left to the build that resolves it.
///
/// # Errors
/// When the pom is not XML, has no `<project>` or `artifactId`, or names other coordinates.
pub fn check_pom(text: &str, coordinates: &Coordinates) -> Result<(), InvalidValue> {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let mut stack: Vec<&str> = Vec::new();
    let (mut own, mut parent) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    for token in Tokenizer::from(text) {
        match token.map_err(|e| invalid(format!("the pom is not well-formed XML: {e}")))? {
            Token::ElementStart { local, .. } if stack.len() < 64 => stack.push(local.as_str()),
            Token::ElementStart { .. } => return Err(invalid("the pom nests deeper than 64 elements".into())),
            Token::ElementEnd { end: ElementEnd::Empty, .. } => {
                stack.pop();
            }
            // A tokenizer does not match tags; this does, so a truncated or garbled pom is refused.
            Token::ElementEnd { end: ElementEnd::Close(_, local), .. } if stack.pop() != Some(local.as_str()) => {
                return Err(invalid(format!("the pom is not well-formed XML: </{local}> closes no open element")));
            }
            Token::Text { text } => match stack.as_slice() {
                ["project", field] => {
                    own.insert(*field, text.as_str().trim());
                }
                ["project", "parent", field] => {
                    parent.insert(*field, text.as_str().trim());
                }
                _ => {}
            },
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(invalid(format!("the pom is not well-formed XML: <{}> is never closed", stack.join("><"))));
    }
    let field = |name: &str| own.get(name).or_else(|| parent.get(name)).copied().filter(|v| !v.contains("${"));
    let Some(artifact_id) = own.get("artifactId") else {
        return Err(invalid("the pom has no <project> with an <artifactId>".into()));
    };
    let expected = [
        ("artifactId", Some(*artifact_id), coordinates.artifact_id.as_str()),
        ("groupId", field("groupId"), coordinates.group_id.as_str()),
        ("version", field("version"), coordinates.version.as_str()),
    ];
    for (name, found, wanted) in expected {
        if let Some(found) = found.filter(|found| found != &wanted) {
            return Err(invalid(format!(
                "the pom's {name} is {found:?} but it is deployed as {wanted:?}: {}:{}:{} must match the path",
                coordinates.group_id, coordinates.artifact_id, coordinates.version
            )));
        }
    }
    Ok(())
}

pub fn is_snapshot(version: &str) -> bool {
    version.ends_with(SNAPSHOT)
}

/// One token of a version, as Maven's `ComparableVersion` reads it.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    Number(String),
    Qualifier(String),
}

fn items(version: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    let push = |current: &mut String, digits: bool, items: &mut Vec<Item>| {
        if !current.is_empty() {
            let text = std::mem::take(current);
            items.push(if digits {
                Item::Number(text.trim_start_matches('0').to_owned())
            } else {
                Item::Qualifier(text)
            });
        }
    };
    for c in version.to_ascii_lowercase().chars() {
        if c == '.' || c == '-' {
            push(&mut current, digits, &mut items);
        } else {
            if !current.is_empty() && c.is_ascii_digit() != digits {
                push(&mut current, digits, &mut items);
            }
            digits = c.is_ascii_digit();
            current.push(c);
        }
    }
    push(&mut current, digits, &mut items);
    items
}

/// Where a qualifier sorts: pre-releases before the release, known ones in Maven's order, others after.
fn qualifier_rank(qualifier: &str) -> (u8, &str) {
    match qualifier {
        "alpha" | "a" => (0, ""),
        "beta" | "b" => (1, ""),
        "milestone" | "m" => (2, ""),
        "rc" | "cr" => (3, ""),
        "snapshot" => (4, ""),
        "" | "ga" | "final" | "release" => (5, ""),
        "sp" => (6, ""),
        other => (7, other),
    }
}

fn compare_items(a: Option<&Item>, b: Option<&Item>) -> Ordering {
    let number = |n: &str| (n.len(), n.to_owned());
    match (a, b) {
        (Some(Item::Number(x)), Some(Item::Number(y))) => number(x).cmp(&number(y)),
        (Some(Item::Number(x)), None) => number(x).cmp(&number("")),
        (None, Some(Item::Number(y))) => number("").cmp(&number(y)),
        (Some(Item::Number(_)), Some(Item::Qualifier(_))) => Ordering::Greater,
        (Some(Item::Qualifier(_)), Some(Item::Number(_))) => Ordering::Less,
        (Some(Item::Qualifier(x)), Some(Item::Qualifier(y))) => qualifier_rank(x).cmp(&qualifier_rank(y)),
        (Some(Item::Qualifier(x)), None) => qualifier_rank(x).cmp(&qualifier_rank("")),
        (None, Some(Item::Qualifier(y))) => qualifier_rank("").cmp(&qualifier_rank(y)),
        (None, None) => Ordering::Equal,
    }
}

/// Maven's order of versions: `1.0-alpha < 1.0-rc1 < 1.0-SNAPSHOT < 1.0 < 1.0.1 < 1.10`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (items(a), items(b));
    (0..a.len().max(b.len()))
        .map(|i| compare_items(a.get(i), b.get(i)))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Maven's `lastUpdated` form, `yyyyMMddHHmmss` in UTC.
pub fn last_updated(time: DateTime<Utc>) -> String {
    time.format("%Y%m%d%H%M%S").to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An artifact's `maven-metadata.xml`: every version in Maven's order, the highest as `latest`, the highest
/// release as `release`.
pub fn artifact_metadata(group_id: &str, artifact_id: &str, versions: &[String], updated: DateTime<Utc>) -> String {
    let mut sorted: Vec<&String> = versions.iter().collect();
    sorted.sort_by(|a, b| compare_versions(a, b));
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <versioning>\n",
        escape(group_id),
        escape(artifact_id)
    );
    if let Some(latest) = sorted.last() {
        xml.push_str(&format!("    <latest>{}</latest>\n", escape(latest)));
    }
    if let Some(release) = sorted.iter().rev().find(|v| !is_snapshot(v)) {
        xml.push_str(&format!("    <release>{}</release>\n", escape(release)));
    }
    xml.push_str("    <versions>\n");
    for version in &sorted {
        xml.push_str(&format!("      <version>{}</version>\n", escape(version)));
    }
    xml.push_str(&format!(
        "    </versions>\n    <lastUpdated>{}</lastUpdated>\n  </versioning>\n</metadata>\n",
        last_updated(updated)
    ));
    xml
}

/// The newest build among a SNAPSHOT version's files, and for each classifier and extension the newest
/// file's build: what its `maven-metadata.xml` lists.
pub fn snapshot_builds(files: &[FileName]) -> (Option<Build>, Vec<&FileName>) {
    let mut newest: Vec<&FileName> = Vec::new();
    for file in files.iter().filter(|file| file.build.is_some()) {
        match newest.iter_mut().find(|kept| kept.classifier == file.classifier && kept.extension == file.extension) {
            Some(kept) if kept.build < file.build => *kept = file,
            Some(_) => {}
            None => newest.push(file),
        }
    }
    let build = newest.iter().filter_map(|file| file.build.clone()).max();
    (build, newest)
}

/// A SNAPSHOT version's `maven-metadata.xml` (model 1.1.0): its newest build and, per classifier and
/// extension, the newest file's value, as Maven resolves `-SNAPSHOT` to a timestamped file.
pub fn snapshot_metadata(coordinates: &Coordinates, files: &[FileName], updated: DateTime<Utc>) -> String {
    let base = coordinates.version.strip_suffix(SNAPSHOT).unwrap_or(&coordinates.version);
    let (build, newest) = snapshot_builds(files);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <version>{}</version>\n  <versioning>\n",
        escape(&coordinates.group_id),
        escape(&coordinates.artifact_id),
        escape(&coordinates.version)
    );
    if let Some(build) = &build {
        xml.push_str(&format!(
            "    <snapshot>\n      <timestamp>{}</timestamp>\n      <buildNumber>{}</buildNumber>\n    </snapshot>\n",
            build.timestamp, build.number
        ));
    }
    xml.push_str(&format!("    <lastUpdated>{}</lastUpdated>\n    <snapshotVersions>\n", last_updated(updated)));
    for file in newest {
        let Some(file_build) = &file.build else { continue };
        xml.push_str("      <snapshotVersion>\n");
        if let Some(classifier) = &file.classifier {
            xml.push_str(&format!("        <classifier>{}</classifier>\n", escape(classifier)));
        }
        let updated = NaiveDateTime::parse_from_str(&file_build.timestamp, "%Y%m%d.%H%M%S")
            .map_or_else(|_| file_build.timestamp.replace('.', ""), |t| t.format("%Y%m%d%H%M%S").to_string());
        xml.push_str(&format!(
            "        <extension>{}</extension>\n        <value>{}</value>\n        <updated>{updated}</updated>\n      </snapshotVersion>\n",
            escape(&file.extension),
            escape(&file_build.value(base))
        ));
    }
    xml.push_str("    </snapshotVersions>\n  </versioning>\n</metadata>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Coordinates {
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

    #[test]
    fn a_pom_must_name_the_coordinates_it_is_deployed_under() {
        let jar = file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-20261129.120000-1.pom");
        let own = "<project><groupId>com.acme</groupId><artifactId>greet</artifactId><version>1.0-SNAPSHOT</version></project>";
        assert!(check_pom(own, &jar).is_ok());
        let inherited = "<?xml version=\"1.0\"?><project xmlns=\"http://maven.apache.org/POM/4.0.0\"><parent><groupId>com.acme</groupId>\
            <artifactId>parent</artifactId><version>1.0-SNAPSHOT</version></parent><artifactId>greet</artifactId>\
            <dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId><version>2</version></dependency></dependencies></project>";
        assert!(check_pom(inherited, &jar).is_ok());
        assert!(check_pom(&own.replace("1.0-SNAPSHOT", "${revision}"), &jar).is_ok());
        for (bad, says) in [
            (own.replace(">greet<", ">other<"), "artifactId"),
            (own.replace("com.acme", "org.acme"), "groupId"),
            (own.replace("1.0-SNAPSHOT", "1.0"), "version"),
            ("<project/>".to_owned(), "artifactId"),
            ("<project><artifactId>greet</project>".to_owned(), "XML"),
        ] {
            let error = check_pom(&bad, &jar).unwrap_err();
            assert!(error.0.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn versions_sort_in_maven_order() {
        let mut versions =
            vec!["1.10", "1.0", "1.0-SNAPSHOT", "1.0-rc1", "1.0-alpha-2", "1.0.1", "1.2-beta", "1.0-sp1"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(versions, ["1.0-alpha-2", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1", "1.2-beta", "1.10"]);
        assert_eq!(compare_versions("1.0", "1"), Ordering::Equal);
    }

    #[test]
    fn metadata_names_latest_release_and_the_newest_snapshot_build() {
        let time = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().with_timezone(&Utc);
        let xml = artifact_metadata("com.acme", "greet", &["2.0-SNAPSHOT".into(), "1.0".into(), "1.1".into()], time);
        assert!(xml.contains("<latest>2.0-SNAPSHOT</latest>") && xml.contains("<release>1.1</release>"), "{xml}");
        assert!(xml.contains("<version>1.0</version>\n      <version>1.1</version>"), "{xml}");
        assert!(xml.contains("<lastUpdated>20261129120000</lastUpdated>"), "{xml}");
        let coordinates = file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-20261129.110000-1.jar");
        let files: Vec<FileName> = [
            "greet-1.0-20261129.110000-1.jar",
            "greet-1.0-20261129.120000-2.jar",
            "greet-1.0-20261129.120000-2.pom",
            "greet-1.0-20261129.110000-1-sources.jar",
        ]
        .iter()
        .map(|name| file_name(&Coordinates { filename: (*name).into(), ..coordinates.clone() }).unwrap())
        .collect();
        let xml = snapshot_metadata(&coordinates, &files, time);
        assert!(xml.contains("<timestamp>20261129.120000</timestamp>\n      <buildNumber>2</buildNumber>"), "{xml}");
        assert!(xml.contains("<extension>jar</extension>\n        <value>1.0-20261129.120000-2</value>"), "{xml}");
        assert!(xml.contains("<classifier>sources</classifier>"), "{xml}");
        assert!(
            xml.contains("<value>1.0-20261129.110000-1</value>\n        <updated>20261129110000</updated>"),
            "{xml}"
        );
    }
}
