//! AWS links end to end against moto: the link's Launch Stack parameters create a stack from
//! `cloudformation/private-storage-link.yaml`, whose role Packyard finds by name and assumes through STS,
//! then the diagnostic, the default storage and the resolver's session-bound store.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter};
use bytes::Bytes;
use http::StatusCode;
use packyard::adapters::link_clients::LinkClients;
use packyard::domain::names::OrgSlug;
use packyard::domain::storage::StorageRef;
use packyard::domain::storage_names::LinkId;
use packyard::ports::blob::StorageKey;
use packyard_tests::app::TestApp;
use packyard_tests::services;
use serde_json::{Value, json};

use super::{LINKS, link_config};

async fn app() -> TestApp {
    TestApp::with_links(link_config(), Some(LinkClients::with_config(services::moto().await))).await
}

pub(crate) fn moto_s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// What the console's quick-create page would read from the Launch Stack URL.
fn launch_parameters(link: &Value) -> HashMap<String, String> {
    let url = link["launch_stack_url"].as_str().expect("an AWS link has a Launch Stack URL");
    let (_, query) = url.split_once("#/stacks/quickcreate?").expect("a quick-create URL");
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Creates the stack as the customer would by following the link, and returns its outputs.
pub(crate) async fn launch_stack(config: &aws_config::SdkConfig, link: &Value) -> HashMap<String, String> {
    let parameters = launch_parameters(link);
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../cloudformation/private-storage-link.yaml"))
            .expect("the link template");
    let cloudformation = aws_sdk_cloudformation::Client::new(config);
    let stack = &parameters["stackName"];
    let mut create = cloudformation
        .create_stack()
        .stack_name(stack)
        .template_body(template)
        .capabilities(Capability::CapabilityNamedIam);
    for (key, value) in parameters.iter().filter_map(|(k, v)| k.strip_prefix("param_").map(|k| (k, v))) {
        create = create.parameters(Parameter::builder().parameter_key(key).parameter_value(value).build());
    }
    create.send().await.expect("create the stack in moto");
    let described = cloudformation.describe_stacks().stack_name(stack).send().await.expect("describe the stack");
    let stack = &described.stacks()[0];
    assert_eq!(stack.stack_status().map(|s| s.as_str()), Some("CREATE_COMPLETE"), "{stack:?}");
    stack.outputs().iter().map(|o| (o.output_key().unwrap().to_owned(), o.output_value().unwrap().to_owned())).collect()
}

fn steps(reply: &Value) -> Vec<(String, bool)> {
    reply["diagnostic"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| (step["step"].as_str().unwrap().to_owned(), step["passed"].as_bool().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_linked_bucket_passes_its_diagnostic_becomes_the_default_and_stores_files() {
    let app = app().await;
    let moto = services::moto().await;
    let bucket = services::unique_name("customer");
    moto_s3(&moto).create_bucket().bucket(&bucket).send().await.expect("customer bucket");
    let link = app
        .post(
            LINKS,
            json!({"provider": "aws", "region": "us-east-1", "bucket": bucket, "path": "/packyard/",
            "account_id": services::MOTO_ACCOUNT_ID}),
        )
        .await
        .json;
    let id = link["id"].as_str().unwrap().to_owned();

    let outputs = launch_stack(&moto, &link).await;
    assert_eq!(outputs["RoleArn"], link["role_arn"].as_str().unwrap(), "Packyard derives the role the stack made");
    assert_eq!(outputs["TemplateVersion"], packyard::config::LINK_TEMPLATE_VERSION.to_string());

    let reply = app.post(&format!("{LINKS}/{id}/diagnostic"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let names = ["assume_role", "put_object", "get_object", "put_object_tagging", "delete_object"];
    assert_eq!(steps(&reply.json), names.map(|name| (name.to_owned(), true)).to_vec(), "{}", reply.json);
    assert_eq!(reply.json["status"], "active");
    assert_eq!(app.get(&format!("{LINKS}/{id}/diagnostic")).await.json["diagnostic"]["passed"], true);

    let storage = app.put("/v1/organizations/acme/storage", json!({"default": {"link": id}})).await;
    assert_eq!(storage.status, StatusCode::OK, "{}", storage.json);
    assert_eq!(storage.json["location"], format!("s3://{bucket}/packyard/"));
    let in_use = app.delete(&format!("{LINKS}/{id}")).await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert!(in_use.error_message().contains("default storage"), "{}", in_use.json);

    // The resolver's store writes into the customer's bucket under the link's path, through the role.
    let org = OrgSlug::try_from("acme").unwrap();
    let (default, store) = app.state.storage.default_storage(&org).await.unwrap();
    assert_eq!(default, StorageRef::Link(LinkId::try_from(id.as_str()).unwrap()));
    let key = StorageKey::parse("registries/r1/pkg-1.0.0.tgz").unwrap();
    store.put(&key, Bytes::from_static(b"package bytes")).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"package bytes"));
    let object = moto_s3(&moto).get_object().bucket(&bucket).key("packyard/registries/r1/pkg-1.0.0.tgz").send().await;
    assert!(object.is_ok(), "the file is in the customer's bucket under the link's path");

    // Presigned URLs never outlive the assumed-role session that signs them.
    let left = app.state.storage.credentials_remaining(&org, &default).await.unwrap().expect("a session");
    assert!(left > Duration::from_secs(15 * 60) && left <= Duration::from_secs(3600), "{left:?}");
    let url = store.presign_get(&key, Duration::from_secs(7 * 24 * 3600)).await.unwrap();
    let expires: u64 =
        url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "X-Amz-Expires").unwrap().1.parse().unwrap();
    assert!(expires <= 3600, "a week was asked for, the session allows {expires} s");

    let hosted = app.put("/v1/organizations/acme/storage", json!({"default": "hosted"})).await;
    assert_eq!(hosted.json, json!({"default": "hosted", "location": "hosted"}));
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"package bytes"), "old files stay readable");
    assert_eq!(app.delete(&format!("{LINKS}/{id}")).await.status, StatusCode::NO_CONTENT);
    let actions: Vec<String> = app.get("/v1/organizations/acme/audit-events").await.json["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_owned())
        .collect();
    for action in ["storage_link.created", "storage_link.diagnosed", "storage.default_changed", "storage_link.deleted"]
    {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
}

#[tokio::test]
async fn a_missing_bucket_fails_the_put_step_with_a_reason_not_a_500() {
    let app = app().await;
    let moto = services::moto().await;
    let bucket = services::unique_name("never-created");
    let link = app
        .post(LINKS, json!({"provider": "aws", "region": "us-east-1", "bucket": bucket, "account_id": services::MOTO_ACCOUNT_ID}))
        .await
        .json;
    launch_stack(&moto, &link).await;
    let reply = app.post(&format!("{LINKS}/{}/diagnostic", link["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let put = &reply.json["diagnostic"]["steps"][1];
    assert_eq!(put["step"], "put_object");
    assert_eq!(put["passed"], false);
    assert_eq!(put["aws_error_code"], "NoSuchBucket");
    assert!(put["message"].as_str().unwrap().contains(&format!("bucket {bucket} does not exist")), "{put}");
    assert_eq!(reply.json["diagnostic"]["steps"][2]["skipped"], true);
    assert_eq!(reply.json["status"], "pending", "a link that never passed stays pending");
    let reply = app.put("/v1/organizations/acme/storage", json!({"default": {"link": link["id"]}})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Issue 3's walk-through: link → stack → diagnostic → default → a registry stores into the customer's
/// bucket → back to hosted → both files still download; a registry's own storage pins the link in use.
#[tokio::test]
async fn packages_follow_the_storage_in_force_when_published_and_stay_downloadable() {
    let app = app().await;
    let moto = services::moto().await;
    let bucket = services::unique_name("customer");
    moto_s3(&moto).create_bucket().bucket(&bucket).send().await.expect("customer bucket");
    let link = app
        .post(LINKS, json!({"provider": "aws", "region": "us-east-1", "bucket": bucket, "path": "/packyard/", "account_id": services::MOTO_ACCOUNT_ID}))
        .await
        .json;
    let id = link["id"].as_str().unwrap().to_owned();
    launch_stack(&moto, &link).await;
    assert_eq!(app.post(&format!("{LINKS}/{id}/diagnostic"), json!({})).await.json["status"], "active");
    assert_eq!(
        app.put("/v1/organizations/acme/storage", json!({"default": {"link": id}})).await.status,
        StatusCode::OK
    );

    app.create_registry("tools", "files").await;
    let linked = app.publish_file("tools", "linked-1.0.0.bin", b"in the customer's bucket").await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.json);
    assert_eq!(linked.json["files"][0]["storage"], format!("link:{id}"));
    let listed = moto_s3(&moto).list_objects_v2().bucket(&bucket).prefix("packyard/packages/").send().await.unwrap();
    assert_eq!(listed.contents().len(), 1, "the file landed under the link's path");

    app.put("/v1/organizations/acme/storage", json!({"default": "hosted"})).await;
    let hosted = app.publish_file("tools", "hosted-1.0.0.bin", b"in packyard's storage").await;
    assert_eq!(hosted.json["files"][0]["storage"], "hosted");

    // The linked file redirects to a URL presigned by the assumed role, in the customer's bucket.
    let download = app
        .get(&format!(
            "/v1/organizations/acme/registries/tools/packages/{}/download",
            linked.json["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(download.status, StatusCode::FOUND);
    let location = download.headers["location"].to_str().unwrap();
    assert!(location.contains(&bucket) && location.contains("X-Amz-Signature"), "{location}");
    let bytes = reqwest::get(location).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"in the customer's bucket");
    let hosted_download = app
        .get(&format!(
            "/v1/organizations/acme/registries/tools/packages/{}/download",
            hosted.json["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(app.follow(&hosted_download).await.1.as_ref(), b"in packyard's storage");

    // Deleting the linked package tags its object for the customer's lifecycle rule instead of removing it.
    let linked_id = linked.json["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/organizations/acme/registries/tools/packages/{linked_id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let key = listed.contents()[0].key().unwrap();
    let tags = moto_s3(&moto).get_object_tagging().bucket(&bucket).key(key).send().await.expect("the object is kept");
    let tagged: Vec<_> = tags.tag_set().iter().map(|tag| (tag.key(), tag.value())).collect();
    assert_eq!(tagged, [("packyard-deleted", "true")]);

    // A registry that writes to the link keeps it from being deleted, and is named.
    let pinned = app.patch("/v1/organizations/acme/registries/tools", json!({"storage": {"link": id}})).await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.json);
    let refused = app.delete(&format!("{LINKS}/{id}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.error_message().contains("tools"), "{}", refused.json);
    let unknown = app
        .patch("/v1/organizations/acme/registries/tools", json!({"storage": {"link": "01hzzzzzzzzzzzzzzzzzzzzzzz"}}))
        .await;
    assert_eq!(
        (unknown.status, unknown.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("storage"))
    );
}
