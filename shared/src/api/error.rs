//! The one error type every management route answers with, and its JSON envelope:
//! `{"error": {"code", "message", "field"?}, "request_id"}`.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
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
        shaped(response)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Puts `message` in the status line as its reason phrase: twine and Maven show the status line, not the
/// body, unless run verbosely (PyPI does the same).
pub fn reason_phrase(response: &mut Response, message: &str) {
    let phrase: String = message.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(200).collect();
    if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(phrase) {
        response.extensions_mut().insert(phrase);
    }
}

/// On a 401, a Basic challenge, so clients that send credentials only when asked (pip, Maven) send them.
pub fn basic_challenge(response: &mut Response) {
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"packyard\""));
    }
}

/// Marks a response whose error body Packyard wrote in its route group's shape, so [`reshape`] keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Shaped;

/// Inserts the [`Shaped`] marker; every error type's `into_response` ends with this.
pub fn shaped(mut response: Response) -> Response {
    response.extensions_mut().insert(Shaped);
    response
}

/// How much of a framework rejection's plain-text body is kept as the message.
const REJECTION_TEXT_LIMIT: usize = 4096;

impl ApiError {
    /// An error the framework answered on its own (an unreadable path, query or form, an oversized body),
    /// with the code its status implies and its text as the message.
    fn from_framework(status: StatusCode, text: &str) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            status if status.is_server_error() => return Self::internal(&FrameworkFailure(text.to_owned())),
            _ => "rejected",
        };
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than this deployment accepts (PACKYARD_MAX_BODY_BYTES)".to_owned()
            }
            _ if text.is_empty() => status.canonical_reason().unwrap_or("the request was refused").to_owned(),
            _ => text.to_owned(),
        };
        Self::new(status, code, message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the framework answered with an error: {0}")]
struct FrameworkFailure(String);

/// Middleware: an error response that Packyard did not shape itself (axum's plain-text rejections of an
/// unreadable path, query, form or oversized body; a bare status) is answered again as `E`, the route
/// group's error shape: the JSON envelope, npm's, cargo's, or the plain text Python clients print.
pub async fn reshape<E: From<ApiError> + IntoResponse>(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.extensions().get::<Shaped>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, REJECTION_TEXT_LIMIT).await.unwrap_or_default();
    let text: String = String::from_utf8_lossy(&text).trim().chars().filter(|c| !c.is_control()).collect();
    let mut reshaped = E::from(ApiError::from_framework(status, &text)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !reshaped.headers().contains_key(name) {
            reshaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped(reshaped)
}
