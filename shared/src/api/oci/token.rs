//! The registry token flow of the Docker and OCI clients: a `401` carries `WWW-Authenticate: Bearer
//! realm=".../v2/token",service="packyard",scope="repository:<name>:pull"`, the client trades its
//! credentials (Basic, with any Packyard token as the password: an organization or member token, a
//! registry token or a CI job's OIDC token) at `GET /v2/token` for a short-lived JWT, and sends that as
//! `Bearer` on every registry request.
//!
//! The JWT is signed (HS256) with a key derived from the deployment's secrets key and lists, per
//! repository, only the actions the credentials allowed when it was issued (the intersection of what was
//! asked and what is granted, as the token specification has it). It lives [`TOKEN_TTL`]: revoking a
//! Packyard token stops new JWTs at once, and those already issued within that time.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{OciResult, refused};
use crate::api::AppState;
use crate::api::access::registry_for;
use crate::api::context::Caller;
use crate::api::pagination::base_url;
use crate::domain::audit::{Actor, Origin};
use crate::domain::names::Ecosystem;
use crate::domain::token::Scope;
use crate::ecosystems::oci::{Code, check_repository, parse_path, split_name};
use crate::service::Acting;

/// How long an issued registry token is valid.
pub const TOKEN_TTL: i64 = 300;

/// The `service` of the challenge and the audience of every token.
const SERVICE: &str = "packyard";

/// The issuer of registry tokens, which tells them from a CI job's OIDC token.
const ISSUER: &str = "packyard-registry";

/// One repository and the actions a token allows on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    /// `{org}/{registry}/{repository}`.
    pub name: String,
    pub actions: Vec<String>,
    /// The registry the name meant when the token was issued, so a registry deleted and created again
    /// under its slug is not reached by an older token.
    pub registry_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    access: Vec<Access>,
    /// Who the credentials named, for audit events of what the token does.
    act: Actor,
}

/// What a verified registry token allows.
#[derive(Debug, Clone)]
pub struct Grant {
    access: Vec<Access>,
    actor: Actor,
}

impl Grant {
    /// Whether the token allows `action` on `org/registry/repository` of the registry `registry_id`.
    pub fn allows(&self, name: &str, registry_id: &str, action: &str) -> bool {
        self.access.iter().any(|access| {
            access.name == name
                && access.registry_id == registry_id
                && access.actions.iter().any(|allowed| allowed == action || allowed == "*")
        })
    }

    pub fn acting(&self, origin: Origin) -> Acting {
        Acting { actor: self.actor.clone(), origin }
    }
}

/// The registry-token action a scope needs.
pub fn action_for(scope: Scope) -> &'static str {
    match scope {
        Scope::WritePackages => "push",
        Scope::DeletePackages => "delete",
        _ => "pull",
    }
}

fn signing_key(state: &AppState) -> Option<[u8; 32]> {
    state.config.links.secrets_key.as_ref().map(|key| key.derive("oci-registry-token"))
}

/// Whether this deployment issues registry tokens (it has a secrets key to sign them with).
pub fn enabled(state: &AppState) -> bool {
    signing_key(state).is_some()
}

/// Whether a bearer credential is a registry token (rather than a CI job's OIDC token).
pub fn is_registry_token(credential: &str) -> bool {
    crate::service::oidc::looks_like_jwt(credential)
        && crate::service::oidc::unverified_claims(credential).is_some_and(|claims| claims["iss"] == ISSUER)
}

/// Verifies a registry token: its signature, issuer, audience and expiry.
///
/// # Errors
/// `UNAUTHORIZED` for a token that does not verify.
pub fn verify(state: &AppState, jwt: &str) -> OciResult<Grant> {
    let key =
        signing_key(state).ok_or_else(|| refused(Code::Unauthorized, "this deployment issues no registry tokens"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[SERVICE]);
    validation.leeway = 5;
    let claims = jsonwebtoken::decode::<Claims>(jwt, &DecodingKey::from_secret(&key), &validation)
        .map_err(|error| {
            refused(Code::Unauthorized, format!("the registry token is not valid ({error}); get a new one"))
        })?
        .claims;
    Ok(Grant { access: claims.access, actor: claims.act })
}

/// A parsed `repository:<name>:<actions>` scope.
fn parse_scope(scope: &str) -> Option<(&str, Vec<&str>)> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    (kind == "repository").then(|| (name, actions.split(',').filter(|action| !action.is_empty()).collect()))
}

/// `GET /v2/token?service=&scope=...` (and the OAuth2 `POST` form with `grant_type=password`): a registry
/// token for what the credentials allow of the scopes asked for. Anonymous callers get pulls of public
/// registries; wrong credentials get `401`.
pub(super) async fn issue(State(state): State<AppState>, request: Request) -> OciResult {
    let Some(key) = signing_key(&state) else {
        return Err(refused(Code::Unsupported, "this deployment issues no registry tokens; use Basic credentials"));
    };
    let (mut parts, body) = request.into_parts();
    let mut scopes: Vec<String> = Vec::new();
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    if parts.method == Method::POST {
        let form = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| refused(Code::Unsupported, "the token request's form is larger than 64 KiB"))?;
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&form).into_owned().collect();
        let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        if let Some(password) = field("password") {
            let pair = format!("{}:{password}", field("username").unwrap_or_default());
            let basic = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair));
            if let Ok(value) = HeaderValue::from_str(&basic) {
                parts.headers.insert(header::AUTHORIZATION, value);
            }
        }
        pairs.extend(form);
    }
    for (name, value) in &pairs {
        if name == "scope" {
            scopes.extend(value.split(' ').filter(|scope| !scope.is_empty()).map(str::to_owned));
        }
    }
    let caller = Caller::optional(&parts, &state).await?;
    let mut access: Vec<Access> = Vec::new();
    for scope in scopes.iter().take(32) {
        let Some((name, actions)) = parse_scope(scope) else { continue };
        if let Some(granted) = grant_scope(&state, caller.as_ref(), name, &actions).await {
            access.push(granted);
        }
    }
    let now = Utc::now().timestamp();
    let actor = match &caller {
        Some(caller) => caller.acting().actor,
        None => Actor { kind: "anonymous".into(), id: "anonymous".into(), name: "anonymous".into() },
    };
    let claims = Claims {
        iss: ISSUER.into(),
        aud: SERVICE.into(),
        sub: actor.id.clone(),
        exp: now + TOKEN_TTL,
        nbf: now,
        iat: now,
        jti: ulid::Ulid::new().to_string(),
        access,
        act: actor,
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&key))
        .map_err(|error| refused(Code::Unsupported, format!("the registry token could not be signed: {error}")))?;
    let issued_at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default().to_rfc3339();
    let body = json!({"token": token, "access_token": token, "expires_in": TOKEN_TTL, "issued_at": issued_at});
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// The actions of `name` that the caller holds, of those asked for; `None` when it holds none.
async fn grant_scope(state: &AppState, caller: Option<&Caller>, name: &str, actions: &[&str]) -> Option<Access> {
    let (org, slug, repository) = split_name(name)?;
    check_repository(repository).ok()?;
    let mut granted = Vec::new();
    let mut registry_id = None;
    let every = ["pull", "push", "delete"];
    let actions = if actions.contains(&"*") { &every[..] } else { actions };
    for action in actions {
        let scope = match *action {
            "pull" => Scope::ReadPackages,
            "push" => Scope::WritePackages,
            "delete" => Scope::DeletePackages,
            _ => continue,
        };
        let Ok(registry) = registry_for(state, caller, org, slug, scope).await else { continue };
        if registry.ecosystem != Ecosystem::Oci {
            return None;
        }
        registry_id = Some(registry.id);
        granted.push((*action).to_owned());
    }
    Some(Access { kind: "repository".into(), name: name.to_owned(), actions: granted, registry_id: registry_id? })
}

/// Middleware: a `401` of the registry API carries the challenge that leads the client to its credentials:
/// the token flow where this deployment signs registry tokens, Basic otherwise. A registry token that lacks
/// the action a request needs gets `403` with the challenge and `error="insufficient_scope"` (RFC 6750), so
/// the client asks for a token with the scope named.
pub(super) async fn challenge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (path, method, headers) =
        (request.uri().path().to_owned(), request.method().clone(), request.headers().clone());
    let mut response = next.run(request).await;
    let insufficient = response.extensions().get::<InsufficientScope>().is_some();
    if response.status() != StatusCode::UNAUTHORIZED && !insufficient {
        return response;
    }
    let value = if enabled(&state) {
        let realm = format!("{}/v2/token", base_url(state.config.public_url.as_deref(), &headers));
        let mut challenge = format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\"");
        if let Some(scope) = scope_of(&path, &method) {
            challenge.push_str(&format!(",scope=\"{scope}\""));
        }
        if insufficient {
            challenge.push_str(",error=\"insufficient_scope\"");
        }
        challenge
    } else {
        "Basic realm=\"packyard\"".to_owned()
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Marks a `403` given to a registry token that lacks an action.
#[derive(Debug, Clone, Copy)]
pub(super) struct InsufficientScope;

/// The scope a request to `path` needs, for the challenge.
fn scope_of(path: &str, method: &Method) -> Option<String> {
    let route = parse_path(path.strip_prefix("/v2/")?)?;
    let actions = match *method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "pull,push",
    };
    Some(format!("repository:{}/{}/{}:{actions}", route.org, route.registry, route.repository))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_a_repository_and_its_actions() {
        assert_eq!(
            parse_scope("repository:acme/images/team/app:pull,push"),
            Some(("acme/images/team/app", vec!["pull", "push"]))
        );
        assert_eq!(parse_scope("repository:acme/images/app:*"), Some(("acme/images/app", vec!["*"])));
        assert_eq!(parse_scope("registry:catalog:*"), None);
        assert_eq!(parse_scope("repository"), None);
    }

    #[test]
    fn a_challenge_names_the_scope_the_request_needs() {
        assert_eq!(
            scope_of("/v2/acme/images/team/app/manifests/v1", &Method::GET).as_deref(),
            Some("repository:acme/images/team/app:pull")
        );
        assert_eq!(
            scope_of("/v2/acme/images/app/blobs/uploads/", &Method::POST).as_deref(),
            Some("repository:acme/images/app:pull,push")
        );
        assert_eq!(scope_of("/v2/", &Method::GET), None);
    }
}
