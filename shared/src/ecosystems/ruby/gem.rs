//! Reading a `.gem` nobody has checked yet: a plain tar holding `metadata.gz` (the gzipped YAML gemspec),
//! `data.tar.gz` (the files) and usually `checksums.yaml.gz`. Only the gemspec is unpacked, bounded; the
//! data is hashed as it streams past, so the checksums the gem declares are verified without holding it.

use std::collections::BTreeMap;
use std::io::Read;

use flate2::read::GzDecoder;
use serde_yaml::Value;
use sha2::{Digest, Sha256};

use super::{Constraint, GemDependency, GemSpec, validate_gem_name, validate_number, validate_platform};
use crate::domain::names::InvalidValue;
use crate::ecosystems::archive::MAX_ENTRY;

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

/// Reads at most [`MAX_ENTRY`] bytes from `reader`, refusing more.
fn bounded(reader: impl Read, what: &str) -> Result<Vec<u8>, InvalidValue> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| invalid(format!("the gem's {what} is unreadable: {error}")))?;
    if bytes.len() as u64 > MAX_ENTRY {
        return Err(invalid(format!("the gem's {what} is larger than {} KiB", MAX_ENTRY >> 10)));
    }
    Ok(bytes)
}

/// Reads the gemspec out of a `.gem` and checks it: the tar must hold `metadata.gz` and `data.tar.gz`,
/// their SHA-256 must match `checksums.yaml.gz` when the gem has one, and the gemspec must name a valid
/// gem, version and platform.
///
/// # Errors
/// Says what is wrong with the gem, in words a `gem push` user can act on.
pub fn read_gem(input: impl Read) -> Result<GemSpec, InvalidValue> {
    let unreadable = |error: std::io::Error| invalid(format!("the body is not a .gem (a tar archive): {error}"));
    let mut archive = tar::Archive::new(input);
    let (mut metadata, mut checksums) = (None, None);
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(unreadable)?.to_string_lossy().into_owned();
        match path.as_str() {
            "metadata.gz" => {
                let bytes = bounded(&mut entry, "metadata.gz")?;
                hashes.insert(path, hex::encode(Sha256::digest(&bytes)));
                metadata = Some(bytes);
            }
            "checksums.yaml.gz" => checksums = Some(bounded(&mut entry, "checksums.yaml.gz")?),
            "data.tar.gz" => {
                let mut hasher = Sha256::new();
                std::io::copy(&mut entry, &mut hasher).map_err(unreadable)?;
                hashes.insert(path, hex::encode(hasher.finalize()));
            }
            _ => {}
        }
    }
    let metadata = metadata.ok_or_else(|| invalid("the .gem holds no metadata.gz; build it with `gem build`"))?;
    if !hashes.contains_key("data.tar.gz") {
        return Err(invalid("the .gem holds no data.tar.gz; build it with `gem build`"));
    }
    if let Some(checksums) = checksums {
        check_checksums(&gunzip(&checksums, "checksums.yaml.gz")?, &hashes)?;
    }
    let spec = parse_gemspec(&gunzip(&metadata, "metadata.gz")?)?;
    validate_gem_name(&spec.name)?;
    validate_number(&spec.number)?;
    validate_platform(&spec.platform)?;
    Ok(spec)
}

fn gunzip(bytes: &[u8], what: &str) -> Result<Vec<u8>, InvalidValue> {
    bounded(GzDecoder::new(bytes), what)
}

/// The SHA-256 the gem declares for its parts must be what arrived.
fn check_checksums(yaml: &[u8], hashes: &BTreeMap<String, String>) -> Result<(), InvalidValue> {
    let document: Value = serde_yaml::from_slice(yaml)
        .map_err(|error| invalid(format!("the gem's checksums.yaml is not YAML: {error}")))?;
    let Some(declared) = document.get("SHA256").and_then(Value::as_mapping) else { return Ok(()) };
    for (file, actual) in hashes {
        if let Some(expected) = declared.get(file.as_str()).and_then(Value::as_str)
            && !expected.eq_ignore_ascii_case(actual)
        {
            return Err(invalid(format!(
                "the gem's {file} has SHA-256 {actual}, but its checksums.yaml declares {expected}; the gem is damaged"
            )));
        }
    }
    Ok(())
}

/// The value with rubygems' YAML tags (`!ruby/object:Gem::Version` and the like) taken off, all the way down.
fn untag(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => untag(tagged.value),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(untag).collect()),
        Value::Mapping(map) => Value::Mapping(map.into_iter().map(|(k, v)| (untag(k), untag(v))).collect()),
        other => other,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A `Gem::Version` (`{version: "1.0"}`) or a bare version string.
fn version_text(value: &Value) -> Option<String> {
    value.get("version").and_then(text).or_else(|| text(value))
}

/// A `Gem::Requirement`: `{requirements: [[">=", {version: "0"}], ...]}`.
fn requirement(value: Option<&Value>) -> Result<Vec<Constraint>, InvalidValue> {
    let Some(list) = value.and_then(|v| v.get("requirements")).and_then(Value::as_sequence) else {
        return Ok(vec![(">=".into(), "0".into())]);
    };
    list.iter()
        .map(|pair| match pair.as_sequence().map(Vec::as_slice) {
            Some([op, version]) => match (text(op), version_text(version)) {
                (Some(op), Some(version)) if ["=", "!=", ">", "<", ">=", "<=", "~>"].contains(&op.as_str()) => {
                    Ok((op, version))
                }
                _ => Err(invalid("the gemspec has a requirement that is not an operator and a version")),
            },
            _ => Err(invalid("the gemspec has a requirement that is not an operator and a version")),
        })
        .collect()
}

/// Reads the fields the indexes need out of the gemspec YAML `gem build` writes.
///
/// # Errors
/// When the YAML is not a gemspec or a field the indexes need is missing or malformed.
pub fn parse_gemspec(yaml: &[u8]) -> Result<GemSpec, InvalidValue> {
    let spec: Value = serde_yaml::from_slice(yaml)
        .map(untag)
        .map_err(|error| invalid(format!("the gem's metadata.gz is not a YAML gemspec: {error}")))?;
    let field = |name: &str| spec.get(name).filter(|v| !v.is_null());
    let name = field("name").and_then(text).ok_or_else(|| invalid("the gemspec names no gem"))?;
    let number = field("version").and_then(version_text).ok_or_else(|| invalid("the gemspec has no version"))?;
    let platform = field("platform").and_then(text).unwrap_or_else(|| "ruby".into());
    let dependencies = match field("dependencies") {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|dep| {
                let name = dep.get("name").and_then(text).ok_or_else(|| invalid("a dependency has no name"))?;
                validate_gem_name(&name)?;
                let runtime =
                    dep.get("type").and_then(text).is_none_or(|kind| kind.trim_start_matches(':') == "runtime");
                Ok(GemDependency { name, requirements: requirement(dep.get("requirement"))?, runtime })
            })
            .collect::<Result<_, InvalidValue>>()?,
        _ => Vec::new(),
    };
    let metadata = match field("metadata") {
        Some(Value::Mapping(map)) => {
            map.iter().filter_map(|(k, v)| Some((text(k)?, text(v)?))).collect::<BTreeMap<_, _>>()
        }
        _ => BTreeMap::new(),
    };
    let date = field("date").and_then(text).unwrap_or_default();
    let date = if date.len() >= 10
        && date.as_bytes()[..10].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        }) {
        date[..10].to_owned()
    } else {
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    };
    Ok(GemSpec {
        name,
        number,
        platform,
        dependencies,
        required_ruby_version: requirement(field("required_ruby_version"))?,
        required_rubygems_version: requirement(field("required_rubygems_version"))?,
        summary: field("summary").and_then(text).unwrap_or_default(),
        description: field("description").and_then(text),
        authors: texts(field("authors")),
        email: texts(field("email")),
        homepage: field("homepage").and_then(text),
        licenses: texts(field("licenses")),
        metadata,
        rubygems_version: field("rubygems_version").and_then(text).unwrap_or_else(|| "3.3.15".into()),
        specification_version: field("specification_version").and_then(Value::as_i64).unwrap_or(4).clamp(1, 4),
        date,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    pub(crate) const GEMSPEC: &str = r#"--- !ruby/object:Gem::Specification
name: acme-app
version: !ruby/object:Gem::Version
  version: 1.0.0
platform: ruby
authors:
- Acme
date: 2026-11-29 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: acme-greet
  requirement: &1 !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '1.0'
  type: :runtime
  prerelease: false
  version_requirements: *1
- !ruby/object:Gem::Dependency
  name: rake
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0'
  type: :development
  prerelease: false
email: dev@acme.test
licenses:
- MIT
metadata: {}
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '2.7'
rubygems_version: 3.3.15
specification_version: 4
summary: an app
"#;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        out.write_all(bytes).unwrap();
        out.finish().unwrap()
    }

    /// A `.gem` as `gem build` lays it out, with checksums over its parts (or the ones given).
    pub(crate) fn gem_file(gemspec: &str, declared_data_sha: Option<&str>) -> Vec<u8> {
        let metadata = gz(gemspec.as_bytes());
        let data = gz(b"not really a tar");
        let sha = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
        let data_sha = declared_data_sha.map_or_else(|| sha(&data), str::to_owned);
        let checksums =
            gz(format!("---\nSHA256:\n  metadata.gz: {}\n  data.tar.gz: {data_sha}\n", sha(&metadata)).as_bytes());
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in [("metadata.gz", &metadata), ("data.tar.gz", &data), ("checksums.yaml.gz", &checksums)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o444);
            header.set_cksum();
            builder.append_data(&mut header, path, bytes.as_slice()).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn a_built_gem_yields_its_name_version_and_runtime_dependencies() {
        let spec = read_gem(gem_file(GEMSPEC, None).as_slice()).unwrap();
        assert_eq!((spec.name.as_str(), spec.number.as_str(), spec.platform.as_str()), ("acme-app", "1.0.0", "ruby"));
        assert_eq!(spec.dependencies.len(), 2);
        assert_eq!(spec.dependencies[0].requirements, vec![("~>".to_owned(), "1.0".to_owned())]);
        assert!(spec.dependencies[0].runtime && !spec.dependencies[1].runtime);
        assert_eq!(spec.required_ruby_version, vec![(">=".to_owned(), "2.7".to_owned())]);
        assert_eq!((spec.date.as_str(), spec.email.clone()), ("2026-11-29", vec!["dev@acme.test".to_owned()]));
    }

    #[test]
    fn damaged_or_foreign_gems_are_refused_with_a_reason() {
        let damaged = read_gem(gem_file(GEMSPEC, Some(&"0".repeat(64))).as_slice()).unwrap_err();
        assert!(damaged.0.contains("damaged"), "{damaged:?}");
        assert!(read_gem(&b"hello"[..]).is_err());
        let traversal = GEMSPEC.replace("name: acme-app", "name: ../etc");
        assert!(read_gem(gem_file(&traversal, None).as_slice()).unwrap_err().0.contains("gem name"));
        let bad_version = GEMSPEC.replace("version: 1.0.0", "version: 1.0#0");
        assert!(read_gem(gem_file(&bad_version, None).as_slice()).is_err());
    }
}
