//! The JSON body extractor: refuses a wrong content type, an oversize body and malformed JSON with a 4xx
//! that names the problem, and the field at fault when one value is.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body parsed as JSON into `T`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is larger than this endpoint accepts",
                )
            } else {
                ApiError::bad_request("unreadable_body", rejection.body_text())
            }
        })?;
        let is_json = content_type.as_deref().is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send the body as application/json, not {}",
                    content_type.as_deref().unwrap_or("no content type")
                ),
            ));
        }
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document, telling malformed JSON (400) from well-formed JSON with a bad value (422).
///
/// # Errors
/// The [`ApiError`] a client should see.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let malformed = |error: serde_json::Error| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {error}"))
    };
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", without_position(&inner));
                if path == "." { error } else { error.with_field(path) }
            }
            _ => malformed(inner),
        }
    })?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// serde's data errors end in "at line L column C", which says nothing to a caller once a field is named.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: crate::domain::names::RegistryName,
        color: Option<crate::domain::names::Color>,
    }

    #[test]
    fn malformed_json_is_a_400_and_bad_values_a_422_naming_the_field() {
        let malformed = parse::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        let bad_color = parse::<Body>(br##"{"name": "x", "color": "#12"}"##).unwrap_err();
        assert_eq!((bad_color.status, bad_color.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("color")));
        assert!(bad_color.message.contains("#RRGGBB"), "{}", bad_color.message);
        let unknown = parse::<Body>(br#"{"name": "x", "colour": "red"}"#).unwrap_err();
        assert!(unknown.message.contains("unknown field `colour`"), "{}", unknown.message);
        let trailing = parse::<Body>(br#"{"name": "x"} {}"#).unwrap_err();
        assert_eq!(trailing.status, StatusCode::BAD_REQUEST);
    }
}
