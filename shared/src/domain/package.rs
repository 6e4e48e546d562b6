//! Packages: a name and an immutable version of it, with the files that make it up.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::audit::Actor;
use super::names::{Ecosystem, InvalidValue};
use super::storage::StorageRef;

/// The digests clients check: SHA-256 (Packyard, PyPI, cargo), SHA-512 (npm `integrity`), SHA-1 (npm `shasum`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    pub sha256: String,
    pub sha512: String,
    pub sha1: String,
}

impl Digests {
    pub fn of(bytes: &[u8]) -> Self {
        let mut hasher = DigestHasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    /// The Subresource Integrity form npm uses: `sha512-<base64>`.
    pub fn integrity(&self) -> String {
        let raw = hex::decode(&self.sha512).unwrap_or_default();
        format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

/// Computes [`Digests`] over bytes that arrive a chunk at a time.
#[derive(Default)]
pub struct DigestHasher {
    sha256: Sha256,
    sha512: Sha512,
    sha1: Sha1,
}

impl DigestHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha512.update(bytes);
        self.sha1.update(bytes);
    }

    pub fn finish(self) -> Digests {
        Digests {
            sha256: hex::encode(self.sha256.finalize()),
            sha512: hex::encode(self.sha512.finalize()),
            sha1: hex::encode(self.sha1.finalize()),
        }
    }
}

/// One stored file of a package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageFile {
    pub filename: String,
    pub size: u64,
    #[serde(flatten)]
    pub digests: Digests,
    /// The storage it was written to, for the rest of its life.
    pub storage: StorageRef,
    /// Its key within that storage.
    pub key: String,
}

/// A published version of a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// A ULID: sorts by publication time.
    pub id: String,
    pub registry_id: String,
    pub name: String,
    pub version: String,
    pub files: Vec<PackageFile>,
    pub created_at: DateTime<Utc>,
    pub creator: Actor,
    /// What the ecosystem's client sent besides the files (npm's version manifest, …).
    #[serde(default)]
    pub metadata: serde_json::Value,
}

impl Package {
    pub fn size(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }

    pub fn file(&self, filename: &str) -> Option<&PackageFile> {
        self.files.iter().find(|file| file.filename == filename)
    }
}

/// npm-style dist-tags: tag name to version.
pub type DistTags = BTreeMap<String, String>;

const NAME_MAX: usize = 214;

/// Checks a package name by its ecosystem's rules.
///
/// # Errors
/// Says which rule the name breaks.
pub fn validate_name(ecosystem: Ecosystem, name: &str) -> Result<(), InvalidValue> {
    let invalid = |rule: &str| Err(InvalidValue(format!("package name {name:?} is not valid for {ecosystem}: {rule}")));
    if name.is_empty() || name.len() > NAME_MAX {
        return invalid("use 1 to 214 characters");
    }
    match ecosystem {
        Ecosystem::Npm => {
            let bare = match name.strip_prefix('@') {
                Some(scoped) => match scoped.split_once('/') {
                    Some((scope, bare)) if npm_part(scope) => bare,
                    _ => return invalid("a scoped name is @scope/name"),
                },
                None => name,
            };
            if !npm_part(bare) || bare.starts_with(['.', '_']) {
                return invalid("use lowercase letters, digits, '-', '.', '_' and '~', not starting with '.' or '_'");
            }
        }
        _ => {
            let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid || !name.as_bytes()[0].is_ascii_alphanumeric() {
                return invalid("use letters, digits, '.', '_' and '-', starting with a letter or digit");
            }
        }
    }
    Ok(())
}

fn npm_part(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~".contains(&b))
}

/// Checks a version is semantic (`1.2.3`, `1.2.3-rc.1+build`) and returns its canonical text.
///
/// # Errors
/// When it is not a semantic version.
pub fn validate_version(version: &str) -> Result<String, InvalidValue> {
    semver::Version::parse(version)
        .map(|parsed| parsed.to_string())
        .map_err(|error| InvalidValue(format!("version {version:?} is not a semantic version such as 1.2.3: {error}")))
}

/// Extensions made of two parts, so `tool-1.0.0.tar.gz` has version `1.0.0`, not `1.0.0.tar`.
const COMPOUND_EXTENSIONS: [&str; 5] = ["tar.gz", "tar.bz2", "tar.xz", "tar.zst", "tar.lz"];

/// Splits a generic file's name, `{name}-{semver}.{ext}`, into its name and version.
///
/// # Errors
/// When the filename does not have that shape.
pub fn parse_file_name(filename: &str) -> Result<(String, String), InvalidValue> {
    let invalid = || {
        InvalidValue(format!(
            "file name {filename:?} must look like {{name}}-{{version}}.{{ext}}, e.g. tool-1.2.3.tar.gz"
        ))
    };
    let stem = COMPOUND_EXTENSIONS
        .iter()
        .find_map(|ext| filename.strip_suffix(&format!(".{ext}")))
        .or_else(|| filename.rsplit_once('.').map(|(stem, _)| stem))
        .ok_or_else(invalid)?;
    // The version starts after the first hyphen that is followed by a full semantic version.
    stem.match_indices('-')
        .map(|(index, _)| (&stem[..index], &stem[index + 1..]))
        .find(|(name, version)| !name.is_empty() && semver::Version::parse(version).is_ok())
        .map(|(name, version)| (name.to_owned(), version.to_owned()))
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_file_names_split_into_name_and_version() {
        let split = |f: &str| parse_file_name(f).map(|(n, v)| format!("{n} {v}"));
        assert_eq!(split("tool-1.2.3.tar.gz").unwrap(), "tool 1.2.3");
        assert_eq!(split("my-cli-tool-0.1.0-beta.2.zip").unwrap(), "my-cli-tool 0.1.0-beta.2");
        assert_eq!(split("data-2.0.0+build.7.bin").unwrap(), "data 2.0.0+build.7");
        for bad in ["tool.tar.gz", "tool-1.2.tar.gz", "-1.2.3.zip", "tool-1.2.3", "noext"] {
            assert!(parse_file_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn npm_names_follow_npm_rules() {
        for good in ["left-pad", "@acme/ui", "a.b_c~d"] {
            assert!(validate_name(Ecosystem::Npm, good).is_ok(), "{good}");
        }
        for bad in ["Upper", "@acme", "@/x", "_private", ".hidden", "a/b", "@acme/../x", "sp ace"] {
            assert!(validate_name(Ecosystem::Npm, bad).is_err(), "{bad:?} was accepted");
        }
        assert!(validate_name(Ecosystem::Files, "../etc").is_err());
    }

    #[test]
    fn versions_must_be_semantic() {
        assert_eq!(validate_version("1.2.3-rc.1").unwrap(), "1.2.3-rc.1");
        assert!(validate_version("1.2").is_err());
        assert!(validate_version("latest").is_err());
    }

    #[test]
    fn integrity_is_base64_sha512() {
        assert_eq!(
            Digests::of(b"").integrity(),
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
    }
}
