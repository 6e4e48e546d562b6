//! The npm registry protocol at `/npm/{org}/{registry}/`: packuments, publish, tarball downloads (redirects
//! to presigned URLs), dist-tags, unpublish, whoami. Errors use npm's `{"error": "..."}` shape.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, current_request_id, reshape, shaped};
use super::index_body::{self, IndexDocument, json_inner, json_string};
use super::packages::download;
use super::pagination::base_url;
use super::spool::spool_part;
use crate::domain::error::Error;
use crate::domain::names::Ecosystem;
use crate::domain::package::Package;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::index::{IndexEntry, NPM_FULL, NPM_SHORT, npm_manifest, npm_tarball_name};
use crate::ecosystems::npm::{Publish, check_document, check_tarball};
use crate::ecosystems::npm_attachment;
use crate::service::publish::{Received, ReceivedFile};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/npm/{org}/{registry}/{*path}", any(npm))
        .layer(axum::middleware::from_fn(reshape::<NpmError>))
        .with_state(state)
}

/// An error in npm's shape: npm prints `error` to the user.
struct NpmError(ApiError);

impl<E: Into<ApiError>> From<E> for NpmError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for NpmError {
    fn into_response(self) -> Response {
        let ApiError { status, code, message, .. } = self.0;
        let mut response =
            (status, Json(json!({"error": message, "code": code, "request_id": current_request_id()}))).into_response();
        if status == StatusCode::UNAUTHORIZED
            && let Ok(value) = "Bearer realm=\"packyard\"".parse()
        {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, value);
        }
        shaped(response)
    }
}

type NpmResult<T = Response> = Result<T, NpmError>;

fn bad(status: StatusCode, code: &'static str, message: impl Into<String>) -> NpmError {
    NpmError(ApiError::new(status, code, message))
}

/// What a request path under the registry asks for.
#[derive(Debug, PartialEq)]
enum Target<'a> {
    Whoami,
    Ping,
    Audit,
    DistTags { name: &'a str, tag: Option<&'a str> },
    Packument { name: &'a str },
    Revision { name: &'a str },
    Tarball { name: &'a str, file: &'a str },
    Manifest { name: &'a str, version: &'a str },
}

/// Splits a path into its package name (`name` or `@scope/name`) and what follows it.
fn split_name(path: &str) -> (&str, &str) {
    let end = if path.starts_with('@') {
        path.match_indices('/').nth(1).map_or(path.len(), |(index, _)| index)
    } else {
        path.find('/').unwrap_or(path.len())
    };
    (&path[..end], path[end..].trim_start_matches('/'))
}

fn parse_target(path: &str) -> Option<Target<'_>> {
    match path {
        "-/whoami" => return Some(Target::Whoami),
        "-/ping" => return Some(Target::Ping),
        "-/npm/v1/security/advisories/bulk" | "-/npm/v1/security/audits/quick" => return Some(Target::Audit),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("-/package/") {
        let (name, rest) = split_name(rest);
        let tag = match rest {
            "dist-tags" => None,
            _ => Some(rest.strip_prefix("dist-tags/")?),
        };
        return Some(Target::DistTags { name, tag });
    }
    let (name, rest) = split_name(path);
    if name.is_empty() || name.starts_with('-') {
        return None;
    }
    if rest.is_empty() {
        Some(Target::Packument { name })
    } else if rest.starts_with("-rev/") {
        Some(Target::Revision { name })
    } else if let Some(tarball) = rest.strip_prefix("-/") {
        let file = tarball.split("/-rev/").next().unwrap_or(tarball);
        (!file.is_empty() && !file.contains('/')).then_some(Target::Tarball { name, file })
    } else {
        (!rest.contains('/')).then_some(Target::Manifest { name, version: rest })
    }
}

#[allow(clippy::too_many_arguments)]
async fn npm(
    State(state): State<AppState>,
    caller: Option<Caller>,
    method: Method,
    Path((org, registry, path)): Path<(String, String, String)>,
    Query(_query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> NpmResult {
    let target = parse_target(&path)
        .ok_or_else(|| bad(StatusCode::NOT_FOUND, "not_found", format!("no npm endpoint at {path}")))?;
    let scope = match (&method, &target) {
        (&Method::GET | &Method::HEAD, _) | (_, Target::Audit | Target::Whoami | Target::Ping) => Scope::ReadPackages,
        (&Method::PUT, Target::Packument { .. } | Target::DistTags { .. })
        | (&Method::DELETE, Target::DistTags { .. }) => Scope::WritePackages,
        _ => Scope::DeletePackages,
    };
    let registry = registry_for(&state, caller.as_ref(), &org, &registry, scope).await?;
    if registry.ecosystem != Ecosystem::Npm {
        return Err(bad(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("registry {} holds {} packages, not npm", registry.slug, registry.ecosystem),
        ));
    }
    let base = format!("{}/npm/{org}/{}", base_url(state.config.public_url.as_deref(), &headers), registry.slug);
    let acting = || {
        caller
            .as_ref()
            .map(Caller::acting)
            .ok_or_else(|| bad(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first"))
    };
    match (method, target) {
        (Method::GET, Target::Ping) => Ok(Json(json!({})).into_response()),
        (Method::POST, Target::Audit) => Ok(Json(json!({})).into_response()),
        (Method::GET, Target::Whoami) => {
            let username = caller.as_ref().map_or_else(|| "anonymous".to_owned(), |c| c.token.description.to_string());
            Ok(Json(json!({ "username": username })).into_response())
        }
        (Method::GET, Target::Packument { name }) => {
            packument(&state, &registry, &base, name, wants_abbreviated(&headers)).await
        }
        (Method::GET, Target::Manifest { name, version }) => manifest(&state, &registry, &base, name, version).await,
        (method @ (Method::GET | Method::HEAD), Target::Tarball { name, file }) => {
            let package = package_of_tarball(&state, &registry, name, file).await?;
            let stored = package.files.first().ok_or_else(|| bad(StatusCode::NOT_FOUND, "not_found", "no tarball"))?;
            Ok(download(&state, &registry, stored, &method).await?)
        }
        (Method::PUT, Target::Packument { name }) => publish(&state, &acting()?, &registry, name, body).await,
        (Method::GET, Target::DistTags { name, tag: None }) => {
            let (tags, _) = state.packages.dist_tags(&registry, name).await?;
            Ok(Json(tags).into_response())
        }
        (Method::PUT, Target::DistTags { name, tag: Some(tag) }) => {
            let body = small_body(body).await?;
            let version: String = serde_json::from_slice(&body).map_err(|_| {
                bad(StatusCode::BAD_REQUEST, "invalid_body", "send the version as a JSON string, e.g. \"1.2.3\"")
            })?;
            let tags = state.packages.set_dist_tag(&acting()?, &registry, name, tag, Some(&version)).await?;
            Ok((StatusCode::CREATED, Json(tags)).into_response())
        }
        (Method::DELETE, Target::DistTags { name, tag: Some(tag) }) => {
            Ok(Json(state.packages.set_dist_tag(&acting()?, &registry, name, tag, None).await?).into_response())
        }
        (Method::PUT, Target::Revision { name }) => {
            // npm unpublishes one version by sending the packument without it.
            let body = small_body(body).await?;
            let document: Value = serde_json::from_slice(&body)
                .map_err(|e| bad(StatusCode::BAD_REQUEST, "invalid_body", format!("the body is not JSON: {e}")))?;
            let keep = document["versions"]
                .as_object()
                .map(|versions| versions.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            for package in state.packages.versions(&registry, name).await? {
                if !keep.contains(&package.version) {
                    state.packages.delete(&acting()?, &registry, &package).await?;
                }
            }
            Ok(Json(json!({"ok": true})).into_response())
        }
        (Method::DELETE, Target::Revision { name }) => {
            let versions = state.packages.versions(&registry, name).await?;
            if versions.is_empty() {
                return Err(bad(StatusCode::NOT_FOUND, "not_found", format!("{name} is not published")));
            }
            for package in versions {
                state.packages.delete(&acting()?, &registry, &package).await?;
            }
            Ok(Json(json!({"ok": true})).into_response())
        }
        (Method::DELETE, Target::Tarball { name, file }) => {
            // The second half of npm's unpublish; the version is usually gone already.
            if let Ok(package) = package_of_tarball(&state, &registry, name, file).await {
                state.packages.delete(&acting()?, &registry, &package).await?;
            }
            Ok(Json(json!({"ok": true})).into_response())
        }
        (method, _) => {
            Err(bad(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not supported here")))
        }
    }
}

async fn package_of_tarball(state: &AppState, registry: &Registry, name: &str, file: &str) -> NpmResult<Package> {
    let not_found = || bad(StatusCode::NOT_FOUND, "not_found", format!("no tarball {file} for {name}"));
    let bare = name.rsplit('/').next().unwrap_or(name);
    let version =
        file.strip_prefix(&format!("{bare}-")).and_then(|rest| rest.strip_suffix(".tgz")).ok_or_else(not_found)?;
    state.packages.version_to_download(registry, (name, version), Some(file)).await?.ok_or_else(not_found)
}

/// npm's abbreviated packument (the "corgi" document `npm install` asks for): per version only what resolving and
/// installing need, no readme, no per-version times. It keeps a package with thousands of versions far under
/// Lambda's 6 MB response limit.
const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";

/// Whether the client asked for the abbreviated packument (npm sends it first in `Accept` when installing).
fn wants_abbreviated(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|media| media.split(';').next().is_some_and(|kind| kind.trim().eq_ignore_ascii_case(ABBREVIATED)))
}

/// One version's manifest, or a version a dist-tag names: one read of the tags and one of the version, not the
/// whole packument.
async fn manifest(state: &AppState, registry: &Registry, base: &str, name: &str, version: &str) -> NpmResult {
    let tagged = match state.packages.get_version(registry, name, version).await? {
        Some(package) => Some(package),
        None => {
            let (tags, _) = state.packages.dist_tags(registry, name).await?;
            match tags.get(version) {
                Some(tagged) => state.packages.get_version(registry, name, tagged).await?,
                None => None,
            }
        }
    };
    tagged
        .and_then(|package| npm_manifest(base, &package))
        .map(|manifest| Json(manifest).into_response())
        .ok_or_else(|| bad(StatusCode::NOT_FOUND, "not_found", format!("{name}@{version} is not published")))
}

/// The packument: every version's manifest with its `dist`, the dist-tags and publication times, the latest
/// version's description and readme; abbreviated (install fields only, and `modified`) when the client asks
/// for it. Joined from the versions' index entries as it is sent: one query a thousand versions, no parsing.
async fn packument(state: &AppState, registry: &Registry, base: &str, name: &str, abbreviated: bool) -> NpmResult {
    let first = if abbreviated {
        state.packages.first_short_index_page(registry, name).await?
    } else {
        state.packages.first_index_page_with_about(registry, name).await?
    };
    if first.entries.is_empty() {
        return Err(bad(StatusCode::NOT_FOUND, "not_found", format!("{name} is not in this registry")));
    }
    let quoted = json_string(name);
    let tags = serde_json::to_string(&first.tags).map_err(|e| NpmError(ApiError::internal(&e)))?;
    let mut document = Packument::new(abbreviated, base);
    let head = if abbreviated {
        format!(r#"{{"name":{quoted},"dist-tags":{tags},"versions":{{"#)
    } else {
        // The latest version's description and readme head the full document (npm shows them); the versions
        // carry no readme of their own.
        let (description, readme) = match &first.about {
            Some(about) => (about.description.clone(), about.readme.clone()),
            None => (Value::Null, json!("")),
        };
        document.about = format!(r#","description":{description},"readme":{readme}"#);
        format!(r#"{{"_id":{quoted},"name":{quoted},"dist-tags":{tags},"versions":{{"#)
    };
    let body = index_body::stream(&state.packages, registry, name, first, head.into_bytes(), document);
    let content_type = if abbreviated { ABBREVIATED } else { "application/json" };
    Ok(([(axum::http::header::CONTENT_TYPE, content_type), (axum::http::header::VARY, "Accept")], body).into_response())
}

/// The packument after its head, a version at a time: what it needs of the versions for its end (times, the
/// revision) is gathered on the way.
struct Packument {
    abbreviated: bool,
    /// The base URL, escaped for a JSON string.
    base: String,
    count: usize,
    revision: Sha256,
    times: Vec<u8>,
    created: Option<DateTime<Utc>>,
    modified: Option<DateTime<Utc>>,
    about: String,
}

impl Packument {
    fn new(abbreviated: bool, base: &str) -> Self {
        Self {
            abbreviated,
            base: json_inner(base),
            count: 0,
            revision: Sha256::new(),
            times: Vec::new(),
            created: None,
            modified: None,
            about: String::new(),
        }
    }
}

fn timestamp(time: Option<DateTime<Utc>>) -> String {
    serde_json::to_string(&time).unwrap_or_else(|_| "null".into())
}

impl IndexDocument for Packument {
    fn entry(&mut self, entry: &IndexEntry, out: &mut Vec<u8>) {
        let rendering = if self.abbreviated { NPM_SHORT } else { NPM_FULL };
        if !entry.parts.contains_key(rendering) {
            return;
        }
        let version = json_string(&entry.version);
        if self.count > 0 {
            out.push(b',');
            self.revision.update(b",");
        }
        self.count += 1;
        self.revision.update(entry.version.as_bytes());
        out.extend_from_slice(version.as_bytes());
        out.push(b':');
        entry.write(rendering, &self.base, out);
        self.created = self.created.min(Some(entry.published)).or(Some(entry.published));
        self.modified = self.modified.max(Some(entry.published));
        if !self.abbreviated {
            self.times.extend_from_slice(format!(",{version}:{}", timestamp(Some(entry.published))).as_bytes());
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let modified = timestamp(self.modified);
        if self.abbreviated {
            out.extend_from_slice(format!(r#"}},"modified":{modified}}}"#).as_bytes());
            return;
        }
        let digest = std::mem::take(&mut self.revision).finalize();
        let revision = format!("{}-{}", self.count, hex::encode(&digest[..8]));
        let created = timestamp(self.created);
        out.extend_from_slice(format!(r#"}},"time":{{"created":{created},"modified":{modified}"#).as_bytes());
        out.extend_from_slice(&self.times);
        out.extend_from_slice(format!(r#"}},"_rev":"{revision}"{}}}"#, self.about).as_bytes());
    }
}

/// The largest body of a request that is not a publish (a dist-tag, a packument without a version).
const SMALL_BODY_LIMIT: usize = 32 * 1024 * 1024;

async fn small_body(body: Body) -> NpmResult<Bytes> {
    axum::body::to_bytes(body, SMALL_BODY_LIMIT).await.map_err(|_| {
        bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("this request's body must be at most {SMALL_BODY_LIMIT} bytes"),
        )
    })
}

/// `npm publish`: one version and its tarball in a JSON document. The body is spooled, then split as it
/// is read again: the tarball decoded into a spool of its own, the rest of the document kept small and
/// checked ([`check_document`]), then the tarball against it ([`check_tarball`]). Memory stays flat.
async fn publish(
    state: &AppState,
    acting: &crate::service::Acting,
    registry: &Registry,
    name: &str,
    body: Body,
) -> NpmResult {
    let limit = state.config.max_body_bytes as u64;
    let (document, tarball) = spool_part(body, limit, &state.config.spool_dir, |input, tarball| {
        let (document, found) = npm_attachment::split(input, tarball).map_err(|error| match error {
            npm_attachment::SplitError::Io(error) => ApiError::internal(&error),
            npm_attachment::SplitError::Malformed(_) => ApiError::bad_request("invalid_body", error.to_string()),
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_package", other.to_string()),
        })?;
        if !found {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_package",
                "the attachment has no data",
            ));
        }
        Ok(document)
    })
    .await?;
    let invalid = |message: String| bad(StatusCode::UNPROCESSABLE_ENTITY, "invalid_package", message);
    let document: Value = serde_json::from_slice(&document)
        .map_err(|e| bad(StatusCode::BAD_REQUEST, "invalid_body", format!("the publish document is not JSON: {e}")))?;
    let publish = check_document(name, &document).map_err(|e| invalid(e.0))?;
    let (checked, digests, checked_name) = (publish.clone(), tarball.digests.clone(), name.to_owned());
    tarball
        .read_with(move |input| {
            check_tarball(&checked_name, &checked, input, &digests)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_package", e.0))
        })
        .await?;
    let Publish { version, mut manifest, tags, .. } = publish;
    truncate_readme(&mut manifest);
    let received = Received {
        name: name.to_owned(),
        version: version.clone(),
        files: vec![ReceivedFile {
            filename: npm_tarball_name(name, &version),
            path: tarball.path().to_owned(),
            size: tarball.size,
            digests: tarball.digests.clone(),
        }],
        metadata: Value::Object(manifest),
        tags,
    };
    match state.packages.publish_received(acting, registry, received).await {
        Ok(_) => Ok((StatusCode::CREATED, Json(json!({"ok": true, "id": name}))).into_response()),
        Err(Error::Conflict(message)) if message.contains("immutable") => Err(bad(
            StatusCode::CONFLICT,
            "version_exists",
            format!("cannot publish over the previously published version {version} of {name}"),
        )),
        Err(error) => Err(error.into()),
    }
}

/// The longest readme kept with a version, as the public npm registry keeps it: longer ones are cut.
const README_MAX_BYTES: usize = 64 * 1024;

fn truncate_readme(manifest: &mut Map<String, Value>) {
    if let Some(Value::String(readme)) = manifest.get_mut("readme")
        && readme.len() > README_MAX_BYTES
    {
        let mut end = README_MAX_BYTES;
        while !readme.is_char_boundary(end) {
            end -= 1;
        }
        readme.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_what_npm_asks_for() {
        assert_eq!(parse_target("left-pad"), Some(Target::Packument { name: "left-pad" }));
        assert_eq!(parse_target("@acme/ui"), Some(Target::Packument { name: "@acme/ui" }));
        assert_eq!(
            parse_target("@acme/ui/-/ui-1.0.0.tgz"),
            Some(Target::Tarball { name: "@acme/ui", file: "ui-1.0.0.tgz" })
        );
        assert_eq!(parse_target("left-pad/1.0.0"), Some(Target::Manifest { name: "left-pad", version: "1.0.0" }));
        assert_eq!(parse_target("@acme/ui/-rev/3-abc"), Some(Target::Revision { name: "@acme/ui" }));
        assert_eq!(
            parse_target("@acme/ui/-/ui-1.0.0.tgz/-rev/3-abc"),
            Some(Target::Tarball { name: "@acme/ui", file: "ui-1.0.0.tgz" })
        );
        assert_eq!(
            parse_target("-/package/@acme/ui/dist-tags"),
            Some(Target::DistTags { name: "@acme/ui", tag: None })
        );
        assert_eq!(parse_target("-/package/x/dist-tags/beta"), Some(Target::DistTags { name: "x", tag: Some("beta") }));
        assert_eq!(parse_target("-/whoami"), Some(Target::Whoami));
        assert_eq!(parse_target("-/nothing"), None);
        assert_eq!(parse_target("a/b/c"), None);
    }
}
