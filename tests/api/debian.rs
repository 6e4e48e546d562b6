//! Debian registries in-process: a `.deb` published through the packages API is listed in the Packages
//! index rendered from its control record, the signed Release names each index by its SHA-256 and the
//! index stays fetchable by that hash after the registry changes, deleting a version drops it from the next
//! index, and files that are not `.deb`s are refused.

use http::StatusCode;
use packyard::domain::keys;
use packyard::domain::names::{OrgSlug, RegistrySlug};
use packyard::ports::metadata::{Condition, Item, WriteOp};
use packyard_tests::app::TestApp;
use packyard_tests::archives::tar_gz;

const REPO: &str = "/deb/acme/debs";

/// A `.deb` (ar: `debian-binary`, `control.tar.gz`, `data.tar.gz`) with this control paragraph.
pub(crate) fn deb_file(control: &str) -> Vec<u8> {
    let members: [(&str, Vec<u8>); 3] = [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", tar_gz(&[("./control", control.as_bytes())])),
        ("data.tar.gz", tar_gz(&[("./usr/share/doc/x/README", b"hello")])),
    ];
    let mut out = b"!<arch>\n".to_vec();
    for (name, bytes) in members {
        out.extend_from_slice(
            format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, 100_644, bytes.len()).as_bytes(),
        );
        out.extend_from_slice(&bytes);
        if bytes.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

pub(crate) fn control(name: &str, version: &str, arch: &str) -> String {
    format!(
        "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Acme <dev@acme.test>\nDescription: {name}\n"
    )
}

async fn app() -> TestApp {
    let app = TestApp::with_secrets_key().await;
    app.create_registry("debs", "debian").await;
    app
}

/// The SHA-256 the Release lists for `path`.
pub(crate) fn listed_sha256(release: &str, path: &str) -> String {
    let sha = release.split("SHA256:\n").nth(1).expect("a SHA256 section");
    sha.lines()
        .find(|line| line.ends_with(&format!(" {path}")))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("{path} is not listed:\n{release}"))
        .to_owned()
}

#[tokio::test]
async fn a_published_deb_is_listed_from_its_control_record_and_its_index_is_signed() {
    let app = app().await;
    let deb = deb_file(&format!("{}Depends: libc6 (>= 2.31)\n", control("hello", "1:1.0~rc1-1", "amd64")));
    let published = app.publish_file("debs", "whatever.deb", &deb).await;
    assert_eq!(published.status, StatusCode::CREATED, "{:?}", published.json);
    assert_eq!(published.json["name"], "hello");
    assert_eq!(published.json["version"], "1%3a1.0~rc1-1_amd64");

    let packages = app.get(&format!("{REPO}/dists/any/main/binary-amd64/Packages")).await;
    assert_eq!(packages.status, StatusCode::OK);
    let expected =
        format!("Filename: pool/main/hello/1%3a1.0~rc1-1_amd64/hello_1.0+rc1-1_amd64.deb\nSize: {}\n", deb.len());
    assert!(packages.text.contains("Package: hello\nVersion: 1:1.0~rc1-1\n"), "{}", packages.text);
    assert!(packages.text.contains(&expected), "{}", packages.text);
    assert!(packages.text.contains("Depends: libc6 (>= 2.31)"), "{}", packages.text);
    assert!(!app.get(&format!("{REPO}/dists/any/main/binary-arm64/Packages")).await.text.contains("hello"));

    let in_release = app.get(&format!("{REPO}/dists/any/InRelease")).await;
    assert!(in_release.text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"), "{}", in_release.text);
    assert!(in_release.text.contains("-----BEGIN PGP SIGNATURE-----"));
    let release = app.get(&format!("{REPO}/dists/any/Release")).await.text;
    assert!(release.contains("Suite: any\n") && release.contains("Acquire-By-Hash: yes\n"), "{release}");
    let signature = app.get(&format!("{REPO}/dists/any/Release.gpg")).await.text;
    assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"), "{signature}");

    // The pool redirects to the stored file.
    let path = format!("{REPO}/pool/main/hello/1%253a1.0~rc1-1_amd64/hello_1.0+rc1-1_amd64.deb");
    let pool = app.get(&path).await;
    assert_eq!(pool.status, StatusCode::FOUND, "{pool:?}");
    assert_eq!(app.follow(&pool).await.1.as_ref(), deb.as_slice());
}

#[tokio::test]
async fn an_index_stays_fetchable_by_hash_after_a_publish_and_a_delete_drops_the_version() {
    let app = app().await;
    let first = app.publish_file("debs", "a.deb", &deb_file(&control("alpha", "1.0-1", "all"))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.json);
    let release = app.get(&format!("{REPO}/dists/any/Release")).await.text;
    let before = listed_sha256(&release, "main/binary-amd64/Packages");

    let second = app.publish_file("debs", "b.deb", &deb_file(&control("beta", "2.0", "all"))).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let release = app.get(&format!("{REPO}/dists/any/Release")).await.text;
    let after = listed_sha256(&release, "main/binary-amd64/Packages");
    assert_ne!(before, after);

    // A client holding the older Release still gets exactly the index it lists.
    let old = app.get(&format!("{REPO}/dists/any/main/binary-amd64/by-hash/SHA256/{before}")).await;
    assert_eq!(old.status, StatusCode::OK);
    assert!(old.text.contains("Package: alpha") && !old.text.contains("Package: beta"), "{}", old.text);
    let new = app.get(&format!("{REPO}/dists/any/main/binary-amd64/by-hash/SHA256/{after}")).await;
    assert!(new.text.contains("Package: beta"), "{}", new.text);
    let unknown = app.get(&format!("{REPO}/dists/any/main/binary-amd64/by-hash/SHA256/{}", "0".repeat(64))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let id = second.json["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/organizations/acme/registries/debs/packages/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let packages = app.get(&format!("{REPO}/dists/any/main/binary-i386/Packages")).await.text;
    assert!(packages.contains("Package: alpha") && !packages.contains("Package: beta"), "{packages}");
}

#[tokio::test]
async fn files_that_are_not_debs_and_republished_versions_are_refused() {
    let app = app().await;
    let not_a_deb = app.publish_file("debs", "x.deb", b"PK\x03\x04 a zip").await;
    assert_eq!(not_a_deb.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", not_a_deb.json);
    assert!(not_a_deb.error_message().contains("not an ar archive"), "{:?}", not_a_deb.json);
    let bad_name = app.publish_file("debs", "x.deb", &deb_file(&control("../etc", "1.0", "all"))).await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", bad_name.json);
    let deb = deb_file(&control("alpha", "1.0-1", "all"));
    assert_eq!(app.publish_file("debs", "a.deb", &deb).await.status, StatusCode::CREATED);
    assert_eq!(app.publish_file("debs", "a.deb", &deb).await.status, StatusCode::CONFLICT);
    let other_suite = app.get(&format!("{REPO}/dists/bookworm/InRelease")).await;
    assert_eq!(other_suite.status, StatusCode::NOT_FOUND);
    let anonymous = app.call(http::Method::GET, &format!("{REPO}/dists/any/InRelease"), None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// The index `path` as the current Release lists it, fetched by hash.
async fn by_hash(app: &TestApp, path: &str) -> (String, packyard_tests::app::Reply) {
    let release = app.get(&format!("{REPO}/dists/any/Release")).await.text;
    let sha = listed_sha256(&release, path);
    let binary = path.split('/').nth(1).unwrap();
    (sha.clone(), app.get(&format!("{REPO}/dists/any/main/{binary}/by-hash/SHA256/{sha}")).await)
}

#[tokio::test]
async fn the_release_lists_packages_xz_and_it_unpacks_to_the_index() {
    let app = app().await;
    let published = app.publish_file("debs", "a.deb", &deb_file(&control("alpha", "1.0-1", "amd64"))).await;
    assert_eq!(published.status, StatusCode::CREATED);
    let packages = app.get(&format!("{REPO}/dists/any/main/binary-amd64/Packages")).await.text;
    let xz = app.get(&format!("{REPO}/dists/any/main/binary-amd64/Packages.xz")).await;
    assert_eq!(xz.status, StatusCode::OK);
    let (_, by_hash) = by_hash(&app, "main/binary-amd64/Packages.xz").await;
    assert_eq!(by_hash.bytes, xz.bytes);
    assert!(by_hash.bytes.starts_with(b"\xfd7zXZ\0"), "Packages.xz is an xz stream");
    let unpacked = std::process::Command::new("xz")
        .args(["--decompress", "--stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(&by_hash.bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(unpacked.status.success(), "xz refused Packages.xz");
    assert_eq!(String::from_utf8(unpacked.stdout).unwrap(), packages);
}

#[tokio::test]
async fn concurrent_publishes_all_land_in_the_index() {
    let app = app().await;
    let debs: Vec<(String, Vec<u8>)> =
        (0..12).map(|i| (format!("{i}.deb"), deb_file(&control(&format!("pkg{i:02}"), "1.0", "all")))).collect();
    let published =
        futures_util::future::join_all(debs.iter().map(|(file, deb)| app.publish_file("debs", file, deb))).await;
    assert!(published.iter().all(|reply| reply.status == StatusCode::CREATED));
    let (_, index) = by_hash(&app, "main/binary-amd64/Packages").await;
    for i in 0..12 {
        assert!(index.text.contains(&format!("Package: pkg{i:02}\n")), "pkg{i:02} is missing:\n{}", index.text);
    }
}

/// Registry `slug` of organization `acme`, as stored.
async fn registry(app: &TestApp, slug: &str) -> packyard::domain::registry::Registry {
    let org = OrgSlug::try_from("acme").unwrap();
    app.state.registries.get(&org, &RegistrySlug::try_from(slug).unwrap()).await.unwrap().0
}

/// Leaves registry `slug` as a publish whose function stopped after recording the version and before
/// generating the suite would: with the change's marker still there.
pub(crate) async fn leave_a_change_unindexed(app: &TestApp, slug: &str) {
    let registry = registry(app, slug).await;
    let marker = keys::debian_change(&registry.id, &ulid::Ulid::new().to_string());
    let marker = Item::from_value(marker.0, marker.1, 1, &serde_json::json!({})).unwrap();
    app.store.write(vec![WriteOp::put(marker, Condition::NotExists)]).await.unwrap();
}

#[tokio::test]
async fn a_change_whose_generation_never_ran_is_indexed_by_the_next_reader() {
    let app = app().await;
    let alpha = deb_file(&control("alpha", "1.0", "all"));
    assert_eq!(app.publish_file("debs", "a.deb", &alpha).await.status, StatusCode::CREATED);
    let registry = registry(&app, "debs").await;
    let (pk, sk) = keys::debian_suite(&registry.id);
    let before = app.store.get(&pk, &sk).await.unwrap().unwrap();
    let beta = deb_file(&control("beta", "1.0", "all"));
    assert_eq!(app.publish_file("debs", "b.deb", &beta).await.status, StatusCode::CREATED);
    // Put the suite back as it was before beta, with beta's change left unindexed.
    let after = app.store.get(&pk, &sk).await.unwrap().unwrap();
    let stale = Item { version: after.version + 1, ..before };
    app.store.write(vec![WriteOp::put(stale, Condition::Version(after.version))]).await.unwrap();
    leave_a_change_unindexed(&app, "debs").await;
    let (_, index) = by_hash(&app, "main/binary-amd64/Packages").await;
    assert!(index.text.contains("Package: alpha") && index.text.contains("Package: beta"), "{}", index.text);
}

#[tokio::test]
async fn housekeeping_removes_indexes_no_release_listed_for_a_day_and_keeps_the_current_ones() {
    let app = app().await;
    assert_eq!(
        app.publish_file("debs", "a.deb", &deb_file(&control("alpha", "1.0", "all"))).await.status,
        StatusCode::CREATED
    );
    let (old, _) = by_hash(&app, "main/binary-amd64/Packages").await;
    assert_eq!(
        app.publish_file("debs", "b.deb", &deb_file(&control("beta", "1.0", "all"))).await.status,
        StatusCode::CREATED
    );
    let (new, _) = by_hash(&app, "main/binary-amd64/Packages").await;
    let fetch = |sha: String| {
        let app = &app;
        async move { app.get(&format!("{REPO}/dists/any/main/binary-amd64/by-hash/SHA256/{sha}")).await.status }
    };

    let report = app.state.housekeeping.run(chrono::Utc::now()).await.unwrap();
    assert_eq!(report.debian_indexes_collected, 0, "within the grace period nothing goes");
    assert_eq!(fetch(old.clone()).await, StatusCode::OK);

    let later = chrono::Utc::now() + chrono::Duration::hours(25);
    let report = app.state.housekeeping.run(later).await.unwrap();
    assert!(report.debian_indexes_collected >= 3, "{report:?}");
    assert_eq!(fetch(old).await, StatusCode::NOT_FOUND);
    assert_eq!(fetch(new).await, StatusCode::OK);
    let (_, xz) = by_hash(&app, "main/binary-arm64/Packages.xz").await;
    assert_eq!(xz.status, StatusCode::OK, "an index listed now is kept");
}

#[tokio::test]
async fn housekeeping_removes_a_deleted_registrys_indexes_suite_and_keys() {
    let app = app().await;
    let alpha = deb_file(&control("alpha", "1.0", "all"));
    assert_eq!(app.publish_file("debs", "a.deb", &alpha).await.status, StatusCode::CREATED);
    let registry = registry(&app, "debs").await;
    assert!(app.stored_objects() > 1, "the .deb and its indexes");
    assert_eq!(app.delete("/v1/organizations/acme/registries/debs").await.status, StatusCode::NO_CONTENT);
    app.state.housekeeping.run(chrono::Utc::now()).await.unwrap();
    assert_eq!(app.stored_objects(), 0, "no file or index is left behind");
    for (pk, sk) in [keys::debian_suite(&registry.id), keys::signing_keys(&registry.id)] {
        assert!(app.store.get(&pk, &sk).await.unwrap().is_none(), "{pk} is left behind");
    }
}
