//! A name's index (npm packument, PyPI simple page, cargo index file) is joined from per-version index entries
//! written with each change: the same scenarios on the embedded store and on DynamoDB Local with the S3 server.
//! Concurrent publishes all show, a delete or yank shows in the very next read, a name from before index
//! entries gets them on its first read, and a name with more versions than one query page reads whole. The
//! abbreviated npm packument reads only its own entries, and a name from before them still shows every version.
//! Listings of a registry's names (`simple/`, cargo search) read one summary a name, kept through publishes and
//! deletes.

use std::sync::Arc;

use axum::body::Body;
use futures_util::StreamExt;
use http::{Method, Request, StatusCode};
use packyard::domain::audit::{Actor, Origin};
use packyard::domain::names::{OrgSlug, RegistrySlug};
use packyard::domain::package::{Digests, PackageFile};
use packyard::ports::metadata::{Condition, Item, WriteOp, query_all};
use packyard::service::Acting;
use packyard::service::packages::NewVersion;
use packyard_tests::app::{Reply, TestApp};
use packyard_tests::archives::{cargo_publish_body, crate_file, npm_document, npm_tarball};
use serde_json::{Value, json};

const ABBREVIATED: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const PEP_691: &str = "application/vnd.pypi.simple.v1+json";

async fn get(app: &TestApp, path: &str, accept: &str, authorization: String) -> Reply {
    let request = Request::get(path)
        .header("host", "packyard.test")
        .header("accept", accept)
        .header("authorization", authorization)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

async fn packument(app: &TestApp, name: &str, accept: &str) -> Reply {
    get(app, &format!("/npm/acme/js/{name}"), accept, format!("Bearer {}", app.admin_token)).await
}

async fn npm_publish(app: &TestApp, name: &str, version: &str) -> StatusCode {
    let request = Request::put(format!("/npm/acme/js/{name}"))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .body(Body::from(npm_document(name, version, &npm_tarball(name, version)).to_string()))
        .unwrap();
    app.send(request).await.status
}

fn versions(reply: &Reply) -> Vec<String> {
    let versions = reply.json["versions"].as_object().unwrap_or_else(|| panic!("no versions: {}", reply.text));
    versions.keys().cloned().collect()
}

async fn concurrent_publishes_all_show_and_a_delete_shows_at_once(app: TestApp) {
    app.create_registry("js", "npm").await;
    let app = Arc::new(app);
    let publishes: Vec<_> = (0..8)
        .map(|index| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { npm_publish(&app, "busy", &format!("1.0.{index}")).await })
        })
        .collect();
    for publish in publishes {
        assert_eq!(publish.await.unwrap(), StatusCode::CREATED);
    }
    let full = packument(&app, "busy", "application/json").await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text);
    assert_eq!(versions(&full).len(), 8, "{}", full.text);
    assert_eq!(full.json["time"].as_object().unwrap().len(), 10, "8 versions, created, modified: {}", full.text);
    assert!(full.json["_rev"].as_str().unwrap().starts_with("8-"), "{}", full.text);
    assert_eq!(
        full.json["versions"]["1.0.5"]["dist"]["tarball"],
        "http://packyard.test/npm/acme/js/busy/-/busy-1.0.5.tgz"
    );
    let latest = full.json["dist-tags"]["latest"].as_str().unwrap();
    assert!(full.json["versions"].get(latest).is_some(), "{}", full.text);
    let corgi = packument(&app, "busy", ABBREVIATED).await;
    assert_eq!((versions(&corgi).len(), corgi.json["modified"].is_string()), (8, true), "{}", corgi.text);

    let unpublish = Request::delete("/npm/acme/js/busy/-/busy-1.0.3.tgz/-rev/1")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(unpublish).await.status, StatusCode::OK);
    for accept in ["application/json", ABBREVIATED] {
        let after = packument(&app, "busy", accept).await;
        assert_eq!(versions(&after).len(), 7, "{}", after.text);
        assert!(after.json["versions"].get("1.0.3").is_none(), "{}", after.text);
    }
    assert_eq!(packument(&app, "nobody", "application/json").await.status, StatusCode::NOT_FOUND);
}

async fn cargo_and_pypi_yanks_show_in_the_next_read(app: TestApp) {
    app.create_registry("rs", "cargo").await;
    for version in ["0.1.0", "0.1.1"] {
        let metadata = json!({"name": "yanky", "vers": version, "deps": [], "features": {}});
        let request = Request::put("/cargo/acme/rs/api/v1/crates/new")
            .header("authorization", app.admin_token.clone())
            .body(Body::from(cargo_publish_body(&metadata, &crate_file("yanky", version))))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::OK);
    }
    let index = || get(&app, "/cargo/acme/rs/index/ya/nk/yanky", "*/*", app.admin_token.clone());
    assert_eq!(index().await.text.matches("\"yanked\":false").count(), 2);
    let yank = app.call(Method::DELETE, "/cargo/acme/rs/api/v1/crates/yanky/0.1.1/yank", Some(&app.admin_token), None);
    assert_eq!(yank.await.status, StatusCode::OK);
    let lines = index().await.text;
    assert!(
        lines
            .lines()
            .nth(1)
            .is_some_and(|line| line.contains("\"vers\":\"0.1.1\"") && line.contains("\"yanked\":true"))
    );
    assert!(lines.lines().next().is_some_and(|line| line.contains("\"yanked\":false")), "{lines}");

    app.create_registry("py", "python").await;
    for file in ["pkg-1.0.tar.gz", "pkg-1.0-py3-none-any.whl", "pkg-1.1.tar.gz"] {
        assert_eq!(crate::api::pypi::upload(&app, file, file.as_bytes(), &[]).await.status, StatusCode::OK);
    }
    let yank = app.post("/pypi/acme/py/yank/pkg/1.0", json!({"reason": "broken"})).await;
    assert_eq!(yank.status, StatusCode::OK, "{}", yank.text);
    use base64::Engine;
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("__token__:{}", app.admin_token)));
    let page = get(&app, "/pypi/acme/py/simple/pkg/", PEP_691, basic.clone()).await;
    let page: Value = serde_json::from_str(&page.text).unwrap_or_else(|e| panic!("{e}: {}", page.text));
    let yanked: Vec<(&str, &Value)> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| (file["filename"].as_str().unwrap(), &file["yanked"]))
        .collect();
    assert_eq!(
        yanked,
        [
            ("pkg-1.0.tar.gz", &json!("broken")),
            ("pkg-1.0-py3-none-any.whl", &json!("broken")),
            ("pkg-1.1.tar.gz", &json!(false))
        ]
    );
    assert_eq!(page["versions"], json!(["1.0", "1.1"]));
    assert!(page["files"][0]["url"].as_str().unwrap().starts_with("http://packyard.test/pypi/acme/py/files/"));
    let html = get(&app, "/pypi/acme/py/simple/pkg/", "text/html", basic).await.text;
    assert_eq!(html.matches("<br>\n").count(), 3, "{html}");
    assert_eq!(html.matches("data-yanked=\"broken\"").count(), 2, "{html}");
    assert!(html.ends_with("</body>\n</html>\n"), "{html}");
}

/// A registry's items whose sort key contains `part`: `#TV#` for index entries (npm: the full ones), `#TAGS#0`
/// for npm's short entries (ids are ULIDs), `#TAGS#!` for the marker that says every version has one.
async fn items_like(app: &TestApp, registry_id: &str, part: &str) -> Vec<Item> {
    let items = query_all(app.store.as_ref(), format!("PKG#{registry_id}"), String::new()).await.unwrap();
    items.into_iter().filter(|item| item.sk.contains(part)).collect()
}

async fn delete_items(app: &TestApp, items: Vec<Item>) {
    let ops = items.into_iter().map(|item| WriteOp::delete(item.pk, item.sk, Condition::Exists)).collect();
    app.store.write(ops).await.unwrap();
}

fn parts(item: &Item) -> Vec<&str> {
    item.attributes["parts"].as_object().unwrap().keys().map(String::as_str).collect()
}

async fn a_name_from_before_index_entries_gets_them_on_its_first_read(app: TestApp) {
    let registry = app.create_registry("js", "npm").await;
    let registry_id = registry["id"].as_str().unwrap();
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(npm_publish(&app, "old", version).await, StatusCode::CREATED);
    }
    let mut entries = items_like(&app, registry_id, "#TV#").await;
    entries.extend(items_like(&app, registry_id, "#TAGS#").await);
    assert_eq!(entries.len(), 5, "two full entries, two short ones and the marker");
    delete_items(&app, entries).await;

    let full = packument(&app, "old", "application/json").await;
    assert_eq!(versions(&full), ["1.0.0", "1.1.0"], "{}", full.text);
    assert_eq!(items_like(&app, registry_id, "#TV#").await.len(), 2, "written back");
    assert_eq!(items_like(&app, registry_id, "#TAGS#0").await.len(), 2, "written back");
    assert_eq!(items_like(&app, registry_id, "#TAGS#!").await.len(), 1, "marked complete");
    let abbreviated = packument(&app, "old", ABBREVIATED).await;
    assert_eq!(versions(&abbreviated), ["1.0.0", "1.1.0"], "{}", abbreviated.text);
}

/// npm keeps each version's abbreviated rendering in an entry of its own, so `npm install`'s read takes the
/// dist-tags and those entries only: with the full entries unreadable it still lists every version.
async fn the_abbreviated_packument_reads_only_short_entries(app: TestApp) {
    let registry = app.create_registry("js", "npm").await;
    let registry_id = registry["id"].as_str().unwrap();
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(npm_publish(&app, "lean", version).await, StatusCode::CREATED);
    }
    let (full, short) = (items_like(&app, registry_id, "#TV#").await, items_like(&app, registry_id, "#TAGS#0").await);
    assert_eq!((full.len(), short.len()), (2, 2));
    assert!(full.iter().all(|item| parts(item) == ["full"]), "{full:?}");
    assert!(short.iter().all(|item| parts(item) == ["short"]), "{short:?}");
    assert_eq!(items_like(&app, registry_id, "#TAGS#!").await.len(), 1, "the first publish marks the name");

    let abbreviated = packument(&app, "lean", ABBREVIATED).await;
    let whole = packument(&app, "lean", "application/json").await;
    assert_eq!(
        (versions(&abbreviated), versions(&whole)),
        (vec!["1.0.0".into(), "1.1.0".into()], vec!["1.0.0".into(), "1.1.0".into()])
    );
    assert!(abbreviated.json["versions"]["1.0.0"].get("_id").is_none(), "{}", abbreviated.text);
    assert_eq!(whole.json["versions"]["1.0.0"]["_id"], "lean@1.0.0", "{}", whole.text);

    // Deleting a version removes both its entries.
    delete_version(&app, "js", "lean", "1.0.0").await;
    assert_eq!(items_like(&app, registry_id, "#TV#").await.len(), 1);
    assert_eq!(items_like(&app, registry_id, "#TAGS#0").await.len(), 1);
    assert_eq!(versions(&packument(&app, "lean", ABBREVIATED).await), ["1.1.0"]);

    // A full entry that no longer reads as one would fail any read that touched it.
    let mut garbled = items_like(&app, registry_id, "#TV#").await.remove(0);
    garbled.attributes = json!({"not": "an index entry"}).as_object().unwrap().clone();
    app.store.write(vec![WriteOp::put(garbled, Condition::Exists)]).await.unwrap();
    let abbreviated = packument(&app, "lean", ABBREVIATED).await;
    assert_eq!(versions(&abbreviated), ["1.1.0"], "{}", abbreviated.text);
    assert_eq!(packument(&app, "lean", "application/json").await.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// A name whose entries were written before short entries existed (each holding both renderings, no marker)
/// reads whole, and a version published to it later shows in both packuments once.
async fn a_name_from_before_short_entries_shows_every_version(app: TestApp) {
    let registry = app.create_registry("js", "npm").await;
    let registry_id = registry["id"].as_str().unwrap();
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(npm_publish(&app, "older", version).await, StatusCode::CREATED);
    }
    // Back to the old layout: each short rendering moved into its version's full entry, the marker gone.
    let short = items_like(&app, registry_id, "#TAGS#0").await;
    let mut ops = Vec::new();
    for mut entry in items_like(&app, registry_id, "#TV#").await {
        let id = entry.sk.rsplit('#').next().unwrap().to_owned();
        let its = short.iter().find(|item| item.sk.ends_with(&id)).unwrap();
        let rendering = its.attributes["parts"]["short"].clone();
        entry.attributes["parts"].as_object_mut().unwrap().insert("short".into(), rendering);
        ops.push(WriteOp::put(entry, Condition::Exists));
    }
    ops.extend(short.into_iter().map(|item| WriteOp::delete(item.pk, item.sk, Condition::Exists)));
    let marker = items_like(&app, registry_id, "#TAGS#!").await.remove(0);
    ops.push(WriteOp::delete(marker.pk, marker.sk, Condition::Exists));
    app.store.write(ops).await.unwrap();

    assert_eq!(npm_publish(&app, "older", "1.2.0").await, StatusCode::CREATED);
    assert!(items_like(&app, registry_id, "#TAGS#!").await.is_empty(), "no marker while older versions lack entries");
    let expected = ["1.0.0", "1.1.0", "1.2.0"];
    let abbreviated = packument(&app, "older", ABBREVIATED).await;
    assert_eq!(versions(&abbreviated), expected, "{}", abbreviated.text);
    assert!(abbreviated.text.matches("\"1.2.0\":{").count() == 1, "{}", abbreviated.text);
    assert!(abbreviated.json["versions"]["1.0.0"].get("_id").is_none(), "{}", abbreviated.text);
    let whole = packument(&app, "older", "application/json").await;
    assert_eq!(versions(&whole), expected, "{}", whole.text);
    assert_eq!(whole.json["versions"]["1.2.0"]["_id"], "older@1.2.0", "{}", whole.text);
    assert_eq!(whole.json["time"].as_object().unwrap().len(), 5, "{}", whole.text);
}

async fn a_name_with_more_versions_than_a_query_page_reads_whole(app: TestApp) {
    // A page ends at 1,000 items, or on DynamoDB at 1 MB: fewer, larger versions cross that sooner.
    let (versions_count, description) = if app.blob_dir.is_some() { (1_050, 100) } else { (400, 3_000) };
    app.create_registry("js", "npm").await;
    let registry = app
        .state
        .registries
        .get(&OrgSlug::try_from("acme").unwrap(), &RegistrySlug::try_from("js").unwrap())
        .await
        .unwrap()
        .0;
    let acting = Acting {
        actor: Actor { kind: "system".into(), id: "test".into(), name: "test".into() },
        origin: Origin { request_id: "test".into(), source_ip: "127.0.0.1".into() },
    };
    let file = PackageFile {
        filename: "many.tgz".into(),
        size: 1,
        digests: Digests::of(b"x"),
        storage: serde_json::from_value(json!("hosted")).unwrap(),
        key: "packages/none".into(),
    };
    // The records as a publish writes them, without storing a tarball a thousand times.
    let publishes = futures_util::stream::iter(0..versions_count).map(|index| {
        let (packages, acting, registry, file) = (app.state.packages.clone(), &acting, &registry, file.clone());
        let metadata = json!({"description": "x".repeat(description), "dependencies": {"left-pad": "^1.0.0"}});
        let tags = [("latest".to_owned(), format!("1.{index}.0"))].into();
        let new =
            NewVersion { name: "many".into(), version: format!("1.{index}.0"), files: vec![file], metadata, tags };
        async move {
            // Eight publishes of one name at once contend for its dist-tags record; the loser of a race
            // that kept losing is told to retry (409), and does, as a client would.
            let mut tries = 0;
            loop {
                tries += 1;
                match packages.publish(acting, registry, new.clone()).await {
                    Err(packyard::domain::error::Error::Conflict(_)) if tries < 20 => {}
                    other => return other.map(|_| ()),
                }
            }
        }
    });
    let published: Vec<_> = publishes.buffer_unordered(8).collect().await;
    assert!(published.iter().all(Result::is_ok), "{:?}", published.iter().find(|p| p.is_err()));

    let full = packument(&app, "many", "application/json").await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(versions(&full).len(), versions_count, "{}", &full.text[..200]);
    assert_eq!(full.json["time"].as_object().unwrap().len(), versions_count + 2);
    let corgi = packument(&app, "many", ABBREVIATED).await;
    assert_eq!(versions(&corgi).len(), versions_count);
}

async fn cargo_search(app: &TestApp, text: &str) -> Value {
    let reply = app.get(&format!("/cargo/acme/rs/api/v1/crates?q={text}&per_page=100")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    reply.json
}

async fn delete_version(app: &TestApp, registry: &str, name: &str, version: &str) {
    let packages = format!("/v1/organizations/acme/registries/{registry}/packages");
    let listed = app.get(&format!("{packages}?name={name}")).await;
    let listed = listed.json["packages"].as_array().unwrap().clone();
    let package = listed.iter().find(|package| package["version"] == version).expect("the version");
    let deleted = app.delete(&format!("{packages}/{}", package["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.json);
}

/// Cargo search lists each name once from its summary, with its highest version and that version's
/// description, published in any order, and follows deletes of the latest version and of the last one.
async fn search_lists_each_name_with_its_latest_through_publishes_and_deletes(app: TestApp) {
    app.create_registry("rs", "cargo").await;
    for (name, version, description) in
        [("Zeta", "2.0.0", "two"), ("Zeta", "1.5.0", "one and a half"), ("alpha", "0.1.0", "first")]
    {
        let mut metadata = crate::api::cargo::metadata(name, version);
        metadata["description"] = json!(description);
        let reply = crate::api::cargo::publish(&app, cargo_publish_body(&metadata, &crate_file(name, version))).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    }
    let found = cargo_search(&app, "").await;
    assert_eq!(
        found,
        json!({"crates": [
            {"name": "alpha", "max_version": "0.1.0", "description": "first"},
            {"name": "Zeta", "max_version": "2.0.0", "description": "two"},
        ], "meta": {"total": 2}})
    );
    assert_eq!(cargo_search(&app, "ZET").await["crates"][0]["name"], "Zeta", "case-insensitive");

    delete_version(&app, "rs", "zeta", "2.0.0").await;
    let found = cargo_search(&app, "zeta").await;
    assert_eq!(found["crates"], json!([{"name": "Zeta", "max_version": "1.5.0", "description": "one and a half"}]));
    delete_version(&app, "rs", "zeta", "1.5.0").await;
    assert_eq!(cargo_search(&app, "").await["meta"]["total"], 1, "the name went with its last version");
}

/// A registry whose versions were published before name summaries existed: its first listing writes them,
/// and `simple/` shows every project.
async fn a_registry_from_before_name_summaries_lists_every_name(app: TestApp) {
    let registry = app.create_registry("py", "python").await;
    let registry_id = registry["id"].as_str().unwrap();
    for filename in ["demo-1.0.tar.gz", "demo-1.1.tar.gz", "other-2.0.tar.gz"] {
        assert_eq!(crate::api::pypi::upload(&app, filename, b"x", &[]).await.status, StatusCode::OK);
    }
    let summaries = async || {
        let items = query_all(app.store.as_ref(), format!("PKG#{registry_id}"), String::new()).await.unwrap();
        items
            .into_iter()
            .filter(|item| item.sk.starts_with("SUMMAR"))
            .map(|item| (item.pk, item.sk))
            .collect::<Vec<_>>()
    };
    let written = summaries().await;
    assert_eq!(written.len(), 2, "one summary a name, no marker before a listing: {written:?}");
    let ops = written.into_iter().map(|(pk, sk)| WriteOp::delete(pk, sk, Condition::Exists)).collect();
    app.store.write(ops).await.unwrap();

    let index = get(&app, "/pypi/acme/py/simple/", PEP_691, format!("Bearer {}", app.admin_token)).await;
    assert_eq!(index.json["projects"], json!([{"name": "demo"}, {"name": "other"}]), "{}", index.text);
    assert_eq!(summaries().await.len(), 3, "the summaries and the marker that says they are all there");
}

/// The full packument heads with the latest version's description and readme, read in the same query as its
/// versions (the abbreviated one skips them); when `latest` moves without a publish, they follow it.
async fn the_full_packument_shows_the_readme_of_whatever_is_latest(app: TestApp) {
    app.create_registry("js", "npm").await;
    for version in ["1.0.0", "2.0.0"] {
        let mut body = npm_document("doc", version, &npm_tarball("doc", version));
        body["versions"][version]["readme"] = json!(format!("readme of {version}"));
        body["versions"][version]["description"] = json!(format!("about {version}"));
        let request = Request::put("/npm/acme/js/doc")
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::CREATED);
    }
    let full = packument(&app, "doc", "application/json").await;
    assert_eq!((&full.json["readme"], &full.json["description"]), (&json!("readme of 2.0.0"), &json!("about 2.0.0")));
    let abbreviated = packument(&app, "doc", ABBREVIATED).await;
    assert!(abbreviated.json.get("readme").is_none(), "{}", abbreviated.text);
    assert_eq!(versions(&abbreviated), ["1.0.0", "2.0.0"]);

    // `npm dist-tag add doc@1.0.0 latest`
    let request = Request::put("/npm/acme/js/-/package/doc/dist-tags/latest")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/json")
        .body(Body::from(r#""1.0.0""#))
        .unwrap();
    assert!(app.send(request).await.status.is_success());
    for _ in 0..2 {
        let full = packument(&app, "doc", "application/json").await;
        assert_eq!(full.json["readme"], "readme of 1.0.0", "{}", full.text);
        assert_eq!(versions(&full), ["1.0.0", "2.0.0"]);
    }
}

macro_rules! on_both_stores {
    ($($scenario:ident),+) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario(packyard_tests::app::TestApp::new().await).await;
                }
            )+
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario(packyard_tests::app::TestApp::on_aws().await).await;
                }
            )+
        }
    };
}

on_both_stores!(
    concurrent_publishes_all_show_and_a_delete_shows_at_once,
    cargo_and_pypi_yanks_show_in_the_next_read,
    a_name_from_before_index_entries_gets_them_on_its_first_read,
    the_abbreviated_packument_reads_only_short_entries,
    a_name_from_before_short_entries_shows_every_version,
    a_name_with_more_versions_than_a_query_page_reads_whole,
    search_lists_each_name_with_its_latest_through_publishes_and_deletes,
    a_registry_from_before_name_summaries_lists_every_name,
    the_full_packument_shows_the_readme_of_whatever_is_latest
);
