//! The incident shared across hosts through Kubernetes (`[war_room]`): the store of entry
//! objects ([`EntryStore`], one ConfigMap per entry: [`crate::backends::kube::entries`]), its
//! status as a console shows it, and the comparison `warroom log verify` makes.
//!
//! The log (`incident::log`, `IncidentLog::share`) does the appending: create-only CAS per
//! sequence number, pulling other hosts' entries into the local file, uploading what was
//! written while the store was unreachable, and resolving a fork.

mod bridge;
mod compare;
#[cfg(test)]
pub(crate) mod memory;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::backends::kube::entries::Created;
pub use bridge::KubeStore;
pub(crate) use compare::RUN;
pub use compare::{StoreProblem, compare_with_store, fetch_chain};

/// How long one store call may take before the store counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a shared log polls the store for other hosts' entries (and retries when down).
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Where the entries of an incident are shared: sequence number -> exact line bytes.
/// Calls are synchronous and bounded by [`CALL_TIMEOUT`]; callable from any thread.
pub trait EntryStore: Send + Sync {
    /// The line of entry `seq`, or `None` when the store has none.
    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, String>;
    /// Creates entry `seq` (create-only): [`Created::Exists`] carries the line that won.
    fn create(&self, seq: u64, line: &[u8]) -> Result<Created, String>;
    /// Where the store is, for messages (`ConfigMaps ctx/ns`).
    fn describe(&self) -> String;
    /// The lines of entries `from, from+1, ...` up to the first missing one, at most `max`
    /// (a store may fetch them concurrently).
    fn get_run(&self, from: u64, max: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.get(from + out.len() as u64)? {
                Some(line) => out.push(line),
                None => break,
            }
        }
        Ok(out)
    }
}

/// How the local log stands against the shared store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SharedStatus {
    /// Every local entry is in the store (as of `at`).
    Synced {
        /// When the store last answered.
        at: DateTime<Utc>,
    },
    /// The store did not answer: entries are written locally and uploaded when it returns.
    Unreachable {
        /// The (redacted) error.
        error: String,
        /// Since when it is unreachable.
        since: DateTime<Utc>,
        /// Local entries not yet in the store.
        pending: u64,
    },
}

impl SharedStatus {
    /// One line for the header: `store ok` or `store STALE 12s (3 pending): error`.
    pub fn line(&self, now: DateTime<Utc>) -> String {
        match self {
            SharedStatus::Synced { .. } => "store ok".into(),
            SharedStatus::Unreachable { error, since, pending } => {
                let age = (now - *since).num_seconds().max(0);
                format!("store STALE {age}s ({pending} pending): {error}")
            }
        }
    }

    /// Whether the store is unreachable.
    pub fn is_stale(&self) -> bool {
        matches!(self, SharedStatus::Unreachable { .. })
    }
}
