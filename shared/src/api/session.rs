//! `/console/session`: the console's sign-in. `POST` checks a pasted organization API token and keeps it
//! in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the request came over HTTPS), which the REST
//! API then accepts in place of an `Authorization` header (`api::context`); `GET` says who is signed in;
//! `DELETE` signs out. The cookie holds the token itself, not a session id: every function authenticates
//! it as it authenticates a header, and revoking the token ends every session it opened.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::context::{Caller, SESSION_COOKIE, refuse_cross_site};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::domain::error::Error;
use crate::domain::token::{SECRET_PREFIX, Token};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/console/session", get(get_session).post(create_session).delete(delete_session))
        .with_state(state)
}

/// How long the browser keeps the cookie: a working day. The token itself may live longer.
const SESSION_SECONDS: u32 = 12 * 60 * 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// Who is signed in, as the console shows it.
fn view(token: &Token) -> Value {
    json!({
        "organization": token.organization, "description": token.description, "admin": token.admin,
        "member": token.member, "scopes": token.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>(),
    })
}

/// Whether the browser reached Packyard over HTTPS: API Gateway and CloudFront always, a load balancer
/// when it says so. Only decides the cookie's `Secure` attribute.
fn over_https(parts: &Parts, state: &AppState) -> bool {
    let forwarded = parts.headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok());
    parts.uri.scheme_str() == Some("https")
        || forwarded.is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
        || state.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
}

fn cookie(value: &str, max_age: u32, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("packyard_session=; Max-Age=0"))
}

async fn create_session(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(sign_in): ApiJson<SignIn>,
) -> ApiResult<Response> {
    // Even without a cookie yet: a cross-site form must not sign a browser in to someone else's account.
    refuse_cross_site(&parts, state.config.public_url.as_deref())?;
    let secret = sign_in.token.trim();
    if !secret.starts_with(SECRET_PREFIX)
        || secret.len() > 200
        || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("sign in with an organization API token ({SECRET_PREFIX}…); registry tokens and CI tokens only read packages"),
        )
        .with_field("token"));
    }
    let token = state.tokens.authenticate(secret).await?.ok_or_else(|| {
        ApiError::from(Error::Unauthenticated("the API token is not valid; it may have been revoked".into()))
    })?;
    tracing::info!(organization = %token.organization, token.id = %token.id, "signed in to the console");
    let mut response = (StatusCode::CREATED, Json(view(&token))).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(secret, SESSION_SECONDS, over_https(&parts, &state)));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn get_session(caller: Caller) -> ApiResult<Response> {
    let mut response = Json(view(&caller.token)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn delete_session(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    refuse_cross_site(&parts, state.config.public_url.as_deref())?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie("", 0, over_https(&parts, &state)));
    Ok(response)
}
