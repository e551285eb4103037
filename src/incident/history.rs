//! `warroom drill --history`: every drill incident in the data dir, mitigated or not, grouped
//! by scenario, with the best, median and worst RTO of each scenario (RTOs of different
//! scenarios are never ranked against each other).
//!
//! A drill is *mitigated* when its latest `drill-result` entry is not followed by a
//! `mitigation-withdrawn` entry (the rule the export's milestones use). Otherwise it says why
//! not: "not mitigated: still unhealthy: REASON" from the last known verdict (the latest
//! `verdict` or `mitigation-withdrawn` entry, when it lists reasons), else "abandoned".

mod trend;

pub use trend::{Figures, Trend, TrendRun};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::entry::{Entry, EntryKind};
use super::export::plain_text;
use super::log::{LogError, read_log};
use super::store::{IncidentMeta, list_incidents};
use crate::backends::drill::scenario::ScenarioDef;

/// One drill incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillRun {
    /// When the result was logged (not mitigated: the last entry).
    pub date: DateTime<Utc>,
    /// Incident id.
    pub incident: String,
    /// The fault scenario.
    pub scenario: Option<String>,
    /// Who ran it: the operator of the result entry (not mitigated: who declared the drill).
    pub operator: String,
    /// Mitigated (and not withdrawn since).
    pub mitigated: bool,
    /// Why it is not mitigated (`None` when it is).
    pub why_not: Option<String>,
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

/// The figures of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioStats {
    /// Scenario name (`?` when unknown).
    pub scenario: String,
    /// Drills of this scenario.
    pub drills: usize,
    /// How many were mitigated.
    pub mitigated: usize,
    /// Shortest RTO.
    pub best: Option<RunRef>,
    /// Median RTO (the mean of the two middle ones for an even count).
    pub median_rto_secs: Option<f64>,
    /// Longest RTO.
    pub worst: Option<RunRef>,
}

/// Every drill, grouped by scenario (then by date), with per-scenario RTO statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillHistory {
    /// The runs, sorted by scenario, then date.
    pub runs: Vec<DrillRun>,
    /// Per-scenario statistics, by scenario name.
    pub scenarios: Vec<ScenarioStats>,
    /// Each operator's trend per scenario (scores when the scenario's objectives are known).
    pub trends: Vec<Trend>,
    /// Incident logs that could not be read, with the reason (the others are still listed).
    pub unreadable: Vec<String>,
}

/// Scan `<data_dir>/incidents` for drill incidents (unscored: RTO trends only).
pub fn drill_history(data_dir: &Path) -> Result<DrillHistory, LogError> {
    drill_history_scored(data_dir, &|_| None)
}

/// Scan `<data_dir>/incidents` for drill incidents; `scenario_of` gives a drill's scenario
/// definition (from its log), so each operator's runs are scored against its objectives.
pub fn drill_history_scored(
    data_dir: &Path,
    scenario_of: &dyn Fn(&[Entry]) -> Option<ScenarioDef>,
) -> Result<DrillHistory, LogError> {
    let mut runs = Vec::new();
    let mut trend_runs = Vec::new();
    let mut unreadable = Vec::new();
    for meta in list_incidents(data_dir)? {
        let meta = match meta {
            Ok(m) if m.drill => m,
            Ok(_) => continue,
            Err(e) => {
                unreadable.push(plain_text(&e.to_string()));
                continue;
            }
        };
        match read_log(&meta.path) {
            Ok(entries) => {
                let run = run_of(&meta, &entries);
                let scenario = run.scenario.clone().unwrap_or_else(|| "?".into());
                let rto = run.rto_secs.filter(|_| run.mitigated);
                let def = scenario_of(&entries);
                let at = (run.date, run.incident.as_str(), rto);
                trend_runs.extend(trend::runs_of(&entries, def.as_ref(), &scenario, &run.operator, at));
                runs.push(run);
            }
            Err(e) => unreadable.push(plain_text(&e.to_string())),
        }
    }
    let key = |r: &DrillRun| r.scenario.clone().unwrap_or_else(|| "?".into());
    runs.sort_by(|a, b| key(a).cmp(&key(b)).then(a.date.cmp(&b.date)));
    let mut groups: BTreeMap<String, Vec<&DrillRun>> = BTreeMap::new();
    for r in &runs {
        groups.entry(key(r)).or_default().push(r);
    }
    let scenarios = groups.into_iter().map(|(scenario, runs)| stats(scenario, &runs)).collect();
    Ok(DrillHistory { runs, scenarios, trends: trend::trends(trend_runs), unreadable })
}

fn stats(scenario: String, runs: &[&DrillRun]) -> ScenarioStats {
    let mut timed: Vec<(&str, f64)> = runs
        .iter()
        .filter(|r| r.mitigated)
        .filter_map(|r| Some((r.incident.as_str(), r.rto_secs?)))
        .collect();
    timed.sort_by(|a, b| a.1.total_cmp(&b.1));
    let as_ref =
        |(incident, rto_secs): &(&str, f64)| RunRef { incident: incident.to_string(), rto_secs: *rto_secs };
    let median_rto_secs = match timed.len() {
        0 => None,
        n if n % 2 == 1 => Some(timed[n / 2].1),
        n => Some((timed[n / 2 - 1].1 + timed[n / 2].1) / 2.0),
    };
    ScenarioStats {
        scenario,
        drills: runs.len(),
        mitigated: runs.iter().filter(|r| r.mitigated).count(),
        best: timed.first().map(as_ref),
        median_rto_secs,
        worst: timed.last().map(as_ref),
    }
}

/// One drill incident's row.
fn run_of(meta: &IncidentMeta, entries: &[Entry]) -> DrillRun {
    let result = entries.iter().rev().find(|e| e.kind == EntryKind::DrillResult);
    let withdrawn = result
        .is_some_and(|r| entries.iter().any(|e| e.kind == EntryKind::MitigationWithdrawn && e.seq > r.seq));
    let from_title = meta.title.strip_prefix("Drill: ").map(plain_text);
    let d = result.map(|e| &e.details);
    let get = |k: &str| d.and_then(|d| d.get(k));
    let scenario = get("fault").and_then(Value::as_str).map(plain_text).or(from_title);
    let declared_by = entries.iter().find(|e| e.kind == EntryKind::Declared).or(entries.first());
    match result {
        Some(r) if !withdrawn => DrillRun {
            date: r.ts,
            incident: plain_text(&meta.id),
            scenario,
            operator: plain_text(&r.operator),
            mitigated: true,
            why_not: None,
            rto_secs: get("rto_secs").and_then(Value::as_f64),
            data_loss_bytes: get("data_loss_bytes").and_then(Value::as_u64),
            redis_offset_loss: get("redis_offset_loss").and_then(Value::as_u64),
            rto_target_secs: get("rto_target_secs").and_then(Value::as_u64),
            target_met: get("target_met").and_then(Value::as_bool),
        },
        _ => DrillRun {
            date: entries.last().map_or(meta.declared_at, |e| e.ts),
            incident: plain_text(&meta.id),
            scenario,
            operator: declared_by.map(|e| plain_text(&e.operator)).unwrap_or_default(),
            mitigated: false,
            why_not: Some(why_not(entries)),
            rto_secs: None,
            data_loss_bytes: None,
            redis_offset_loss: None,
            rto_target_secs: None,
            target_met: None,
        },
    }
}

/// "not mitigated: still unhealthy: ..." from the last known verdict, else "abandoned".
fn why_not(entries: &[Entry]) -> String {
    let last =
        entries.iter().rev().find(|e| matches!(e.kind, EntryKind::Verdict | EntryKind::MitigationWithdrawn));
    let reasons: Vec<String> = last
        .and_then(|e| e.details.get("reasons"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).take(2).map(plain_text).collect())
        .unwrap_or_default();
    if reasons.is_empty() {
        "abandoned".into()
    } else {
        format!("not mitigated: still unhealthy: {}", reasons.join("; "))
    }
}

/// The history as an aligned table, then one summary line per scenario.
pub fn render_text(h: &DrillHistory) -> String {
    let mut out = String::new();
    if h.runs.is_empty() {
        out.push_str("no drills yet: run `warroom drill` and recover from the fault\n");
    } else {
        let _ = writeln!(
            out,
            "{:<19}  {:<18}  {:>9}  {:>12}  {:<16}  {:<16}  INCIDENT",
            "DATE (UTC)", "SCENARIO", "RTO", "DATA LOSS", "TARGET", "OPERATOR"
        );
        for r in &h.runs {
            let target = match (r.target_met, r.rto_target_secs) {
                (Some(true), Some(t)) => format!("met ({t} s)"),
                (Some(false), Some(t)) => format!("MISSED ({t} s)"),
                _ => "-".to_string(),
            };
            let why = r.why_not.as_ref().map_or(String::new(), |w| format!("  {w}"));
            let _ = writeln!(
                out,
                "{:<19}  {:<18}  {:>9}  {:>12}  {:<16}  {:<16}  {}{why}",
                r.date.format("%Y-%m-%d %H:%M:%S"),
                r.scenario.as_deref().unwrap_or("?"),
                r.rto_secs.map_or("-".to_string(), |s| format!("{s:.1} s")),
                r.data_loss_bytes.map_or("-".to_string(), |b| format!("{b} B")),
                target,
                r.operator,
                r.incident
            );
        }
        out.push('\n');
        for s in &h.scenarios {
            let _ = write!(out, "{}: {} drill(s), {} mitigated", s.scenario, s.drills, s.mitigated);
            if let (Some(b), Some(m), Some(w)) = (&s.best, s.median_rto_secs, &s.worst) {
                let _ = write!(
                    out,
                    ": best {:.1} s ({}), median {m:.1} s, worst {:.1} s ({})",
                    b.rto_secs, b.incident, w.rto_secs, w.incident
                );
            }
            out.push('\n');
        }
        trend::render(&mut out, &h.trends);
    }
    for u in &h.unreadable {
        let _ = writeln!(out, "warning: skipped an unreadable incident log: {u}");
    }
    out
}
