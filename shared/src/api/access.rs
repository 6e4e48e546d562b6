//! Who may touch a registry's packages: its organization's tokens with the right scope, and anyone for
//! reading a public registry. What a caller may not know exists answers 404; a request without
//! credentials for a private registry answers 401, whether or not the registry exists.

use super::AppState;
use super::context::Caller;
use super::error::ApiError;
use crate::domain::error::Error;
use crate::domain::names::{OrgSlug, RegistrySlug};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;

fn registry_not_found(org: &str, registry: &str) -> ApiError {
    ApiError::not_found(format!("registry {org}/{registry} not found"))
}

/// The registry `org/registry`, once the caller is allowed `scope` on its packages.
///
/// # Errors
/// 401 without credentials (unless reading a public registry), 404 for another organization or an
/// unknown registry, 403 for a missing scope.
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
    let found = match state.registries.get(&org_slug, &slug).await {
        Ok((found, _)) => Some(found),
        Err(Error::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
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
        let audience = format!("{}/v1/organizations/{org}/registries/{}", caller.base_url, found.slug);
        let scopes = state.oidc.verify(&found, &audience, jwt).await?;
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
    if let Some(member) = &caller.token.member {
        let level = state.teams.access(&org_slug, member, &found.id).await?;
        if !public_read(&found) && !level.is_some_and(|level| level.allows(scope)) {
            return Err(Error::Forbidden(format!(
                "{member}'s teams do not grant {} on registry {org}/{registry}",
                scope.as_str()
            ))
            .into());
        }
    }
    Ok(found)
}

/// The registry `org/registry` for a caller allowed `scope` in the organization (a management scope,
/// checked before the lookup).
///
/// # Errors
/// 404 for another organization, an impossible slug or a missing registry; 403 for a missing scope.
pub async fn managed_registry(
    state: &AppState,
    caller: &Caller,
    org: &str,
    registry: &str,
    scope: Scope,
) -> Result<Registry, ApiError> {
    let org_slug = caller.require(org, scope)?;
    let slug = RegistrySlug::try_from(registry).map_err(|_| registry_not_found(org, registry))?;
    match state.registries.get(&org_slug, &slug).await {
        Ok((found, _)) => Ok(found),
        Err(Error::NotFound(_)) => Err(registry_not_found(org, registry)),
        Err(error) => Err(error.into()),
    }
}
