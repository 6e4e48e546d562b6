//! Each signing registry's OpenPGP keys (Debian's `InRelease`, RPM's `repomd.xml.asc`): generated from fresh
//! randomness when the registry is created, kept as a sealed seed in the metadata store (AES-256-GCM under
//! the deployment's secrets key, bound to the registry), and rotated by an admin. A rotation keeps the old
//! key signing beside the new one for a stated overlap, so clients that trust only the old key keep
//! verifying until they fetch the new one; after the overlap the old key signs nothing and is not exported.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Acting;
use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::domain::secret::{Sealed, SecretText, SecretsKey};
use crate::ecosystems::openpgp::{SigningKey, fingerprint, fresh_seed, key_from_seed};
use crate::ports::metadata::{Condition, Item, MetadataStore, StoreError, WriteOp};

/// The ecosystems whose clients verify signed indexes, so whose registries get keys.
pub const SIGNED_ECOSYSTEMS: [Ecosystem; 1] = [Ecosystem::Debian];

/// How long an old key keeps signing after a rotation unless the request says otherwise.
pub const DEFAULT_OVERLAP_DAYS: u32 = 30;
/// The longest overlap a rotation may ask for.
pub const MAX_OVERLAP_DAYS: u32 = 365;

/// One key as stored: never its private half in clear.
#[derive(Clone, Serialize, Deserialize)]
struct StoredKey {
    fingerprint: String,
    created_at: DateTime<Utc>,
    /// When it stops signing; `None` while it is the current key.
    retiring_at: Option<DateTime<Utc>>,
    /// The key's 32-byte seed, hex, sealed under the secrets key with [`seal_context`].
    seed: Sealed,
}

/// A registry's keys, newest first.
#[derive(Clone, Default, Serialize, Deserialize)]
struct KeyRing {
    keys: Vec<StoredKey>,
}

/// What the API shows of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// The key's OpenPGP fingerprint, upper-case hex, as `gpg --show-keys` prints it.
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    /// When the key stops signing: set on the old key by a rotation, absent on the current key.
    pub retiring_at: Option<DateTime<Utc>>,
    /// `current`, `retiring` (still signing, during a rotation's overlap) or `retired`.
    pub state: &'static str,
}

fn seal_context(registry: &Registry) -> String {
    format!("signing-key:{}", registry.id)
}

fn user_id(registry: &Registry) -> String {
    format!("Packyard {}/{} <{}@packyard.invalid>", registry.organization, registry.slug, registry.slug)
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Corrupt(error.to_string()))
}

fn created_secs(at: DateTime<Utc>) -> u32 {
    u32::try_from(at.timestamp()).unwrap_or_default()
}

/// Whether the key signs at `now`.
fn signs_at(key: &StoredKey, now: DateTime<Utc>) -> bool {
    key.retiring_at.is_none_or(|at| at > now)
}

#[derive(Clone)]
pub struct SigningKeys {
    store: std::sync::Arc<dyn MetadataStore>,
    secrets: Option<SecretsKey>,
}

impl SigningKeys {
    pub fn new(store: std::sync::Arc<dyn MetadataStore>, secrets: Option<SecretsKey>) -> Self {
        Self { store, secrets }
    }

    fn secrets(&self) -> Result<&SecretsKey> {
        self.secrets.as_ref().ok_or_else(|| {
            Error::Unavailable(
                "registries keep their signing keys sealed with PACKYARD_SECRETS_KEY, which this deployment does not set"
                    .into(),
            )
        })
    }

    fn require_signed(registry: &Registry) -> Result<()> {
        if SIGNED_ECOSYSTEMS.contains(&registry.ecosystem) {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "registry {} holds {} packages, whose indexes are not signed; it has no signing keys",
                registry.slug, registry.ecosystem
            )))
        }
    }

    /// A key grown from `seed` and created at `created`, sealed for `registry`.
    fn stored(&self, registry: &Registry, seed: [u8; 32], created: DateTime<Utc>) -> Result<StoredKey> {
        let key = key_from_seed(seed, created_secs(created), &user_id(registry)).map_err(internal)?;
        let text = SecretText::try_from(hex::encode(seed)).map_err(|e| internal(e.0))?;
        Ok(StoredKey {
            fingerprint: fingerprint(&key),
            created_at: DateTime::from_timestamp(created.timestamp(), 0).unwrap_or(created),
            retiring_at: None,
            seed: self.secrets()?.seal(&text, &seal_context(registry)),
        })
    }

    fn ring_item(registry: &Registry, ring: &KeyRing, version: u64) -> Result<Item> {
        let (pk, sk) = keys::signing_keys(&registry.id);
        Ok(Item::from_value(pk, sk, version, ring)?)
    }

    /// The write that gives a new registry its first key, from fresh randomness, in the registry's own
    /// creation; `None` for ecosystems that sign nothing, or when the deployment has no secrets key (the key
    /// is then made on first use, once one is set).
    ///
    /// # Errors
    /// When the key cannot be made.
    pub fn first_key_op(&self, registry: &Registry) -> Result<Option<WriteOp>> {
        if !SIGNED_ECOSYSTEMS.contains(&registry.ecosystem) || self.secrets.is_none() {
            return Ok(None);
        }
        let ring = KeyRing { keys: vec![self.stored(registry, fresh_seed(), registry.created_at)?] };
        Ok(Some(WriteOp::put(Self::ring_item(registry, &ring, 1)?, Condition::NotExists)))
    }

    /// The registry's keys and their record's version, made on first use for a registry that has none.
    /// A registry created before keys were stored gets the key it was signing with then (derived from the
    /// secrets key and its id), so keyrings already installed keep verifying; a rotation replaces it with a
    /// random one. Two first uses at once write the same key; the loser reads the winner's.
    async fn ring(&self, registry: &Registry) -> Result<(KeyRing, u64)> {
        let (pk, sk) = keys::signing_keys(&registry.id);
        if let Some(item) = self.store.get(&pk, &sk).await? {
            return Ok((item.to_value()?, item.version));
        }
        let seed = self.secrets()?.derive(&format!("debian-signing-key:{}", registry.id));
        let ring = KeyRing { keys: vec![self.stored(registry, seed, registry.created_at)?] };
        match self.store.write(vec![WriteOp::put(Self::ring_item(registry, &ring, 1)?, Condition::NotExists)]).await {
            Ok(()) => Ok((ring, 1)),
            Err(StoreError::ConditionFailed { .. }) => {
                let item = self.store.get(&pk, &sk).await?.ok_or_else(|| internal("signing keys vanished"))?;
                Ok((item.to_value()?, item.version))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The keys `registry` signs with at `now`: the current one, and during a rotation's overlap the old one.
    ///
    /// # Errors
    /// [`Error::Unavailable`] without a secrets key (or with another one than sealed the keys).
    pub async fn signing_key(&self, registry: &Registry, now: DateTime<Utc>) -> Result<SigningKey> {
        Self::require_signed(registry)?;
        let (ring, _) = self.ring(registry).await?;
        let secrets = self.secrets()?;
        let mut keys = Vec::new();
        for stored in ring.keys.iter().filter(|key| signs_at(key, now)) {
            let opened = secrets
                .open(&stored.seed, &seal_context(registry))
                .map_err(|error| Error::Unavailable(error.to_string()))?;
            let seed: [u8; 32] = hex::decode(opened.expose())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| internal("a sealed signing key seed is not 32 bytes"))?;
            keys.push(key_from_seed(seed, created_secs(stored.created_at), &user_id(registry)).map_err(internal)?);
        }
        SigningKey::new(keys).map_err(internal)
    }

    /// The registry's keys as the API shows them, newest first.
    ///
    /// # Errors
    /// As [`Self::signing_key`].
    pub async fn list(&self, registry: &Registry, now: DateTime<Utc>) -> Result<Vec<KeyInfo>> {
        Self::require_signed(registry)?;
        let (ring, _) = self.ring(registry).await?;
        Ok(ring.keys.iter().map(|key| info(key, now)).collect())
    }

    /// Makes a new current key from fresh randomness; the keys that were current keep signing until
    /// `now + overlap_days`, keys whose overlap has ended are dropped. Audited as `registry.signing_key_rotated`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an overlap past [`MAX_OVERLAP_DAYS`], [`Error::Conflict`] when other rotations
    /// of the registry kept winning.
    pub async fn rotate(
        &self,
        acting: &Acting,
        registry: &Registry,
        overlap_days: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<KeyInfo>> {
        Self::require_signed(registry)?;
        if overlap_days > MAX_OVERLAP_DAYS {
            return Err(Error::Invalid {
                field: Some("overlap_days".into()),
                message: format!("overlap_days is 0 to {MAX_OVERLAP_DAYS}, not {overlap_days}"),
            });
        }
        let (ring, version) = self.ring(registry).await?;
        let retiring_at = now + Duration::days(i64::from(overlap_days));
        let mut keys = vec![self.stored(registry, fresh_seed(), now)?];
        keys.extend(ring.keys.iter().filter(|key| signs_at(key, now)).cloned().map(|mut key| {
            key.retiring_at = Some(key.retiring_at.map_or(retiring_at, |at| at.min(retiring_at)));
            key
        }));
        let rotated = KeyRing { keys };
        let shown =
            |ring: &KeyRing| json!({"signing_keys": ring.keys.iter().map(|k| info(k, now)).collect::<Vec<_>>()});
        let mut changes: BTreeMap<_, _> = diff(&shown(&ring), &shown(&rotated), &["signing_keys"]);
        changes.extend(diff(&json!(null), &json!({"overlap_days": overlap_days}), &["overlap_days"]));
        let target = Target { kind: "registry".into(), id: registry.id.clone(), name: registry.slug.to_string() };
        let ops = vec![
            WriteOp::put(Self::ring_item(registry, &rotated, version + 1)?, Condition::Version(version)),
            acting.audit(&registry.organization, "registry.signing_key_rotated", target, changes)?,
        ];
        match self.store.write(ops).await {
            Ok(()) => Ok(rotated.keys.iter().map(|key| info(key, now)).collect()),
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(Error::Conflict(format!(
                "the signing keys of registry {} were rotated by another request at the same time; list them and retry if still needed",
                registry.slug
            ))),
            Err(error) => Err(error.into()),
        }
    }
}

fn info(key: &StoredKey, now: DateTime<Utc>) -> KeyInfo {
    let state = match key.retiring_at {
        None => "current",
        Some(at) if at > now => "retiring",
        Some(_) => "retired",
    };
    KeyInfo { fingerprint: key.fingerprint.clone(), created_at: key.created_at, retiring_at: key.retiring_at, state }
}
