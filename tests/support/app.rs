//! The whole API in-process on the embedded default, driven with `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use packyard::adapters::aws_calls::AwsCalls;
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::adapters::link_clients::LinkClients;
use packyard::adapters::local_blob::LocalBlobStore;
use packyard::adapters::sqlite::SqliteStore;
use packyard::api::{AppState, all_routes, finish};
use packyard::config::Config;
use packyard::domain::audit::Origin;
use packyard::domain::names::OrgSlug;
use packyard::domain::secret::SecretsKey;
use packyard::lambda::{AwsTargets, aws_state};
use packyard::ports::metadata::MetadataStore;
use serde_json::Value;
use tower::ServiceExt;

use crate::services;

/// An app with a bootstrapped organization `acme` and its admin token.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub admin_token: String,
    pub store: Arc<dyn MetadataStore>,
    /// Where the local blob store keeps its files (`objects/`, `tmp/`, `multipart/`), when it has one.
    pub blob_dir: Option<tempdir::TempDir>,
    /// The AWS wiring, for [`TestApp::another_container`].
    aws: Option<AwsWiring>,
}

/// What an app on the AWS wiring was built from: its configuration, table and bucket, and the recorder of
/// its calls.
#[derive(Clone)]
struct AwsWiring {
    config: Config,
    table: String,
    bucket: String,
    calls: Option<AwsCalls>,
}

/// A reply, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub json: Value,
    /// The body as text, for answers that are not JSON.
    pub text: String,
    /// The body as sent, for binary answers.
    pub bytes: bytes::Bytes,
}

impl Reply {
    /// The error code of a JSON error envelope.
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }
}

pub mod tempdir {
    //! A directory removed when dropped.
    pub struct TempDir(pub std::path::PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> Self {
            let path = std::env::temp_dir().join(format!("{prefix}-{}", ulid::Ulid::new()));
            std::fs::create_dir_all(&path).expect("temporary directory");
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        Self::with_links(config, None).await
    }

    /// An app with a key to seal secrets, as registry tokens need.
    pub async fn with_secrets_key() -> Self {
        let mut config = Config::default();
        config.links.secrets_key = Some(SecretsKey::from_text(&SecretsKey::generate_text()).expect("a key"));
        Self::with_config(config).await
    }

    /// An app whose storage links reach AWS through `clients` (an emulator) when given.
    pub async fn with_links(mut config: Config, clients: Option<LinkClients>) -> Self {
        // The in-memory store is this app's alone, as the dev server's is: no other process caches its tokens.
        config.sole_server = true;
        let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::in_memory().expect("in-memory SQLite"));
        let blob_dir = tempdir::TempDir::new("packyard-blobs");
        // Signed URLs name the same host requests use, so `follow` can serve them from this router.
        let blobs = LocalBlobStore::open(&blob_dir.0, "http://packyard.test").expect("blob store");
        let mut state = AppState::new(config, Arc::clone(&store), Arc::new(blobs.clone()));
        if let Some(clients) = clients {
            state = state.with_link_clients(clients);
        }
        let admin_token = Self::bootstrap(&state, "acme").await;
        let router = finish(all_routes(&state).merge(blobs.router()), &state.config);
        Self { state, router, admin_token, store, blob_dir: Some(blob_dir), aws: None }
    }

    /// The whole API on the AWS wiring (a fresh DynamoDB Local table, a fresh bucket on the S3 server), so a
    /// scenario can run on both adapters.
    pub async fn on_aws() -> Self {
        Self::on_aws_with(Config::default(), None).await
    }

    /// The AWS wiring with `config`, its calls recorded into `calls` when given.
    pub async fn on_aws_with(config: Config, calls: Option<AwsCalls>) -> Self {
        let wiring =
            AwsWiring { config, table: services::unique_name("app"), bucket: services::unique_name("app"), calls };
        DynamoDbStore::create_table(&services::dynamodb().await, &wiring.table).await.expect("table");
        services::s3().await.create_bucket().bucket(&wiring.bucket).send().await.expect("bucket");
        let (state, store, router) = Self::aws_container(&wiring).await;
        let mut app = Self::serving(state, store, router).await;
        app.aws = Some(wiring);
        app
    }

    async fn aws_container(wiring: &AwsWiring) -> (AppState, Arc<dyn MetadataStore>, Router) {
        let dynamodb = services::dynamodb_config().await;
        let targets = AwsTargets {
            dynamodb: dynamodb.clone(),
            s3: services::s3_config().await,
            sts: services::moto().await,
            table: wiring.table.clone(),
            bucket: wiring.bucket.clone(),
            path_style: true,
            calls: wiring.calls.clone(),
        };
        let state = aws_state(wiring.config.clone(), targets);
        let store = Arc::new(DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&dynamodb), &wiring.table));
        let router = finish(all_routes(&state), &state.config);
        (state, store, router)
    }

    /// A second app on this one's AWS table and bucket, as a second Lambda container builds its own at cold
    /// start: its own clients and its own memory of tokens and registries read lately.
    pub async fn another_container(&self) -> Self {
        let wiring = self.aws.clone().expect("an app on the AWS wiring");
        let (state, store, router) = Self::aws_container(&wiring).await;
        Self { state, router, admin_token: self.admin_token.clone(), store, blob_dir: None, aws: Some(wiring) }
    }

    /// An app on `state` (e.g. the AWS wiring) answering through `router`, with `acme` bootstrapped.
    pub async fn serving(state: AppState, store: Arc<dyn MetadataStore>, router: Router) -> Self {
        let admin_token = Self::bootstrap(&state, "acme").await;
        Self { state, router, admin_token, store, blob_dir: None, aws: None }
    }

    /// Creates another organization and returns its admin token.
    pub async fn bootstrap(state: &AppState, org: &str) -> String {
        let origin = Origin { request_id: "test".into(), source_ip: "127.0.0.1".into() };
        let org = OrgSlug::try_from(org).expect("org slug");
        state.tokens.bootstrap(&org, origin).await.expect("bootstrap").expect("a new organization").secret
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(path).header("host", "packyard.test");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json, text: String::from_utf8_lossy(&bytes).into_owned(), bytes }
    }

    /// Follows a redirect's `Location` (a signed URL of this app) and returns the bytes it serves.
    pub async fn follow(&self, reply: &Reply) -> (StatusCode, bytes::Bytes) {
        assert_eq!(reply.status, StatusCode::FOUND, "not a redirect: {:?}", reply.json);
        let location = reply.headers["location"].to_str().unwrap();
        let path = location.strip_prefix("http://packyard.test").expect("a signed URL of this app");
        let response = self.router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap())
    }

    /// PUTs `body` to the signed URL of a presigned upload's instructions (`url`, or a part's `url`), with
    /// the headers they name (the SHA-256 a single PUT is bound to).
    pub async fn put_signed(&self, instructions: &Value, url: &str, body: impl Into<Body>) -> Reply {
        let path = url.strip_prefix("http://packyard.test").expect("a signed URL of this app");
        let mut request = Request::put(path);
        for (name, value) in instructions["headers"].as_object().into_iter().flatten() {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        self.send(request.body(body.into()).expect("request")).await
    }

    /// Publishes a file through the multipart form, as the admin.
    pub async fn publish_file(&self, registry: &str, filename: &str, bytes: &[u8]) -> Reply {
        self.publish_file_as(&self.admin_token, registry, filename, bytes).await
    }

    pub async fn publish_file_as(&self, token: &str, registry: &str, filename: &str, bytes: &[u8]) -> Reply {
        let boundary = "packyard-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::post(format!("/v1/organizations/acme/registries/{registry}/packages"))
            .header("host", "packyard.test")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// As the admin: GET, POST, PATCH, DELETE.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.admin_token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&self.admin_token), Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(&self.admin_token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&self.admin_token), Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(&self.admin_token), None).await
    }

    /// How many files the local blob store holds, to check a refused upload left none behind.
    pub fn stored_objects(&self) -> usize {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()
            })
        }
        self.blob_dir.as_ref().map_or(0, |dir| count(&dir.0.join("objects")))
    }

    /// Creates a registry as the admin and returns its JSON.
    pub async fn create_registry(&self, name: &str, ecosystem: &str) -> Value {
        let reply = self
            .post("/v1/organizations/acme/registries", serde_json::json!({"name": name, "ecosystem": ecosystem}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
        reply.json
    }

    /// Issues a token with these scopes as the admin and returns its secret.
    pub async fn token_with(&self, scopes: &[&str]) -> String {
        let reply = self
            .post("/v1/organizations/acme/tokens", serde_json::json!({"description": "test token", "scopes": scopes}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
        reply.json["token"].as_str().expect("secret").to_owned()
    }
}
