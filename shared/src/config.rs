//! Configuration from environment variables, read once at start-up. SAM's `Globals` set them in AWS; the
//! dev server sets its own.

use anyhow::{Context, bail};

use crate::domain::secret::SecretsKey;
use crate::domain::storage_names::AccountId;

/// In Lambda, a request body is capped near 6 MB; direct uploads past this go through presigned URLs.
pub const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

/// A long-running server (the dev server, `packyard serve`, the transfer service) streams package bodies to
/// storage, so it takes packages up to this size unless `PACKYARD_MAX_BODY_BYTES` says otherwise.
pub const SERVER_MAX_BODY_BYTES: usize = 5 * 1024 * 1024 * 1024;

/// The largest body read whole into memory (a JSON document of the management API), whatever the package
/// limit: only package bodies are streamed.
pub const BUFFERED_BODY_LIMIT: usize = DEFAULT_MAX_BODY_BYTES;

/// Where the console's Launch Stack page fetches the storage link template, unless configured. `{version}`
/// stands for the template version a link was started with (see [`LINK_TEMPLATE_VERSION`]).
pub const DEFAULT_LINK_TEMPLATE_URL: &str =
    "https://packyard-templates.s3.amazonaws.com/private-storage-link/v{version}/private-storage-link.yaml";

/// The `TemplateVersion` output of `cloudformation/private-storage-link.yaml`: new links record it, and the
/// deployment publishes the template under `private-storage-link/v<version>/`.
pub const LINK_TEMPLATE_VERSION: u32 = 2;

/// How long an assumed link session lasts unless `PACKYARD_LINK_SESSION_SECONDS` says otherwise.
pub const DEFAULT_LINK_SESSION_SECONDS: i32 = 3600;

#[derive(Debug, Clone)]
pub struct Config {
    /// The base URL clients reach the API at; when unset, links are built from the request's Host.
    pub public_url: Option<String>,
    /// The largest package body a publish accepts (streamed to storage; `413` past it). Other bodies are
    /// read whole and capped at the smaller of this and [`BUFFERED_BODY_LIMIT`].
    pub max_body_bytes: usize,
    /// Where request bodies are spooled on their way to storage (`PACKYARD_SPOOL_DIR`; the dev server uses
    /// its data directory; otherwise the system's temporary directory, `/tmp` in Lambda and containers).
    pub spool_dir: std::path::PathBuf,
    pub links: LinkConfig,
    /// No other process serves the same metadata store (the dev server on its embedded store), so a change
    /// that narrows access need not wait for other processes' copies of tokens, registries and team grants to
    /// expire (`service::recent`). False everywhere else: Lambda containers, the transfer service, `packyard serve`.
    pub sole_server: bool,
}

/// The spool directory when none is configured.
fn default_spool_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("packyard-spool")
}

/// What private storage links need: Packyard's AWS account (the one link roles trust), the URL of
/// `cloudformation/private-storage-link.yaml` as published, and the key that seals customers' secrets.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub aws_account_id: Option<AccountId>,
    /// May hold `{version}`, replaced by each link's template version.
    pub template_url: String,
    pub secrets_key: Option<SecretsKey>,
    /// The session length AssumeRole asks for (3600 to 43200 s, as IAM allows a role's maximum); the Launch
    /// Stack URL passes it as the role's `MaxSessionDuration`.
    pub session_seconds: i32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            aws_account_id: None,
            template_url: DEFAULT_LINK_TEMPLATE_URL.to_owned(),
            secrets_key: None,
            session_seconds: DEFAULT_LINK_SESSION_SECONDS,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            public_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            spool_dir: default_spool_dir(),
            links: LinkConfig::default(),
            sole_server: false,
        }
    }
}

/// The value of a variable that must be set.
///
/// # Errors
/// Names the variable when it is unset or empty.
pub fn required_var(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => bail!("environment variable {name} must be set"),
    }
}

/// The value of a variable that may be unset (an empty value counts as unset).
pub fn optional_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

impl Config {
    /// Reads `PACKYARD_PUBLIC_URL`, `PACKYARD_MAX_BODY_BYTES`, `PACKYARD_SPOOL_DIR`, and for storage links
    /// `PACKYARD_AWS_ACCOUNT_ID`, `PACKYARD_LINK_TEMPLATE_URL`, `PACKYARD_LINK_SESSION_SECONDS` and
    /// `PACKYARD_SECRETS_KEY` (all optional: a
    /// deployment without them answers link requests that need them with a 503 naming the variable).
    ///
    /// # Errors
    /// Names the variable whose value is not acceptable.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_env_with_body_limit(DEFAULT_MAX_BODY_BYTES)
    }

    /// [`Self::from_env`], with `default_max_body` when `PACKYARD_MAX_BODY_BYTES` is unset (a long-running
    /// server passes [`SERVER_MAX_BODY_BYTES`]).
    ///
    /// # Errors
    /// Names the variable whose value is not acceptable.
    pub fn from_env_with_body_limit(default_max_body: usize) -> anyhow::Result<Self> {
        let public_url = optional_var("PACKYARD_PUBLIC_URL");
        if let Some(url) = &public_url {
            url::Url::parse(url).with_context(|| format!("PACKYARD_PUBLIC_URL {url:?} is not a URL"))?;
        }
        let max_body_bytes = match optional_var("PACKYARD_MAX_BODY_BYTES") {
            Some(text) => {
                text.parse().with_context(|| format!("PACKYARD_MAX_BODY_BYTES {text:?} is not a number of bytes"))?
            }
            None => default_max_body,
        };
        let aws_account_id = optional_var("PACKYARD_AWS_ACCOUNT_ID")
            .map(|id| AccountId::try_from(id).context("PACKYARD_AWS_ACCOUNT_ID"))
            .transpose()?;
        let template_url =
            optional_var("PACKYARD_LINK_TEMPLATE_URL").unwrap_or_else(|| DEFAULT_LINK_TEMPLATE_URL.to_owned());
        url::Url::parse(&template_url.replace("{version}", "1"))
            .with_context(|| format!("PACKYARD_LINK_TEMPLATE_URL {template_url:?} is not a URL"))?;
        let session_seconds = match optional_var("PACKYARD_LINK_SESSION_SECONDS") {
            Some(text) => text
                .parse()
                .ok()
                .filter(|seconds| (3600..=43200).contains(seconds))
                .with_context(|| format!("PACKYARD_LINK_SESSION_SECONDS {text:?} is not 3600 to 43200 seconds"))?,
            None => DEFAULT_LINK_SESSION_SECONDS,
        };
        let secrets_key = optional_var("PACKYARD_SECRETS_KEY")
            .map(|text| SecretsKey::from_text(&text).map_err(anyhow::Error::msg))
            .transpose()?;
        Ok(Self {
            public_url: public_url.map(|url| url.trim_end_matches('/').to_owned()),
            max_body_bytes,
            spool_dir: optional_var("PACKYARD_SPOOL_DIR").map_or_else(default_spool_dir, std::path::PathBuf::from),
            links: LinkConfig { aws_account_id, template_url, secrets_key, session_seconds },
            sole_server: false,
        })
    }
}

#[cfg(test)]
mod tests {
    /// The version new links record must be the one the template reports, or links would name a copy of the
    /// template that is not the one published under their version.
    #[test]
    fn the_link_template_version_is_the_templates_own() {
        let template = include_str!("../../cloudformation/private-storage-link.yaml");
        let output = template.split("TemplateVersion:").nth(1).expect("a TemplateVersion output");
        let value = output.split("Value:").nth(1).expect("its value").lines().next().unwrap().trim().trim_matches('"');
        assert_eq!(value, super::LINK_TEMPLATE_VERSION.to_string());
    }
}
