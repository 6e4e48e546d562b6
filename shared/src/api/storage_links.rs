//! `/v1/organizations/{org}/storage-links`: start a link (AWS or S3-compatible), list, get, delete, run
//! its diagnostic and read the last one. The `storage-links` route group also serves the organization's
//! storage settings (`api::storage`). Admin tokens only: a link decides where every package goes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::context::Caller;
use super::described::{BodyErrors, Conflict, LinkPath, Org, ReadErrors, Unavailable};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::pagination::base_url;
use crate::domain::diagnostic::DiagnosticReport;
use crate::domain::storage::{LinkStatus, LinkTarget, NewAwsLink, NewLink, NewS3CompatibleLink, StorageLink};
use crate::domain::storage_names::LinkId;
use crate::service::storage_links::stack_name;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/organizations/{org}/storage-links", get(list_storage_links).post(create_storage_link))
        .route("/v1/organizations/{org}/storage-links/{link}", get(get_storage_link).delete(delete_storage_link))
        .route("/v1/organizations/{org}/storage-links/{link}/diagnostic", post(run_diagnostic).get(get_diagnostic))
        .merge(super::storage::routes())
        .with_state(state)
}

/// A link as the API shows it. The S3-compatible secret is never part of it, sealed or not.
pub(super) fn view(state: &AppState, base: &str, link: &StorageLink) -> Value {
    let mut view = json!({
        "id": link.id,
        "status": link.status,
        "location": link.target.location(),
        "bucket": link.target.bucket(),
        "path": link.target.path(),
        "last_diagnostic": link.last_diagnostic,
        "created_at": link.created_at,
        "updated_at": link.updated_at,
        "url": format!("{base}/v1/organizations/{}/storage-links/{}", link.organization, link.id),
    });
    match &link.target {
        LinkTarget::Aws { region, account_id, external_id, kms_key_arn, .. } => {
            view["provider"] = json!("aws");
            view["kms_key_arn"] = json!(kms_key_arn);
            view["template_version"] = json!(link.template_version);
            view["template_url"] = json!(state.storage_links.template_url(link));
            view["region"] = json!(region);
            view["account_id"] = json!(account_id);
            view["role_arn"] = json!(link.role_arn());
            view["external_id"] = json!(external_id);
            view["stack_name"] = json!(stack_name(&link.id));
            view["launch_stack_url"] = json!(state.storage_links.launch_stack_url(link));
        }
        LinkTarget::S3Compatible { endpoint, region, access_key_id, path_style, .. } => {
            view["provider"] = json!("s3_compatible");
            view["endpoint"] = json!(endpoint);
            view["region"] = json!(region);
            view["access_key_id"] = json!(access_key_id);
            view["path_style"] = json!(path_style);
        }
    }
    view
}

/// The schema of what [`view`] answers: the fields of both providers, and those of the link's `provider`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: view builds the JSON")]
pub(crate) struct StorageLinkView {
    id: String,
    /// `aws` or `s3_compatible`.
    provider: String,
    status: LinkStatus,
    /// `s3://bucket/path/`.
    location: String,
    bucket: String,
    path: String,
    last_diagnostic: Option<DiagnosticReport>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    url: String,
    /// Both providers: the bucket's region (AWS) or the signing region (S3-compatible).
    region: String,
    /// AWS: the bucket's SSE-KMS key.
    #[schema(required = false)]
    kms_key_arn: Option<String>,
    /// AWS: the version of the CloudFormation template the link expects.
    #[schema(required = false)]
    template_version: u32,
    #[schema(required = false)]
    template_url: String,
    #[schema(required = false)]
    account_id: String,
    /// AWS: the role Packyard assumes, which the customer's stack creates.
    #[schema(required = false)]
    role_arn: Option<String>,
    /// AWS: the secret the role's trust policy demands.
    #[schema(required = false)]
    external_id: String,
    #[schema(required = false)]
    stack_name: String,
    /// AWS: opens the CloudFormation console with the stack filled in (when this deployment knows its account).
    #[schema(required = false)]
    launch_stack_url: Option<String>,
    /// S3-compatible: the service's base URL.
    #[schema(required = false)]
    endpoint: String,
    #[schema(required = false)]
    access_key_id: String,
    #[schema(required = false)]
    path_style: bool,
}

/// The links of an organization.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: list_storage_links builds the JSON")]
pub(crate) struct StorageLinkList {
    storage_links: Vec<StorageLinkView>,
}

/// A link to start, by its `provider`.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "only described: new_link reads the body")]
pub(crate) enum NewLinkBody {
    Aws(NewAwsLink),
    S3Compatible(NewS3CompatibleLink),
}

/// A link's status and its last diagnostic.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DiagnosticView {
    status: LinkStatus,
    /// Always present: the report of the run just made, or of the last one.
    diagnostic: Option<DiagnosticReport>,
}

/// Reads the provider, then the fields of that provider's link, naming the field at fault.
fn new_link(body: &Value) -> ApiResult<NewLink> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    match body.get("provider").and_then(Value::as_str) {
        Some("aws") => super::json::parse(&bytes).map(NewLink::Aws),
        Some("s3_compatible") => super::json::parse(&bytes).map(NewLink::S3Compatible),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "provider must be \"aws\" (a bucket in your AWS account) or \"s3_compatible\" (MinIO, R2, …)",
        )
        .with_field("provider")),
    }
}

/// A link id from the path; one that cannot be valid cannot exist either.
fn link_id(org: &str, link: &str) -> ApiResult<LinkId> {
    LinkId::try_from(link)
        .map_err(|_| ApiError::not_found(format!("storage link {link} not found in organization {org}")))
}

#[utoipa::path(post, path = "/v1/organizations/{org}/storage-links", tag = "storage-links", params(Org),
    request_body = NewLinkBody,
    responses((status = 201, description = "Started, `pending` until a diagnostic passes (admin only)",
        body = StorageLinkView, headers(("Location" = String, description = "The link's URL")),
        links(("get" = (operation_id = "get_storage_link", parameters(("org" = "$request.path.org"), ("link" = "$response.body#/id")))),
            ("run_diagnostic" = (operation_id = "run_diagnostic", parameters(("org" = "$request.path.org"), ("link" = "$response.body#/id")))),
            ("get_diagnostic" = (operation_id = "get_diagnostic", parameters(("org" = "$request.path.org"), ("link" = "$response.body#/id")))),
            ("delete" = (operation_id = "delete_storage_link", parameters(("org" = "$request.path.org"), ("link" = "$response.body#/id")))))),
        ReadErrors, BodyErrors, Conflict, Unavailable))]
pub(crate) async fn create_storage_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let org = caller.require_admin(&org)?;
    let new = new_link(&body)?;
    let link = state.storage_links.create(&caller.acting(), &org, new).await?;
    tracing::info!(organization = %org, storage_link.id = %link.id, "started storage link {} to {}", link.id, link.target.location());
    let body = view(&state, &base_url(state.config.public_url.as_deref(), &headers), &link);
    let mut response = (StatusCode::CREATED, Json(body.clone())).into_response();
    if let Some(Ok(location)) = body["url"].as_str().map(HeaderValue::from_str) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/organizations/{org}/storage-links", tag = "storage-links", params(Org),
    responses((status = 200, description = "The organization's links (admin only)", body = StorageLinkList),
        ReadErrors))]
pub(crate) async fn list_storage_links(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let links = state.storage_links.list(&org).await?;
    Ok(Json(json!({"storage_links": links.iter().map(|link| view(&state, &base, link)).collect::<Vec<_>>()})))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/storage-links/{link}", tag = "storage-links", params(Org, LinkPath),
    responses((status = 200, description = "The link (admin only)", body = StorageLinkView), ReadErrors))]
pub(crate) async fn get_storage_link(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, link)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let (link, _) = state.storage_links.get(&org, &link_id(org.as_str(), &link)?).await?;
    Ok(Json(view(&state, &base_url(state.config.public_url.as_deref(), &headers), &link)))
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/storage-links/{link}", tag = "storage-links",
    params(Org, LinkPath), responses((status = 204, description = "Deleted; files stored through it stay in the bucket"),
        ReadErrors, Conflict))]
pub(crate) async fn delete_storage_link(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, link)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = caller.require_admin(&org)?;
    let id = link_id(org.as_str(), &link)?;
    let registries_using =
        state.registries.using_storage(&org, &crate::domain::storage::StorageRef::Link(id.clone())).await?;
    state.storage_links.delete(&caller.acting(), &org, &id, &registries_using).await?;
    state.storage.forget(&org, &id);
    tracing::info!(organization = %org, storage_link.id = %id, "deleted storage link {id}");
    Ok(StatusCode::NO_CONTENT)
}

/// Always `200` with the report, passed or not: a failing step is the customer's answer, not an error.
#[utoipa::path(post, path = "/v1/organizations/{org}/storage-links/{link}/diagnostic", tag = "storage-links",
    params(Org, LinkPath), responses((status = 200, description = "The report, passed or not; the link is `active` if \
        it passed", body = DiagnosticView), ReadErrors, Conflict, Unavailable))]
pub(crate) async fn run_diagnostic(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, link)): Path<(String, String)>,
) -> ApiResult<Json<DiagnosticView>> {
    let org = caller.require_admin(&org)?;
    let id = link_id(org.as_str(), &link)?;
    let link = state.storage_links.run_diagnostic(&caller.acting(), &org, &id).await?;
    Ok(Json(DiagnosticView { status: link.status, diagnostic: link.last_diagnostic }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/storage-links/{link}/diagnostic", tag = "storage-links",
    params(Org, LinkPath), responses((status = 200, description = "The last report", body = DiagnosticView),
        ReadErrors))]
pub(crate) async fn get_diagnostic(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, link)): Path<(String, String)>,
) -> ApiResult<Json<DiagnosticView>> {
    let org = caller.require_admin(&org)?;
    let id = link_id(org.as_str(), &link)?;
    let (link, _) = state.storage_links.get(&org, &id).await?;
    match link.last_diagnostic {
        Some(report) => Ok(Json(DiagnosticView { status: link.status, diagnostic: Some(report) })),
        None => Err(ApiError::not_found(format!(
            "no diagnostic has run for storage link {id} yet; POST to this URL to run one"
        ))),
    }
}
