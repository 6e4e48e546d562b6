//! Cargo's registry formats: the length-prefixed publish body, the `.crate` archive, and the sparse
//! index's file layout and line format.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::names::InvalidValue;
use crate::ecosystems::archive::{is_top_level, tar_gz_entry_in};

/// The metadata `cargo publish` sends before the `.crate` file.
#[derive(Debug, Clone, Deserialize)]
pub struct PublishMetadata {
    pub name: String,
    pub vers: String,
    #[serde(default)]
    pub deps: Vec<PublishDependency>,
    #[serde(default)]
    pub features: serde_json::Map<String, Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub links: Option<String>,
    #[serde(default)]
    pub rust_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PublishDependency {
    pub name: String,
    pub version_req: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default = "yes")]
    pub default_features: bool,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub registry: Option<String>,
    #[serde(default)]
    pub explicit_name_in_toml: Option<String>,
}

fn yes() -> bool {
    true
}

/// A dependency as an index line writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDependency {
    pub name: String,
    pub req: String,
    pub features: Vec<String>,
    pub optional: bool,
    pub default_features: bool,
    pub target: Option<String>,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

impl From<PublishDependency> for IndexDependency {
    /// A dependency renamed in Cargo.toml is listed under its new name, with `package` the real one.
    fn from(dep: PublishDependency) -> Self {
        let (name, package) = match dep.explicit_name_in_toml {
            Some(alias) => (alias, Some(dep.name)),
            None => (dep.name, None),
        };
        Self {
            name,
            req: dep.version_req,
            features: dep.features,
            optional: dep.optional,
            default_features: dep.default_features,
            target: dep.target,
            kind: dep.kind.unwrap_or_else(|| "normal".into()),
            registry: dep.registry,
            package,
        }
    }
}

/// The largest metadata part of a publish body: it becomes an index line, and cargo's own are a few KB.
pub const METADATA_LIMIT: u32 = 8 * 1024 * 1024;

/// Splits `cargo publish`'s body: a little-endian u32 length and the JSON metadata, then a u32 length and
/// the `.crate` file, and nothing after.
///
/// # Errors
/// Says which part is missing or malformed.
pub fn parse_publish(body: &[u8]) -> Result<(PublishMetadata, Vec<u8>), InvalidValue> {
    let mut crate_file = Vec::new();
    let metadata = read_publish(body, &mut crate_file).map_err(|error| match error {
        ReadPublishError::Invalid(error) => error,
        ReadPublishError::Io(error) => InvalidValue(error.to_string()),
    })?;
    Ok((metadata, crate_file))
}

/// Why a publish body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadPublishError {
    #[error("{0}")]
    Invalid(InvalidValue),
    /// Writing the `.crate` out failed (a spool that is full or past its limit).
    #[error("the .crate file could not be kept")]
    Io(#[source] std::io::Error),
}

/// [`parse_publish`] of a body read from `body` (a spooled request), copying the `.crate` into `crate_file`
/// as it goes: only the metadata is held in memory.
///
/// # Errors
/// [`ReadPublishError::Invalid`] naming the malformed part, [`ReadPublishError::Io`] when `crate_file` fails.
pub fn read_publish(mut body: impl Read, crate_file: &mut impl Write) -> Result<PublishMetadata, ReadPublishError> {
    let invalid =
        |why: &str| ReadPublishError::Invalid(InvalidValue(format!("the publish request is malformed: {why}")));
    let metadata_length =
        read_length(&mut body).ok_or_else(|| invalid("the metadata length does not match the body"))?;
    if metadata_length > METADATA_LIMIT {
        return Err(invalid(&format!("the metadata is larger than {METADATA_LIMIT} bytes")));
    }
    let mut json = Vec::new();
    (&mut body)
        .take(u64::from(metadata_length))
        .read_to_end(&mut json)
        .map_err(|_| invalid("the body is unreadable"))?;
    if json.len() != metadata_length as usize {
        return Err(invalid("the metadata length does not match the body"));
    }
    let crate_length = read_length(&mut body).ok_or_else(|| invalid("the .crate length does not match the body"))?;
    let copied =
        std::io::copy(&mut (&mut body).take(u64::from(crate_length)), crate_file).map_err(|error| {
            match error.kind() {
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData => {
                    invalid("the body is unreadable")
                }
                _ => ReadPublishError::Io(error),
            }
        })?;
    if copied != u64::from(crate_length) {
        return Err(invalid("the .crate length does not match the body"));
    }
    if body.read(&mut [0_u8; 1]).map_err(|_| invalid("the body is unreadable"))? != 0 {
        return Err(invalid("there are bytes after the .crate file"));
    }
    serde_json::from_slice(&json).map_err(|error| invalid(&format!("the metadata is not valid JSON: {error}")))
}

fn read_length(body: &mut impl Read) -> Option<u32> {
    let mut length = [0_u8; 4];
    body.read_exact(&mut length).ok()?;
    Some(u32::from_le_bytes(length))
}

/// The part of a packed Cargo.toml that says which crate it is.
#[derive(Debug, Deserialize)]
struct PackedManifest {
    package: Option<PackedPackage>,
}

#[derive(Debug, Deserialize)]
struct PackedPackage {
    name: Option<String>,
    version: Option<String>,
}

/// Checks a `.crate` is a gzipped tar whose `{name}-{version}/Cargo.toml`, as cargo packs it, names the same
/// crate and version as the publish request. Only the archive up to that file is read, bounded.
///
/// # Errors
/// Says why the archive is not the crate it claims to be.
pub fn check_crate_file(crate_file: &[u8], name: &str, version: &str) -> Result<(), InvalidValue> {
    check_crate_file_in(crate_file, name, version)
}

/// [`check_crate_file`] of a `.crate` read from `crate_file` (a spooled upload).
///
/// # Errors
/// As [`check_crate_file`].
pub fn check_crate_file_in(crate_file: impl Read, name: &str, version: &str) -> Result<(), InvalidValue> {
    let invalid = |why: String| InvalidValue(format!("the .crate file is not {name} {version}: {why}"));
    let dir = format!("{name}-{version}");
    let expected = format!("{dir}/Cargo.toml");
    let entry = tar_gz_entry_in(crate_file, &expected, |path| is_top_level(path, "Cargo.toml", |top| top == dir))
        .map_err(|error| invalid(format!("the archive {error}")))?;
    let text = std::str::from_utf8(&entry.bytes).map_err(|_| invalid(format!("{expected} is not UTF-8")))?;
    let manifest: PackedManifest =
        toml::from_str(text).map_err(|error| invalid(format!("{expected} is not valid TOML: {}", error.message())))?;
    let package = manifest.package.unwrap_or(PackedPackage { name: None, version: None });
    let (Some(found_name), Some(found_version)) = (package.name, package.version) else {
        return Err(invalid(format!("{expected} has no [package] name and version")));
    };
    let same_version = match (semver::Version::parse(&found_version), semver::Version::parse(version)) {
        (Ok(found), Ok(expected)) => found == expected,
        _ => found_version == version,
    };
    if found_name != name || !same_version {
        return Err(invalid(format!("its Cargo.toml is for {found_name} {found_version}")));
    }
    Ok(())
}

/// Checks a crate name as crates.io does: ASCII letters, digits, `-` and `_`, starting with a letter, at
/// most 64 characters.
///
/// # Errors
/// Names the rule broken.
pub fn validate_crate_name(name: &str) -> Result<(), InvalidValue> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(InvalidValue(format!(
            "crate name {name:?} must be 1 to 64 ASCII letters, digits, '-' or '_', starting with a letter"
        )))
    }
}

/// The path of a crate's file in the index: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lowercased.
pub fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str, crate_file: &[u8]) -> Vec<u8> {
        let mut body = (json.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(json.as_bytes());
        body.extend_from_slice(&(crate_file.len() as u32).to_le_bytes());
        body.extend_from_slice(crate_file);
        body
    }

    #[test]
    fn publish_bodies_split_into_metadata_and_crate() {
        let request = body(
            r#"{"name":"demo","vers":"0.1.0","deps":[{"name":"serde","version_req":"^1","explicit_name_in_toml":"s"}]}"#,
            b"CRATE",
        );
        let (metadata, crate_file) = parse_publish(&request).unwrap();
        assert_eq!((metadata.name.as_str(), crate_file.as_slice()), ("demo", b"CRATE".as_slice()));
        let dep = IndexDependency::from(metadata.deps[0].clone());
        assert_eq!((dep.name.as_str(), dep.package.as_deref(), dep.kind.as_str()), ("s", Some("serde"), "normal"));
        assert!(parse_publish(&request[..request.len() - 1]).is_err());
        assert!(parse_publish(&[request.as_slice(), b"x"].concat()).is_err());
        assert!(parse_publish(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }

    fn packed(path: &str, manifest: &str) -> Vec<u8> {
        crate::ecosystems::archive::tests::tar_gz(&[(path, manifest.as_bytes()), ("demo-0.1.0/src/lib.rs", b"")])
    }

    #[test]
    fn a_crate_file_holds_the_manifest_of_its_version() {
        let manifest = "[package]\nedition = \"2021\"\nname = \"demo\"\nversion = \"0.1.0\"\n";
        assert_eq!(check_crate_file(&packed("demo-0.1.0/Cargo.toml", manifest), "demo", "0.1.0"), Ok(()));
        let other_version = packed("demo-0.1.0/Cargo.toml", &manifest.replace("0.1.0", "0.2.0"));
        let refused = check_crate_file(&other_version, "demo", "0.1.0").unwrap_err();
        assert!(refused.0.ends_with("its Cargo.toml is for demo 0.2.0"), "{refused}");
        let other_name = packed("demo-0.1.0/Cargo.toml", &manifest.replace("\"demo\"", "\"Demo\""));
        assert!(check_crate_file(&other_name, "demo", "0.1.0").is_err());
        let misplaced = packed("demo-0.1.0/sub/Cargo.toml", manifest);
        let refused = check_crate_file(&misplaced, "demo", "0.1.0").unwrap_err();
        assert!(refused.0.ends_with("the archive holds no demo-0.1.0/Cargo.toml"), "{refused}");
        for broken in ["[package", "[package]\nname = \"demo\"\n", "name = \"demo\"\nversion = \"0.1.0\""] {
            assert!(check_crate_file(&packed("demo-0.1.0/Cargo.toml", broken), "demo", "0.1.0").is_err(), "{broken}");
        }
        assert!(check_crate_file(b"not gzip", "demo", "0.1.0").unwrap_err().0.contains("not a readable gzipped tar"));
    }

    #[test]
    fn index_paths_follow_cargos_layout() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde_JSON"), "se/rd/serde_json");
    }

    #[test]
    fn crate_names_follow_crates_io_rules() {
        assert!(validate_crate_name("serde_json-2").is_ok());
        for bad in ["", "2fa", "a b", "../x", &"a".repeat(65)] {
            assert!(validate_crate_name(bad).is_err(), "{bad:?}");
        }
    }
}
