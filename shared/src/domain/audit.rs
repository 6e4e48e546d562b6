//! Audit events: who changed what, when and from where, written in the same transaction as the change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    /// `token` for an organization API token, `system` for bootstrap and housekeeping.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
}

/// What was acted upon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
}

/// One field's value before and after the change; `null` where it did not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub before: Value,
    pub after: Value,
}

/// The request a change came in with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Origin {
    pub request_id: String,
    pub source_ip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// `registry.created`, `registry.updated`, `registry.deleted`, `token.created`, …
    pub action: String,
    pub actor: Actor,
    pub target: Target,
    pub changes: BTreeMap<String, Change>,
    pub occurred_at: DateTime<Utc>,
    pub request_id: String,
    pub source_ip: String,
}

/// The field-by-field difference of two JSON objects, over the given fields.
pub fn diff(before: &Value, after: &Value, fields: &[&str]) -> BTreeMap<String, Change> {
    fields
        .iter()
        .filter_map(|field| {
            let old = before.get(field).cloned().unwrap_or(Value::Null);
            let new = after.get(field).cloned().unwrap_or(Value::Null);
            (old != new).then(|| ((*field).to_owned(), Change { before: old, after: new }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_lists_only_changed_fields_with_both_values() {
        let changes = diff(
            &json!({"name": "a", "public": false}),
            &json!({"name": "b", "public": false}),
            &["name", "public", "color"],
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes["name"], Change { before: json!("a"), after: json!("b") });
    }
}
