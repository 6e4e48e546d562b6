//! Private storage links: start one (AWS through a Launch Stack URL, or S3-compatible with a sealed
//! secret), list, read, run its diagnostic and delete it. Every change is written with its audit event.

use std::sync::Arc;

use chrono::Utc;
use rand::RngCore;
use serde_json::{Value, json};

use crate::config::{LINK_TEMPLATE_VERSION, LinkConfig};
use crate::domain::audit::{Target, diff};
use crate::domain::diagnostic::DiagnosticReport;
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::secret::{SecretText, SecretsKey};
use crate::domain::storage::{
    LinkStatus, LinkTarget, NewAwsLink, NewLink, NewS3CompatibleLink, StorageLink, StorageRef,
};
use crate::domain::storage_names::LinkId;
use crate::ports::link_access::LinkConnector;
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;

#[derive(Clone)]
pub struct StorageLinks {
    pub(super) store: Arc<dyn MetadataStore>,
    pub(super) config: Arc<LinkConfig>,
    pub(super) clients: Arc<dyn LinkConnector>,
}

pub(super) fn target(link: &StorageLink) -> Target {
    Target { kind: "storage_link".into(), id: link.id.to_string(), name: link.target.location() }
}

/// What an audit event shows of a link: never a secret, sealed or not.
fn audited(link: &StorageLink) -> Value {
    let provider = match link.target {
        LinkTarget::Aws { .. } => "aws",
        LinkTarget::S3Compatible { .. } => "s3_compatible",
    };
    json!({"provider": provider, "location": link.target.location(), "status": link.status})
}

const AUDITED_FIELDS: [&str; 3] = ["provider", "location", "status"];

fn item(link: &StorageLink, version: u64) -> Result<Item> {
    let (pk, sk) = keys::storage_link(&link.organization, &link.id);
    Ok(Item::from_value(pk, sk, version, link)?)
}

pub(super) fn not_found(org: &OrgSlug, id: &LinkId) -> Error {
    Error::NotFound(format!("storage link {id} not found in organization {org}"))
}

fn concurrent_change(id: &LinkId) -> Error {
    Error::Conflict(format!("storage link {id} was changed by another request at the same time; retry"))
}

/// 256 random bits: the ExternalId only Packyard and the customer's stack know.
fn new_external_id() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl StorageLinks {
    pub fn new(store: Arc<dyn MetadataStore>, config: LinkConfig, clients: Arc<dyn LinkConnector>) -> Self {
        Self { store, config: Arc::new(config), clients }
    }

    fn secrets_key(&self) -> Result<&SecretsKey> {
        self.config.secrets_key.as_ref().ok_or_else(|| {
            Error::Unavailable(
                "S3-compatible links need PACKYARD_SECRETS_KEY, which this deployment does not set".into(),
            )
        })
    }

    /// The secret key of an S3-compatible link, unsealed for a client.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the deployment's key is missing or is not the one that sealed it.
    pub fn secret_of(&self, link: &StorageLink) -> Result<Option<SecretText>> {
        let LinkTarget::S3Compatible { secret_access_key, .. } = &link.target else { return Ok(None) };
        let key = self.secrets_key()?;
        key.open(secret_access_key, link.id.as_str()).map(Some).map_err(|error| Error::Unavailable(error.to_string()))
    }

    /// Where the template of the version `link` was started with is published.
    pub fn template_url(&self, link: &StorageLink) -> String {
        self.config.template_url.replace("{version}", &link.template_version.to_string())
    }

    /// The console URL that opens CloudFormation's quick-create page with the template (of the link's
    /// version) and every parameter filled in; `None` for S3-compatible links.
    pub fn launch_stack_url(&self, link: &StorageLink) -> Option<String> {
        let LinkTarget::Aws { region, bucket, path, external_id, kms_key_arn, .. } = &link.target else { return None };
        let account = self.config.aws_account_id.as_ref()?;
        let mut url = format!(
            "https://{host}/cloudformation/home?region={region}#/stacks/quickcreate?templateURL={template}\
             &stackName={stack}&param_BucketName={bucket}&param_BucketPath={path}&param_LinkId={id}\
             &param_ExternalId={external_id}&param_PackyardAccountId={account}",
            host = region.console_host(),
            template = encode(&self.template_url(link)),
            stack = stack_name(&link.id),
            path = encode(path.as_str()),
            id = link.id,
        );
        // Version 1 of the template has neither parameter; the console refuses unknown ones.
        if link.template_version >= 2 {
            url.push_str(&format!("&param_MaxSessionDuration={}", self.config.session_seconds));
            if let Some(key) = kms_key_arn {
                url.push_str(&format!("&param_KmsKeyArn={}", encode(key.as_str())));
            }
        }
        Some(url)
    }

    /// Starts a link in `pending` status.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the deployment lacks the account id (AWS) or the secrets key (S3-compatible).
    pub async fn create(&self, acting: &Acting, org: &OrgSlug, new: NewLink) -> Result<StorageLink> {
        let id = LinkId::generate();
        let link_target = match new {
            NewLink::Aws(NewAwsLink { region, bucket, path, account_id, kms_key_arn, .. }) => {
                if self.config.aws_account_id.is_none() {
                    return Err(Error::Unavailable(
                        "AWS links need PACKYARD_AWS_ACCOUNT_ID, which this deployment does not set".into(),
                    ));
                }
                LinkTarget::Aws { region, bucket, path, account_id, external_id: new_external_id(), kms_key_arn }
            }
            NewLink::S3Compatible(NewS3CompatibleLink {
                endpoint,
                region,
                bucket,
                path,
                access_key_id,
                secret_access_key,
                path_style,
                ..
            }) => {
                let sealed = self.secrets_key()?.seal(&secret_access_key, id.as_str());
                LinkTarget::S3Compatible {
                    endpoint,
                    region,
                    bucket,
                    path,
                    access_key_id,
                    secret_access_key: sealed,
                    path_style,
                }
            }
        };
        let now = Utc::now();
        let link = StorageLink {
            id,
            organization: org.clone(),
            target: link_target,
            status: LinkStatus::Pending,
            last_diagnostic: None,
            template_version: LINK_TEMPLATE_VERSION,
            created_at: now,
            updated_at: now,
        };
        let changes = diff(&Value::Null, &audited(&link), &AUDITED_FIELDS);
        let ops = vec![
            WriteOp::put(item(&link, 1)?, Condition::NotExists),
            acting.audit(org, "storage_link.created", target(&link), changes)?,
        ];
        self.store.write(ops).await?;
        Ok(link)
    }

    /// The link and its version.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the organization has no such link.
    pub async fn get(&self, org: &OrgSlug, id: &LinkId) -> Result<(StorageLink, u64)> {
        let (pk, sk) = keys::storage_link(org, id);
        let item = self.store.get(&pk, &sk).await?.ok_or_else(|| not_found(org, id))?;
        Ok((item.to_value()?, item.version))
    }

    /// Every link of the organization, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self, org: &OrgSlug) -> Result<Vec<StorageLink>> {
        let mut links = Vec::new();
        let mut after = None;
        loop {
            let query = Query {
                pk: keys::organization_partition(org),
                sk_prefix: keys::STORAGE_LINK_PREFIX.to_owned(),
                after,
                limit: crate::ports::metadata::MAX_PAGE_SIZE,
                descending: false,
            };
            let page = self.store.query(&query).await?;
            for item in &page.items {
                links.push(item.to_value()?);
            }
            match page.next_after() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(links),
            }
        }
    }

    /// Runs the diagnostic, keeps its report on the link and moves the status: `active` after a pass;
    /// after a failure, `failing` if it had been active, else still `pending`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] when the link changed meanwhile. A customer's
    /// misconfiguration is never an error here: it is a failed step in the report.
    pub async fn run_diagnostic(&self, acting: &Acting, org: &OrgSlug, id: &LinkId) -> Result<StorageLink> {
        let (current, version) = self.get(org, id).await?;
        let report: DiagnosticReport = self.diagnose(&current).await?;
        let mut updated = current.clone();
        updated.status = match (report.passed, current.status) {
            (true, _) => LinkStatus::Active,
            (false, LinkStatus::Pending) => LinkStatus::Pending,
            (false, _) => LinkStatus::Failing,
        };
        updated.last_diagnostic = Some(report);
        updated.updated_at = Utc::now();
        let mut changes = diff(&audited(&current), &audited(&updated), &AUDITED_FIELDS);
        let passed = updated.last_diagnostic.as_ref().is_some_and(|report| report.passed);
        changes.insert(
            "diagnostic_passed".into(),
            crate::domain::audit::Change { before: Value::Null, after: json!(passed) },
        );
        let ops = vec![
            WriteOp::put(item(&updated, version + 1)?, Condition::Version(version)),
            acting.audit(org, "storage_link.diagnosed", target(&updated), changes)?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(concurrent_change(id)),
            other => other.map(|()| updated).map_err(Error::from),
        }
    }

    /// Deletes a link nothing uses. `registries_using` are the registries whose storage is this link (the
    /// package code finds them); the organization's default storage is checked here, in the same write.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] naming what uses the link, or when it changed meanwhile.
    pub async fn delete(
        &self,
        acting: &Acting,
        org: &OrgSlug,
        id: &LinkId,
        registries_using: &[String],
    ) -> Result<StorageLink> {
        let (current, version) = self.get(org, id).await?;
        let (settings, settings_version) = self.settings(org).await?;
        let mut users = Vec::new();
        if settings.default == StorageRef::Link(id.clone()) {
            users.push("the organization's default storage".to_owned());
        }
        users.extend(registries_using.iter().map(|slug| format!("registry {slug}")));
        if !users.is_empty() {
            return Err(Error::Conflict(format!(
                "storage link {id} ({}) is in use by {}; choose other storage for them first",
                current.target.location(),
                users.join(", ")
            )));
        }
        let (pk, sk) = keys::storage_link(org, id);
        let (settings_pk, settings_sk) = keys::storage_settings(org);
        let settings_unchanged = settings_version.map_or(Condition::NotExists, Condition::Version);
        let changes = diff(&audited(&current), &Value::Null, &AUDITED_FIELDS);
        let ops = vec![
            WriteOp::delete(pk, sk, Condition::Version(version)),
            WriteOp::Check { pk: settings_pk, sk: settings_sk, condition: settings_unchanged },
            acting.audit(org, "storage_link.deleted", target(&current), changes)?,
        ];
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Err(concurrent_change(id)),
            other => other.map(|()| current).map_err(Error::from),
        }
    }
}

/// The stack name the Launch Stack URL suggests: one per link, so one account can hold several links.
pub fn stack_name(id: &LinkId) -> String {
    format!("packyardStorageLink-{id}")
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::link_clients::LinkClients;
    use crate::adapters::sqlite::SqliteStore;
    use crate::domain::storage_names::AccountId;

    #[test]
    fn a_link_keeps_the_template_version_it_was_started_with() {
        let config = LinkConfig {
            aws_account_id: Some(AccountId::try_from("111122223333").unwrap()),
            template_url: "https://t.s3.us-east-1.amazonaws.com/private-storage-link/v{version}/t.yaml".into(),
            ..LinkConfig::default()
        };
        let links =
            StorageLinks::new(Arc::new(SqliteStore::in_memory().unwrap()), config, Arc::new(LinkClients::default()));
        // Stored before versions were recorded: no template_version, so version 1.
        let stored = json!({"id": "01hzzzzzzzzzzzzzzzzzzzzzzz", "organization": "acme", "provider": "aws",
            "region": "us-east-1", "bucket": "b-1", "path": "", "account_id": "111122223333", "external_id": "e",
            "status": "active", "last_diagnostic": null, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"});
        let mut link: StorageLink = serde_json::from_value(stored).unwrap();
        assert_eq!(link.template_version, 1);
        let old = links.launch_stack_url(&link).unwrap();
        assert!(old.contains("%2Fv1%2F") && !old.contains("MaxSessionDuration"), "{old}");
        link.template_version = LINK_TEMPLATE_VERSION;
        let new = links.launch_stack_url(&link).unwrap();
        assert!(
            new.contains(&format!("%2Fv{LINK_TEMPLATE_VERSION}%2F")) && new.contains("MaxSessionDuration"),
            "{new}"
        );
    }
}
