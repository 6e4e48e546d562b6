//! The cost benchmark: each customer operation runs once on the AWS wiring (DynamoDB Local, the S3 server) with
//! its AWS calls recorded, and its calls are priced with us-east-1's public prices. Ignored by `cargo test`; run
//! by `bash scripts/bench-cost`, which writes `benchmarks/cost.md`. It asserts no price, only that each
//! operation succeeds.

use std::collections::BTreeMap;

use http::StatusCode;
use packyard::adapters::aws_calls::{AwsCall, AwsCalls};

use crate::api::{cargo, npm, pypi};

/// us-east-1 public prices, read 2026-11-29 from aws.amazon.com/{api-gateway,lambda,dynamodb,s3}/pricing.
const PRICES_READ: &str = "2026-11-29";
/// HTTP API, per million requests (first 300 million a month).
const HTTP_API: f64 = 1.00;
/// Lambda, per million requests, and per GB-second on arm64.
const LAMBDA_REQUESTS: f64 = 0.20;
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
/// The functions' memory (template.yaml) and a warm request's billed duration (1 ms granularity).
const LAMBDA_GB: f64 = 0.25;
const WARM_MS: f64 = 15.0;
/// DynamoDB on-demand, per million read and write request units.
const DYNAMODB_READ_UNIT: f64 = 0.125;
const DYNAMODB_WRITE_UNIT: f64 = 0.625;
/// S3 Standard, per million GET-class (GET, HEAD, a presigned GET the client follows) and PUT-class requests.
const S3_GET: f64 = 0.40;
const S3_PUT: f64 = 5.00;
/// AWS CodeArtifact, per million requests.
const CODEARTIFACT: f64 = 5.00;

/// What one operation's recorded calls cost, in request units and requests.
#[derive(Default)]
struct Bill {
    calls: BTreeMap<String, usize>,
    read_units: f64,
    write_units: f64,
    s3_get: usize,
    s3_put: usize,
}

impl Bill {
    /// Units assume items under 1 KB (every record here is): a strongly consistent GetItem or Query page of
    /// small items is 1 read unit, an eventually consistent one half a unit, a transaction's item 2 units.
    fn of(calls: &[AwsCall]) -> Self {
        let mut bill = Self::default();
        for call in calls {
            let operation = call.operation.as_str();
            let eventual = matches!(operation, "GetItem" | "Query") && !call.consistent;
            let label = format!("{} {operation}{}", call.service, if eventual { " (eventual)" } else { "" });
            *bill.calls.entry(label).or_default() += 1;
            match (call.service.as_str(), operation) {
                ("DynamoDB", "GetItem" | "Query" | "Scan") => {
                    bill.read_units += if call.consistent { 1.0 } else { 0.5 }
                }
                ("DynamoDB", "BatchGetItem") => bill.read_units += 1.0,
                ("DynamoDB", op) if op.starts_with("TransactGetItems") => bill.read_units += 2.0,
                ("DynamoDB", op) if op.starts_with("TransactWriteItems") => bill.write_units += 2.0,
                ("DynamoDB", "PutItem" | "UpdateItem" | "DeleteItem") => bill.write_units += 1.0,
                ("S3", "GetObject" | "HeadObject") => bill.s3_get += 1,
                ("S3", "PutObject" | "CopyObject" | "CreateMultipartUpload" | "UploadPart" | "ListObjectsV2") => {
                    bill.s3_put += 1;
                }
                _ => {}
            }
        }
        bill
    }

    /// Dollars per million of this operation, API Gateway and Lambda included.
    fn per_million(&self) -> f64 {
        HTTP_API
            + LAMBDA_REQUESTS
            + LAMBDA_GB * WARM_MS / 1000.0 * LAMBDA_GB_SECOND * 1e6
            + self.read_units * DYNAMODB_READ_UNIT
            + self.write_units * DYNAMODB_WRITE_UNIT
            + self.s3_get as f64 * S3_GET
            + self.s3_put as f64 * S3_PUT
    }
}

/// Runs `operation` and returns the calls it made.
async fn recorded<F: Future<Output = StatusCode>>(calls: &AwsCalls, what: &str, operation: F) -> Vec<AwsCall> {
    let before = calls.calls().len();
    let status = operation.await;
    assert!(status.is_success() || status.is_redirection(), "{what}: {status}");
    calls.calls().split_off(before)
}

#[tokio::test]
#[ignore = "a benchmark: bash scripts/bench-cost runs it and writes benchmarks/cost.md"]
async fn cost_per_operation() {
    let calls = AwsCalls::default();
    let (app, _, _, _) = super::aws_app(&calls).await;
    for (name, ecosystem) in [("tools", "files"), ("js", "npm"), ("rs", "cargo"), ("py", "python")] {
        app.create_registry(name, ecosystem).await;
    }
    // Every operation runs twice and the second run is priced: the first warms what a container keeps.
    let mut rows: Vec<(&str, Bill)> = Vec::new();
    for round in ["1.0.0", "2.0.0"] {
        let tarball = npm::tarball("left-pad", round);
        let document = npm::document("left-pad", round, &tarball);
        let publish =
            recorded(&calls, "npm publish", async { npm::put(&app, "left-pad", &document).await.status }).await;
        let crate_file = cargo::crate_file("demo", round);
        let body = cargo::publish_body(&cargo::metadata("demo", round), &crate_file);
        cargo::publish(&app, body).await;
        let upload = recorded(&calls, "twine upload", async {
            pypi::upload(&app, &format!("pkg-{round}.tar.gz"), round.as_bytes(), &[]).await.status
        })
        .await;
        let published = app.publish_file("tools", &format!("tool-{round}.bin"), round.as_bytes()).await;
        let package = published.json["id"].as_str().expect("package id").to_owned();
        let get = |path: String| {
            let app = &app;
            async move { app.get(&path).await.status }
        };
        let npm_install = async {
            let request = http::Request::get("/npm/acme/js/left-pad")
                .header("authorization", format!("Bearer {}", app.admin_token))
                .header("accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
                .body(axum::body::Body::empty())
                .expect("a request");
            app.send(request).await.status
        };
        let abbreviated = recorded(&calls, "npm install packument", npm_install).await;
        let reads = [
            ("authenticate (npm whoami)", "/npm/acme/js/-/whoami".to_owned()),
            ("npm packument, full (2 versions)", "/npm/acme/js/left-pad".to_owned()),
            ("npm tarball download (redirect)", format!("/npm/acme/js/left-pad/-/left-pad-{round}.tgz")),
            ("pip simple page (2 files)", "/pypi/acme/py/simple/pkg/".to_owned()),
            (
                "file download (redirect)",
                format!("/v1/organizations/acme/registries/tools/packages/{package}/download"),
            ),
            ("cargo index file", "/cargo/acme/rs/index/de/mo/demo".to_owned()),
        ];
        let mut measured = vec![("npm packument, abbreviated (npm install)", Bill::of(&abbreviated))];
        for (what, path) in reads {
            measured.push((what, Bill::of(&recorded(&calls, what, get(path)).await)));
        }
        measured.push(("npm publish", Bill::of(&publish)));
        measured.push(("twine upload", Bill::of(&upload)));
        rows = measured;
    }
    // A download from the organization's own bucket: the first in a container assumes the link's role, the next
    // reuses the session. The npm function stores the tarball; the packages function has not met the link yet.
    super::link_default_storage(&app).await;
    let tarball = npm::tarball("left-pad", "3.0.0");
    let stored = npm::put(&app, "left-pad", &npm::document("left-pad", "3.0.0", &tarball)).await;
    assert!(stored.status.is_success(), "publish to the linked bucket: {}", stored.status);
    let listed = app.get("/v1/organizations/acme/registries/js/packages?name=left-pad").await.json;
    let linked =
        listed["packages"].as_array().expect("packages").iter().find(|p| p["version"] == "3.0.0").expect("3.0.0");
    assert_ne!(linked["files"][0]["storage"], "hosted", "stored in the linked bucket");
    let download = format!("/v1/organizations/acme/registries/js/packages/{}/download", linked["id"].as_str().unwrap());
    for what in ["linked-bucket download, cold (assumes the role)", "linked-bucket download, warm"] {
        let path = download.clone();
        rows.push((what, Bill::of(&recorded(&calls, what, async { app.get(&path).await.status }).await)));
    }
    let report = report(&rows);
    println!("{report}");
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../benchmarks/cost.md");
    std::fs::write(out, report).expect("write benchmarks/cost.md");
}

/// What the table does not say by itself: where the floors are and why the reads stop where they do.
const NOTES: &str = "\
Where the floors are. The HTTP API and Lambda alone make $1.25 per million. A warm function answers a token and
a registry it read in the last 5 seconds from memory (`service::recent`): a change that narrows access (a revoked
token, a registry made private) answers only once those 5 seconds have passed, so revocation still holds for
every function from its answer on. A packument, simple page or cargo index file is then one strongly consistent
query (a client sees what it just published, and a yank or delete, at once): $1.38, the full packument too,
since its latest version's description and readme are kept in a record that sorts just before the dist-tags
and the abbreviated packument's query starts after it. A download reads its version eventually consistent and
pays for the S3 GET its client makes ($0.40): $1.71, of which the registry's part is $1.31; $1.65 is the floor
of any presigned download. A publish pays an S3 PUT ($5.00) and the HTTP API ($1.00), so it cannot come under
$5; the rest is six transaction items at 2 write units each (the version by name, by id and in its name's
partition, its index entry, the dist-tags, the audit event), written together so no version is half-written or
overwritten. An npm publish writes its version's abbreviated rendering as an entry of its own, so that
`npm install`'s query reads the dist-tags and those entries only; when it moves `latest` it writes the readme
record above too. A PyPI or cargo publish that makes a name's latest version writes the summary `simple/` and
cargo search list (`service::name_summaries`). Reads are priced as a warm container answers them; a container's
first request also reads the token and the registry (1 read unit each). Items are assumed under 1 KB (a name's
index query reads 4 KB a unit, so a packument of many versions costs more: the abbreviated one of 5,000 versions
in benchmarks/packument.md reads some 2.7 MB of items, about 700 units or $85 per million, where reading both
renderings made it 5.6 MB, 1,400 units and $171; estimated from the items' sizes). An npm version record carries its manifest and readme (up to 64 KB), and every 4 KB more
is another unit on each read of it.
";

fn report(rows: &[(&str, Bill)]) -> String {
    let mut table = String::new();
    for (what, bill) in rows {
        let calls = bill.calls.iter().map(|(call, n)| format!("{n}× {call}")).collect::<Vec<_>>().join(", ");
        let dollars = bill.per_million();
        table.push_str(&format!(
            "| {what} | {calls} | {:.1} | {:.1} | {} / {} | ${dollars:.2} | {:.2}× |\n",
            bill.read_units,
            bill.write_units,
            bill.s3_get,
            bill.s3_put,
            dollars / CODEARTIFACT
        ));
    }
    format!(
        "# Cost per operation on AWS\n\n\
         Written by `bash scripts/bench-cost` ({date}): each operation runs on the AWS wiring (DynamoDB Local, an S3\n\
         server) through the function `template.yaml` routes it to, with every AWS call recorded\n\
         (`adapters/aws_calls.rs`); the second of two runs is priced, so what a warm container keeps is kept.\n\n\
         Prices, us-east-1, public, read {PRICES_READ}: HTTP API ${HTTP_API:.2} per million requests; Lambda\n\
         ${LAMBDA_REQUESTS:.2} per million requests and ${LAMBDA_GB_SECOND} per GB-second on arm64, billed here as\n\
         {LAMBDA_GB} GB for {WARM_MS} ms; DynamoDB on-demand ${DYNAMODB_READ_UNIT} per million read units and\n\
         ${DYNAMODB_WRITE_UNIT} per million write units; S3 Standard ${S3_GET:.2} per million GET-class and\n\
         ${S3_PUT:.2} per million PUT-class requests. A presigned download URL counts as the S3 GET the client\n\
         then makes. AWS CodeArtifact: ${CODEARTIFACT:.2} per million requests (plus its storage and transfer).\n\n\
         Units assume items under 1 KB: 1 read unit a strongly consistent GetItem or Query page, half a unit an\n\
         eventually consistent one, 1 write unit a PutItem, 2 a transaction's item. Transfer out and storage are left out (the\n\
         same bytes on any registry).\n\n\
         | operation | AWS calls | read units | write units | S3 GET / PUT | $ per million | × CodeArtifact |\n\
         |---|---|---|---|---|---|---|\n{table}\n{NOTES}",
        date = chrono::Utc::now().format("%Y-%m-%d"),
    )
}
