//! A Debian registry's signing keys in-process: generated at creation and listed by fingerprint only,
//! rotated by an admin with an audited event, both keys exported and signing during the overlap, the old
//! one gone after it; a registry created before keys were stored gets one on first use, once, even when
//! two requests race; a rotation asks for an overlap within bounds.

use chrono::{Duration, Utc};
use http::StatusCode;
use packyard::domain::keys;
use packyard::domain::names::{OrgSlug, RegistrySlug};
use packyard::ports::metadata::{Condition, WriteOp};
use packyard_tests::app::TestApp;
use pgp::composed::{CleartextSignedMessage, Deserializable as _, DetachedSignature, SignedPublicKey};
use serde_json::json;

use super::debian::{control, deb_file};

const KEYS: &str = "/v1/organizations/acme/registries/debs/signing-keys";

/// The public keys `gpgkey` exports.
async fn exported_keys(app: &TestApp) -> Vec<SignedPublicKey> {
    let armored = app.get("/deb/acme/debs/gpgkey").await.text;
    assert_eq!(armored.matches("-----BEGIN PGP PUBLIC KEY BLOCK-----").count(), 1, "{armored}");
    let (keys, _) = SignedPublicKey::from_armor_many(armored.as_bytes()).unwrap();
    keys.collect::<Result<_, _>>().unwrap()
}

/// Checks that `InRelease` and `Release.gpg` each carry one signature per key, each verifying.
async fn each_key_signs(app: &TestApp, keys: &[SignedPublicKey]) {
    let in_release = app.get("/deb/acme/debs/dists/any/InRelease").await.text;
    let (message, _) = CleartextSignedMessage::from_string(&in_release).unwrap();
    assert_eq!(message.signatures().len(), keys.len());
    let release = app.get("/deb/acme/debs/dists/any/Release").await.text;
    let detached = app.get("/deb/acme/debs/dists/any/Release.gpg").await.text;
    let (signatures, _) = DetachedSignature::from_armor_many(detached.as_bytes()).unwrap();
    let signatures: Vec<DetachedSignature> = signatures.collect::<Result<_, _>>().unwrap();
    assert_eq!(signatures.len(), keys.len(), "{detached}");
    for key in keys {
        message.verify(key).unwrap();
        assert!(signatures.iter().any(|signature| signature.verify(key, release.as_bytes()).is_ok()));
    }
}

async fn registry(app: &TestApp) -> packyard::domain::registry::Registry {
    let org = OrgSlug::try_from("acme").unwrap();
    app.state.registries.get(&org, &RegistrySlug::try_from("debs").unwrap()).await.unwrap().0
}

#[tokio::test]
async fn a_new_registry_has_a_key_and_a_rotation_keeps_the_old_one_signing_for_the_overlap() {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("debs", "debian").await;
    let listed = app.get(KEYS).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.json);
    let keys = listed.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["state"], "current");
    let old = keys[0]["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(old.len(), 40);
    assert!(keys[0].get("seed").is_none() && !listed.text.contains("PRIVATE"), "{}", listed.text);

    let rotated = app.post(&format!("{KEYS}/rotate"), json!({"overlap_days": 30})).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.json);
    let keys = rotated.json["keys"].as_array().unwrap();
    assert_eq!((keys[0]["state"].as_str(), keys[1]["state"].as_str()), (Some("current"), Some("retiring")));
    assert_eq!(keys[1]["fingerprint"], old.as_str());
    let retiring_at: chrono::DateTime<Utc> = serde_json::from_value(keys[1]["retiring_at"].clone()).unwrap();
    assert!((retiring_at - (Utc::now() + Duration::days(30))).num_seconds().abs() < 60, "{retiring_at}");
    let new = keys[0]["fingerprint"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    // During the overlap both keys are exported and both sign.
    let exported = exported_keys(&app).await;
    assert_eq!(exported.len(), 2);
    each_key_signs(&app, &exported).await;
    let registry = registry(&app).await;
    let now = app.state.signing_keys.signing_key(&registry, Utc::now()).await.unwrap();
    assert_eq!(now.fingerprints(), vec![new.clone(), old.clone()]);
    // After the overlap only the new key signs and is exported.
    let later = app.state.signing_keys.signing_key(&registry, Utc::now() + Duration::days(31)).await.unwrap();
    assert_eq!(later.fingerprints(), vec![new.clone()]);
    let listed = app.state.signing_keys.list(&registry, Utc::now() + Duration::days(31)).await.unwrap();
    assert_eq!(listed[1].state, "retired");

    // The rotation is audited, by fingerprint.
    let events = app.get("/v1/organizations/acme/audit-events").await;
    let event = events.json["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "registry.signing_key_rotated")
        .unwrap_or_else(|| panic!("no rotation event: {:?}", events.json))
        .clone();
    assert!(event.to_string().contains(&new) && event.to_string().contains(&old), "{event}");
    assert!(!event.to_string().contains("seed"), "{event}");
}

#[tokio::test]
async fn a_rotation_refuses_an_overlap_out_of_bounds_and_registries_that_sign_nothing() {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("debs", "debian").await;
    let too_long = app.post(&format!("{KEYS}/rotate"), json!({"overlap_days": 366})).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", too_long.json);
    assert_eq!(too_long.json["error"]["field"], "overlap_days");
    let unknown = app.post(&format!("{KEYS}/rotate"), json!({"overlap": 3})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", unknown.json);
    let negative = app.post(&format!("{KEYS}/rotate"), json!({"overlap_days": -1})).await;
    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", negative.json);
    assert_eq!(app.get(KEYS).await.json["keys"].as_array().unwrap().len(), 1, "a refused rotation changes nothing");

    app.create_registry("libs", "npm").await;
    let npm = app.post("/v1/organizations/acme/registries/libs/signing-keys/rotate", json!({})).await;
    assert_eq!(npm.status, StatusCode::NOT_FOUND, "{:?}", npm.json);
    assert!(npm.error_message().contains("not signed"), "{:?}", npm.json);

    let reader = app.token_with(&["read_packages", "read_registries"]).await;
    let refused = app.call(http::Method::POST, &format!("{KEYS}/rotate"), Some(&reader), Some(json!({}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.json);
}

#[tokio::test]
async fn a_registry_without_stored_keys_gets_one_on_first_use_once_even_under_a_race() {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("debs", "debian").await;
    let registry = registry(&app).await;
    // As a registry created before keys were stored: no key record.
    let (pk, sk) = keys::signing_keys(&registry.id);
    app.store.write(vec![WriteOp::delete(pk, sk, Condition::Exists)]).await.unwrap();
    assert_eq!(
        app.publish_file("debs", "a.deb", &deb_file(&control("alpha", "1.0", "all"))).await.status,
        StatusCode::CREATED
    );

    let (a, b) = tokio::join!(
        app.state.signing_keys.signing_key(&registry, Utc::now()),
        app.state.signing_keys.signing_key(&registry, Utc::now())
    );
    assert_eq!(a.unwrap().fingerprints(), b.unwrap().fingerprints());
    let listed = app.get(KEYS).await.json;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "{listed:?}");
    let exported = exported_keys(&app).await;
    assert_eq!(exported.len(), 1);
    each_key_signs(&app, &exported).await;
}

#[tokio::test]
async fn without_a_secrets_key_the_index_is_unavailable_with_503_not_a_500() {
    let app = TestApp::new().await;
    app.create_registry("debs", "debian").await;
    let refused = app.get("/deb/acme/debs/dists/any/InRelease").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", refused.text);
    assert!(refused.text.contains("PACKYARD_SECRETS_KEY"), "{}", refused.text);
}
