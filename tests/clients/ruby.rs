//! gem and bundler against the dev server: `gem build` two gems (one depends on the other), `gem push` them
//! with `GEM_HOST_API_KEY` (a re-push is refused), `gem install` into a fresh GEM_HOME and require them,
//! `bundle install` from a Gemfile whose source carries the token as Basic credentials, then `gem yank` and a
//! fresh `bundle lock` that no longer takes the yanked version. Nothing here may reach rubygems.org: the
//! tests run without a network; Ruby, gem and bundler are Debian's (`scripts/lib/install.sh`).

use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;

use super::python::as_refs;

/// A gem's source: its gemspec and one file under `lib/`.
fn write_gem(dir: &Path, name: &str, version: &str, dependency: Option<&str>, source: &str) {
    let root = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(root.join("lib")).unwrap();
    let file = name.replace('-', "_");
    let dependency = dependency.map(|dep| format!("  s.add_dependency {dep}\n")).unwrap_or_default();
    let gemspec = format!(
        "Gem::Specification.new do |s|\n  s.name = {name:?}\n  s.version = {version:?}\n  s.summary = \"{name} for tests\"\n  s.authors = [\"Acme\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/{file}.rb\"]\n{dependency}end\n"
    );
    std::fs::write(root.join(format!("{name}.gemspec")), gemspec).unwrap();
    std::fs::write(root.join(format!("lib/{file}.rb")), source).unwrap();
}

/// Everything gem and bundler might read from the machine, pointed into the work directory.
fn ruby_env(work: &Path) -> Vec<(String, String)> {
    let at = |dir: &str| work.join(dir).to_str().unwrap().to_owned();
    vec![
        ("HOME".into(), at("")),
        ("GEM_HOME".into(), at("gem-home")),
        ("GEM_PATH".into(), at("gem-home")),
        ("GEM_SPEC_CACHE".into(), at("spec-cache")),
        ("BUNDLE_USER_HOME".into(), at("bundle-home")),
        ("BUNDLE_SILENCE_ROOT_WARNING".into(), "1".into()),
        ("BUNDLE_PATH".into(), at("bundle-path")),
        ("XDG_CONFIG_HOME".into(), at("config")),
    ]
}

/// Runs bundler in a fresh project directory holding `gemfile`.
fn bundle(work: &Path, project: &str, gemfile: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = work.join(project);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Gemfile"), gemfile).unwrap();
    run(&dir, "bundle", args, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gem_pushes_and_gem_and_bundler_install_from_the_dev_server() {
    let server = DevServer::start();
    server.create_registry("gems", "ruby").await;
    let work = TempDir::new("packyard-ruby");
    let env = ruby_env(&work.0);
    let mut env = as_refs(&env);
    let host = format!("{}/ruby/acme/gems", server.base_url);
    let greet = |version: &str, says: &str| {
        write_gem(
            &work.0,
            "acme-greet",
            version,
            None,
            &format!("module AcmeGreet\n  def self.greet\n    {says:?}\n  end\nend\n"),
        );
    };
    greet("1.0.0", "hello from acme-greet 1.0");
    greet("1.1.0", "hello from acme-greet 1.1");
    let app = "require \"acme_greet\"\nmodule AcmeApp\n  def self.main\n    AcmeGreet.greet + \" via acme-app\"\n  end\nend\n";
    write_gem(&work.0, "acme-app", "1.0.0", Some("\"acme-greet\", \"~> 1.0\""), app);
    for (name, version) in [("acme-greet", "1.0.0"), ("acme-greet", "1.1.0"), ("acme-app", "1.0.0")] {
        ok(&work.0.join(format!("{name}-{version}")), "gem", &["build", &format!("{name}.gemspec")], &env);
    }

    // gem push, the token in GEM_HOST_API_KEY; pushing a version again is refused.
    let push_env: Vec<(&str, &str)> =
        env.iter().copied().chain([("GEM_HOST_API_KEY", server.admin_token.as_str())]).collect();
    let push = |name: &str, version: &str| {
        let gem = format!("{name}-{version}/{name}-{version}.gem");
        run(&work.0, "gem", &["push", "--host", &host, &gem], &push_env)
    };
    for (name, version) in [("acme-greet", "1.0.0"), ("acme-greet", "1.1.0"), ("acme-app", "1.0.0")] {
        let pushed = push(name, version);
        assert!(pushed.status.success(), "gem push failed:\n{}", describe(&pushed));
        assert!(describe(&pushed).contains(&format!("Successfully registered gem: {name} ({version})")));
    }
    let again = push("acme-greet", "1.0.0");
    assert!(!again.status.success(), "a re-push succeeded:\n{}", describe(&again));
    assert!(describe(&again).contains("Repushing of gem versions is not allowed"), "{}", describe(&again));

    // gem install into a fresh GEM_HOME, from our source only, with the token as Basic credentials.
    let source = format!("{}/", host.replace("http://", &format!("http://token:{}@", server.admin_token)));
    let install = ["install", "acme-app", "--clear-sources", "--source", &source, "--no-document"];
    let installed = ok(&work.0, "gem", &install, &env);
    assert!(installed.contains("Successfully installed acme-greet-1.1.0"), "{installed}");
    let said = ok(&work.0, "ruby", &["-e", "require 'acme_app'; puts AcmeApp.main"], &env);
    assert_eq!(said.trim(), "hello from acme-greet 1.1 via acme-app");

    // bundle install from a Gemfile with our source: the dependency graph resolves from the compact index.
    let gemfile = format!("source {source:?}\ngem \"acme-app\"\n");
    let bundled = bundle(&work.0, "bundled", &gemfile, &["install"], &env);
    assert!(bundled.status.success(), "bundle install failed:\n{}", describe(&bundled));
    let lock = std::fs::read_to_string(work.0.join("bundled/Gemfile.lock")).unwrap();
    assert!(lock.contains("    acme-greet (1.1.0)") && lock.contains("      acme-greet (~> 1.0)"), "{lock}");
    let said =
        ok(&work.0.join("bundled"), "bundle", &["exec", "ruby", "-e", "require 'acme_app'; puts AcmeApp.main"], &env);
    assert_eq!(said.trim(), "hello from acme-greet 1.1 via acme-app");

    // gem yank; a fresh lock (bundler fetches only the end of /versions, `206`) takes 1.0.0, and a
    // Gemfile that asks for the yanked version cannot be locked at all.
    let yanked = run(&work.0, "gem", &["yank", "acme-greet", "-v", "1.1.0", "--host", &host], &push_env);
    assert!(yanked.status.success() && describe(&yanked).contains("Successfully deleted"), "{}", describe(&yanked));
    // Fresh: without the gems installed above, which bundler would count as a source of their own.
    let fresh = work.0.join("fresh-gem-home");
    let fresh = fresh.to_str().unwrap();
    env.retain(|(name, _)| !["BUNDLE_PATH", "GEM_HOME", "GEM_PATH"].contains(name));
    env.extend([("GEM_HOME", fresh), ("GEM_PATH", fresh)]);
    let relocked = bundle(&work.0, "relocked", &gemfile, &["lock", "--verbose"], &env);
    assert!(relocked.status.success(), "bundle lock failed:\n{}", describe(&relocked));
    let said = describe(&relocked);
    let ranged = said.lines().any(|line| line.starts_with("HTTP 206 Partial Content") && line.ends_with("/versions"));
    assert!(ranged, "bundler did not update its /versions with a Range request:\n{said}");
    let lock = std::fs::read_to_string(work.0.join("relocked/Gemfile.lock")).unwrap();
    assert!(lock.contains("    acme-greet (1.0.0)") && !lock.contains("1.1.0"), "{lock}");
    let pinned = format!("{gemfile}gem \"acme-greet\", \"1.1.0\"\n");
    let refused = bundle(&work.0, "pinned", &pinned, &["lock"], &env);
    assert!(!refused.status.success(), "the yanked version was locked:\n{}", describe(&refused));
    assert!(describe(&refused).contains("Could not find gem 'acme-greet (= 1.1.0)'"), "{}", describe(&refused));
}
