//! One incident-log entry (one JSON line), its kind, and the shapes the core and screen use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod kind;

pub use kind::EntryKind;

/// One line of the append-only incident log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Sequence number, from 1, gapless.
    pub seq: u64,
    /// UTC wall time with milliseconds.
    #[serde(with = "ts_millis")]
    pub ts: DateTime<Utc>,
    /// Monotonic milliseconds since the writing console opened the log (clock-jump analysis).
    pub mono_ms: u64,
    /// `user@host` (plus ` via <ip>` over SSH).
    pub operator: String,
    /// What the entry records (unknown kinds are kept verbatim).
    pub kind: EntryKind,
    /// One human line (redacted).
    pub summary: String,
    /// Structured details (redacted).
    #[serde(default)]
    pub details: Value,
    /// Hex SHA-256 of the previous line's exact bytes (64 zeros for the first entry).
    pub prev: String,
}

impl Entry {
    /// The line the Log pane shows for this entry.
    pub fn to_log_line(&self) -> LogLine {
        LogLine {
            seq: self.seq,
            at: self.ts,
            operator: self.operator.clone(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
        }
    }
}

/// RFC 3339 UTC with exactly three fractional digits (`2026-11-26T12:03:01.120Z`) on write; any
/// RFC 3339 time on read.
mod ts_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ts.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ts_is_written_with_milliseconds_even_when_whole_seconds() {
        let e = Entry {
            seq: 1,
            ts: Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap(),
            mono_ms: 0,
            operator: "a@b".into(),
            kind: EntryKind::Note,
            summary: "s".into(),
            details: serde_json::json!({}),
            prev: "0".repeat(64),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains(r#""ts":"2026-11-26T12:03:01.000Z""#), "{text}");
        let back: Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.to_log_line().seq, 1);
    }
}

/// One line of the incident log as the Log pane shows it (already durable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Sequence number in the incident log.
    pub seq: u64,
    /// Timestamp.
    pub at: DateTime<Utc>,
    /// Who wrote it.
    pub operator: String,
    /// Entry kind.
    pub kind: EntryKind,
    /// Human summary.
    pub summary: String,
}

/// Something to write to the incident log. The runner writes and fsyncs it, then sends
/// `app::Action::Logged` so the screen shows only what is durable.
#[derive(Debug, Clone, PartialEq)]
pub struct LogIntent {
    /// What the entry records.
    pub kind: EntryKind,
    /// One human line.
    pub summary: String,
    /// Structured details.
    pub details: Value,
}

impl LogIntent {
    /// A log intent with details.
    pub fn new(kind: EntryKind, summary: impl Into<String>, details: Value) -> LogIntent {
        LogIntent { kind, summary: summary.into(), details }
    }
}
