//! Where a file's bytes live: Packaged-hosted storage, or an organization's linked bucket. Every stored
//! file records the storage it was written to, so changing a registry's storage never strands old files.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StorageRef {
    /// Packyard's own bucket (or, in the dev server, its data directory).
    Hosted,
    /// A storage link of the organization, by id.
    Link { id: String },
}

impl std::fmt::Display for StorageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hosted => f.write_str("hosted"),
            Self::Link { id } => write!(f, "link {id}"),
        }
    }
}
