//! HTTP routes, grouped the way API Gateway routes them to Lambda functions. Each group is an axum router
//! that its Lambda runs and that the dev server mounts beside all the others.

pub mod access;
pub mod audit_events;
pub mod cargo;
pub mod console;
pub mod context;
pub mod debian;
pub mod described;
mod docs;
pub mod error;
pub mod index_body;
pub mod json;
pub mod maven;
pub mod npm;
pub mod oci;
mod oci_packages;
pub mod openapi;
pub mod packages;
pub mod pagination;
pub mod pypi;
pub mod registries;
pub mod rpm;
pub mod ruby;
pub mod session;
pub mod signed_repo;
pub mod signing;
pub mod signing_keys;
pub mod spool;
pub mod storage;
pub mod storage_links;
pub mod teams;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;

use crate::adapters::link_clients::LinkClients;
use crate::config::Config;
use crate::ports::blob::BlobStore;
use crate::ports::metadata::MetadataStore;
use crate::service::audit_log::AuditLog;
use crate::service::housekeeping::Housekeeping;
use crate::service::oci::Oci;
use crate::service::oidc::Oidc;
use crate::service::packages::Packages;
use crate::service::recent::Recent;
use crate::service::registries::Registries;
use crate::service::registry_tokens::RegistryTokens;
use crate::service::signing_keys::SigningKeys;
use crate::service::storage_links::StorageLinks;
use crate::service::storage_resolver::StorageResolver;
use crate::service::teams::Teams;
use crate::service::tokens::Tokens;
use crate::service::uploads::Uploads;
use error::ApiError;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub registries: Registries,
    pub tokens: Tokens,
    pub registry_tokens: RegistryTokens,
    pub teams: Teams,
    pub oidc: Oidc,
    pub audit_log: AuditLog,
    pub packages: Packages,
    pub uploads: Uploads,
    pub oci: Oci,
    pub housekeeping: Housekeeping,
    /// Packyard-hosted storage; [`AppState::storage`] resolves it and the organizations' links alike.
    pub blobs: Arc<dyn BlobStore>,
    pub storage_links: StorageLinks,
    pub storage: StorageResolver,
    pub signing_keys: SigningKeys,
    store: Arc<dyn MetadataStore>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) -> Self {
        Self::wire(config, store, blobs, LinkClients::default())
    }

    /// Lets the metadata store drop what it caches for itself, for a server gone quiet.
    pub async fn release_memory(&self) {
        self.store.release_memory().await;
    }

    fn wire(config: Config, store: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>, clients: LinkClients) -> Self {
        let sole_server = config.sole_server;
        let recent_tokens = Recent::new(sole_server);
        let registry_tokens =
            RegistryTokens::new(Arc::clone(&store), config.links.secrets_key.clone(), recent_tokens.clone());
        let storage_links = StorageLinks::new(Arc::clone(&store), config.links.clone(), Arc::new(clients));
        let storage = StorageResolver::new(Arc::clone(&blobs), storage_links.clone());
        let packages = Packages::new(Arc::clone(&store), storage.clone());
        let uploads = Uploads::new(Arc::clone(&store), packages.clone());
        let oci = Oci::new(Arc::clone(&store), packages.clone());
        let signing_keys = SigningKeys::new(Arc::clone(&store), config.links.secrets_key.clone());
        Self {
            config: Arc::new(config),
            registries: Registries::new(Arc::clone(&store), signing_keys.clone(), sole_server),
            signing_keys,
            tokens: Tokens::new(Arc::clone(&store), recent_tokens),
            registry_tokens,
            teams: Teams::new(Arc::clone(&store), sole_server),
            oidc: Oidc::new(Arc::clone(&store)),
            audit_log: AuditLog::new(Arc::clone(&store)),
            uploads: uploads.clone(),
            oci: oci.clone(),
            housekeeping: Housekeeping::new(Arc::clone(&store), packages.clone(), uploads, oci),
            packages,
            storage,
            storage_links,
            blobs,
            store,
        }
    }

    /// The same state with storage links reaching AWS through `clients` (tests point them at emulators;
    /// by default Packyard's own AWS configuration is loaded from the environment on first use).
    #[must_use]
    pub fn with_link_clients(self, clients: LinkClients) -> Self {
        let config = Arc::try_unwrap(self.config).unwrap_or_else(|shared| (*shared).clone());
        Self::wire(config, self.store, self.blobs, clients)
    }
}

/// A route group: the routes one Lambda function serves.
pub type RouteGroup = fn(AppState) -> Router;

/// Every route group, in the order the dev server mounts them.
pub const ROUTE_GROUPS: [(&str, RouteGroup); 14] = [
    ("registries", registries::routes),
    ("audit-events", audit_events::routes),
    ("tokens", tokens::routes),
    ("packages", packages::routes),
    ("npm", npm::routes),
    ("cargo", cargo::routes),
    ("storage-links", storage_links::routes),
    ("pypi", pypi::routes),
    ("oci", oci::routes),
    ("ruby", ruby::routes),
    ("console", console::routes),
    ("maven", maven::routes),
    ("debian", debian::routes),
    ("rpm", rpm::routes),
];

/// The layers every group runs under, in Lambda and in the dev server alike: the body limit, JSON answers
/// for unknown routes and methods and for the framework's own rejections, and the request context.
pub fn finish(router: Router, config: &Config) -> Router {
    router
        .fallback(|| async { ApiError::not_found("no such route; see the API section of the README") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(axum::middleware::from_fn(error::reshape::<ApiError>))
        .layer(DefaultBodyLimit::max(buffered_body_limit(config)))
        .layer(axum::middleware::from_fn(context::request_context))
}

/// The limit on bodies read whole: package bodies stream past it, on the routes that say so with
/// [`streamed_body_limit`].
pub fn buffered_body_limit(config: &Config) -> usize {
    config.max_body_bytes.min(crate::config::BUFFERED_BODY_LIMIT)
}

/// The layer a route that streams package bodies (a multipart form read field by field) carries, so the
/// form reader allows the deployment's package limit rather than [`buffered_body_limit`].
pub fn streamed_body_limit(config: &Config) -> DefaultBodyLimit {
    DefaultBodyLimit::max(config.max_body_bytes)
}

/// All route groups merged into one router, as the dev server serves them.
pub fn all_routes(state: &AppState) -> Router {
    ROUTE_GROUPS.iter().fold(Router::new(), |router, (_, group)| router.merge(group(state.clone())))
}
