//! `gem push` and `gem yank`. A push's body is the `.gem` itself: it is spooled as it streams (hashed on the
//! way), its gemspec read and checked, and it is published as the version its gemspec names, the platform
//! making a version of its own. A yank takes `gem_name`, `version` and optionally `platform` as a form.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{RubyResult, gem_registry, refused};
use crate::api::AppState;
use crate::api::context::Caller;
use crate::api::error::ApiError;
use crate::api::spool::spool;
use crate::domain::error::Error;
use crate::domain::package::DistTags;
use crate::domain::token::Scope;
use crate::ecosystems::ruby::gem::read_gem;
use crate::ecosystems::ruby::{validate_gem_name, validate_number, validate_platform, version_key};
use crate::service::publish::{Received, ReceivedFile};

fn needs_key(what: &str) -> Error {
    Error::Unauthenticated(format!("{what} needs an API key: set GEM_HOST_API_KEY to a Packyard token"))
}

/// `POST api/v1/gems`: publishes the `.gem` in the body.
pub async fn push_gem(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    body: Body,
) -> RubyResult {
    let caller = caller.ok_or_else(|| needs_key("pushing a gem"))?;
    let registry = gem_registry(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let spooled = spool(body.into_data_stream(), state.config.max_body_bytes as u64, &state.config.spool_dir)
        .await
        .map_err(ApiError::from)?;
    let spec = spooled
        .read_with(|input| read_gem(input).map_err(|error| ApiError::bad_request("invalid_gem", error.0)))
        .await?;
    let version = spec.packyard_version();
    let shown = format!("{} ({})", spec.name, version);
    let received = Received {
        name: spec.name.clone(),
        version: version.clone(),
        files: vec![ReceivedFile {
            filename: format!("{}.gem", spec.full_name()),
            path: spooled.path().to_owned(),
            size: spooled.size,
            digests: spooled.digests.clone(),
        }],
        metadata: json!({ "gem": spec }),
        tags: DistTags::new(),
    };
    match state.packages.publish_received(&caller.acting(), &registry, received).await {
        Ok(_) => Ok((StatusCode::OK, format!("Successfully registered gem: {shown}\n")).into_response()),
        Err(Error::Conflict(message)) if message.contains("immutable") => Err(refused(
            StatusCode::CONFLICT,
            "version_exists",
            format!(
                "Repushing of gem versions is not allowed: {shown} is already in this registry. Push a new version, or `gem yank` a bad one."
            ),
        )),
        Err(error) => Err(error.into()),
    }
}

/// The largest yank form: a gem name, a version and a platform.
const YANK_FORM_LIMIT: usize = 16 * 1024;

/// `DELETE api/v1/gems/yank` with `gem_name`, `version` and optionally `platform`: the version stops
/// being offered to new resolutions (bundler refuses it in a fresh lock); installs that locked it still
/// download it.
pub async fn yank_gem(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    body: Body,
) -> RubyResult<Response> {
    let caller = caller.ok_or_else(|| needs_key("yanking a gem"))?;
    let registry = gem_registry(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let form = axum::body::to_bytes(body, YANK_FORM_LIMIT)
        .await
        .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "a yank is a short form"))?;
    let field = |name: &str| {
        url::form_urlencoded::parse(&form)
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let invalid = |message: String| refused(StatusCode::BAD_REQUEST, "invalid_yank", message);
    let name = field("gem_name").ok_or_else(|| invalid("send the gem's name as the form field gem_name".into()))?;
    let number =
        field("version").ok_or_else(|| invalid("send the version to yank as the form field version".into()))?;
    let platform = field("platform").unwrap_or_else(|| "ruby".into());
    validate_gem_name(&name).map_err(|e| invalid(e.0))?;
    validate_number(&number).map_err(|e| invalid(e.0))?;
    validate_platform(&platform).map_err(|e| invalid(e.0))?;
    let version = version_key(&number, &platform);
    match state.packages.set_yanked(&caller.acting(), &registry, &name, &version, Some("")).await {
        Ok(()) => Ok((StatusCode::OK, format!("Successfully deleted gem: {name} ({version})\n")).into_response()),
        Err(Error::NotFound(_)) => Err(refused(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("The version {version} of {name} does not exist in this registry."),
        )),
        Err(error) => Err(error.into()),
    }
}
