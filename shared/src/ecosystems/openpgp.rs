//! A registry's OpenPGP signing key (Ed25519, v4, which gpgv, apt and dnf verify). The private key is
//! never stored: it is derived from Packyard's secrets key and the registry's id (an HMAC per registry, see
//! `SecretsKey::derive`) and created at the registry's creation time, so every Lambda derives the same
//! key, and nothing but the secrets key (already sealing every other secret) has to be kept safe.

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{Password, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A generator for a signature's salt and nonce, seeded from the operating system (rpgp takes rand_core 0.6
/// generators; the workspace's rand is newer).
fn fresh_rng() -> ChaCha20Rng {
    let mut seed = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    ChaCha20Rng::from_seed(seed)
}

/// A registry's signing key.
pub struct SigningKey {
    secret: SignedSecretKey,
}

/// Why a key could not be made or used; internal, never the client's mistake.
#[derive(Debug, thiserror::Error)]
#[error("OpenPGP signing failed: {0}")]
pub struct SigningError(String);

fn failed(error: impl std::fmt::Display) -> SigningError {
    SigningError(error.to_string())
}

impl SigningKey {
    /// The key for 32 bytes of derived `seed`, created at `created` (seconds since the epoch), naming
    /// `user_id`. The same inputs give the same key.
    ///
    /// # Errors
    /// When the OpenPGP library refuses the parameters.
    pub fn derive(seed: [u8; 32], created: u32, user_id: &str) -> Result<Self, SigningError> {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_owned())
            .created_at(Timestamp::from_secs(created))
            .build()
            .map_err(failed)?;
        let secret = params.generate(ChaCha20Rng::from_seed(seed)).map_err(failed)?;
        Ok(Self { secret })
    }

    /// The public key, ASCII-armored, for `/etc/apt/keyrings/`.
    ///
    /// # Errors
    /// When serializing fails.
    pub fn public_armored(&self) -> Result<String, SigningError> {
        SignedPublicKey::from(self.secret.clone()).to_armored_string(ArmorOptions::default()).map_err(failed)
    }

    /// `text` clearsigned, as `InRelease`.
    ///
    /// # Errors
    /// When signing fails.
    pub fn clearsign(&self, text: &str) -> Result<String, SigningError> {
        let signed = CleartextSignedMessage::sign(fresh_rng(), text, &self.secret.primary_key, &Password::empty())
            .map_err(failed)?;
        signed.to_armored_string(ArmorOptions::default()).map_err(failed)
    }

    /// An armored detached signature of `data`, as `Release.gpg`.
    ///
    /// # Errors
    /// When signing fails.
    pub fn detached(&self, data: &[u8]) -> Result<String, SigningError> {
        DetachedSignature::sign_binary_data(
            fresh_rng(),
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .map_err(failed)?
        .to_armored_string(ArmorOptions::default())
        .map_err(failed)
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
        use pgp::types::KeyDetails;
        assert_eq!(a.secret.fingerprint(), b.secret.fingerprint());
        assert_ne!(a.secret.fingerprint(), other.secret.fingerprint());
        let signed = a.clearsign("Origin: Packyard\n").unwrap();
        let (message, _) = CleartextSignedMessage::from_string(&signed).unwrap();
        message.verify(&SignedPublicKey::from(b.secret.clone())).unwrap();
        assert!(message.verify(&SignedPublicKey::from(other.secret.clone())).is_err());
    }
}
