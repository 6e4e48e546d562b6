//! Python registries in-process: the simple API in HTML and JSON by `Accept`, PEP 503 name redirects,
//! hashes, `Requires-Python` and yanked files, and the checks the upload API makes for clients that do not.

use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use packyard_tests::app::TestApp;
use packyard_tests::archives;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const PIP_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn send(app: &TestApp, request: Request<Body>) -> Answer {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>, token: Option<&str>) -> Answer {
    let mut request = Request::get(path).header("host", "packyard.test");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if let Some(token) = token {
        request = request.header("authorization", basic(token));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

fn basic(token: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("__token__:{token}")))
}

/// A distribution as a build backend packs it, for the project and version its file name says: a wheel with
/// its `.dist-info/METADATA`, an sdist with its `PKG-INFO`. `payload`, a module's source, tells files apart.
fn dist(filename: &str, payload: &[u8]) -> Vec<u8> {
    let metadata = |name: &str, version: &str| format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let (name, version) = (parts.next().unwrap(), parts.next().unwrap());
        let info = format!("{name}-{version}.dist-info/METADATA");
        return archives::zip(&[("module.py", payload), (&info, metadata(name, version).as_bytes())]);
    }
    match filename.strip_suffix(".tar.gz").and_then(|stem| stem.rsplit_once('-')) {
        Some((name, version)) => archives::tar_gz(&[
            (&format!("{name}-{version}/module.py"), payload),
            (&format!("{name}-{version}/PKG-INFO"), metadata(name, version).as_bytes()),
        ]),
        None => payload.to_vec(),
    }
}

/// An upload as twine sends it of [`dist`]`(filename, payload)`; `fields` override or add form fields.
pub(crate) async fn upload(app: &TestApp, filename: &str, payload: &[u8], fields: &[(&str, &str)]) -> Answer {
    upload_bytes(app, filename, &dist(filename, payload), fields).await
}

/// An upload of exactly these bytes, with their SHA-256 declared.
async fn upload_bytes(app: &TestApp, filename: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Answer {
    let (stem, _) = filename.split_once('-').unwrap();
    let version = filename[stem.len() + 1..].split(['-']).next().unwrap().trim_end_matches(".tar.gz");
    let sha256 = hex::encode(Sha256::digest(bytes));
    let mut form: Vec<(&str, String)> = vec![
        (":action", "file_upload".into()),
        ("protocol_version", "1".into()),
        ("name", stem.replace('_', "-")),
        ("version", version.into()),
        ("sha256_digest", sha256),
        ("metadata_version", "2.1".into()),
    ];
    for (key, value) in fields {
        form.retain(|(k, _)| k != key);
        form.push((key, (*value).to_owned()));
    }
    let boundary = "pypi-test-boundary";
    let mut body = Vec::new();
    for (key, value) in form {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let request = Request::post("/pypi/acme/py/legacy/")
        .header("host", "packyard.test")
        .header("authorization", basic(&app.admin_token))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.create_registry("py", "python").await;
    app
}

#[tokio::test]
async fn a_release_takes_a_wheel_and_an_sdist_and_the_simple_api_serves_both_ways() {
    let app = app().await;
    let wheel = upload(&app, "My_Pkg-1.0-py3-none-any.whl", b"wheel bytes", &[("requires_python", ">=3.8, <4")]).await;
    assert_eq!(wheel.status, StatusCode::OK, "{}", wheel.text);
    let sdist = upload(&app, "my_pkg-1.0.tar.gz", b"sdist bytes", &[("name", "My.Pkg")]).await;
    assert_eq!(sdist.status, StatusCode::OK, "{}", sdist.text);

    let html = get(&app, "/pypi/acme/py/simple/my-pkg/", None, Some(&app.admin_token)).await;
    assert_eq!(html.status, StatusCode::OK, "{}", html.text);
    assert_eq!(html.headers["content-type"], "text/html");
    assert!(html.headers["vary"].to_str().unwrap().contains("Accept"));
    let wheel_sha = hex::encode(Sha256::digest(dist("My_Pkg-1.0-py3-none-any.whl", b"wheel bytes")));
    assert!(html.text.contains(&format!("#sha256={wheel_sha}\"")), "{}", html.text);
    assert!(html.text.contains("data-requires-python=\"&gt;=3.8, &lt;4\""), "{}", html.text);
    assert!(html.text.contains(">my_pkg-1.0.tar.gz</a>"), "{}", html.text);
    assert!(!html.text.contains("data-yanked"));
    let v1_html =
        get(&app, "/pypi/acme/py/simple/my-pkg/", Some("application/vnd.pypi.simple.v1+html"), Some(&app.admin_token))
            .await;
    assert_eq!(v1_html.headers["content-type"], "application/vnd.pypi.simple.v1+html");

    let page = get(&app, "/pypi/acme/py/simple/my-pkg/", Some(PIP_ACCEPT), Some(&app.admin_token)).await;
    assert_eq!(page.headers["content-type"], "application/vnd.pypi.simple.v1+json");
    let page = page.json();
    assert_eq!(page["name"], "my-pkg");
    assert_eq!(page["versions"], json!(["1.0"]));
    let files = page["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["hashes"]["sha256"], wheel_sha);
    assert_eq!(files[0]["requires-python"], ">=3.8, <4");
    assert_eq!(files[1]["requires-python"], Value::Null);
    assert_eq!(files[0]["yanked"], false);
    // The link redirects to a presigned URL that serves the uploaded bytes.
    let url = files[0]["url"].as_str().unwrap().strip_prefix("http://packyard.test").unwrap().to_owned();
    let download = app.get(&url).await;
    assert_eq!(app.follow(&download).await.1.as_ref(), dist("My_Pkg-1.0-py3-none-any.whl", b"wheel bytes"));

    let index = get(&app, "/pypi/acme/py/simple/", Some(PIP_ACCEPT), Some(&app.admin_token)).await.json();
    assert_eq!(index["projects"], json!([{"name": "my-pkg"}]));
    let refused = get(&app, "/pypi/acme/py/simple/", Some("application/xml"), Some(&app.admin_token)).await;
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn names_that_are_not_normalized_redirect_permanently() {
    let app = app().await;
    upload(&app, "my_pkg-1.0.tar.gz", b"x", &[]).await;
    for path in ["/pypi/acme/py/simple/My_Pkg/", "/pypi/acme/py/simple/my.pkg", "/pypi/acme/py/simple/My-Pkg"] {
        let answer = get(&app, path, None, Some(&app.admin_token)).await;
        assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(answer.headers["location"], "http://packyard.test/pypi/acme/py/simple/my-pkg/", "{path}");
    }
    let missing = get(&app, "/pypi/acme/py/simple/absent/", Some(PIP_ACCEPT), Some(&app.admin_token)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"]["message"].as_str().unwrap().contains("absent"));
}

#[tokio::test]
async fn uploads_that_do_not_add_up_are_refused_and_leave_nothing_behind() {
    let app = app().await;
    let wrong_digest = upload(&app, "pkg-1.0.tar.gz", b"x", &[("sha256_digest", &"0".repeat(64))]).await;
    assert_eq!(wrong_digest.status, StatusCode::BAD_REQUEST);
    assert!(wrong_digest.text.contains("SHA-256"), "{}", wrong_digest.text);
    let other_project = upload(&app, "other-1.0.tar.gz", b"x", &[("name", "pkg")]).await;
    assert_eq!(other_project.status, StatusCode::BAD_REQUEST);
    assert!(other_project.text.contains("is for project"), "{}", other_project.text);
    let other_version = upload(&app, "pkg-1.0-py3-none-any.whl", b"x", &[("version", "2.0")]).await;
    assert_eq!(other_version.status, StatusCode::BAD_REQUEST);
    let not_pep440 = upload(&app, "pkg-1.0.tar.gz", b"x", &[("version", "one")]).await;
    assert_eq!(not_pep440.status, StatusCode::BAD_REQUEST);
    assert!(not_pep440.text.contains("PEP 440"), "{}", not_pep440.text);
    let egg = upload(&app, "pkg-1.0.egg", b"x", &[("version", "1.0")]).await;
    assert_eq!(egg.status, StatusCode::BAD_REQUEST);
    let no_action = upload(&app, "pkg-1.0.tar.gz", b"x", &[(":action", "submit")]).await;
    assert_eq!(no_action.status, StatusCode::BAD_REQUEST);
    let page = get(&app, "/pypi/acme/py/simple/pkg/", None, Some(&app.admin_token)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "a refused upload left a release behind");
}

/// Uploads `bytes` as `filename` (of goodpkg 4.0) and checks it is refused with a 400 whose text, which twine
/// prints, says `why`, and that neither a release nor a stored file is left behind.
async fn assert_refused(filename: &str, bytes: &[u8], why: &str) {
    let app = app().await;
    let refused = upload_bytes(&app, filename, bytes, &[("name", "goodpkg"), ("version", "4.0")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.starts_with(&format!("Invalid distribution file {filename}: ")), "{}", refused.text);
    assert!(refused.text.contains(why), "{}", refused.text);
    let page = get(&app, "/pypi/acme/py/simple/goodpkg/", None, Some(&app.admin_token)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "a refused upload left a release behind");
    assert_eq!(app.stored_objects(), 0, "a refused upload left its file behind");
}

#[tokio::test]
async fn a_wheel_of_random_bytes_is_refused_with_400() {
    let random: Vec<u8> = (0..4096_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_refused("goodpkg-4.0-py3-none-any.whl", &random, "is not a readable zip archive").await;
}

#[tokio::test]
async fn a_truncated_wheel_is_refused_with_400() {
    let wheel = dist("goodpkg-4.0-py3-none-any.whl", b"print('hello')");
    assert_refused("goodpkg-4.0-py3-none-any.whl", &wheel[..wheel.len() - 30], "is not a readable zip archive").await;
}

#[tokio::test]
async fn a_wheel_whose_metadata_names_another_project_is_refused_with_400() {
    let metadata = b"Metadata-Version: 2.1\nName: otherpkg\nVersion: 4.0\n";
    let wheel = archives::zip(&[("goodpkg-4.0.dist-info/METADATA", metadata)]);
    let why = "its METADATA is for otherpkg 4.0, but the upload is for goodpkg 4.0";
    assert_refused("goodpkg-4.0-py3-none-any.whl", &wheel, why).await;
    let elsewhere = archives::zip(&[("otherpkg-4.0.dist-info/METADATA", metadata)]);
    assert_refused("goodpkg-4.0-py3-none-any.whl", &elsewhere, "holds no goodpkg-4.0.dist-info/METADATA").await;
}

#[tokio::test]
async fn an_sdist_without_pkg_info_is_refused_with_400() {
    let sdist = archives::tar_gz(&[("goodpkg-4.0/setup.py", b"")]);
    assert_refused("goodpkg-4.0.tar.gz", &sdist, "the archive holds no goodpkg-4.0/PKG-INFO").await;
}

#[tokio::test]
async fn a_gzip_bomb_sdist_is_refused_with_400_within_the_unpack_budget() {
    let pkg_info = b"Metadata-Version: 2.1\nName: goodpkg\nVersion: 4.0\n";
    let bomb = archives::gzip_bomb(("goodpkg-4.0/PKG-INFO", pkg_info));
    assert_refused("goodpkg-4.0.tar.gz", &bomb, "holds no goodpkg-4.0/PKG-INFO in its first 64 MiB unpacked").await;
}

#[tokio::test]
async fn an_existing_file_is_refused_with_409_and_the_release_keeps_its_files() {
    let app = app().await;
    assert_eq!(upload(&app, "pkg-1.0.tar.gz", b"first", &[]).await.status, StatusCode::OK);
    assert_eq!(upload(&app, "pkg-1.0-py3-none-any.whl", b"wheel", &[]).await.status, StatusCode::OK);
    let again = upload(&app, "pkg-1.0.tar.gz", b"second", &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text.starts_with("File already exists"), "{}", again.text);
    let page = get(&app, "/pypi/acme/py/simple/pkg/", Some(PIP_ACCEPT), Some(&app.admin_token)).await.json();
    assert_eq!(page["files"].as_array().unwrap().len(), 2);
    assert_eq!(page["files"][0]["hashes"]["sha256"], hex::encode(Sha256::digest(dist("pkg-1.0.tar.gz", b"first"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_to_one_release_all_land() {
    let app = std::sync::Arc::new(app().await);
    let names: Vec<String> = (0..8).map(|i| format!("pkg-1.0-cp3{i}-none-any.whl")).collect();
    let uploads: Vec<_> = names
        .iter()
        .map(|name| {
            let (app, name) = (std::sync::Arc::clone(&app), name.clone());
            tokio::spawn(async move { upload(&app, &name, name.as_bytes(), &[]).await })
        })
        .collect();
    for upload in uploads {
        let answer = upload.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let page = get(&app, "/pypi/acme/py/simple/pkg/", Some(PIP_ACCEPT), Some(&app.admin_token)).await.json();
    let mut listed: Vec<&str> =
        page["files"].as_array().unwrap().iter().map(|f| f["filename"].as_str().unwrap()).collect();
    listed.sort_unstable();
    assert_eq!(listed, names.iter().map(String::as_str).collect::<Vec<_>>(), "an upload was lost");
}

#[tokio::test]
async fn a_yanked_release_is_marked_in_both_representations() {
    let app = app().await;
    upload(&app, "pkg-1.0.tar.gz", b"x", &[]).await;
    upload(&app, "pkg-1.1.tar.gz", b"y", &[]).await;
    let yank = app.post("/pypi/acme/py/yank/Pkg/1.0", json!({"reason": "broken <build>"})).await;
    assert_eq!(yank.status, StatusCode::OK, "{:?}", yank.json);
    let html = get(&app, "/pypi/acme/py/simple/pkg/", None, Some(&app.admin_token)).await.text;
    assert!(html.contains("data-yanked=\"broken &lt;build&gt;\">pkg-1.0.tar.gz"), "{html}");
    assert!(!html.contains("data-yanked=\"broken &lt;build&gt;\">pkg-1.1.tar.gz"), "{html}");
    let page = get(&app, "/pypi/acme/py/simple/pkg/", Some(PIP_ACCEPT), Some(&app.admin_token)).await.json();
    assert_eq!(page["files"][0]["yanked"], "broken <build>");
    assert_eq!(page["files"][1]["yanked"], false);
    assert_eq!(app.delete("/pypi/acme/py/yank/pkg/1.0").await.status, StatusCode::OK);
    let page = get(&app, "/pypi/acme/py/simple/pkg/", Some(PIP_ACCEPT), Some(&app.admin_token)).await.json();
    assert_eq!(page["files"][0]["yanked"], false);
    assert_eq!(app.post("/pypi/acme/py/yank/pkg/9.0", json!({})).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_private_registry_challenges_for_basic_auth_and_a_public_one_reads_anonymously() {
    let app = app().await;
    upload(&app, "pkg-1.0.tar.gz", b"x", &[]).await;
    let anonymous = get(&app, "/pypi/acme/py/simple/pkg/", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers["www-authenticate"], "Basic realm=\"packyard\"");
    let wrong = get(&app, "/pypi/acme/py/simple/pkg/", None, Some("pky_wrong")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers["www-authenticate"], "Basic realm=\"packyard\"");
    let made_public = app.patch("/v1/organizations/acme/registries/py", json!({"public": true})).await;
    assert_eq!(made_public.status, StatusCode::OK, "{:?}", made_public.json);
    let anonymous = get(&app, "/pypi/acme/py/simple/pkg/", None, None).await;
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.text);
    let npm = app.create_registry("js", "npm").await;
    assert_eq!(npm["ecosystem"], "npm");
    let wrong_ecosystem = get(&app, "/pypi/acme/js/simple/", None, Some(&app.admin_token)).await;
    assert_eq!(wrong_ecosystem.status, StatusCode::NOT_FOUND);
}
