//! What a Python distribution file must hold, as PyPI checks it: a wheel is a zip with
//! `{name}-{version}.dist-info/METADATA`, an sdist a gzipped tar (or a zip) with `{name}-{version}/PKG-INFO`,
//! and that file's `Name` and `Version` headers name the project and version the file is uploaded as.

use super::{Distribution, normalize_name, normalize_version, parse_filename};
use crate::domain::names::InvalidValue;
use crate::ecosystems::archive::{self, is_top_level};

/// The `Name` and `Version` headers of core metadata (`METADATA`, `PKG-INFO`): an email-style header block
/// that ends at the first blank line, where the description begins.
pub fn metadata_headers(bytes: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    let (mut name, mut version) = (None, None);
    for line in text.lines().take_while(|line| !line.trim().is_empty()) {
        let Some((key, value)) = line.split_once(':') else { continue };
        let slot = match key {
            _ if key.eq_ignore_ascii_case("name") => &mut name,
            _ if key.eq_ignore_ascii_case("version") => &mut version,
            _ => continue,
        };
        slot.get_or_insert_with(|| value.trim().to_owned());
    }
    (name, version)
}

/// Checks that a distribution file is a readable archive holding the core metadata of the release it is
/// uploaded as (`name` and `version` normalized). Only the metadata file is read, bounded.
///
/// # Errors
/// Says what is wrong with the file, in words twine prints.
pub fn check_distribution(filename: &str, bytes: &[u8], name: &str, version: &str) -> Result<(), InvalidValue> {
    check_distribution_in(filename, std::io::Cursor::new(bytes), name, version)
}

/// [`check_distribution`] of a file read from `reader` (a spooled upload).
///
/// # Errors
/// As [`check_distribution`].
pub fn check_distribution_in(
    filename: &str,
    mut reader: impl std::io::Read + std::io::Seek,
    name: &str,
    version: &str,
) -> Result<(), InvalidValue> {
    let invalid = |why: String| InvalidValue(format!("Invalid distribution file {filename}: {why}"));
    let (kind, file_name, file_version) = parse_filename(filename)?;
    let is_release = |dir: &str| {
        dir.rsplit_once('-').is_some_and(|(dir_name, dir_version)| {
            normalize_name(dir_name) == name
                && normalize_version(&dir_version.replace('_', "-")).ok().as_deref() == Some(version)
        })
    };
    let (metadata_file, entry) = match kind {
        Distribution::Wheel => {
            let what = format!("{file_name}-{file_version}.dist-info/METADATA");
            let wanted = |path: &std::path::Path| {
                is_top_level(path, "METADATA", |dir| dir.strip_suffix(".dist-info").is_some_and(is_release))
            };
            ("METADATA", archive::zip_entry_in(&mut reader, &what, wanted))
        }
        Distribution::Sdist => {
            let what = format!("{file_name}-{file_version}/PKG-INFO");
            let wanted = |path: &std::path::Path| is_top_level(path, "PKG-INFO", is_release);
            let entry = match filename.ends_with(".zip") {
                true => archive::zip_entry_in(&mut reader, &what, wanted),
                false => archive::tar_gz_entry_in(&mut reader, &what, wanted),
            };
            ("PKG-INFO", entry)
        }
    };
    let entry = entry.map_err(|error| invalid(format!("the archive {error}")))?;
    let (Some(found_name), Some(found_version)) = metadata_headers(&entry.bytes) else {
        return Err(invalid(format!("{} has no Name or no Version header", entry.path)));
    };
    let same_version = normalize_version(&found_version).ok().as_deref() == Some(version);
    if normalize_name(&found_name) != name || !same_version {
        return Err(invalid(format!(
            "its {metadata_file} is for {found_name} {found_version}, but the upload is for {name} {version}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystems::archive::tests::{tar_gz, zip};

    fn metadata(name: &str, version: &str) -> Vec<u8> {
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: not-a-header\n").into_bytes()
    }

    #[test]
    fn core_metadata_headers_end_at_the_description() {
        let (name, version) = metadata_headers(b"Metadata-Version: 2.1\r\nname:  My.Pkg \r\nVersion: 1.0\r\n\r\n");
        assert_eq!((name.as_deref(), version.as_deref()), (Some("My.Pkg"), Some("1.0")));
        assert_eq!(metadata_headers(b"Summary: x\n\nName: late\nVersion: 1\n"), (None, None));
    }

    #[test]
    fn a_wheel_holds_the_metadata_of_its_release() {
        let wheel = zip(&[("my_pkg/__init__.py", b""), ("My_Pkg-1.0.dist-info/METADATA", &metadata("my.pkg", "1.0"))]);
        assert_eq!(check_distribution("my_pkg-1.0-py3-none-any.whl", &wheel, "my-pkg", "1.0"), Ok(()));
        let other = zip(&[("my_pkg-1.0.dist-info/METADATA", &metadata("other", "1.0"))]);
        let refused = check_distribution("my_pkg-1.0-py3-none-any.whl", &other, "my-pkg", "1.0").unwrap_err();
        assert!(refused.0.contains("its METADATA is for other 1.0, but the upload is for my-pkg 1.0"), "{refused}");
        let misplaced = zip(&[("other-1.0.dist-info/METADATA", &metadata("my-pkg", "1.0"))]);
        let refused = check_distribution("my_pkg-1.0-py3-none-any.whl", &misplaced, "my-pkg", "1.0").unwrap_err();
        assert!(refused.0.ends_with("the archive holds no my_pkg-1.0.dist-info/METADATA"), "{refused}");
        let random = check_distribution("my_pkg-1.0-py3-none-any.whl", b"random", "my-pkg", "1.0").unwrap_err();
        assert!(random.0.contains("is not a readable zip archive"), "{random}");
    }

    #[test]
    fn an_sdist_holds_the_pkg_info_of_its_release() {
        let files: &[(&str, &[u8])] =
            &[("my_pkg-1.0rc1/setup.py", b""), ("my_pkg-1.0rc1/PKG-INFO", &metadata("My_Pkg", "1.0RC1"))];
        assert_eq!(check_distribution("my_pkg-1.0rc1.tar.gz", &tar_gz(files), "my-pkg", "1.0rc1"), Ok(()));
        assert_eq!(check_distribution("my_pkg-1.0rc1.zip", &zip(files), "my-pkg", "1.0rc1"), Ok(()));
        let nested = tar_gz(&[("my_pkg-1.0/my_pkg.egg-info/PKG-INFO", &metadata("my-pkg", "1.0"))]);
        let refused = check_distribution("my_pkg-1.0.tar.gz", &nested, "my-pkg", "1.0").unwrap_err();
        assert!(refused.0.ends_with("the archive holds no my_pkg-1.0/PKG-INFO"), "{refused}");
        let other_version = tar_gz(&[("my_pkg-1.0/PKG-INFO", &metadata("my-pkg", "2.0"))]);
        assert!(check_distribution("my_pkg-1.0.tar.gz", &other_version, "my-pkg", "1.0").is_err());
        let headless = tar_gz(&[("my_pkg-1.0/PKG-INFO", b"Summary: none\n")]);
        let refused = check_distribution("my_pkg-1.0.tar.gz", &headless, "my-pkg", "1.0").unwrap_err();
        assert!(refused.0.contains("has no Name or no Version header"), "{refused}");
    }
}
