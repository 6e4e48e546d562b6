//! npm's publish document and tarballs: a document carries one version's manifest and its tarball in
//! base64, and the tarball is a gzipped tar whose `package/package.json` names the package and its version.

use base64::Engine;
use serde_json::{Map, Value};

use crate::domain::names::{Ecosystem, InvalidValue};
use crate::domain::package::{Digests, DistTags, validate_name, validate_version};
use crate::ecosystems::archive::{is_top_level, tar_gz_entry_in};

/// The `package.json` inside an npm tarball. npm packs into `package/`, but some tools use another top
/// folder, and npm reads the manifest one level down whatever its folder is called.
///
/// # Errors
/// Says why the bytes are not an npm package tarball.
pub fn read_manifest(tarball: &[u8]) -> Result<Value, InvalidValue> {
    read_manifest_in(tarball)
}

/// [`read_manifest`] of a tarball read from `reader` (a spooled upload).
///
/// # Errors
/// As [`read_manifest`].
pub fn read_manifest_in(tarball: impl std::io::Read) -> Result<Value, InvalidValue> {
    let invalid = |why: String| InvalidValue(format!("the tarball is not an npm package: {why}"));
    let entry = tar_gz_entry_in(tarball, "package/package.json", |path| is_top_level(path, "package.json", |_| true))
        .map_err(|error| invalid(format!("the archive {error}")))?;
    serde_json::from_slice(&entry.bytes).map_err(|error| invalid(format!("package.json is not JSON: {error}")))
}

/// One version to publish, as its document describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub version: String,
    /// The version's manifest as the document sends it, without its `dist`.
    pub manifest: Map<String, Value>,
    /// The dist-tags to point at the version: the document's, or `latest`.
    pub tags: DistTags,
    /// The digests the document declares for its tarball (`dist.integrity`, `dist.shasum`).
    integrity: Option<String>,
    shasum: Option<String>,
}

/// Checks the document `npm publish` sends for `name`, apart from its tarball (which
/// [`crate::ecosystems::npm_attachment::split`] takes out as it streams): one version, one attachment,
/// dist-tags that only point at that version.
///
/// # Errors
/// Says which part of the document is wrong.
pub fn check_document(name: &str, document: &Value) -> Result<Publish, InvalidValue> {
    let invalid = |message: &str| InvalidValue(message.to_owned());
    validate_name(Ecosystem::Npm, name)?;
    if document["name"].as_str() != Some(name) {
        return Err(InvalidValue(format!("the document names {:?}, but was sent to {name}", document["name"])));
    }
    let versions = document["versions"]
        .as_object()
        .filter(|v| v.len() == 1)
        .ok_or_else(|| invalid("publish exactly one version at a time"))?;
    let (version, manifest) = versions.iter().next().map(|(v, m)| (v.clone(), m.clone())).unwrap_or_default();
    let version = validate_version(&version)?;
    if document["_attachments"].as_object().is_none_or(|a| a.len() != 1) {
        return Err(invalid("attach exactly one tarball"));
    }
    let mut tags: DistTags = serde_json::from_value(document["dist-tags"].clone()).unwrap_or_default();
    if tags.values().any(|tagged| *tagged != version) {
        return Err(invalid("dist-tags in a publish may only point at the version being published"));
    }
    if tags.is_empty() {
        tags.insert("latest".into(), version.clone());
    }
    let integrity = manifest["dist"]["integrity"].as_str().filter(|i| i.starts_with("sha512-")).map(str::to_owned);
    let shasum = manifest["dist"]["shasum"].as_str().map(str::to_owned);
    let mut manifest = manifest.as_object().cloned().unwrap_or_default();
    manifest.remove("dist");
    Ok(Publish { version, manifest, tags, integrity, shasum })
}

/// Checks the tarball of a publish, read from `tarball`, whose digests are `digests`. Nothing in the
/// document is trusted that the tarball can tell: its package.json must name the same package and version,
/// and its digests must be the ones the document declares.
///
/// # Errors
/// Says how the tarball and the document disagree.
pub fn check_tarball(
    name: &str,
    publish: &Publish,
    tarball: impl std::io::Read,
    digests: &Digests,
) -> Result<(), InvalidValue> {
    let invalid = |message: &str| InvalidValue(message.to_owned());
    let version = &publish.version;
    let inside = read_manifest_in(tarball)?;
    if inside["name"].as_str() != Some(name) || inside["version"].as_str() != Some(version.as_str()) {
        return Err(InvalidValue(format!(
            "the tarball's package.json is {}@{}, but the document publishes {name}@{version}",
            inside["name"].as_str().unwrap_or("?"),
            inside["version"].as_str().unwrap_or("?")
        )));
    }
    if publish.integrity.as_ref().is_some_and(|integrity| *integrity != digests.integrity()) {
        return Err(invalid("the tarball does not match the integrity the document declares"));
    }
    if publish.shasum.as_ref().is_some_and(|shasum| *shasum != digests.sha1) {
        return Err(invalid("the tarball does not match the shasum the document declares"));
    }
    Ok(())
}

/// [`check_document`] and [`check_tarball`] of a document held whole, its tarball still inside it.
/// Returns the version to publish and its tarball.
///
/// # Errors
/// Says which part of the document is wrong.
pub fn check_publish(name: &str, document: &Value) -> Result<(Publish, Vec<u8>), InvalidValue> {
    let publish = check_document(name, document)?;
    let data = document["_attachments"]
        .as_object()
        .and_then(|attachments| attachments.values().next())
        .and_then(|attachment| attachment["data"].as_str())
        .ok_or_else(|| InvalidValue("the attachment has no data".into()))?;
    let tarball = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| InvalidValue("the attachment is not base64".into()))?;
    check_tarball(name, &publish, tarball.as_slice(), &Digests::of(&tarball))?;
    Ok((publish, tarball))
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    /// A gzipped tarball holding `files` (path, contents), as npm would pack them.
    pub fn tarball(files: &[(&str, &str)]) -> Vec<u8> {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(path, text)| (*path, text.as_bytes())).collect();
        crate::ecosystems::archive::tests::tar_gz(&files)
    }

    #[test]
    fn the_manifest_is_read_from_the_top_folder() {
        let bytes =
            tarball(&[("package/index.js", "x"), ("package/package.json", r#"{"name":"a","version":"1.0.0"}"#)]);
        assert_eq!(read_manifest(&bytes).unwrap()["version"], "1.0.0");
    }

    #[test]
    fn tarballs_without_a_manifest_or_not_gzipped_are_refused() {
        assert!(read_manifest(&tarball(&[("package/index.js", "x")])).is_err());
        assert!(read_manifest(&tarball(&[("package/lib/package.json", "{}")])).is_err());
        assert!(read_manifest(b"not a tarball").is_err());
    }

    fn document(name: &str, version: &str, tarball: &[u8]) -> Value {
        let data = base64::engine::general_purpose::STANDARD.encode(tarball);
        json!({"name": name, "versions": {version: {"name": name, "dist": {"shasum": Digests::of(tarball).sha1}}},
               "_attachments": {"x.tgz": {"data": data}}})
    }

    #[test]
    fn a_publish_document_must_agree_with_its_tarball() {
        let good = tarball(&[("package/package.json", r#"{"name":"a","version":"1.0.0"}"#)]);
        let (publish, tarball) = check_publish("a", &document("a", "1.0.0", &good)).unwrap();
        assert_eq!(tarball, good);
        assert_eq!((publish.version.as_str(), publish.tags["latest"].as_str()), ("1.0.0", "1.0.0"));
        assert!(!publish.manifest.contains_key("dist"));
        let refused = check_publish("a", &document("a", "2.0.0", &good)).unwrap_err();
        assert!(refused.0.contains("package.json is a@1.0.0, but the document publishes a@2.0.0"), "{refused}");
        let mut lying = document("a", "1.0.0", &good);
        lying["versions"]["1.0.0"]["dist"]["shasum"] = json!("0");
        assert!(check_publish("a", &lying).unwrap_err().0.contains("shasum"));
        assert!(check_publish("b", &document("a", "1.0.0", &good)).is_err());
        assert!(check_publish("a", &json!({"name": "a"})).is_err());
    }
}
