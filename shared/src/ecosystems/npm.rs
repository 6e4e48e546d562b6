//! npm's publish document and tarballs: a document carries one version's manifest and its tarball in
//! base64, and the tarball is a gzipped tar whose `package/package.json` names the package and its version.

use base64::Engine;
use serde_json::{Map, Value};

use crate::domain::names::{Ecosystem, InvalidValue};
use crate::domain::package::{Digests, DistTags, validate_name, validate_version};
use crate::ecosystems::archive::{is_top_level, tar_gz_entry};

/// The `package.json` inside an npm tarball. npm packs into `package/`, but some tools use another top
/// folder, and npm reads the manifest one level down whatever its folder is called.
///
/// # Errors
/// Says why the bytes are not an npm package tarball.
pub fn read_manifest(tarball: &[u8]) -> Result<Value, InvalidValue> {
    let invalid = |why: String| InvalidValue(format!("the tarball is not an npm package: {why}"));
    let entry = tar_gz_entry(tarball, "package/package.json", |path| is_top_level(path, "package.json", |_| true))
        .map_err(|error| invalid(format!("the archive {error}")))?;
    serde_json::from_slice(&entry.bytes).map_err(|error| invalid(format!("package.json is not JSON: {error}")))
}

/// One version to publish, checked against its own tarball.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub version: String,
    /// The version's manifest as the document sends it, without its `dist`.
    pub manifest: Map<String, Value>,
    pub tarball: Vec<u8>,
    /// The dist-tags to point at the version: the document's, or `latest`.
    pub tags: DistTags,
}

/// Checks the document `npm publish` sends for `name`. Nothing in the document is trusted that the tarball
/// can tell: its package.json must name the same package and version, and its digests must match.
///
/// # Errors
/// Says which part of the document is wrong.
pub fn check_publish(name: &str, document: &Value) -> Result<Publish, InvalidValue> {
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
    let attachments = document["_attachments"]
        .as_object()
        .filter(|a| a.len() == 1)
        .ok_or_else(|| invalid("attach exactly one tarball"))?;
    let data = attachments
        .values()
        .next()
        .and_then(|a| a["data"].as_str())
        .ok_or_else(|| invalid("the attachment has no data"))?;
    let tarball =
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| invalid("the attachment is not base64"))?;
    let inside = read_manifest(&tarball)?;
    if inside["name"].as_str() != Some(name) || inside["version"].as_str() != Some(version.as_str()) {
        return Err(InvalidValue(format!(
            "the tarball's package.json is {}@{}, but the document publishes {name}@{version}",
            inside["name"].as_str().unwrap_or("?"),
            inside["version"].as_str().unwrap_or("?")
        )));
    }
    let digests = Digests::of(&tarball);
    if let Some(integrity) = manifest["dist"]["integrity"].as_str().filter(|i| i.starts_with("sha512-"))
        && integrity != digests.integrity()
    {
        return Err(invalid("the tarball does not match the integrity the document declares"));
    }
    if let Some(shasum) = manifest["dist"]["shasum"].as_str()
        && shasum != digests.sha1
    {
        return Err(invalid("the tarball does not match the shasum the document declares"));
    }
    let mut tags: DistTags = serde_json::from_value(document["dist-tags"].clone()).unwrap_or_default();
    if tags.values().any(|tagged| *tagged != version) {
        return Err(invalid("dist-tags in a publish may only point at the version being published"));
    }
    if tags.is_empty() {
        tags.insert("latest".into(), version.clone());
    }
    let mut manifest = manifest.as_object().cloned().unwrap_or_default();
    manifest.remove("dist");
    Ok(Publish { version, manifest, tarball, tags })
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
        let publish = check_publish("a", &document("a", "1.0.0", &good)).unwrap();
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
