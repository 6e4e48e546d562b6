//! A registry's OpenPGP signing keys (Ed25519, v4, which gpgv, apt and dnf verify). Each key grows from 32
//! bytes of seed: fresh randomness for a key Packyard generates (the seed is sealed with the secrets key and
//! stored, see `service::signing_keys`), so the seed is all that must be kept. During a rotation's overlap a
//! registry holds two keys: its public keys are exported together and everything it signs carries a
//! signature of each, so a client trusting either key verifies.

use pgp::armor::{self, BlockType};
use pgp::composed::{
    CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A generator for a signature's salt and nonce, seeded from the operating system (rpgp takes rand_core 0.6
/// generators; the workspace's rand is newer).
fn fresh_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed(fresh_seed())
}

/// 32 bytes from the operating system's generator: the seed of a new key.
pub fn fresh_seed() -> [u8; 32] {
    let mut seed = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    seed
}

/// The keys a registry signs with now: one, or two during a rotation's overlap (newest first).
pub struct SigningKey {
    keys: Vec<SignedSecretKey>,
}

/// Why a key could not be made or used; internal, never the client's mistake.
#[derive(Debug, thiserror::Error)]
#[error("OpenPGP signing failed: {0}")]
pub struct SigningError(String);

fn failed(error: impl std::fmt::Display) -> SigningError {
    SigningError(error.to_string())
}

/// One key made from its seed: the same seed, time and user id give the same key.
///
/// # Errors
/// When the OpenPGP library refuses the parameters.
pub fn key_from_seed(seed: [u8; 32], created: u32, user_id: &str) -> Result<SignedSecretKey, SigningError> {
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(user_id.to_owned())
        .created_at(Timestamp::from_secs(created))
        .build()
        .map_err(failed)?;
    params.generate(ChaCha20Rng::from_seed(seed)).map_err(failed)
}

/// A key's fingerprint as gpg prints it, upper-case hex.
pub fn fingerprint(key: &SignedSecretKey) -> String {
    hex::encode_upper(key.fingerprint().as_bytes())
}

/// Armors OpenPGP packets (several keys, several signatures) as one block, the way gpg exports a keyring.
fn armored(packets: &impl pgp::ser::Serialize, block: BlockType) -> Result<String, SigningError> {
    let mut out = Vec::new();
    armor::write(packets, block, &mut out, None, true).map_err(failed)?;
    String::from_utf8(out).map_err(failed)
}

impl SigningKey {
    /// The keys to sign with, newest first.
    ///
    /// # Errors
    /// When `keys` is empty: a registry always has a key to sign with.
    pub fn new(keys: Vec<SignedSecretKey>) -> Result<Self, SigningError> {
        if keys.is_empty() {
            return Err(SigningError("a registry needs at least one signing key".into()));
        }
        Ok(Self { keys })
    }

    /// The key of 32 bytes of `seed`, created at `created` (seconds since the epoch), naming `user_id`.
    ///
    /// # Errors
    /// When the OpenPGP library refuses the parameters.
    pub fn derive(seed: [u8; 32], created: u32, user_id: &str) -> Result<Self, SigningError> {
        Self::new(vec![key_from_seed(seed, created, user_id)?])
    }

    /// The fingerprints of the keys, newest first.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(fingerprint).collect()
    }

    /// Every public key, ASCII-armored in one block, for `/etc/apt/keyrings/`.
    ///
    /// # Errors
    /// When serializing fails.
    pub fn public_armored(&self) -> Result<String, SigningError> {
        let public: Vec<SignedPublicKey> = self.keys.iter().cloned().map(SignedPublicKey::from).collect();
        armored(&public.as_slice(), BlockType::PublicKey)
    }

    /// `text` clearsigned by every key, as `InRelease`.
    ///
    /// # Errors
    /// When signing fails.
    pub fn clearsign(&self, text: &str) -> Result<String, SigningError> {
        let mut signatures = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let signed = CleartextSignedMessage::sign(fresh_rng(), text, &key.primary_key, &Password::empty())
                .map_err(failed)?;
            signatures.extend_from_slice(signed.signatures());
        }
        CleartextSignedMessage::new_many(text, |_| Ok(signatures))
            .and_then(|message| message.to_armored_string(pgp::composed::ArmorOptions::default()))
            .map_err(failed)
    }

    /// An armored detached signature of `data` by every key, as `Release.gpg`.
    ///
    /// # Errors
    /// When signing fails.
    pub fn detached(&self, data: &[u8]) -> Result<String, SigningError> {
        let signatures = self
            .keys
            .iter()
            .map(|key| {
                DetachedSignature::sign_binary_data(
                    fresh_rng(),
                    &key.primary_key,
                    &Password::empty(),
                    HashAlgorithm::Sha256,
                    data,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        armored(&signatures.as_slice(), BlockType::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_key_and_its_signatures_verify() {
        let a = SigningKey::derive([7; 32], 1_700_000_000, "r <r@packyard>").unwrap();
        let b = SigningKey::derive([7; 32], 1_700_000_000, "r <r@packyard>").unwrap();
        let other = SigningKey::derive([8; 32], 1_700_000_000, "r <r@packyard>").unwrap();
        assert_eq!(a.fingerprints(), b.fingerprints());
        assert_ne!(a.fingerprints(), other.fingerprints());
        let signed = a.clearsign("Origin: Packyard\n").unwrap();
        let (message, _) = CleartextSignedMessage::from_string(&signed).unwrap();
        message.verify(&SignedPublicKey::from(b.keys[0].clone())).unwrap();
        assert!(message.verify(&SignedPublicKey::from(other.keys[0].clone())).is_err());
    }

    #[test]
    fn two_keys_export_together_and_each_verifies_what_they_sign() {
        use pgp::composed::Deserializable as _;
        let old = key_from_seed([1; 32], 1_700_000_000, "r <r@packyard>").unwrap();
        let new = key_from_seed([2; 32], 1_800_000_000, "r <r@packyard>").unwrap();
        let both = SigningKey::new(vec![new.clone(), old.clone()]).unwrap();
        let exported = both.public_armored().unwrap();
        assert_eq!(exported.matches("-----BEGIN PGP PUBLIC KEY BLOCK-----").count(), 1);
        let (keys, _) = SignedPublicKey::from_armor_many(exported.as_bytes()).unwrap();
        let keys: Vec<_> = keys.collect::<Result<_, _>>().unwrap();
        assert_eq!(keys.len(), 2);

        let (message, _) = CleartextSignedMessage::from_string(&both.clearsign("Suite: any\n").unwrap()).unwrap();
        assert_eq!(message.signatures().len(), 2);
        message.verify(&SignedPublicKey::from(old.clone())).unwrap();
        message.verify(&SignedPublicKey::from(new.clone())).unwrap();

        let detached = both.detached(b"Suite: any\n").unwrap();
        assert_eq!(detached.matches("-----BEGIN PGP SIGNATURE-----").count(), 1, "{detached}");
        assert!(SigningKey::new(Vec::new()).is_err());
    }
}
