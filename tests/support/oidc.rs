//! An OpenID Connect issuer of our own on loopback: its own P-256 key, a discovery document and a JWKS,
//! and tokens signed as a CI system would sign them (or forged with another key under the same kid).

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

pub struct Issuer {
    pub url: String,
    key: EncodingKey,
    forger: EncodingKey,
    server: tokio::task::JoinHandle<()>,
}

const KID: &str = "test-key-1";

fn key_pair() -> (EncodingKey, Value) {
    let document =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).expect("a P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, document.as_ref(), &SystemRandom::new())
        .expect("the key reads back");
    let point = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
                     "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    (EncodingKey::from_ec_der(document.as_ref()), jwk)
}

impl Issuer {
    pub async fn start() -> Self {
        let (key, jwk) = key_pair();
        let (forger, _) = key_pair();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
        let jwks = json!({"keys": [jwk]});
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
            .route("/jwks", get(move || async move { axum::Json(jwks) }));
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { url, key, forger, server }
    }

    fn sign(&self, claims: &Value, key: &EncodingKey) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, claims, key).expect("a signed token")
    }

    /// A token with these claims, `iss` defaulting to this issuer.
    pub fn token(&self, claims: Value) -> String {
        self.sign(&self.with_defaults(claims), &self.key)
    }

    /// The same, signed by a key the issuer never published.
    pub fn forged(&self, claims: Value) -> String {
        self.sign(&self.with_defaults(claims), &self.forger)
    }

    fn with_defaults(&self, mut claims: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        for (name, value) in [
            ("iss", json!(self.url)),
            ("iat", json!(now)),
            ("nbf", json!(now)),
            ("exp", json!(now + 120)),
            ("sub", json!("pipeline:web")),
        ] {
            if claims.get(name).is_none() {
                claims[name] = value;
            }
        }
        claims
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}
