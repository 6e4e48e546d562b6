//! What a push in parts has sent so far, kept on disk so that the same push run again (after a dropped
//! connection, a killed CI job) continues the upload instead of sending every part again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One push's progress: the upload it started and each part sent, with the ETag storage gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The upload's id on the server.
    pub id: String,
    /// The parts sent so far: number to ETag.
    pub done: BTreeMap<u32, String>,
}

/// Where journals live: `PACKYARD_STATE_DIR`, else `$XDG_STATE_HOME/packyard`, else
/// `~/.local/state/packyard` (the push/ folder inside it).
pub fn state_dir() -> Option<PathBuf> {
    let from = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    from("PACKYARD_STATE_DIR")
        .or_else(|| from("XDG_STATE_HOME").map(|dir| dir.join("packyard")))
        .or_else(|| from("HOME").map(|home| home.join(".local/state/packyard")))
        .map(|dir| dir.join("push"))
}

/// The journal file of a push of the file with `sha256` and `size` to `uploads` (the registry's uploads
/// URL): the same push, run again, finds it; any other push does not.
pub fn path_for(dir: &Path, uploads: &str, sha256: &str, size: u64) -> PathBuf {
    let key = Sha256::digest(format!("{uploads}\n{sha256}\n{size}").as_bytes());
    dir.join(format!("{}.json", hex::encode(&key[..16])))
}

impl Journal {
    /// The journal at `path`, if there is a readable one.
    pub fn load(path: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Writes the journal through a temporary file and a rename, so a kill never leaves half of one.
    ///
    /// # Errors
    /// When the folder or the file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        std::fs::rename(temporary, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_round_trips_and_is_found_only_by_the_same_push() {
        let dir = std::env::temp_dir().join(format!("journal-test-{}", ulid::Ulid::new()));
        let path = path_for(&dir, "http://x/uploads", "ab", 10);
        assert_ne!(path, path_for(&dir, "http://x/uploads", "ab", 11));
        assert_ne!(path, path_for(&dir, "http://y/uploads", "ab", 10));
        assert_eq!(Journal::load(&path), None);
        let journal = Journal { id: "01J".into(), done: BTreeMap::from([(1, "\"e1\"".to_owned())]) };
        journal.save(&path).unwrap();
        assert_eq!(Journal::load(&path), Some(journal));
        let _ = std::fs::remove_dir_all(dir);
    }
}
