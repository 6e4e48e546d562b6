//! apt against the dev server: two `.deb`s built with `dpkg-deb` (hello-app depends on hello-lib) are
//! published through the packages API, then `apt-get update` and `apt-get install` run in a throwaway root
//! (`Dir` pointing at a temporary directory, dpkg installing with `--root`), with the token from an
//! `auth.conf.d` file and the registry's key as `signed-by`. A tampered `InRelease` is refused by apt; a
//! deleted version is gone from the next index apt reads.

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
    let published = server.publish("debs", &lib).await;
    assert_eq!(published.status(), 201, "{}", published.text().await.unwrap());
    let published = server.publish("debs", &app).await;
    assert_eq!(published.status(), 201);
    let app_id = published.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(server.publish("debs", &app).await.status(), 409, "a version is never overwritten");
    let not_a_deb = work.0.join("fake.deb");
    std::fs::write(&not_a_deb, "this is not an ar archive").unwrap();
    let refused = server.publish("debs", &not_a_deb).await;
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
