//! The simple repository API: the project index and one project's files, as PEP 503 HTML or PEP 691 JSON
//! chosen by `Accept` (with q-values; HTML when the client names neither), always with `Vary: Accept`.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{PypiResult, Request, bad};
use crate::api::index_body::{self, IndexDocument, json_inner, json_string};
use crate::ecosystems::index::{IndexEntry, PYPI_HTML, PYPI_JSON, escape_html};
use crate::ecosystems::python::normalize_name;

const JSON: &str = "application/vnd.pypi.simple.v1+json";
const HTML: &str = "application/vnd.pypi.simple.v1+html";

/// The representation a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// HTML under this content type: PEP 691's own when the client named it, else `text/html`.
    Html(&'static str),
}

/// The `Accept` header's media ranges with their q-values.
fn ranges(headers: &HeaderMap) -> Vec<(String, f32)> {
    let accept = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().filter(|m| !m.is_empty())?.to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((media, q))
        })
        .collect()
}

/// The best q-value `accept` gives `media` (exact names beat wildcards), `None` when it is not acceptable.
fn quality(ranges: &[(String, f32)], media: &str) -> Option<f32> {
    let kind = media.split('/').next().unwrap_or_default();
    let exact = ranges.iter().filter(|(m, _)| m == media).map(|(_, q)| *q).reduce(f32::max);
    let wild = ranges.iter().filter(|(m, _)| m == "*/*" || *m == format!("{kind}/*")).map(|(_, q)| *q).reduce(f32::max);
    exact.or(wild).filter(|q| *q > 0.0)
}

/// What the client accepts, by PEP 691: JSON when it prefers it, HTML by default.
///
/// # Errors
/// 406 when the client accepts neither.
pub fn negotiate(headers: &HeaderMap) -> PypiResult<Format> {
    let ranges = ranges(headers);
    if ranges.is_empty() {
        return Ok(Format::Html("text/html"));
    }
    let json = quality(&ranges, JSON).or_else(|| quality(&ranges, "application/vnd.pypi.simple.latest+json"));
    let html_v1 = quality(&ranges, HTML).or_else(|| quality(&ranges, "application/vnd.pypi.simple.latest+html"));
    let text = quality(&ranges, "text/html");
    let html = match (html_v1, text) {
        (Some(v1), Some(text)) if text >= v1 => Some((text, "text/html")),
        (Some(v1), _) => Some((v1, HTML)),
        (None, Some(text)) => Some((text, "text/html")),
        (None, None) => None,
    };
    match (json, html) {
        (Some(json), Some((html, _))) if json > html => Ok(Format::Json),
        (Some(_), None) => Ok(Format::Json),
        (_, Some((_, content_type))) => Ok(Format::Html(content_type)),
        (None, None) => Err(bad(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this index serves {JSON}, {HTML} and text/html"),
        )),
    }
}

/// Whether an error for this request should be JSON.
pub fn wants_json(headers: &HeaderMap) -> bool {
    matches!(negotiate(headers), Ok(Format::Json))
}

fn page(format: Format, title: &str, json: &Value, links: &[String]) -> Response {
    let (content_type, body) = match format {
        Format::Json => (JSON, json.to_string()),
        Format::Html(content_type) => (
            content_type,
            format!(
                "{}{}{HTML_END}",
                html_head(title),
                links.iter().map(|link| format!("{link}<br>\n")).collect::<String>()
            ),
        ),
    };
    with_headers(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// An HTML page up to its first link.
fn html_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n<title>{0}</title>\n</head>\n<body>\n<h1>{0}</h1>\n",
        escape_html(title)
    )
}

const HTML_END: &str = "</body>\n</html>\n";

/// A simple page's caching and negotiation headers.
fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Authorization"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    response
}

/// `simple/`: every project in the registry, from its names' summaries (one small record a project).
pub async fn index(request: &Request<'_>, headers: &HeaderMap) -> PypiResult {
    let format = negotiate(headers)?;
    let names: BTreeSet<String> =
        request.state.packages.all_names(&request.registry).await?.into_iter().map(|summary| summary.name).collect();
    let json = json!({"meta": {"api-version": "1.1"}, "projects": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()});
    let links: Vec<String> = names.iter().map(|name| format!("<a href=\"{0}/\">{0}</a>", escape_html(name))).collect();
    Ok(page(format, "Simple index", &json, &links))
}

/// `simple/{project}/`: every file of every version, with its hash, `Requires-Python` and yanked flag, joined
/// from the versions' index entries as it is sent (one query a thousand versions, no version decoded).
pub async fn project(request: &Request<'_>, headers: &HeaderMap, project: &str) -> PypiResult {
    let normalized = normalize_name(project);
    if normalized != project {
        return Ok(super::moved(&format!("{}/simple/{normalized}/", request.base)));
    }
    let format = negotiate(headers)?;
    let (packages, registry) = (&request.state.packages, &request.registry);
    let first = packages.first_index_page(registry, project).await?;
    if first.entries.is_empty() {
        return Err(bad(StatusCode::NOT_FOUND, "not_found", format!("project {project} is not in this registry")));
    }
    let (content_type, head, document) = match format {
        Format::Json => (
            JSON,
            format!(r#"{{"meta":{{"api-version":"1.1"}},"name":{},"files":["#, json_string(project)),
            SimplePage { html: false, base: json_inner(&request.base), files: 0, versions: Vec::new() },
        ),
        Format::Html(content_type) => (
            content_type,
            html_head(&format!("Links for {project}")),
            SimplePage { html: true, base: escape_html(&request.base), files: 0, versions: Vec::new() },
        ),
    };
    let body = index_body::stream(packages, registry, project, first, head.into_bytes(), document);
    Ok(with_headers(([(header::CONTENT_TYPE, content_type)], body).into_response()))
}

/// The simple page after its head, a version at a time; the JSON form lists the versions at its end.
struct SimplePage {
    html: bool,
    /// The base URL, escaped for the page's syntax.
    base: String,
    files: usize,
    versions: Vec<u8>,
}

impl IndexDocument for SimplePage {
    fn entry(&mut self, entry: &IndexEntry, out: &mut Vec<u8>) {
        if self.html {
            entry.write(PYPI_HTML, &self.base, out);
            return;
        }
        let before = out.len();
        if self.files > 0 {
            out.push(b',');
        }
        if entry.write(PYPI_JSON, &self.base, out) {
            self.files += 1;
        } else {
            out.truncate(before);
        }
        if !self.versions.is_empty() {
            self.versions.push(b',');
        }
        self.versions.extend_from_slice(json_string(&entry.version).as_bytes());
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.html {
            out.extend_from_slice(HTML_END.as_bytes());
        } else {
            out.extend_from_slice(b"],\"versions\":[");
            out.extend_from_slice(&self.versions);
            out.extend_from_slice(b"]}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> PypiResult<Format> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn accept_picks_the_representation_by_q_value() {
        assert_eq!(negotiate(&HeaderMap::new()).ok(), Some(Format::Html("text/html")));
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(accept(pip).ok(), Some(Format::Json));
        assert_eq!(
            accept("application/vnd.pypi.simple.v1+json;q=0.2, text/html").ok(),
            Some(Format::Html("text/html"))
        );
        assert_eq!(accept(HTML).ok(), Some(Format::Html(HTML)));
        assert_eq!(accept("*/*").ok(), Some(Format::Html("text/html")));
        assert_eq!(accept("application/vnd.pypi.simple.latest+json").ok(), Some(Format::Json));
        assert!(accept("application/xml").is_err());
        assert!(accept("application/vnd.pypi.simple.v1+json;q=0").is_err());
    }

    #[test]
    fn html_escapes_attribute_text() {
        assert_eq!(escape_html(">=3.8, <4 & \"x'"), "&gt;=3.8, &lt;4 &amp; &quot;x&#x27;");
    }
}
