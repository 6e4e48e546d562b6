//! Who may touch a registry: its packages (its organization's tokens with the right scope, and anyone for
//! reading a public registry) and the registry itself through the management API (its settings, registry
//! tokens and OIDC policy). A member's token is also bounded, on every route, by its teams' grant on that
//! registry: a package scope as far as the grant allows, reading the settings with any grant, managing
//! only with `full`. What a caller may not know exists answers 404; a registry of its organization that
//! its teams do not grant answers 403; a request without credentials for a private registry answers 401,
//! whether or not the registry exists.

use super::AppState;
use super::context::Caller;
use super::error::ApiError;
use crate::domain::error::Error;
use crate::domain::names::{OrgSlug, RegistrySlug};
use crate::domain::registry::Registry;
use crate::domain::team::AccessLevel;
use crate::domain::token::Scope;

fn registry_not_found(org: &str, registry: &str) -> ApiError {
    ApiError::not_found(format!("registry {org}/{registry} not found"))
}

/// The registry and its version; `None` when there is none.
async fn find(state: &AppState, org: &OrgSlug, slug: &RegistrySlug) -> Result<Option<(Registry, u64)>, ApiError> {
    match state.registries.get(org, slug).await {
        Ok(found) => Ok(Some(found)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The registry `org/registry`, once the caller is allowed `scope` on its packages.
///
/// # Errors
/// 401 without credentials (unless reading a public registry), 404 for another organization or an
/// unknown registry, 403 for a missing scope or a member's missing grant.
pub async fn registry_for(
    state: &AppState,
    caller: Option<&Caller>,
    org: &str,
    registry: &str,
    scope: Scope,
) -> Result<Registry, ApiError> {
    let (Ok(org_slug), Ok(slug)) = (OrgSlug::try_from(org), RegistrySlug::try_from(registry)) else {
        return Err(match caller {
            Some(_) => registry_not_found(org, registry),
            None => Error::Unauthenticated("this registry needs a token".into()).into(),
        });
    };
    if let Some(caller) = caller.filter(|caller| caller.oidc.is_none()) {
        caller.require(org, scope)?;
    }
    let found = if scope == Scope::ReadPackages {
        match state.registries.get_for_reading(&org_slug, &slug).await {
            Ok(found) => Some(found),
            Err(Error::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        }
    } else {
        find(state, &org_slug, &slug).await?.map(|(found, _)| found)
    };
    let public_read = |registry: &Registry| registry.public && scope == Scope::ReadPackages;
    let anonymous = || -> ApiError {
        Error::Unauthenticated(format!("registry {org}/{registry} needs a token with the {} scope", scope.as_str()))
            .into()
    };
    let Some(caller) = caller else {
        return found.filter(|registry| public_read(registry)).ok_or_else(anonymous);
    };
    let found = found.ok_or_else(|| registry_not_found(org, registry))?;
    if let Some(jwt) = caller.oidc.as_deref() {
        if public_read(&found) {
            return Ok(found);
        }
        let scopes = state.oidc.verify(&found, jwt).await?;
        return if scopes.contains(&scope) {
            Ok(found)
        } else {
            Err(Error::Forbidden(format!("the OIDC policy gives this job no {} scope", scope.as_str())).into())
        };
    }
    // A registry token reads only its own registry, and only while that registry is private; on a public
    // registry it counts for nothing, as if no credentials were sent.
    match &caller.token.registry_id {
        Some(id) if *id != found.id => return Err(registry_not_found(org, registry)),
        Some(_) if found.public => return if public_read(&found) { Ok(found) } else { Err(anonymous()) },
        _ => {}
    }
    if !public_read(&found) {
        require_grant(state, caller, &found, |level| level.allows(scope), scope.as_str()).await?;
    }
    Ok(found)
}

/// Checks that a member's token has, from its teams, a grant on `registry` that `allowed` accepts; other
/// tokens pass. `needed` names what is missing in the refusal.
async fn require_grant(
    state: &AppState,
    caller: &Caller,
    registry: &Registry,
    allowed: impl Fn(AccessLevel) -> bool,
    needed: &str,
) -> Result<(), ApiError> {
    let Some(member) = &caller.token.member else { return Ok(()) };
    let level = state.teams.access(&registry.organization, member, &registry.id, &allowed).await?;
    if level.is_some_and(allowed) {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{member}'s teams do not grant {needed} on registry {}/{}",
        registry.organization, registry.slug
    ))
    .into())
}

/// The registry `org/registry` for a caller that manages it (changes or deletes it, or reads or changes
/// its registry tokens or OIDC policy): a token of the organization with `scope` (a management scope,
/// checked before the lookup) and, for a member's token, a `full` grant from the member's teams.
///
/// # Errors
/// 404 for another organization, an impossible slug or a missing registry; 403 for a missing scope or grant.
pub async fn managed_registry(
    state: &AppState,
    caller: &Caller,
    org: &str,
    registry: &str,
    scope: Scope,
) -> Result<Registry, ApiError> {
    let (found, _) = registry_in(state, caller, (org, registry), scope, AccessLevel::Full).await?;
    Ok(found)
}

/// The registry `org/registry` and its version, for a caller that reads its settings: `read_registries`
/// and, for a member's token, any grant from the member's teams.
///
/// # Errors
/// As [`managed_registry`].
pub async fn registry_settings(
    state: &AppState,
    caller: &Caller,
    org: &str,
    registry: &str,
) -> Result<(Registry, u64), ApiError> {
    registry_in(state, caller, (org, registry), Scope::ReadRegistries, AccessLevel::Read).await
}

async fn registry_in(
    state: &AppState,
    caller: &Caller,
    (org, registry): (&str, &str),
    scope: Scope,
    least: AccessLevel,
) -> Result<(Registry, u64), ApiError> {
    let org_slug = caller.require(org, scope)?;
    let slug = RegistrySlug::try_from(registry).map_err(|_| registry_not_found(org, registry))?;
    let (found, version) = find(state, &org_slug, &slug).await?.ok_or_else(|| registry_not_found(org, registry))?;
    let needed = if least == AccessLevel::Full {
        "full access, which managing it needs"
    } else {
        "any access, which reading its settings needs"
    };
    require_grant(state, caller, &found, |level| level >= least, needed).await?;
    Ok((found, version))
}

/// Of a page of the organization's registries, those the caller may see listed: every one for an
/// organization token; for a member's token, those its teams grant something on (as reading one does).
///
/// # Errors
/// When the store fails.
pub async fn visible_registries(
    state: &AppState,
    caller: &Caller,
    org: &OrgSlug,
    registries: Vec<Registry>,
) -> Result<Vec<Registry>, ApiError> {
    let Some(member) = &caller.token.member else { return Ok(registries) };
    let grants = state.teams.grants(org, member).await?;
    Ok(registries.into_iter().filter(|registry| grants.contains_key(&registry.id)).collect())
}

/// The organization, for a caller that creates a registry: a token with `write_registries` that is not a
/// member's, since the member's teams would have no grant on the new registry and their token could
/// neither manage nor use it; an admin grants a team access once it exists.
///
/// # Errors
/// 404 for another organization; 403 for a missing scope or a member's token.
pub fn registry_creator(caller: &Caller, org: &str) -> Result<OrgSlug, ApiError> {
    let org = caller.require(org, Scope::WriteRegistries)?;
    match &caller.token.member {
        Some(member) => Err(Error::Forbidden(format!(
            "a member's token cannot create registries: {member}'s teams would have no grant on it; ask an admin"
        ))
        .into()),
        None => Ok(org),
    }
}
