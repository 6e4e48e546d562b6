//! The spine's numbers: a function binary's cold start (process start to ready, and to its first answer)
//! under a local stand-in for the Lambda Runtime API, the binary's size, and requests per second for
//! `GET registry` on the dev server. Run with `bash scripts/bench`; it prints the numbers and writes them
//! to `benchmarks/spine.md`. Not a test: nothing here asserts a speed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use packyard_tests::devserver::DevServer;
use tokio::sync::mpsc;

const COLD_STARTS: usize = 20;
const LOAD_SECONDS: u64 = 10;
const LOAD_CONCURRENCY: usize = 16;

fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    exe.parent().and_then(Path::parent).expect("target/release").to_owned()
}

/// What the stand-in Runtime API saw, in order.
#[derive(Debug)]
enum Seen {
    AskedForWork,
    Answered(String),
}

#[derive(Clone)]
struct Runtime {
    event: Arc<String>,
    served: Arc<AtomicBool>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn next_invocation(State(runtime): State<Runtime>) -> (HeaderMap, String) {
    let _ = runtime.seen.send(Seen::AskedForWork);
    if runtime.served.swap(true, Ordering::SeqCst) {
        // One invocation per process: park the second poll until the process is killed.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "bench-request".parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", "4102444800000".parse().unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:registries".parse().unwrap(),
    );
    headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".parse().unwrap());
    (headers, runtime.event.as_str().to_owned())
}

async fn invocation_response(State(runtime): State<Runtime>, body: String) -> &'static str {
    let _ = runtime.seen.send(Seen::Answered(body));
    "{}"
}

/// Starts the function binary against a fresh stand-in Runtime API; returns (ready, answered) times.
async fn cold_start(binary: &Path, event: &str) -> (Duration, Duration) {
    let (sender, mut seen) = mpsc::unbounded_channel();
    let runtime = Runtime { event: Arc::new(event.to_owned()), served: Arc::new(AtomicBool::new(false)), seen: sender };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "registries")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/registries")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("PACKYARD_TABLE", "packyard-bench")
        .env("PACKYARD_BUCKET", "packyard-bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the function binary");
    let mut ready = None;
    let answered = loop {
        match tokio::time::timeout(Duration::from_secs(30), seen.recv()).await {
            Ok(Some(Seen::AskedForWork)) => ready = ready.or(Some(started.elapsed())),
            Ok(Some(Seen::Answered(body))) => {
                assert!(body.contains("401"), "unexpected answer: {body}");
                break started.elapsed();
            }
            _ => panic!("the function binary never answered"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    (ready.expect("asked for work before answering"), answered)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

async fn load(server: &DevServer, path: &str) -> (f64, Duration, Duration, usize) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.base_url);
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..LOAD_CONCURRENCY {
        let (client, url, token) = (client.clone(), url.clone(), server.admin_token.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for (mut task_latencies, task_failures) in tasks.join_all().await {
        latencies.append(&mut task_latencies);
        failures += task_failures;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    (latencies.len() as f64 / elapsed, percentile(&latencies, 0.5), percentile(&latencies, 0.99), failures)
}

#[tokio::main]
async fn main() {
    let dir = release_dir();
    let function = dir.join("registries");
    assert!(function.exists(), "{} is missing: run `bash scripts/bench`, which builds it", function.display());
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/registries.get.json")).unwrap();
    // Without a token the function answers 401 before any AWS call, so the figure is the function's own.
    let mut event: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    event["headers"].as_object_mut().unwrap().remove("authorization");
    let event = event.to_string();

    let mut ready = Vec::new();
    let mut answered = Vec::new();
    for _ in 0..COLD_STARTS {
        let (r, a) = cold_start(&function, &event).await;
        ready.push(r);
        answered.push(a);
    }
    ready.sort();
    answered.sort();
    let size = std::fs::metadata(&function).unwrap().len();

    let server = DevServer::start();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/v1/organizations/acme/registries", server.base_url))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"name": "bench", "ecosystem": "npm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (rps, p50, p99, failures) = load(&server, "/v1/organizations/acme/registries/bench").await;

    let report = format!(
        "# Spine benchmark\n\n\
         Measured by `bash scripts/bench` on {date} ({cores} cores). Release profile, x86_64.\n\n\
         | measure | value |\n|---|---|\n\
         | `registries` cold start, process start to ready (first poll of the Runtime API), median of {COLD_STARTS} | {r50} |\n\
         | same, p90 | {r90} |\n\
         | cold start to first answer (an unauthenticated GET registry, no AWS call), median | {a50} |\n\
         | same, p90 | {a90} |\n\
         | `registries` binary size (stripped) | {size_mib:.1} MiB |\n\
         | dev server `GET registry`, {LOAD_CONCURRENCY} concurrent clients for {LOAD_SECONDS} s | {rps:.0} requests/s |\n\
         | same, latency p50 / p99 | {p50} / {p99} |\n\
         | same, failed requests | {failures} |\n",
        date = chrono_free_date(),
        cores = std::thread::available_parallelism().map_or(0, usize::from),
        r50 = ms(percentile(&ready, 0.5)),
        r90 = ms(percentile(&ready, 0.9)),
        a50 = ms(percentile(&answered, 0.5)),
        a90 = ms(percentile(&answered, 0.9)),
        size_mib = size as f64 / (1024.0 * 1024.0),
        p50 = ms(p50),
        p99 = ms(p99),
    );
    print!("{report}");
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../benchmarks/spine.md");
    std::fs::write(out, report).expect("write benchmarks/spine.md");
}

/// Today's date from `date`, to avoid a date crate for one line.
fn chrono_free_date() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default()
        .trim()
        .to_owned()
}
