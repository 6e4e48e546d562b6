//! `npm publish` sends one JSON document with the package tarball inside it, base64-encoded at
//! `_attachments.<file>.data`. This splits such a document while reading it: the tarball is decoded
//! straight into a writer, and the rest of the document (small: the version's manifest) is kept with that
//! string emptied, for serde. So a tarball of any size passes through with flat memory.

use std::io::{BufRead, Write};

use base64::Engine;

/// How much of the document, without its attachment, is kept: a manifest with a long readme fits.
pub const DOCUMENT_LIMIT: usize = 8 * 1024 * 1024;

/// The deepest nesting read, as serde_json's own limit: a document of brackets cannot grow the stack.
const MAX_DEPTH: usize = 128;

/// Why a publish document could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("the publish document is not valid JSON: {0}")]
    Malformed(String),
    #[error("the publish document without its tarball is larger than {DOCUMENT_LIMIT} bytes")]
    DocumentTooLarge,
    #[error("attach exactly one tarball")]
    Attachments,
    #[error("the attachment is not base64: {0}")]
    Base64(String),
    #[error("the document could not be read or the tarball written")]
    Io(#[from] std::io::Error),
}

/// What a container being read expects next.
enum Frame {
    /// An object; `key` is the key of the value being read, once its `:` has passed.
    Object {
        key: Option<String>,
        expecting_key: bool,
    },
    Array,
}

/// Splits the document read from `input`: decodes the one `_attachments.*.data` string into `tarball`,
/// and returns the document with that string empty. Returns the document and whether a tarball was found.
///
/// # Errors
/// [`SplitError`] naming what is wrong with the document.
pub fn split(mut input: impl BufRead, mut tarball: impl Write) -> Result<(Vec<u8>, bool), SplitError> {
    let mut document = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut attachments = 0;
    let mut started = false;
    while let Some(byte) = next(&mut input)? {
        if document.len() > DOCUMENT_LIMIT {
            return Err(SplitError::DocumentTooLarge);
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'{' | b'[' if stack.len() >= MAX_DEPTH => {
                return Err(malformed(&format!("it nests deeper than {MAX_DEPTH} levels")));
            }
            b'{' => stack.push(Frame::Object { key: None, expecting_key: true }),
            b'[' => stack.push(Frame::Array),
            b'}' | b']' => {
                stack.pop().ok_or_else(|| malformed("a bracket closes nothing"))?;
            }
            b',' => {
                if let Some(Frame::Object { key, expecting_key }) = stack.last_mut() {
                    *key = None;
                    *expecting_key = true;
                }
            }
            b':' => match stack.last_mut() {
                Some(Frame::Object { expecting_key, .. }) => *expecting_key = false,
                _ => return Err(malformed("a colon outside an object")),
            },
            b'"' => {
                let is_key = matches!(stack.last(), Some(Frame::Object { expecting_key: true, .. }));
                if is_key {
                    let key = read_string(&mut input, &mut document)?;
                    if let Some(Frame::Object { key: slot, .. }) = stack.last_mut() {
                        *slot = Some(key);
                    }
                    continue;
                }
                if is_attachment_data(&stack) {
                    attachments += 1;
                    if attachments > 1 {
                        return Err(SplitError::Attachments);
                    }
                    document.extend_from_slice(b"\"\"");
                    decode_string(&mut input, &mut tarball)?;
                    continue;
                }
                read_string(&mut input, &mut document)?;
                continue;
            }
            _ if byte.is_ascii_alphanumeric() || b"-+.".contains(&byte) => {}
            _ => return Err(malformed(&format!("unexpected byte {byte:#04x}"))),
        }
        started = true;
        document.push(byte);
    }
    if !started || !stack.is_empty() {
        return Err(malformed("the document ends before it is complete"));
    }
    tarball.flush()?;
    Ok((document, attachments == 1))
}

fn malformed(reason: &str) -> SplitError {
    SplitError::Malformed(reason.to_owned())
}

fn next(input: &mut impl BufRead) -> Result<Option<u8>, SplitError> {
    let buffer = input.fill_buf()?;
    let Some(&byte) = buffer.first() else { return Ok(None) };
    input.consume(1);
    Ok(Some(byte))
}

/// Whether the string about to be read is `_attachments.<file>.data` at the top of the document.
fn is_attachment_data(stack: &[Frame]) -> bool {
    matches!(stack, [top, file, data]
        if key_of(top) == Some("_attachments") && key_of(file).is_some() && key_of(data) == Some("data"))
}

/// The key whose value an object frame is reading, once its `:` has passed.
fn key_of(frame: &Frame) -> Option<&str> {
    match frame {
        Frame::Object { key: Some(key), expecting_key: false } => Some(key.as_str()),
        _ => None,
    }
}

/// Reads a string whose opening quote was read, copying it with its quotes into `document`, and returns
/// its text (escapes kept as sent: keys and values are re-read by serde).
fn read_string(input: &mut impl BufRead, document: &mut Vec<u8>) -> Result<String, SplitError> {
    document.push(b'"');
    let start = document.len();
    loop {
        let byte = next(input)?.ok_or_else(|| malformed("a string is not closed"))?;
        document.push(byte);
        match byte {
            b'"' => break,
            b'\\' => document.push(next(input)?.ok_or_else(|| malformed("a string is not closed"))?),
            _ => {}
        }
        if document.len() > DOCUMENT_LIMIT {
            return Err(SplitError::DocumentTooLarge);
        }
    }
    Ok(String::from_utf8_lossy(&document[start..document.len() - 1]).into_owned())
}

/// Decodes a base64 string whose opening quote was read into `out`, a block at a time.
fn decode_string(input: &mut impl BufRead, out: &mut impl Write) -> Result<(), SplitError> {
    const BLOCK: usize = 64 * 1024;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK + 4);
    loop {
        // The plain run up to the next quote or escape is taken in one go: the data is megabytes long.
        let buffer = input.fill_buf()?;
        let run = buffer.iter().position(|byte| matches!(byte, b'"' | b'\\')).unwrap_or(buffer.len());
        if run > 0 {
            pending.extend_from_slice(&buffer[..run]);
            input.consume(run);
        } else {
            let byte = next(input)?.ok_or_else(|| malformed("the attachment's data is not closed"))?;
            match byte {
                b'"' => break,
                // JSON may escape the slash of base64's alphabet.
                b'\\' => match next(input)? {
                    Some(b'/') => pending.push(b'/'),
                    _ => return Err(SplitError::Base64("it contains an escape other than \\/".into())),
                },
                _ => pending.push(byte),
            }
        }
        if pending.len() >= BLOCK {
            let whole = pending.len() - pending.len() % 4;
            let decoded = engine.decode(&pending[..whole]).map_err(|e| SplitError::Base64(e.to_string()))?;
            out.write_all(&decoded)?;
            pending.drain(..whole);
        }
    }
    let decoded = engine.decode(&pending).map_err(|e| SplitError::Base64(e.to_string()))?;
    out.write_all(&decoded)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_bytes(document: &str) -> Result<(serde_json::Value, Vec<u8>, bool), SplitError> {
        let mut tarball = Vec::new();
        let (rest, found) = split(document.as_bytes(), &mut tarball)?;
        Ok((serde_json::from_slice(&rest).expect("the rest is JSON"), tarball, found))
    }

    #[test]
    fn the_attachment_is_decoded_and_the_rest_of_the_document_kept() {
        let bytes: Vec<u8> = (0..200_000_u32).map(|i| (i % 251) as u8).collect();
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes).replace('/', "\\/");
        let document = format!(
            r#"{{"name":"demo","versions":{{"1.0.0":{{"data":"not this one","readme":"a \"quoted\" {{}}"}}}},
               "_attachments":{{"demo-1.0.0.tgz":{{"content_type":"application/octet-stream","data":"{data}","length":200000}}}}}}"#
        );
        let (rest, tarball, found) = split_bytes(&document).unwrap();
        assert!(found);
        assert!(tarball == bytes, "the tarball came out different");
        assert_eq!(rest["versions"]["1.0.0"]["data"], "not this one");
        assert_eq!(rest["versions"]["1.0.0"]["readme"], "a \"quoted\" {}");
        assert_eq!(rest["_attachments"]["demo-1.0.0.tgz"]["data"], "");
        assert_eq!(rest["_attachments"]["demo-1.0.0.tgz"]["length"], 200000);
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        assert!(matches!(split_bytes(r#"{"name": "x""#), Err(SplitError::Malformed(_))));
        assert!(matches!(split_bytes(""), Err(SplitError::Malformed(_))));
        assert!(matches!(split_bytes(r#"{"_attachments":{"a":{"data":"!!!!"}}}"#), Err(SplitError::Base64(_))));
        let two = r#"{"_attachments":{"a":{"data":"AAAA"},"b":{"data":"AAAA"}}}"#;
        assert!(matches!(split_bytes(two), Err(SplitError::Attachments)));
        let (_, _, found) = split_bytes(r#"{"name":"x","_attachments":{}}"#).unwrap();
        assert!(!found);
        let deep = "[".repeat(1_000_000);
        assert!(matches!(split_bytes(&deep), Err(SplitError::Malformed(reason)) if reason.contains("deeper")));
    }
}
