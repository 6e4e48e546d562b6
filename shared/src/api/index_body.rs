//! A name's index as a response body that is written while it is read: the first page of index entries is
//! read before the response starts (so an unknown name is a 404), every further page as the client takes
//! the bytes. No version is decoded and no whole document is held, so memory stays flat for any number of
//! versions (under Lambda the runtime collects the body, which stays under 6 MB: see benchmarks/packument.md).

use axum::body::{Body, Bytes};

use crate::domain::registry::Registry;
use crate::ecosystems::index::IndexEntry;
use crate::service::package_index::{IndexCursor, IndexPage};
use crate::service::packages::Packages;

/// One document made of a name's index entries: what goes between and after them.
pub trait IndexDocument: Send + 'static {
    /// Appends one version's part.
    fn entry(&mut self, entry: &IndexEntry, out: &mut Vec<u8>);
    /// Appends what follows the last version.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// Where the walk through a name's index is.
struct Walk<D> {
    packages: Packages,
    registry: Registry,
    name: String,
    head: Vec<u8>,
    entries: Vec<IndexEntry>,
    next: Option<IndexCursor>,
    document: D,
}

/// The body: `head`, then `document`'s rendering of `first`'s entries and of every page after it.
pub fn stream(
    packages: &Packages,
    registry: &Registry,
    name: &str,
    first: IndexPage,
    head: Vec<u8>,
    document: impl IndexDocument,
) -> Body {
    let walk = Walk {
        packages: packages.clone(),
        registry: registry.clone(),
        name: name.to_owned(),
        head,
        entries: first.entries,
        next: first.next,
        document,
    };
    Body::from_stream(futures_util::stream::unfold(Some(walk), |walk| async move {
        let mut walk = walk?;
        if walk.entries.is_empty()
            && let Some(cursor) = walk.next.take()
        {
            match walk.packages.index_page(&walk.registry, &walk.name, cursor).await {
                Ok(page) => (walk.entries, walk.next) = (page.entries, page.next),
                Err(error) => {
                    // The status is sent already; the client sees a cut body and fails, nothing half-valid.
                    tracing::error!(registry.slug = %walk.registry.slug, package.name = %walk.name, error = %error,
                        "reading the index of {} failed mid-response", walk.name);
                    return Some((Err(std::io::Error::other(error.to_string())), None));
                }
            }
        }
        let mut out = std::mem::take(&mut walk.head);
        out.reserve(walk.entries.iter().map(IndexEntry::size).sum::<usize>() + 64);
        for entry in std::mem::take(&mut walk.entries) {
            walk.document.entry(&entry, &mut out);
        }
        if walk.next.is_some() {
            return Some((Ok(Bytes::from(out)), Some(walk)));
        }
        walk.document.finish(&mut out);
        Some((Ok(Bytes::from(out)), None))
    }))
}

/// Text as a JSON string literal.
pub fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Text escaped to sit inside a JSON string literal (the literal without its quotes).
pub fn json_inner(text: &str) -> String {
    let quoted = json_string(text);
    quoted[1..quoted.len() - 1].to_owned()
}
