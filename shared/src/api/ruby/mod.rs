//! RubyGems registries at `/ruby/{org}/{registry}/`, the gem source base: `gem push` (`POST api/v1/gems`,
//! the API key bare in `Authorization`), `gem yank` (`DELETE api/v1/gems/yank`), the compact index bundler
//! and gem read (`versions`, `info/{gem}`, `names`), the legacy index (`specs.4.8.gz`,
//! `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`, `quick/Marshal.4.8/{gem}.gemspec.rz`) and downloads
//! (`gems/{gem}.gem`, a redirect to a presigned URL).
//!
//! Errors are plain text, which gem and bundler print; a 401 carries a Basic challenge, so bundler says
//! which credentials to configure.

mod index;
mod push;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, current_request_id, reshape, shaped};
use super::packages::download;
use crate::domain::names::Ecosystem;
use crate::domain::package::Package;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;

pub fn routes(state: AppState) -> Router {
    let base = "/ruby/{org}/{registry}";
    Router::new()
        .route(&format!("{base}/api/v1/gems"), post(push::push_gem).layer(super::streamed_body_limit(&state.config)))
        .route(&format!("{base}/api/v1/gems/yank"), delete(push::yank_gem))
        .route(&format!("{base}/info/{{name}}"), get(index::get_info))
        .route(&format!("{base}/{{file}}"), get(index::get_index_file))
        .route(&format!("{base}/quick/Marshal.4.8/{{file}}"), get(index::get_quick_spec))
        .route(&format!("{base}/gems/{{file}}"), get(download_gem))
        .layer(axum::middleware::from_fn(reshape::<RubyError>))
        .with_state(state)
}

/// An error as gem and bundler show it: its message as plain text.
pub struct RubyError(ApiError);

impl<E: Into<ApiError>> From<E> for RubyError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for RubyError {
    fn into_response(self) -> Response {
        let ApiError { status, message, .. } = self.0;
        let mut response = (status, format!("{message}\n(request id {})\n", current_request_id())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"packyard\""));
        }
        shaped(response)
    }
}

type RubyResult<T = Response> = Result<T, RubyError>;

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> RubyError {
    RubyError(ApiError::new(status, code, message))
}

/// The registry, once the caller may use it with `scope`, if it holds gems.
async fn gem_registry(
    state: &AppState,
    caller: Option<&Caller>,
    org: &str,
    registry: &str,
    scope: Scope,
) -> RubyResult<Registry> {
    let registry = registry_for(state, caller, org, registry, scope).await?;
    if registry.ecosystem != Ecosystem::Ruby {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("registry {} holds {} packages, not gems", registry.slug, registry.ecosystem),
        ));
    }
    Ok(registry)
}

/// The version a file stem (`{name}-{number}[-{platform}]`) stands for. Names may hold `-` and digits,
/// so each split before a digit is tried, the longest name last.
async fn gem_by_full_name(state: &AppState, registry: &Registry, full_name: &str) -> RubyResult<Package> {
    let splits = full_name.match_indices('-').map(|(at, _)| at);
    for at in splits {
        let (name, version) = (&full_name[..at], &full_name[at + 1..]);
        if !version.starts_with(|c: char| c.is_ascii_digit())
            || crate::ecosystems::ruby::validate_gem_name(name).is_err()
            || version.contains('#')
        {
            continue;
        }
        if let Some(package) = state.packages.get_version(registry, name, version).await? {
            return Ok(package);
        }
    }
    Err(refused(StatusCode::NOT_FOUND, "not_found", format!("no gem {full_name} in this registry")))
}

/// `GET gems/{name}-{version}.gem`: a redirect to a short-lived presigned URL; `HEAD` answers from metadata.
async fn download_gem(
    State(state): State<AppState>,
    caller: Option<Caller>,
    method: Method,
    Path((org, registry, file)): Path<(String, String, String)>,
) -> RubyResult {
    let registry = gem_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    let stem = file
        .strip_suffix(".gem")
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "not_found", format!("no file {file} here; gems end in .gem")))?;
    let package = gem_by_full_name(&state, &registry, stem).await?;
    let stored = package.files.first().ok_or_else(|| refused(StatusCode::NOT_FOUND, "not_found", "no .gem stored"))?;
    Ok(download(&state, &registry, stored, &method).await?)
}
