//! Registry tokens: long-lived, read-only credentials for one private registry, for machines that only
//! install. Unlike organization tokens they can be shown again, so the secret is stored sealed with the
//! deployment's secrets key beside its hash; they stop authenticating while their registry is public.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::Description;
use crate::domain::registry::Registry;
use crate::domain::secret::{SecretText, SecretsKey};
use crate::domain::token::{REGISTRY_SECRET_PREFIX, Scope, Token, secret_sha256, secret_with};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;
use super::tokens::RecentTokens;

#[derive(Clone)]
pub struct RegistryTokens {
    store: Arc<dyn MetadataStore>,
    key: Option<SecretsKey>,
    /// The tokens [`super::tokens::Tokens::authenticate`] answers from memory, which a deletion settles.
    recent: RecentTokens,
}

fn target(token: &Token) -> Target {
    Target { kind: "registry_token".into(), id: token.id.clone(), name: token.description.to_string() }
}

impl RegistryTokens {
    pub fn new(store: Arc<dyn MetadataStore>, key: Option<SecretsKey>, recent: RecentTokens) -> Self {
        Self { store, key, recent }
    }

    fn key(&self) -> Result<&SecretsKey> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::Unavailable("registry tokens need PACKYARD_SECRETS_KEY to be set".into()))
    }

    /// Issues a read-only token for `registry`; its secret is returned and can be read again later.
    ///
    /// # Errors
    /// [`Error::Unavailable`] without a secrets key.
    pub async fn create(
        &self,
        acting: &Acting,
        registry: &Registry,
        description: Description,
    ) -> Result<(Token, SecretText)> {
        let secret = secret_with(REGISTRY_SECRET_PREFIX);
        let secret = SecretText::try_from(secret).map_err(|e| Error::invalid("token", e))?;
        let id = ulid::Ulid::new().to_string();
        let token = Token {
            id: id.clone(),
            organization: registry.organization.clone(),
            description,
            scopes: vec![Scope::ReadPackages],
            admin: false,
            created_at: Utc::now(),
            created_by: acting.actor.id.clone(),
            secret_sha256: secret_sha256(secret.expose()),
            registry_id: Some(registry.id.clone()),
            sealed_secret: Some(self.key()?.seal(&secret, &id)),
            member: None,
        };
        let (pk, sk) = keys::token_by_hash(&token.secret_sha256);
        let (listing_pk, listing_sk) = keys::registry_token(&registry.organization, &registry.id, &id);
        let shown = json!({"description": token.description, "registry": registry.slug});
        self.store
            .write(vec![
                WriteOp::put(Item::from_value(pk, sk, 1, &token)?, Condition::NotExists),
                WriteOp::put(Item::from_value(listing_pk, listing_sk, 1, &token)?, Condition::NotExists),
                acting.audit(
                    &registry.organization,
                    "registry_token.created",
                    target(&token),
                    diff(&json!(null), &shown, &["description", "registry"]),
                )?,
            ])
            .await?;
        Ok((token, secret))
    }

    /// The registry's tokens, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self, registry: &Registry) -> Result<Vec<Token>> {
        let query = Query {
            pk: keys::organization_partition(&registry.organization),
            sk_prefix: keys::registry_tokens_prefix(&registry.id),
            after: None,
            limit: 100,
            descending: false,
        };
        Ok(self.store.query(&query).await?.items.iter().map(Item::to_value).collect::<Result<_, _>>()?)
    }

    async fn find(&self, registry: &Registry, id: &str) -> Result<(Token, u64)> {
        let not_found = || Error::NotFound(format!("registry token {id} not found"));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (pk, sk) = keys::registry_token(&registry.organization, &registry.id, id);
        let item = self.store.get(&pk, &sk).await?.ok_or_else(not_found)?;
        Ok((item.to_value()?, item.version))
    }

    /// A token and its secret, opened again.
    ///
    /// # Errors
    /// [`Error::NotFound`], or [`Error::Unavailable`] when the secrets key cannot open it.
    pub async fn get(&self, registry: &Registry, id: &str) -> Result<(Token, SecretText)> {
        let (token, _) = self.find(registry, id).await?;
        let sealed =
            token.sealed_secret.as_ref().ok_or_else(|| Error::NotFound(format!("registry token {id} not found")))?;
        let secret = self.key()?.open(sealed, &token.id).map_err(|error| Error::Unavailable(error.to_string()))?;
        Ok((token, secret))
    }

    /// Changes a token's description.
    ///
    /// # Errors
    /// [`Error::NotFound`], or [`Error::Conflict`] for a concurrent change.
    pub async fn describe(
        &self,
        acting: &Acting,
        registry: &Registry,
        id: &str,
        description: Description,
    ) -> Result<Token> {
        let (current, version) = self.find(registry, id).await?;
        let updated = Token { description, ..current.clone() };
        let (pk, sk) = keys::token_by_hash(&updated.secret_sha256);
        let (listing_pk, listing_sk) = keys::registry_token(&registry.organization, &registry.id, id);
        let changes = diff(
            &json!({"description": current.description}),
            &json!({"description": updated.description}),
            &["description"],
        );
        let ops = vec![
            WriteOp::put(Item::from_value(listing_pk, listing_sk, version + 1, &updated)?, Condition::Version(version)),
            WriteOp::put(Item::from_value(pk, sk, version + 1, &updated)?, Condition::Exists),
            acting.audit(&registry.organization, "registry_token.updated", target(&updated), changes)?,
        ];
        let written = self.store.write(ops).await;
        self.recent.forget(&updated.secret_sha256);
        match written {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {
                Err(Error::Conflict(format!("registry token {id} changed at the same time; retry")))
            }
            other => other.map(|()| updated).map_err(Error::from),
        }
    }

    /// Deletes a token. It stops authenticating in this process at once and, by the time this returns, in
    /// every other (see [`super::recent::Recent::settle`]).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete(&self, acting: &Acting, registry: &Registry, id: &str) -> Result<()> {
        let (token, _) = self.find(registry, id).await?;
        let (pk, sk) = keys::token_by_hash(&token.secret_sha256);
        let (listing_pk, listing_sk) = keys::registry_token(&registry.organization, &registry.id, id);
        let ops = vec![
            WriteOp::delete(listing_pk, listing_sk, Condition::Exists),
            WriteOp::delete(pk, sk, Condition::Always),
            acting.audit(&registry.organization, "registry_token.deleted", target(&token), Default::default())?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. }) => Err(Error::NotFound(format!("registry token {id} not found"))),
            Err(error) => Err(error.into()),
            Ok(()) => {
                self.recent.forget(&token.secret_sha256);
                self.recent.settle().await;
                Ok(())
            }
        }
    }
}
