//! The repodata dnf reads, rendered from header records alone: `primary.xml`, `filelists.xml` and
//! `other.xml` (gzipped, each named by its SHA-256: `repodata/{sha256}-primary.xml.gz`) and the `repomd.xml`
//! that lists them, in the shapes createrepo_c writes. The same records give the same bytes, so an unchanged
//! registry renders an unchanged, already signed `repomd.xml`.

use std::fmt::Write as _;
use std::io::Write as _;

use sha2::{Digest as _, Sha256};

use super::{Dependency, RpmHeader};

/// One package as the repodata lists it: its header record and where and what its file is.
#[derive(Debug, Clone)]
pub struct RepoEntry {
    pub header: RpmHeader,
    /// The path under the repository root dnf fetches the package from.
    pub location: String,
    pub sha256: String,
    pub size: u64,
    /// When the version was published, seconds since the epoch (`<time file=...>`).
    pub time: u64,
}

/// One gzipped metadata file and the digests `repomd.xml` gives for it.
#[derive(Debug, Clone)]
pub struct RepoFile {
    /// `primary`, `filelists` or `other`.
    pub kind: &'static str,
    pub gz: Vec<u8>,
    pub sha256: String,
    pub open_sha256: String,
    pub open_size: usize,
}

impl RepoFile {
    /// Its path under the repository root, unique to its content.
    pub fn location(&self) -> String {
        format!("repodata/{}-{}.xml.gz", self.sha256, self.kind)
    }
}

/// A rendered repository: `repomd.xml` and the files it lists.
#[derive(Debug, Clone)]
pub struct Repodata {
    pub repomd: String,
    pub files: Vec<RepoFile>,
}

/// Text escaped for XML, without the control characters XML 1.0 cannot carry.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn version_element(out: &mut String, header: &RpmHeader) {
    let _ = writeln!(
        out,
        "  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
        header.epoch,
        escape(&header.version),
        escape(&header.release)
    );
}

fn dependency_list(out: &mut String, element: &str, list: &[Dependency]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "    <rpm:{element}>");
    for dep in list {
        let _ = write!(out, "      <rpm:entry name=\"{}\"", escape(&dep.name));
        if let Some(flags) = &dep.flags {
            let _ = write!(out, " flags=\"{flags}\"");
            for (attribute, value) in [("epoch", &dep.epoch), ("ver", &dep.ver), ("rel", &dep.rel)] {
                if let Some(value) = value {
                    let _ = write!(out, " {attribute}=\"{}\"", escape(value));
                }
            }
        }
        if dep.pre {
            out.push_str(" pre=\"1\"");
        }
        out.push_str("/>\n");
    }
    let _ = writeln!(out, "    </rpm:{element}>");
}

/// The files primary.xml lists (createrepo_c's rule): those under `/etc/`, in a `bin/` directory, and
/// `/usr/lib/sendmail`; filelists.xml lists them all.
fn in_primary(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

fn file_element(out: &mut String, indent: &str, file: &super::FileEntry) {
    match &file.kind {
        Some(kind) => {
            let _ = writeln!(out, "{indent}<file type=\"{kind}\">{}</file>", escape(&file.path));
        }
        None => {
            let _ = writeln!(out, "{indent}<file>{}</file>", escape(&file.path));
        }
    }
}

fn primary_package(out: &mut String, entry: &RepoEntry) {
    let h = &entry.header;
    let _ =
        writeln!(out, "<package type=\"rpm\">\n  <name>{}</name>\n  <arch>{}</arch>", escape(&h.name), escape(&h.arch));
    version_element(out, h);
    let _ = writeln!(
        out,
        "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>\n  <summary>{}</summary>\n  <description>{}</description>\n  <packager>{}</packager>\n  <url>{}</url>",
        entry.sha256,
        escape(&h.summary),
        escape(&h.description),
        escape(&h.packager),
        escape(&h.url)
    );
    let _ = writeln!(
        out,
        "  <time file=\"{}\" build=\"{}\"/>\n  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>\n  <location href=\"{}\"/>",
        entry.time,
        h.build_time,
        entry.size,
        h.installed_size,
        h.archive_size,
        escape(&entry.location)
    );
    let _ = writeln!(
        out,
        "  <format>\n    <rpm:license>{}</rpm:license>\n    <rpm:vendor>{}</rpm:vendor>\n    <rpm:group>{}</rpm:group>\n    <rpm:buildhost>{}</rpm:buildhost>\n    <rpm:sourcerpm>{}</rpm:sourcerpm>\n    <rpm:header-range start=\"{}\" end=\"{}\"/>",
        escape(&h.license),
        escape(&h.vendor),
        escape(&h.group),
        escape(&h.buildhost),
        escape(&h.sourcerpm),
        h.header_start,
        h.header_end
    );
    dependency_list(out, "provides", &h.provides);
    dependency_list(out, "requires", &h.requires);
    dependency_list(out, "conflicts", &h.conflicts);
    dependency_list(out, "obsoletes", &h.obsoletes);
    for file in h.files.iter().filter(|f| in_primary(&f.path)) {
        file_element(out, "    ", file);
    }
    out.push_str("  </format>\n</package>\n");
}

fn package_intro(out: &mut String, entry: &RepoEntry) {
    let _ = writeln!(
        out,
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">",
        entry.sha256,
        escape(&entry.header.name),
        escape(&entry.header.arch)
    );
    version_element(out, &entry.header);
}

/// `primary.xml`: every package with its dependencies and its primary files.
pub fn primary_xml(entries: &[RepoEntry]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        entries.len()
    );
    for entry in entries {
        primary_package(&mut out, entry);
    }
    out.push_str("</metadata>\n");
    out
}

/// `filelists.xml`: every package's files.
pub fn filelists_xml(entries: &[RepoEntry]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{}\">\n",
        entries.len()
    );
    for entry in entries {
        package_intro(&mut out, entry);
        for file in &entry.header.files {
            file_element(&mut out, "  ", file);
        }
        out.push_str("</package>\n");
    }
    out.push_str("</filelists>\n");
    out
}

/// `other.xml`: every package's changelog.
pub fn other_xml(entries: &[RepoEntry]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{}\">\n",
        entries.len()
    );
    for entry in entries {
        package_intro(&mut out, entry);
        for log in &entry.header.changelogs {
            let _ = writeln!(
                out,
                "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
                escape(&log.author),
                log.date,
                escape(&log.text)
            );
        }
        out.push_str("</package>\n");
    }
    out.push_str("</otherdata>\n");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // Writing into a Vec cannot fail. The fast level: a registry's metadata is compressed on every change,
    // and level 6 takes four times as long for some 10% less.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

fn repo_file(kind: &'static str, xml: &str) -> RepoFile {
    let gz = gzip(xml.as_bytes());
    RepoFile {
        kind,
        sha256: hex::encode(Sha256::digest(&gz)),
        open_sha256: hex::encode(Sha256::digest(xml.as_bytes())),
        open_size: xml.len(),
        gz,
    }
}

/// `repomd.xml` listing `files`; `revision` also stands for each file's timestamp, so the same files give
/// the same bytes.
pub fn repomd_xml(revision: u64, files: &[RepoFile]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>{revision}</revision>\n"
    );
    for file in files {
        let _ = writeln!(
            out,
            "  <data type=\"{}\">\n    <checksum type=\"sha256\">{}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"{}\"/>\n    <timestamp>{revision}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>",
            file.kind,
            file.sha256,
            file.open_sha256,
            file.location(),
            file.gz.len(),
            file.open_size
        );
    }
    out.push_str("</repomd>\n");
    out
}

/// The three metadata documents of a repository, before compression, and a digest that tells whether they
/// changed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub revision: u64,
    documents: [(&'static str, String); 3],
    /// SHA-256 over the revision and the documents: equal fingerprints give the same repodata.
    pub fingerprint: String,
}

impl Rendered {
    /// Compresses the documents and writes the `repomd.xml` that lists them.
    pub fn pack(&self) -> Repodata {
        let files: Vec<RepoFile> = self.documents.iter().map(|(kind, xml)| repo_file(kind, xml)).collect();
        Repodata { repomd: repomd_xml(self.revision, &files), files }
    }
}

/// Renders the repository: entries sorted by name, version and architecture for stable bytes; the revision
/// is the newest publication time.
pub fn render(mut entries: Vec<RepoEntry>) -> Rendered {
    entries.sort_by(|a, b| {
        (&a.header.name, a.header.evr(), &a.header.arch).cmp(&(&b.header.name, b.header.evr(), &b.header.arch))
    });
    let revision = entries.iter().map(|e| e.time).max().unwrap_or(0);
    let documents =
        [("primary", primary_xml(&entries)), ("filelists", filelists_xml(&entries)), ("other", other_xml(&entries))];
    let mut digest = Sha256::new_with_prefix(revision.to_be_bytes());
    for (_, xml) in &documents {
        digest.update(xml.len().to_be_bytes());
        digest.update(xml.as_bytes());
    }
    Rendered { revision, documents, fingerprint: hex::encode(digest.finalize()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystems::rpm::read_rpm;
    use crate::ecosystems::rpm::tests::{APP, LIB};

    fn entry(file: &[u8]) -> RepoEntry {
        let header = read_rpm(file).unwrap();
        RepoEntry {
            location: format!("Packages/{}", header.file_name()),
            sha256: "ab".repeat(32),
            size: 10,
            time: 7,
            header,
        }
    }

    #[test]
    fn primary_lists_dependencies_with_flags_and_only_primary_files() {
        let primary = primary_xml(&[entry(APP), entry(LIB)]);
        assert!(primary.contains("packages=\"2\""), "{primary}");
        for expected in [
            "<rpm:entry name=\"hello-lib\" flags=\"GE\" epoch=\"0\" ver=\"1.0\"/>",
            "<rpm:entry name=\"hello-app\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\" rel=\"1\"/>",
            "<rpm:header-range start=\"4504\" end=\"5997\"/>",
            "<file>/usr/bin/hello-app</file>",
        ] {
            assert!(primary.contains(expected), "{expected} is missing from {primary}");
        }
        assert!(!primary.contains("/usr/share/hello-lib/greeting"), "only /etc and bin files are primary: {primary}");
        assert!(!primary.contains("rpmlib("), "{primary}");
        let filelists = filelists_xml(&[entry(LIB)]);
        assert!(filelists.contains("<file>/usr/share/hello-lib/greeting</file>"), "{filelists}");
        let other = other_xml(&[entry(LIB)]);
        let changelog =
            "<changelog author=\"Acme &lt;dev@acme.test&gt; - 1.0-1\" date=\"1795953600\">- First</changelog>";
        assert!(other.contains(changelog), "{other}");
    }

    #[test]
    fn the_same_records_render_the_same_repomd_and_files_are_named_by_their_digest() {
        let first = render(vec![entry(LIB), entry(APP)]);
        let again = render(vec![entry(APP), entry(LIB)]);
        assert_eq!(first.fingerprint, again.fingerprint);
        let (first, again) = (first.pack(), again.pack());
        assert_eq!(first.repomd, again.repomd);
        assert!(first.repomd.contains(&format!("repodata/{}-primary.xml.gz", first.files[0].sha256)));
        let fewer = render(vec![entry(APP)]).pack();
        assert_ne!(first.repomd, fewer.repomd);
        assert_eq!(escape("a<b & \u{1}c"), "a&lt;b &amp; c");
    }
}
