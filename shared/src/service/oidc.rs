//! CI identity tokens as credentials: a registry's OIDC policy, and verifying a JWT against it — the
//! signature against the issuer's JWKS (discovered and cached), `aud` (the registry's [`audience`]), `iss`,
//! `exp`, `nbf`, `iat`, a maximum lifetime, and the policy's claim rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::oidc::{Policy, parse_policy};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ports::metadata::{Condition, Item, MetadataStore, WriteOp};

use super::Acting;

/// The longest a CI token may live (`exp - iat`): a leaked one is soon worthless.
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);
const JWKS_TTL: Duration = Duration::from_secs(600);
const LEEWAY_SECONDS: u64 = 30;

#[derive(Clone)]
pub struct Oidc {
    store: Arc<dyn MetadataStore>,
    http: reqwest::Client,
    jwks: Arc<Mutex<HashMap<String, (Instant, JwkSet)>>>,
}

fn unauthenticated(message: impl Into<String>) -> Error {
    Error::Unauthenticated(message.into())
}

/// Whether a credential is shaped like a JWT (three base64url parts, a JSON header).
pub fn looks_like_jwt(credential: &str) -> bool {
    let parts: Vec<_> = credential.split('.').collect();
    parts.len() == 3
        && credential.starts_with("eyJ")
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The claims of a JWT, unverified: only to pick the issuer and name the actor before verification.
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The audience a CI job's token must name to act on `registry`: `packyard:{org}:{registry id}`. It comes
/// from the registry's record alone, never from the request (a `Host` header is the caller's to choose),
/// needs no configured URL, survives a rename, and a registry id is never reused.
pub fn audience(registry: &Registry) -> String {
    format!("packyard:{}:{}", registry.organization, registry.id)
}

impl Oidc {
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { store, http, jwks: Arc::default() }
    }

    /// The registry's policy; empty when none was saved.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn policy(&self, registry: &Registry) -> Result<(Policy, Option<String>)> {
        let (pk, sk) = keys::oidc_policy(&registry.organization, &registry.id);
        match self.store.get(&pk, &sk).await? {
            Some(item) => {
                let policy = serde_json::from_value(item.attributes.get("statements").cloned().unwrap_or(json!([])))
                    .map_err(|e| crate::ports::metadata::StoreError::Corrupt(e.to_string()))?;
                Ok((policy, item.attributes.get("source").and_then(Value::as_str).map(str::to_owned)))
            }
            None => Ok((Policy::default(), None)),
        }
    }

    /// Saves a policy written in YAML or JSON; an invalid one is refused with its line and reason.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a policy that does not parse.
    pub async fn set_policy(&self, acting: &Acting, registry: &Registry, source: &str) -> Result<Policy> {
        let policy = parse_policy(source).map_err(|error| Error::invalid("policy", error))?;
        let (before, _) = self.policy(registry).await?;
        let (pk, sk) = keys::oidc_policy(&registry.organization, &registry.id);
        let item = Item::from_value(pk, sk, 1, &json!({"statements": policy, "source": source}))?;
        let target = Target { kind: "registry".into(), id: registry.id.clone(), name: registry.slug.to_string() };
        let changes = diff(&json!({"oidc_policy": before}), &json!({"oidc_policy": policy}), &["oidc_policy"]);
        self.store
            .write(vec![
                WriteOp::put(item, Condition::Always),
                acting.audit(&registry.organization, "registry.oidc_policy_changed", target, changes)?,
            ])
            .await?;
        Ok(policy)
    }

    async fn keys(&self, issuer: &str, refresh: bool) -> Result<JwkSet> {
        let cached = self.jwks.lock().unwrap_or_else(PoisonError::into_inner).get(issuer).cloned();
        if let Some((fetched, set)) = cached
            && (!refresh && fetched.elapsed() < JWKS_TTL || fetched.elapsed() < Duration::from_secs(30))
        {
            return Ok(set);
        }
        let unreachable =
            |what: &str, error: reqwest::Error| unauthenticated(format!("cannot read the issuer's {what}: {error}"));
        let discovery: Value = self
            .http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unreachable("OpenID configuration", e))?
            .json()
            .await
            .map_err(|e| unreachable("OpenID configuration", e))?;
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| unauthenticated("the issuer's OpenID configuration has no jwks_uri"))?;
        let set: JwkSet = self
            .http
            .get(jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unreachable("JWKS", e))?
            .json()
            .await
            .map_err(|e| unreachable("JWKS", e))?;
        self.jwks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(issuer.to_owned(), (Instant::now(), set.clone()));
        Ok(set)
    }

    /// The scopes `jwt` has on `registry`; its audience must be the registry's [`audience`].
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] naming why a token is not valid; [`Error::Forbidden`] when it is valid
    /// but no statement of the policy matches its claims.
    pub async fn verify(&self, registry: &Registry, jwt: &str) -> Result<Vec<Scope>> {
        let audience = audience(registry);
        let header = decode_header(jwt).map_err(|e| unauthenticated(format!("the token is not a JWT: {e}")))?;
        let issuer = unverified_claims(jwt)
            .and_then(|claims| claims["iss"].as_str().map(str::to_owned))
            .ok_or_else(|| unauthenticated("the token has no iss"))?;
        let (policy, _) = self.policy(registry).await?;
        if !policy.trusts(&issuer) {
            return Err(unauthenticated(format!("registry {} does not trust tokens from {issuer}", registry.slug)));
        }
        let issuer = issuer.trim_end_matches('/').to_owned();
        let kid = header.kid.clone().ok_or_else(|| unauthenticated("the token's header has no kid"))?;
        let mut set = self.keys(&issuer, false).await?;
        if set.find(&kid).is_none() {
            set = self.keys(&issuer, true).await?;
        }
        let jwk = set.find(&kid).ok_or_else(|| unauthenticated(format!("the issuer has no key {kid}")))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| unauthenticated(format!("the issuer's key {kid} is not usable: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&audience]);
        validation.set_issuer(&[issuer.as_str(), &format!("{issuer}/")]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = decode::<Value>(jwt, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            unauthenticated(match error.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidAudience => format!("the token's audience must be {audience}"),
                ErrorKind::InvalidIssuer => "the token's issuer does not match".to_owned(),
                ErrorKind::InvalidSignature => "the token's signature does not verify".to_owned(),
                ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
                other => format!("the token is not valid: {other:?}"),
            })
        })?;
        let claims = data.claims;
        let (iat, exp) = (claims["iat"].as_u64().unwrap_or(0), claims["exp"].as_u64().unwrap_or(u64::MAX));
        let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
        if iat > now + LEEWAY_SECONDS {
            return Err(unauthenticated("the token was issued in the future (iat)"));
        }
        if exp.saturating_sub(iat) > MAX_LIFETIME.as_secs() {
            return Err(unauthenticated(format!(
                "the token lives {} s; at most {} s is accepted",
                exp.saturating_sub(iat),
                MAX_LIFETIME.as_secs()
            )));
        }
        policy.scopes_for(&issuer, &claims).ok_or_else(|| {
            Error::Forbidden(format!(
                "no statement of registry {}'s OIDC policy matches this token's claims",
                registry.slug
            ))
        })
    }
}
