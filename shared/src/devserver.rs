//! The embedded backend, which `packyard dev` runs and `packyard serve` runs by default: SQLite metadata and
//! local-disk blobs with signed URLs, all in one data directory, with the organization bootstrapped on first
//! start. Serving itself is [`crate::server::run`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::adapters::local_blob::LocalBlobStore;
use crate::adapters::sqlite::SqliteStore;
use crate::api::AppState;
use crate::config::Config;
use crate::domain::audit::Origin;
use crate::domain::names::OrgSlug;
use crate::domain::secret::SecretsKey;
use crate::server;
use anyhow::Context;

/// How to run the embedded backend.
#[derive(Debug, Clone)]
pub struct Options {
    /// Port 0 picks a free port.
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The organization bootstrapped on first start.
    pub org: OrgSlug,
    pub config: Config,
    /// What the start-up line calls the server ("Packyard dev server").
    pub name: &'static str,
}

/// The file in the data directory that keeps the key sealing storage links' secrets.
pub const SECRETS_KEY_FILE: &str = "secrets.key";

/// The file in the data directory that keeps the first admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Opens the data directory, bootstraps the organization on first start, and serves every route group
/// and the blob store's signed URLs until Ctrl-C or SIGTERM. Prints the URL it listens on, and the admin token the first time.
///
/// # Errors
/// When the data directory or the port cannot be used.
pub async fn serve(options: Options) -> anyhow::Result<()> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let listener = server::bind(options.listen).await?;
    let address = listener.local_addr()?;
    let base_url = options.config.public_url.clone().unwrap_or_else(|| server::default_base_url(address));

    let store = SqliteStore::open(&data_dir.join("metadata.sqlite3")).context("cannot open the metadata database")?;
    let blobs = LocalBlobStore::open(&data_dir.join("blobs"), &base_url).context("cannot open the blob directory")?;
    let mut config = options.config.clone();
    if std::env::var_os("PACKYARD_SPOOL_DIR").is_none() {
        config.spool_dir = data_dir.join("spool");
    }
    if config.links.secrets_key.is_none() {
        config.links.secrets_key = Some(secrets_key(data_dir)?);
    }
    // The embedded store is this process's alone: revoking a token need not wait for other servers' copies.
    config.sole_server = true;
    let state = AppState::new(config, Arc::new(store), Arc::new(blobs.clone()));
    bootstrap(&state, &options.org, data_dir).await?;

    println!("{} listening on {base_url} (data in {})", options.name, data_dir.display());
    server::run(listener, state, blobs.router()).await
}

/// The key that seals storage links' secrets, created on first start and kept beside the data, like the
/// blob signing key, unless `PACKYARD_SECRETS_KEY` sets one.
fn secrets_key(data_dir: &Path) -> anyhow::Result<SecretsKey> {
    let path = data_dir.join(SECRETS_KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            let text = SecretsKey::generate_text();
            write_private(&path, &text)?;
            text
        }
    };
    SecretsKey::from_text(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

async fn bootstrap(state: &AppState, org: &OrgSlug, data_dir: &Path) -> anyhow::Result<()> {
    let origin = Origin { request_id: "dev-server-start".into(), source_ip: "127.0.0.1".into() };
    let token_file = data_dir.join(ADMIN_TOKEN_FILE);
    match state.tokens.bootstrap(org, origin).await? {
        Some(issued) => {
            write_private(&token_file, &issued.secret)?;
            println!(
                "Created organization {org}. Its admin token (shown once; also kept in {}):",
                token_file.display()
            );
            println!("{}", issued.secret);
        }
        None => println!("Organization {org}; its first admin token is kept in {}", token_file.display()),
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}
