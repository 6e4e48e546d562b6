//! The OCI Distribution Spec v1.1 at `/v2/{org}/{registry}/{name...}`: a repository name may have several
//! segments, so the path is split here, at its last endpoint segments (see
//! [`crate::ecosystems::oci::parse_path`]). Credentials are Basic (the token as the password) or Bearer, as on
//! every route; errors are the spec's `{"errors": [{"code", "message", "detail"}]}`.

mod blobs;
mod manifests;

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
use super::context::Caller;
use super::error::{ApiError, reshape, shaped};
use crate::domain::error::Error;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::oci::{Code, Endpoint, Refusal, check_repository, parse_path};
use crate::service::Acting;
use crate::service::oci::Failure;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v2", any(get_base))
        .route("/v2/", any(get_base))
        .route("/v2/{*path}", any(oci))
        .layer(axum::middleware::from_fn(api_version))
        .layer(axum::middleware::from_fn(drain_unread))
        .layer(axum::middleware::from_fn(reshape::<OciError>))
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
}

impl From<Refusal> for OciError {
    fn from(refusal: Refusal) -> Self {
        Self {
            status: StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
            code: refusal.code.as_str(),
            message: refusal.message,
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
        Self { status: error.status, code, message: error.message }
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
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"packyard\""));
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
    match Caller::optional(&parts, &state).await? {
        Some(_) => Ok(axum::Json(json!({})).into_response()),
        None => Err(refused(Code::Unauthorized, "send a Packyard token as the password (docker login)")),
    }
}

/// What a handler works on: the registry, the repository, the caller and the path prefix of its URLs.
pub(super) struct Repo {
    pub registry: Registry,
    pub name: String,
    /// `/v2/{org}/{registry}/{name}`, for `Location` headers.
    pub base: String,
    pub caller: Option<Caller>,
}

impl Repo {
    fn acting(&self) -> OciResult<Acting> {
        self.caller.as_ref().map(Caller::acting).ok_or_else(|| refused(Code::Unauthorized, "send a token"))
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
    let caller = Caller::optional(&parts, &state).await?;
    let registry = registry_for(&state, caller.as_ref(), route.org, route.registry, scope).await?;
    if registry.ecosystem != Ecosystem::Oci {
        return Err(refused(
            Code::NameUnknown,
            format!("registry {} holds {} packages, not OCI images", registry.slug, registry.ecosystem),
        ));
    }
    check_repository(&route.repository)?;
    let base = format!("/v2/{}/{}/{}", route.org, registry.slug, route.repository);
    let repo = Repo { registry, name: route.repository, base, caller };
    let headers = &parts.headers;
    match (method, route.endpoint) {
        (method @ (Method::GET | Method::HEAD), Endpoint::Blob(digest)) => {
            blobs::get_blob(&state, &repo, digest, method == Method::HEAD).await
        }
        (Method::DELETE, Endpoint::Blob(_)) => {
            Err(refused(Code::Unsupported, "blobs are shared by the registry's repositories and are not deleted"))
        }
        (Method::POST, Endpoint::UploadStart) => blobs::post_upload(&state, &repo, &query, body).await,
        (Method::PATCH, Endpoint::Upload(id)) => blobs::patch_upload(&state, &repo, id, headers, body).await,
        (Method::PUT, Endpoint::Upload(id)) => blobs::put_upload(&state, &repo, id, &query, body).await,
        (Method::GET, Endpoint::Upload(id)) => blobs::get_upload(&state, &repo, id).await,
        (Method::DELETE, Endpoint::Upload(id)) => blobs::delete_upload(&state, &repo, id).await,
        (method @ (Method::GET | Method::HEAD), Endpoint::Manifest(reference)) => {
            manifests::get_manifest(&state, &repo, reference, method == Method::HEAD).await
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
