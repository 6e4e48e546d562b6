//! RubyGems: what Packyard reads out of a `.gem` (a plain tar of `metadata.gz`, the YAML gemspec,
//! `data.tar.gz` and `checksums.yaml.gz`), the names and versions it accepts, and the compact index's
//! line format (`/info/{gem}`).

pub mod gem;
pub mod index;
pub mod marshal;

use serde::{Deserialize, Serialize};

use crate::domain::names::InvalidValue;

/// A requirement as rubygems holds it: operator and version, e.g. `(">=", "1.0")`.
pub type Constraint = (String, String);

/// A dependency of a gem: its name, its constraints (all must hold) and whether it is needed at runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemDependency {
    pub name: String,
    pub requirements: Vec<Constraint>,
    /// `:runtime` (installs pull it in) rather than `:development`.
    pub runtime: bool,
}

/// What the indexes need of a gem's specification, read from its `metadata.gz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemSpec {
    pub name: String,
    /// The gem version, e.g. `1.2.0` or `2.0.0.rc1`.
    pub number: String,
    /// `ruby` for a pure-Ruby gem, else the platform it was built for, e.g. `x86_64-linux`.
    pub platform: String,
    pub dependencies: Vec<GemDependency>,
    pub required_ruby_version: Vec<Constraint>,
    pub required_rubygems_version: Vec<Constraint>,
    pub summary: String,
    pub description: Option<String>,
    pub authors: Vec<String>,
    pub email: Vec<String>,
    pub homepage: Option<String>,
    pub licenses: Vec<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub rubygems_version: String,
    pub specification_version: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
}

impl GemSpec {
    /// The version as Packyard records it: the number, with the platform after a `-` for a platform gem,
    /// so each platform of a release is a version of its own.
    pub fn packyard_version(&self) -> String {
        version_key(&self.number, &self.platform)
    }

    /// `{name}-{number}[-{platform}]`, the stem of its `.gem` and `.gemspec.rz` files.
    pub fn full_name(&self) -> String {
        format!("{}-{}", self.name, self.packyard_version())
    }

    pub fn prerelease(&self) -> bool {
        is_prerelease(&self.number)
    }
}

/// The version string of a number on a platform: `1.0.0`, or `1.0.0-x86_64-linux`.
pub fn version_key(number: &str, platform: &str) -> String {
    if platform == "ruby" { number.to_owned() } else { format!("{number}-{platform}") }
}

/// A rubygems version is a prerelease when any segment has a letter (`1.0.0.rc1`, `2.0.a`).
pub fn is_prerelease(number: &str) -> bool {
    number.bytes().any(|b| b.is_ascii_alphabetic())
}

/// 1 to `max` letters, digits, `.`, `_` and `-`, starting with a letter or digit: no path, no `#`.
fn is_word(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.as_bytes()[0].is_ascii_alphanumeric()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A gem name: letters, digits, `.`, `_` and `-`, starting with a letter or digit, as rubygems.org allows.
///
/// # Errors
/// Says what is wrong with the name.
pub fn validate_gem_name(name: &str) -> Result<(), InvalidValue> {
    if is_word(name, 100) {
        Ok(())
    } else {
        Err(InvalidValue(format!(
            "gem name {name:?} must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// A gem version number: dot-separated segments of letters and digits, starting with a digit (the form
/// `gem build` writes; `-` is not allowed here because it separates the platform).
///
/// # Errors
/// Says what is wrong with the number.
pub fn validate_number(number: &str) -> Result<(), InvalidValue> {
    let valid = !number.is_empty()
        && number.len() <= 64
        && number.as_bytes()[0].is_ascii_digit()
        && number.split('.').all(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid { Ok(()) } else { Err(InvalidValue(format!("gem version {number:?} must look like 1.2.3 or 1.2.3.rc1"))) }
}

/// A platform: `ruby`, or `cpu-os[-version]` made of letters, digits, `_`, `.` and `-`.
///
/// # Errors
/// Says what is wrong with the platform.
pub fn validate_platform(platform: &str) -> Result<(), InvalidValue> {
    if is_word(platform, 64) {
        Ok(())
    } else {
        Err(InvalidValue(format!("gem platform {platform:?} must be `ruby` or a name such as x86_64-linux")))
    }
}

/// Constraints as the compact index writes them: `>= 1.0&< 2`.
fn constraints(requirements: &[Constraint]) -> String {
    requirements.iter().map(|(op, version)| format!("{op} {version}")).collect::<Vec<_>>().join("&")
}

/// One line of `/info/{gem}`: `{version}[-{platform}] {dep}:{constraints},...|checksum:{sha256}[,ruby:..][,rubygems:..]`.
pub fn info_line(spec: &GemSpec, sha256: &str) -> String {
    let deps: Vec<String> = spec
        .dependencies
        .iter()
        .filter(|dep| dep.runtime)
        .map(|dep| format!("{}:{}", dep.name, constraints(&dep.requirements)))
        .collect();
    let mut line = format!("{} {}|checksum:{sha256}", spec.packyard_version(), deps.join(","));
    let unconstrained = |requirements: &[Constraint]| {
        requirements.is_empty() || requirements.iter().all(|(op, version)| op == ">=" && version == "0")
    };
    if !unconstrained(&spec.required_ruby_version) {
        line.push_str(&format!(",ruby:{}", constraints(&spec.required_ruby_version)));
    }
    if !unconstrained(&spec.required_rubygems_version) {
        line.push_str(&format!(",rubygems:{}", constraints(&spec.required_rubygems_version)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(name: &str, number: &str) -> GemSpec {
        GemSpec {
            name: name.into(),
            number: number.into(),
            platform: "ruby".into(),
            dependencies: vec![],
            required_ruby_version: vec![(">=".into(), "0".into())],
            required_rubygems_version: vec![(">=".into(), "0".into())],
            summary: "s".into(),
            description: None,
            authors: vec!["A".into()],
            email: vec![],
            homepage: None,
            licenses: vec![],
            metadata: Default::default(),
            rubygems_version: "3.3.15".into(),
            specification_version: 4,
            date: "2026-01-01".into(),
        }
    }

    #[test]
    fn info_lines_name_runtime_dependencies_checksum_and_ruby_constraints() {
        let mut gem = spec("app", "1.0.0");
        gem.dependencies = vec![
            GemDependency {
                name: "base".into(),
                requirements: vec![("~>".into(), "1.0".into()), (">=".into(), "1.0.1".into())],
                runtime: true,
            },
            GemDependency { name: "rake".into(), requirements: vec![(">=".into(), "0".into())], runtime: false },
        ];
        gem.required_ruby_version = vec![(">=".into(), "2.7".into())];
        assert_eq!(info_line(&gem, "ab"), "1.0.0 base:~> 1.0&>= 1.0.1|checksum:ab,ruby:>= 2.7");
        gem.platform = "x86_64-linux".into();
        gem.dependencies.clear();
        assert!(info_line(&gem, "ab").starts_with("1.0.0-x86_64-linux |checksum:ab"));
    }

    #[test]
    fn names_versions_and_platforms_are_checked() {
        assert!(validate_gem_name("acme_greet-2.x").is_ok());
        for bad in ["", "-x", "a/b", "a#b", "a b"] {
            assert!(validate_gem_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_number("1.0.0.rc1").is_ok());
        for bad in ["", "v1", "1..0", "1.0-x", "1.0#"] {
            assert!(validate_number(bad).is_err(), "{bad:?}");
        }
        assert!(validate_platform("x86_64-linux-musl").is_ok());
        assert!(validate_platform("../x").is_err());
        assert!(is_prerelease("1.0.0.rc1") && !is_prerelease("1.0.0"));
    }
}
