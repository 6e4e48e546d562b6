//! `template.yaml` as AWS deploys it: translated offline by SAM's translator (translate.py), each function's
//! HttpApi paths and inline policy statements, with `!Sub`/`!GetAtt` resolved to the test's table and bucket.

use std::collections::BTreeMap;
use std::process::Command;

use packyard::adapters::aws_calls::AwsCall;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One function of the template.
pub struct Function {
    /// `PackagesFunction` → `packages`, the stem of its binary and route group.
    pub stem: String,
    /// Its HttpApi routes, as API Gateway matches them.
    pub paths: Vec<String>,
    /// `(action, resource ARN pattern)` for every Allow statement.
    pub grants: Vec<(String, String)>,
    /// The names of the environment variables the template gives it (Globals merged in).
    pub environment: Vec<String>,
}

/// The test's stand-in for `LinkTemplateBucket`, beside its `PackagesBucket`.
pub fn templates_bucket(bucket: &str) -> String {
    format!("{bucket}-templates")
}

/// `RegistriesFunction` → `registries`, `StorageLinksFunction` → `storage-links`.
fn stem(logical_id: &str) -> String {
    let name = logical_id.strip_suffix("Function").unwrap_or(logical_id);
    let mut stem = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            stem.push('-');
        }
        stem.push(c.to_ascii_lowercase());
    }
    stem
}

/// Translates the repository's `template.yaml` with the Python that ships SAM (`PACKYARD_SAM_PYTHON`, set by
/// `scripts/test`) and resolves its references to `table` and `bucket`.
pub fn functions(table: &str, bucket: &str) -> Vec<Function> {
    let python = std::env::var("PACKYARD_SAM_PYTHON")
        .expect("PACKYARD_SAM_PYTHON is not set: run the suite with `bash scripts/test`, which installs aws-sam-cli");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(python)
        .arg(format!("{root}/tests/aws_policy/translate.py"))
        .arg(format!("{root}/template.yaml"))
        .output()
        .expect("run SAM's translator");
    assert!(output.status.success(), "SAM's translator failed: {}", String::from_utf8_lossy(&output.stderr));
    let translated: BTreeMap<String, Value> = serde_json::from_slice(&output.stdout).expect("the translator's JSON");
    let resolve = |value: &Value| resolve(value, table, bucket);
    translated
        .into_iter()
        .map(|(logical_id, function)| {
            let mut grants = Vec::new();
            for statement in function["statements"].as_array().expect("statements") {
                assert_eq!(statement["Effect"], "Allow", "{logical_id}: only Allow statements are modelled");
                for action in strings(&statement["Action"]) {
                    for resource in one_or_many(&statement["Resource"]) {
                        grants.push((action.clone(), resolve(resource)));
                    }
                }
            }
            let paths =
                function["paths"].as_array().expect("paths").iter().map(|p| p.as_str().unwrap().into()).collect();
            let environment = strings(&function["environment"]);
            Function { stem: stem(&logical_id), paths, grants, environment }
        })
        .collect()
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    value.as_array().map_or_else(|| vec![value], |values| values.iter().collect())
}

fn strings(value: &Value) -> Vec<String> {
    one_or_many(value).into_iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
}

fn resolve(value: &Value, table: &str, bucket: &str) -> String {
    let attribute = |resource: &str| match resource {
        "MetadataTable.Arn" => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"),
        "PackagesBucket.Arn" => format!("arn:aws:s3:::{bucket}"),
        "LinkTemplateBucket.Arn" => format!("arn:aws:s3:::{}", templates_bucket(bucket)),
        "AWS::Partition" => "aws".into(),
        "AWS::AccountId" => ACCOUNT.into(),
        "AWS::Region" => REGION.into(),
        other => panic!("the policy proof cannot resolve {other}; teach tests/aws_policy/policy.rs what it is"),
    };
    if let Some(text) = value.as_str() {
        return text.to_owned();
    }
    if let Some(get_att) = value.get("Fn::GetAtt") {
        return attribute(&format!("{}.{}", get_att[0].as_str().unwrap(), get_att[1].as_str().unwrap()));
    }
    // `!Ref SecretsKey` is the secret's ARN; its random suffix is not known before deploy.
    if value.get("Ref").and_then(Value::as_str) == Some("SecretsKey") {
        return format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:packyard-secrets-key-*");
    }
    let sub = value.get("Fn::Sub").and_then(Value::as_str).unwrap_or_else(|| panic!("unsupported resource {value}"));
    let mut resolved = String::new();
    let mut rest = sub;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("a closed ${") + start;
        resolved.push_str(&rest[..start]);
        resolved.push_str(&attribute(&rest[start + 2..end]));
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    resolved
}

/// The IAM action and resource ARN one recorded call needs; `None` for an operation the proof does not know,
/// which the test reports rather than letting pass.
pub fn needs(call: &AwsCall) -> Option<(String, String)> {
    let action = match (call.service.as_str(), call.operation.as_str()) {
        ("DynamoDB", "GetItem" | "Query") => call.operation.clone(),
        ("DynamoDB", "TransactWriteItems:Put") => "PutItem".into(),
        ("DynamoDB", "TransactWriteItems:Delete") => "DeleteItem".into(),
        ("DynamoDB", "TransactWriteItems:Update") => "UpdateItem".into(),
        ("DynamoDB", "TransactWriteItems:ConditionCheck") => "ConditionCheckItem".into(),
        ("S3", "GetObject" | "HeadObject" | "CopyObject:Source") => "GetObject".into(),
        ("S3", "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "CopyObject") => {
            "PutObject".into()
        }
        ("S3", "DeleteObject" | "AbortMultipartUpload" | "PutObjectTagging") => call.operation.clone(),
        ("STS", "AssumeRole") => "AssumeRole".into(),
        _ => return None,
    };
    let resource = match call.service.as_str() {
        "DynamoDB" => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", call.resource),
        "S3" => format!("arn:aws:s3:::{}", call.resource),
        _ => call.resource.clone(),
    };
    Some((format!("{}:{action}", call.service.to_lowercase()), resource))
}

/// IAM's wildcard match: `*` any run of characters, `?` any one, letters compared ignoring case.
pub fn matches(pattern: &str, text: &str) -> bool {
    packyard::domain::oidc::glob_matches_by(pattern, text, |a, b| a.eq_ignore_ascii_case(&b))
}

/// Whether `grants` allow `action` on `resource` (actions match case-insensitively, resources exactly).
pub fn allows(grants: &[(String, String)], action: &str, resource: &str) -> bool {
    grants.iter().any(|(a, r)| matches(&a.to_lowercase(), &action.to_lowercase()) && matches(r, resource))
}

/// The function API Gateway would route `path` to: of the matching routes, the one with the most literal text.
pub fn route<'a>(functions: &'a [Function], path: &str) -> Option<&'a Function> {
    functions
        .iter()
        .flat_map(|f| f.paths.iter().map(move |p| (f, p)))
        .filter(|(_, template)| route_matches(template, path))
        .max_by_key(|(_, template)| template.split('/').filter(|s| !s.starts_with('{')).map(str::len).sum::<usize>())
        .map(|(f, _)| f)
}

fn route_matches(template: &str, path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    for part in template.trim_start_matches('/').split('/') {
        if part.ends_with("+}") {
            return segments.next().is_some_and(|s| !s.is_empty());
        }
        match segments.next() {
            Some(segment) if part.starts_with('{') && !segment.is_empty() => {}
            Some(segment) if segment == part => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

#[test]
fn wildcards_and_routes_match_as_iam_and_api_gateway_do() {
    assert!(matches("arn:aws:iam::*:role/packyard-storage-*", "arn:aws:iam::123456789012:role/packyard-storage-l1"));
    assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
    assert!(matches("s3:*", "s3:getobject"));
    assert!(route_matches("/npm/{org}/{registry}/{proxy+}", "/npm/acme/js/a/b"));
    assert!(!route_matches("/v1/organizations/{org}/registries", "/v1/organizations/acme/registries/x"));
    assert_eq!(stem("StorageLinksFunction"), "storage-links");
}
