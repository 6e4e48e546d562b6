"""The measuring half of scripts/bench-packument: publishes one package per size to each server over HTTP, times
GETs of its full and abbreviated packuments, reads the servers' resident memory, writes the Markdown report."""

import base64
import datetime
import gzip
import hashlib
import http.client
import io
import json
import statistics
import sys
import tarfile
import time
import urllib.parse

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def tarball(name, version):
    manifest = json.dumps({"name": name, "version": version}).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return gzip.compress(raw.getvalue(), mtime=0)


def document(name, version, base):
    data = tarball(name, version)
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


class Server:
    def __init__(self, spec, token, pid):
        self.name, self.base = spec.split("=", 1)
        self.token, self.pid = token, int(pid)
        url = urllib.parse.urlsplit(self.base)
        self.path = url.path
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)

    def request(self, method, path, body=None, accept="application/json"):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, self.path + path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            sys.exit(f"{self.name}: {method} {path} answered {response.status}: {data[:300]!r}")
        return data

    def publish(self, name, version):
        self.request("PUT", f"/{name}", json.dumps(document(name, version, self.base)).encode())

    def rss_mib(self):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def timed_get(server, name, accept):
    start = time.perf_counter()
    data = server.request("GET", f"/{name}", accept=accept)
    elapsed = (time.perf_counter() - start) * 1000
    versions = len(json.loads(data)["versions"])
    return elapsed, len(data), versions


def main():
    out, sizes, gets = sys.argv[1], [int(s) for s in sys.argv[2].split()], int(sys.argv[3])
    servers = [Server(*sys.argv[4:7]), Server(*sys.argv[7:10])]
    cores, commit, verdaccio_version, build = sys.argv[10:14]
    memory = {s.name: {"idle": s.rss_mib()} for s in servers}
    rows, publish_s = [], {s.name: 0.0 for s in servers}
    for size in sizes:
        name = f"scale-{size}"
        for i in range(size):
            for server in servers:  # taking turns, so a change in load falls on both alike
                start = time.perf_counter()
                server.publish(name, f"1.0.{i}")
                publish_s[server.name] += time.perf_counter() - start
        print(f"published {name} with {size} versions to both", file=sys.stderr)
        for kind, accept in (("full", "application/json"), ("abbreviated", ABBREVIATED)):
            times = {s.name: [] for s in servers}
            sizes_seen = {}
            for _ in range(gets):
                for server in servers:
                    elapsed, length, versions = timed_get(server, name, accept)
                    if versions != size:
                        sys.exit(f"{server.name}: {name} lists {versions} versions, not {size}")
                    times[server.name].append(elapsed)
                    sizes_seen[server.name] = length
            medians = {n: statistics.median(t) for n, t in times.items()}
            rows.append((size, kind, medians, sizes_seen))
            print(f"{name} {kind}: " + ", ".join(f"{n} {m:.1f} ms" for n, m in medians.items()), file=sys.stderr)
    for server in servers:
        memory[server.name]["loaded"] = server.rss_mib()
    time.sleep(5)
    for server in servers:
        memory[server.name]["rested"] = server.rss_mib()
    write(out, rows, memory, publish_s, gets, cores, commit, verdaccio_version, build)


def write(out, rows, memory, publish_s, gets, cores, commit, verdaccio_version, build):
    p, v = "packyard", "verdaccio"
    lines = [
        "# Packument scaling: Packyard dev server and Verdaccio",
        "",
        f"Measured by `bash scripts/bench-packument` on {datetime.date.today()} ({cores} cores), commit {commit}.",
        f"Packyard is {build} of `packyard dev` (embedded store, local disk); Verdaccio {verdaccio_version}",
        "keeps its packages on local disk. Both listen on 127.0.0.1 with no uplink; one package per size is published",
        "version by version over HTTP (npm's publish document, one PUT a version, the two servers taking turns),",
        f"then its packument is fetched {gets} times from each, taking turns, over one kept-alive connection. Each",
        "version's manifest has a description, three dependencies, a script and a short readme.",
        "",
        "| versions | document | Packyard median | Verdaccio median | Packyard/Verdaccio | Packyard bytes | Verdaccio bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, kind, medians, lengths in rows:
        lines.append(
            f"| {size:,} | {kind} | {medians[p]:.1f} ms | {medians[v]:.1f} ms | {medians[p] / medians[v]:.2f} "
            f"| {lengths[p]:,} | {lengths[v]:,} |"
        )
    lines += [
        "",
        "`full` is `Accept: application/json`; `abbreviated` is the `Accept` header `npm install` sends",
        "(`application/vnd.npm.install-v1+json` first). A ratio below 1 means Packyard was faster.",
        "",
        "| resident memory | Packyard | Verdaccio |",
        "|---|---|---|",
    ]
    for phase, label in (("idle", "idle, at start"), ("loaded", "after publishing and GETs"), ("rested", "5 s later")):
        lines.append(f"| {label} | {memory[p][phase]:.0f} MiB | {memory[v][phase]:.0f} MiB |")
    lines += [
        "",
        f"Publishing every version took {publish_s[p]:.1f} s on Packyard and {publish_s[v]:.1f} s on Verdaccio in all.",
        "",
    ]
    with open(out, "w") as report:
        report.write("\n".join(lines))


if __name__ == "__main__":
    main()
