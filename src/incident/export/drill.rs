//! The drill report: read from the `drill-result` (drill) or `recovery-result` (live) entry the
//! recovery tracker logs (`app::measure`), rendered as the "Drill report" Markdown section.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::markdown::{code, duration, offset, text};
use super::{PostMortem, plain_text};
use crate::incident::entry::{Entry, EntryKind};

/// The PostgreSQL primary switch a result measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgFigures {
    /// The primary before.
    pub old_primary: String,
    /// Its last LSN seen.
    pub old_lsn: Option<u64>,
    /// The node that took over.
    pub new_primary: String,
    /// Its LSN when it took over.
    pub new_lsn: Option<u64>,
}

/// One step of the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrillStep {
    /// Step id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Status label.
    pub status: String,
    /// Seconds it took.
    pub secs: Option<i64>,
}

/// A checklist item that was late at mitigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateItem {
    /// Item id.
    pub item: String,
    /// Item text.
    pub text: String,
    /// When it was due.
    pub due: Option<DateTime<Utc>>,
    /// When it was done (`None`: not done by mitigation).
    pub done: Option<DateTime<Utc>>,
    /// Seconds late.
    pub late_secs: i64,
}

/// What a drill (or a live recovery) measured, from its result entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    /// The fault that was injected.
    pub fault: Option<String>,
    /// When it was injected.
    pub fault_injected_at: Option<DateTime<Utc>>,
    /// Recovery time measured by the drill, in seconds.
    pub rto_secs: Option<f64>,
    /// Data lost, in bytes.
    pub data_loss_bytes: Option<u64>,
    /// The result summary (`None` when no result was logged).
    pub summary: Option<String>,
    /// `drill-result` or `recovery-result` (`None` when no result was logged).
    pub kind: Option<String>,
    /// First unhealthy snapshot.
    pub detected_at: Option<DateTime<Utc>>,
    /// First step confirmed.
    pub first_action_at: Option<DateTime<Utc>>,
    /// Mitigation.
    pub mitigated_at: Option<DateTime<Utc>>,
    /// What the RTO counts from: `fault_injected` or `detected`.
    pub rto_from: Option<String>,
    /// The RTO target.
    pub rto_target_secs: Option<u64>,
    /// Whether the RTO met it.
    pub target_met: Option<bool>,
    /// Redis replication offset lost.
    pub redis_offset_loss: Option<u64>,
    /// The PostgreSQL primary switch.
    pub postgres: Option<PgFigures>,
    /// Steps with their times.
    pub steps: Vec<DrillStep>,
    /// Checklist items late at mitigation.
    pub late_checklist: Vec<LateItem>,
    /// How long the verdict held before mitigation counted, in seconds.
    pub settle_secs: Option<u64>,
    /// What the verdict still listed at mitigation (lost redundancy).
    pub remaining: Vec<String>,
    /// What was expected down at mitigation.
    pub expected_down: Vec<String>,
    /// Every `mitigation-withdrawn` entry, in log order.
    pub withdrawals: Vec<Withdrawal>,
    /// The latest mitigation was withdrawn and not reached again.
    pub withdrawn: bool,
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn string(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(plain_text)
}

/// A `mitigation-withdrawn` entry: when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withdrawal {
    /// When it was logged.
    pub at: DateTime<Utc>,
    /// Its summary.
    pub summary: String,
}

/// The recovery milestones as the log records them, computed once for both the Milestones
/// table and the drill report: the latest result entry counts unless a `mitigation-withdrawn`
/// entry follows it (then the incident is not mitigated).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Marks<'a> {
    /// The latest result entry.
    pub result: Option<&'a Entry>,
    /// Its `detected_at`, `first_action_at` (results logged by the tracker).
    pub detected: Option<DateTime<Utc>>,
    pub first_action: Option<DateTime<Utc>>,
    /// Mitigation: the result's `mitigated_at` (else its time), `None` once withdrawn.
    pub mitigated: Option<DateTime<Utc>>,
}

/// See [`Marks`].
pub(super) fn marks(entries: &[Entry]) -> Marks<'_> {
    let Some(result) = entries.iter().rev().find(|e| e.kind.is_result()) else {
        return Marks::default();
    };
    let withdrawn = entries.iter().any(|e| e.kind == EntryKind::MitigationWithdrawn && e.seq > result.seq);
    let get = |k: &str| time(result.details.get(k));
    Marks {
        result: Some(result),
        detected: get("detected_at"),
        first_action: get("first_action_at"),
        mitigated: if withdrawn { None } else { Some(get("mitigated_at").unwrap_or(result.ts)) },
    }
}

/// Whether the log holds a result entry of either kind.
pub(super) fn has_result(entries: &[Entry]) -> bool {
    entries.iter().any(|e| e.kind.is_result())
}

/// The last result entry's figures (all `None` / empty when there is none).
pub(super) fn drill_report(entries: &[Entry]) -> DrillReport {
    let m = marks(entries);
    let result = m.result;
    let details = result.map(|e| &e.details);
    let get = |k: &str| details.and_then(|d| d.get(k));
    let u64_of = |k: &str| get(k).and_then(Value::as_u64);
    let postgres = get("postgres").filter(|p| p.is_object()).map(|p| PgFigures {
        old_primary: string(p.get("old_primary")).unwrap_or_default(),
        old_lsn: p.get("old_lsn").and_then(Value::as_u64),
        new_primary: string(p.get("new_primary")).unwrap_or_default(),
        new_lsn: p.get("new_lsn").and_then(Value::as_u64),
    });
    let steps = get("steps")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| DrillStep {
                    id: s.get("id").and_then(Value::as_u64).unwrap_or(0),
                    title: string(s.get("title")).unwrap_or_default(),
                    status: string(s.get("status")).unwrap_or_default(),
                    secs: s.get("secs").and_then(Value::as_i64),
                })
                .collect()
        })
        .unwrap_or_default();
    let late_checklist = get("checklist")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let late_secs = c.get("late_secs")?.as_i64().filter(|s| *s > 0)?;
                    Some(LateItem {
                        item: string(c.get("item")).unwrap_or_default(),
                        text: string(c.get("text")).unwrap_or_default(),
                        due: time(c.get("due")),
                        done: time(c.get("done")),
                        late_secs,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    DrillReport {
        fault: string(get("fault")),
        fault_injected_at: time(get("fault_injected_at")),
        rto_secs: get("rto_secs").and_then(Value::as_f64),
        data_loss_bytes: u64_of("data_loss_bytes"),
        summary: result.map(|e| plain_text(&e.summary)),
        kind: result.map(|e| plain_text(e.kind.as_str())),
        detected_at: time(get("detected_at")),
        first_action_at: time(get("first_action_at")),
        mitigated_at: m.mitigated.filter(|_| get("mitigated_at").is_some()),
        rto_from: string(get("rto_from")),
        rto_target_secs: u64_of("rto_target_secs"),
        target_met: get("target_met").and_then(Value::as_bool),
        redis_offset_loss: u64_of("redis_offset_loss"),
        postgres,
        steps,
        late_checklist,
        settle_secs: u64_of("settle_secs"),
        remaining: strings(get("remaining")),
        expected_down: strings(get("expected_down")),
        withdrawals: entries
            .iter()
            .filter(|e| e.kind == EntryKind::MitigationWithdrawn)
            .map(|e| Withdrawal { at: e.ts, summary: plain_text(&e.summary) })
            .collect(),
        withdrawn: result.is_some() && m.mitigated.is_none(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(plain_text).collect())
        .unwrap_or_default()
}

/// `HH:MM:SS (T+mm:ss)`, or `not reached`.
fn at(t: Option<DateTime<Utc>>, t0: DateTime<Utc>) -> String {
    t.map_or("not reached".to_string(), |t| {
        format!("{} ({})", t.format("%H:%M:%S"), offset((t - t0).num_seconds()))
    })
}

/// The "Drill report" (or, live, "Recovery report") section: the milestones, the RTO against
/// its target, the data lost, the result, the steps and the checklist items late at mitigation.
pub(super) fn render(md: &mut String, pm: &PostMortem) {
    let Some(d) = &pm.drill else { return };
    md.push_str(if pm.meta.drill { "## Drill report\n\n" } else { "## Recovery report\n\n" });
    if d.summary.is_none() {
        md.push_str("No `drill-result` entry was logged.\n\n");
    }
    let t0 = pm.meta.declared_at;
    // Results logged by the recovery tracker carry the milestones; older ones only the RTO.
    let tracked = d.detected_at.is_some();
    milestones(md, d, t0, tracked);
    rto(md, d, tracked);
    data_loss(md, d, tracked);
    if let Some(s) = &d.summary {
        let _ = writeln!(md, "- Result: {}", text(s));
    }
    md.push('\n');
    steps(md, d);
    if tracked {
        late_checklist(md, d, t0);
    }
}

/// Fault, detection, first action, mitigation (or its withdrawal), what was still down.
fn milestones(md: &mut String, d: &DrillReport, t0: DateTime<Utc>, tracked: bool) {
    let fault = match (&d.fault, d.fault_injected_at) {
        (Some(f), Some(when)) => format!("{} at {}", code(f, false), at(Some(when), t0)),
        (Some(f), None) => code(f, false),
        (None, _) => "not recorded".to_string(),
    };
    let _ = writeln!(md, "- Fault injected: {fault}");
    if tracked {
        let _ = writeln!(md, "- Detected (first degraded or failing verdict): {}", at(d.detected_at, t0));
        let _ = writeln!(md, "- First action (first confirmed step): {}", at(d.first_action_at, t0));
        let held = d.settle_secs.map_or(String::new(), |s| format!(", held {s} s"));
        let mitigated = if d.withdrawn {
            "**withdrawn** (not reached again)".to_string()
        } else {
            at(d.mitigated_at, t0)
        };
        let _ = writeln!(md, "- Mitigated (verdict restored{held}): {mitigated}");
    }
    for w in &d.withdrawals {
        let _ = writeln!(md, "- Mitigation withdrawn at {}: {}", at(Some(w.at), t0), text(&w.summary));
    }
    for r in &d.remaining {
        let _ = writeln!(md, "- Still degraded at mitigation: {}", text(r));
    }
    for e in &d.expected_down {
        let _ = writeln!(md, "- Expected down: {}", text(e));
    }
}

/// The RTO, what it counts from, and whether it met its target.
fn rto(md: &mut String, d: &DrillReport, tracked: bool) {
    let from = match d.rto_from.as_deref() {
        Some("detected") => "from detection",
        Some(_) => "from fault injection",
        None => "measured by the drill",
    };
    let rto = d
        .rto_secs
        .map_or("not recorded".to_string(), |s| format!("{s:.1} s ({})", duration(s.round() as i64)));
    let _ = writeln!(md, "- RTO ({from}): {rto}");
    match (d.rto_target_secs, d.target_met, d.rto_secs) {
        (Some(t), Some(true), _) => {
            let _ = writeln!(md, "- RTO target: {t} s: **met**");
        }
        (Some(t), _, Some(s)) => {
            let _ = writeln!(md, "- RTO target: {t} s: **missed** by {:.1} s", s - t as f64);
        }
        _ if tracked => md.push_str("- RTO target: none configured (`[drill] rto_target_secs`)\n"),
        _ => {}
    }
}

/// Bytes lost, the PostgreSQL switch's LSNs, the Redis offset lost.
fn data_loss(md: &mut String, d: &DrillReport, tracked: bool) {
    let loss = match (d.data_loss_bytes, &d.postgres) {
        (Some(b), _) => format!("{b} bytes"),
        (None, Some(_)) => "unknown (LSNs not seen)".to_string(),
        (None, None) if tracked => "not measured (no PostgreSQL primary switch)".to_string(),
        (None, None) => "not recorded".to_string(),
    };
    let _ = writeln!(md, "- Data loss: {loss}");
    if let Some(p) = &d.postgres {
        let lsn =
            |l: Option<u64>| l.map_or("?".to_string(), |l| format!("{:X}/{:X}", l >> 32, l & 0xFFFF_FFFF));
        let _ = writeln!(
            md,
            "  - {} last seen writable at LSN {}; {} remains, the timelines forked at LSN {}",
            code(&p.old_primary, false),
            lsn(p.old_lsn),
            code(&p.new_primary, false),
            lsn(p.new_lsn)
        );
    }
    if let Some(o) = d.redis_offset_loss {
        let _ = writeln!(md, "- Redis replication offset lost: {o}");
    }
}

/// The result's steps with the time each took.
fn steps(md: &mut String, d: &DrillReport) {
    if d.steps.is_empty() {
        return;
    }
    md.push_str("| Step | Title | Status | Took |\n| --- | --- | --- | --- |\n");
    for s in &d.steps {
        let took = s.secs.map_or(String::new(), duration);
        let _ = writeln!(md, "| {} | {} | {} | {took} |", s.id, text(&s.title), text(&s.status));
    }
    md.push('\n');
}

/// Checklist items that were late when the incident was mitigated.
fn late_checklist(md: &mut String, d: &DrillReport, t0: DateTime<Utc>) {
    if d.late_checklist.is_empty() {
        md.push_str("No checklist item was late at mitigation.\n\n");
        return;
    }
    md.push_str("Checklist items late at mitigation:\n\n");
    for c in &d.late_checklist {
        let done = c.done.map_or("not done".to_string(), |t| format!("done {}", at(Some(t), t0)));
        let due = c.due.map_or(String::new(), |t| format!("due {}, ", at(Some(t), t0)));
        let _ = writeln!(md, "- {}: {due}{done}, late by {}", text(&c.text), duration(c.late_secs));
    }
    md.push('\n');
}
