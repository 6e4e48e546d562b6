//! RPM registries in-process: an `.rpm` published through the packages API is listed in primary.xml rendered
//! from its header record, repomd.xml names each metadata file by its SHA-256 and is signed, a file listed by
//! an older repomd.xml stays fetchable after the registry changes, deleting a version drops it from the next
//! repodata, and files that are not binary RPMs, misnamed files and republished NEVRAs are refused.

use std::io::Read as _;

use http::StatusCode;
use packyard_tests::app::TestApp;

const REPO: &str = "/rpm/acme/rpms";

/// Real packages built with rpmbuild: hello-app requires hello-lib >= 1.0.
pub(crate) const LIB: &[u8] = include_bytes!("../../shared/src/ecosystems/rpm/testdata/hello-lib-1.0-1.noarch.rpm");
pub(crate) const APP: &[u8] = include_bytes!("../../shared/src/ecosystems/rpm/testdata/hello-app-1.0-1.noarch.rpm");
pub(crate) const APP_2: &[u8] = include_bytes!("../../shared/src/ecosystems/rpm/testdata/hello-app-2.0-1.noarch.rpm");
const SOURCE: &[u8] = include_bytes!("../../shared/src/ecosystems/rpm/testdata/hello-lib-1.0-1.src.rpm");

async fn app() -> TestApp {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("rpms", "rpm").await;
    app
}

/// The location repomd.xml gives for `kind`.
pub(crate) fn location(repomd: &str, kind: &str) -> String {
    let start = repomd.find(&format!("<data type=\"{kind}\">")).unwrap_or_else(|| panic!("no {kind}:\n{repomd}"));
    let href = &repomd[start..];
    let href = &href[href.find("<location href=\"").unwrap() + 16..];
    href[..href.find('"').unwrap()].to_owned()
}

/// A metadata file, gunzipped.
async fn metadata(app: &TestApp, repomd: &str, kind: &str) -> (StatusCode, String) {
    let answer = app.get(&format!("{REPO}/{}", location(repomd, kind))).await;
    let mut xml = String::new();
    if answer.status == StatusCode::OK {
        flate2::read::GzDecoder::new(answer.bytes.as_ref()).read_to_string(&mut xml).unwrap();
    }
    (answer.status, xml)
}

#[tokio::test]
async fn a_published_rpm_is_listed_from_its_header_record_and_repomd_is_signed() {
    let app = app().await;
    let published = app.publish_file("rpms", "hello-app-1.0-1.noarch.rpm", APP).await;
    assert_eq!(published.status, StatusCode::CREATED, "{:?}", published.json);
    assert_eq!((&published.json["name"], &published.json["version"]), (&"hello-app".into(), &"1.0-1.noarch".into()));
    let id = published.json["id"].as_str().unwrap();

    let repomd = app.get(&format!("{REPO}/repodata/repomd.xml")).await;
    assert_eq!(repomd.status, StatusCode::OK);
    let primary_href = location(&repomd.text, "primary");
    assert!(primary_href.starts_with("repodata/") && primary_href.ends_with("-primary.xml.gz"), "{primary_href}");
    let (_, primary) = metadata(&app, &repomd.text, "primary").await;
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(APP));
    for expected in [
        "<name>hello-app</name>".to_owned(),
        format!("<checksum type=\"sha256\" pkgid=\"YES\">{sha256}</checksum>"),
        format!("<location href=\"Packages/{id}/hello-app-1.0-1.noarch.rpm\"/>"),
        "<rpm:entry name=\"hello-lib\" flags=\"GE\" epoch=\"0\" ver=\"1.0\"/>".to_owned(),
        "<rpm:header-range start=\"4504\" end=\"5997\"/>".to_owned(),
    ] {
        assert!(primary.contains(&expected), "{expected} is missing:\n{primary}");
    }
    let (_, filelists) = metadata(&app, &repomd.text, "filelists").await;
    assert!(filelists.contains("<file>/usr/bin/hello-app</file>"), "{filelists}");
    assert_eq!(metadata(&app, &repomd.text, "other").await.0, StatusCode::OK);

    // The same registry renders the same bytes: the stored signature still matches.
    assert_eq!(app.get(&format!("{REPO}/repodata/repomd.xml")).await.text, repomd.text);
    let signature = app.get(&format!("{REPO}/repodata/repomd.xml.asc")).await;
    assert!(signature.text.starts_with("-----BEGIN PGP SIGNATURE-----"), "{}", signature.text);
    let key = app.get(&format!("{REPO}/gpgkey")).await;
    assert!(key.text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{}", key.text);
    let repo_file = app.get(&format!("{REPO}/packyard.repo")).await.text;
    assert!(repo_file.contains("repo_gpgcheck=1\n") && repo_file.contains("/rpm/acme/rpms/gpgkey\n"), "{repo_file}");
    assert!(repo_file.contains("password=<YOUR PACKYARD TOKEN>"), "a private registry needs credentials: {repo_file}");

    // The package redirects to the stored file.
    let download = app.get(&format!("{REPO}/Packages/{id}/hello-app-1.0-1.noarch.rpm")).await;
    assert_eq!(download.status, StatusCode::FOUND, "{download:?}");
    assert_eq!(app.follow(&download).await.1.as_ref(), APP);
}

#[tokio::test]
async fn metadata_listed_by_an_older_repomd_stays_fetchable_and_a_delete_drops_the_version() {
    let app = app().await;
    assert_eq!(app.publish_file("rpms", "hello-lib-1.0-1.noarch.rpm", LIB).await.status, StatusCode::CREATED);
    let before = app.get(&format!("{REPO}/repodata/repomd.xml")).await.text;
    let second = app.publish_file("rpms", "hello-app-1.0-1.noarch.rpm", APP).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let after = app.get(&format!("{REPO}/repodata/repomd.xml")).await.text;
    assert_ne!(location(&before, "primary"), location(&after, "primary"));

    // A client that read the older repomd.xml still gets exactly the files it lists.
    let (status, old) = metadata(&app, &before, "primary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(old.contains("packages=\"1\"") && !old.contains("hello-app"), "{old}");
    let (_, new) = metadata(&app, &after, "primary").await;
    assert!(new.contains("packages=\"2\"") && new.contains("<name>hello-app</name>"), "{new}");
    let unknown = app.get(&format!("{REPO}/repodata/{}-primary.xml.gz", "0".repeat(64))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let id = second.json["id"].as_str().unwrap();
    let deleted = app.delete(&format!("/v1/organizations/acme/registries/rpms/packages/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let repomd = app.get(&format!("{REPO}/repodata/repomd.xml")).await.text;
    let (_, primary) = metadata(&app, &repomd, "primary").await;
    assert!(primary.contains("<name>hello-lib</name>") && !primary.contains("hello-app"), "{primary}");
}

#[tokio::test]
async fn files_that_are_not_binary_rpms_misnamed_files_and_republished_versions_are_refused() {
    let app = app().await;
    let refused = |name: &'static str, bytes: &'static [u8], phrase: &'static str| {
        let app = &app;
        async move {
            let answer = app.publish_file("rpms", name, bytes).await;
            assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {:?}", answer.json);
            assert_eq!(answer.json["error"]["field"], "file", "{:?}", answer.json);
            assert!(answer.error_message().contains(phrase), "{name}: {:?}", answer.json);
        }
    };
    refused("x.rpm", b"PK\x03\x04 a zip", "not an RPM").await;
    refused("hello-lib-1.0-1.src.rpm", SOURCE, "source RPM").await;
    refused("hello-lib-9.9-1.noarch.rpm", LIB, "hello-lib-1.0-1.noarch.rpm").await;
    refused("hello-lib-1.0-1.noarch.rpm", &LIB[..5000], "truncated").await;
    assert_eq!(app.publish_file("rpms", "hello-app-2.0-1.noarch.rpm", APP_2).await.status, StatusCode::CREATED);
    let again = app.publish_file("rpms", "hello-app-2.0-1.noarch.rpm", APP_2).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a NEVRA is published once: {:?}", again.json);
    let listed = app.get("/v1/organizations/acme/registries/rpms/packages").await;
    assert_eq!(listed.json["packages"].as_array().unwrap().len(), 1, "nothing half-written: {:?}", listed.json);

    let anonymous = app.call(http::Method::GET, &format!("{REPO}/repodata/repomd.xml"), None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    app.create_registry("debs", "debian").await;
    let wrong = app.get("/rpm/acme/debs/repodata/repomd.xml").await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_key_rotation_signs_the_unchanged_repomd_again_with_both_keys() {
    use pgp::composed::{Deserializable as _, DetachedSignature, SignedPublicKey};

    let app = app().await;
    assert_eq!(app.publish_file("rpms", "hello-lib-1.0-1.noarch.rpm", LIB).await.status, StatusCode::CREATED);
    let repomd = app.get(&format!("{REPO}/repodata/repomd.xml")).await.text;
    let before = app.get(&format!("{REPO}/repodata/repomd.xml.asc")).await.text;

    let rotate = "/v1/organizations/acme/registries/rpms/signing-keys/rotate";
    let rotated = app.post(rotate, serde_json::json!({"overlap_days": 30})).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.json);

    assert_eq!(app.get(&format!("{REPO}/repodata/repomd.xml")).await.text, repomd, "the repodata did not change");
    let after = app.get(&format!("{REPO}/repodata/repomd.xml.asc")).await.text;
    assert_ne!(after, before, "signed again once the keys changed");
    let (signatures, _) = DetachedSignature::from_armor_many(after.as_bytes()).unwrap();
    let signatures: Vec<DetachedSignature> = signatures.collect::<Result<_, _>>().unwrap();
    let armored = app.get(&format!("{REPO}/gpgkey")).await.text;
    let (keys, _) = SignedPublicKey::from_armor_many(armored.as_bytes()).unwrap();
    let keys: Vec<SignedPublicKey> = keys.collect::<Result<_, _>>().unwrap();
    assert_eq!((signatures.len(), keys.len()), (2, 2), "both keys sign and are exported during the overlap");
    for key in &keys {
        assert!(signatures.iter().any(|signature| signature.verify(key, repomd.as_bytes()).is_ok()));
    }
}
