//! `packyard`: the dev server (`dev`), the API as one long-running process (`serve`), publishing a file from
//! CI (`push`), and bootstrapping an organization in a deployed table (`bootstrap`). Every flag can also be
//! set with the `PACKYARD_*` variable its help names.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::config::{Config, SERVER_MAX_BODY_BYTES, required_var};
use packyard::domain::audit::Origin;
use packyard::domain::names::OrgSlug;
use packyard::push::PushOptions;
use packyard::server::{self, Backend};
use packyard::service::tokens::Tokens;

#[derive(Parser)]
#[command(
    name = "packyard",
    version,
    about = "Packyard: a multi-ecosystem package registry",
    propagate_version = false
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the dev server on 127.0.0.1, on the embedded backend.
    ///
    /// SQLite and local blobs in one data directory; the organization is bootstrapped on first start, its
    /// admin token printed and kept in DATA_DIR/admin-token.
    Dev {
        #[arg(long, env = "PACKYARD_PORT", default_value_t = 8080, help = "Port on 127.0.0.1; 0 picks a free one")]
        port: u16,
        #[command(flatten)]
        embedded: Embedded,
    },
    /// Serves the whole API in one long-running process, as a container runs it.
    ///
    /// Every route group, GET /healthz, housekeeping every minute, and a graceful stop on SIGTERM, on the
    /// embedded backend or on DynamoDB and S3.
    Serve {
        /// The address and port to listen on.
        #[arg(long, env = "PACKYARD_LISTEN", default_value_t = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)))]
        listen: SocketAddr,
        /// Where metadata and bytes live; when unset, `aws` if PACKYARD_TABLE is set, else `embedded`.
        #[arg(long, env = "PACKYARD_BACKEND", value_enum)]
        backend: Option<BackendArg>,
        #[command(flatten)]
        embedded: Embedded,
    },
    /// Publishes a file to a files registry, straight to storage through presigned (multipart) uploads.
    Push(Push),
    /// Creates an organization in a deployed table and prints its first admin token.
    ///
    /// The DynamoDB table is named by PACKYARD_TABLE; AWS credentials and region come from the usual
    /// environment.
    Bootstrap {
        /// The new organization's slug.
        #[arg(long, env = "PACKYARD_ORG", value_parser = org_slug)]
        org: OrgSlug,
    },
}

/// The embedded backend's flags.
#[derive(Args)]
struct Embedded {
    /// The embedded backend's data directory (SQLite, blobs, keys, the first admin token).
    #[arg(long, env = "PACKYARD_DATA_DIR", default_value = ".packyard")]
    data_dir: PathBuf,
    /// The organization the embedded backend bootstraps on first start.
    #[arg(long, env = "PACKYARD_ORG", default_value = "acme", value_parser = org_slug)]
    org: OrgSlug,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// SQLite and local blobs in --data-dir.
    Embedded,
    /// DynamoDB (PACKYARD_TABLE) and S3 (PACKYARD_BUCKET), like the Lambda functions.
    Aws,
}

#[derive(Args)]
struct Push {
    /// The file to publish; its name is the published filename. An `.rpm` goes to an rpm registry, which
    /// reads its name, version and architecture from its header.
    file: PathBuf,
    /// The Packyard server's base URL.
    #[arg(long, env = "PACKYARD_URL")]
    url: String,
    /// An API token that may write packages to the registry.
    #[arg(long, env = "PACKYARD_TOKEN", hide_env_values = true)]
    token: String,
    /// The organization's slug.
    #[arg(long, env = "PACKYARD_ORG")]
    org: String,
    /// The registry's slug: a files registry, or a Debian registry for a `.deb` (its control file names the
    /// package and version, and it is checked here before it is sent).
    #[arg(long, env = "PACKYARD_REGISTRY")]
    registry: String,
    /// The package name (with --version); by default the server reads both from the filename.
    #[arg(long, env = "PACKYARD_PACKAGE_NAME", requires = "version")]
    name: Option<String>,
    /// The package version (with --name).
    #[arg(long, env = "PACKYARD_PACKAGE_VERSION", requires = "name")]
    version: Option<String>,
    /// How many parts are sent at once.
    #[arg(long, env = "PACKYARD_PARALLEL", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,
    /// Send parts in parallel even when one PUT could take the file (up to 5 GiB). One PUT is bound to the
    /// file's SHA-256 and verified by storage itself; parts are verified by the server reading them back.
    #[arg(long, env = "PACKYARD_PARTS")]
    parts: bool,
}

fn org_slug(text: &str) -> Result<OrgSlug, String> {
    OrgSlug::try_from(text).map_err(|error| error.to_string())
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dev { port, embedded } => {
            packyard::devserver::serve(packyard::devserver::Options {
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                data_dir: embedded.data_dir,
                org: embedded.org,
                config: Config::from_env_with_body_limit(SERVER_MAX_BODY_BYTES)?,
                name: "Packyard dev server",
            })
            .await
        }
        Command::Serve { listen, backend, embedded } => {
            let backend = match backend {
                Some(BackendArg::Embedded) => Backend::Embedded,
                Some(BackendArg::Aws) => Backend::Aws,
                None if std::env::var_os("PACKYARD_TABLE").is_some_and(|table| !table.is_empty()) => Backend::Aws,
                None => Backend::Embedded,
            };
            let options = server::Options {
                listen,
                backend,
                data_dir: embedded.data_dir,
                org: embedded.org,
                config: Config::from_env_with_body_limit(SERVER_MAX_BODY_BYTES)?,
            };
            server::serve(options).await
        }
        Command::Push(push) => {
            let options = PushOptions {
                url: push.url,
                token: push.token,
                org: push.org,
                registry: push.registry,
                file: push.file,
                name: push.name,
                version: push.version,
                parallel: usize::from(push.parallel),
                parts: push.parts,
                progress: true,
            };
            let published = packyard::push::push(&options).await?;
            eprintln!(
                "Published {} {}",
                published["name"].as_str().unwrap_or("?"),
                published["version"].as_str().unwrap_or("?")
            );
            println!("{published}");
            Ok(())
        }
        Command::Bootstrap { org } => bootstrap(org).await,
    }
}

async fn bootstrap(org: OrgSlug) -> anyhow::Result<()> {
    let table = required_var("PACKYARD_TABLE")?;
    let aws = packyard::adapters::aws_sdk::load_from_env().await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let tokens = Tokens::new(Arc::new(store), packyard::service::recent::Recent::new(false));
    let origin = Origin { request_id: format!("bootstrap-{}", ulid::Ulid::new()), source_ip: "cli".into() };
    match tokens.bootstrap(&org, origin).await? {
        Some(issued) => {
            eprintln!("Created organization {org}. Its admin token, shown this once:");
            println!("{}", issued.secret);
            Ok(())
        }
        None => bail!("organization {org} already exists; use one of its admin tokens to create more"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors, --help and --version print as clap renders them (exit 2, 0 and 0).
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,packyard=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the cause chain joined by colons, no backtrace.
            let message = format!("{error:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
