//! What Packyard understands of Python packages: PEP 503 project names, PEP 440 versions (parsed just far
//! enough to validate and normalize them), and the names of wheels and sdists.

pub mod dist;

use crate::domain::names::InvalidValue;

/// A project name in PEP 503's normalized form: lowercase, each run of `-`, `_` and `.` one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.push(c.to_ascii_lowercase());
        }
    }
    normalized
}

/// Checks a project name by PEP 508 (ASCII letters and digits, inner `.`, `_`, `-`) and returns its
/// normalized form, the form Packyard stores and serves it under.
///
/// # Errors
/// Says what is wrong with the name.
pub fn validate_name(name: &str) -> Result<String, InvalidValue> {
    let bytes = name.as_bytes();
    let valid = !name.is_empty()
        && name.len() <= 200
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(normalize_name(name))
    } else {
        Err(InvalidValue(format!(
            "project name {name:?} is not valid: use ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
        )))
    }
}

/// A tiny cursor over a lowercase version string.
struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn number(&mut self) -> Option<u64> {
        let end = self.0.find(|c: char| !c.is_ascii_digit()).unwrap_or(self.0.len());
        let (digits, rest) = self.0.split_at(end);
        let value = digits.parse().ok()?;
        self.0 = rest;
        Some(value)
    }

    fn separator(&mut self) -> bool {
        match self.0.strip_prefix(['.', '-', '_']) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes an optional separator, then one of `words`; returns the word's index, or leaves the cursor.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let saved = self.0;
        self.separator();
        let found = words.iter().enumerate().find(|(_, word)| self.0.starts_with(**word));
        match found {
            Some((index, word)) => {
                self.0 = &self.0[word.len()..];
                Some(index)
            }
            None => {
                self.0 = saved;
                None
            }
        }
    }

    /// The number after a pre, post or dev label: an optional separator, then digits; 0 when absent.
    fn label_number(&mut self) -> u64 {
        let saved = self.0;
        self.separator();
        self.number().unwrap_or_else(|| {
            self.0 = saved;
            0
        })
    }
}

/// Checks a version by PEP 440 and returns its normalized form (`1.0RC1` → `1.0rc1`, `1.0-1` → `1.0.post1`,
/// `v2.0.dev` → `2.0.dev0`), the form Packyard stores and serves it under.
///
/// # Errors
/// When the text is not a PEP 440 version.
pub fn normalize_version(version: &str) -> Result<String, InvalidValue> {
    let invalid =
        || InvalidValue(format!("version {version:?} is not a PEP 440 version such as 1.0, 2.1.3rc1 or 1.0.post2"));
    let lower = version.trim().to_ascii_lowercase();
    let (public, local) = match lower.split_once('+') {
        Some((public, local)) => (public, Some(local)),
        None => (lower.as_str(), None),
    };
    let mut cursor = Cursor(public.strip_prefix('v').unwrap_or(public));
    let mut out = String::new();
    let first = cursor.number().ok_or_else(invalid)?;
    if let Some(rest) = cursor.0.strip_prefix('!') {
        cursor.0 = rest;
        out.push_str(&format!("{first}!"));
        out.push_str(&cursor.number().ok_or_else(invalid)?.to_string());
    } else {
        out.push_str(&first.to_string());
    }
    while let Some(rest) = cursor.0.strip_prefix('.').filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit())) {
        cursor.0 = rest;
        out.push_str(&format!(".{}", cursor.number().ok_or_else(invalid)?));
    }
    const PRE: [&str; 7] = ["alpha", "beta", "preview", "pre", "rc", "a", "b"];
    if let Some(index) = cursor.word(&PRE).or_else(|| cursor.word(&["c"]).map(|_| 4)) {
        let label = ["a", "b", "rc", "rc", "rc", "a", "b"][index];
        out.push_str(&format!("{label}{}", cursor.label_number()));
    }
    if let Some(rest) = cursor.0.strip_prefix('-').filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit())) {
        cursor.0 = rest;
        out.push_str(&format!(".post{}", cursor.number().ok_or_else(invalid)?));
    } else if cursor.word(&["post", "rev", "r"]).is_some() {
        out.push_str(&format!(".post{}", cursor.label_number()));
    }
    if cursor.word(&["dev"]).is_some() {
        out.push_str(&format!(".dev{}", cursor.label_number()));
    }
    if !cursor.0.is_empty() {
        return Err(invalid());
    }
    if let Some(local) = local {
        let segments: Vec<&str> = local.split(['.', '-', '_']).collect();
        if segments.iter().any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(invalid());
        }
        out.push('+');
        out.push_str(&segments.join("."));
    }
    Ok(out)
}

/// The kind of a distribution file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Wheel,
    Sdist,
}

/// Splits a distribution's file name into its kind, project name and version as written in the name:
/// `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, or `{name}-{version}.tar.gz` (or `.zip`).
///
/// # Errors
/// When the file is neither a wheel nor an sdist by its name.
pub fn parse_filename(filename: &str) -> Result<(Distribution, &str, &str), InvalidValue> {
    let invalid = |why: &str| InvalidValue(format!("file name {filename:?} is not valid: {why}"));
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|part| part.is_empty()) {
            return Err(invalid("a wheel is named {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl"));
        }
        return Ok((Distribution::Wheel, parts[0], parts[1]));
    }
    let stem = [".tar.gz", ".zip"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))
        .ok_or_else(|| invalid("upload wheels (.whl) and source distributions (.tar.gz)"))?;
    match stem.rsplit_once('-') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => Ok((Distribution::Sdist, name, version)),
        _ => Err(invalid("a source distribution is named {name}-{version}.tar.gz")),
    }
}

/// Checks that a file name stands for the project and version it is uploaded as (both normalized).
///
/// # Errors
/// Says what in the name disagrees.
pub fn check_filename(filename: &str, name: &str, version: &str) -> Result<Distribution, InvalidValue> {
    let (kind, file_name, file_version) = parse_filename(filename)?;
    if normalize_name(file_name) != name {
        return Err(InvalidValue(format!("file name {filename:?} is for project {file_name:?}, not {name}")));
    }
    if normalize_version(&file_version.replace('_', "-")).ok().as_deref() != Some(version) {
        return Err(InvalidValue(format!("file name {filename:?} is for version {file_version:?}, not {version}")));
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_by_pep_503() {
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY._-BARD"), "friendly-bard");
        assert_eq!(validate_name("zope.interface").unwrap(), "zope-interface");
        for bad in ["", "-lead", "trail.", "sp ace", "a/b", "é"] {
            assert!(validate_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn versions_normalize_by_pep_440() {
        for (given, normal) in [
            ("1.0", "1.0"),
            ("v1.0", "1.0"),
            ("1.0RC1", "1.0rc1"),
            ("1.0-alpha.2", "1.0a2"),
            ("1.0c3", "1.0rc3"),
            ("1.0b", "1.0b0"),
            ("1.0-1", "1.0.post1"),
            ("1.0.post", "1.0.post0"),
            ("1.0-r4", "1.0.post4"),
            ("2.0.dev", "2.0.dev0"),
            ("1!2.0.01", "1!2.0.1"),
            ("1.0a1.post2.dev3", "1.0a1.post2.dev3"),
            ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
        ] {
            assert_eq!(normalize_version(given).unwrap(), normal, "{given}");
        }
        for bad in ["", "latest", "1.0.x", "1..0", "1.0+", "1.0+a..b", "1.0-", "a1"] {
            assert!(normalize_version(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn file_names_must_match_the_upload() {
        assert_eq!(check_filename("My_Pkg-1.0-py3-none-any.whl", "my-pkg", "1.0"), Ok(Distribution::Wheel));
        assert_eq!(check_filename("my_pkg-1.0-1-py3-none-any.whl", "my-pkg", "1.0"), Ok(Distribution::Wheel));
        assert_eq!(check_filename("my-pkg-1.0.tar.gz", "my-pkg", "1.0"), Ok(Distribution::Sdist));
        assert_eq!(check_filename("my_pkg-1.0rc1.tar.gz", "my-pkg", "1.0rc1"), Ok(Distribution::Sdist));
        assert!(check_filename("other-1.0.tar.gz", "my-pkg", "1.0").is_err());
        assert!(check_filename("my_pkg-2.0-py3-none-any.whl", "my-pkg", "1.0").is_err());
        assert!(check_filename("my_pkg-1.0-py3-any.whl", "my-pkg", "1.0").is_err());
        assert!(check_filename("my_pkg-1.0.egg", "my-pkg", "1.0").is_err());
        assert!(check_filename("my_pkg-1.0.tar.gz.exe", "my-pkg", "1.0").is_err());
    }
}
