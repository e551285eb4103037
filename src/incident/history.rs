//! `warroom drill --history`: every `drill-result` entry of every incident in the data dir,
//! oldest first, with the best, median and worst RTO, so repeated drills can be compared.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::export::plain_text;
use super::log::{LogError, read_log};
use super::store::list_incidents;

/// One measured drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillRun {
    /// When the result was logged.
    pub date: DateTime<Utc>,
    /// Incident id.
    pub incident: String,
    /// The fault scenario.
    pub scenario: Option<String>,
    /// Recovery time in seconds.
    pub rto_secs: Option<f64>,
    /// PostgreSQL bytes lost.
    pub data_loss_bytes: Option<u64>,
    /// Redis offset lost.
    pub redis_offset_loss: Option<u64>,
    /// The RTO target in force.
    pub rto_target_secs: Option<u64>,
    /// Whether the RTO met it.
    pub target_met: Option<bool>,
}

/// A drill run named by its incident and RTO (best / worst).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    /// Incident id.
    pub incident: String,
    /// Its RTO.
    pub rto_secs: f64,
}

/// Every drill result, oldest first, with RTO statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillHistory {
    /// The runs, sorted by date.
    pub runs: Vec<DrillRun>,
    /// Shortest RTO.
    pub best: Option<RunRef>,
    /// Median RTO (the mean of the two middle ones for an even count).
    pub median_rto_secs: Option<f64>,
    /// Longest RTO.
    pub worst: Option<RunRef>,
    /// Incident logs that could not be read, with the reason (the others are still listed).
    pub unreadable: Vec<String>,
}

/// Scan `<data_dir>/incidents` for `drill-result` entries.
pub fn drill_history(data_dir: &Path) -> Result<DrillHistory, LogError> {
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    for meta in list_incidents(data_dir)? {
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                unreadable.push(plain_text(&e.to_string()));
                continue;
            }
        };
        let entries = match read_log(&meta.path) {
            Ok(e) => e,
            Err(e) => {
                unreadable.push(plain_text(&e.to_string()));
                continue;
            }
        };
        for e in entries.iter().filter(|e| e.kind == "drill-result") {
            let d = &e.details;
            runs.push(DrillRun {
                date: e.ts,
                incident: plain_text(&meta.id),
                scenario: d.get("fault").and_then(Value::as_str).map(plain_text),
                rto_secs: d.get("rto_secs").and_then(Value::as_f64),
                data_loss_bytes: d.get("data_loss_bytes").and_then(Value::as_u64),
                redis_offset_loss: d.get("redis_offset_loss").and_then(Value::as_u64),
                rto_target_secs: d.get("rto_target_secs").and_then(Value::as_u64),
                target_met: d.get("target_met").and_then(Value::as_bool),
            });
        }
    }
    runs.sort_by_key(|r| r.date);
    let mut timed: Vec<(&str, f64)> =
        runs.iter().filter_map(|r| Some((r.incident.as_str(), r.rto_secs?))).collect();
    timed.sort_by(|a, b| a.1.total_cmp(&b.1));
    let as_ref =
        |(incident, rto_secs): &(&str, f64)| RunRef { incident: incident.to_string(), rto_secs: *rto_secs };
    let median_rto_secs = match timed.len() {
        0 => None,
        n if n % 2 == 1 => Some(timed[n / 2].1),
        n => Some((timed[n / 2 - 1].1 + timed[n / 2].1) / 2.0),
    };
    Ok(DrillHistory {
        best: timed.first().map(as_ref),
        worst: timed.last().map(as_ref),
        median_rto_secs,
        runs,
        unreadable,
    })
}

/// The history as an aligned table with a summary line.
pub fn render_text(h: &DrillHistory) -> String {
    let mut out = String::new();
    if h.runs.is_empty() {
        out.push_str("no drill results yet: run `warroom drill` and recover from the fault\n");
    } else {
        let _ = writeln!(
            out,
            "{:<19}  {:<18}  {:>9}  {:>12}  {:<16}  INCIDENT",
            "DATE (UTC)", "SCENARIO", "RTO", "DATA LOSS", "TARGET"
        );
        for r in &h.runs {
            let target = match (r.target_met, r.rto_target_secs) {
                (Some(true), Some(t)) => format!("met ({t} s)"),
                (Some(false), Some(t)) => format!("MISSED ({t} s)"),
                _ => "-".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<19}  {:<18}  {:>9}  {:>12}  {:<16}  {}",
                r.date.format("%Y-%m-%d %H:%M:%S"),
                r.scenario.as_deref().unwrap_or("?"),
                r.rto_secs.map_or("-".to_string(), |s| format!("{s:.1} s")),
                r.data_loss_bytes.map_or("-".to_string(), |b| format!("{b} B")),
                target,
                r.incident
            );
        }
        if let (Some(b), Some(m), Some(w)) = (&h.best, h.median_rto_secs, &h.worst) {
            let _ = writeln!(
                out,
                "\n{} drill(s): best {:.1} s ({}), median {m:.1} s, worst {:.1} s ({})",
                h.runs.len(),
                b.rto_secs,
                b.incident,
                w.rto_secs,
                w.incident
            );
        }
    }
    for u in &h.unreadable {
        let _ = writeln!(out, "warning: skipped an unreadable incident log: {u}");
    }
    out
}
