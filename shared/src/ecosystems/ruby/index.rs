//! The indexes gem and bundler read, rendered from one summary record per gem: the compact index
//! (`/versions`, `/info/{gem}`, `/names`) and the legacy Marshal indexes (`specs.4.8.gz` and friends).
//!
//! `/versions` is append-only, as bundler expects: each change of a gem appends a line (`name 1.1,-1.0 md5`)
//! stamped with a ULID, and the file is every gem's lines in stamp order, so a client that has the start of
//! the file fetches only the new end with `Range: bytes=N-`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::marshal::{Ruby, dump, gzip, spec_tuple};
use super::{is_prerelease, version_key};

/// The most `/versions` lines a gem keeps before they are compacted into one, which bounds its summary record
/// (DynamoDB items stop at 400 KB) at the price of one full download of `/versions` per compaction.
pub const MAX_LINES: usize = 100;

/// One installable (not yanked) version of a gem as the indexes list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedVersion {
    pub number: String,
    pub platform: String,
    /// Its `/info/{gem}` line.
    pub info: String,
}

impl IndexedVersion {
    fn key(&self) -> String {
        version_key(&self.number, &self.platform)
    }
}

/// What the indexes know of one gem: kept up to date on every publish, yank and delete of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemSummary {
    pub name: String,
    /// Installable versions, oldest first.
    pub versions: Vec<IndexedVersion>,
    /// The MD5 of `/info/{gem}` as it is now.
    pub info_md5: String,
    /// This gem's lines of `/versions`: (ULID of the change, line).
    pub lines: Vec<(String, String)>,
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

impl GemSummary {
    /// The summary after the gem's installable versions became `versions`, with a `/versions` line
    /// stamped `stamp` when anything a client sees changed; `None` when nothing did.
    pub fn updated(&self, name: &str, versions: Vec<IndexedVersion>, stamp: String) -> Option<Self> {
        let info_md5 = md5_hex(info(&versions).as_bytes());
        let before: BTreeSet<String> = self.versions.iter().map(IndexedVersion::key).collect();
        let after: BTreeSet<String> = versions.iter().map(IndexedVersion::key).collect();
        if before == after && self.info_md5 == info_md5 {
            return None;
        }
        let added = versions.iter().map(IndexedVersion::key).filter(|key| !before.contains(key));
        let removed = self.versions.iter().map(IndexedVersion::key).filter(|key| !after.contains(key));
        let changes: Vec<String> = added.chain(removed.map(|key| format!("-{key}"))).collect();
        let mut lines = self.lines.clone();
        if lines.len() >= MAX_LINES {
            // Compacted into one line: the file's prefix changes once, and clients fetch it whole once.
            let all: Vec<String> = versions.iter().map(IndexedVersion::key).collect();
            lines = vec![(stamp, format!("{name} {} {info_md5}", all.join(",")))];
        } else {
            lines.push((stamp, format!("{name} {} {info_md5}", changes.join(","))));
        }
        Some(Self { name: name.to_owned(), versions, info_md5, lines })
    }
}

/// `/info/{gem}`: a `---` line, then one line per installable version, oldest first.
pub fn info(versions: &[IndexedVersion]) -> String {
    let mut out = String::from("---\n");
    for version in versions {
        out.push_str(&version.info);
        out.push('\n');
    }
    out
}

/// `/versions`: the header, then every gem's lines in the order they were appended.
pub fn versions_file(created_at: &str, gems: &[GemSummary]) -> String {
    let mut lines: Vec<&(String, String)> = gems.iter().flat_map(|gem| &gem.lines).collect();
    lines.sort();
    let mut out = format!("created_at: {created_at}\n---\n");
    for (_, line) in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `/names`: every gem with an installable version, sorted.
pub fn names(gems: &[GemSummary]) -> String {
    let names: BTreeSet<&str> =
        gems.iter().filter(|gem| !gem.versions.is_empty()).map(|gem| gem.name.as_str()).collect();
    let mut out = String::from("---\n");
    for name in names {
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// Which legacy specs index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Specs {
    /// Every release (non-prerelease) version: `specs.4.8.gz`.
    Released,
    /// The newest release of each gem and platform: `latest_specs.4.8.gz`.
    Latest,
    /// Every prerelease version: `prerelease_specs.4.8.gz`.
    Prerelease,
}

/// A specs index, gzipped Marshal of `[[name, Gem::Version, platform], ...]`.
pub fn specs(gems: &[GemSummary], which: Specs) -> Vec<u8> {
    let mut tuples = Vec::new();
    for gem in gems {
        let wanted = gem.versions.iter().filter(|v| is_prerelease(&v.number) == (which == Specs::Prerelease));
        if which == Specs::Latest {
            let mut latest: BTreeMap<&str, &IndexedVersion> = BTreeMap::new();
            for version in wanted {
                let entry = latest.entry(version.platform.as_str()).or_insert(version);
                if compare_versions(&version.number, &entry.number) == Ordering::Greater {
                    *entry = version;
                }
            }
            tuples.extend(latest.values().map(|v| spec_tuple(&gem.name, &v.number, &v.platform)));
        } else {
            tuples.extend(wanted.map(|v| spec_tuple(&gem.name, &v.number, &v.platform)));
        }
    }
    gzip(&dump(&Ruby::Array(tuples)))
}

/// A segment of a gem version: numbers and letter runs, as `Gem::Version#segments` splits them.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Number(u64),
    Letters(&'a str),
}

fn segments(number: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in number.split('.') {
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.bytes().next().is_some_and(|b| b.is_ascii_digit());
            let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(end);
            out.push(if digits { Segment::Number(run.parse().unwrap_or(u64::MAX)) } else { Segment::Letters(run) });
            rest = tail;
        }
    }
    // Trailing zeros do not count: 1.0 == 1.0.0.
    while matches!(out.last(), Some(Segment::Number(0))) {
        out.pop();
    }
    out
}

/// `Gem::Version#<=>`: segment by segment, a letter segment (a prerelease) below any number.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (segments(a), segments(b));
    for index in 0..a.len().max(b.len()) {
        let order = match (a.get(index), b.get(index)) {
            (Some(Segment::Number(x)), Some(Segment::Number(y))) => x.cmp(y),
            (Some(Segment::Letters(x)), Some(Segment::Letters(y))) => x.cmp(y),
            (Some(Segment::Letters(_)), Some(Segment::Number(_))) => Ordering::Less,
            (Some(Segment::Number(_)), Some(Segment::Letters(_))) => Ordering::Greater,
            (Some(Segment::Number(x)), None) => x.cmp(&0),
            (None, Some(Segment::Number(y))) => 0.cmp(y),
            (Some(Segment::Letters(_)), None) => Ordering::Less,
            (None, Some(Segment::Letters(_))) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(number: &str) -> IndexedVersion {
        IndexedVersion { number: number.into(), platform: "ruby".into(), info: format!("{number} |checksum:00") }
    }

    #[test]
    fn versions_sort_as_rubygems_sorts_them() {
        let mut all = vec!["2.0", "1.0.rc1", "1.10", "1.0", "2.0.0.pre", "1.9", "1.0.a"];
        all.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(all, ["1.0.a", "1.0.rc1", "1.0", "1.9", "1.10", "2.0.0.pre", "2.0"]);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn each_change_appends_a_line_and_the_file_only_grows() {
        let first = GemSummary::default().updated("a", vec![version("1.0")], "01A".into()).unwrap();
        let file = versions_file("2026-01-01T00:00:00Z", std::slice::from_ref(&first));
        assert!(file.ends_with(&format!("---\na 1.0 {}\n", first.info_md5)), "{file}");
        assert!(first.updated("a", vec![version("1.0")], "01B".into()).is_none(), "nothing changed");
        let second = first.updated("a", vec![version("1.0"), version("1.1")], "01B".into()).unwrap();
        let yanked = second.updated("a", vec![version("1.1")], "01D".into()).unwrap();
        let other = GemSummary::default().updated("b", vec![version("0.1")], "01C".into()).unwrap();
        let grown = versions_file("2026-01-01T00:00:00Z", &[yanked.clone(), other]);
        assert!(grown.starts_with(&file), "{grown}");
        let tail: Vec<&str> = grown.lines().skip(3).map(|l| l.rsplit_once(' ').unwrap().0).collect();
        assert_eq!(tail, ["a 1.1", "b 0.1", "a -1.0"]);
        assert_eq!(info(&yanked.versions), "---\n1.1 |checksum:00\n");
    }

    #[test]
    fn a_gem_with_many_changes_is_compacted_into_one_line_of_what_is_installable() {
        let mut gem = GemSummary::default();
        for index in 0..=MAX_LINES {
            let versions = (0..=index).map(|v| version(&format!("1.{v}"))).collect();
            gem = gem.updated("a", versions, format!("{index:04}")).unwrap();
        }
        assert_eq!(gem.lines.len(), 1);
        let (_, line) = &gem.lines[0];
        assert!(line.starts_with("a 1.0,1.1,") && line.contains(&format!(",1.{MAX_LINES} ")), "{line}");
    }

    #[test]
    fn legacy_specs_split_releases_latest_and_prereleases() {
        let gem = GemSummary {
            name: "a".into(),
            versions: vec![version("1.0"), version("1.2"), version("2.0.rc1")],
            ..GemSummary::default()
        };
        let unzip = |bytes: Vec<u8>| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut out).unwrap();
            out
        };
        let latest = unzip(specs(std::slice::from_ref(&gem), Specs::Latest));
        assert_eq!(latest, dump(&Ruby::Array(vec![spec_tuple("a", "1.2", "ruby")])));
        let pre = unzip(specs(std::slice::from_ref(&gem), Specs::Prerelease));
        assert_eq!(pre, dump(&Ruby::Array(vec![spec_tuple("a", "2.0.rc1", "ruby")])));
    }
}
