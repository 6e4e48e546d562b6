//! What a process answers from memory: tokens, registries and members' team grants it read lately, each kept
//! for at most [`RECENT`], so that a warm Lambda's reads skip a DynamoDB read per request.
//!
//! A change that narrows access (a token revoked, a registry made private or deleted, a team's grant lowered
//! or a member removed) drops this process's entry at once and, when other processes serve the same store,
//! answers only after [`RECENT`] has passed ([`Recent::settle`]): by then every copy read before the change
//! has expired, so once the change has been answered, no process grants the old access. A change that widens
//! access, or a new token, needs no wait: a miss (or, for a grant, a level too low) is always read from the
//! store.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// How long an entry is answered from memory.
pub const RECENT: Duration = Duration::from_secs(5);

/// Past this many entries a process forgets them all rather than grow: a container serves few organizations.
const MOST: usize = 10_000;

/// When an entry was read, on both clocks: a Lambda container can be frozen between requests, and an entry
/// is fresh only while neither clock says [`RECENT`] has passed.
#[derive(Clone, Copy)]
struct ReadAt {
    monotonic: Instant,
    wall: SystemTime,
}

impl ReadAt {
    fn now() -> Self {
        Self { monotonic: Instant::now(), wall: SystemTime::now() }
    }

    fn fresh(self) -> bool {
        self.monotonic.elapsed() < RECENT && self.wall.elapsed().is_ok_and(|elapsed| elapsed < RECENT)
    }
}

/// Entries read lately, shared by the clones of one process's services.
pub struct Recent<K, V> {
    entries: Arc<Mutex<HashMap<K, (ReadAt, V)>>>,
    sole_server: bool,
}

impl<K, V> Clone for Recent<K, V> {
    fn clone(&self) -> Self {
        Self { entries: Arc::clone(&self.entries), sole_server: self.sole_server }
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// `sole_server`: no other process serves the same store (the dev server), so a narrowing change need
    /// not wait for other processes' copies to expire.
    #[must_use]
    pub fn new(sole_server: bool) -> Self {
        Self { entries: Arc::default(), sole_server }
    }

    /// The entry, while it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).filter(|(read, _)| read.fresh()).map(|(_, value)| value.clone())
    }

    /// Keeps `value`, read from the store just now, and lets expired entries go.
    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (read, _)| read.fresh());
        if entries.len() >= MOST {
            entries.clear();
        }
        entries.insert(key, (ReadAt::now(), value));
    }

    /// Drops the entry: this process reads the store again on its next use.
    pub fn forget(&self, key: &K) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Waits, after a change that narrows access has been written, until no other process can still answer
    /// from what it read before the change.
    pub async fn settle(&self) {
        if !self.sole_server {
            tokio::time::sleep(RECENT).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_answered_until_forgotten() {
        let recent = Recent::new(false);
        recent.put("a", 1);
        assert_eq!(recent.get(&"a"), Some(1));
        recent.forget(&"a");
        assert_eq!(recent.get(&"a"), None);
    }

    #[test]
    fn an_entry_read_longer_ago_than_recent_by_either_clock_is_not_answered() {
        let recent = Recent::new(false);
        recent.put("a", 1);
        let stale_wall = ReadAt { monotonic: Instant::now(), wall: SystemTime::now() - RECENT };
        recent.entries.lock().unwrap().insert("a", (stale_wall, 1));
        assert_eq!(recent.get(&"a"), None, "a container thawed after a freeze still trusts the wall clock");
        let future_wall = ReadAt { monotonic: Instant::now(), wall: SystemTime::now() + RECENT };
        recent.entries.lock().unwrap().insert("a", (future_wall, 1));
        assert_eq!(recent.get(&"a"), None, "a wall clock that went back counts as stale");
        if let Some(earlier) = Instant::now().checked_sub(RECENT) {
            recent.entries.lock().unwrap().insert("a", (ReadAt { monotonic: earlier, wall: SystemTime::now() }, 1));
            assert_eq!(recent.get(&"a"), None);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn settling_waits_out_other_processes_copies_unless_there_are_none() {
        let shared: Recent<&str, i32> = Recent::new(false);
        let started = tokio::time::Instant::now();
        shared.settle().await;
        assert!(started.elapsed() >= RECENT);
        let alone: Recent<&str, i32> = Recent::new(true);
        let started = tokio::time::Instant::now();
        alone.settle().await;
        assert!(started.elapsed() < RECENT);
    }
}
