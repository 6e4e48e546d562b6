//! Creating, listing, reading, updating and deleting source registries.

use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::{Ecosystem, OrgSlug, RegistrySlug};
use crate::domain::registry::{NewRegistry, Registry, RegistryPatch};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;
use super::recent::Recent;
use super::signing_keys::SigningKeys;

/// The fields an audit event compares.
const AUDITED_FIELDS: [&str; 9] =
    ["name", "slug", "ecosystem", "description", "emoji", "color", "public", "storage", "immutable_tags"];

/// The outcome of an update: the registry as it now is, and its old slug when a rename moved it.
#[derive(Debug)]
pub struct Updated {
    pub registry: Registry,
    pub renamed_from: Option<RegistrySlug>,
}

#[derive(Clone)]
pub struct Registries {
    store: Arc<dyn MetadataStore>,
    /// Registries read lately, for package reads; see [`Registries::get_for_reading`].
    recent: Recent<(OrgSlug, RegistrySlug), Registry>,
    /// Gives a new Debian registry its first signing key in its creation's transaction.
    signing_keys: SigningKeys,
}

fn target(registry: &Registry) -> Target {
    Target { kind: "registry".into(), id: registry.id.clone(), name: registry.slug.to_string() }
}

fn to_json(registry: &Registry) -> Value {
    serde_json::to_value(registry).unwrap_or(Value::Null)
}

fn item(registry: &Registry, version: u64) -> Result<Item> {
    let (pk, sk) = keys::registry(&registry.organization, &registry.slug);
    Ok(Item::from_value(pk, sk, version, registry)?)
}

fn not_found(org: &OrgSlug, slug: &RegistrySlug) -> Error {
    Error::NotFound(format!("registry {org}/{slug} not found"))
}

fn slug_taken(org: &OrgSlug, slug: &RegistrySlug) -> Error {
    Error::Conflict(format!("organization {org} already has a registry with slug {slug}; choose another name"))
}

fn concurrent_change(org: &OrgSlug, slug: &RegistrySlug) -> Error {
    Error::Conflict(format!(
        "registry {org}/{slug} was changed by another request at the same time; read it again and retry"
    ))
}

/// Whether tags are immutable: only OCI registries have movable tags to freeze.
fn tag_rule(ecosystem: Ecosystem, immutable_tags: Option<bool>) -> Result<bool> {
    match immutable_tags {
        Some(true) if ecosystem != Ecosystem::Oci => Err(Error::Invalid {
            field: Some("immutable_tags".into()),
            message: format!("immutable_tags applies to oci registries; {ecosystem} versions are immutable already"),
        }),
        value => Ok(value.unwrap_or(false)),
    }
}

impl Registries {
    /// `sole_server`: no other process serves `store` (see [`Recent::new`]).
    pub fn new(store: Arc<dyn MetadataStore>, signing_keys: SigningKeys, sole_server: bool) -> Self {
        Self { store, recent: Recent::new(sole_server), signing_keys }
    }

    /// The registry, for reading its packages: one this process read less than
    /// [`RECENT`](super::recent::RECENT) ago is answered from memory, so a warm function's downloads and index
    /// pages skip a DynamoDB read. A change made through this process drops its entry at once; one that
    /// narrows access (made private, deleted) answers once no other process still holds the registry as it
    /// was. One made public opens everywhere within `RECENT`.
    ///
    /// # Errors
    /// As [`Registries::get`].
    pub async fn get_for_reading(&self, org: &OrgSlug, slug: &RegistrySlug) -> Result<Registry> {
        let key = (org.clone(), slug.clone());
        if let Some(registry) = self.recent.get(&key) {
            return Ok(registry);
        }
        let (registry, _) = self.get(org, slug).await?;
        self.recent.put(key, registry.clone());
        Ok(registry)
    }

    fn forget(&self, org: &OrgSlug, slug: &RegistrySlug) {
        self.recent.forget(&(org.clone(), slug.clone()));
    }

    /// Creates a private registry whose slug is derived from its name.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the slug is taken, [`Error::Invalid`] when the name yields no slug.
    pub async fn create(&self, acting: &Acting, org: &OrgSlug, new: NewRegistry) -> Result<Registry> {
        let slug = RegistrySlug::from_name(&new.name).map_err(|error| Error::invalid("name", error))?;
        let immutable_tags = tag_rule(new.ecosystem, new.immutable_tags)?;
        let now = Utc::now();
        let registry = Registry {
            id: ulid::Ulid::new().to_string(),
            organization: org.clone(),
            slug,
            name: new.name,
            ecosystem: new.ecosystem,
            description: new.description,
            emoji: new.emoji,
            color: new.color,
            public: false,
            storage: new.storage,
            immutable_tags,
            created_at: now,
            updated_at: now,
        };
        let changes = diff(&Value::Null, &to_json(&registry), &AUDITED_FIELDS);
        let mut ops = vec![
            WriteOp::put(item(&registry, 1)?, Condition::NotExists),
            acting.audit(org, "registry.created", target(&registry), changes)?,
        ];
        ops.extend(self.signing_keys.first_key_op(&registry)?);
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { op: 0 }) => Err(slug_taken(org, &registry.slug)),
            other => other.map(|()| registry).map_err(Error::from),
        }
    }

    /// The registry and its version (for `ETag`/`If-Match`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the organization has no such registry.
    pub async fn get(&self, org: &OrgSlug, slug: &RegistrySlug) -> Result<(Registry, u64)> {
        let (pk, sk) = keys::registry(org, slug);
        let item = self.store.get(&pk, &sk).await?.ok_or_else(|| not_found(org, slug))?;
        Ok((item.to_value()?, item.version))
    }

    /// One page of registries in slug order, and the slug to resume after when more follow.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(
        &self,
        org: &OrgSlug,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Registry>, Option<String>)> {
        let query = Query {
            pk: keys::organization_partition(org),
            sk_prefix: keys::REGISTRY_PREFIX.to_owned(),
            after: after.map(|slug| format!("{}{slug}", keys::REGISTRY_PREFIX)),
            limit,
            descending: false,
        };
        let page = self.store.query(&query).await?;
        let next = page.next_after().and_then(|sk| sk.strip_prefix(keys::REGISTRY_PREFIX)).map(str::to_owned);
        let registries = page.items.iter().map(Item::to_value).collect::<Result<_, _>>()?;
        Ok((registries, next))
    }

    /// Applies a patch; a new name that changes the slug moves the registry to the new slug.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::PreconditionFailed`] when `if_version` is stale, [`Error::Invalid`] for
    /// an attempt to change the ecosystem, [`Error::Conflict`] when the new slug is taken or another request
    /// changed the registry meanwhile.
    pub async fn update(
        &self,
        acting: &Acting,
        org: &OrgSlug,
        slug: &RegistrySlug,
        patch: RegistryPatch,
        if_version: Option<u64>,
    ) -> Result<Updated> {
        let (current, version) = self.get(org, slug).await?;
        if let Some(expected) = if_version.filter(|expected| *expected != version) {
            return Err(Error::PreconditionFailed(format!(
                "registry {org}/{slug} is at version {version}, not {expected}; read it again"
            )));
        }
        if let Some(ecosystem) = &patch.ecosystem
            && ecosystem.as_str() != Some(current.ecosystem.as_str())
        {
            return Err(Error::Invalid {
                field: Some("ecosystem".into()),
                message: format!("a registry's ecosystem cannot change after creation (it is {})", current.ecosystem),
            });
        }
        let mut updated = current.clone();
        if let Some(name) = patch.name {
            updated.slug = RegistrySlug::from_name(&name).map_err(|error| Error::invalid("name", error))?;
            updated.name = name;
        }
        if let Some(description) = patch.description {
            updated.description = description;
        }
        if let Some(emoji) = patch.emoji {
            updated.emoji = emoji;
        }
        if let Some(color) = patch.color {
            updated.color = color;
        }
        if let Some(public) = patch.public {
            updated.public = public;
        }
        if let Some(storage) = patch.storage {
            updated.storage = storage;
        }
        if patch.immutable_tags.is_some() {
            updated.immutable_tags = tag_rule(current.ecosystem, patch.immutable_tags)?;
        }
        let changes = diff(&to_json(&current), &to_json(&updated), &AUDITED_FIELDS);
        if changes.is_empty() {
            return Ok(Updated { registry: current, renamed_from: None });
        }
        updated.updated_at = Utc::now();
        let renamed = updated.slug != current.slug;
        let action = match (renamed, changes.contains_key("public")) {
            (true, _) => "registry.renamed",
            (false, true) if updated.public => "registry.made_public",
            (false, true) => "registry.made_private",
            _ => "registry.updated",
        };
        let audit = acting.audit(org, action, target(&updated), changes)?;
        let ops = if renamed {
            let (pk, sk) = keys::registry(org, slug);
            vec![
                WriteOp::delete(pk, sk, Condition::Version(version)),
                WriteOp::put(item(&updated, version + 1)?, Condition::NotExists),
                audit,
            ]
        } else {
            vec![WriteOp::put(item(&updated, version + 1)?, Condition::Version(version)), audit]
        };
        let written = self.store.write(ops).await;
        self.forget(org, slug);
        match written {
            Err(StoreError::ConditionFailed { op: 1 }) if renamed => Err(slug_taken(org, &updated.slug)),
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(concurrent_change(org, slug)),
            Err(error) => Err(error.into()),
            Ok(()) => {
                if current.public && !updated.public {
                    self.recent.settle().await;
                }
                Ok(Updated { registry: updated, renamed_from: renamed.then(|| slug.clone()) })
            }
        }
    }

    /// Removes the registry and queues the removal of its packages.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::PreconditionFailed`] when `if_version` is stale, [`Error::Conflict`]
    /// when another request changed the registry meanwhile.
    pub async fn delete(
        &self,
        acting: &Acting,
        org: &OrgSlug,
        slug: &RegistrySlug,
        if_version: Option<u64>,
    ) -> Result<Registry> {
        let (current, version) = self.get(org, slug).await?;
        if let Some(expected) = if_version.filter(|expected| *expected != version) {
            return Err(Error::PreconditionFailed(format!(
                "registry {org}/{slug} is at version {version}, not {expected}; read it again"
            )));
        }
        let (pk, sk) = keys::registry(org, slug);
        let (job_pk, job_sk) = keys::registry_deletion(&current.id);
        let job = Item::from_value(job_pk, job_sk, 1, &current)?;
        let changes = diff(&to_json(&current), &Value::Null, &AUDITED_FIELDS);
        let ops = vec![
            WriteOp::delete(pk, sk, Condition::Version(version)),
            WriteOp::put(job, Condition::NotExists),
            acting.audit(org, "registry.deleted", target(&current), changes)?,
        ];
        let written = self.store.write(ops).await;
        self.forget(org, slug);
        match written {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(concurrent_change(org, slug)),
            Err(error) => Err(error.into()),
            Ok(()) => {
                self.recent.settle().await;
                Ok(current)
            }
        }
    }

    /// The slugs of the organization's registries that write new files to `storage`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn using_storage(
        &self,
        org: &OrgSlug,
        storage: &crate::domain::storage::StorageRef,
    ) -> Result<Vec<String>> {
        let mut using = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.list(org, after, 100).await?;
            using.extend(
                page.into_iter()
                    .filter(|registry| registry.storage.as_ref() == Some(storage))
                    .map(|registry| registry.slug.to_string()),
            );
            match next {
                Some(next) => after = Some(next),
                None => return Ok(using),
            }
        }
    }
}
