//! Reading one small file (a manifest, `METADATA`, `PKG-INFO`) out of a package archive nobody has checked
//! yet: a zip by its central directory, a gzipped tar by streaming its entries. Every read is bounded, so
//! a truncated archive or a decompression bomb is refused instead of exhausting memory or CPU.

use std::io::{Cursor, Read, Seek};
use std::path::{Component, Path};

use flate2::read::GzDecoder;

/// The most a gzipped tar is unpacked while looking for its manifest: a tar is read front to back, so
/// everything before the manifest is decompressed too.
pub const MAX_SCANNED: u64 = 64 * 1024 * 1024;
/// The largest manifest read out of an archive.
pub const MAX_ENTRY: u64 = 1024 * 1024;

/// A file read out of an archive: where it was and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Why an archive could not give the file asked for, in words that finish "the archive ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("is not a readable {format} archive: {reason}")]
    Unreadable { format: &'static str, reason: String },
    #[error("holds no {0}")]
    Missing(String),
    #[error("holds more than one {0}")]
    Ambiguous(String),
    #[error("holds no {0} in its first {mib} MiB unpacked", mib = MAX_SCANNED >> 20)]
    TooLarge(String),
    #[error("has a {0} larger than {kib} KiB", kib = MAX_ENTRY >> 10)]
    EntryTooLarge(String),
}

/// A reader that stops after `left` bytes and remembers whether more were asked for.
struct Budget<R> {
    inner: R,
    left: u64,
    exhausted: bool,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            self.exhausted |= !buf.is_empty();
            return Ok(0);
        }
        let limit = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..limit])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// Reads at most [`MAX_ENTRY`] bytes of an entry, refusing a larger one.
fn read_bounded(reader: impl Read, path: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| ArchiveError::Unreadable { format: "compressed", reason: format!("{path}: {error}") })?;
    if bytes.len() as u64 > MAX_ENTRY {
        return Err(ArchiveError::EntryTooLarge(path.to_owned()));
    }
    Ok(bytes)
}

/// The first entry of a gzipped tar whose path `wanted` accepts (`what` names it in errors), reading at
/// most [`MAX_SCANNED`] unpacked bytes to find it.
///
/// # Errors
/// When the bytes are not a gzipped tar, the entry is absent or not within the budget, or it is too large.
pub fn tar_gz_entry(bytes: &[u8], what: &str, wanted: impl Fn(&Path) -> bool) -> Result<Entry, ArchiveError> {
    scan_tar_gz(bytes, MAX_SCANNED, what, wanted)
}

/// [`tar_gz_entry`] of an archive read from `reader` (a spooled upload), front to back.
///
/// # Errors
/// As [`tar_gz_entry`].
pub fn tar_gz_entry_in(reader: impl Read, what: &str, wanted: impl Fn(&Path) -> bool) -> Result<Entry, ArchiveError> {
    scan_tar_gz(reader, MAX_SCANNED, what, wanted)
}

fn scan_tar_gz(
    bytes: impl Read,
    budget: u64,
    what: &str,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Entry, ArchiveError> {
    let unreadable =
        |error: std::io::Error| ArchiveError::Unreadable { format: "gzipped tar", reason: error.to_string() };
    let budget = Budget { inner: GzDecoder::new(bytes), left: budget, exhausted: false };
    let mut archive = tar::Archive::new(budget);
    let found = (|| {
        for entry in archive.entries().map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let path = entry.path().map_err(unreadable)?.into_owned();
            if entry.header().entry_type().is_file() && wanted(&path) {
                let path = path.to_string_lossy().into_owned();
                let bytes = read_bounded(entry, &path)?;
                return Ok(Some(Entry { path, bytes }));
            }
        }
        Ok(None)
    })();
    let exhausted = archive.into_inner().exhausted;
    match found {
        Ok(Some(entry)) => Ok(entry),
        // Whatever went wrong past the budget, the archive is refused for being too large to check.
        Ok(None) | Err(ArchiveError::Unreadable { .. }) if exhausted => Err(ArchiveError::TooLarge(what.to_owned())),
        Ok(None) => Err(ArchiveError::Missing(what.to_owned())),
        Err(error) => Err(error),
    }
}

/// The one entry of a zip whose path `wanted` accepts (`what` names it in errors). Only the central
/// directory and that entry are read.
///
/// # Errors
/// When the bytes are not a zip, no entry or more than one matches, or the entry is too large.
pub fn zip_entry(bytes: &[u8], what: &str, wanted: impl Fn(&Path) -> bool) -> Result<Entry, ArchiveError> {
    zip_entry_in(Cursor::new(bytes), what, wanted)
}

/// [`zip_entry`] of an archive read from `reader` (a spooled upload): only its central directory and the
/// one entry are read.
///
/// # Errors
/// As [`zip_entry`].
pub fn zip_entry_in(
    reader: impl Read + Seek,
    what: &str,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Entry, ArchiveError> {
    let unreadable =
        |error: zip::result::ZipError| ArchiveError::Unreadable { format: "zip", reason: error.to_string() };
    let mut archive = zip::ZipArchive::new(reader).map_err(unreadable)?;
    let mut matching = (0..archive.len()).filter_map(|index| {
        let name = archive.name_for_index(index)?.ok()?;
        (!name.ends_with('/') && wanted(Path::new(name.as_ref()))).then(|| (index, name.into_owned()))
    });
    let (index, path) = matching.next().ok_or_else(|| ArchiveError::Missing(what.to_owned()))?;
    if matching.next().is_some() {
        return Err(ArchiveError::Ambiguous(what.to_owned()));
    }
    let file = archive.by_index(index).map_err(unreadable)?;
    if file.size() > MAX_ENTRY {
        return Err(ArchiveError::EntryTooLarge(path));
    }
    let bytes = read_bounded(file, &path)?;
    Ok(Entry { path, bytes })
}

/// Whether a path is `{dir}/{file}`: exactly two components, the second `file`, the first accepted by `dir`.
/// A leading `./` is ignored; `..` or an absolute path never matches.
pub fn is_top_level(path: &Path, file: &str, dir: impl Fn(&str) -> bool) -> bool {
    let mut components =
        path.components().filter(|component| *component != Component::CurDir).map(|component| match component {
            Component::Normal(name) => name.to_str(),
            _ => None,
        });
    match (components.next(), components.next(), components.next()) {
        (Some(Some(top)), Some(Some(name)), None) => name == file && dir(top),
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A gzipped tar holding `files` (path, contents).
    pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *contents).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    /// A zip holding `files` (path, contents), deflated.
    pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (path, contents) in files {
            writer.start_file(*path, options).unwrap();
            writer.write_all(contents).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn named(file: &'static str) -> impl Fn(&Path) -> bool {
        move |path| is_top_level(path, file, |_| true)
    }

    #[test]
    fn an_entry_is_read_from_either_kind_of_archive() {
        let files: &[(&str, &[u8])] = &[("p-1/a.txt", b"a"), ("p-1/MANIFEST", b"here")];
        type Read = fn(&[u8], &str, fn(&Path) -> bool) -> Result<Entry, ArchiveError>;
        for (bytes, read) in [(tar_gz(files), tar_gz_entry as Read), (zip(files), zip_entry as Read)] {
            let entry = read(&bytes, "MANIFEST", |path| is_top_level(path, "MANIFEST", |_| true)).unwrap();
            assert_eq!((entry.path.as_str(), entry.bytes.as_slice()), ("p-1/MANIFEST", b"here".as_slice()));
            assert_eq!(read(&bytes, "OTHER", |_| false), Err(ArchiveError::Missing("OTHER".into())));
        }
    }

    #[test]
    fn random_or_truncated_bytes_are_unreadable() {
        let tar = tar_gz(&[("p-1/MANIFEST", b"here")]);
        let zip = zip(&[("p-1/MANIFEST", b"here")]);
        for bytes in [&b"random bytes"[..], &tar[..tar.len() / 2]] {
            assert!(matches!(tar_gz_entry(bytes, "M", named("MANIFEST")), Err(ArchiveError::Unreadable { .. })));
        }
        for bytes in [&b"random bytes"[..], &zip[..zip.len() - 10], &zip[..zip.len() / 2]] {
            assert!(matches!(zip_entry(bytes, "M", named("MANIFEST")), Err(ArchiveError::Unreadable { .. })));
        }
    }

    #[test]
    fn an_entry_past_the_budget_is_refused_as_too_large() {
        let padding = vec![0_u8; 64 * 1024];
        let files: &[(&str, &[u8])] = &[("p-1/padding", &padding), ("p-1/MANIFEST", b"late")];
        let archive = tar_gz(files);
        assert!(scan_tar_gz(archive.as_slice(), 128 * 1024, "MANIFEST", named("MANIFEST")).is_ok());
        let refused = scan_tar_gz(archive.as_slice(), 32 * 1024, "MANIFEST", named("MANIFEST"));
        assert_eq!(refused, Err(ArchiveError::TooLarge("MANIFEST".into())));
    }

    #[test]
    fn duplicate_or_oversized_entries_are_refused() {
        let twice = zip(&[("a/MANIFEST", b"1"), ("b/MANIFEST", b"2")]);
        assert_eq!(zip_entry(&twice, "M", named("MANIFEST")), Err(ArchiveError::Ambiguous("M".into())));
        let big = vec![b'x'; MAX_ENTRY as usize + 1];
        let files: &[(&str, &[u8])] = &[("p/MANIFEST", &big)];
        assert!(matches!(zip_entry(&zip(files), "M", named("MANIFEST")), Err(ArchiveError::EntryTooLarge(_))));
        assert!(matches!(tar_gz_entry(&tar_gz(files), "M", named("MANIFEST")), Err(ArchiveError::EntryTooLarge(_))));
    }

    #[test]
    fn top_level_means_one_folder_down() {
        assert!(is_top_level(Path::new("pkg-1.0/PKG-INFO"), "PKG-INFO", |dir| dir == "pkg-1.0"));
        assert!(!is_top_level(Path::new("pkg-1.0/pkg.egg-info/PKG-INFO"), "PKG-INFO", |_| true));
        assert!(!is_top_level(Path::new("PKG-INFO"), "PKG-INFO", |_| true));
        assert!(!is_top_level(Path::new("../PKG-INFO"), "PKG-INFO", |_| true));
        assert!(!is_top_level(Path::new("other/PKG-INFO"), "PKG-INFO", |dir| dir == "pkg-1.0"));
    }
}
