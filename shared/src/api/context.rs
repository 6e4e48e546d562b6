//! Per-request context: the request id and source address (from API Gateway in Lambda, from the socket
//! in the dev server), and the caller a bearer token (or the console's session cookie) authenticates.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use super::AppState;
use super::error::{ApiError, REQUEST_ID};
use crate::domain::audit::{Actor, Origin};
use crate::domain::error::Error;
use crate::domain::names::OrgSlug;
use crate::domain::token::{Scope, Token};
use crate::service::Acting;

/// Where a request came from, attached to every request by [`request_context`].
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub origin: Origin,
}

impl RequestMeta {
    /// Where the request came from, as [`request_context`] recorded it (unknown outside that middleware).
    pub fn origin_of(parts: &Parts) -> Origin {
        parts.extensions.get::<Self>().map_or_else(
            || Origin { request_id: super::error::current_request_id(), source_ip: "unknown".into() },
            |meta| meta.origin.clone(),
        )
    }
}

fn from_api_gateway(request: &Request) -> Option<Origin> {
    let (request_id, source_ip) = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => (context.request_id.clone(), context.http.source_ip.clone()),
        RequestContext::ApiGatewayV1(context) => (context.request_id.clone(), context.identity.source_ip.clone()),
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    Some(Origin { request_id: request_id?, source_ip: source_ip.unwrap_or_else(|| "unknown".into()) })
}

/// Middleware: works out the request id and source address, serves the request inside the request id's
/// scope (so errors can quote it) and returns the id in `x-request-id`.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let origin = from_api_gateway(&request).unwrap_or_else(|| Origin {
        request_id: ulid::Ulid::new().to_string(),
        source_ip: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |ConnectInfo(address)| address.ip().to_string()),
    });
    let request_id = origin.request_id.clone();
    request.extensions_mut().insert(RequestMeta { origin });
    let mut response = REQUEST_ID.scope(request_id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The authenticated caller of a management route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: Token,
    pub origin: Origin,
    /// A CI job's OIDC token, when that is the credential: `token` then only names the job, and what it
    /// may do is decided per registry by the registry's OIDC policy.
    pub oidc: Option<String>,
}

impl Caller {
    /// Checks the caller belongs to `org` and holds `scope`. Another organization's token learns nothing:
    /// it gets the same 404 as for an organization that does not exist.
    ///
    /// # Errors
    /// 404 for another organization, 403 naming the missing scope.
    pub fn require(&self, org: &str, scope: Scope) -> Result<OrgSlug, ApiError> {
        let org = self.organization_of(org)?;
        if self.token.scopes.contains(&scope) {
            Ok(org)
        } else {
            Err(Error::Forbidden(format!("this token lacks the {} scope", scope.as_str())).into())
        }
    }

    /// Checks the caller is an admin token of `org`. A member's token never is (tokens issued before
    /// that was refused included): issuing tokens and granting teams would reach past its teams' grants.
    ///
    /// # Errors
    /// 404 for another organization, 403 for a token that is not an admin.
    pub fn require_admin(&self, org: &str) -> Result<OrgSlug, ApiError> {
        let org = self.organization_of(org)?;
        match (&self.token.member, self.token.admin) {
            (None, true) => Ok(org),
            (Some(member), true) => Err(Error::Forbidden(format!(
                "{member}'s token is a member's token, bounded by their teams' grants, and cannot administer the organization"
            ))
            .into()),
            (_, false) => Err(Error::Forbidden("only an admin token may do this".into()).into()),
        }
    }

    /// Checks the caller belongs to `org`, answering 404 otherwise.
    ///
    /// # Errors
    /// 404 for another organization.
    pub fn organization_of(&self, org: &str) -> Result<OrgSlug, ApiError> {
        match OrgSlug::try_from(org) {
            Ok(org) if org == self.token.organization && self.oidc.is_none() => Ok(org),
            _ => Err(ApiError::not_found(format!("organization {org} not found"))),
        }
    }

    /// The caller as the actor of an audited change.
    pub fn acting(&self) -> Acting {
        let token = &self.token;
        Acting {
            actor: Actor { kind: "token".into(), id: token.id.clone(), name: token.description.to_string() },
            origin: self.origin.clone(),
        }
    }
}

/// The token a request carries: `Bearer <token>`, Basic auth with the token as the password (pip,
/// twine), the bare token (cargo), or `None` when there is no `Authorization` header.
fn credential(parts: &Parts) -> Result<Option<String>, ApiError> {
    let unauthenticated = |message: &str| ApiError::from(Error::Unauthenticated(message.to_owned()));
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| unauthenticated("the Authorization header is not readable text"))?;
    // cargo sends its token bare, with no scheme.
    let bare = [crate::domain::token::SECRET_PREFIX, crate::domain::token::REGISTRY_SECRET_PREFIX];
    if (bare.iter().any(|prefix| value.starts_with(prefix)) || crate::service::oidc::looks_like_jwt(value))
        && !value.contains(' ')
    {
        return Ok(Some(value.to_owned()));
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Some(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(rest).ok().and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some((_, password)) = decoded.as_deref().and_then(|pair| pair.split_once(':'))
            && !password.is_empty()
        {
            return Ok(Some(password.to_owned()));
        }
    }
    Err(unauthenticated(
        "the Authorization header must be `Bearer <token>`, or Basic auth with the token as the password",
    ))
}

/// The console's session cookie: it holds the API token pasted at sign-in (see `api::console`).
pub const SESSION_COOKIE: &str = "packyard_session";

/// The header the console's scripts send on every request. A cross-site form cannot send it, and a
/// cross-site script cannot without a CORS preflight that Packyard never grants.
pub const CONSOLE_HEADER: &str = "x-packyard-console";

/// The API token in the console's session cookie, if the request carries one.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Refuses a state-changing request that a page of another site could have made. The session cookie is
/// `SameSite=Strict`, so browsers do not send it cross-site; this is the second lock: an unsafe method
/// must carry [`CONSOLE_HEADER`], and an `Origin`, when sent, must be this host or `public_url` (what
/// CloudFront's clients see when it fronts the API under another host name).
///
/// # Errors
/// 403 naming what is missing.
pub fn refuse_cross_site(parts: &Parts, public_url: Option<&str>) -> Result<(), ApiError> {
    if parts.method.is_safe() {
        return Ok(());
    }
    let refuse = |message: &str| Err(ApiError::new(axum::http::StatusCode::FORBIDDEN, "cross_site_request", message));
    if parts.headers.get(CONSOLE_HEADER).and_then(|value| value.to_str().ok()) != Some("1") {
        return refuse(
            "a change made with the console's session cookie must carry the header X-Packyard-Console: 1; \
             other clients send their token in the Authorization header",
        );
    }
    let text = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let host = text("x-forwarded-host").or_else(|| text(header::HOST.as_str())).or(parts.uri.host());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        let public = public_url.map(|url| url.trim_end_matches('/'));
        if (host.is_none() || origin_host != host) && public != Some(origin) {
            return refuse("the request's Origin is not this console's address");
        }
    }
    Ok(())
}

impl Caller {
    /// The caller when the request carries credentials; `None` when it carries none. The
    /// `Authorization` header wins over the console's session cookie.
    ///
    /// # Errors
    /// 401 for credentials that are malformed or not valid; 403 for a cookie on a cross-site change.
    pub async fn optional(parts: &Parts, state: &AppState) -> Result<Option<Self>, ApiError> {
        let secret = match credential(parts)? {
            Some(secret) => secret,
            None => match session_cookie(&parts.headers) {
                Some(secret) => {
                    refuse_cross_site(parts, state.config.public_url.as_deref())?;
                    secret
                }
                None => return Ok(None),
            },
        };
        let origin = RequestMeta::origin_of(parts);
        if crate::service::oidc::looks_like_jwt(&secret) {
            return Ok(Some(Self { token: oidc_actor(&secret), origin, oidc: Some(secret) }));
        }
        let token = state.tokens.authenticate(&secret).await?.ok_or_else(|| {
            ApiError::from(Error::Unauthenticated("the API token is not valid; it may have been revoked".into()))
        })?;
        Ok(Some(Self { token, origin, oidc: None }))
    }
}

/// A stand-in token naming a CI job by its (not yet verified) issuer and subject, for audit events; it
/// holds no scopes and no organization of its own.
fn oidc_actor(jwt: &str) -> Token {
    let claims = crate::service::oidc::unverified_claims(jwt).unwrap_or_default();
    let text = |name: &str| claims[name].as_str().unwrap_or("?").chars().take(200).collect::<String>();
    let description = crate::domain::names::Description::try_from(format!("OIDC {} from {}", text("sub"), text("iss")))
        .unwrap_or_else(|_| crate::domain::names::Description::try_from("OIDC").unwrap_or_else(|_| unreachable!()));
    Token {
        id: format!("oidc:{}", text("sub")),
        organization: OrgSlug::try_from("oidc").unwrap_or_else(|_| unreachable!("a valid slug")),
        description,
        scopes: Vec::new(),
        admin: false,
        created_at: chrono::Utc::now(),
        created_by: "oidc".into(),
        secret_sha256: String::new(),
        registry_id: None,
        sealed_secret: None,
        member: None,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::optional(parts, state)
            .await?
            .ok_or_else(|| Error::Unauthenticated("send an API token as `Authorization: Bearer <token>`".into()).into())
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Self::optional(parts, state).await
    }
}
