//! OIDC policies as an admin writes them (YAML or JSON), then matched against a CI job's claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::domain::oidc::{glob_matches, parse_policy};
use serde_json::json;

fuzz_target!(|text: &str| {
    if let Ok(policy) = parse_policy(text) {
        let claims = json!({"repository": "acme/app", "ref": "refs/heads/main", "run_number": 7, "fork": false});
        for statement in &policy.0 {
            let _ = policy.scopes_for(statement.iss.as_str(), &claims);
        }
        let _ = policy.trusts("https://token.actions.githubusercontent.com");
    }
    if let Some((pattern, text)) = text.split_once('\n') {
        let _ = glob_matches(pattern, text);
    }
});
