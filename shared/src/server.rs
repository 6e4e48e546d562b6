//! The HTTP API as one long-running process: every route group on one listener, `GET /healthz` for load
//! balancers, housekeeping on a timer, and a graceful stop on Ctrl-C or SIGTERM. `packyard dev` and
//! `packyard serve` both run through here, on the embedded backend or on DynamoDB and S3.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::api::{AppState, all_routes, finish};
use crate::config::Config;
use crate::domain::names::OrgSlug;

/// Where metadata and bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and a local blob directory, in one data directory (what `packyard dev` runs).
    Embedded,
    /// The DynamoDB table `PACKYARD_TABLE` and the S3 bucket `PACKYARD_BUCKET`, as the Lambda functions use.
    Aws,
}

/// How to run `packyard serve`.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub backend: Backend,
    /// The embedded backend's data directory.
    pub data_dir: PathBuf,
    /// The organization the embedded backend bootstraps on first start.
    pub org: OrgSlug,
    pub config: Config,
}

/// Serves the API on `options.backend` until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the backend's configuration is missing or the address cannot be used.
pub async fn serve(options: Options) -> anyhow::Result<()> {
    match options.backend {
        Backend::Embedded => {
            let Options { listen, data_dir, org, config, .. } = options;
            crate::devserver::serve(crate::devserver::Options { listen, data_dir, org, config, name: "Packyard" }).await
        }
        Backend::Aws => {
            let listener = bind(options.listen).await?;
            let state = crate::lambda::state_from_env().await?;
            let address = listener.local_addr()?;
            let base_url = state.config.public_url.clone().unwrap_or_else(|| default_base_url(address));
            println!("Packyard listening on {base_url} (DynamoDB and S3)");
            run(listener, state, Router::new()).await
        }
    }
}

/// Binds `address`, naming it when that fails.
///
/// # Errors
/// When the address is in use or not local.
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))
}

/// The URL clients reach a server listening on `address` at, when no public URL is configured: an
/// unspecified address (0.0.0.0) is reached on loopback.
pub fn default_base_url(address: SocketAddr) -> String {
    let host = if address.ip().is_unspecified() { "127.0.0.1".to_owned() } else { address.ip().to_string() };
    format!("http://{}", SocketAddr::new(host.parse().unwrap_or(address.ip()), address.port()))
}

/// Serves every route group, `extra` (the embedded blob store's signed-URL routes) and `/healthz` on
/// `listener`, with housekeeping every minute, until Ctrl-C or SIGTERM; requests in flight finish first.
///
/// # Errors
/// When the server fails.
pub async fn run(listener: TcpListener, state: AppState, extra: Router) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let requests = Arc::new(AtomicU64::new(0));
    let releasing = tokio::spawn(release_memory_when_quiet(state.clone(), Arc::clone(&requests)));
    let routes = all_routes(&state).merge(extra).route("/healthz", get(healthz));
    let router = finish(routes, &state.config).layer(axum::middleware::from_fn_with_state(requests, count_request));
    tracing::info!(address = %address, "listening on {address}");
    // Without TCP_NODELAY a response whose body follows its headers in a second write (a file streamed from
    // the blob directory) waits out the client's delayed ACK: 40 ms a download.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(error = %error, "could not set TCP_NODELAY: {error}");
        }
    });
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
        .context("the server failed");
    housekeeping.abort();
    releasing.abort();
    tracing::info!("stopped");
    served
}

/// `GET /healthz`: the process is up and serving (it checks no backend, so a slow table never takes every
/// task out of a load balancer at once).
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"ok": true}))
}

/// How often the server sweeps expired uploads, purges deleted registries and removes stale spools.
const HOUSEKEEPING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

async fn housekeeping(state: AppState) {
    let mut interval = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    loop {
        interval.tick().await;
        match state.housekeeping.run(chrono::Utc::now()).await {
            Ok(report) if report != Default::default() => tracing::info!(?report, "housekeeping: {report:?}"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "housekeeping failed; it runs again in a minute"),
        }
        let spool_dir = state.config.spool_dir.clone();
        let swept = tokio::task::spawn_blocking(move || {
            crate::api::spool::remove_stale(&spool_dir, crate::api::spool::STALE_AFTER)
        })
        .await
        .unwrap_or_default();
        if swept > 0 {
            tracing::info!(swept, "removed {swept} spooled files a stopped process left behind");
        }
    }
}

/// After how many quiet seconds (no new request) the server gives back the memory a burst left behind: soon
/// after it, and again once tokio's blocking threads, idle for 10 s, have exited and freed what they kept.
const RELEASE_AFTER_QUIET_SECONDS: [u32; 2] = [1, 11];

/// Counts requests, so [`release_memory_when_quiet`] can tell a quiet second.
async fn count_request(State(requests): State<Arc<AtomicU64>>, request: Request, next: Next) -> Response {
    requests.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

/// Gives back what a burst of requests left allocated once the server has gone quiet: the metadata store's
/// caches, then the allocator's freed pages. A long-running server then returns to about its idle size instead
/// of holding its high-water mark (benchmarks/packument.md).
async fn release_memory_when_quiet(state: AppState, requests: Arc<AtomicU64>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut quiet) = (0, 0u32);
    loop {
        interval.tick().await;
        let now = requests.load(Ordering::Relaxed);
        if now != seen {
            (seen, quiet) = (now, 0);
            continue;
        }
        quiet = quiet.saturating_add(1);
        if RELEASE_AFTER_QUIET_SECONDS.contains(&quiet) {
            state.release_memory().await;
            let _ = tokio::task::spawn_blocking(give_back_freed_memory).await;
        }
    }
}

/// Asks glibc's allocator to return the free pages of every arena. glibc gives memory back only from the top of
/// a heap, so pages freed below a live allocation stay resident until asked for (`malloc_trim(3)`). Other
/// allocators return memory themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "malloc_trim is a C function; it takes no pointer and locks each arena itself")]
fn give_back_freed_memory() {
    // SAFETY: malloc_trim has no preconditions: it takes a size, reads no caller memory, and glibc serializes it
    // with every other allocator call.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_memory() {}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and ECS send).
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
