//! The `trend-sample` entries: what the post-mortem charts. A series is logged only when its
//! value changed (including to "no fresh data") and at most once per [`SAMPLE_GAP_SECS`]; a lag
//! sample also carries the peak observed since the previous one, so a short spike between two
//! entries is not lost. Nothing is invented: every figure was in a fresh snapshot.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::backends::Observed;
use crate::backends::model::PgRole;

/// At most one sample per series per this many seconds.
pub const SAMPLE_GAP_SECS: i64 = 60;

/// One series' logging state.
#[derive(Debug, Clone, PartialEq)]
struct Logged {
    /// When it was last logged (`None`: never).
    at: Option<DateTime<Utc>>,
    /// The value last logged (`Null`: no fresh data).
    value: Value,
    /// The largest lag in bytes seen since it was last logged.
    peak: Option<u64>,
}

/// What was last logged per series (`lag/<node>`, `traffic/<region>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleLog {
    series: BTreeMap<String, Logged>,
}

/// The current value of every series in `observed` (`Null` for one without fresh data).
fn current(observed: &Observed, known: &SampleLog) -> Vec<(String, &'static str, String, Value)> {
    let mut out = Vec::new();
    let db = &observed.database;
    let fresh_db = db.fresh_value();
    if let Some(v) = db.value.as_ref() {
        for n in v.nodes.iter().filter(|n| n.role == PgRole::Replica || known.has(&format!("lag/{}", n.name)))
        {
            let fresh = fresh_db.is_some() && n.role == PgRole::Replica && n.error.is_none();
            let value = match n.replay_lag_bytes.filter(|_| fresh) {
                Some(b) => json!({ "bytes": b, "seconds": n.replay_lag_seconds }),
                None => Value::Null,
            };
            out.push((format!("lag/{}", n.name), "lag", n.name.clone(), value));
        }
    }
    let t = &observed.traffic;
    if let Some(v) = t.value.as_ref() {
        let fresh = t.fresh_value().is_some();
        for r in &v.regions {
            let value = match v.share(&r.name).filter(|_| fresh) {
                Some(s) => {
                    json!({ "share_pct": (s * 1000.0).round() / 10.0, "health": r.health_check.as_str() })
                }
                None if fresh => json!({ "share_pct": Value::Null, "health": r.health_check.as_str() }),
                None => Value::Null,
            };
            out.push((format!("traffic/{}", r.name), "traffic", r.name.clone(), value));
        }
    }
    out
}

impl SampleLog {
    fn has(&self, key: &str) -> bool {
        self.series.contains_key(key)
    }

    /// The samples due at `now` for the snapshots in `observed`, as one `trend-sample` entry's
    /// summary and details; `None` when no series changed or every changed one was logged less
    /// than [`SAMPLE_GAP_SECS`] ago.
    pub fn due(&mut self, observed: &Observed, now: DateTime<Utc>) -> Option<(String, Value)> {
        let mut samples = Vec::new();
        let mut summary = Vec::new();
        for (key, series, name, value) in current(observed, self) {
            if !self.has(&key) && self.series.len() >= 2 * super::MAX_SERIES {
                continue;
            }
            let entry = self.series.entry(key).or_insert(Logged { at: None, value: Value::Null, peak: None });
            let bytes = value.get("bytes").and_then(Value::as_u64);
            entry.peak = match (entry.peak, bytes) {
                (Some(p), Some(b)) => Some(p.max(b)),
                (p, b) => p.or(b),
            };
            let changed = entry.value != value || entry.at.is_none();
            let rested = entry.at.is_none_or(|t| (now - t).num_seconds() >= SAMPLE_GAP_SECS);
            if !changed || !rested {
                continue;
            }
            let mut sample = json!({ "series": series, "name": name });
            match value.as_object() {
                Some(fields) => {
                    for (k, v) in fields {
                        sample[k.as_str()] = v.clone();
                    }
                    if series == "lag" {
                        sample["peak_bytes"] = json!(entry.peak);
                    }
                }
                None => sample["stale"] = json!(true),
            }
            summary.push(sample_text(&sample));
            samples.push(sample);
            entry.at = Some(now);
            entry.value = value;
            entry.peak = None;
        }
        if samples.is_empty() {
            return None;
        }
        Some((format!("trend: {}", summary.join("; ")), json!({ "samples": samples })))
    }

    /// Heap bytes held (keys and values, roughly).
    pub fn heap_bytes(&self) -> usize {
        self.series.keys().map(|k| k.capacity() + std::mem::size_of::<Logged>() + 64).sum()
    }
}

/// One sample in a few words, for the entry's summary.
fn sample_text(s: &Value) -> String {
    let name = s["name"].as_str().unwrap_or("?");
    if s.get("stale").is_some() {
        return format!("{name} no fresh data");
    }
    match s["series"].as_str() {
        Some("lag") => format!("{name} lag {} B", s["bytes"]),
        _ => {
            let share = s["share_pct"].as_f64().map_or("-".to_string(), |p| format!("{p}%"));
            format!("{name} share {share} {}", s["health"].as_str().unwrap_or("?"))
        }
    }
}
