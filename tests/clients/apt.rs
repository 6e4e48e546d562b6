//! apt against the dev server: two `.deb`s built with `dpkg-deb` (hello-app depends on hello-lib) are
//! published through the packages API, then `apt-get update` and `apt-get install` run in a throwaway root
//! (`Dir` pointing at a temporary directory, dpkg installing with `--root`), with the token from an
//! `auth.conf.d` file and the registry's key as `signed-by`. A tampered `InRelease` is refused by apt; a
//! deleted version is gone from the next index apt reads. Through a rotation of the registry's key, apt with
//! only the old key and apt with only the new key both keep updating during the overlap; after it, the old
//! key is refused. `packyard push` publishes a `.deb` apt then installs, and refuses a file that only
//! claims to be one before sending anything.

use std::path::{Path, PathBuf};

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Builds `{name}_{version}_all.deb` in `work` with `dpkg-deb`, compressed with `compressor`.
fn build_deb(work: &Path, name: &str, depends: Option<&str>, file: (&str, &str), compressor: &str) -> PathBuf {
    let tree = work.join(format!("tree-{name}"));
    let depends = depends.map(|d| format!("Depends: {d}\n")).unwrap_or_default();
    write(
        &tree.join("DEBIAN/control"),
        &format!(
            "Package: {name}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Acme <dev@acme.test>\n{depends}Description: {name} for the apt test\n"
        ),
    );
    write(&tree.join(file.0), file.1);
    let deb = work.join(format!("{name}_1.0-1_all.deb"));
    let compress = format!("-Z{compressor}");
    ok(
        work,
        "dpkg-deb",
        &["--root-owner-group", &compress, "--build", tree.to_str().unwrap(), deb.to_str().unwrap()],
        &[],
    );
    deb
}

/// A throwaway root for apt and dpkg: its own configuration, lists, cache and dpkg database.
struct AptRoot {
    root: PathBuf,
    config: PathBuf,
}

impl AptRoot {
    fn new(root: PathBuf) -> Self {
        for dir in [
            "etc/apt/sources.list.d",
            "etc/apt/apt.conf.d",
            "etc/apt/preferences.d",
            "etc/apt/auth.conf.d",
            "etc/apt/keyrings",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/lib/dpkg/info",
            "var/lib/dpkg/updates",
            "var/lib/dpkg/triggers",
            "var/log/apt",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        write(&root.join("var/lib/dpkg/status"), "");
        let config = root.join("apt.conf");
        let r = root.display();
        write(
            &config,
            &format!(
                "Dir \"{r}/\";\nDir::State::status \"{r}/var/lib/dpkg/status\";\nDir::Log \"{r}/var/log/apt\";\n\
                 APT::Sandbox::User \"root\";\nDebug::NoLocking \"true\";\nAPT::Get::Assume-Yes \"true\";\n\
                 Acquire::Languages \"none\";\nDPkg::Options {{ \"--root={r}\"; \"--force-not-root\"; \"--force-bad-path\"; \"--log={r}/var/log/dpkg.log\"; }};\n\
                 DPkg::Chroot-Directory \"/\";\n"
            ),
        );
        Self { root, config }
    }

    fn apt(&self, program: &str, args: &[&str]) -> std::process::Output {
        run(&self.root, program, args, &[("APT_CONFIG", self.config.to_str().unwrap())])
    }
}

async fn publish(server: &DevServer, deb: &Path) -> reqwest::Response {
    let bytes = std::fs::read(deb).unwrap();
    let part =
        reqwest::multipart::Part::bytes(bytes).file_name(deb.file_name().unwrap().to_string_lossy().into_owned());
    reqwest::Client::new()
        .post(format!("{}/v1/organizations/acme/registries/debs/packages", server.base_url))
        .bearer_auth(&server.admin_token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apt_installs_published_debs_with_their_dependency_and_refuses_a_tampered_inrelease() {
    let server = DevServer::start();
    server.create_registry("debs", "debian").await;
    let work = TempDir::new("packyard-apt");
    let lib = build_deb(&work.0, "hello-lib", None, ("usr/share/hello-lib/greeting", "hello from lib\n"), "gzip");
    let app = build_deb(
        &work.0,
        "hello-app",
        Some("hello-lib (>= 1.0)"),
        ("usr/bin/hello-app", "#!/bin/sh\ncat \"$(dirname \"$0\")/../share/hello-lib/greeting\"\n"),
        "xz",
    );

    // Published through the packages API: the name and version come from the control file.
    let published = publish(&server, &lib).await;
    assert_eq!(published.status(), 201, "{}", published.text().await.unwrap());
    let published = publish(&server, &app).await;
    assert_eq!(published.status(), 201);
    let app_id = published.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(publish(&server, &app).await.status(), 409, "a version is never overwritten");
    let not_a_deb = work.0.join("fake.deb");
    std::fs::write(&not_a_deb, "this is not an ar archive").unwrap();
    let refused = publish(&server, &not_a_deb).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("not an ar archive"));

    // The client's setup, as the README gives it: the key, the source, the credentials.
    let apt = AptRoot::new(work.0.join("root"));
    let base = format!("{}/deb/acme/debs", server.base_url);
    let key =
        reqwest::Client::new().get(format!("{base}/gpgkey")).bearer_auth(&server.admin_token).send().await.unwrap();
    assert_eq!(key.status(), 200);
    let keyring = apt.root.join("etc/apt/keyrings/debs.asc");
    write(&keyring, &key.text().await.unwrap());
    write(
        &apt.root.join("etc/apt/sources.list.d/packyard.list"),
        &format!("deb [signed-by={}] {base} any main\n", keyring.display()),
    );
    let machine = base.replace("http://", "");
    write(
        &apt.root.join("etc/apt/auth.conf.d/packyard.conf"),
        &format!("machine http://{machine} login token password {}\n", server.admin_token),
    );

    let updated = apt.apt("apt-get", &["update"]);
    assert!(updated.status.success(), "apt-get update failed:\n{}", describe(&updated));
    assert!(!describe(&updated).contains("W: "), "apt-get update warned:\n{}", describe(&updated));
    let installed = apt.apt("apt-get", &["install", "hello-app"]);
    assert!(installed.status.success(), "apt-get install failed:\n{}", describe(&installed));
    let said = describe(&installed);
    assert!(said.contains("hello-lib") && said.contains("Setting up hello-app"), "{said}");
    let greeting = std::fs::read_to_string(apt.root.join("usr/share/hello-lib/greeting")).unwrap();
    assert_eq!(greeting, "hello from lib\n");
    assert!(apt.root.join("usr/bin/hello-app").exists());

    // Without the credentials the private registry refuses apt.
    std::fs::remove_file(apt.root.join("etc/apt/auth.conf.d/packyard.conf")).unwrap();
    let anonymous = apt.apt("apt-get", &["update"]);
    assert!(describe(&anonymous).contains("401"), "{}", describe(&anonymous));
    write(
        &apt.root.join("etc/apt/auth.conf.d/packyard.conf"),
        &format!("machine http://{machine} login token password {}\n", server.admin_token),
    );

    // A copy of the suite whose InRelease was altered after signing: apt refuses it.
    let mirror = work.0.join("mirror");
    let in_release = reqwest::Client::new()
        .get(format!("{base}/dists/any/InRelease"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(in_release.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"), "{in_release}");
    write(&mirror.join("dists/any/InRelease"), &in_release.replace("Label: Packyard", "Label: Tampered"));
    let tampered = AptRoot::new(work.0.join("tampered-root"));
    write(
        &tampered.root.join("etc/apt/sources.list.d/mirror.list"),
        &format!("deb [signed-by={}] file:{} any main\n", keyring.display(), mirror.display()),
    );
    let refused = tampered.apt("apt-get", &["update"]);
    let said = describe(&refused);
    assert!(
        said.contains("BADSIG") || said.contains("signatures were invalid") || said.contains("not signed"),
        "{said}"
    );
    assert!(
        !tampered
            .root
            .join("var/lib/apt/lists")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with("InRelease") }),
        "apt kept a tampered InRelease"
    );

    // Deleting a version removes it from the next index apt reads.
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v1/organizations/acme/registries/debs/packages/{app_id}", server.base_url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let updated = apt.apt("apt-get", &["update"]);
    assert!(updated.status.success(), "apt-get update failed:\n{}", describe(&updated));
    let lists: String = std::fs::read_dir(apt.root.join("var/lib/apt/lists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_Packages"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(lists.contains("Package: hello-lib") && !lists.contains("Package: hello-app"), "{lists}");
}

async fn signing_key(server: &DevServer) -> String {
    let url = format!("{}/deb/acme/debs/gpgkey", server.base_url);
    let key = reqwest::Client::new().get(url).bearer_auth(&server.admin_token).send().await.unwrap();
    assert_eq!(key.status(), 200);
    key.text().await.unwrap()
}

/// The fingerprints of the keys in an armored keyring, as gpg reads them.
fn fingerprints(work: &Path, armored: &str) -> Vec<String> {
    let file = work.join("show.asc");
    std::fs::write(&file, armored).unwrap();
    let shown = ok(work, "gpg", &["--batch", "--with-colons", "--show-keys", file.to_str().unwrap()], &[]);
    shown.lines().filter_map(|line| line.strip_prefix("fpr:").map(|rest| rest.trim_matches(':').to_owned())).collect()
}

/// A keyring holding only key `fingerprint` of `armored`, exported by gpg.
fn only_key(work: &Path, armored: &str, fingerprint: &str) -> String {
    let home = work.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let file = work.join("both.asc");
    std::fs::write(&file, armored).unwrap();
    let home = home.to_str().unwrap();
    ok(work, "gpg", &["--batch", "--homedir", home, "--import", file.to_str().unwrap()], &[]);
    ok(work, "gpg", &["--batch", "--homedir", home, "--armor", "--export", fingerprint], &[])
}

impl AptRoot {
    /// Points this root at `server`'s registry `debs`, trusting only `keyring`.
    fn trust(&self, server: &DevServer, keyring: &str) {
        let file = self.root.join("etc/apt/keyrings/debs.asc");
        write(&file, keyring);
        let base = format!("{}/deb/acme/debs", server.base_url);
        write(
            &self.root.join("etc/apt/sources.list.d/packyard.list"),
            &format!("deb [signed-by={}] {base} any main\n", file.display()),
        );
        write(
            &self.root.join("etc/apt/auth.conf.d/packyard.conf"),
            &format!("machine {base} login token password {}\n", server.admin_token),
        );
    }

    /// `apt-get update`, and whether it verified the suite: apt exits 0 even when it ignores a suite whose
    /// signature it cannot verify, and says so with `W:` or `E:`.
    fn update(&self) -> (bool, String) {
        let updated = self.apt("apt-get", &["update"]);
        let said = describe(&updated);
        (updated.status.success() && !said.contains("W: ") && !said.contains("E: "), said)
    }
}

/// Ends the overlap of registry `debs`'s key rotation, as its 30 days passing would, in the stopped dev
/// server's database: every retiring key's `retiring_at` moves to a minute ago.
fn end_the_overlap(data_dir: &Path) {
    use packyard::adapters::sqlite::SqliteStore;
    use packyard::domain::keys;
    use packyard::ports::metadata::{Condition, MetadataStore as _, Query, WriteOp};
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let store = SqliteStore::open(&data_dir.join("metadata.sqlite3")).unwrap();
            let query = |pk: &str, prefix: &str| Query {
                pk: pk.to_owned(),
                sk_prefix: prefix.to_owned(),
                after: None,
                limit: 100,
                descending: false,
            };
            let registry = store.query(&query("ORG#acme", "REGISTRY#debs")).await.unwrap().items.remove(0);
            let (pk, sk) = keys::signing_keys(registry.attributes["id"].as_str().unwrap());
            let mut ring = store.get(&pk, &sk).await.unwrap().expect("the registry's keys");
            let past = serde_json::json!(chrono::Utc::now() - chrono::Duration::minutes(1));
            for key in ring.attributes["keys"].as_array_mut().unwrap() {
                if !key["retiring_at"].is_null() {
                    key["retiring_at"] = past.clone();
                }
            }
            let version = ring.version;
            ring.version += 1;
            store.write(vec![WriteOp::put(ring, Condition::Version(version))]).await.unwrap();
        });
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apt_trusting_either_key_updates_during_a_rotation_and_the_old_key_is_refused_after_it() {
    let server = DevServer::start();
    server.create_registry("debs", "debian").await;
    let work = TempDir::new("packyard-apt-rotation");
    let lib = build_deb(&work.0, "hello-lib", None, ("usr/share/hello-lib/greeting", "hello\n"), "gzip");
    assert_eq!(publish(&server, &lib).await.status(), 201);

    let old_key = signing_key(&server).await;
    let old = fingerprints(&work.0, &old_key);
    assert_eq!(old.len(), 1, "a new registry has one key");
    let old_only = AptRoot::new(work.0.join("old-only"));
    old_only.trust(&server, &old_key);
    let (verified, said) = old_only.update();
    assert!(verified, "before the rotation:\n{said}");

    let rotated = reqwest::Client::new()
        .post(format!("{}/v1/organizations/acme/registries/debs/signing-keys/rotate", server.base_url))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"overlap_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 201);
    let rotated: serde_json::Value = rotated.json().await.unwrap();
    let new = rotated["keys"][0]["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(rotated["keys"][1]["fingerprint"], old[0].as_str());
    let both = signing_key(&server).await;
    let mut exported = fingerprints(&work.0, &both);
    exported.sort();
    let mut expected = vec![old[0].clone(), new.clone()];
    expected.sort();
    assert_eq!(exported, expected, "during the overlap gpgkey exports both keys");
    let new_only = AptRoot::new(work.0.join("new-only"));
    new_only.trust(&server, &only_key(&work.0, &both, &new));

    // A publish during the overlap: the new Release is signed by both keys, and each client reads it.
    let app = build_deb(&work.0, "hello-app", Some("hello-lib"), ("usr/bin/hello-app", "#!/bin/sh\n"), "xz");
    assert_eq!(publish(&server, &app).await.status(), 201);
    for (root, who) in [(&old_only, "old"), (&new_only, "new")] {
        let (verified, said) = root.update();
        assert!(verified, "apt trusting only the {who} key during the overlap:\n{said}");
        let installed = root.apt("apt-get", &["install", "hello-app"]);
        assert!(installed.status.success(), "{}", describe(&installed));
    }

    // The overlap ends (its 30 days pass): only the new key signs and is exported.
    let data_dir = server.stop();
    end_the_overlap(&data_dir.0);
    let server = DevServer::start_in(data_dir);
    let after = signing_key(&server).await;
    assert_eq!(fingerprints(&work.0, &after), vec![new.clone()]);
    old_only.trust(&server, &old_key);
    new_only.trust(&server, &only_key(&work.0, &after, &new));
    let (verified, said) = old_only.update();
    assert!(!verified, "apt trusting only the old key verified a suite after the overlap:\n{said}");
    assert!(said.contains("NO_PUBKEY") || said.contains("not signed"), "{said}");
    let (verified, said) = new_only.update();
    assert!(verified, "apt trusting the new key after the overlap:\n{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packyard_push_publishes_a_deb_apt_installs_and_refuses_a_file_that_is_not_one() {
    let server = DevServer::start();
    server.create_registry("debs", "debian").await;
    let work = TempDir::new("packyard-apt-push");
    let deb = build_deb(&work.0, "hello-lib", None, ("usr/share/hello-lib/greeting", "pushed\n"), "xz");
    let push = |file: &Path| {
        let args = ["push", "--url", &server.base_url, "--org", "acme", "--registry", "debs", file.to_str().unwrap()];
        run(
            &work.0,
            packyard_tests::devserver::packyard_binary().to_str().unwrap(),
            &args,
            &[("PACKYARD_TOKEN", server.admin_token.as_str())],
        )
    };
    let pushed = push(&deb);
    assert!(pushed.status.success(), "{}", describe(&pushed));
    let published: serde_json::Value = serde_json::from_slice(&pushed.stdout).unwrap();
    assert_eq!((published["name"].as_str(), published["version"].as_str()), (Some("hello-lib"), Some("1.0-1_all")));
    let again = push(&deb);
    assert!(!again.status.success() && describe(&again).contains("409"), "{}", describe(&again));

    let fake = work.0.join("fake_1.0_all.deb");
    std::fs::write(&fake, "PK\u{3}\u{4} a zip, named .deb").unwrap();
    let refused = push(&fake);
    let said = describe(&refused);
    assert!(!refused.status.success() && said.contains("not an ar archive"), "{said}");
    assert!(!said.contains(&server.admin_token), "the token never shows: {said}");

    let apt = AptRoot::new(work.0.join("root"));
    apt.trust(&server, &signing_key(&server).await);
    let (verified, said) = apt.update();
    assert!(verified, "{said}");
    let installed = apt.apt("apt-get", &["install", "hello-lib"]);
    assert!(installed.status.success(), "{}", describe(&installed));
    assert_eq!(std::fs::read_to_string(apt.root.join("usr/share/hello-lib/greeting")).unwrap(), "pushed\n");
}
