//! The one error type every management route answers with, and its JSON envelope:
//! `{"error": {"code", "message", "field"?}, "request_id"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::error::Error;
use crate::ports::metadata::StoreError;

tokio::task_local! {
    /// The id of the request being served, for error bodies and logs.
    pub static REQUEST_ID: String;
}

/// The id of the request this task serves, or `-` outside one.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// An internal failure: logged here, once, with its cause chain; answered without details.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let chain = crate::domain::error::cause_chain(error);
        tracing::error!(request.id = %current_request_id(), error = %chain, "request failed: {chain}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Packyard failed to handle this request; quote the request id when you report it",
        )
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(message) => Self::not_found(message),
            Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            Error::PreconditionFailed(message) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", message)
            }
            Error::Invalid { field, message } => {
                Self { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid", message, field }
            }
            Error::Unauthenticated(message) => Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message),
            Error::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            Error::Unavailable(message) => {
                tracing::error!(request.id = %current_request_id(), "misconfigured: {message}");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "not_configured", message)
            }
            Error::Store(StoreError::Contention) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "another request changed the same data at the same time; retry",
            ),
            Error::Store(error) => Self::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let body = json!({"error": error, "request_id": current_request_id()});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"packyard\""));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
