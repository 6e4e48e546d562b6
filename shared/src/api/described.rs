//! What the handlers' `#[utoipa::path]` annotations name but the handlers read or write themselves: the
//! error envelope and the statuses it comes with, and the path, query and header parameters, with the
//! patterns and lengths the code enforces. Only described, never built: [`super::error::ApiError`] renders
//! the envelope and the handlers parse their own paths.
#![allow(dead_code, reason = "only described, never built")]

use serde::Serialize;
use utoipa::{IntoParams, IntoResponses, ToSchema};

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

/// What every authenticated route can answer: the request, the token and the resource it names.
#[derive(IntoResponses)]
pub enum ReadErrors {
    #[response(status = 400, description = "Malformed: an unreadable path, a bad query parameter or header")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No token, or one that is unknown, expired or revoked")]
    Unauthenticated(ErrorBody),
    #[response(
        status = 403,
        description = "The token may not do this: a scope, admin rights or a team grant \
        is missing"
    )]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such organization or resource, or one the token may not see")]
    NotFound(ErrorBody),
}

/// What a route that reads a JSON body adds to [`ReadErrors`].
#[derive(IntoResponses)]
pub enum BodyErrors {
    #[response(status = 413, description = "The body is larger than this deployment accepts")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "The body is not `application/json`")]
    UnsupportedMediaType(ErrorBody),
    #[response(status = 422, description = "A field is invalid; `field` names it")]
    Invalid(ErrorBody),
}

/// A well-formed request the resource's state refuses.
#[derive(IntoResponses)]
#[response(status = 409, description = "It exists already, something still uses it, or a concurrent change won")]
pub struct Conflict(ErrorBody);

/// A route without a JSON body that still refuses a value it reads (a query or path value, a file).
#[derive(IntoResponses)]
#[response(status = 422, description = "A value is invalid, or the registry's ecosystem does not allow this")]
pub struct Invalid(ErrorBody);

/// A body too large for the route; routes that read JSON say so with [`BodyErrors`].
#[derive(IntoResponses)]
#[response(status = 413, description = "The body is larger than this deployment accepts")]
pub struct TooLarge(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 412, description = "If-Match names a version that is no longer current")]
pub struct PreconditionFailed(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 503, description = "This deployment is not configured for it (storage links need AWS settings)")]
pub struct Unavailable(ErrorBody);

/// `{org}`. Each path parameter is a struct of its own, and an operation lists those of its path:
/// `params(Org, RegistryPath, PackagePath)`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Org {
    /// The organization's slug.
    #[param(example = "acme", pattern = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", max_length = 64)]
    org: String,
}

/// `{registry}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RegistryPath {
    /// The registry's slug.
    #[param(pattern = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", max_length = 64)]
    registry: String,
}

/// An organization token's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's id (not its secret).
    id: String,
}

/// `{team}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TeamPath {
    /// The team's slug, derived from its name.
    #[param(pattern = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", max_length = 64)]
    team: String,
}

/// A team member's `{login}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LoginPath {
    /// The member's login: letters, digits, `.`, `_`, `-` and `@`.
    #[param(pattern = r"^[A-Za-z0-9._@-]+$", max_length = 64, min_length = 1)]
    login: String,
}

/// A storage `{link}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LinkPath {
    /// The link's id, a lowercase ULID.
    #[param(pattern = r"^[0-9a-z]{26}$")]
    link: String,
}

/// A package's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PackagePath {
    /// The package's id; in an `oci` registry the image's, such as `team~app:v1` (`~` for `/`).
    id: String,
}

/// An upload's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UploadPath {
    /// The upload's id, from the answer that started it.
    id: String,
}

/// Cursor pagination (see [`super::pagination::PageRequest`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
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
pub struct IfMatch {
    /// An ETag this API returned, such as `"3"`, or `*`.
    #[param(rename = "If-Match")]
    if_match: Option<String>,
}
