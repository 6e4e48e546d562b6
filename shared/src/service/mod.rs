//! Use cases on top of the metadata port: each mutation writes its records and its audit event in one
//! atomic [`MetadataStore::write`](crate::ports::metadata::MetadataStore::write).

pub mod audit_log;
pub mod debian_suite;
pub mod gem_index;
pub mod housekeeping;
pub mod link_diagnostic;
pub mod name_summaries;
pub mod oci;
pub mod oidc;
pub mod package_index;
pub mod packages;
pub mod publish;
mod races;
pub mod recent;
pub mod registries;
pub mod registry_tokens;
pub mod release_files;
pub mod signing_keys;
pub mod storage_links;
pub mod storage_resolver;
pub mod storage_settings;
pub mod teams;
pub mod tokens;
pub mod uploads;

use std::collections::BTreeMap;

use chrono::Utc;

use crate::domain::audit::{Actor, AuditEvent, Change, Origin, Target};
use crate::domain::error::Result;
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::ports::metadata::{Condition, Item, WriteOp};

/// A ULID that sorts after every other this process made, so events of one request chain stay in order
/// even within a millisecond.
pub(crate) fn next_event_id() -> String {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut generator = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let generator = generator.get_or_insert_with(ulid::Generator::new);
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new()).to_string()
}

/// Who is acting, and the request they act through: everything an audit event records besides the change.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    pub origin: Origin,
}

impl Acting {
    /// The operation that records `action` on `target` with these `changes`.
    pub(crate) fn audit(
        &self,
        org: &OrgSlug,
        action: &str,
        target: Target,
        changes: BTreeMap<String, Change>,
    ) -> Result<WriteOp> {
        let id = next_event_id();
        let event = AuditEvent {
            id: id.clone(),
            action: action.to_owned(),
            actor: self.actor.clone(),
            target,
            changes,
            occurred_at: Utc::now(),
            request_id: self.origin.request_id.clone(),
            source_ip: self.origin.source_ip.clone(),
        };
        let item = Item::from_value(keys::audit_partition(org), id, 1, &event)?;
        Ok(WriteOp::put(item, Condition::NotExists))
    }
}

#[cfg(test)]
mod layering {
    use std::path::Path;

    /// Every `.rs` file under `dir`, with its text up to its first `#[cfg(...)]`: services use it only for tests.
    fn sources(dir: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(").next().unwrap_or_default().to_owned();
                found.push((path.display().to_string(), code));
            }
        }
    }

    #[test]
    fn services_reach_storage_and_aws_through_ports_only() {
        let mut found = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service"), &mut found);
        assert!(found.len() > 10, "the service sources were not found");
        let offenders: Vec<_> = found
            .iter()
            .filter(|(_, code)| code.contains("adapters::") || code.contains("aws_sdk_"))
            .map(|(path, _)| path.as_str())
            .collect();
        assert!(offenders.is_empty(), "services importing adapters or the AWS SDK: {offenders:?}");
    }
}
