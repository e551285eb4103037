//! Post-mortem export of an incident log: a Markdown skeleton and a JSON document.
//!
//! Both are rendered from one [`PostMortem`], computed from the log entries alone (plus the
//! checklist whose due times the lateness is measured against). Every string taken from the
//! log passes through [`plain_text`] (no terminal escapes, no control characters) and is
//! escaped or put in code spans by the Markdown renderer, so backend text can neither break the
//! document nor reach a terminal that displays it.
//!
//! Log details read here: `step-*` entries carry `{"step": id}` and `step-previewed` adds
//! `{"preview": {title, target, lines, blast_radius}}`; `checklist` entries `{"item", "note"}`;
//! a drill's `drill-result` entry (or a live `recovery-result`) may carry `fault`,
//! `fault_injected_at` (RFC 3339), `rto_secs` and `data_loss_bytes`, plus what the recovery
//! tracker (`app::measure`) logs: `detected_at`, `first_action_at`, `mitigated_at`, `rto_from`,
//! `rto_target_secs`, `target_met`, `redis_offset_loss`, `postgres`, `steps`, `checklist`.

mod charts;
mod drill;
mod markdown;
mod scorecard;

pub use charts::{TrendChart, TrendPoint, trend_charts};
pub use drill::{DrillReport, DrillStep, LateItem, PgFigures, Withdrawal};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::text::is_unsafe;

use crate::text::redact::redact;

use super::checklist::{Checklist, DECLARED_ITEM, Due, FIRST_STATUS_UPDATE_ITEM};
use super::entry::{Entry, EntryKind};
use super::scorecard::{Scorecard, scorecards};
use crate::backends::drill::scenario::ScenarioDef;

/// What the export needs to know about the incident besides its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportMeta {
    /// Incident id, e.g. `INC-20261126-120301`.
    pub id: String,
    /// Title.
    pub title: String,
    /// SEV1-SEV4.
    pub severity: String,
    /// A drill incident.
    pub drill: bool,
    /// T+0.
    pub declared_at: DateTime<Utc>,
    /// When it was resolved (falls back to the `resolved` entry).
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One milestone of the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// `declared`, `detected`, `first-action`, `mitigated`, `resolved`.
    pub name: &'static str,
    /// When it happened, if it did.
    pub at: Option<DateTime<Utc>>,
    /// Seconds since T+0.
    pub offset_secs: Option<i64>,
    /// The log entry that marks it.
    pub seq: Option<u64>,
    /// That entry's summary.
    pub summary: Option<String>,
}

/// One timeline row (one log entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineRow {
    /// Sequence number.
    pub seq: u64,
    /// Wall time.
    pub ts: DateTime<Utc>,
    /// Seconds since T+0 (negative before it).
    pub offset_secs: i64,
    /// Who wrote it.
    pub operator: String,
    /// Entry kind.
    pub kind: String,
    /// Summary.
    pub summary: String,
}

/// One flight-recorder segment the log records (a `recording` entry): listed apart from the
/// timeline, which it would clutter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingRow {
    /// The entry's sequence number.
    pub seq: u64,
    /// When the segment closed.
    pub ts: DateTime<Utc>,
    /// The recording console.
    pub console: String,
    /// The segment file (under the console's recording directory).
    pub segment: String,
    /// Its size.
    pub bytes: Option<u64>,
    /// Its SHA-256 (hex), as `log verify` checks it.
    pub sha256: String,
}

impl RecordingRow {
    fn of(e: &Entry) -> RecordingRow {
        let s = |k: &str| plain_text(e.details.get(k).and_then(|v| v.as_str()).unwrap_or("?"));
        RecordingRow {
            seq: e.seq,
            ts: e.ts,
            console: s("console"),
            segment: s("segment"),
            bytes: e.details.get("bytes").and_then(|v| v.as_u64()),
            sha256: s("sha256"),
        }
    }
}

/// One checklist completion (or a missing one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistRow {
    /// Item id.
    pub id: String,
    /// Phase title.
    pub phase: String,
    /// Item text.
    pub text: String,
    /// Posting number for a recurring item (1, 2, ...).
    pub posting: Option<u32>,
    /// When it was due.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was done (`None`: not done by the end of the log).
    pub done_at: Option<DateTime<Utc>>,
    /// Seconds late (negative: early); for a missing item, how overdue it was at the end.
    pub late_secs: Option<i64>,
    /// The operator's note.
    pub note: Option<String>,
}

/// One step: its preview and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// Step id (from `details.step`).
    pub id: String,
    /// Preview title.
    pub title: String,
    /// Preview target.
    pub target: Option<String>,
    /// The exact call(s) previewed.
    pub lines: Vec<String>,
    /// Blast radius.
    pub blast_radius: Option<String>,
    /// `verified`, `failed`, `skipped`, `aborted`, `unfinished` or `previewed`.
    pub outcome: &'static str,
    /// When the outcome was logged.
    pub outcome_at: Option<DateTime<Utc>>,
    /// Every entry about the step, in log order.
    pub events: Vec<TimelineRow>,
}

/// Everything the export says, computed once from the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostMortem {
    /// The incident.
    pub meta: ExportMeta,
    /// Declared to resolved, in seconds.
    pub duration_secs: Option<i64>,
    /// Summary of the `resolved` entry.
    pub resolution: Option<String>,
    /// Declared, detected, first action, mitigated, resolved.
    pub milestones: Vec<Milestone>,
    /// Declared to detection (the result's `detected_at`, else the first observation).
    pub time_to_detect_secs: Option<i64>,
    /// Declared to mitigation: the latest result's `mitigated_at`, unless a
    /// `mitigation-withdrawn` entry follows it (the drill report shows the same instant).
    pub time_to_mitigate_secs: Option<i64>,
    /// Declared to resolved.
    pub time_to_resolve_secs: Option<i64>,
    /// Every entry but bookkeeping (see [`EntryKind::is_bookkeeping`]).
    pub timeline: Vec<TimelineRow>,
    /// The flight-recorder segments the log records (`recording` entries); left out of the
    /// JSON when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recordings: Vec<RecordingRow>,
    /// Checklist completion with lateness.
    pub checklist: Vec<ChecklistRow>,
    /// Steps in order of first appearance.
    pub steps: Vec<StepReport>,
    /// Drill measurements (drills, and live incidents with a `recovery-result` entry).
    pub drill: Option<DrillReport>,
    /// One scorecard per trainee (drills scored against their scenario); left out of the JSON
    /// when empty, so unscored exports read exactly as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scorecards: Vec<Scorecard>,
    /// Replica lag and region traffic from the `trend-sample` entries (charted in the
    /// Markdown); left out of the JSON when the log has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trends: Vec<TrendChart>,
}

/// The post-mortem skeleton in Markdown, with lateness measured against the built-in
/// communication checklist.
pub fn export_markdown(meta: &ExportMeta, entries: &[Entry]) -> String {
    export_markdown_scored(meta, entries, None)
}

/// The same content as [`export_markdown`], as pretty-printed JSON.
pub fn export_json(meta: &ExportMeta, entries: &[Entry]) -> String {
    export_json_scored(meta, entries, None)
}

/// [`export_markdown`] with a "Scorecard" section per trainee when `scenario` (the drill's
/// scenario definition) is given.
pub fn export_markdown_scored(
    meta: &ExportMeta,
    entries: &[Entry],
    scenario: Option<&ScenarioDef>,
) -> String {
    markdown::render(&PostMortem::build(meta, entries, &Checklist::communication()).scored(entries, scenario))
}

/// [`export_json`] with the trainees' scorecards (`scorecards`) when `scenario` is given.
pub fn export_json_scored(meta: &ExportMeta, entries: &[Entry], scenario: Option<&ScenarioDef>) -> String {
    let pm = PostMortem::build(meta, entries, &Checklist::communication()).scored(entries, scenario);
    // Serializing plain structs with string keys cannot fail.
    serde_json::to_string_pretty(&pm).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

impl PostMortem {
    /// Compute the post-mortem from the log; `checklist` (unticked) gives the due times.
    pub fn build(meta: &ExportMeta, entries: &[Entry], checklist: &Checklist) -> PostMortem {
        let t0 = meta.declared_at;
        let meta = ExportMeta {
            id: plain_text(&meta.id),
            title: plain_text(&meta.title),
            severity: plain_text(&meta.severity),
            ..meta.clone()
        };
        let resolved = entries.iter().rev().find(|e| e.kind == EntryKind::Resolved);
        let resolved_at = meta.resolved_at.or(resolved.map(|e| e.ts));
        let meta = ExportMeta { resolved_at, ..meta };
        let row = |e: &Entry| TimelineRow {
            seq: e.seq,
            ts: e.ts,
            offset_secs: (e.ts - t0).num_seconds(),
            operator: plain_text(&e.operator),
            kind: plain_text(e.kind.as_str()),
            summary: plain_text(&e.summary),
        };
        let milestone = |name, e: Option<&Entry>, at: Option<DateTime<Utc>>| {
            let at = at.or(e.map(|e| e.ts));
            Milestone {
                name,
                at,
                offset_secs: at.map(|a| (a - t0).num_seconds()),
                seq: e.map(|e| e.seq),
                summary: e.map(|e| plain_text(&e.summary)),
            }
        };
        // One computation for the Milestones and the drill report: the recovery tracker's
        // result (detection, first action, mitigation unless withdrawn) where the log has one.
        let marks = drill::marks(entries);
        let declared = entries.iter().find(|e| e.kind == EntryKind::Declared);
        let (detected, detected_at) = match marks.detected {
            Some(at) => (marks.result, Some(at)),
            None => (entries.iter().find(|e| e.kind == EntryKind::Observation), None),
        };
        let (first_action, first_action_at) = match marks.first_action {
            Some(at) => (marks.result, Some(at)),
            None => (entries.iter().find(|e| e.kind == EntryKind::StepConfirmed), None),
        };
        let mitigated = marks.mitigated.and(marks.result);
        let milestones = vec![
            milestone("declared", declared, Some(t0)),
            milestone("detected", detected, detected_at),
            milestone("first-action", first_action, first_action_at),
            milestone("mitigated", mitigated, marks.mitigated),
            milestone("resolved", resolved, resolved_at),
        ];
        let since_t0 = |name: &str| milestones.iter().find(|m| m.name == name).and_then(|m| m.offset_secs);
        let end = resolved_at.or(entries.last().map(|e| e.ts)).unwrap_or(t0);
        PostMortem {
            duration_secs: resolved_at.map(|r| (r - t0).num_seconds()),
            resolution: resolved.map(|e| plain_text(&e.summary)),
            time_to_detect_secs: since_t0("detected"),
            time_to_mitigate_secs: since_t0("mitigated"),
            time_to_resolve_secs: resolved_at.map(|r| (r - t0).num_seconds()),
            milestones,
            timeline: entries.iter().filter(|e| !e.kind.is_bookkeeping()).map(row).collect(),
            recordings: entries
                .iter()
                .filter(|e| e.kind == EntryKind::Recording)
                .map(RecordingRow::of)
                .collect(),
            checklist: checklist_rows(checklist, t0, end, entries),
            steps: step_reports(entries, &row),
            drill: (meta.drill || drill::has_result(entries)).then(|| drill::drill_report(entries)),
            scorecards: Vec::new(),
            trends: trend_charts(entries),
            meta,
        }
    }

    /// With one scorecard per trainee of a drill scored against `scenario` (none for a live
    /// incident or without a scenario).
    pub fn scored(mut self, entries: &[Entry], scenario: Option<&ScenarioDef>) -> PostMortem {
        if let Some(def) = scenario.filter(|_| self.meta.drill) {
            self.scorecards = scorecards(entries, def);
        }
        self
    }
}

/// Replay the checklist entries on a fresh copy of `checklist`, measuring each tick against
/// the due time in force just before it; then add a row for every item never done.
fn checklist_rows(
    checklist: &Checklist,
    t0: DateTime<Utc>,
    end: DateTime<Utc>,
    entries: &[Entry],
) -> Vec<ChecklistRow> {
    let mut list = checklist.clone();
    let mut rows: Vec<ChecklistRow> = Vec::new();
    for e in entries {
        let ids: Vec<String> = match e.kind {
            EntryKind::Declared => vec![DECLARED_ITEM.to_string()],
            EntryKind::Checklist => {
                e.details.get("item").and_then(Value::as_str).map(str::to_string).into_iter().collect()
            }
            EntryKind::StatusUpdate => list
                .items
                .iter()
                .filter(|i| i.is_recurring() || (i.id == FIRST_STATUS_UPDATE_ITEM && i.done.is_none()))
                .map(|i| i.id.clone())
                .collect(),
            _ => continue,
        };
        let note = e.details.get("note").and_then(Value::as_str).map(plain_text);
        for id in ids {
            let Some(item) = list.item(&id) else { continue };
            if !item.is_recurring() && item.done.is_some() {
                continue;
            }
            let due_at = Checklist::due_at(item, t0);
            let posting = item.is_recurring().then(|| rows.iter().filter(|r| r.id == id).count() as u32 + 1);
            rows.push(ChecklistRow {
                id: id.clone(),
                phase: item.phase.clone(),
                text: item.text.clone(),
                posting,
                due_at,
                done_at: Some(e.ts),
                late_secs: due_at.map(|d| (e.ts - d).num_seconds()),
                note: note.clone(),
            });
            let _ = list.tick(&id, e.ts, note.clone());
        }
    }
    // Items never done, and recurring items whose next posting was due before the end.
    for item in &list.items {
        let due_at = Checklist::due_at(item, t0);
        let missing = match item.due {
            Due::Every { .. } => due_at.is_some_and(|d| d <= end),
            _ => item.done.is_none(),
        };
        if missing {
            let posting =
                item.is_recurring().then(|| rows.iter().filter(|r| r.id == item.id).count() as u32 + 1);
            rows.push(ChecklistRow {
                id: item.id.clone(),
                phase: item.phase.clone(),
                text: item.text.clone(),
                posting,
                due_at,
                done_at: None,
                late_secs: due_at.map(|d| (end - d).num_seconds()).filter(|s| *s >= 0),
                note: None,
            });
        }
    }
    // Display order: checklist order, postings in order.
    let order = |id: &str| checklist.items.iter().position(|i| i.id == id).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| (order(&r.id), r.posting));
    rows
}

/// `details.step` as text (ids may be numbers or strings).
fn step_id(e: &Entry) -> Option<String> {
    match e.details.get("step")? {
        Value::String(s) => Some(plain_text(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn step_reports(entries: &[Entry], row: &dyn Fn(&Entry) -> TimelineRow) -> Vec<StepReport> {
    let mut steps: Vec<StepReport> = Vec::new();
    for e in entries.iter().filter(|e| e.kind.is_step()) {
        let Some(id) = step_id(e) else { continue };
        let index = match steps.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                steps.push(StepReport {
                    title: format!("step {id}"),
                    id,
                    target: None,
                    lines: Vec::new(),
                    blast_radius: None,
                    outcome: "previewed",
                    outcome_at: None,
                    events: Vec::new(),
                });
                steps.len() - 1
            }
        };
        let step = &mut steps[index];
        step.events.push(row(e));
        // A runbook step skipped before it came up was never previewed: its skip names it.
        if step.title == format!("step {}", step.id)
            && let Some(t) = e.details.get("title").and_then(Value::as_str)
        {
            step.title = plain_text(t);
        }
        let outcome = match e.kind {
            EntryKind::StepPreviewed => {
                if let Some(p) = e.details.get("preview") {
                    let text = |k: &str| p.get(k).and_then(Value::as_str).map(plain_text);
                    if let Some(t) = text("title") {
                        step.title = t;
                    }
                    step.target = text("target");
                    step.blast_radius = text("blast_radius");
                    step.lines = p
                        .get("lines")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(Value::as_str).map(plain_text).collect())
                        .unwrap_or_default();
                }
                continue;
            }
            EntryKind::StepVerified => "verified",
            EntryKind::StepFailed => "failed",
            EntryKind::StepSkipped => "skipped",
            EntryKind::StepAborted => "aborted",
            _ => "unfinished",
        };
        step.outcome = outcome;
        step.outcome_at = Some(e.ts);
    }
    steps
}

/// Text safe to show anywhere: terminal escape sequences (CSI, OSC, DCS/SOS/PM/APC strings and
/// two-byte escapes) removed, other C0/C1 controls and DEL removed, line breaks and tabs turned
/// into spaces, bidi controls made visible as `<U+XXXX>`, then secrets redacted ([`redact`]).
/// The result is one line.
pub(crate) fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in 0x40..=0x7e.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // Any other escape is two characters long.
                _ => {}
            },
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            // Bidi embeddings, overrides, isolates and marks would reorder what the reader sees.
            c if is_unsafe(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c => out.push(c),
        }
    }
    // After stripping, so an escape sequence cannot hide a secret's label from the rules.
    redact(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn plain_text_strips_escapes_and_controls() {
        assert_eq!(plain_text("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(plain_text("x\u{1b}]52;c;ZXZpbA==\u{7}y"), "xy");
        assert_eq!(plain_text("x\u{1b}]0;title\u{1b}\\y"), "xy");
        assert_eq!(plain_text("x\u{1b}Pdcs\u{1b}\\y\u{1b}cz"), "xyz");
        assert_eq!(plain_text("one\ntwo\tthree\r"), "one two three ");
        assert_eq!(plain_text("c1:\u{9b}31m\u{85}\u{7f}\u{0}ok"), "c1:31mok");
        assert_eq!(plain_text("unterminated \u{1b}]52;c;"), "unterminated ");
        assert_eq!(plain_text("ünïcødé ✓"), "ünïcødé ✓");
        assert_eq!(plain_text("evil\u{202e}gnp.exe\u{2066}x"), "evil<U+202E>gnp.exe<U+2066>x");
        assert_eq!(plain_text("a\u{2028}b\u{2029}c"), "a b c");
        assert_eq!(plain_text("down: postgres://u:pw@h/db"), "down: postgres://u:***@h/db");
        assert_eq!(plain_text("pass\u{1b}[0mword=hunter2 x"), "password=*** x");
    }
}
