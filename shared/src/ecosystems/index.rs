//! Index entries: each version's part of the documents a client reads for a whole name (npm's packument, full
//! and abbreviated; PyPI's simple page as JSON and as HTML; a cargo index file), rendered when the version is
//! published, yanked or given a file, and stored beside it. A read then joins stored text without decoding
//! any version, so its cost grows with the bytes it sends, not with parsing every version record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::names::Ecosystem;
use crate::domain::package::Package;

/// npm: the version manifest of the full packument (without its readme, which the packument keeps once).
pub const NPM_FULL: &str = "full";
/// npm: the version manifest of the abbreviated packument `npm install` asks for.
pub const NPM_SHORT: &str = "short";
/// PyPI: the version's file objects of the PEP 691 page, comma-separated.
pub const PYPI_JSON: &str = "json";
/// PyPI: the version's links of the PEP 503 page, each followed by `<br>\n`.
pub const PYPI_HTML: &str = "html";
/// cargo: the version's line of its sparse index file, with its newline.
pub const CARGO_LINE: &str = "line";

/// The fields of a version manifest that the abbreviated packument keeps (npm's registry API document).
const NPM_INSTALL_FIELDS: &[&str] = &[
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "os",
    "cpu",
    "deprecated",
    "funding",
    "license",
    "_hasShrinkwrap",
    "hasInstallScript",
];

/// One version's renderings, as stored in its index entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub version: String,
    pub published: DateTime<Utc>,
    /// Renderings by name, each cut where the request's base URL goes: a URL depends on the host a client
    /// used, so it is filled in at read time (escaped for the rendering's syntax by the caller).
    pub parts: BTreeMap<String, Vec<String>>,
}

impl IndexEntry {
    /// Appends the rendering `name` to `out` with `base` between its parts; false when there is none or it is
    /// empty.
    pub fn write(&self, name: &str, base: &str, out: &mut Vec<u8>) -> bool {
        let Some(parts) = self.parts.get(name).filter(|parts| parts.iter().any(|part| !part.is_empty())) else {
            return false;
        };
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                out.extend_from_slice(base.as_bytes());
            }
            out.extend_from_slice(part.as_bytes());
        }
        true
    }

    /// The stored size of the renderings, to keep an entry within one store item.
    pub fn size(&self) -> usize {
        self.parts.values().flatten().map(String::len).sum()
    }
}

/// Whether versions of `ecosystem` have index entries.
pub fn has_index(ecosystem: Ecosystem) -> bool {
    matches!(ecosystem, Ecosystem::Npm | Ecosystem::Python | Ecosystem::Cargo)
}

/// A version's index entry in `ecosystem`, `None` for an ecosystem whose index is built another way.
/// `yanked` is the reason a version was yanked for (possibly empty), `None` when it is not.
pub fn render(ecosystem: Ecosystem, package: &Package, yanked: Option<&str>) -> Option<IndexEntry> {
    // A fresh random stand-in for the base URL: no published text can contain it, so cutting there is safe.
    let base = format!("base{}", ulid::Ulid::new());
    let rendered = match ecosystem {
        Ecosystem::Npm => npm(package, &base)?,
        Ecosystem::Python => python(package, yanked, &base),
        Ecosystem::Cargo => vec![(CARGO_LINE, cargo(package, yanked.is_some())?)],
        Ecosystem::Files | Ecosystem::Oci | Ecosystem::Ruby | Ecosystem::Maven | Ecosystem::Debian | Ecosystem::Rpm => {
            return None;
        }
    };
    let parts = rendered
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.split(base.as_str()).map(str::to_owned).collect()))
        .collect();
    Some(IndexEntry { version: package.version.clone(), published: package.created_at, parts })
}

/// The file name npm gives a version's tarball: the unscoped name, a hyphen, the version.
pub fn npm_tarball_name(name: &str, version: &str) -> String {
    let bare = name.rsplit('/').next().unwrap_or(name);
    format!("{bare}-{version}.tgz")
}

/// One version's npm manifest: what the client published, with its name, id and `dist` pointing at `base`.
pub fn npm_manifest(base: &str, package: &Package) -> Option<Map<String, Value>> {
    let file = package.files.first()?;
    let mut manifest = match &package.metadata {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let (name, version) = (&package.name, &package.version);
    manifest.insert("name".into(), json!(name));
    manifest.insert("_id".into(), json!(format!("{name}@{version}")));
    manifest.insert(
        "dist".into(),
        json!({
            "tarball": format!("{base}/{name}/-/{}", npm_tarball_name(name, version)),
            "shasum": file.digests.sha1,
            "integrity": file.digests.integrity(),
        }),
    );
    manifest.insert("version".into(), json!(version));
    Some(manifest)
}

fn npm(package: &Package, base: &str) -> Option<Vec<(&'static str, String)>> {
    let mut manifest = npm_manifest(base, package)?;
    manifest.remove("readme");
    let full = Value::Object(manifest.clone()).to_string();
    manifest.retain(|field, _| NPM_INSTALL_FIELDS.contains(&field.as_str()));
    Some(vec![(NPM_FULL, full), (NPM_SHORT, Value::Object(manifest).to_string())])
}

/// Escapes text for an HTML attribute or element.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn python(package: &Package, yanked: Option<&str>, base: &str) -> Vec<(&'static str, String)> {
    let yanked_flag = yanked.map_or(json!(false), |reason| json!(reason));
    let (mut files, mut links) = (Vec::new(), String::new());
    for file in &package.files {
        let url = format!("{base}/files/{}/{}", package.id, file.filename);
        let about = &package.metadata["files"][&file.filename];
        let requires_python = about["requires_python"].as_str().filter(|r| !r.is_empty());
        files.push(
            json!({
                "filename": file.filename, "url": url, "hashes": {"sha256": file.digests.sha256},
                "requires-python": requires_python, "yanked": yanked_flag, "size": file.size,
                "upload-time": about["uploaded_at"],
            })
            .to_string(),
        );
        links.push_str(&format!("<a href=\"{}#sha256={}\"", escape_html(&url), file.digests.sha256));
        if let Some(requires_python) = requires_python {
            links.push_str(&format!(" data-requires-python=\"{}\"", escape_html(requires_python)));
        }
        if let Some(reason) = yanked {
            links.push_str(&format!(" data-yanked=\"{}\"", escape_html(reason)));
        }
        links.push_str(&format!(">{}</a><br>\n", escape_html(&file.filename)));
    }
    vec![(PYPI_JSON, files.join(",")), (PYPI_HTML, links)]
}

fn cargo(package: &Package, yanked: bool) -> Option<String> {
    let file = package.files.first()?;
    let mut line = package.metadata.clone();
    line["vers"] = json!(package.version);
    line["cksum"] = json!(file.digests.sha256);
    line["yanked"] = json!(yanked);
    Some(format!("{line}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::Actor;
    use crate::domain::package::{Digests, PackageFile};

    fn package(metadata: Value) -> Package {
        Package {
            id: "01HZY0000000000000000000AB".into(),
            registry_id: "r".into(),
            name: "@acme/ui".into(),
            version: "1.0.0".into(),
            files: vec![PackageFile {
                filename: "ui-1.0.0.tgz".into(),
                size: 3,
                digests: Digests::of(b"abc"),
                storage: serde_json::from_value(json!("hosted")).unwrap(),
                key: "k".into(),
            }],
            created_at: Utc::now(),
            creator: Actor { kind: "system".into(), id: "system".into(), name: "test".into() },
            metadata,
        }
    }

    fn filled(entry: &IndexEntry, name: &str, base: &str) -> String {
        let mut out = Vec::new();
        assert!(entry.write(name, base, &mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn npm_entries_take_the_base_url_at_read_time_and_leave_the_readme_out() {
        let metadata = json!({"readme": "long", "scripts": {"t": "x"}, "dependencies": {"a": "1"}});
        let entry = render(Ecosystem::Npm, &package(metadata), None).unwrap();
        let full: Value = serde_json::from_str(&filled(&entry, NPM_FULL, "http://h/npm/o/r")).unwrap();
        assert_eq!(full["dist"]["tarball"], "http://h/npm/o/r/@acme/ui/-/ui-1.0.0.tgz");
        assert!(full.get("readme").is_none() && full["scripts"]["t"] == "x", "{full}");
        let short: Value = serde_json::from_str(&filled(&entry, NPM_SHORT, "http://x")).unwrap();
        assert!(short.get("scripts").is_none() && short["dependencies"]["a"] == "1", "{short}");
    }

    #[test]
    fn text_that_looks_like_a_placeholder_is_kept_as_published() {
        let entry = render(Ecosystem::Npm, &package(json!({"description": "base01HZY base"})), None).unwrap();
        let full: Value = serde_json::from_str(&filled(&entry, NPM_FULL, "B")).unwrap();
        assert_eq!(full["description"], "base01HZY base");
    }

    #[test]
    fn python_and_cargo_entries_carry_the_yanked_flag() {
        let entry = render(Ecosystem::Python, &package(json!({})), Some("broken <b>")).unwrap();
        assert!(filled(&entry, PYPI_HTML, "http://h").contains("data-yanked=\"broken &lt;b&gt;\""));
        let file: Value = serde_json::from_str(&filled(&entry, PYPI_JSON, "http://h")).unwrap();
        assert_eq!(file["yanked"], "broken <b>");
        let line = filled(&render(Ecosystem::Cargo, &package(json!({"name": "ui"})), None).unwrap(), CARGO_LINE, "");
        assert!(line.ends_with("\"yanked\":false}\n"), "{line}");
        assert!(render(Ecosystem::Maven, &package(json!({})), None).is_none());
    }
}
