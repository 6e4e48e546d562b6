//! twine, pip and uv against the dev server: upload a wheel and an sdist of two projects (one depends on the
//! other), refuse a re-upload, yank a newer release, then install with `pip install` and `uv pip install` into
//! fresh virtualenvs with only our index, and import what they installed (never the yanked release). Nothing
//! here may reach pypi.org: the tests run without a network, and twine and uv come from `scripts/lib/install.sh`
//! (PACKYARD_TWINE, PACKYARD_UV).

use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::{describe, ok, run};
use packyard_tests::devserver::DevServer;
use serde_json::json;

/// Writes a wheel and an sdist of each project by hand: `python -m build` would need the network for its
/// isolated build environment. The files are what setuptools would make, down to the wheel's RECORD.
const MAKE_DISTRIBUTIONS: &str = r#"
import base64, hashlib, io, os, sys, tarfile, zipfile
out = sys.argv[1]
projects = [
    ("acme-greet", "1.0.0", "def greet():\n    return 'hello from acme-greet'\n", []),
    ("acme-greet", "1.1.0", "def greet():\n    return 'the yanked acme-greet'\n", []),
    ("acme-app", "1.0.0", "from acme_greet import greet\n\ndef main():\n    return greet() + ' via acme-app'\n", ["acme-greet>=1.0"]),
]
for name, version, source, requires in projects:
    dist = name.replace("-", "_")
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} for tests\nRequires-Python: >=3.8\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    info = f"{dist}-{version}.dist-info"
    files = {f"{dist}/__init__.py": source, f"{info}/METADATA": metadata,
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: packyard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    with zipfile.ZipFile(os.path.join(out, f"{dist}-{version}-py3-none-any.whl"), "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        wheel.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    root = f"{dist}-{version}"
    with tarfile.open(os.path.join(out, f"{root}.tar.gz"), "w:gz") as sdist:
        for path, text in {"PKG-INFO": metadata, f"{dist}/__init__.py": source}.items():
            data = text.encode()
            entry = tarfile.TarInfo(f"{root}/{path}")
            entry.size = len(data)
            sdist.addfile(entry, io.BytesIO(data))
"#;

pub(crate) fn tool(variable: &str, fallback: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| fallback.to_owned())
}

/// The real interpreter behind `python3` (not a pyenv shim), for `uv venv --python`.
pub(crate) fn python(work: &Path) -> String {
    ok(work, "python3", &["-c", "import sys; print(sys.executable)"], &[]).trim().to_owned()
}

/// Everything a Python client might read from the machine, pointed into the work directory.
pub(crate) fn quiet_env(work: &Path) -> Vec<(String, String)> {
    let at = |dir: &str| work.join(dir).to_str().unwrap().to_owned();
    vec![
        ("PIP_CONFIG_FILE".into(), "/dev/null".into()),
        ("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()),
        ("PIP_NO_INPUT".into(), "1".into()),
        ("PYTHON_KEYRING_BACKEND".into(), "keyring.backends.null.Keyring".into()),
        ("UV_CACHE_DIR".into(), at("uv-cache")),
        ("UV_PYTHON_DOWNLOADS".into(), "never".into()),
        ("UV_NO_CONFIG".into(), "1".into()),
        ("XDG_CONFIG_HOME".into(), at("config")),
        ("HOME".into(), work.to_str().unwrap().to_owned()),
    ]
}

pub(crate) fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twine_uploads_and_pip_and_uv_install_from_the_dev_server() {
    let server = DevServer::start();
    server.create_registry("py", "python").await;
    let work = TempDir::new("packyard-python");
    let dists = work.0.join("dist");
    std::fs::create_dir_all(&dists).unwrap();
    let python = python(&work.0);
    ok(&work.0, &python, &["-c", MAKE_DISTRIBUTIONS, dists.to_str().unwrap()], &[]);
    let env = quiet_env(&work.0);
    let env = as_refs(&env);
    let token = &server.admin_token;
    let base = format!("{}/pypi/acme/py", server.base_url);

    // twine uploads both projects' wheel and sdist, then a re-upload of one file is refused.
    let twine = tool("PACKYARD_TWINE", "twine");
    let upload = |files: &[&str]| {
        let mut args = vec!["upload", "--non-interactive", "--disable-progress-bar"];
        let url = format!("{base}/legacy/");
        args.extend(["--repository-url", &url, "-u", "__token__", "-p", token]);
        args.extend(files);
        run(&dists, &twine, &args, &env)
    };
    let all = [
        "acme_greet-1.0.0-py3-none-any.whl",
        "acme_greet-1.0.0.tar.gz",
        "acme_greet-1.1.0-py3-none-any.whl",
        "acme_app-1.0.0-py3-none-any.whl",
        "acme_app-1.0.0.tar.gz",
    ];
    let uploaded = upload(&all);
    assert!(uploaded.status.success(), "twine upload failed:\n{}", describe(&uploaded));
    let again = upload(&["acme_greet-1.0.0.tar.gz"]);
    assert!(!again.status.success(), "a re-upload succeeded:\n{}", describe(&again));
    assert!(
        describe(&again).contains("409") && describe(&again).contains("File already exists"),
        "{}",
        describe(&again)
    );

    // acme-greet 1.1.0 is yanked (PEP 592): both installers must resolve acme-greet>=1.0 to 1.0.0.
    let yanked = reqwest::Client::new()
        .post(format!("{base}/yank/acme-greet/1.1.0"))
        .bearer_auth(token)
        .json(&json!({"reason": "greets wrongly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(yanked.status(), 200);

    // pip, with the token in the index URL, into a fresh virtualenv: acme-app pulls acme-greet from us too.
    let index =
        format!("{}/pypi/acme/py/simple/", server.base_url.replace("http://", &format!("http://__token__:{token}@")));
    let pip_venv = work.0.join("pip-venv");
    ok(&work.0, &python, &["-m", "venv", pip_venv.to_str().unwrap()], &env);
    let pip = pip_venv.join("bin/pip");
    let installed =
        ok(&work.0, pip.to_str().unwrap(), &["install", "--no-cache-dir", "--index-url", &index, "acme-app"], &env);
    assert!(installed.contains("acme-greet") || installed.contains("acme_greet"), "{installed}");
    let said = ok(
        &work.0,
        pip_venv.join("bin/python").to_str().unwrap(),
        &["-c", "import acme_app; print(acme_app.main())"],
        &env,
    );
    assert_eq!(said.trim(), "hello from acme-greet via acme-app");

    // uv, the same way, into a virtualenv of its own.
    let uv = tool("PACKYARD_UV", "uv");
    let uv_venv = work.0.join("uv-venv");
    ok(&work.0, &uv, &["venv", "--python", &python, uv_venv.to_str().unwrap()], &env);
    let uv_python = uv_venv.join("bin/python");
    ok(
        &work.0,
        &uv,
        &["pip", "install", "--python", uv_python.to_str().unwrap(), "--index-url", &index, "acme-app"],
        &env,
    );
    let said = ok(&work.0, uv_python.to_str().unwrap(), &["-c", "import acme_app; print(acme_app.main())"], &env);
    assert_eq!(said.trim(), "hello from acme-greet via acme-app");

    // Without credentials pip meets the Basic challenge and asks for a user name (or its keyring) rather than
    // failing on a bare 401; with no terminal to answer it, it gives up.
    let mut prompting = env.clone();
    prompting.retain(|(key, _)| *key != "PIP_NO_INPUT");
    prompting.push(("PIP_NO_INPUT", "0"));
    let simple = format!("{base}/simple/");
    let anonymous = run(
        &work.0,
        pip.to_str().unwrap(),
        &["download", "--no-deps", "-d", "anon", "--index-url", &simple, "acme-greet"],
        &prompting,
    );
    assert!(!anonymous.status.success(), "an anonymous download succeeded:\n{}", describe(&anonymous));
    let host = server.base_url.trim_start_matches("http://");
    assert!(describe(&anonymous).contains(&format!("User for {host}")), "{}", describe(&anonymous));
}
