//! `packyard`: runs the dev server (`packyard dev`) or bootstraps an organization in a deployed table
//! (`packyard bootstrap --org ORG`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::config::{Config, SERVER_MAX_BODY_BYTES, required_var};
use packyard::devserver::{self, Options};
use packyard::domain::audit::Origin;
use packyard::domain::names::OrgSlug;
use packyard::service::tokens::Tokens;

const USAGE: &str = "usage:
  packyard dev [--port N] [--data-dir DIR] [--org ORG]
      Runs the dev server on 127.0.0.1 (default port 8080, data in ./.packyard, organization acme).
  packyard bootstrap --org ORG
      Creates ORG and prints its first admin token, in the DynamoDB table named by PACKYARD_TABLE
      (AWS credentials and region from the usual environment).";

/// The value after `flag`, if the flag is present.
fn flag_value(args: &[String], flag: &str) -> anyhow::Result<Option<String>> {
    match args.iter().position(|arg| arg == flag) {
        None => Ok(None),
        Some(index) => args.get(index + 1).cloned().map(Some).with_context(|| format!("{flag} needs a value\n{USAGE}")),
    }
}

fn check_flags(args: &[String], known: &[&str]) -> anyhow::Result<()> {
    for arg in args.iter().step_by(2) {
        if !known.contains(&arg.as_str()) {
            bail!("unknown argument {arg:?}\n{USAGE}");
        }
    }
    Ok(())
}

fn org(args: &[String], default: Option<&str>) -> anyhow::Result<OrgSlug> {
    let org = flag_value(args, "--org")?
        .or_else(|| default.map(str::to_owned))
        .with_context(|| format!("--org is required\n{USAGE}"))?;
    OrgSlug::try_from(org).map_err(Into::into)
}

async fn bootstrap(args: &[String]) -> anyhow::Result<()> {
    check_flags(args, &["--org"])?;
    let org = org(args, None)?;
    let table = required_var("PACKYARD_TABLE")?;
    let aws = aws_config::load_from_env().await;
    let tokens = Tokens::new(Arc::new(DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), table)));
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
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,packyard=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("dev") => {
            let rest = &args[1..];
            check_flags(rest, &["--port", "--data-dir", "--org"])?;
            let port =
                flag_value(rest, "--port")?.map_or(Ok(8080), |port| port.parse().context("--port must be a number"))?;
            let data_dir = flag_value(rest, "--data-dir")?.map_or_else(|| PathBuf::from(".packyard"), PathBuf::from);
            devserver::serve(Options {
                port,
                data_dir,
                org: org(rest, Some("acme"))?,
                config: Config::from_env_with_body_limit(SERVER_MAX_BODY_BYTES)?,
            })
            .await
        }
        Some("bootstrap") => bootstrap(&args[1..]).await,
        _ => bail!("{USAGE}"),
    }
}
