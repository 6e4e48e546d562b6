//! Teams: members of an organization and the access they have to each registry.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::names::{Description, OrgSlug, RegistryName, RegistrySlug};
use super::token::Scope;

/// What a team may do with one registry's packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    Read,
    ReadWrite,
    Full,
}

impl AccessLevel {
    /// Whether this level allows a package operation of `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        match scope {
            Scope::ReadPackages => true,
            Scope::WritePackages => self >= Self::ReadWrite,
            Scope::DeletePackages => self == Self::Full,
            _ => false,
        }
    }
}

/// A team: its members (by login) and its grants (by registry id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub organization: OrgSlug,
    /// Derived from the name, like a registry's slug.
    pub slug: RegistrySlug,
    pub name: RegistryName,
    pub description: Option<Description>,
    pub members: Vec<String>,
    pub grants: BTreeMap<String, AccessLevel>,
    pub created_at: DateTime<Utc>,
}

/// A member's login: 1 to 64 characters of letters, digits, `.`, `_`, `-`, `@`.
///
/// # Errors
/// When it has other characters or a bad length.
pub fn validate_login(login: &str) -> Result<(), super::names::InvalidValue> {
    let valid = !login.is_empty()
        && login.len() <= 64
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(super::names::InvalidValue(format!(
            "member {login:?} must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_grant_increasing_package_scopes() {
        assert!(AccessLevel::Read.allows(Scope::ReadPackages) && !AccessLevel::Read.allows(Scope::WritePackages));
        assert!(
            AccessLevel::ReadWrite.allows(Scope::WritePackages)
                && !AccessLevel::ReadWrite.allows(Scope::DeletePackages)
        );
        assert!(AccessLevel::Full.allows(Scope::DeletePackages) && !AccessLevel::Full.allows(Scope::WriteRegistries));
    }
}
