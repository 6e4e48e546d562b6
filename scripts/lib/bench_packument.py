"""The measuring half of scripts/bench-packument: seeds one package per size into each server, times GETs of its
npm packument (full and abbreviated: Packyard beside Verdaccio) and its PyPI simple page (HTML and PEP 691 JSON:
Packyard beside pypiserver), reads the servers' resident memory, and writes the Markdown report.

Seeding: Packyard gets every version over HTTP (npm's publish document, the upload form twine sends), eight
requests at a time. Verdaccio gets the first ten versions of each package over HTTP, then the rest written into
the package.json it made (its on-disk store, which it reads on every GET), cloned from its own tenth version;
publishing 5,000 versions one PUT at a time takes Verdaccio minutes, as it rewrites that whole file per version.
pypiserver serves a folder, so its files are copied in (as its own documentation says to publish)."""

import argparse
import base64
import concurrent.futures
import copy
import datetime
import gzip
import hashlib
import http.client
import io
import json
import os
import statistics
import sys
import tarfile
import threading
import time
import urllib.parse

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
PEP_691 = "application/vnd.pypi.simple.v1+json"
HTML = "text/html"
LAMBDA_LIMIT = 6 * 1024 * 1024
VERDACCIO_BY_HTTP = 10
PARALLEL = 8


def npm_tarball(name, version):
    manifest = json.dumps({"name": name, "version": version}).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return gzip.compress(raw.getvalue(), mtime=0)


def npm_document(name, version, base):
    data = npm_tarball(name, version)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    manifest = {
        "name": name,
        "version": version,
        "description": f"{name}, one of many versions",
        "main": "index.js",
        "license": "MIT",
        "dependencies": {"left-pad": "^1.3.0", "lodash": "^4.17.21", "semver": "^7.5.0"},
        "scripts": {"test": "node test.js"},
        "readme": f"# {name}\n\nA package published many times for the packument benchmark.\n",
        "dist": {
            "shasum": hashlib.sha1(data).hexdigest(),
            "integrity": integrity,
            "tarball": f"{base}/{name}/-/{name}-{version}.tgz",
        },
    }
    return {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: manifest},
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
                "length": len(data),
            }
        },
    }


def sdist(project, version):
    """A minimal sdist, as `python -m build --sdist` lays it out: PKG-INFO and one module."""
    stem = f"{project}-{version}"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path, text in (
            (f"{stem}/PKG-INFO", f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\nRequires-Python: >=3.8\n"),
            (f"{stem}/module.py", f"VERSION = {version!r}\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return f"{stem}.tar.gz", raw.getvalue()


def upload_form(project, version, filename, data):
    boundary = "bench-packument-boundary"
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": project,
        "version": version,
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "metadata_version": "2.1",
        "requires_python": ">=3.8",
    }
    body = bytearray()
    for key, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


class Server:
    """One server: a kept-alive connection per thread, its process for memory readings."""

    def __init__(self, name, base, pid, authorization=None):
        self.name, self.base, self.pid, self.authorization = name, base, int(pid), authorization
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.path = url.hostname, url.port, url.path
        self.local = threading.local()

    def connection(self):
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        return self.local.connection

    def request(self, method, path, body=None, accept="application/json", content_type="application/json"):
        headers = {"Accept": accept}
        if self.authorization:
            headers["Authorization"] = self.authorization
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            response = self.send(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # A kept-alive connection left idle while another server was seeded may have been closed (Node's
            # keep-alive timeout is 5 s): connect again, once.
            self.local.connection.close()
            del self.local.connection
            response = self.send(method, path, body, headers)
        data = response.read()
        if response.status >= 300:
            sys.exit(f"{self.name}: {method} {path} answered {response.status}: {data[:300]!r}")
        return data

    def send(self, method, path, body, headers):
        connection = self.connection()
        connection.request(method, self.path + path, body=body, headers=headers)
        return connection.getresponse()

    def rss_mib(self, field="VmRSS"):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def in_parallel(work, items):
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        for _ in pool.map(work, items):
            pass


def seed_npm(packyard, verdaccio, storage, name, size):
    versions = [f"1.0.{i}" for i in range(size)]
    started = time.perf_counter()
    in_parallel(lambda v: packyard.request("PUT", f"/{name}", json.dumps(npm_document(name, v, packyard.base))), versions)
    packyard_s = time.perf_counter() - started
    for version in versions[:VERDACCIO_BY_HTTP]:
        verdaccio.request("PUT", f"/{name}", json.dumps(npm_document(name, version, verdaccio.base)))
    if size > VERDACCIO_BY_HTTP:
        path = os.path.join(storage, name, "package.json")
        with open(path) as file:
            package = json.load(file)
        model_version = versions[VERDACCIO_BY_HTTP - 1]
        model = package["versions"][model_version]
        for version in versions[VERDACCIO_BY_HTTP:]:
            # Text replacement keeps every field Verdaccio wrote, with this version's number, file name and URL.
            package["versions"][version] = json.loads(json.dumps(model).replace(model_version, version))
            package["time"][version] = package["time"][model_version]
            attachment = copy.deepcopy(package["_attachments"][f"{name}-{model_version}.tgz"])
            attachment["version"] = version
            package["_attachments"][f"{name}-{version}.tgz"] = attachment
        package["dist-tags"]["latest"] = versions[-1]
        with open(path + ".new", "w") as file:
            json.dump(package, file)
        os.replace(path + ".new", path)
    return packyard_s


def seed_pypi(packyard, folder, project, size):
    files = [(f"1.0.{i}",) + sdist(project, f"1.0.{i}") for i in range(size)]

    def upload(file):
        version, filename, data = file
        body, content_type = upload_form(project, version, filename, data)
        packyard.request("POST", "/legacy/", body, content_type=content_type)

    started = time.perf_counter()
    in_parallel(upload, files)
    packyard_s = time.perf_counter() - started
    for _, filename, data in files:
        with open(os.path.join(folder, filename), "wb") as file:
            file.write(data)
    return packyard_s


def count_npm(data):
    return len(json.loads(data)["versions"])


def count_pypi(data):
    text = data.decode()
    return len(json.loads(text)["files"]) if text.startswith("{") else text.count("<a ")


def measure(servers, path, accept, gets, size, count):
    """Median milliseconds and body bytes per server, GETs taking turns so a change in load falls on all alike."""
    times, lengths = {s.name: [] for s in servers}, {}
    for _ in range(gets):
        for server in servers:
            start = time.perf_counter()
            data = server.request("GET", path(server), accept=accept)
            times[server.name].append((time.perf_counter() - start) * 1000)
            if count(data) != size:
                sys.exit(f"{server.name}: {path(server)} lists {count(data)} versions, not {size}")
            lengths[server.name] = len(data)
            # What a Lambda function returns is the body as a JSON string inside its response: the 6 MB limit
            # applies to that, quotes escaped.
            lengths[server.name + " in Lambda"] = len(json.dumps(data.decode()))
    return {name: statistics.median(t) for name, t in times.items()}, lengths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--gets", type=int, required=True)
    parser.add_argument("--packyard", nargs=3, metavar=("BASE", "TOKEN", "PID"), required=True)
    parser.add_argument("--verdaccio", nargs=4, metavar=("BASE", "TOKEN", "PID", "STORAGE"), required=True)
    parser.add_argument("--pypiserver", nargs=3, metavar=("BASE", "PID", "FOLDER"), required=True)
    parser.add_argument("--about", nargs=4, metavar=("CORES", "COMMIT", "VERDACCIO", "BUILD"), required=True)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split()]
    base, token, pid = args.packyard
    packyard_npm = Server("packyard", f"{base}/npm/acme/js", pid, f"Bearer {token}")
    basic = base64.b64encode(f"__token__:{token}".encode()).decode()
    packyard_pypi = Server("packyard", f"{base}/pypi/acme/py", pid, f"Basic {basic}")
    verdaccio = Server("verdaccio", args.verdaccio[0], args.verdaccio[2], f"Bearer {args.verdaccio[1]}")
    pypiserver = Server("pypiserver", args.pypiserver[0], args.pypiserver[1])
    everyone = (packyard_npm, verdaccio, pypiserver)
    memory = {s.name: {"idle": s.rss_mib(), "anon idle": s.rss_mib("RssAnon")} for s in everyone}
    npm_rows, pypi_rows, seeding = [], [], {"npm": 0.0, "pypi": 0.0}
    for size in sizes:
        name, project = f"scale-{size}", f"scale{size}"
        seeding["npm"] += seed_npm(packyard_npm, verdaccio, args.verdaccio[3], name, size)
        seeding["pypi"] += seed_pypi(packyard_pypi, args.pypiserver[2], project, size)
        print(f"seeded {size} versions into every server", file=sys.stderr)
        for kind, accept in (("full", "application/json"), ("abbreviated", ABBREVIATED)):
            medians, lengths = measure((packyard_npm, verdaccio), lambda s: f"/{name}", accept, args.gets, size, count_npm)
            npm_rows.append((size, kind, medians, lengths))
            print(f"npm {size} {kind}: {medians}", file=sys.stderr)
        for kind, accept in (("HTML", HTML), ("JSON", PEP_691)):
            medians, lengths = measure(
                (packyard_pypi, pypiserver), lambda s: f"/simple/{project}/", accept, args.gets, size, count_pypi
            )
            pypi_rows.append((size, kind, medians, lengths))
            print(f"pypi {size} {kind}: {medians}", file=sys.stderr)
    for server in everyone:
        memory[server.name]["loaded"] = server.rss_mib()
    time.sleep(5)
    for server in everyone:
        memory[server.name]["rested"] = server.rss_mib()
    time.sleep(10)
    for server in everyone:
        memory[server.name]["settled"] = server.rss_mib()
        memory[server.name]["anon settled"] = server.rss_mib("RssAnon")
    write(args, npm_rows, pypi_rows, memory, seeding)


def table(rows, us, them, their_name):
    lines = [
        f"| versions | document | Packyard median | {their_name} median | Packyard/{their_name} | Packyard bytes | {their_name} bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, kind, medians, lengths in rows:
        lines.append(
            f"| {size:,} | {kind} | {medians[us]:.1f} ms | {medians[them]:.1f} ms | {medians[us] / medians[them]:.2f} "
            f"| {lengths[us]:,} | {lengths[them]:,} |"
        )
    return lines


def write(args, npm_rows, pypi_rows, memory, seeding):
    cores, commit, verdaccio_version, build = args.about
    biggest = max((lengths["packyard in Lambda"], size, kind) for size, kind, _, lengths in npm_rows + pypi_rows)
    lines = [
        "# Index scaling: Packyard dev server beside Verdaccio (npm) and pypiserver (PyPI)",
        "",
        f"Measured by `bash scripts/bench-packument` on {datetime.date.today()} ({cores} cores), commit {commit}.",
        f"Packyard is {build} of `packyard dev` (embedded SQLite store, local disk; glibc's allocator set as the",
        f"container image sets it: `MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072`); Verdaccio {verdaccio_version}",
        "and pypiserver keep their packages on local disk. All listen on 127.0.0.1 with no uplink. For each size one",
        "npm package and one Python project are seeded into every server, then each document is fetched",
        f"{args.gets} times from each server, the servers taking turns, over one kept-alive connection.",
        "",
        "Seeding: Packyard gets every version over HTTP, eight requests at a time (npm's publish document with a",
        "description, three dependencies, a script and a short readme; the upload form twine sends, one sdist a",
        f"version): {seeding['npm']:.1f} s for all npm versions, {seeding['pypi']:.1f} s for all Python ones. Verdaccio",
        f"gets the first {VERDACCIO_BY_HTTP} versions over HTTP and the rest written into the package.json it wrote",
        "itself (cloned from its own last version), which it reads from disk on every GET: publishing 5,000 versions",
        "one PUT at a time takes it many minutes because it rewrites that whole file per version. pypiserver serves a",
        "folder; its sdists are copied in.",
        "",
        "## npm packument",
        "",
    ]
    lines += table(npm_rows, "packyard", "verdaccio", "Verdaccio")
    lines += [
        "",
        "`full` is `Accept: application/json`; `abbreviated` is the `Accept` header `npm install` sends",
        "(`application/vnd.npm.install-v1+json` first). A ratio below 1 means Packyard was faster.",
        f"The largest Packyard document, the {biggest[2]} one of {biggest[1]:,} versions, is {biggest[0]:,} bytes as a",
        f"Lambda response (the body as a JSON string, quotes escaped): {'under' if biggest[0] < LAMBDA_LIMIT else 'OVER'}"
        " Lambda's 6 MB response limit.",
        "",
        "## PyPI simple page",
        "",
    ]
    lines += table(pypi_rows, "packyard", "pypiserver", "pypiserver")
    lines += [
        "",
        "`HTML` asks for `text/html` (PEP 503); `JSON` for `application/vnd.pypi.simple.v1+json` (PEP 691), which",
        "pypiserver answers with its HTML page if it does not speak it (the bytes column shows which).",
        "",
        "## Resident memory",
        "",
        "| resident memory | Packyard | Verdaccio | pypiserver |",
        "|---|---|---|---|",
    ]
    phases = (
        ("idle", "idle, at start"),
        ("loaded", "after seeding and GETs"),
        ("rested", "5 s later"),
        ("settled", "15 s later"),
        ("anon idle", "of which heap and stacks (RssAnon), at start"),
        ("anon settled", "of which heap and stacks (RssAnon), 15 s later"),
    )
    for phase, label in phases:
        lines.append(
            f"| {label} | {memory['packyard'][phase]:.0f} MiB | {memory['verdaccio'][phase]:.0f} MiB "
            f"| {memory['pypiserver'][phase]:.0f} MiB |"
        )
    lines += [
        "",
        "Resident memory is the process's VmRSS: its heap and stacks (RssAnon) and the pages of its program and",
        "libraries it has run (file-backed, shared and reclaimable by the kernel). Once it has had no request for",
        "a second, Packyard drops SQLite's page cache and asks glibc's allocator to return its free pages",
        "(`malloc_trim`), and again after 11 s, when tokio's idle blocking threads have exited.",
        "",
    ]
    with open(args.out, "w") as report:
        report.write("\n".join(lines))


if __name__ == "__main__":
    main()
