//! The OpenAPI 3.1 document of the management API, assembled from the handlers' `#[utoipa::path]`
//! annotations and the types they read and answer with, served at `/v1/openapi.json` with Swagger UI at
//! `/v1/docs`. `openapi.json` at the repository root is a copy a test keeps equal to it.

use axum::Router;
use utoipa::openapi::RefOr;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::described::{ErrorBody, ErrorDetail};
use super::pagination::Links;
use super::{audit_events, packages, registries, signing_keys, storage, storage_links, teams, tokens};
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
        tokens::get_current_token,
        tokens::list_tokens,
        tokens::create_token,
        tokens::delete_token,
        tokens::list_registry_tokens,
        tokens::create_registry_token,
        tokens::get_registry_token,
        tokens::update_registry_token,
        tokens::delete_registry_token,
        tokens::get_oidc_policy,
        tokens::put_oidc_policy,
        teams::list_teams,
        teams::create_team,
        teams::get_team,
        teams::update_team,
        teams::delete_team,
        teams::add_member,
        teams::remove_member,
        teams::grant_registry,
        teams::revoke_registry,
        audit_events::list_audit_events,
        signing_keys::list_signing_keys,
        signing_keys::rotate_signing_keys,
        storage::get_storage,
        storage::put_storage,
        storage_links::list_storage_links,
        storage_links::create_storage_link,
        storage_links::get_storage_link,
        storage_links::delete_storage_link,
        storage_links::run_diagnostic,
        storage_links::get_diagnostic,
        packages::list_packages,
        packages::create_package,
        packages::get_package,
        packages::delete_package,
        packages::download_package,
        packages::head_package,
        packages::copy_package,
        packages::create_upload,
        packages::upload_parts,
        packages::complete_upload,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, Links, Registry, NewRegistry, RegistryPatch, Ecosystem, StorageRef,
        registries::RegistryView, registries::RegistryPage, storage::StorageView, storage::StorageChange,
        signing_keys::SigningKeyList, signing_keys::Rotation, KeyInfo,
    )),
    modifiers(&SecuritySchemes, &LinkOperationIds),
    security(("bearer" = []), ("basic" = [])),
    tags(
        (name = "registries", description = "Registries: one ecosystem each, private until made public"),
        (name = "packages", description = "A registry's packages, through the REST API (ecosystem clients use \
            their own routes, described in the README)"),
        (name = "uploads", description = "Presigned uploads of large generic files, straight to storage"),
        (name = "tokens", description = "Organization API tokens: who am I, and (admin) issue, list, revoke"),
        (name = "registry-tokens", description = "Read-only tokens of one private registry"),
        (name = "oidc", description = "Which CI jobs may use a registry with their OIDC token"),
        (name = "teams", description = "Teams, their members and their access to each registry (admin)"),
        (name = "audit-events", description = "Who changed what, when and from where (admin)"),
        (name = "storage", description = "Where the organization's new files go: Packyard's storage or a link"),
        (name = "storage-links", description = "Buckets of the organization's own, in AWS or S3-compatible (admin)"),
    ),
)]
pub struct ApiDoc;

/// The document as generated from the handlers' annotations: pretty JSON with a trailing newline. What is
/// served is the committed `openapi.json` (see [`super::docs`]), which the drift test keeps equal to this.
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
    super::docs::routes()
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}

/// utoipa 5 writes a link's target as `operation_id` where OpenAPI says `operationId`, and tools that follow
/// links (Schemathesis's stateful phase, generators) reject it; this moves it into the link's extensions,
/// which are written as they are named.
struct LinkOperationIds;

impl Modify for LinkOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let operations = openapi.paths.paths.values_mut().flat_map(|item| {
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.head, &mut item.patch]
                .into_iter()
                .flatten()
        });
        let responses = operations.flat_map(|operation| operation.responses.responses.values_mut());
        for response in responses {
            let RefOr::T(response) = response else { continue };
            for link in response.links.values_mut() {
                let RefOr::T(link) = link else { continue };
                if !link.operation_id.is_empty() {
                    let id = std::mem::take(&mut link.operation_id);
                    link.extensions.get_or_insert_with(Default::default).insert("operationId".into(), id.into());
                }
            }
        }
    }
}
