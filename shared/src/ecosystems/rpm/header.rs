//! The RPM header structure (the signature header and the main header share it): an 16-byte intro (magic
//! `8e ad e8 01`, 4 reserved bytes, the index count, the store size), index entries of 16 bytes (tag, type,
//! offset, count; big-endian) and the data store they point into. Only what a repository index needs is read;
//! every offset is checked against the store, so a crafted header cannot read outside it.

use std::collections::HashMap;
use std::io::Read;

use crate::domain::names::InvalidValue;

const MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// The most index entries and store bytes Packyard reads from one header: larger headers are refused rather
/// than allocated (Fedora's largest packages list some 100,000 files in well under this).
pub const MAX_HEADER_BYTES: u32 = 32 * 1024 * 1024;
const MAX_ENTRIES: u32 = 65_536;

const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18N_STRING: u32 = 9;

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: u32,
    offset: usize,
    count: usize,
}

/// One parsed header: its entries by tag, its store, and its length in bytes as it appears in the file.
#[derive(Debug)]
pub struct Header {
    entries: HashMap<u32, Entry>,
    store: Vec<u8>,
    /// The whole header's bytes (intro, index and store), for digests.
    pub bytes: Vec<u8>,
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

impl Header {
    /// Reads one header from `input`, naming it `what` in errors.
    ///
    /// # Errors
    /// When the magic is wrong, the header is larger than [`MAX_HEADER_BYTES`], or it is truncated.
    pub fn read(input: &mut impl Read, what: &str) -> Result<Self, InvalidValue> {
        let mut intro = [0_u8; 16];
        input.read_exact(&mut intro).map_err(|_| invalid(format!("the RPM is truncated before its {what}")))?;
        if intro[..4] != MAGIC {
            return Err(invalid(format!("the RPM's {what} does not start with the header magic")));
        }
        let (count, size) = (be32(&intro[8..12]), be32(&intro[12..16]));
        if count > MAX_ENTRIES || size > MAX_HEADER_BYTES {
            return Err(invalid(format!(
                "the RPM's {what} has {count} entries and {size} bytes of data; Packyard reads headers of at most {MAX_ENTRIES} entries and {MAX_HEADER_BYTES} bytes"
            )));
        }
        let length = 16 + 16 * count as usize + size as usize;
        let mut bytes = intro.to_vec();
        input
            .take((length - 16) as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| invalid(format!("the RPM cannot be read: {e}")))?;
        if bytes.len() != length {
            return Err(invalid(format!("the RPM is truncated inside its {what}")));
        }
        let store = bytes[16 + 16 * count as usize..].to_vec();
        let mut entries = HashMap::new();
        for raw in bytes[16..16 + 16 * count as usize].chunks_exact(16) {
            let entry = Entry {
                kind: be32(&raw[4..8]),
                offset: be32(&raw[8..12]) as usize,
                count: be32(&raw[12..16]) as usize,
            };
            if entry.offset > store.len() {
                return Err(invalid(format!("the RPM's {what} has an entry pointing outside its data")));
            }
            entries.insert(be32(&raw[..4]), entry);
        }
        Ok(Self { entries, store, bytes })
    }

    /// The length of the header in the file.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the header has `tag`.
    pub fn has(&self, tag: u32) -> bool {
        self.entries.contains_key(&tag)
    }

    /// `count` NUL-terminated strings from `offset`, or `None` when they run past the store.
    fn strings_at(&self, entry: Entry) -> Option<Vec<String>> {
        let mut out = Vec::with_capacity(entry.count.min(65_536));
        let mut at = entry.offset;
        for _ in 0..entry.count {
            let rest = self.store.get(at..)?;
            let end = rest.iter().position(|b| *b == 0)?;
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            at += end + 1;
        }
        Some(out)
    }

    /// A string tag (`STRING`, or the first of an `I18NSTRING` or `STRING_ARRAY`).
    pub fn string(&self, tag: u32) -> Option<String> {
        let entry = *self.entries.get(&tag)?;
        match entry.kind {
            TYPE_STRING | TYPE_I18N_STRING | TYPE_STRING_ARRAY => {
                self.strings_at(Entry { count: 1, ..entry })?.into_iter().next()
            }
            _ => None,
        }
    }

    /// A `STRING_ARRAY` tag (a lone `STRING` reads as one element); empty when absent.
    ///
    /// # Errors
    /// When the tag is present but damaged.
    pub fn strings(&self, tag: u32) -> Result<Vec<String>, InvalidValue> {
        let Some(entry) = self.entries.get(&tag).copied() else { return Ok(Vec::new()) };
        let entry = if entry.kind == TYPE_STRING { Entry { count: 1, ..entry } } else { entry };
        match entry.kind {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18N_STRING => {
                self.strings_at(entry).ok_or_else(|| invalid(format!("the RPM header's tag {tag} is damaged")))
            }
            _ => Err(invalid(format!("the RPM header's tag {tag} is not a string array"))),
        }
    }

    /// An integer array tag (`INT16`, `INT32` or `INT64`), widened; empty when absent.
    ///
    /// # Errors
    /// When the tag is present but damaged.
    pub fn numbers(&self, tag: u32) -> Result<Vec<u64>, InvalidValue> {
        let Some(entry) = self.entries.get(&tag).copied() else { return Ok(Vec::new()) };
        let width = match entry.kind {
            TYPE_INT16 => 2,
            TYPE_INT32 => 4,
            TYPE_INT64 => 8,
            _ => return Err(invalid(format!("the RPM header's tag {tag} is not a number"))),
        };
        let bytes = entry
            .count
            .checked_mul(width)
            .and_then(|len| self.store.get(entry.offset..entry.offset.checked_add(len)?))
            .ok_or_else(|| invalid(format!("the RPM header's tag {tag} is damaged")))?;
        Ok(bytes
            .chunks_exact(width)
            .map(|chunk| chunk.iter().fold(0_u64, |acc, byte| (acc << 8) | u64::from(*byte)))
            .collect())
    }

    /// The first number of an integer tag.
    ///
    /// # Errors
    /// When the tag is present but damaged.
    pub fn number(&self, tag: u32) -> Result<Option<u64>, InvalidValue> {
        Ok(self.numbers(tag)?.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header holding these entries, as rpm writes one (strings NUL-terminated, integers aligned).
    fn header(entries: &[(u32, Value)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, value) in entries {
            let (kind, count, bytes, align) = match value {
                Value::Str(s) => (TYPE_STRING, 1, format!("{s}\0").into_bytes(), 1),
                Value::Strs(list) => (
                    TYPE_STRING_ARRAY,
                    list.len(),
                    list.iter().flat_map(|s| format!("{s}\0").into_bytes()).collect(),
                    1,
                ),
                Value::Int32(list) => (TYPE_INT32, list.len(), list.iter().flat_map(|n| n.to_be_bytes()).collect(), 4),
            };
            while store.len() % align != 0 {
                store.push(0);
            }
            for word in [*tag, kind, u32::try_from(store.len()).unwrap(), u32::try_from(count).unwrap()] {
                index.extend_from_slice(&word.to_be_bytes());
            }
            store.extend_from_slice(&bytes);
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&u32::try_from(store.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&store);
        out
    }

    enum Value {
        Str(&'static str),
        Strs(Vec<&'static str>),
        Int32(Vec<u32>),
    }

    #[test]
    fn entries_read_back_and_offsets_outside_the_store_are_refused() {
        let bytes = header(&[
            (1000, Value::Str("hello")),
            (1049, Value::Strs(vec!["a", "b"])),
            (1048, Value::Int32(vec![8, 12])),
        ]);
        let read = Header::read(&mut bytes.as_slice(), "header").unwrap();
        assert_eq!(read.string(1000).as_deref(), Some("hello"));
        assert_eq!(read.strings(1049).unwrap(), ["a", "b"]);
        assert_eq!(read.numbers(1048).unwrap(), [8, 12]);
        assert_eq!(read.size(), bytes.len());

        let mut damaged = bytes.clone();
        damaged[16 + 8..16 + 12].copy_from_slice(&9999_u32.to_be_bytes());
        assert!(Header::read(&mut damaged.as_slice(), "header").unwrap_err().0.contains("outside"));
        let mut huge = bytes;
        huge[12..16].copy_from_slice(&(MAX_HEADER_BYTES + 1).to_be_bytes());
        assert!(Header::read(&mut huge.as_slice(), "header").unwrap_err().0.contains("at most"));
    }
}
