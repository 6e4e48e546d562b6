//! A Lambda Runtime API emulator on a free loopback port, and a function binary started against it: the
//! binary's own runtime loop fetches each event from `/invocation/next` and posts its answer back, exactly as
//! it does in Lambda, so what a test reads is what API Gateway would receive. It also takes the answers
//! of custom resources, as CloudFormation's ResponseURL does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended, as the function reported it to the Runtime API.
#[derive(Debug)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`: the handler's answer.
    Response(Value),
    /// `POST /invocation/{id}/error`: the handler failed.
    Error(Value),
}

struct Invocation {
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Shared {
    /// What functions PUT to a CloudFormation ResponseURL (`/cloudformation/{id}`), by id.
    cloudformation: Mutex<HashMap<String, Value>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    queue: tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<Invocation>>>,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Outcome>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The emulator: serves one function's runtime loop; [`RuntimeApi::invoke`] hands it an event.
pub struct RuntimeApi {
    pub address: SocketAddr,
    invocations: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
}

const API: &str = "/2018-06-01/runtime";

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let mut queue = shared.queue.lock().await;
    let Some(Invocation { event, reply }) = queue.as_mut().expect("the queue").recv().await else {
        return StatusCode::GONE.into_response();
    };
    let id = ulid::Ulid::new().to_string();
    shared.pending().insert(id.clone(), reply);
    let deadline = std::time::SystemTime::now() + Duration::from_secs(29);
    let deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&id).unwrap());
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:packyard-test"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (headers, event.to_string()).into_response()
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Outcome::Response(json_of(&body)))
}

async fn fail(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Outcome::Error(json_of(&body)))
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.pending().remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn cloudformation_response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    shared.cloudformation.lock().unwrap_or_else(PoisonError::into_inner).insert(id, json_of(&body));
    StatusCode::OK
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(json_of(&body));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Starts the emulator on 127.0.0.1 and a free port.
    pub async fn start() -> Self {
        let (invocations, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared { queue: tokio::sync::Mutex::new(Some(queue)), ..Shared::default() });
        let router = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(respond))
            .route(&format!("{API}/invocation/{{id}}/error"), post(fail))
            .route(&format!("{API}/init/error"), post(init_error))
            .route("/cloudformation/{id}", axum::routing::put(cloudformation_response))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { address, invocations, shared }
    }

    /// A ResponseURL for a CloudFormation custom resource event, answered by this emulator.
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/cloudformation/{id}", self.address)
    }

    /// What the function PUT to [`RuntimeApi::response_url`] `id`.
    pub fn cloudformation_response(&self, id: &str) -> Option<Value> {
        self.shared.cloudformation.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// What the function posted to `/init/error`, if it failed to start.
    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Hands `event` to the function's next `/invocation/next` and waits up to `timeout` for its outcome.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Option<Outcome> {
        let (reply, outcome) = oneshot::channel();
        self.invocations.send(Invocation { event, reply }).ok()?;
        tokio::time::timeout(timeout, outcome).await.ok()?.ok()
    }
}

/// A function binary built by `cargo build --workspace`, running against a [`RuntimeApi`]; killed on drop.
pub struct FunctionProcess {
    pub name: String,
    pub runtime: RuntimeApi,
    child: std::process::Child,
    log: PathBuf,
}

/// Where cargo put the workspace's binaries: beside the test binary's `deps/` directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: build the functions with `cargo build --workspace`", path.display());
    path
}

impl FunctionProcess {
    /// Starts function `name` with only the environment Lambda gives a function (`AWS_LAMBDA_*`, the region,
    /// credentials) plus `env`, its configuration.
    pub async fn start(name: &str, env: &[(String, String)]) -> Self {
        let runtime = RuntimeApi::start().await;
        let log = std::env::temp_dir().join(format!("packyard-{name}-{}.log", ulid::Ulid::new()));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let child = std::process::Command::new(binary(name))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("packyard-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/packyard-{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]0123456789abcdef")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", std::env::temp_dir())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("the log file"))
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error}"));
        Self { name: name.to_owned(), runtime, child, log }
    }

    /// Invokes the function with `event`; panics with its init error or its log when it does not answer.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        let outcome = self.runtime.invoke(event, Duration::from_secs(20)).await;
        outcome.unwrap_or_else(|| {
            let exited = self.child.try_wait().ok().flatten();
            panic!(
                "{} did not answer (exited: {exited:?}, init error: {:?}); its log:\n{}",
                self.name,
                self.runtime.init_error(),
                self.log_text()
            )
        })
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// What the function wrote to stdout and stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
