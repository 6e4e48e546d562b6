//! Organizations' API tokens: bootstrap, issue, authenticate, list and revoke.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::audit::{Actor, Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::{Description, OrgSlug};
use crate::domain::token::{Scope, Token, new_secret, secret_sha256};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;
use super::recent::Recent;

/// An organization's record; it exists once bootstrap has run for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub slug: OrgSlug,
    pub created_at: DateTime<Utc>,
}

/// A token just issued: its record and the secret, which is shown this once.
#[derive(Debug)]
pub struct Issued {
    pub token: Token,
    pub secret: String,
}

/// What a caller asks for when issuing a token.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(value_type = String, max_length = 1000)]
    pub description: Description,
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub admin: bool,
    /// Issue the token to a team member: their teams' grants then bound its package access.
    #[serde(default)]
    pub member: Option<String>,
}

/// Tokens read lately, by their secret's SHA-256: what [`Tokens::authenticate`] answers from memory and a
/// revocation settles (see [`super::recent`]). Registry tokens share it.
pub type RecentTokens = Recent<String, Token>;

#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn MetadataStore>,
    recent: RecentTokens,
}

fn target(token: &Token) -> Target {
    Target { kind: "token".into(), id: token.id.clone(), name: token.description.to_string() }
}

impl Tokens {
    pub fn new(store: Arc<dyn MetadataStore>, recent: RecentTokens) -> Self {
        Self { store, recent }
    }

    /// Creates the organization with a first admin token holding every scope, unless it already exists.
    /// Returns `None` when the organization was there already (its tokens are not shown again).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn bootstrap(&self, org: &OrgSlug, origin: crate::domain::audit::Origin) -> Result<Option<Issued>> {
        let acting =
            Acting { actor: Actor { kind: "system".into(), id: "bootstrap".into(), name: "bootstrap".into() }, origin };
        let organization = Organization { slug: org.clone(), created_at: Utc::now() };
        let (pk, sk) = keys::organization(org);
        let org_item = Item::from_value(pk, sk, 1, &organization)?;
        let new = NewToken {
            description: Description::try_from("bootstrap admin token")
                .map_err(|e| Error::invalid("description", e))?,
            scopes: Scope::ALL.to_vec(),
            admin: true,
            member: None,
        };
        let org_audit = acting.audit(
            org,
            "organization.created",
            Target { kind: "organization".into(), id: org.to_string(), name: org.to_string() },
            diff(&serde_json::Value::Null, &json!({"slug": org}), &["slug"]),
        )?;
        match self.issue_with(&acting, org, new, vec![WriteOp::put(org_item, Condition::NotExists), org_audit]).await {
            Ok(issued) => Ok(Some(issued)),
            Err(Error::Store(StoreError::ConditionFailed { op: 0 })) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Issues a token. A caller cannot grant what it does not hold: only admins issue admin tokens, and
    /// every scope asked for must be one of the caller's.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when the caller may not grant this, [`Error::Invalid`] for no scopes.
    pub async fn issue(&self, acting: &Acting, caller: &Token, new: NewToken) -> Result<Issued> {
        if let Some(scope) = new.scopes.iter().find(|scope| !caller.scopes.contains(scope)) {
            return Err(Error::Forbidden(format!(
                "a token cannot grant scope {} that it does not hold",
                scope.as_str()
            )));
        }
        if new.admin && !caller.admin {
            return Err(Error::Forbidden("only an admin token can create an admin token".into()));
        }
        let org = caller.organization.clone();
        let (pk, sk) = keys::organization(&org);
        self.issue_with(acting, &org, new, vec![WriteOp::Check { pk, sk, condition: Condition::Exists }]).await
    }

    async fn issue_with(&self, acting: &Acting, org: &OrgSlug, new: NewToken, mut ops: Vec<WriteOp>) -> Result<Issued> {
        if let Some(member) = &new.member {
            crate::domain::team::validate_login(member).map_err(|e| Error::invalid("member", e))?;
            if new.admin {
                return Err(Error::Invalid {
                    field: Some("admin".into()),
                    message: "a member's token cannot be an admin: managing tokens and teams would reach past the member's grants".into(),
                });
            }
        }
        if new.scopes.is_empty() {
            return Err(Error::Invalid {
                field: Some("scopes".into()),
                message: "a token needs at least one scope".into(),
            });
        }
        let mut scopes = new.scopes;
        scopes.sort();
        scopes.dedup();
        let secret = new_secret();
        let token = Token {
            id: ulid::Ulid::new().to_string(),
            organization: org.clone(),
            description: new.description,
            scopes,
            admin: new.admin,
            created_at: Utc::now(),
            created_by: acting.actor.id.clone(),
            secret_sha256: secret_sha256(&secret),
            registry_id: None,
            sealed_secret: None,
            member: new.member,
        };
        let (pk, sk) = keys::token_by_hash(&token.secret_sha256);
        let (listing_pk, listing_sk) = keys::token_listing(org, &token.id);
        let shown =
            json!({"id": token.id, "description": token.description, "scopes": token.scopes, "admin": token.admin});
        ops.extend([
            WriteOp::put(Item::from_value(pk, sk, 1, &token)?, Condition::NotExists),
            WriteOp::put(Item::from_value(listing_pk, listing_sk, 1, &token)?, Condition::NotExists),
            acting.audit(
                org,
                "token.created",
                target(&token),
                diff(&serde_json::Value::Null, &shown, &["id", "description", "scopes", "admin"]),
            )?,
        ]);
        self.store.write(ops).await?;
        Ok(Issued { token, secret })
    }

    /// The token a secret belongs to, if it is a live one. A token this process read less than
    /// [`super::recent::RECENT`] ago is answered from memory; an unknown secret is always looked up, so a new
    /// token works at once, and a revoked one is refused by every process once its revocation has answered.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        let hash = secret_sha256(secret);
        if let Some(token) = self.recent.get(&hash) {
            return Ok(Some(token));
        }
        let (pk, sk) = keys::token_by_hash(&hash);
        let token: Option<Token> = self.store.get(&pk, &sk).await?.map(|item| item.to_value()).transpose()?;
        if let Some(token) = &token {
            self.recent.put(hash, token.clone());
        }
        Ok(token)
    }

    /// One page of the organization's tokens, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(
        &self,
        org: &OrgSlug,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Token>, Option<String>)> {
        let query = Query {
            pk: keys::organization_partition(org),
            sk_prefix: keys::TOKEN_LISTING_PREFIX.to_owned(),
            after: after.map(|id| format!("{}{id}", keys::TOKEN_LISTING_PREFIX)),
            limit,
            descending: false,
        };
        let page = self.store.query(&query).await?;
        let next = page.next_after().and_then(|sk| sk.strip_prefix(keys::TOKEN_LISTING_PREFIX)).map(str::to_owned);
        Ok((page.items.iter().map(Item::to_value).collect::<Result<_, _>>()?, next))
    }

    /// Revokes a token of the organization. It stops authenticating in this process at once and, by the
    /// time this returns, in every other (see [`Recent::settle`]).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the organization has no such token.
    pub async fn revoke(&self, acting: &Acting, org: &OrgSlug, id: &str) -> Result<Token> {
        let not_found = || Error::NotFound(format!("token {id} not found"));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (listing_pk, listing_sk) = keys::token_listing(org, id);
        let token: Token = self.store.get(&listing_pk, &listing_sk).await?.ok_or_else(not_found)?.to_value()?;
        let (pk, sk) = keys::token_by_hash(&token.secret_sha256);
        let ops = vec![
            WriteOp::delete(listing_pk, listing_sk, Condition::Exists),
            WriteOp::delete(pk, sk, Condition::Always),
            acting.audit(org, "token.revoked", target(&token), Default::default())?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. }) => Err(not_found()),
            Err(error) => Err(error.into()),
            Ok(()) => {
                self.recent.forget(&token.secret_sha256);
                self.recent.settle().await;
                Ok(token)
            }
        }
    }
}
