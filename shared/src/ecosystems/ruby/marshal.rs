//! Ruby's Marshal format 4.8, written from Rust, for the legacy index: `specs.4.8.gz` and friends are a
//! Marshal array of `[name, Gem::Version, platform]`, and `quick/Marshal.4.8/{gem}.gemspec.rz` is a
//! deflated Marshal `Gem::Specification` (its `_dump` array). Only the few shapes these need are written.

use std::collections::HashMap;
use std::io::Write;

use super::{Constraint, GemSpec};

/// A Ruby value, as far as the indexes use them.
#[derive(Debug, Clone, PartialEq)]
pub enum Ruby {
    Nil,
    Bool(bool),
    Int(i32),
    /// A UTF-8 string (written with its `E` encoding flag).
    Str(String),
    Sym(String),
    Array(Vec<Ruby>),
    Hash(Vec<(Ruby, Ruby)>),
    /// An object whose class defines `marshal_dump` (`Gem::Version`, `Gem::Requirement`): type `U`.
    UserMarshal(&'static str, Box<Ruby>),
    /// An object whose class defines `_dump` (`Gem::Specification`): type `u`, its dump as bytes.
    UserDump(&'static str, Vec<u8>),
    /// A plain object and its instance variables (`Gem::Dependency`): type `o`.
    Object(&'static str, Vec<(&'static str, Ruby)>),
}

impl Ruby {
    pub fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }
}

/// Marshal's compact integer: small values in one byte, others as 1 to 4 little-endian bytes.
fn long(out: &mut Vec<u8>, value: i32) {
    match value {
        0 => out.push(0),
        1..=122 => out.push((value + 5) as u8),
        -123..=-1 => out.push((value - 5) as u8),
        _ => {
            let bytes = value.to_le_bytes();
            let mut len = 4;
            // The fewest bytes whose sign extension gives the value back.
            let fill = if value < 0 { 0xff } else { 0 };
            while len > 1 && bytes[len - 1] == fill {
                len -= 1;
            }
            let len_i8 = len as i8;
            out.push(if value < 0 { (-len_i8) as u8 } else { len_i8 as u8 });
            out.extend_from_slice(&bytes[..len]);
        }
    }
}

fn bytes(out: &mut Vec<u8>, data: &[u8]) {
    long(out, i32::try_from(data.len()).unwrap_or(i32::MAX));
    out.extend_from_slice(data);
}

struct Writer {
    out: Vec<u8>,
    symbols: HashMap<String, i32>,
}

impl Writer {
    fn symbol(&mut self, name: &str) {
        if let Some(index) = self.symbols.get(name) {
            self.out.push(b';');
            long(&mut self.out, *index);
        } else {
            let index = i32::try_from(self.symbols.len()).unwrap_or(i32::MAX);
            self.symbols.insert(name.to_owned(), index);
            self.out.push(b':');
            bytes(&mut self.out, name.as_bytes());
        }
    }

    fn value(&mut self, value: &Ruby) {
        match value {
            Ruby::Nil => self.out.push(b'0'),
            Ruby::Bool(true) => self.out.push(b'T'),
            Ruby::Bool(false) => self.out.push(b'F'),
            Ruby::Int(number) => {
                self.out.push(b'i');
                long(&mut self.out, *number);
            }
            Ruby::Str(text) => {
                self.out.extend_from_slice(b"I\"");
                bytes(&mut self.out, text.as_bytes());
                long(&mut self.out, 1);
                self.symbol("E");
                self.out.push(b'T');
            }
            Ruby::Sym(name) => self.symbol(name),
            Ruby::Array(items) => {
                self.out.push(b'[');
                long(&mut self.out, i32::try_from(items.len()).unwrap_or(i32::MAX));
                items.iter().for_each(|item| self.value(item));
            }
            Ruby::Hash(pairs) => {
                self.out.push(b'{');
                long(&mut self.out, i32::try_from(pairs.len()).unwrap_or(i32::MAX));
                for (key, value) in pairs {
                    self.value(key);
                    self.value(value);
                }
            }
            Ruby::UserMarshal(class, data) => {
                self.out.push(b'U');
                self.symbol(class);
                self.value(data);
            }
            Ruby::UserDump(class, data) => {
                self.out.push(b'u');
                self.symbol(class);
                bytes(&mut self.out, data);
            }
            Ruby::Object(class, ivars) => {
                self.out.push(b'o');
                self.symbol(class);
                long(&mut self.out, i32::try_from(ivars.len()).unwrap_or(i32::MAX));
                for (name, value) in ivars {
                    self.symbol(name);
                    self.value(value);
                }
            }
        }
    }
}

/// `Marshal.dump(value)`.
pub fn dump(value: &Ruby) -> Vec<u8> {
    let mut writer = Writer { out: vec![4, 8], symbols: HashMap::new() };
    writer.value(value);
    writer.out
}

pub fn version(number: &str) -> Ruby {
    Ruby::UserMarshal("Gem::Version", Box::new(Ruby::Array(vec![Ruby::str(number)])))
}

fn requirement(constraints: &[Constraint]) -> Ruby {
    let pairs = constraints.iter().map(|(op, number)| Ruby::Array(vec![Ruby::str(op.as_str()), version(number)]));
    Ruby::UserMarshal("Gem::Requirement", Box::new(Ruby::Array(vec![Ruby::Array(pairs.collect())])))
}

fn strings(items: &[String]) -> Ruby {
    Ruby::Array(items.iter().map(|item| Ruby::str(item.as_str())).collect())
}

fn optional(text: Option<&String>) -> Ruby {
    text.map_or(Ruby::Nil, |text| Ruby::str(text.as_str()))
}

/// The bytes of `quick/Marshal.4.8/{gem}.gemspec.rz` before deflating: `Marshal.dump(spec)`, which is
/// the `u` wrapper around the array `Gem::Specification#_dump` writes (rubygems' `_load` reads it back).
pub fn gemspec(spec: &GemSpec) -> Vec<u8> {
    let dependencies = spec
        .dependencies
        .iter()
        .map(|dep| {
            Ruby::Object(
                "Gem::Dependency",
                vec![
                    ("@name", Ruby::str(dep.name.as_str())),
                    ("@requirement", requirement(&dep.requirements)),
                    ("@type", Ruby::Sym(if dep.runtime { "runtime" } else { "development" }.into())),
                    ("@prerelease", Ruby::Bool(false)),
                ],
            )
        })
        .collect();
    let email = match spec.email.as_slice() {
        [] => Ruby::Nil,
        [one] => Ruby::str(one.as_str()),
        many => strings(many),
    };
    let metadata =
        Ruby::Hash(spec.metadata.iter().map(|(k, v)| (Ruby::str(k.as_str()), Ruby::str(v.as_str()))).collect());
    let fields = Ruby::Array(vec![
        Ruby::str(spec.rubygems_version.as_str()),
        Ruby::Int(i32::try_from(spec.specification_version).unwrap_or(4)),
        Ruby::str(spec.name.as_str()),
        version(&spec.number),
        // `date=` accepts `YYYY-MM-DD`; a Time would need Marshal's Time layout for nothing.
        Ruby::str(spec.date.as_str()),
        Ruby::str(spec.summary.as_str()),
        requirement(&spec.required_ruby_version),
        requirement(&spec.required_rubygems_version),
        Ruby::str(spec.platform.as_str()),
        Ruby::Array(dependencies),
        Ruby::str(""),
        email,
        strings(&spec.authors),
        optional(spec.description.as_ref()),
        optional(spec.homepage.as_ref()),
        Ruby::Bool(true),
        Ruby::str(spec.platform.as_str()),
        strings(&spec.licenses),
        metadata,
    ]);
    dump(&Ruby::UserDump("Gem::Specification", dump(&fields)))
}

/// One entry of a specs index: `[name, Gem::Version, platform]`.
pub fn spec_tuple(name: &str, number: &str, platform: &str) -> Ruby {
    Ruby::Array(vec![Ruby::str(name), version(number), Ruby::str(platform)])
}

/// zlib-deflated bytes (the `.rz` of the quick index).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = out.write_all(data);
    out.finish().unwrap_or_default()
}

/// gzipped bytes (the `.gz` of the specs indexes).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = out.write_all(data);
    out.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_use_marshals_compact_forms() {
        let encoded = |n: i32| {
            let mut out = Vec::new();
            long(&mut out, n);
            out
        };
        assert_eq!(encoded(0), [0]);
        assert_eq!(encoded(4), [9]);
        assert_eq!(encoded(122), [127]);
        assert_eq!(encoded(123), [1, 123]);
        assert_eq!(encoded(256), [2, 0, 1]);
        assert_eq!(encoded(-1), [0xfa]);
        assert_eq!(encoded(-124), [0xff, 0x84]);
    }

    #[test]
    fn a_specs_tuple_is_what_ruby_dumps() {
        // Marshal.dump([["a", Gem::Version.new("1.0"), "ruby"]]) in Ruby 3.1 with UTF-8 strings.
        let dumped = dump(&Ruby::Array(vec![spec_tuple("a", "1.0", "ruby")]));
        let expected: &[u8] =
            b"\x04\x08[\x06[\x08I\"\x06a\x06:\x06ETU:\x11Gem::Version[\x06I\"\x081.0\x06;\x00TI\"\x09ruby\x06;\x00T";
        assert_eq!(dumped, expected);
    }
}
