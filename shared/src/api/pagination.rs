//! Cursor pagination: `?per_page=N&cursor=C` in, `links.next` out. A cursor is the opaque, URL-safe form
//! of the last key a page ended on; it is only ever resolved inside the caller's own organization.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

pub const DEFAULT_PER_PAGE: usize = 30;
pub const MAX_PER_PAGE: usize = 100;

/// The `links` object of a page: the URL of the next page, `null` on the last.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Links {
    pub next: Option<String>,
}

/// A page request parsed from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub per_page: usize,
    pub after: Option<String>,
}

impl PageRequest {
    /// # Errors
    /// 400 for a `per_page` outside 1..=100 or a cursor this API did not hand out.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let per_page = match query.get("per_page") {
            None => DEFAULT_PER_PAGE,
            Some(text) => text.parse().ok().filter(|n| (1..=MAX_PER_PAGE).contains(n)).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_per_page",
                    format!("per_page must be a whole number from 1 to {MAX_PER_PAGE}, not {text:?}"),
                )
                .with_field("per_page")
            })?,
        };
        let after = query
            .get("cursor")
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .filter(|after| !after.is_empty())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_cursor",
                            "the cursor is not one this API handed out; start from the first page",
                        )
                        .with_field("cursor")
                    })
            })
            .transpose()?;
        Ok(Self { per_page, after })
    }

    /// The absolute URL of the page after one that ended at `next`.
    pub fn next_link(&self, base: &str, path: &str, next: Option<&str>) -> Option<String> {
        next.map(|after| format!("{base}{path}?per_page={}&cursor={}", self.per_page, URL_SAFE_NO_PAD.encode(after)))
    }
}

/// The scheme and host clients reach this API at: the configured public URL, else what the request says.
/// For links in answers only: the request's headers are the caller's to choose, so no access decision may
/// depend on this.
pub fn base_url(configured: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(url) = configured {
        return url.trim_end_matches('/').to_owned();
    }
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("host").unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&str, &str)]) -> Result<PageRequest, ApiError> {
        PageRequest::from_query(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn a_next_link_carries_a_cursor_that_parses_back_to_the_same_position() {
        let first = request(&[("per_page", "2")]).unwrap();
        let link = first.next_link("http://h", "/r", Some("REGISTRY#b")).unwrap();
        let cursor = link.split("cursor=").nth(1).unwrap();
        let second = request(&[("per_page", "2"), ("cursor", cursor)]).unwrap();
        assert_eq!(second.after.as_deref(), Some("REGISTRY#b"));
        assert_eq!(first.next_link("http://h", "/r", None), None);
    }

    #[test]
    fn bad_page_sizes_and_cursors_are_refused() {
        for bad in ["0", "101", "-1", "ten"] {
            assert_eq!(request(&[("per_page", bad)]).unwrap_err().code, "invalid_per_page");
        }
        assert_eq!(request(&[("cursor", "!!")]).unwrap_err().code, "invalid_cursor");
    }
}
