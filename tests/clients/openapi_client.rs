//! A client generated from `openapi.json` by a stock generator (openapi-python-client) creates a registry on
//! the dev server and lists it: the document is complete enough to program against.

use packyard_tests::client::run;
use packyard_tests::devserver::DevServer;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

const PROGRAM: &str = r#"
import sys
from client import AuthenticatedClient
from client.api.registries import create_registry, list_registries
from client.models import Ecosystem, NewRegistry, RegistryPage, RegistryView

base_url, token = sys.argv[1], sys.argv[2]
api = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
created = create_registry.sync("acme", client=api, body=NewRegistry(name="Generated Client", ecosystem=Ecosystem.NPM))
assert isinstance(created, RegistryView), created
page = list_registries.sync("acme", client=api, per_page=10)
assert isinstance(page, RegistryPage), page
print("created", created.slug, "listed", " ".join(registry.slug for registry in page.registries))
"#;

/// A program of the OpenAPI tools' virtualenv (beside Schemathesis), or on the PATH.
fn openapi_tool(name: &str) -> String {
    std::env::var("PACKYARD_SCHEMATHESIS")
        .ok()
        .and_then(|schemathesis| std::path::Path::new(&schemathesis).parent().map(|bin| bin.join(name)))
        .map_or_else(|| name.to_owned(), |path| path.display().to_string())
}

#[tokio::test]
async fn a_client_generated_from_openapi_json_creates_a_registry_and_lists_it() {
    let server = DevServer::start();
    let work = &server.data_dir.0;
    std::fs::write(work.join("generator.yaml"), "post_hooks: []\n").unwrap();
    let generator = openapi_tool("openapi-python-client");
    let args =
        ["generate", "--path", SCHEMA, "--output-path", "client", "--meta", "none", "--config", "generator.yaml"];
    let generated = run(work, &generator, &args, &[]);
    assert!(generated.status.success(), "openapi-python-client failed: {generated:?}");

    std::fs::write(work.join("program.py"), PROGRAM).unwrap();
    let used = run(work, &openapi_tool("python"), &["program.py", &server.base_url, &server.admin_token], &[]);
    let printed = String::from_utf8_lossy(&used.stdout);
    assert!(used.status.success(), "the generated client failed: {printed}{}", String::from_utf8_lossy(&used.stderr));
    assert_eq!(printed.trim(), "created generated-client listed generated-client");
}
