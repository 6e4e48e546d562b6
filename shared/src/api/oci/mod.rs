//! The OCI Distribution Spec v1.1 at `/v2/{org}/{registry}/{name...}`: a repository name may have several
//! segments, so the path is split here, at its last endpoint segments (see
//! [`crate::ecosystems::oci::parse_path`]). Credentials are Basic (the token as the password) or Bearer, as on
//! every route; errors are the spec's `{"errors": [{"code", "message", "detail"}]}`.

mod blobs;
mod manifests;
pub mod token;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::json;

use super::AppState;
use super::access::registry_for;
use super::context::{Caller, RequestMeta};
use super::error::{ApiError, reshape, shaped};
use crate::domain::audit::Origin;
use crate::domain::error::Error;
use crate::domain::names::{Ecosystem, OrgSlug, RegistrySlug};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::oci::{Code, Endpoint, Refusal, check_repository, parse_path};
use crate::service::Acting;
use crate::service::oci::Failure;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v2", any(get_base))
        .route("/v2/", any(get_base))
        .route("/v2/token", axum::routing::get(token::issue).post(token::issue))
        .route("/v2/{*path}", any(oci))
        .layer(axum::middleware::from_fn(api_version))
        .layer(axum::middleware::from_fn(drain_unread))
        .layer(axum::middleware::from_fn(reshape::<OciError>))
        .layer(axum::middleware::from_fn_with_state(state.clone(), token::challenge))
        .with_state(state)
}

/// Every answer says which protocol it speaks, as Docker clients check.
async fn api_version(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    response
}

/// An error in the spec's shape.
#[derive(Debug)]
pub struct OciError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// A registry token lacked the action: the challenge says so (see [`token::challenge`]).
    insufficient_scope: bool,
}

impl From<Refusal> for OciError {
    fn from(refusal: Refusal) -> Self {
        Self {
            status: StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
            code: refusal.code.as_str(),
            message: refusal.message,
            insufficient_scope: false,
        }
    }
}

impl From<ApiError> for OciError {
    fn from(error: ApiError) -> Self {
        let code = match error.status {
            StatusCode::UNAUTHORIZED => Code::Unauthorized.as_str(),
            StatusCode::FORBIDDEN => Code::Denied.as_str(),
            StatusCode::NOT_FOUND => Code::NameUnknown.as_str(),
            StatusCode::TOO_MANY_REQUESTS => Code::TooManyRequests.as_str(),
            StatusCode::PAYLOAD_TOO_LARGE => Code::SizeInvalid.as_str(),
            status if status.is_server_error() => "UNKNOWN",
            _ => Code::Unsupported.as_str(),
        };
        Self { status: error.status, code, message: error.message, insufficient_scope: false }
    }
}

impl From<Error> for OciError {
    fn from(error: Error) -> Self {
        ApiError::from(error).into()
    }
}

impl From<Failure> for OciError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(refusal) => refusal.into(),
            Failure::Failed(error) => error.into(),
        }
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": self.code, "message": self.message,
                                      "detail": {"request_id": super::error::current_request_id()}}]});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.insufficient_scope {
            response.extensions_mut().insert(token::InsufficientScope);
        }
        shaped(response)
    }
}

type OciResult<T = Response> = Result<T, OciError>;

fn refused(code: Code, message: impl Into<String>) -> OciError {
    Refusal::new(code, message).into()
}

/// `GET /v2/`: 200 with valid credentials, else 401 with the challenge that makes clients send theirs.
async fn get_base(State(state): State<AppState>, request: Request) -> OciResult {
    let (parts, _) = request.into_parts();
    match Asking::from_parts(&parts, &state).await? {
        Asking::Nobody => Err(refused(Code::Unauthorized, "send a Packyard token as the password (docker login)")),
        _ => Ok(axum::Json(json!({})).into_response()),
    }
}

/// Who is asking: nobody, the holder of Packyard credentials, or of a registry token from `/v2/token`.
pub(super) enum Asking {
    Nobody,
    Caller(Caller),
    Token(token::Grant, Origin),
}

impl Asking {
    async fn from_parts(parts: &axum::http::request::Parts, state: &AppState) -> OciResult<Self> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim);
        if let Some(jwt) = bearer.filter(|jwt| token::is_registry_token(jwt)) {
            return Ok(Self::Token(token::verify(state, jwt)?, RequestMeta::origin_of(parts)));
        }
        Ok(Caller::optional(parts, state).await?.map_or(Self::Nobody, Self::Caller))
    }

    /// The registry `org/slug` where the asker may act with `scope` on `repository`.
    pub(super) async fn registry(
        &self,
        state: &AppState,
        (org, slug, repository): (&str, &str, &str),
        scope: Scope,
    ) -> OciResult<Registry> {
        let grant = match self {
            Self::Nobody => return Ok(registry_for(state, None, org, slug, scope).await?),
            Self::Caller(caller) => return Ok(registry_for(state, Some(caller), org, slug, scope).await?),
            Self::Token(grant, _) => grant,
        };
        let unknown = || refused(Code::NameUnknown, format!("registry {org}/{slug} not found"));
        let (Ok(org_slug), Ok(registry_slug)) = (OrgSlug::try_from(org), RegistrySlug::try_from(slug)) else {
            return Err(unknown());
        };
        let registry = match state.registries.get(&org_slug, &registry_slug).await {
            Ok((registry, _)) => registry,
            Err(Error::NotFound(_)) => return Err(unknown()),
            Err(error) => return Err(error.into()),
        };
        let public_pull = registry.public && scope == Scope::ReadPackages;
        if public_pull || grant.allows(&format!("{org}/{slug}/{repository}"), &registry.id, token::action_for(scope)) {
            return Ok(registry);
        }
        // 403 with the challenge (RFC 6750's insufficient_scope): clients fetch a token for the scope named.
        Err(OciError {
            status: StatusCode::FORBIDDEN,
            code: Code::Denied.as_str(),
            message: format!(
                "the registry token does not allow {} on {org}/{slug}/{repository}",
                token::action_for(scope)
            ),
            insufficient_scope: true,
        })
    }

    fn acting(&self) -> Option<Acting> {
        match self {
            Self::Nobody => None,
            Self::Caller(caller) => Some(caller.acting()),
            Self::Token(grant, origin) => Some(grant.acting(origin.clone())),
        }
    }
}

/// What a handler works on: the registry, the repository, who asks and the path prefix of its URLs.
pub(super) struct Repo {
    pub registry: Registry,
    pub name: String,
    /// `/v2/{org}/{registry}/{name}`, for `Location` headers.
    pub base: String,
    pub asking: Asking,
}

impl Repo {
    fn acting(&self) -> OciResult<Acting> {
        self.asking.acting().ok_or_else(|| refused(Code::Unauthorized, "send a token"))
    }
}

async fn oci(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> OciResult {
    let route =
        parse_path(&path).ok_or_else(|| refused(Code::NameUnknown, format!("no OCI endpoint at /v2/{path}")))?;
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let scope = match method {
        Method::GET | Method::HEAD => Scope::ReadPackages,
        Method::DELETE => Scope::DeletePackages,
        _ => Scope::WritePackages,
    };
    let asking = Asking::from_parts(&parts, &state).await?;
    let registry = asking.registry(&state, (route.org, route.registry, &route.repository), scope).await?;
    if registry.ecosystem != Ecosystem::Oci {
        return Err(refused(
            Code::NameUnknown,
            format!("registry {} holds {} packages, not OCI images", registry.slug, registry.ecosystem),
        ));
    }
    check_repository(&route.repository)?;
    let base = format!("/v2/{}/{}/{}", route.org, registry.slug, route.repository);
    let repo = Repo { registry, name: route.repository, base, asking };
    let headers = &parts.headers;
    match (method, route.endpoint) {
        (method @ (Method::GET | Method::HEAD), Endpoint::Blob(digest)) => {
            blobs::get_blob(&state, &repo, digest, method == Method::HEAD).await
        }
        (Method::DELETE, Endpoint::Blob(digest)) => blobs::delete_blob(&state, &repo, digest).await,
        (Method::POST, Endpoint::UploadStart) => blobs::post_upload(&state, &repo, &query, body).await,
        (Method::PATCH, Endpoint::Upload(id)) => blobs::patch_upload(&state, &repo, id, headers, body).await,
        (Method::PUT, Endpoint::Upload(id)) => blobs::put_upload(&state, &repo, id, &query, body).await,
        (Method::GET, Endpoint::Upload(id)) => blobs::get_upload(&state, &repo, id).await,
        (Method::DELETE, Endpoint::Upload(id)) => blobs::delete_upload(&state, &repo, id).await,
        (method @ (Method::GET | Method::HEAD), Endpoint::Manifest(reference)) => {
            manifests::get_manifest(&state, &repo, reference, headers, method == Method::HEAD).await
        }
        (Method::PUT, Endpoint::Manifest(reference)) => {
            manifests::put_manifest(&state, &repo, reference, headers, body).await
        }
        (Method::DELETE, Endpoint::Manifest(reference)) => manifests::delete_manifest(&state, &repo, reference).await,
        (Method::GET, Endpoint::TagsList) => manifests::list_tags(&state, &repo, &query).await,
        (Method::GET, Endpoint::Referrers(digest)) => manifests::list_referrers(&state, &repo, digest, &query).await,
        (method, _) => Err(refused(Code::Unsupported, format!("{method} is not supported at /v2/{path}"))),
    }
}

/// How much of a refused request's body is read and thrown away, and for how long at most.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Middleware: once a request is answered, reads and discards what its handler left of its body, up to
/// [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`]. Registry clients send a chunk before they meet the credentials
/// challenge or learn that its range is wrong, and a server that answers without reading the body resets the
/// connection under them: Go's client then reports EOF on its next request instead of the status it would
/// act on. A buffer at a time, never held; a larger or slower remainder is cut off (the connection closes).
async fn drain_unread(request: Request, next: axum::middleware::Next) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = request.into_parts();
    let shared = std::sync::Arc::new(tokio::sync::Mutex::new(body.into_data_stream()));
    let reader = std::sync::Arc::clone(&shared);
    let forwarded = futures_util::stream::unfold(reader, |reader| async move {
        let item = reader.lock().await.next().await;
        item.map(|item| (item, reader))
    });
    let response = next.run(Request::from_parts(parts, Body::from_stream(forwarded))).await;
    let mut rest = shared.lock().await;
    let mut read = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = rest.next().await {
            read += chunk.len();
            if read > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
    response
}

/// The request body as a stream for the blob store.
fn stream(body: Body) -> crate::ports::blob::ByteStream {
    use futures_util::TryStreamExt;
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

/// A response with a status and headers, and no body.
fn empty(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}
