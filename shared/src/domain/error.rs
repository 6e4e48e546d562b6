//! The domain's errors: what went wrong in terms a caller can act on, independent of HTTP.

use crate::ports::metadata::StoreError;

use super::names::InvalidValue;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with the current state (a taken slug, a concurrent edit).
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` precondition did not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A value the caller sent is not acceptable; `field` names it when one field is at fault.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// This deployment lacks configuration the request needs; the message names the variable.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub fn invalid(field: &str, error: InvalidValue) -> Self {
        Self::Invalid { field: Some(field.to_owned()), message: error.0 }
    }
}

/// An error and its causes, `: `-separated, for a log line or a diagnostic step.
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
