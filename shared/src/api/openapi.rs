//! The OpenAPI 3.1 document of the management API, assembled from the handlers' `#[utoipa::path]`
//! annotations and the types they read and answer with, served at `/v1/openapi.json` with Swagger UI at
//! `/v1/docs`. `openapi.json` at the repository root is a copy a test keeps equal to it.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use super::pagination::Links;
use super::{registries, signing_keys, storage};
use crate::domain::names::Ecosystem;
use crate::domain::registry::{NewRegistry, Registry, RegistryPatch};
use crate::domain::storage::StorageRef;
use crate::service::signing_keys::KeyInfo;

#[derive(OpenApi)]
#[openapi(
    info(title = "Packyard", description = "The management API of Packyard, a package registry: \
        registries, and what they hold. Authenticate with an API token, as `Authorization: Bearer <token>` or \
        as the password of Basic auth."),
    paths(
        registries::list_registries,
        registries::create_registry,
        registries::get_registry,
        registries::update_registry,
        registries::delete_registry,
        signing_keys::list_signing_keys,
        signing_keys::rotate_signing_keys,
        storage::get_storage,
        storage::put_storage,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, Links, Registry, NewRegistry, RegistryPatch, Ecosystem, StorageRef,
        registries::RegistryView, registries::RegistryPage, storage::StorageView, storage::StorageChange,
        signing_keys::SigningKeyList, signing_keys::Rotation, KeyInfo,
    )),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("basic" = [])),
    tags(
        (name = "registries", description = "Registries: one ecosystem each, private until made public"),
        (name = "storage", description = "Where the organization's new files go: Packyard's storage or a link"),
    ),
)]
pub struct ApiDoc;

/// The document as served and committed: pretty JSON with a trailing newline.
///
/// # Panics
/// Never: the document is plain data.
pub fn document() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// `/v1/openapi.json` and the reference at `/v1/docs` (see [`super::docs`]); the registries function
/// serves them.
pub fn routes() -> Router {
    static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(document()));
    let openapi_json = get(|| async { ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.clone()) });
    Router::new().route("/v1/openapi.json", openapi_json).merge(super::docs::routes())
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}

/// The error envelope every management route answers a failure with (see [`super::error::ApiError`]).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// Quote it when reporting a failure.
    pub request_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid`, `not_found`, `conflict`, …
    pub code: String,
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The failures a management route can answer with, each in the [`ErrorBody`] envelope.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "only described, never built: ApiError renders the envelope")]
pub enum ErrorResponses {
    #[response(status = 400, description = "Malformed: unreadable JSON, a bad query parameter or If-Match")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No token, or one that is unknown, expired or revoked")]
    Unauthenticated(ErrorBody),
    #[response(status = 403, description = "The token may not do this")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such organization, registry or route")]
    NotFound(ErrorBody),
    #[response(status = 405, description = "The route does not accept this method")]
    MethodNotAllowed(ErrorBody),
    #[response(status = 409, description = "It exists already, or a concurrent change won")]
    Conflict(ErrorBody),
    #[response(status = 412, description = "If-Match names a version that is no longer current")]
    PreconditionFailed(ErrorBody),
    #[response(status = 413, description = "The body is larger than this deployment accepts")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "The body is not JSON")]
    UnsupportedMediaType(ErrorBody),
    #[response(status = 422, description = "A field is invalid; `field` names it")]
    Invalid(ErrorBody),
    #[response(status = 503, description = "This deployment is not configured for the request")]
    Unavailable(ErrorBody),
}

/// `{org}`: the organization's slug.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code, reason = "only described: handlers read the path themselves")]
pub struct Org {
    /// The organization's slug.
    #[param(example = "acme")]
    org: String,
}

/// `{org}` and `{registry}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code, reason = "only described: handlers read the path themselves")]
pub struct OrgRegistry {
    /// The organization's slug.
    #[param(example = "acme")]
    org: String,
    /// The registry's slug.
    registry: String,
}

/// Cursor pagination (see [`super::pagination::PageRequest`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only described: PageRequest parses the query")]
pub struct PageQuery {
    /// Items per page, 1 to 100 (30 if absent).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
    /// `links.next` of the previous page carries it.
    cursor: Option<String>,
}

/// `If-Match`: apply the change only if the resource is still at this ETag.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "only described: handlers read the header themselves")]
pub struct IfMatch {
    /// An ETag this API returned, such as `"3"`, or `*`.
    #[param(rename = "If-Match")]
    if_match: Option<String>,
}
