//! Reading an organization's audit log, newest first.

use std::sync::Arc;

use crate::domain::audit::AuditEvent;
use crate::domain::error::Result;
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::ports::metadata::{MetadataStore, Query};

#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn MetadataStore>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self { store }
    }

    /// One page of events, newest first, and the id to resume after when more follow.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(
        &self,
        org: &OrgSlug,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, Option<String>)> {
        let query = Query { pk: keys::audit_partition(org), sk_prefix: String::new(), after, limit, descending: true };
        let page = self.store.query(&query).await?;
        let next = page.next_after().map(str::to_owned);
        let events = page.items.iter().map(|item| item.to_value()).collect::<Result<_, _>>()?;
        Ok((events, next))
    }
}
