//! Python registries at `/pypi/{org}/{registry}/`: the simple repository API (`simple/`, PEP 503 HTML and
//! PEP 691 JSON), the upload API twine uses (`legacy/`), file downloads (`files/{id}/{filename}`, a redirect
//! to a short-lived presigned URL) and yanking (`yank/{project}/{version}`).
//!
//! Errors are plain text, which pip and twine print, or JSON for a JSON request; a 401 carries a Basic
//! challenge so pip asks for credentials (or its keyring) instead of failing.

mod simple;
mod upload;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, basic_challenge, current_request_id, reason_phrase, reshape, shaped};
use super::packages::download;
use super::pagination::base_url;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/pypi/{org}/{registry}/{*path}", any(pypi).layer(super::streamed_body_limit(&state.config)))
        .layer(axum::middleware::from_fn(reshape::<PypiError>))
        .with_state(state)
}

/// An error as Python clients read it: plain text by default, JSON when the client asked for JSON.
pub struct PypiError {
    error: ApiError,
    json: bool,
}

impl<E: Into<ApiError>> From<E> for PypiError {
    fn from(error: E) -> Self {
        Self { error: error.into(), json: false }
    }
}

impl PypiError {
    fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }
}

impl IntoResponse for PypiError {
    fn into_response(self) -> Response {
        let ApiError { status, code, message, .. } = self.error;
        let request_id = current_request_id();
        let mut response = if self.json {
            (status, Json(json!({"error": {"code": code, "message": message}, "request_id": request_id})))
                .into_response()
        } else {
            let mut response = (status, format!("{message}\n(request id {request_id})\n")).into_response();
            reason_phrase(&mut response, &message);
            response
        };
        basic_challenge(&mut response);
        shaped(response)
    }
}

type PypiResult<T = Response> = Result<T, PypiError>;

/// A `301 Moved Permanently`, the redirect PEP 503 asks for (axum's `Redirect::permanent` is a 308).
fn moved(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response(),
        Err(_) => PypiError::from(ApiError::not_found("no such project: its name is not a valid project name"))
            .into_response(),
    }
}

fn bad(status: StatusCode, code: &'static str, message: impl Into<String>) -> PypiError {
    PypiError::from(ApiError::new(status, code, message))
}

/// What a path under the registry asks for.
#[derive(Debug, PartialEq)]
enum Target<'a> {
    /// `simple` without its slash, or a project page without its slash.
    AddSlash,
    Index,
    Project(&'a str),
    File {
        id: &'a str,
        filename: &'a str,
    },
    Upload,
    Yank {
        project: &'a str,
        version: &'a str,
    },
}

fn parse_target(path: &str) -> Option<Target<'_>> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["simple", ""] => Some(Target::Index),
        ["simple"] | ["simple", _] => Some(Target::AddSlash),
        ["simple", project, ""] if !project.is_empty() => Some(Target::Project(project)),
        ["files", id, filename] if !id.is_empty() && !filename.is_empty() => Some(Target::File { id, filename }),
        ["legacy"] | ["legacy", ""] => Some(Target::Upload),
        ["yank", project, version] => Some(Target::Yank { project, version }),
        _ => None,
    }
}

/// Everything a handler needs about the request it serves.
struct Request<'a> {
    state: &'a AppState,
    caller: Option<Caller>,
    registry: Registry,
    /// `{scheme}://{host}/pypi/{org}/{registry}`.
    base: String,
}

/// The largest body of a yank: `{"reason": "..."}` with a reason of at most 1,000 characters.
const YANK_BODY_LIMIT: usize = 64 * 1024;

async fn pypi(
    State(state): State<AppState>,
    Path((org, registry, path)): Path<(String, String, String)>,
    parts: Parts,
    body: Body,
) -> PypiResult {
    let wants_json = simple::wants_json(&parts.headers);
    serve(&state, &org, &registry, &path, &parts, body).await.map_err(|error| error.json(wants_json))
}

async fn serve(state: &AppState, org: &str, registry: &str, path: &str, parts: &Parts, body: Body) -> PypiResult {
    let target = parse_target(path)
        .ok_or_else(|| bad(StatusCode::NOT_FOUND, "not_found", format!("no Python endpoint at {path}")))?;
    let method = &parts.method;
    let scope = match (method, &target) {
        (&Method::GET | &Method::HEAD, _) => Scope::ReadPackages,
        _ => Scope::WritePackages,
    };
    let caller = Caller::optional(parts, state).await?;
    let registry = registry_for(state, caller.as_ref(), org, registry, scope).await?;
    if registry.ecosystem != Ecosystem::Python {
        return Err(bad(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("registry {} holds {} packages, not Python ones", registry.slug, registry.ecosystem),
        ));
    }
    let base = format!("{}/pypi/{org}/{}", base_url(state.config.public_url.as_deref(), &parts.headers), registry.slug);
    let request = Request { state, caller, registry, base };
    match (method.clone(), target) {
        (Method::GET | Method::HEAD, Target::AddSlash) => {
            let path = path.trim_end_matches('/');
            let location = match path.strip_prefix("simple/") {
                Some(project) => {
                    format!("{}/simple/{}/", request.base, crate::ecosystems::python::normalize_name(project))
                }
                None => format!("{}/{path}/", request.base),
            };
            Ok(moved(&location))
        }
        (Method::GET | Method::HEAD, Target::Index) => simple::index(&request, &parts.headers).await,
        (Method::GET | Method::HEAD, Target::Project(project)) => {
            simple::project(&request, &parts.headers, project).await
        }
        (method @ (Method::GET | Method::HEAD), Target::File { id, filename }) => {
            let not_found = || bad(StatusCode::NOT_FOUND, "not_found", format!("no file {filename} here"));
            let package =
                state.packages.get_to_download(&request.registry, id, Some(filename)).await.map_err(|_| not_found())?;
            let file = package.file(filename).ok_or_else(not_found)?;
            Ok(download(state, &request.registry, file, &method).await?)
        }
        (Method::POST, Target::Upload) => upload::upload(&request, parts, body).await,
        (Method::POST | Method::DELETE, Target::Yank { project, version }) => {
            let body = axum::body::to_bytes(body, YANK_BODY_LIMIT)
                .await
                .map_err(|_| bad(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "a yank's body is a short reason"))?;
            upload::yank(&request, method == Method::POST, project, version, &body).await
        }
        (method, _) => {
            Err(bad(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not supported here")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_what_python_clients_ask_for() {
        assert_eq!(parse_target("simple/"), Some(Target::Index));
        assert_eq!(parse_target("simple"), Some(Target::AddSlash));
        assert_eq!(parse_target("simple/My.Pkg"), Some(Target::AddSlash));
        assert_eq!(parse_target("simple/my-pkg/"), Some(Target::Project("my-pkg")));
        assert_eq!(
            parse_target("files/01J/my_pkg-1.0.tar.gz"),
            Some(Target::File { id: "01J", filename: "my_pkg-1.0.tar.gz" })
        );
        assert_eq!(parse_target("legacy/"), Some(Target::Upload));
        assert_eq!(parse_target("legacy"), Some(Target::Upload));
        assert_eq!(parse_target("yank/my-pkg/1.0"), Some(Target::Yank { project: "my-pkg", version: "1.0" }));
        assert_eq!(parse_target("simple/a/b/"), None);
        assert_eq!(parse_target("other"), None);
    }
}
