//! Maven against the dev server: `mvn deploy` of a two-module project (app depends on greet), a refused
//! redeploy of the release, a SNAPSHOT deployed twice, then fresh projects that resolve and build against
//! the repository (`mvn -U package`, a version range, the SNAPSHOT's newest build) and run what they got,
//! and Gradle resolving a dynamic version.
//! Maven's plugins come from Debian's `/usr/share/maven-repo` (scripts/lib/install.sh), used as `central`;
//! nothing here reaches a real Maven repository: the tests run without a network.

use std::path::{Path, PathBuf};

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;

/// The plugins a jar build runs, pinned to the versions Debian ships (`libmaven-*-plugin-java`,
/// `libsurefire-java`), so Maven never looks for others.
const PLUGINS: [(&str, &str); 6] = [
    ("maven-compiler-plugin", "3.10.1"),
    ("maven-resources-plugin", "3.3.0"),
    ("maven-jar-plugin", "3.3.0"),
    ("maven-surefire-plugin", "2.22.3"),
    ("maven-install-plugin", "3.1.0"),
    ("maven-deploy-plugin", "3.0.0"),
];

const DEBIAN_REPO: &str = "/usr/share/maven-repo";

/// A Maven workspace: its settings (Debian's repository as `central`, the token for server `packyard`) and
/// the repository URL.
pub(crate) struct Maven {
    pub(crate) dir: PathBuf,
    pub(crate) url: String,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn plugins() -> String {
    let plugins: String = PLUGINS
        .iter()
        .map(|(id, v)| {
            format!("<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>{id}</artifactId><version>{v}</version></plugin>")
        })
        .collect();
    format!("<build><plugins>{plugins}</plugins></build>")
}

/// `settings.xml` with `server` as the credentials Maven sends to the repository with id `packyard`.
fn settings(local: &Path, server: &str) -> String {
    let repo = |kind: &str| {
        format!(
            "<{kind}><id>central</id><url>file://{DEBIAN_REPO}</url><releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots></{kind}>"
        )
    };
    format!(
        "<settings><localRepository>{}</localRepository><servers><server><id>packyard</id>{server}</server></servers>\
         <profiles><profile><id>debian</id><repositories>{}</repositories><pluginRepositories>{}</pluginRepositories></profile></profiles>\
         <activeProfiles><activeProfile>debian</activeProfile></activeProfiles></settings>",
        local.display(),
        repo("repository"),
        repo("pluginRepository")
    )
}

impl Maven {
    pub(crate) fn new(dir: &Path, base_url: &str, token: &str) -> Self {
        let url = format!("{base_url}/maven/acme/jv");
        // As settings.xml documents it: the token is the password (Basic after the server's challenge).
        let basic = format!("<username>deployer</username><password>{token}</password>");
        write(&dir.join("settings.xml"), &settings(&dir.join("m2-deploy"), &basic));
        // A bearer header instead, sent with every request.
        let bearer = format!(
            "<configuration><httpHeaders><property><name>Authorization</name><value>Bearer {token}</value></property></httpHeaders></configuration>"
        );
        write(&dir.join("settings-bearer.xml"), &settings(&dir.join("m2-bearer"), &bearer));
        Self { dir: dir.to_owned(), url }
    }

    /// The two-module project: `com.acme:greet` and `com.acme:app`, which calls it, at `version`.
    pub(crate) fn project(&self, name: &str, version: &str, greeting: &str) -> PathBuf {
        let root = self.dir.join(name);
        let url = &self.url;
        write(
            &root.join("pom.xml"),
            &format!(
                r#"<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>com.acme</groupId><artifactId>parent</artifactId><version>{version}</version><packaging>pom</packaging>
<modules><module>greet</module><module>app</module></modules>
<properties><maven.compiler.release>11</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
<distributionManagement><repository><id>packyard</id><url>{url}</url></repository><snapshotRepository><id>packyard</id><url>{url}</url></snapshotRepository></distributionManagement>
{}</project>"#,
                plugins()
            ),
        );
        let module = |artifact: &str, dependencies: &str| {
            format!(
                r#"<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<parent><groupId>com.acme</groupId><artifactId>parent</artifactId><version>{version}</version></parent>
<artifactId>{artifact}</artifactId>{dependencies}</project>"#
            )
        };
        write(&root.join("greet/pom.xml"), &module("greet", ""));
        let on_greet = format!(
            "<dependencies><dependency><groupId>com.acme</groupId><artifactId>greet</artifactId><version>{version}</version></dependency></dependencies>"
        );
        write(&root.join("app/pom.xml"), &module("app", &on_greet));
        write(
            &root.join("greet/src/main/java/acme/greet/Greet.java"),
            &format!(
                "package acme.greet; public class Greet {{ public static String greet() {{ return \"{greeting}\"; }} }}"
            ),
        );
        write(
            &root.join("app/src/main/java/acme/app/App.java"),
            "package acme.app; public class App { public static String run() { return acme.greet.Greet.greet() + \" via app\"; } }",
        );
        root
    }

    /// A project of another team that depends on `artifact` at `version` (a range, a SNAPSHOT) from the
    /// repository and prints what it says.
    pub(crate) fn consumer(&self, name: &str, artifact: &str, version: &str) -> PathBuf {
        let root = self.dir.join(name);
        let url = &self.url;
        // With snapshots enabled a range would take a SNAPSHOT too, as Maven's ranges include them.
        let snapshots = version.ends_with("-SNAPSHOT");
        write(
            &root.join("pom.xml"),
            &format!(
                r#"<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>com.other</groupId><artifactId>{name}</artifactId><version>1.0</version>
<properties><maven.compiler.release>11</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
<repositories><repository><id>packyard</id><url>{url}</url>
<releases><checksumPolicy>fail</checksumPolicy></releases><snapshots><enabled>{snapshots}</enabled><checksumPolicy>fail</checksumPolicy></snapshots></repository></repositories>
<dependencies><dependency><groupId>com.acme</groupId><artifactId>{artifact}</artifactId><version>{version}</version></dependency></dependencies>
{}</project>"#,
                plugins()
            ),
        );
        let call = if artifact == "app" { "acme.app.App.run()" } else { "acme.greet.Greet.greet()" };
        write(
            &root.join("src/main/java/use/Use.java"),
            &format!(
                "package use; public class Use {{ public static void main(String[] a) {{ System.out.println({call}); }} }}"
            ),
        );
        root
    }

    /// `mvn -B` in `project` with `settings` (a file in the workspace) and `args`.
    pub(crate) fn mvn(&self, project: &Path, settings: &str, args: &[&str]) -> std::process::Output {
        let settings = self.dir.join(settings);
        let mut all = vec!["-B", "-ntp", "-s", settings.to_str().unwrap()];
        all.extend(args);
        run(project, "mvn", &all, &[("MAVEN_OPTS", "-Xmx256m"), ("HOME", self.dir.to_str().unwrap())])
    }
}

/// Every jar a resolved project's local repository holds, for a classpath.
fn jars(local: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "jar") && path.to_string_lossy().contains("/com/acme/") {
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(local, &mut out);
    out
}

/// Runs the consumer's jar with the `com.acme` jars Maven resolved into `local`.
fn run_consumer(project: &Path, local: &Path) -> String {
    let mut classpath = vec![project.join("target/classes").to_string_lossy().into_owned()];
    classpath.extend(jars(local));
    ok(project, "java", &["-cp", &classpath.join(":"), "use.Use"], &[]).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mvn_deploys_a_two_module_project_and_fresh_projects_resolve_and_build_against_it() {
    let server = DevServer::start();
    server.create_registry("jv", "maven").await;
    let work = TempDir::new("packyard-maven");
    let maven = Maven::new(&work.0, &server.base_url, &server.admin_token);

    // mvn deploy of the release: the parent pom, then greet, then app, each with its checksum files.
    let release = maven.project("release", "1.0.0", "hello from greet");
    let deployed = maven.mvn(&release, "settings.xml", &["deploy"]);
    assert!(deployed.status.success(), "mvn deploy failed:\n{}", describe(&deployed));

    // A release is immutable: deploying it again is refused, and Maven says why.
    let again = maven.mvn(&release, "settings.xml", &["deploy"]);
    assert!(!again.status.success(), "a release redeploy succeeded:\n{}", describe(&again));
    let said = describe(&again);
    assert!(said.contains("409") && said.contains("release versions are immutable"), "{said}");

    // A SNAPSHOT deployed twice: the second build is the one that resolves.
    for (build, greeting) in ["first snapshot", "second snapshot"].into_iter().enumerate() {
        let snapshot = maven.project(&format!("snapshot-{build}"), "1.1.0-SNAPSHOT", greeting);
        let deployed = maven.mvn(&snapshot, "settings.xml", &["deploy"]);
        assert!(deployed.status.success(), "mvn deploy of a SNAPSHOT failed:\n{}", describe(&deployed));
        std::fs::remove_dir_all(&snapshot).unwrap();
    }

    // A fresh project (and a fresh local repository) resolves app through a version range, greet with it,
    // and builds; Basic credentials from settings.xml after the server's challenge, checksums enforced.
    let consumer = maven.consumer("consumer", "app", "[1.0,2.0)");
    let local = work.0.join("m2-consumer");
    let repo_local = format!("-Dmaven.repo.local={}", local.display());
    let built = maven.mvn(&consumer, "settings.xml", &["-U", &repo_local, "package"]);
    assert!(built.status.success(), "mvn -U package failed:\n{}", describe(&built));
    assert_eq!(run_consumer(&consumer, &local), "hello from greet via app");

    // Another, with a bearer header instead, depends on the SNAPSHOT: it gets the newest build.
    let on_snapshot = maven.consumer("on-snapshot", "greet", "1.1.0-SNAPSHOT");
    let built = maven.mvn(&on_snapshot, "settings-bearer.xml", &["-U", "package"]);
    assert!(built.status.success(), "mvn -U package of a SNAPSHOT failed:\n{}", describe(&built));
    assert_eq!(run_consumer(&on_snapshot, &work.0.join("m2-bearer")), "second snapshot");

    // Gradle (Debian's 4.4) resolves a dynamic version through the rendered metadata, greet coming along.
    let gradle = work.0.join("gradle");
    write(
        &gradle.join("build.gradle"),
        &format!(
            "apply plugin: 'java'\nrepositories {{ maven {{ url '{}'; credentials {{ username 'deployer'; password '{}' }} }} }}\n\
             dependencies {{ compile 'com.acme:app:1.0.+' }}\n\
             task resolve {{ doLast {{ configurations.compile.files.each {{ println \"resolved \" + it.name }} }} }}\n",
            maven.url, server.admin_token
        ),
    );
    let home = work.0.join("gradle-home");
    let resolved = ok(&gradle, "gradle", &["--no-daemon", "-q", "-g", home.to_str().unwrap(), "resolve"], &[]);
    assert!(resolved.contains("resolved app-1.0.0.jar") && resolved.contains("resolved greet-1.0.0.jar"), "{resolved}");
}
