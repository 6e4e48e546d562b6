"""Writes the committed seed corpus, fuzz/corpus/<target>/: a few small valid inputs per target, the shapes
real clients send, for libFuzzer to mutate from. Deterministic; rerun with `python3 fuzz/seed_corpus.py`."""
import base64, gzip, hashlib, io, json, os, struct, tarfile, zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def tar_gz(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode())


metadata = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: a demo\n\nThe description.\n"
cargo_toml = b'[package]\nedition = "2021"\nname = "demo"\nversion = "0.1.0"\n'
package_json = json.dumps({"name": "demo", "version": "1.0.0", "main": "index.js"}).encode()
crate = tar_gz({"demo-0.1.0/Cargo.toml": cargo_toml, "demo-0.1.0/src/lib.rs": b"pub fn demo() {}\n"})
tarball = tar_gz({"package/package.json": package_json, "package/index.js": b"module.exports = 1;\n"})

write("archive", "wheel", zip_of({"demo/__init__.py": b"", "demo-1.0.dist-info/METADATA": metadata,
                                   "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nTag: py3-none-any\n"}))
write("archive", "sdist.tar.gz", tar_gz({"demo-1.0/setup.py": b"", "demo-1.0/PKG-INFO": metadata}))
write("archive", "sdist.zip", zip_of({"demo-1.0/PKG-INFO": metadata}))
write("archive", "crate", crate)
write("archive", "npm.tgz", tarball)

digests = {"shasum": hashlib.sha1(tarball).hexdigest(),
           "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()}
document = {"_id": "demo", "name": "demo", "description": "a demo", "dist-tags": {"latest": "1.0.0"},
            "versions": {"1.0.0": {"name": "demo", "version": "1.0.0", "main": "index.js", "dist": digests}},
            "_attachments": {"demo-1.0.0.tgz": {"content_type": "application/octet-stream",
                                                "data": base64.b64encode(tarball).decode(), "length": len(tarball)}}}
write("npm_publish", "publish.json", json.dumps(document))
write("npm_publish", "not-a-tarball.json", json.dumps({**document, "_attachments": {"x.tgz": {"data": "eA=="}}}))

publish = {"name": "demo", "vers": "0.1.0", "deps": [{"name": "serde", "version_req": "^1", "features": ["derive"],
           "optional": False, "default_features": True, "target": None, "kind": "normal",
           "registry": None, "explicit_name_in_toml": "s"}], "features": {"default": [], "json": ["dep:s"]},
           "authors": [], "description": "a demo", "license": "MIT", "links": None, "rust_version": "1.70"}
body = json.dumps(publish).encode()
write("cargo_publish", "publish", struct.pack("<I", len(body)) + body + struct.pack("<I", len(crate)) + crate)

write("oidc_policy", "github.yaml", """- iss: https://token.actions.githubusercontent.com
  scopes: [read_packages, write_packages]
  claims:
    repository: acme/app
    ref: {matches: "refs/heads/*"}
    run_number: {not_in: [1, 2]}
""")
write("oidc_policy", "gitlab.json", json.dumps([{"iss": "https://gitlab.com", "scopes": ["read_packages"],
                                                  "claims": {"project_path": {"in": ["acme/app"]}, "fork": False}}]))

write("storage_key", "package", "packages/01J0000000000000000000000/01J0000000000000000000001/demo-1.0.tar.gz")
write("storage_key", "scoped", "packages/r/f/@acme+ui-1.0.0.tgz")

for name, text in {"python": "Zope.Interface", "pep440": "1!2.0rc1.post3.dev4+ubuntu-1", "npm": "@acme/left-pad",
                   "semver": "1.2.3-rc.1+build.5", "wheel": "My_Pkg-1.0-1-py3-none-any.whl",
                   "file": "tool-1.2.3.tar.gz", "crate": "serde_json"}.items():
    write("names", name, text)
