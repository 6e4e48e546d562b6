//! The function binaries themselves, each under a Lambda Runtime API emulator (`support::runtime`) with only
//! the environment Lambda and `template.yaml` give it, on DynamoDB Local and the S3 server: the runtime loop,
//! the env-driven configuration and lambda_http's conversion of each answer to an API Gateway response are
//! what the `events/` fixtures exercise here.

use std::time::{Duration, Instant};

use base64::Engine as _;
use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::adapters::link_template;
use packyard::api::{all_routes, finish};
use packyard::config::Config;
use packyard::domain::secret::SecretsKey;
use packyard::lambda::{AwsTargets, aws_state};
use packyard_tests::app::TestApp;
use packyard_tests::runtime::{FunctionProcess, Outcome};
use packyard_tests::services;
use serde_json::{Map, Value};

use crate::aws_policy::policy::{self, Function};

/// Replaced by a real token before an event is sent; see `events/README.md`.
const TOKEN_PLACEHOLDER: &str = "PACKYARD_TOKEN";

/// An answer as API Gateway reads it from a payload 2.0 response, with the body decoded.
struct Answer {
    status: u16,
    headers: Map<String, Value>,
    /// The `Set-Cookie` values, which payload 2.0 carries in a list of their own.
    cookies: Vec<String>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, self.text())
    }
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Checks the response has API Gateway's shape (every header a string, cookies a list, a body that is base64
/// exactly when flagged) and decodes it. Only the console's sign-in sets a cookie.
fn answer(fixture: &str, outcome: Outcome) -> Answer {
    let Outcome::Response(response) = outcome else { panic!("{fixture}: the handler failed: {outcome:?}") };
    let status = response["statusCode"].as_u64().unwrap_or_else(|| panic!("{fixture}: no statusCode: {response}"));
    let headers = response["headers"].as_object().cloned().unwrap_or_default();
    assert!(headers.values().all(Value::is_string), "{fixture}: API Gateway takes one string per header: {response}");
    let cookies: Vec<String> = response
        .get("cookies")
        .map(|cookies| cookies.as_array().unwrap_or_else(|| panic!("{fixture}: cookies must be a list: {response}")))
        .into_iter()
        .flatten()
        .map(|cookie| cookie.as_str().expect("a cookie is a string").to_owned())
        .collect();
    assert!(
        cookies.is_empty() || fixture.starts_with("console."),
        "{fixture}: only the console's session sets cookies: {response}"
    );
    let text = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_else(|e| panic!("{fixture}: base64: {e}"))
    } else {
        text.as_bytes().to_vec()
    };
    Answer { status: u16::try_from(status).unwrap(), headers, cookies, body }
}

fn event(fixture: &str, token: &str) -> Value {
    let path = format!("{}/../events/{fixture}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text.replace(TOKEN_PLACEHOLDER, token)).unwrap_or_else(|e| panic!("{fixture}: {e}"))
}

/// The function crates: the directories under `functions/`.
fn functions() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Every fixture under `events/`, by file stem.
fn fixtures() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".json").map(str::to_owned))
        .collect()
}

/// A table, a bucket and the acme organization with registries of each kind, and a value for every variable
/// the functions may get (see [`environment_of`]), pointed at the emulators through `AWS_ENDPOINT_URL_*`.
async fn deployment() -> (Vec<(String, String)>, String) {
    // A short bucket name: s3s-fs keeps a side file per object named by the base64 of bucket and key, and an
    // OCI blob's key (`oci/<registry>/blobs/sha256/<hex>-<ulid>`) with `runtime-<ulid>` passes 255 bytes.
    let (table, bucket) = (services::unique_name("runtime"), services::unique_name("rt"));
    let access_key = std::env::var("PACKYARD_TEST_S3_ACCESS_KEY").expect("the S3 server's access key");
    let secret_key = std::env::var("PACKYARD_TEST_S3_SECRET_KEY").expect("the S3 server's secret key");
    let dynamodb_url = std::env::var("PACKYARD_TEST_DYNAMODB_URL").expect("DynamoDB Local");
    // DynamoDB Local keeps one database per access key: set up with the key the functions sign with.
    let dynamodb = packyard::adapters::aws_sdk::defaults()
        .endpoint_url(&dynamodb_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(&access_key, &secret_key, None, None, "t"))
        .load()
        .await;
    DynamoDbStore::create_table(&aws_sdk_dynamodb::Client::new(&dynamodb), &table).await.expect("table");
    services::s3().await.create_bucket().bucket(&bucket).send().await.expect("bucket");

    let secrets_key = SecretsKey::generate_text();
    // The functions read the key from Secrets Manager at cold start, as on AWS (moto stands in).
    let secret = aws_sdk_secretsmanager::Client::new(&services::moto().await)
        .create_secret()
        .name(services::unique_name("packyard-secrets-key"))
        .secret_string(&secrets_key)
        .send()
        .await
        .expect("a secret in moto");
    let secret_arn = secret.arn().expect("the secret's ARN").to_owned();
    let mut config = Config::default();
    config.links.secrets_key = Some(SecretsKey::from_text(&secrets_key).unwrap());
    let targets = AwsTargets {
        dynamodb: dynamodb.clone(),
        s3: services::s3_config().await,
        sts: services::moto().await,
        table: table.clone(),
        bucket: bucket.clone(),
        path_style: true,
        calls: None,
    };
    let state = aws_state(config, targets);
    let store = std::sync::Arc::new(DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&dynamodb), &table));
    let router = finish(all_routes(&state), &state.config);
    let app = TestApp::serving(state, store, router).await;
    for (name, ecosystem) in [
        ("tools", "files"),
        ("js", "npm"),
        ("rs", "cargo"),
        ("py", "python"),
        ("images", "oci"),
        ("gems", "ruby"),
        ("jv", "maven"),
        ("debs", "debian"),
        ("rpms", "rpm"),
    ] {
        app.create_registry(name, ecosystem).await;
    }
    let env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret_key.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_url.as_str()),
        ("AWS_ENDPOINT_URL_S3", &std::env::var("PACKYARD_TEST_S3_URL").unwrap()),
        ("AWS_ENDPOINT_URL_STS", &std::env::var("PACKYARD_TEST_MOTO_URL").unwrap()),
        ("PACKYARD_TABLE", table.as_str()),
        ("PACKYARD_BUCKET", bucket.as_str()),
        ("PACKYARD_AWS_ACCOUNT_ID", services::MOTO_ACCOUNT_ID),
        ("PACKYARD_LINK_TEMPLATE_URL", "https://t.s3.us-east-1.amazonaws.com/private-storage-link/v{version}/t.yaml"),
        ("PACKYARD_SECRETS_KEY_ARN", secret_arn.as_str()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &std::env::var("PACKYARD_TEST_MOTO_URL").unwrap()),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
        ("RUST_LOG", "info"),
        ("PACKYARD_PUBLIC_URL", ""),
        ("PACKYARD_LINK_SESSION_SECONDS", "3600"),
        // What the template's LoggingConfig makes Lambda set.
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
    ];
    (env.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(), app.admin_token.clone())
}

/// What Lambda itself sets, or the test adds in place of the execution role: every function gets these.
const LAMBDA_ENV: [&str; 9] = [
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
];

/// The environment `function` runs with: Lambda's, and exactly the variables `template.yaml` gives that
/// function (as SAM translates it, Globals merged), filled from `values`. A variable the template stops
/// giving a function is missing here too.
fn environment_of(function: &str, values: &[(String, String)], template: &[Function]) -> Vec<(String, String)> {
    let Some(declared) = template.iter().find(|f| f.stem == function) else {
        panic!("template.yaml has no function for functions/{function}")
    };
    let mut env: Vec<_> = values.iter().filter(|(k, _)| LAMBDA_ENV.contains(&k.as_str())).cloned().collect();
    for name in &declared.environment {
        let value = values.iter().find(|(k, _)| k == name);
        env.push(value.cloned().unwrap_or_else(|| {
            panic!("{function}: template.yaml sets {name}, which tests/lambda_runtime.rs does not know how to fill")
        }));
    }
    env
}

type Check = fn(&Answer);

/// What a fixture must get: its status, and a check of the answer's shape.
type Expectation = (&'static str, u16, Box<dyn Fn(&Answer)>);

fn management_error(field: Option<&'static str>) -> impl Fn(&Answer) {
    move |answer: &Answer| {
        let body = answer.json();
        assert!(answer.header("content-type").starts_with("application/json"), "{answer:?}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        assert!(body["request_id"].as_str().is_some_and(|id| id.starts_with("evt-")), "{body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{body}");
        }
    }
}

/// Every fixture's expectation, in the order they run.
fn expectations() -> Vec<Expectation> {
    let json_ok: Check = |a| assert!(a.json().is_object(), "a JSON object: {a:?}");
    let empty: Check = |a| assert!(a.body.is_empty(), "HEAD answers carry no body: {a:?}");
    vec![
        (
            "registries.create",
            201,
            Box::new(|a: &Answer| {
                assert_eq!(
                    a.header("location"),
                    "https://abc123.execute-api.us-east-1.amazonaws.com/v1/organizations/acme/registries/front-end"
                );
            }),
        ),
        ("registries.create-invalid-color", 422, Box::new(management_error(Some("color")))),
        ("registries.create-malformed", 400, Box::new(management_error(None))),
        ("registries.list", 200, Box::new(json_ok)),
        // The console's session cookie, which API Gateway hands over in the event's `cookies` list.
        (
            "registries.list-session-cookie",
            200,
            Box::new(|a: &Answer| assert!(a.json()["registries"].as_array().is_some(), "{a:?}")),
        ),
        ("registries.get", 200, Box::new(json_ok)),
        ("registries.openapi", 200, Box::new(|a: &Answer| assert_eq!(a.json()["openapi"], "3.1.0", "{a:?}"))),
        ("registries.update", 200, Box::new(json_ok)),
        ("registries.update-ecosystem", 422, Box::new(management_error(Some("ecosystem")))),
        ("registries.delete", 204, Box::new(empty)),
        (
            "console.page",
            200,
            Box::new(|a: &Answer| {
                assert_eq!(a.header("content-type"), "text/html; charset=utf-8", "{a:?}");
                assert_eq!(a.header("content-encoding"), "gzip", "{a:?}");
                let mut page = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(a.body.as_slice()), &mut page)
                    .expect("a gzipped page");
                assert!(page.starts_with("<!doctype html>"), "{page}");
            }),
        ),
        (
            "console.sign-in",
            201,
            Box::new(|a: &Answer| {
                assert_eq!(a.json()["organization"], "acme", "{a:?}");
                let cookie = a.cookies.first().map(String::as_str).unwrap_or_default();
                assert!(cookie.starts_with("packyard_session=pky_"), "{a:?}");
                assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
                assert!(cookie.ends_with("; Secure"), "API Gateway is HTTPS only: {cookie}");
            }),
        ),
        ("console.sign-in-cross-site", 403, Box::new(management_error(None))),
        ("console.session-cookie", 200, Box::new(|a: &Answer| assert_eq!(a.json()["organization"], "acme", "{a:?}"))),
        ("tokens.create", 201, Box::new(|a: &Answer| assert!(a.json()["token"].is_string(), "{a:?}"))),
        ("tokens.create-unknown-scope", 422, Box::new(management_error(Some("scopes[0]")))),
        // Sealed with the key read through PACKYARD_SECRETS_KEY_ARN: a 503 if the template stops giving it.
        ("tokens.create-registry-token", 201, Box::new(|a: &Answer| assert!(a.json()["token"].is_string(), "{a:?}"))),
        (
            "audit-events.list",
            200,
            Box::new(|a: &Answer| {
                assert!(a.json()["audit_events"].as_array().is_some_and(|events| !events.is_empty()), "{a:?}");
                assert_eq!(a.header("x-request-id"), "evt-get-56716", "API Gateway's request id: {a:?}");
            }),
        ),
        // A body of every byte value, base64 in the event: stored intact only if the binary body survived.
        (
            "packages.publish",
            201,
            Box::new(|a: &Answer| {
                let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    (0..=255_u8).cycle().take(1024).collect::<Vec<_>>(),
                ));
                assert_eq!(a.json()["files"][0]["sha256"], sha256, "{a:?}");
            }),
        ),
        ("packages.publish-no-file", 400, Box::new(management_error(None))),
        ("packages.list", 200, Box::new(json_ok)),
        ("packages.list-head", 200, Box::new(empty)),
        (
            "packages.download-file",
            302,
            Box::new(|a: &Answer| {
                assert!(a.header("location").contains("X-Amz-Signature="), "a presigned URL: {a:?}");
            }),
        ),
        (
            "packages.head-file",
            200,
            Box::new(|a: &Answer| {
                assert!(a.body.is_empty(), "{a:?}");
                assert_eq!(a.header("content-length"), "1024", "{a:?}");
            }),
        ),
        // An oci registry's images through the packages API; `~` and `:` of an image id survive the path.
        (
            "packages.list-images",
            200,
            Box::new(|a: &Answer| assert_eq!(a.json()["packages"], Value::Array(Vec::new()), "{a:?}")),
        ),
        (
            "packages.get-image-unknown",
            404,
            Box::new(|a: &Answer| {
                management_error(None)(a);
                assert!(a.json()["error"]["message"].as_str().unwrap_or_default().contains("team~app:v1"), "{a:?}");
            }),
        ),
        ("npm.publish", 201, Box::new(json_ok)),
        (
            "npm.publish-malformed",
            400,
            Box::new(|a: &Answer| {
                assert!(a.json()["error"].as_str().is_some_and(|m| !m.is_empty()), "npm's error shape: {a:?}");
            }),
        ),
        (
            "npm.packument",
            200,
            Box::new(|a: &Answer| {
                let tarball = a.json()["versions"]["1.0.0"]["dist"]["tarball"].as_str().unwrap_or_default().to_owned();
                assert!(
                    tarball.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/npm/acme/js/"),
                    "{a:?}"
                );
            }),
        ),
        (
            "cargo.config",
            200,
            Box::new(|a: &Answer| {
                assert_eq!(
                    a.json()["api"],
                    "https://abc123.execute-api.us-east-1.amazonaws.com/cargo/acme/rs",
                    "{a:?}"
                );
            }),
        ),
        ("cargo.publish", 200, Box::new(json_ok)),
        (
            "cargo.publish-truncated",
            400,
            Box::new(|a: &Answer| {
                assert!(
                    a.json()["errors"][0]["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "cargo's shape: {a:?}"
                );
            }),
        ),
        (
            "cargo.index-file",
            200,
            Box::new(|a: &Answer| {
                let line: Value = serde_json::from_str(a.text().lines().next().unwrap_or_default()).unwrap_or_default();
                assert_eq!(line["vers"], "1.0.0", "one JSON line per version: {a:?}");
            }),
        ),
        ("pypi.upload", 200, Box::new(|_: &Answer| {})),
        ("pypi.upload-wrong-digest", 400, Box::new(|a: &Answer| assert!(a.text().contains("SHA-256"), "{a:?}"))),
        (
            "storage-links.create",
            201,
            Box::new(|a: &Answer| {
                let link = a.json();
                assert_eq!(
                    link["kms_key_arn"],
                    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                );
                let url = link["launch_stack_url"].as_str().unwrap_or_default();
                assert!(
                    url.contains("private-storage-link%2Fv2%2F") && url.contains("&param_KmsKeyArn=arn%3Aaws%3Akms"),
                    "{url}"
                );
            }),
        ),
        ("maven.deploy-jar", 201, Box::new(|_: &Answer| {})),
        ("maven.deploy-checksum", 201, Box::new(|_: &Answer| {})),
        (
            "maven.deploy-wrong-checksum",
            400,
            Box::new(|a: &Answer| assert_eq!(a.json()["error"]["code"], "checksum_mismatch", "{a:?}")),
        ),
        ("maven.metadata", 200, Box::new(|a: &Answer| assert!(a.text().contains("<release>1.0.0</release>"), "{a:?}"))),
        ("maven.download-jar", 302, Box::new(|a: &Answer| assert!(!a.header("location").is_empty(), "{a:?}"))),
        (
            "maven.metadata-anonymous",
            401,
            Box::new(|a: &Answer| assert!(a.header("www-authenticate").starts_with("Basic"), "{a:?}")),
        ),
        (
            "debian.gpgkey",
            200,
            Box::new(|a: &Answer| assert!(a.text().contains("BEGIN PGP PUBLIC KEY BLOCK"), "{a:?}")),
        ),
        (
            "debian.in-release",
            200,
            Box::new(|a: &Answer| {
                assert!(a.text().starts_with("-----BEGIN PGP SIGNED MESSAGE-----"), "{a:?}");
                assert!(a.text().contains("Acquire-By-Hash: yes"), "{a:?}");
            }),
        ),
        // Seals the new key with the key read through PACKYARD_SECRETS_KEY_ARN: a 503 if the template stops
        // giving it to the registries function.
        (
            "registries.rotate-signing-key",
            201,
            Box::new(|a: &Answer| {
                let keys = a.json()["keys"].as_array().cloned().unwrap_or_default();
                assert_eq!(keys.len(), 2, "{a:?}");
                assert_eq!((keys[0]["state"].as_str(), keys[1]["state"].as_str()), (Some("current"), Some("retiring")));
            }),
        ),
        ("debian.in-release-anonymous", 401, Box::new(|_: &Answer| {})),
        (
            "rpm.repo-file",
            200,
            Box::new(|a: &Answer| {
                let repo = a.text();
                assert!(
                    repo.contains("baseurl=https://abc123.execute-api.us-east-1.amazonaws.com/rpm/acme/rpms"),
                    "{a:?}"
                );
                assert!(repo.contains("repo_gpgcheck=1"), "{a:?}");
            }),
        ),
        ("rpm.gpgkey", 200, Box::new(|a: &Answer| assert!(a.text().contains("BEGIN PGP PUBLIC KEY BLOCK"), "{a:?}"))),
        ("rpm.repomd", 200, Box::new(|a: &Answer| assert!(a.text().contains("-primary.xml.gz\"/>"), "{a:?}"))),
        ("rpm.repomd-anonymous", 401, Box::new(|_: &Answer| {})),
        ("storage-links.create-invalid-kms-key", 422, Box::new(management_error(Some("kms_key_arn")))),
        ("storage-links.list", 200, Box::new(json_ok)),
        ("oci.base", 200, Box::new(|_: &Answer| {})),
        (
            "oci.base-anonymous",
            401,
            // The function has the secrets key, so it signs registry tokens: the challenge leads to /v2/token on
            // the API's own host.
            Box::new(|a: &Answer| {
                let challenge = a.header("www-authenticate");
                assert!(
                    challenge
                        .starts_with("Bearer realm=\"https://abc123.execute-api.us-east-1.amazonaws.com/v2/token\""),
                    "{a:?}"
                );
            }),
        ),
        ("ruby.push", 200, Box::new(|a: &Answer| assert!(a.text().contains("acme-greet (1.0.0)"), "{a:?}"))),
        ("ruby.push-not-a-gem", 400, Box::new(|a: &Answer| assert!(a.text().contains(".gem"), "{a:?}"))),
        (
            "ruby.versions",
            200,
            Box::new(|a: &Answer| {
                assert!(a.text().lines().any(|line| line.starts_with("acme-greet 1.0.0 ")), "{a:?}");
                assert!(a.header("etag").starts_with('"'), "{a:?}");
            }),
        ),
        (
            "oci.put-manifest-unknown-blob",
            400,
            Box::new(|a: &Answer| assert_eq!(a.json()["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN", "{a:?}")),
        ),
    ]
}

#[tokio::test]
async fn every_function_binary_answers_its_event_fixtures_through_the_lambda_runtime_api() {
    let started = Instant::now();
    let (values, token) = deployment().await;
    let template = {
        let table = values.iter().find(|(k, _)| k == "PACKYARD_TABLE").unwrap();
        let bucket = values.iter().find(|(k, _)| k == "PACKYARD_BUCKET").unwrap();
        policy::functions(&table.1, &bucket.1)
    };
    let expectations = expectations();
    let mut unused: Vec<String> = fixtures();
    for function in functions() {
        let env = environment_of(&function, &values, &template);
        let mut process = FunctionProcess::start(&function, &env).await;
        if function == "link-template" {
            publishes_the_link_template(&mut process, &env).await;
            unused.retain(|f| f != "link-template.create");
            continue;
        }
        if function == "housekeeping" {
            let Outcome::Response(report) = process.invoke(event("housekeeping.scheduled", &token)).await else {
                panic!("housekeeping failed; its log:\n{}", process.log_text())
            };
            assert!(report.is_object(), "housekeeping answers its report: {report}");
            unused.retain(|f| f != "housekeeping.scheduled");
            continue;
        }
        let prefix = format!("{function}.");
        let mine: Vec<_> = expectations.iter().filter(|(fixture, ..)| fixture.starts_with(&prefix)).collect();
        assert!(!mine.is_empty(), "no event fixture exercises the {function} function");
        for (fixture, status, check) in mine {
            let answer = answer(fixture, process.invoke(event(fixture, &token)).await);
            assert_eq!(
                answer.status,
                *status,
                "{fixture}: {}\n{function}'s log:\n{}",
                answer.text(),
                process.log_text()
            );
            check(&answer);
            unused.retain(|f| f != fixture);
        }
    }
    assert!(unused.is_empty(), "event fixtures no function was given: {unused:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

/// The custom resource puts the template under its version's key and answers CloudFormation SUCCESS.
async fn publishes_the_link_template(process: &mut FunctionProcess, env: &[(String, String)]) {
    let templates = format!("{}-templates", env.iter().find(|(k, _)| k == "PACKYARD_BUCKET").unwrap().1);
    let s3 = services::s3().await;
    s3.create_bucket().bucket(&templates).send().await.expect("templates bucket");
    let mut event = event("link-template.create", "");
    event["ResponseURL"] = process.runtime.response_url("create").into();
    event["ResourceProperties"]["Bucket"] = templates.clone().into();
    let Outcome::Response(_) = process.invoke(event).await else {
        panic!("link-template failed; its log:\n{}", process.log_text())
    };
    let answer = process.runtime.cloudformation_response("create").expect("CloudFormation was answered");
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["LogicalResourceId"], "LinkTemplate", "{answer}");
    let key = link_template::key(packyard::config::LINK_TEMPLATE_VERSION);
    assert_eq!(answer["Data"]["Key"], key.as_str(), "{answer}");
    let object = s3.get_object().bucket(&templates).key(&key).send().await.expect("the published template");
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(body, link_template::TEMPLATE.as_bytes(), "the template as it is in cloudformation/");
}

#[tokio::test]
async fn a_function_without_its_table_stops_at_start_naming_the_variable() {
    let (env, _) = deployment().await;
    let env: Vec<_> = env.into_iter().filter(|(k, _)| k != "PACKYARD_TABLE").collect();
    let mut process = FunctionProcess::start("registries", &env).await;
    let status = process.wait(Duration::from_secs(10)).expect("the function exits");
    assert!(!status.success());
    assert!(process.log_text().contains("PACKYARD_TABLE"), "{}", process.log_text());
}

#[tokio::test]
async fn a_handler_failure_is_reported_to_the_runtime_api_as_an_invocation_error() {
    let (mut env, token) = deployment().await;
    for (key, value) in &mut env {
        if key == "PACKYARD_TABLE" {
            *value = services::unique_name("never-created");
        }
    }
    let mut process = FunctionProcess::start("housekeeping", &env).await;
    let Outcome::Error(error) = process.invoke(event("housekeeping.scheduled", &token)).await else {
        panic!("housekeeping on a missing table succeeded")
    };
    assert!(error["errorType"].is_string() && error["errorMessage"].is_string(), "{error}");
}

#[tokio::test]
async fn a_changed_template_under_a_published_version_fails_the_deploy() {
    let (env, _) = deployment().await;
    let templates = services::unique_name("templates");
    let s3 = services::s3().await;
    s3.create_bucket().bucket(&templates).send().await.expect("templates bucket");
    let key = link_template::key(packyard::config::LINK_TEMPLATE_VERSION);
    s3.put_object().bucket(&templates).key(&key).body(b"an older edit".to_vec().into()).send().await.unwrap();
    let mut process = FunctionProcess::start("link-template", &env).await;
    let mut update = event("link-template.create", "");
    update["RequestType"] = "Update".into();
    update["ResponseURL"] = process.runtime.response_url("update").into();
    update["ResourceProperties"]["Bucket"] = templates.clone().into();
    process.invoke(update).await;
    let answer = process.runtime.cloudformation_response("update").expect("CloudFormation was answered");
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(answer["Reason"].as_str().unwrap_or_default().contains("bump TemplateVersion"), "{answer}");
    let kept = s3.get_object().bucket(&templates).key(&key).send().await.unwrap().body.collect().await.unwrap();
    assert_eq!(kept.into_bytes(), b"an older edit".as_slice(), "a published version is never rewritten");
}
