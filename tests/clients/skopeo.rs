//! skopeo against the dev server: an OCI image layout (built with umoci, or written by hand) is copied into an
//! `oci` registry under a repository of several segments, copied back out to a fresh layout, and comes back
//! byte for byte, for single images and for a multi-platform index; and an image promoted by the REST copy
//! to a registry on a linked bucket pulls from there with the digests it was pushed with.

use std::path::Path;

use packyard_tests::app::tempdir::TempDir;
use packyard_tests::client::ok;
use packyard_tests::devserver::DevServer;
use packyard_tests::services;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Writes a blob into the layout and returns its descriptor.
fn write_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let hex = hex::encode(Sha256::digest(bytes));
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
}

/// A gzipped tar holding one file, and the digest of the uncompressed tar (the config's diff id).
fn layer(content: &[u8]) -> (Vec<u8>, String) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "hello.txt", content).unwrap();
    let tar = tar.into_inner().unwrap();
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Writes one image for `arch` into the layout and returns its manifest's descriptor.
fn write_image(layout: &Path, arch: &str) -> Value {
    let (layer, diff_id) = layer(format!("hello from {arch}\n").as_bytes());
    let layer = write_blob(layout, "application/vnd.oci.image.layer.v1.tar+gzip", &layer);
    let config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                        "config": {}});
    let config = write_blob(layout, "application/vnd.oci.image.config.v1+json", config.to_string().as_bytes());
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]});
    let mut descriptor = write_blob(layout, OCI_MANIFEST, manifest.to_string().as_bytes());
    descriptor["platform"] = json!({"architecture": arch, "os": "linux"});
    descriptor
}

/// Writes an amd64 and an arm64 image and an index of both; returns the index's descriptor.
fn write_index(layout: &Path) -> Value {
    let manifests = vec![write_image(layout, "amd64"), write_image(layout, "arm64")];
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    write_blob(layout, OCI_INDEX, index.to_string().as_bytes())
}

/// A layout whose `index.json` names `top` as the tag `v1`.
fn write_layout(layout: &Path, top: &dyn Fn(&Path) -> Value) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut descriptor = top(layout);
    descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
}

/// The digest `index.json` names for its first (only) image.
fn top_digest(layout: &Path) -> String {
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// skopeo as the admin of a dev server, in a scratch directory that is also its home.
struct Skopeo {
    work: TempDir,
    host: String,
    creds: String,
}

impl Skopeo {
    fn new(server: &DevServer) -> Self {
        let host = server.base_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        Self { work: TempDir::new("packyard-skopeo"), host, creds: format!("x:{}", server.admin_token) }
    }

    fn run(&self, args: &[&str]) -> String {
        let home = self.work.0.to_str().unwrap();
        ok(&self.work.0, "skopeo", args, &[("HOME", home), ("XDG_RUNTIME_DIR", home)])
    }

    /// `docker://` for an image of organization acme.
    fn remote(&self, image: &str) -> String {
        format!("docker://{}/acme/{image}", self.host)
    }

    /// Copies the layout's `v1` to `remote`, every platform with `all`, digests as they are.
    fn push(&self, layout: &Path, remote: &str, all: bool) {
        let source = format!("oci:{}:v1", layout.display());
        let mut args = vec!["--insecure-policy", "copy", "--preserve-digests", "--dest-tls-verify=false"];
        args.extend(["--dest-creds", &self.creds, &source, remote]);
        if all {
            args.insert(2, "--all");
        }
        self.run(&args);
    }

    /// Copies `remote` into a fresh layout as `v1`.
    fn pull(&self, remote: &str, layout: &Path, all: bool) {
        let target = format!("oci:{}:v1", layout.display());
        let mut args = vec!["--insecure-policy", "copy", "--preserve-digests", "--src-tls-verify=false"];
        args.extend(["--src-creds", &self.creds, remote, &target]);
        if all {
            args.insert(2, "--all");
        }
        self.run(&args);
    }

    /// The digest of the manifest `remote` serves.
    fn remote_digest(&self, remote: &str) -> String {
        let raw = self.run(&["inspect", "--raw", "--tls-verify=false", "--creds", &self.creds, remote]);
        format!("sha256:{}", hex::encode(Sha256::digest(raw.as_bytes())))
    }
}

/// Checks `copy` came back with `source`'s top digest and every blob intact.
fn assert_same_image(source: &Path, copy: &Path) {
    assert_eq!(top_digest(copy), top_digest(source));
    // The same top digest means the same graph; each blob pulled must also be intact (umoci leaves blobs of
    // earlier revisions in its layout, so the source may hold more).
    for entry in std::fs::read_dir(copy.join("blobs/sha256")).unwrap() {
        let name = entry.unwrap().file_name();
        let copied = std::fs::read(copy.join("blobs/sha256").join(&name)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&copied)), name.to_string_lossy(), "blob copied back intact");
        assert!(source.join("blobs/sha256").join(&name).exists(), "a blob the source does not have");
    }
}

/// Pushes the layout `build` writes as `team/app:v1`, pulls it into a fresh layout and compares them.
async fn round_trip(build: &dyn Fn(&Path), all: bool) {
    let server = DevServer::start();
    let client = reqwest::Client::new();
    server.create_registry("images", "oci").await;
    let skopeo = Skopeo::new(&server);
    let (source, copy) = (skopeo.work.0.join("source"), skopeo.work.0.join("copy"));
    build(&source);
    let remote = skopeo.remote("images/team/app:v1");
    skopeo.push(&source, &remote, all);
    assert_eq!(skopeo.remote_digest(&remote), top_digest(&source));
    skopeo.pull(&remote, &copy, all);
    assert_same_image(&source, &copy);

    let tags = client
        .get(format!("{}/v2/acme/images/team/app/tags/list", server.base_url))
        .basic_auth("x", Some(&server.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.json::<Value>().await.unwrap()["tags"], json!(["v1"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_an_image_in_and_back_out_with_the_same_digests() {
    round_trip(&|layout| write_layout(layout, &|layout| write_image(layout, "amd64")), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_a_multi_platform_index_in_and_back_out_with_the_same_digests() {
    round_trip(&|layout| write_layout(layout, &write_index), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_an_image_built_by_umoci_in_and_back_out() {
    round_trip(
        &|layout| {
            let (dir, image) = (layout.parent().unwrap(), format!("{}:v1", layout.display()));
            std::fs::write(dir.join("hello.txt"), "hello from umoci\n").unwrap();
            ok(dir, "umoci", &["init", "--layout", layout.to_str().unwrap()], &[]);
            ok(dir, "umoci", &["new", "--image", &image], &[]);
            ok(dir, "umoci", &["insert", "--rootless", "--image", &image, "hello.txt", "/hello.txt"], &[]);
            ok(dir, "umoci", &["config", "--image", &image, "--config.cmd=/hello.txt"], &[]);
        },
        false,
    )
    .await;
}

/// Links a fresh bucket of the S3-compatible server to organization acme and returns the link's id, active.
async fn link_bucket(server: &DevServer, client: &reqwest::Client, bucket: &str) -> String {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}: run with `bash scripts/test`"));
    services::s3().await.create_bucket().bucket(bucket).send().await.expect("a bucket on the S3 server");
    let links = format!("{}/v1/organizations/acme/storage-links", server.base_url);
    let body = json!({"provider": "s3_compatible", "endpoint": env("PACKYARD_TEST_S3_URL"), "region": "us-east-1",
        "bucket": bucket, "path": "/", "access_key_id": env("PACKYARD_TEST_S3_ACCESS_KEY"),
        "secret_access_key": env("PACKYARD_TEST_S3_SECRET_KEY"), "path_style": true});
    let link: Value =
        client.post(&links).bearer_auth(&server.admin_token).json(&body).send().await.unwrap().json().await.unwrap();
    let id = link["id"].as_str().expect("a link id").to_owned();
    let diagnostic = client.post(format!("{links}/{id}/diagnostic")).bearer_auth(&server.admin_token).json(&json!({}));
    let diagnostic: Value = diagnostic.send().await.unwrap().json().await.unwrap();
    assert_eq!(diagnostic["status"], "active", "{diagnostic}");
    id
}

/// Promotion across storages: skopeo pushes a multi-platform image to a registry on hosted storage, the REST
/// copy promotes it to a registry whose storage is a linked bucket (so every blob streams storage to storage),
/// and skopeo pulls it from there with every digest as pushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_promoted_by_the_rest_copy_to_a_linked_bucket_pulls_with_the_same_digests() {
    let server = DevServer::start();
    let client = reqwest::Client::new();
    server.create_registry("images", "oci").await;
    // Short: s3s-fs keeps a side file per object named by the base64 of bucket and key, and a long bucket name
    // with a blob key (`oci/<registry>/blobs/sha256/<hex>-<ulid>`) passes the file system's 255 bytes.
    let unique = services::unique_name("x");
    let bucket = format!("promo-{}", &unique[unique.len() - 10..]);
    let link = link_bucket(&server, &client, &bucket).await;
    let registries = format!("{}/v1/organizations/acme/registries", server.base_url);
    let prod = json!({"name": "images-prod", "ecosystem": "oci", "storage": {"link": link}});
    let created = client.post(&registries).bearer_auth(&server.admin_token).json(&prod).send().await.unwrap();
    assert_eq!(created.status(), 201);

    let skopeo = Skopeo::new(&server);
    let (source, copy) = (skopeo.work.0.join("source"), skopeo.work.0.join("copy"));
    write_layout(&source, &write_index);
    skopeo.push(&source, &skopeo.remote("images/team/app:v1"), true);
    let promote = format!("{registries}/images/packages/team~app:v1/copy");
    let promoted = client.post(&promote).bearer_auth(&server.admin_token).json(&json!({"destination": "images-prod"}));
    let promoted = promoted.send().await.unwrap();
    assert_eq!(promoted.status(), 201);
    let promoted: Value = promoted.json().await.unwrap();
    assert_eq!(promoted["digest"].as_str(), Some(top_digest(&source).as_str()), "{promoted}");
    assert_eq!(promoted["platforms"].as_array().map(Vec::len), Some(2), "{promoted}");

    let objects = services::s3().await.list_objects_v2().bucket(&bucket).prefix("oci/").send().await.unwrap();
    // Two layers, two configs, two image manifests and the index, all in the linked bucket.
    assert_eq!(objects.contents().len(), 7, "{:?}", objects.contents());
    let remote = skopeo.remote("images-prod/team/app:v1");
    assert_eq!(skopeo.remote_digest(&remote), top_digest(&source));
    skopeo.pull(&remote, &copy, true);
    assert_same_image(&source, &copy);
}

/// What registry clients written in Go do: a chunk sent before the credentials challenge, or with a range the
/// registry refuses, then the next request on the same connection. The refusal must arrive and the connection
/// must stay usable, so the server reads and discards the refused body instead of resetting the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_chunk_is_read_so_the_next_request_on_the_connection_is_answered() {
    use std::io::{BufRead, BufReader, Read, Write};
    let server = DevServer::start();
    server.create_registry("images", "oci").await;
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let token = server.admin_token.clone();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let chunk = vec![7_u8; 1 << 20];
        let head = format!(
            "PATCH /v2/acme/images/app/blobs/uploads/01J00000000000000000000000 HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-{}\r\nContent-Length: {}\r\n\r\n",
            chunk.len() - 1,
            chunk.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&chunk).unwrap();
        let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("x:{token}"));
        let next = format!("GET /v2/ HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {basic}\r\n\r\n");
        stream.write_all(next.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            statuses.push(status.split_whitespace().nth(1).unwrap_or_default().to_owned());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0_u8; length];
            reader.read_exact(&mut body).unwrap();
        }
        assert_eq!(statuses, ["401", "200"], "the refusal, then an answer on the same connection");
    })
    .await
    .unwrap();
}

/// A 1 GiB layer (an uncompressed tar of incompressible bytes, gzipped without compression so it stays
/// 1 GiB) written straight into the layout, a piece at a time: neither the test nor the server holds it.
fn write_gib_image(layout: &Path) -> Value {
    use std::io::Write;
    const SIZE: u64 = 1 << 30;
    let path = layout.join("blobs/sha256/layer.partial");
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        flate2::Compression::none(),
    );
    let mut diff_id = Sha256::new();
    let mut tar = |bytes: &[u8]| {
        diff_id.update(bytes);
        gz.write_all(bytes).unwrap();
    };
    let mut header = tar::Header::new_gnu();
    header.set_path("disk.img").unwrap();
    header.set_size(SIZE);
    header.set_mode(0o644);
    header.set_cksum();
    tar(header.as_bytes());
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut piece = vec![0_u8; 8 << 20];
    for _ in 0..SIZE / piece.len() as u64 {
        for word in piece.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        tar(&piece);
    }
    tar(&[0_u8; 1024]);
    let diff_id = format!("sha256:{}", hex::encode(diff_id.finalize()));
    gz.finish().unwrap().flush().unwrap();
    let layer_hex = {
        let mut file = std::fs::File::open(&path).unwrap();
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).unwrap();
        hex::encode(hasher.finalize())
    };
    let size = std::fs::metadata(&path).unwrap().len();
    std::fs::rename(&path, layout.join("blobs/sha256").join(&layer_hex)).unwrap();
    let layer = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": format!("sha256:{layer_hex}"), "size": size});
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                        "config": {}});
    let config = write_blob(layout, "application/vnd.oci.image.config.v1+json", config.to_string().as_bytes());
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]});
    write_blob(layout, OCI_MANIFEST, manifest.to_string().as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_and_pulls_an_image_with_a_1_gib_layer() {
    round_trip(&|layout| write_layout(layout, &write_gib_image), false).await;
}

/// skopeo with each kind of credential: none and a wrong token are refused, a registry token pulls, a
/// read-only organization token pulls but cannot push, all through the token flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_is_refused_or_let_through_by_the_credentials_it_holds() {
    let server = DevServer::start();
    let client = reqwest::Client::new();
    server.create_registry("images", "oci").await;
    let work = TempDir::new("packyard-skopeo-credentials");
    let source = work.0.join("source");
    write_layout(&source, &|layout| write_image(layout, "amd64"));
    let host = server.base_url.trim_start_matches("http://").trim_end_matches('/');
    let remote = format!("docker://{host}/acme/images/team/app:v1");
    let home = work.0.to_str().unwrap();
    let env = [("HOME", home), ("XDG_RUNTIME_DIR", home)];
    let source_ref = format!("oci:{}:v1", source.display());
    let push = |creds: &str| {
        let args =
            ["--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", creds, &source_ref, &remote];
        packyard_tests::client::run(&work.0, "skopeo", &args, &env)
    };
    let inspect = |creds: Option<&str>| {
        let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
        match creds {
            Some(creds) => args.extend(["--creds", creds]),
            None => args.push("--no-creds"),
        }
        args.push(&remote);
        packyard_tests::client::run(&work.0, "skopeo", &args, &env)
    };
    let token = |body: Value, path: &str| {
        let request = client.post(format!("{}{path}", server.base_url)).bearer_auth(&server.admin_token).json(&body);
        async move {
            let created: Value = request.send().await.unwrap().json().await.unwrap();
            created["token"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned()
        }
    };
    let reader =
        token(json!({"description": "reader", "scopes": ["read_packages"]}), "/v1/organizations/acme/tokens").await;
    let registry = token(json!({"description": "pull"}), "/v1/organizations/acme/registries/images/tokens").await;

    let denied = push(&format!("ci:{reader}"));
    assert!(!denied.status.success(), "a read-only token pushed");
    let said = packyard_tests::client::describe(&denied).to_lowercase();
    assert!(said.contains("denied") || said.contains("unauthorized"), "{said}");
    assert!(!push("ci:pky_not_a_token").status.success(), "a wrong token pushed");
    ok(
        &work.0,
        "skopeo",
        &[
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &format!("x:{}", server.admin_token),
            &source_ref,
            &remote,
        ],
        &env,
    );

    for creds in [None, Some("ci:pky_not_a_token".to_owned())] {
        let refused = inspect(creds.as_deref());
        assert!(!refused.status.success(), "pulled with {creds:?}");
    }
    for creds in [format!("ci:{registry}"), format!("ci:{reader}")] {
        let pulled = inspect(Some(&creds));
        assert!(pulled.status.success(), "{}", packyard_tests::client::describe(&pulled));
        let manifest = String::from_utf8_lossy(&pulled.stdout).into_owned();
        assert_eq!(format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes()))), top_digest(&source));
    }
}
