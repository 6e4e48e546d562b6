//! Validated newtypes for every name a request can carry, parsed at the edge so that nothing unchecked
//! reaches a storage key or a stored record.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $validate:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $validate(value).map(Self)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// For the other name modules of the domain.
pub(crate) use string_newtype;

/// A refused value as an error message quotes it: at most 40 characters, so a 100 KB value is not
/// echoed back whole.
pub(crate) fn quoted(value: &str) -> String {
    const SHOWN: usize = 40;
    if value.chars().count() <= SHOWN {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(SHOWN).collect();
        format!("{start:?}… ({} characters)", value.chars().count())
    }
}

const SLUG_MAX: usize = 64;

fn validate_slug(kind: &str, value: String) -> Result<String, InvalidValue> {
    let valid_chars = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if value.is_empty() || value.len() > SLUG_MAX || !valid_chars || value.starts_with('-') || value.ends_with('-') {
        return Err(InvalidValue(format!(
            "{kind} {} is not a valid slug: use 1 to {SLUG_MAX} lowercase letters, digits and inner hyphens",
            quoted(&value)
        )));
    }
    Ok(value)
}

fn validate_org_slug(value: String) -> Result<String, InvalidValue> {
    validate_slug("organization", value)
}

fn validate_registry_slug(value: String) -> Result<String, InvalidValue> {
    validate_slug("registry", value)
}

string_newtype!(
    /// An organization's identifier in URLs and keys; it never changes.
    OrgSlug,
    validate_org_slug
);
string_newtype!(
    /// A registry's identifier within its organization, derived from its name.
    RegistrySlug,
    validate_registry_slug
);

impl RegistrySlug {
    /// The slug a name maps to: lowercase ASCII letters and digits, every other run of characters one hyphen.
    ///
    /// # Errors
    /// When the name has no letter or digit to build a slug from.
    pub fn from_name(name: &RegistryName) -> Result<Self, InvalidValue> {
        let mut slug = String::with_capacity(name.as_str().len());
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.ends_with('-') {
            slug.pop();
        }
        slug.truncate(SLUG_MAX);
        let slug = slug.trim_end_matches('-').to_owned();
        if slug.is_empty() {
            return Err(InvalidValue(format!("name {:?} has no letter or digit to derive a slug from", name.as_str())));
        }
        Self::try_from(slug)
    }
}

const NAME_MAX: usize = 100;

fn validate_name(value: String) -> Result<String, InvalidValue> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > NAME_MAX {
        return Err(InvalidValue(format!("name must be 1 to {NAME_MAX} characters, not {}", trimmed.chars().count())));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidValue("name must not contain control characters".into()));
    }
    Ok(trimmed.to_owned())
}

string_newtype!(
    /// A registry's display name.
    RegistryName,
    validate_name
);

const DESCRIPTION_MAX: usize = 1000;

fn validate_description(value: String) -> Result<String, InvalidValue> {
    if value.chars().count() > DESCRIPTION_MAX {
        return Err(InvalidValue(format!("description must be at most {DESCRIPTION_MAX} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(InvalidValue("description must not contain control characters other than newline and tab".into()));
    }
    Ok(value)
}

string_newtype!(
    /// Free text describing a registry or a token.
    Description,
    validate_description
);

/// The longest emoji shortcode (the longest in the common sets, `:flag-south-georgia-south-sandwich-islands:`,
/// has 44 characters).
const SHORTCODE_MAX: usize = 64;

fn validate_emoji(value: String) -> Result<String, InvalidValue> {
    let shortcode = value.len() > 2
        && value.len() <= SHORTCODE_MAX
        && value.starts_with(':')
        && value.ends_with(':')
        && value[1..value.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-".contains(&b));
    let symbol = !value.is_empty()
        && value.chars().count() <= 8
        && value.chars().all(|c| !c.is_ascii() && !c.is_whitespace() && !c.is_control());
    if shortcode || symbol {
        Ok(value)
    } else {
        Err(InvalidValue(format!(
            "emoji {} must be a :shortcode: of at most {SHORTCODE_MAX} characters or one emoji character",
            quoted(&value)
        )))
    }
}

string_newtype!(
    /// An emoji shown beside a registry: a `:shortcode:` or the character itself.
    Emoji,
    validate_emoji
);

fn validate_color(value: String) -> Result<String, InvalidValue> {
    let hex = value.strip_prefix('#').filter(|hex| hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    match hex {
        Some(hex) => Ok(format!("#{}", hex.to_ascii_lowercase())),
        None => Err(InvalidValue(format!("color {} must be #RRGGBB in hexadecimal", quoted(&value)))),
    }
}

string_newtype!(
    /// A registry's color, `#rrggbb`, stored in lowercase.
    Color,
    validate_color
);

/// The package ecosystems a registry can serve; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String", into = "&'static str")]
pub enum Ecosystem {
    Files,
    Npm,
    Python,
    Cargo,
    Oci,
    Ruby,
    Maven,
    Debian,
    Rpm,
}

impl Ecosystem {
    pub const ALL: [Self; 9] = [
        Self::Files,
        Self::Npm,
        Self::Python,
        Self::Cargo,
        Self::Oci,
        Self::Ruby,
        Self::Maven,
        Self::Debian,
        Self::Rpm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Files => "files",
            Self::Npm => "npm",
            Self::Python => "python",
            Self::Cargo => "cargo",
            Self::Oci => "oci",
            Self::Ruby => "ruby",
            Self::Maven => "maven",
            Self::Debian => "debian",
            Self::Rpm => "rpm",
        }
    }
}

impl TryFrom<String> for Ecosystem {
    type Error = InvalidValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::ALL.into_iter().find(|ecosystem| ecosystem.as_str() == value).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|e| e.as_str()).collect();
            InvalidValue(format!("ecosystem {} is not supported; use one of {}", quoted(&value), known.join(", ")))
        })
    }
}

impl From<Ecosystem> for &'static str {
    fn from(value: Ecosystem) -> Self {
        value.as_str()
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug_of(name: &str) -> Result<String, InvalidValue> {
        RegistrySlug::from_name(&RegistryName::try_from(name)?).map(String::from)
    }

    #[test]
    fn slugs_are_derived_from_names_by_collapsing_everything_but_letters_and_digits() {
        assert_eq!(slug_of("My Great Registry!").unwrap(), "my-great-registry");
        assert_eq!(slug_of("  --Front_End  (npm) ").unwrap(), "front-end-npm");
        assert_eq!(slug_of("Ünïcode 42").unwrap(), "n-code-42");
        assert!(slug_of("!!!").is_err());
    }

    #[test]
    fn slugs_refuse_path_tricks_and_uppercase() {
        for bad in ["", "..", "a/b", "Abc", "-a", "a-", "a b", &"x".repeat(65)] {
            assert!(RegistrySlug::try_from(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(OrgSlug::try_from("acme-2").is_ok());
    }

    #[test]
    fn colors_must_be_six_hex_digits_and_are_lowercased() {
        assert_eq!(Color::try_from("#FFaa00").unwrap().as_str(), "#ffaa00");
        for bad in ["ffaa00", "#ffaa0", "#ffaa000", "#gggggg", "red"] {
            assert!(Color::try_from(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn emoji_are_shortcodes_or_symbols() {
        assert!(Emoji::try_from(":package:").is_ok());
        assert!(Emoji::try_from("📦").is_ok());
        assert!(Emoji::try_from("package").is_err());
        assert!(Emoji::try_from("::").is_err());
    }

    #[test]
    fn unknown_ecosystems_name_the_supported_ones() {
        let error = Ecosystem::try_from("conda".to_owned()).unwrap_err();
        assert!(error.0.contains("npm, python"), "{error}");
        assert_eq!(serde_json::to_string(&Ecosystem::Npm).unwrap(), "\"npm\"");
    }
}
