//! Teams: create, list, change members and per-registry grants (after creation too), delete; and the
//! access a member has to a registry, the highest level any of their teams grants.
//!
//! A function answers a member's grant it read in the last seconds from memory (see `service::recent`): a
//! change that narrows access (a member removed, a grant lowered or removed, a team deleted) answers only once
//! every such copy has expired, and a grant too low or missing in memory is read again, so a widened grant
//! shows at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::{Description, OrgSlug, RegistryName, RegistrySlug};
use crate::domain::team::{AccessLevel, Team, validate_login};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;
use super::recent::Recent;

/// A change to a team, applied to its current state.
pub enum TeamChange {
    Describe(Option<Description>),
    AddMember(String),
    RemoveMember(String),
    Grant { registry_id: String, level: Option<AccessLevel> },
}

#[derive(Clone)]
pub struct Teams {
    store: Arc<dyn MetadataStore>,
    /// Members' grants by registry id, by organization and login, as read lately.
    recent: Recent<(OrgSlug, String), Arc<BTreeMap<String, AccessLevel>>>,
}

fn target(team: &Team) -> Target {
    Target { kind: "team".into(), id: team.slug.to_string(), name: team.name.to_string() }
}

fn shown(team: &Team) -> Value {
    json!({"name": team.name, "description": team.description, "members": team.members, "grants": team.grants})
}

const FIELDS: [&str; 4] = ["name", "description", "members", "grants"];

impl Teams {
    /// `sole_server`: no other process serves `store` (see [`Recent::new`]).
    pub fn new(store: Arc<dyn MetadataStore>, sole_server: bool) -> Self {
        Self { store, recent: Recent::new(sole_server) }
    }

    /// # Errors
    /// [`Error::Conflict`] when the slug is taken.
    pub async fn create(
        &self,
        acting: &Acting,
        org: &OrgSlug,
        name: RegistryName,
        description: Option<Description>,
    ) -> Result<Team> {
        let slug = RegistrySlug::from_name(&name).map_err(|e| Error::invalid("name", e))?;
        let team = Team {
            organization: org.clone(),
            slug,
            name,
            description,
            members: Vec::new(),
            grants: Default::default(),
            created_at: Utc::now(),
        };
        let (pk, sk) = keys::team(org, &team.slug);
        let ops = vec![
            WriteOp::put(Item::from_value(pk, sk, 1, &team)?, Condition::NotExists),
            acting.audit(org, "team.created", target(&team), diff(&Value::Null, &shown(&team), &FIELDS))?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { op: 0 }) => {
                Err(Error::Conflict(format!("organization {org} already has a team {}", team.slug)))
            }
            other => other.map(|()| team).map_err(Error::from),
        }
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn get(&self, org: &OrgSlug, slug: &RegistrySlug) -> Result<(Team, u64)> {
        let (pk, sk) = keys::team(org, slug);
        let item = self.store.get(&pk, &sk).await?.ok_or_else(|| Error::NotFound(format!("team {slug} not found")))?;
        Ok((item.to_value()?, item.version))
    }

    /// Every team of the organization (at most the first 100).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self, org: &OrgSlug) -> Result<Vec<Team>> {
        let query = Query {
            pk: keys::organization_partition(org),
            sk_prefix: keys::TEAM_PREFIX.into(),
            after: None,
            limit: 100,
            descending: false,
        };
        Ok(self.store.query(&query).await?.items.iter().map(Item::to_value).collect::<Result<_, _>>()?)
    }

    /// Applies a change, guarded against concurrent ones.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`] for a bad login, [`Error::Conflict`] for a concurrent change.
    pub async fn change(
        &self,
        acting: &Acting,
        org: &OrgSlug,
        slug: &RegistrySlug,
        change: TeamChange,
    ) -> Result<Team> {
        let (current, version) = self.get(org, slug).await?;
        let narrows = match &change {
            TeamChange::Describe(_) | TeamChange::AddMember(_) => false,
            TeamChange::RemoveMember(_) => true,
            TeamChange::Grant { registry_id, level } => {
                level.is_none_or(|level| current.grants.get(registry_id).is_some_and(|old| level < *old))
            }
        };
        let mut team = current.clone();
        match change {
            TeamChange::Describe(description) => team.description = description,
            TeamChange::AddMember(login) => {
                validate_login(&login).map_err(|e| Error::invalid("member", e))?;
                if !team.members.contains(&login) {
                    team.members.push(login);
                    team.members.sort();
                }
            }
            TeamChange::RemoveMember(login) => {
                let before = team.members.len();
                team.members.retain(|member| *member != login);
                if team.members.len() == before {
                    return Err(Error::NotFound(format!("{login} is not a member of team {slug}")));
                }
            }
            TeamChange::Grant { registry_id, level: Some(level) } => {
                team.grants.insert(registry_id, level);
            }
            TeamChange::Grant { registry_id, level: None } => {
                team.grants
                    .remove(&registry_id)
                    .ok_or_else(|| Error::NotFound(format!("team {slug} has no access to that registry")))?;
            }
        }
        let changes = diff(&shown(&current), &shown(&team), &FIELDS);
        if changes.is_empty() {
            return Ok(team);
        }
        let (pk, sk) = keys::team(org, slug);
        let ops = vec![
            WriteOp::put(Item::from_value(pk, sk, version + 1, &team)?, Condition::Version(version)),
            acting.audit(org, "team.updated", target(&team), changes)?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {
                Err(Error::Conflict(format!("team {slug} changed at the same time; retry")))
            }
            Err(error) => Err(error.into()),
            Ok(()) => {
                self.changed(org, &current, narrows).await;
                Ok(team)
            }
        }
    }

    /// After a change to `team` (as it was before): this process reads its members' grants again, and a change
    /// that narrows access waits until no other process can still answer from a copy read before it.
    async fn changed(&self, org: &OrgSlug, team: &Team, narrows: bool) {
        for member in &team.members {
            self.recent.forget(&(org.clone(), member.clone()));
        }
        if narrows && !team.members.is_empty() {
            self.recent.settle().await;
        }
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete(&self, acting: &Acting, org: &OrgSlug, slug: &RegistrySlug) -> Result<()> {
        let (team, version) = self.get(org, slug).await?;
        let (pk, sk) = keys::team(org, slug);
        let ops = vec![
            WriteOp::delete(pk, sk, Condition::Version(version)),
            acting.audit(org, "team.deleted", target(&team), diff(&shown(&team), &Value::Null, &FIELDS))?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {
                Err(Error::Conflict(format!("team {slug} changed at the same time; retry")))
            }
            Err(error) => Err(error.into()),
            Ok(()) => {
                self.changed(org, &team, !team.grants.is_empty()).await;
                Ok(())
            }
        }
    }

    /// The highest access any of `login`'s teams grants on a registry, if any. A level read in the last seconds
    /// that `enough` accepts is answered from memory; otherwise the teams are read again.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn access(
        &self,
        org: &OrgSlug,
        login: &str,
        registry_id: &str,
        enough: impl Fn(AccessLevel) -> bool,
    ) -> Result<Option<AccessLevel>> {
        let key = (org.clone(), login.to_owned());
        let remembered = self.recent.get(&key).and_then(|grants| grants.get(registry_id).copied());
        if let Some(level) = remembered.filter(|level| enough(*level)) {
            return Ok(Some(level));
        }
        let grants = Arc::new(self.grants(org, login).await?);
        self.recent.put(key, Arc::clone(&grants));
        Ok(grants.get(registry_id).copied())
    }

    /// The highest access `login`'s teams grant, by registry id, for every registry they grant something on.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn grants(&self, org: &OrgSlug, login: &str) -> Result<BTreeMap<String, AccessLevel>> {
        let mut grants = BTreeMap::new();
        for team in self.list(org).await?.iter().filter(|team| team.members.iter().any(|member| member == login)) {
            for (registry_id, level) in &team.grants {
                let highest = grants.entry(registry_id.clone()).or_insert(*level);
                *highest = (*highest).max(*level);
            }
        }
        Ok(grants)
    }
}
