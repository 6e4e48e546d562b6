//! Secrets a customer hands Packyard (an S3-compatible service's secret key): a text type that never
//! prints, and AES-256-GCM sealing under the deployment's key so only ciphertext is stored.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A secret in memory: readable only through [`SecretText::expose`], redacted in `Debug` and `Display`,
/// and not serializable, so it cannot reach a response or a log by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SecretText(String);

impl SecretText {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecretText {
    type Error = super::names::InvalidValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() || value.len() > 1024 {
            return Err(super::names::InvalidValue("a secret is 1 to 1024 characters".into()));
        }
        Ok(Self(value))
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The key secrets are sealed with: the SHA-256 of `PACKYARD_SECRETS_KEY` (any high-entropy text).
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(<redacted>)")
    }
}

/// A sealed secret as stored: base64 of a 96-bit nonce followed by the AES-256-GCM ciphertext and tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be opened: PACKYARD_SECRETS_KEY changed or the record is corrupt")]
pub struct UnsealError;

impl SecretsKey {
    /// Derives the key from configured text; refuses text too short to hold 128 bits of entropy.
    ///
    /// # Errors
    /// When `text` is shorter than 32 characters.
    pub fn from_text(text: &str) -> Result<Self, String> {
        if text.trim().len() < 32 {
            return Err("PACKYARD_SECRETS_KEY must be at least 32 characters of random text".into());
        }
        Ok(Self(Sha256::digest(text.trim().as_bytes()).into()))
    }

    /// Fresh random text suitable for [`SecretsKey::from_text`], for the dev server's first start.
    pub fn generate_text() -> String {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// A key for one other purpose (signing registry tokens, say), derived so that it reveals nothing of
    /// this key or of the keys for other purposes.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::Mac;
        let mut mac =
            <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("any key length"));
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `secret`, bound to `context` (a record id), so a ciphertext moved to another record won't open.
    pub fn seal(&self, secret: &SecretText, context: &str) -> Sealed {
        let mut nonce = [0_u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new((&self.0).into());
        let payload = Payload { msg: secret.expose().as_bytes(), aad: context.as_bytes() };
        // Encryption fails only for inputs beyond GCM's 64 GiB limit, far past SecretText's 1 KiB cap.
        let ciphertext = cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Sealed(STANDARD.encode(sealed))
    }

    /// Opens what [`SecretsKey::seal`] sealed with the same key and context.
    ///
    /// # Errors
    /// [`UnsealError`] for another key, another context or altered bytes.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<SecretText, UnsealError> {
        let bytes = STANDARD.decode(&sealed.0).map_err(|_| UnsealError)?;
        if bytes.len() < 12 + 16 {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let cipher = Aes256Gcm::new((&self.0).into());
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| UnsealError)?;
        String::from_utf8(plain).map(SecretText).map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> SecretsKey {
        SecretsKey::from_text(text).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let secret = SecretText::try_from("wJalrXUtnFEMI/K7MDENG".to_owned()).unwrap();
        let sealed = key(&"a".repeat(32)).seal(&secret, "link-1");
        assert!(!sealed.0.contains("wJalr"));
        assert_eq!(key(&"a".repeat(32)).open(&sealed, "link-1").unwrap(), secret);
        assert!(key(&"a".repeat(32)).open(&sealed, "link-2").is_err());
        assert!(key(&"b".repeat(32)).open(&sealed, "link-1").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = SecretText::try_from("hunter2-hunter2".to_owned()).unwrap();
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
        assert!(SecretsKey::from_text("short").is_err());
    }
}
