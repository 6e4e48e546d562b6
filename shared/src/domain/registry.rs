//! Source registries: one ecosystem each, private until made public.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::names::{Color, Description, Ecosystem, Emoji, OrgSlug, RegistryName, RegistrySlug};
use super::storage::StorageRef;

/// A registry as stored and as the API shows it (plus its URLs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Registry {
    /// Stable across renames; packages hang off this, not the slug.
    pub id: String,
    #[schema(value_type = String)]
    pub organization: OrgSlug,
    #[schema(value_type = String)]
    pub slug: RegistrySlug,
    #[schema(value_type = String)]
    pub name: RegistryName,
    pub ecosystem: Ecosystem,
    #[schema(value_type = Option<String>)]
    pub description: Option<Description>,
    #[schema(value_type = Option<String>)]
    pub emoji: Option<Emoji>,
    #[schema(value_type = Option<String>)]
    pub color: Option<Color>,
    pub public: bool,
    /// Where new files go; `None` follows the organization's default. Files remember their own storage.
    #[serde(default)]
    pub storage: Option<StorageRef>,
    /// OCI registries only: a pushed tag can never point at another manifest (ECR's `IMMUTABLE`).
    #[serde(default)]
    pub immutable_tags: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller supplies to create a registry.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistry {
    /// The registry's slug is derived from it.
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: RegistryName,
    pub ecosystem: Ecosystem,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Description>,
    #[serde(default)]
    /// A `:shortcode:` or one emoji character.
    #[schema(value_type = Option<String>, example = ":package:")]
    pub emoji: Option<Emoji>,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^#[0-9A-Fa-f]{6}$", example = "#336699")]
    pub color: Option<Color>,
    /// `"hosted"` or `{"link": "<id>"}`; absent follows the organization's default.
    #[serde(default)]
    pub storage: Option<StorageRef>,
    #[serde(default)]
    pub immutable_tags: Option<bool>,
}

/// A partial update. `Some(None)` clears an optional field; an absent field stays as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryPatch {
    #[serde(default)]
    /// A new name renames the registry: its slug changes and the old URL answers 404.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub name: Option<RegistryName>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<Description>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub emoji: Option<Option<Emoji>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^#[0-9A-Fa-f]{6}$")]
    pub color: Option<Option<Color>>,
    #[serde(default)]
    pub public: Option<bool>,
    /// `null` returns the registry to the organization's default storage.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<StorageRef>)]
    pub storage: Option<Option<StorageRef>>,
    #[serde(default)]
    pub immutable_tags: Option<bool>,
    /// Accepted only to answer with a clear error: the ecosystem is fixed at creation.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ecosystem: Option<serde_json::Value>,
}

/// Tells a field sent as `null` (clear it) from a field not sent (keep it).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
