//! OIDC policies: which CI jobs' identity tokens may use a registry, and with what scopes. A policy is a
//! list of statements `{iss, scopes, claims}`; the first statement whose issuer and claim rules all match a
//! token gives its scopes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::names::{InvalidValue, quoted};
use super::token::Scope;

/// A scope an OIDC statement may give: package operations only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageScope {
    ReadPackages,
    WritePackages,
    DeletePackages,
}

impl From<PackageScope> for Scope {
    fn from(scope: PackageScope) -> Self {
        match scope {
            PackageScope::ReadPackages => Self::ReadPackages,
            PackageScope::WritePackages => Self::WritePackages,
            PackageScope::DeletePackages => Self::DeletePackages,
        }
    }
}

/// An issuer URL: https, or http on a loopback host (a local issuer for tests and development).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Issuer(String);

impl Issuer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Issuer {
    type Error = InvalidValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let url = url::Url::parse(&value)
            .map_err(|error| InvalidValue(format!("iss {} is not a URL: {error}", quoted(&value))))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
            Ok(Self(value.trim_end_matches('/').to_owned()))
        } else {
            Err(InvalidValue(format!("iss {} must be an https URL", quoted(&value))))
        }
    }
}

impl From<Issuer> for String {
    fn from(value: Issuer) -> Self {
        value.0
    }
}

/// A claim rule: a bare value means `equals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimRule {
    Equals(Scalar),
    Operator(Operator),
}

/// A string, number or boolean; claims are compared by their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Flag(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::Flag(flag) => flag.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Operator {
    Equals(Scalar),
    NotEquals(Scalar),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    /// A glob: `*` any run of characters, `?` one character.
    Matches(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub iss: Issuer,
    pub scopes: Vec<PackageScope>,
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimRule>,
}

/// A registry's OIDC policy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Policy(pub Vec<Statement>);

/// The largest policy document accepted: it is stored in one record and evaluated on every job's request.
pub const POLICY_MAX_BYTES: usize = 32 * 1024;
/// The most statements a policy may have.
pub const POLICY_MAX_STATEMENTS: usize = 64;

/// Parses a policy written in YAML or JSON (JSON is YAML).
///
/// # Errors
/// The line and the reason of the first problem.
pub fn parse_policy(text: &str) -> Result<Policy, InvalidValue> {
    if text.len() > POLICY_MAX_BYTES {
        return Err(InvalidValue(format!("a policy may be at most {POLICY_MAX_BYTES} bytes, not {}", text.len())));
    }
    let policy: Policy = serde_yaml::from_str(text).map_err(|error| match error.location() {
        Some(location) => InvalidValue(format!("line {}: {}", location.line(), strip_location(&error.to_string()))),
        None => InvalidValue(error.to_string()),
    })?;
    if policy.0.len() > POLICY_MAX_STATEMENTS {
        return Err(InvalidValue(format!(
            "a policy may have at most {POLICY_MAX_STATEMENTS} statements, not {}",
            policy.0.len()
        )));
    }
    if let Some((index, _)) = policy.0.iter().enumerate().find(|(_, statement)| statement.scopes.is_empty()) {
        return Err(InvalidValue(format!("statement {}: scopes must name at least one scope", index + 1)));
    }
    Ok(policy)
}

fn strip_location(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `*` matches any run of characters, `?` exactly one.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    glob_matches_by(pattern, text, |a, b| a == b)
}

/// [`glob_matches`] with characters compared by `same` (IAM compares action names ignoring case).
pub fn glob_matches_by(pattern: &str, text: &str, same: impl Fn(char, char) -> bool) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || same(pattern[p], text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(position) = star {
            p = position + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

impl ClaimRule {
    /// Whether a claim (absent: `None`) satisfies this rule; an absent claim satisfies none.
    pub fn matches(&self, claim: Option<&Value>) -> bool {
        let Some(text) = claim.and_then(claim_text) else { return false };
        match self {
            Self::Equals(value) | Self::Operator(Operator::Equals(value)) => value.text() == text,
            Self::Operator(Operator::NotEquals(value)) => value.text() != text,
            Self::Operator(Operator::In(values)) => values.iter().any(|value| value.text() == text),
            Self::Operator(Operator::NotIn(values)) => values.iter().all(|value| value.text() != text),
            Self::Operator(Operator::Matches(pattern)) => glob_matches(pattern, &text),
        }
    }
}

impl Policy {
    /// The scopes of the first statement for `issuer` whose claim rules all hold.
    pub fn scopes_for(&self, issuer: &str, claims: &Value) -> Option<Vec<Scope>> {
        self.0
            .iter()
            .filter(|statement| statement.iss.as_str() == issuer.trim_end_matches('/'))
            .find(|statement| statement.claims.iter().all(|(name, rule)| rule.matches(claims.get(name))))
            .map(|statement| statement.scopes.iter().map(|scope| Scope::from(*scope)).collect())
    }

    pub fn trusts(&self, issuer: &str) -> bool {
        self.0.iter().any(|statement| statement.iss.as_str() == issuer.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const POLICY: &str = "
- iss: https://agent.buildkite.com
  scopes: [read_packages, write_packages]
  claims:
    organization_slug: acme
    pipeline_slug: { in: [web, api] }
    build_branch: { matches: 'release/*' }
    build_source: { not_equals: schedule }
- iss: https://token.actions.githubusercontent.com
  scopes: [read_packages]
";

    #[test]
    fn the_first_matching_statement_gives_the_scopes() {
        let policy = parse_policy(POLICY).unwrap();
        let claims = json!({"organization_slug": "acme", "pipeline_slug": "web", "build_branch": "release/1.2", "build_source": "ui"});
        assert_eq!(
            policy.scopes_for("https://agent.buildkite.com", &claims).unwrap(),
            [Scope::ReadPackages, Scope::WritePackages]
        );
        let wrong_branch =
            json!({"organization_slug": "acme", "pipeline_slug": "web", "build_branch": "main", "build_source": "ui"});
        assert_eq!(policy.scopes_for("https://agent.buildkite.com", &wrong_branch), None);
        let missing = json!({"organization_slug": "acme", "pipeline_slug": "web", "build_branch": "release/1"});
        assert_eq!(policy.scopes_for("https://agent.buildkite.com", &missing), None, "an absent claim matches no rule");
        assert_eq!(
            policy.scopes_for("https://token.actions.githubusercontent.com", &json!({})).unwrap(),
            [Scope::ReadPackages]
        );
        assert!(!policy.trusts("https://evil.example"));
    }

    #[test]
    fn invalid_policies_name_the_line_and_the_reason() {
        let bad_scope = parse_policy("- iss: https://a.example\n  scopes: [admin]\n").unwrap_err();
        assert!(bad_scope.0.starts_with("line 2:") && bad_scope.0.contains("admin"), "{bad_scope}");
        let bad_iss = parse_policy("- iss: http://ci.example\n  scopes: [read_packages]\n").unwrap_err();
        assert!(bad_iss.0.contains("https"), "{bad_iss}");
        let unknown = parse_policy("- iss: https://a.example\n  scopes: [read_packages]\n  claim: {}\n").unwrap_err();
        assert!(unknown.0.contains("claim"), "{unknown}");
        assert!(parse_policy("[{\"iss\": \"https://a.example\", \"scopes\": []}]").is_err());
        assert_eq!(parse_policy("[]").unwrap(), Policy::default());
    }

    #[test]
    fn globs_match_whole_values() {
        assert!(glob_matches("release/*", "release/1.2"));
        assert!(glob_matches("v?.*", "v1.0"));
        assert!(!glob_matches("release/*", "xrelease/1"));
        assert!(glob_matches("*", ""));
    }
}
