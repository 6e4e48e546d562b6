//! Configuration from environment variables, read once at start-up. SAM's `Globals` set them in AWS; the
//! dev server sets its own.

use anyhow::{Context, bail};

/// In Lambda, a request body is capped near 6 MB; direct uploads past this go through presigned URLs.
pub const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// The base URL clients reach the API at; when unset, links are built from the request's Host.
    pub public_url: Option<String>,
    /// The largest request body the API reads.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { public_url: None, max_body_bytes: DEFAULT_MAX_BODY_BYTES }
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
    /// Reads `PACKYARD_PUBLIC_URL` and `PACKYARD_MAX_BODY_BYTES`.
    ///
    /// # Errors
    /// Names the variable whose value is not acceptable.
    pub fn from_env() -> anyhow::Result<Self> {
        let public_url = optional_var("PACKYARD_PUBLIC_URL");
        if let Some(url) = &public_url {
            url::Url::parse(url).with_context(|| format!("PACKYARD_PUBLIC_URL {url:?} is not a URL"))?;
        }
        let max_body_bytes = match optional_var("PACKYARD_MAX_BODY_BYTES") {
            Some(text) => {
                text.parse().with_context(|| format!("PACKYARD_MAX_BODY_BYTES {text:?} is not a number of bytes"))?
            }
            None => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Self { public_url: public_url.map(|url| url.trim_end_matches('/').to_owned()), max_body_bytes })
    }
}
