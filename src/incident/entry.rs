//! One incident-log entry (one JSON line).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of the append-only incident log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Sequence number, from 1, gapless.
    pub seq: u64,
    /// UTC wall time with milliseconds.
    pub ts: DateTime<Utc>,
    /// Monotonic milliseconds since the writing console opened the log (clock-jump analysis).
    pub mono_ms: u64,
    /// `user@host` (plus ` via <ip>` over SSH).
    pub operator: String,
    /// Entry kind: declared, observation, checklist, step-previewed, step-confirmed, step-executing,
    /// step-result, step-verified, step-failed, step-skipped, step-aborted, note, status-update,
    /// resolved, torn-tail, ...
    pub kind: String,
    /// One human line (redacted).
    pub summary: String,
    /// Structured details (redacted).
    #[serde(default)]
    pub details: Value,
    /// Hex SHA-256 of the previous line's exact bytes (64 zeros for the first entry).
    pub prev: String,
}
