"""oras-py (the ORAS Python SDK) against the dev server: pushes an artifact, then a signature whose subject
is that artifact, reads the signature back through the referrers API with the client's own session (which
follows the registry's Bearer challenge to /v2/token), and pulls it. Prints what it saw as JSON.

Usage: python artifacts.py HOST TOKEN WORKDIR
"""

import hashlib
import json
import os
import sys

import oras.client
import oras.oci

host, token, workdir = sys.argv[1:4]
os.chdir(workdir)
repository = f"{host}/acme/images/team/app"
client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="token")
client.auth.set_basic_auth("ci", token)

with open("app.txt", "w") as handle:
    handle.write("the artifact\n")
client.push(target=f"{repository}:v1", files=["app.txt"], quiet=True)
manifest = client.do_request(f"http://{repository.replace(host, host + '/v2', 1)}/manifests/v1", "GET",
                             headers={"Accept": oras.defaults.default_manifest_media_type})
manifest.raise_for_status()
subject = oras.oci.Subject(mediaType=manifest.headers["Content-Type"],
                           digest="sha256:" + hashlib.sha256(manifest.content).hexdigest(),
                           size=len(manifest.content))

with open("app.sig", "w") as handle:
    handle.write("a signature\n")
with open("sig-config.json", "w") as handle:
    handle.write("{}")
signed = client.push(target=f"{repository}:v1-sig", files=["app.sig"], subject=subject, quiet=True,
                     manifest_config="sig-config.json:application/vnd.example.signature.v1")
signature = signed.headers["Docker-Content-Digest"]

base = f"http://{host}/v2/acme/images/team/app/referrers/{subject.digest}"
every = client.do_request(base, "GET")
filtered = client.do_request(base + "?artifactType=application/vnd.example.signature.v1", "GET")
other = client.do_request(base + "?artifactType=application/vnd.example.sbom.v1", "GET")

os.makedirs("pulled", exist_ok=True)
pulled = client.pull(target=f"{repository}@{signature}", outdir="pulled")
print(json.dumps({
    "subject": subject.digest,
    "signature": signature,
    "oci_subject_header": signed.headers.get("OCI-Subject"),
    "referrers": every.json(),
    "referrers_content_type": every.headers.get("Content-Type"),
    "filtered": filtered.json(),
    "filters_applied": filtered.headers.get("OCI-Filters-Applied"),
    "other": other.json(),
    "pulled": [open(path).read() for path in pulled],
}))
