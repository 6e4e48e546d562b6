//! dnf against the dev server: two `.rpm`s built with `rpmbuild` (hello-app requires hello-lib >= 1.0) and
//! signed by their builder with `rpmsign`, one published through the packages API and one with `packyard
//! push`, then `dnf install` into a throwaway `--installroot` with the `.repo` file the registry serves
//! (`repo_gpgcheck=1`, the served `gpgkey`, the token as the password), with `gpgcheck=1` and the builder's
//! key added: the packages keep the signatures their builder gave them. Without credentials dnf is refused; a copy of the repository whose repomd.xml was
//! altered after signing is refused; a deleted version is gone from the next metadata dnf reads; a
//! republished NEVRA answers 409.

use std::path::{Path, PathBuf};
use std::process::Output;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::{DevServer, packyard_binary};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Builds `{name}-1.0-1.noarch.rpm` in `work` with `rpmbuild`, installing `file` with `content`.
fn build_rpm(work: &Path, name: &str, requires: Option<&str>, file: &str, content: &str) -> PathBuf {
    let requires = requires.map(|r| format!("Requires: {r}\n")).unwrap_or_default();
    let spec = work.join(format!("{name}.spec"));
    write(
        &spec,
        &format!(
            "Name: {name}\nVersion: 1.0\nRelease: 1\nSummary: {name} for the dnf test\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n{requires}\
             %description\n{name} for the dnf test.\n%install\nmkdir -p %{{buildroot}}$(dirname {file})\n\
             printf '{content}' > %{{buildroot}}{file}\nchmod 0755 %{{buildroot}}{file}\n%files\n{file}\n\
             %changelog\n* Sun Nov 29 2026 Acme <dev@acme.test> - 1.0-1\n- First release\n"
        ),
    );
    let top = work.join("rpmbuild");
    ok(
        work,
        "rpmbuild",
        &[
            "--define",
            &format!("_topdir {}", top.display()),
            "--define",
            &format!("_rpmdir {}", work.display()),
            "--define",
            "__os_install_post %{nil}",
            "-bb",
            spec.to_str().unwrap(),
        ],
        &[],
    );
    work.join(format!("noarch/{name}-1.0-1.noarch.rpm"))
}

/// A builder's OpenPGP key in its own GnuPG home, which signs packages with `rpmsign`.
struct Builder {
    home: PathBuf,
}

impl Builder {
    fn new(home: PathBuf) -> Self {
        std::fs::create_dir_all(&home).unwrap();
        let builder = Self { home };
        builder.gpg(&[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Acme Builder <builder@acme.test>",
            "ed25519",
            "sign",
            "never",
        ]);
        builder
    }

    fn gpg(&self, args: &[&str]) -> String {
        ok(&self.home, "gpg", args, &[("GNUPGHOME", self.home.to_str().unwrap())])
    }

    fn sign(&self, rpm: &Path) {
        let home = self.home.to_str().unwrap();
        let defines = [
            "_gpg_name Acme Builder <builder@acme.test>".to_owned(),
            format!("_gpg_path {home}"),
            "__gpg /usr/bin/gpg".to_owned(),
        ];
        let mut args: Vec<&str> = defines.iter().flat_map(|d| ["--define", d.as_str()]).collect();
        args.extend(["--addsign", rpm.to_str().unwrap()]);
        ok(&self.home, "rpmsign", &args, &[("GNUPGHOME", home)]);
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        let _ = run(&self.home, "gpgconf", &["--kill", "gpg-agent"], &[("GNUPGHOME", self.home.to_str().unwrap())]);
    }
}

/// A throwaway root for dnf: its own repository directory, cache and rpm database.
struct DnfRoot {
    dir: PathBuf,
}

impl DnfRoot {
    fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(dir.join("root")).unwrap();
        std::fs::create_dir_all(dir.join("repos")).unwrap();
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn dnf(&self, args: &[&str]) -> Output {
        let [root, repos, cache] = ["root", "repos", "cache"].map(|d| self.dir.join(d).display().to_string());
        let mut all = vec![
            "-y".to_owned(),
            format!("--installroot={root}"),
            format!("--setopt=reposdir={repos}"),
            format!("--setopt=cachedir={cache}"),
            "--releasever=1".to_owned(),
            "--setopt=install_weak_deps=False".to_owned(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        run(&self.dir, "dnf", &all.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    }
}

async fn get(server: &DevServer, url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).bearer_auth(&server.admin_token).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_installs_published_rpms_with_their_dependency_from_signed_repodata() {
    let server = DevServer::start();
    server.create_registry("rpms", "rpm").await;
    let work = TempDir::new("packyard-dnf");
    let lib = build_rpm(&work.0, "hello-lib", None, "/usr/share/hello-lib/greeting", "hello from lib\\n");
    let app = build_rpm(
        &work.0,
        "hello-app",
        Some("hello-lib >= 1.0"),
        "/usr/bin/hello-app",
        "#!/bin/sh\\ncat /usr/share/hello-lib/greeting\\n",
    );

    let builder = Builder::new(work.0.join("gnupg"));
    builder.sign(&lib);
    builder.sign(&app);
    let builder_key = work.0.join("builder.asc");
    write(&builder_key, &builder.gpg(&["--armor", "--export", "builder@acme.test"]));

    // hello-lib through the packages API, hello-app with packyard push: the header names both.
    let published = server.publish("rpms", &lib).await;
    assert_eq!(published.status(), 201, "{}", published.text().await.unwrap());
    let pushed = run(
        &work.0,
        packyard_binary().to_str().unwrap(),
        &["push", "--url", &server.base_url, "--org", "acme", "--registry", "rpms", app.to_str().unwrap()],
        &[("PACKYARD_TOKEN", &server.admin_token)],
    );
    assert!(pushed.status.success(), "packyard push failed:\n{}", describe(&pushed));
    let pushed: serde_json::Value = serde_json::from_slice(&pushed.stdout).unwrap();
    assert_eq!((&pushed["name"], &pushed["version"]), (&"hello-app".into(), &"1.0-1.noarch".into()), "{pushed}");
    let app_id = pushed["id"].as_str().unwrap().to_owned();
    let again = server.publish("rpms", &app).await;
    assert_eq!(again.status(), 409, "a NEVRA is never overwritten");

    // The client's setup, as the README gives it: the registry's .repo file with the token as the password;
    // gpgcheck on, with the builder's key beside the registry's.
    let dnf = DnfRoot::new(work.0.join("dnf"));
    let base = format!("{}/rpm/acme/rpms", server.base_url);
    let repo_file = get(&server, &format!("{base}/packyard.repo")).await.text().await.unwrap();
    assert!(repo_file.contains("repo_gpgcheck=1"), "{repo_file}");
    let with_token = repo_file
        .replace("<YOUR PACKYARD TOKEN>", &server.admin_token)
        .replace("gpgcheck=0\n", "gpgcheck=1\n")
        .replace("/gpgkey\n", &format!("/gpgkey file://{}\n", builder_key.display()));
    assert!(with_token.contains("\ngpgcheck=1\n") && with_token.contains("builder.asc"), "{with_token}");
    write(&dnf.dir.join("repos/packyard.repo"), &with_token);

    let installed = dnf.dnf(&["install", "hello-app"]);
    let said = describe(&installed);
    assert!(installed.status.success(), "dnf install failed:\n{said}");
    assert!(said.contains("Importing GPG key") && said.contains("Packyard acme/rpms"), "{said}");
    assert!(said.contains("Acme Builder"), "dnf checked the builder's signatures with its key: {said}");
    assert!(said.contains("hello-lib-1.0-1.noarch") && said.contains("hello-app-1.0-1.noarch"), "{said}");
    let greeting = std::fs::read_to_string(dnf.root().join("usr/share/hello-lib/greeting")).unwrap();
    assert_eq!(greeting, "hello from lib\n");
    assert!(dnf.root().join("usr/bin/hello-app").exists());

    // Without the credentials the private registry refuses dnf.
    let anonymous = DnfRoot::new(work.0.join("anonymous"));
    write(
        &anonymous.dir.join("repos/packyard.repo"),
        &repo_file.replace("username=", "#username=").replace("password=", "#password="),
    );
    let refused = anonymous.dnf(&["install", "hello-app"]);
    assert!(!refused.status.success() && describe(&refused).contains("401"), "{}", describe(&refused));

    // A copy of the repository whose repomd.xml was altered after signing: dnf refuses it.
    let mirror = work.0.join("mirror");
    let repomd = get(&server, &format!("{base}/repodata/repomd.xml")).await.text().await.unwrap();
    let signature = get(&server, &format!("{base}/repodata/repomd.xml.asc")).await.text().await.unwrap();
    for href in repomd.split("<location href=\"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]) {
        let bytes = get(&server, &format!("{base}/{href}")).await.bytes().await.unwrap();
        std::fs::create_dir_all(mirror.join("repodata")).unwrap();
        std::fs::write(mirror.join(href), bytes).unwrap();
    }
    write(&mirror.join("repodata/repomd.xml"), &repomd.replace("<revision>", "<revision>1"));
    write(&mirror.join("repodata/repomd.xml.asc"), &signature);
    let key = work.0.join("packyard.asc");
    write(&key, &get(&server, &format!("{base}/gpgkey")).await.text().await.unwrap());
    let tampered = DnfRoot::new(work.0.join("tampered"));
    write(
        &tampered.dir.join("repos/mirror.repo"),
        &format!(
            "[mirror]\nname=mirror\nbaseurl=file://{}\nrepo_gpgcheck=1\ngpgcheck=0\ngpgkey=file://{}\n",
            mirror.display(),
            key.display()
        ),
    );
    let refused = tampered.dnf(&["install", "hello-lib"]);
    let said = describe(&refused);
    assert!(!refused.status.success() && said.contains("GPG signature verification error"), "{said}");
    assert!(!tampered.root().join("usr/share/hello-lib/greeting").exists(), "dnf installed from a tampered repo");

    // Deleting a version removes it from the next metadata dnf reads.
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v1/organizations/acme/registries/rpms/packages/{app_id}", server.base_url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let listed = dnf.dnf(&["--refresh", "-q", "repoquery", "--available"]);
    let said = describe(&listed);
    assert!(listed.status.success(), "dnf repoquery failed:\n{said}");
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(stdout.contains("hello-lib-0:1.0-1.noarch") && !stdout.contains("hello-app"), "{said}");
}
