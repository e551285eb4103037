//! The drill scorecard: a trainee's result, computed from the incident log alone against the
//! scenario's objectives (`[objectives]` of its scenario file). Pure: the entries are the truth.
//!
//! The RTO and data loss are the ones the recovery tracker measured and logged (`drill-result`,
//! see `app::measure`): they are read, never measured again. Every objective that applies is
//! one [`ScoreLine`] with its points, and every mistake one [`Debrief`] line naming the log
//! entry it comes from. Rules (each tested in `scorecard/tests.rs`):
//!
//! - *RTO*: the counted result (the latest `drill-result` not followed by a
//!   `mitigation-withdrawn`) within `objectives.rto`. No counted result: not recovered.
//! - *Data loss*: that result's `data_loss_bytes` within `max-data-loss`; a result without a
//!   PostgreSQL switch lost nothing; a switch whose LSNs were not seen is unknown (no points).
//! - *Time to detect*: see [`DETECT_DEFINITION`]. *Time to first action*: first fault to the
//!   trainee's first step confirmed.
//! - *Checklist*: each `checklist-on-time` item's first tick against its due time (the
//!   communication checklist, from the incident's T+0): on time, late or missed. Shared by the team.
//! - *Promote*: the trainee's first executed promotion (promote / exec-promote) was of the
//!   `promote` node and was verified. Every executed promotion of another node is a mistake; so
//!   is any promotion confirmed before a `primary-down` assertion or `check-primary` step was
//!   verified ("before confirming the primary was down").
//! - *Fence* (`fence = true`): a fence of the old primary (the measured one, else any node that
//!   was not promoted) verified, and not after the first label-pod / repoint-service /
//!   set-weights / shift-traffic step executed while the old primary may still have taken
//!   writes (no primary-down check verified, and no fence skipped as not applicable because
//!   its `node-writable` gate was not met, before that move).
//! - *Forbidden*: each executed step of a forbidden operation kind on its target (any target
//!   when none is named).
//! - *Dangerous attempts*: each precheck failure of a changing step (a safety rule or precheck
//!   refused it) and each override taken.
//! - *Hints*: each entry of kind `hint`, or `facilitator` with `details.hint`. Shared.
//!
//! Per trainee: steps count for whoever confirmed them (else proposed them), precheck failures
//! and overrides for whoever wrote them; RTO, data loss, checklist and hints are shared outcomes
//! shown on every trainee's card.

mod facts;
mod render;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use render::render_text;

use super::entry::{Entry, EntryKind};
use crate::backends::drill::scenario::ScenarioDef;

/// What "time to detect" measures, shown with the figure.
pub const DETECT_DEFINITION: &str = "first fault (the drill's fault_injected_at, else the first unhealthy verdict) to your first sign of noticing: a step previewed or confirmed, a runbook started, a checklist tick, a note or a status update";

/// A log entry a scorecard line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    /// Its sequence number.
    pub seq: u64,
    /// Its time.
    pub at: DateTime<Utc>,
}

impl EntryRef {
    /// The reference to `e`.
    pub fn of(e: &Entry) -> EntryRef {
        EntryRef { seq: e.seq, at: e.ts }
    }
}

/// `#14 at 03:12:40` (UTC).
impl fmt::Display for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} at {}", self.seq, self.at.format("%H:%M:%S"))
    }
}

/// One scored line: an objective (points earned out of `max`) or a deduction (`max` 0,
/// negative points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreLine {
    /// What is scored: `RTO`, `data loss`, `checklist alert-team`, `dangerous attempt`...
    pub objective: String,
    /// The figure or what happened, in plain words.
    pub detail: String,
    /// Points earned (negative: taken off).
    pub points: i64,
    /// Points possible (0 for a deduction).
    pub max: u32,
    /// The log entry it comes from.
    pub entry: Option<EntryRef>,
}

/// One debrief line: a mistake in plain words, with the entry it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Debrief {
    /// The rule (`wrong-candidate`, `promote-before-check`, `fence-late`, `no-fence`,
    /// `checklist-late`, `checklist-missed`, `forbidden`, `precheck-refused`, `override`, `hint`,
    /// `rto-missed`, `not-recovered`, `data-loss`, `not-promoted`).
    pub rule: &'static str,
    /// The sentence, ending with the entry reference when there is one.
    pub text: String,
    /// The entry.
    pub entry: Option<EntryRef>,
}

/// Where one `checklist-on-time` item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timeliness {
    /// Ticked by its due time (or it has none).
    OnTime,
    /// Ticked this many seconds after it was due.
    Late(i64),
    /// Never ticked.
    Missed,
}

/// One `checklist-on-time` item's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistScore {
    /// Item id.
    pub item: String,
    /// When it was due.
    pub due: Option<DateTime<Utc>>,
    /// The tick.
    pub done: Option<EntryRef>,
    /// On time, late or missed.
    pub status: Timeliness,
}

/// A trainee's scorecard for one drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    /// Scenario id.
    pub scenario: String,
    /// Scenario title.
    pub title: String,
    /// The trainee (`None`: the whole team's actions).
    pub operator: Option<String>,
    /// Measured RTO (`None`: not recovered).
    pub rto_secs: Option<f64>,
    /// The scenario's RTO target.
    pub rto_target_secs: Option<u64>,
    /// Measured data loss in bytes (`None`: unknown or not recovered).
    pub data_loss_bytes: Option<u64>,
    /// The scenario's limit.
    pub max_data_loss: Option<u64>,
    /// See [`DETECT_DEFINITION`].
    pub time_to_detect_secs: Option<f64>,
    /// The definition of time to detect.
    pub detect_definition: &'static str,
    /// First fault to the trainee's first step confirmed.
    pub time_to_first_action_secs: Option<f64>,
    /// The objective's checklist items.
    pub checklist: Vec<ChecklistScore>,
    /// Nodes the trainee promoted (executed), in order.
    pub promoted: Vec<String>,
    /// Dangerous attempts (precheck refusals of changing steps, overrides).
    pub dangerous: usize,
    /// Forbidden actions done.
    pub forbidden: usize,
    /// Hints used.
    pub hints: usize,
    /// Every scored line, objectives first, then deductions.
    pub lines: Vec<ScoreLine>,
    /// Sum of the lines' points.
    pub total: i64,
    /// Sum of the objectives' points possible.
    pub max: u32,
    /// The mistakes, in log order.
    pub debrief: Vec<Debrief>,
}

/// Score the drill whose log is `entries` against `def.objectives`, for `operator` (its steps,
/// precheck failures and overrides), or for everyone with `None`.
pub fn score(entries: &[Entry], def: &ScenarioDef, operator: Option<&str>) -> Scorecard {
    rules::score(entries, def, operator)
}

/// One scorecard per trainee: every operator who wrote an action (a step previewed or
/// confirmed, a runbook started, a checklist tick, a note, a status update, an override) and
/// no `facilitator` entry, in order of first appearance; a drill where nobody acted gets one
/// for whoever declared it.
pub fn scorecards(entries: &[Entry], def: &ScenarioDef) -> Vec<Scorecard> {
    operators(entries).iter().map(|op| score(entries, def, Some(op))).collect()
}

/// The trainees of a drill, as [`scorecards`] finds them: whoever took an action; else whoever
/// wrote anything (a trainee who joined and took command but did nothing is still scored);
/// never whoever facilitates (writes `facilitator` entries). Empty when nobody but a
/// facilitator was there.
pub fn operators(entries: &[Entry]) -> Vec<String> {
    let facilitators: Vec<&str> =
        entries.iter().filter(|e| e.kind == EntryKind::Facilitator).map(|e| e.operator.as_str()).collect();
    let collect = |keep: &dyn Fn(&Entry) -> bool| {
        let mut out: Vec<String> = Vec::new();
        for e in entries.iter().filter(|e| keep(e)) {
            if !out.contains(&e.operator) && !facilitators.contains(&e.operator.as_str()) {
                out.push(e.operator.clone());
            }
        }
        out
    };
    let acted = collect(&|e| facts::is_action(&e.kind));
    if acted.is_empty() { collect(&|_| true) } else { acted }
}

/// The scenario id a drill ran: its first `drill-estate` entry's `details.scenario`, else the
/// result's `fault`.
pub fn scenario_id(entries: &[Entry]) -> Option<String> {
    let estate = entries.iter().find(|e| e.kind == EntryKind::DrillEstate);
    let result = entries.iter().rev().find(|e| e.kind == EntryKind::DrillResult);
    let from = |e: Option<&Entry>, key: &str| {
        e.and_then(|e| e.details.get(key)).and_then(Value::as_str).map(str::to_string)
    };
    from(estate, "scenario").or_else(|| from(result, "fault"))
}

/// The scenario a drill ran, as recorded in its `drill-estate` entry, looked up in the registry
/// (built-ins and the files in `user_dir`, the config dir's `scenarios/`). `None` for a live incident or a scenario that no longer resolves.
pub fn scenario_for(entries: &[Entry], user_dir: Option<&Path>) -> Option<ScenarioDef> {
    let id = scenario_id(entries)?;
    crate::backends::drill::scenario::registry::find(&id, user_dir).ok()
}

/// Whether a drill is over as far as scoring goes: resolved, or recovered (a counted result).
pub fn ended(entries: &[Entry]) -> bool {
    entries.iter().any(|e| e.kind == EntryKind::Resolved) || facts::result(entries).is_some()
}

/// What the console's scorecard overlay shows when it leaves a drill: every trainee's card (a
/// blank line between them) scored against `def`; `None` while the drill is not over.
pub fn overlay_lines(entries: &[Entry], def: &ScenarioDef) -> Option<Vec<String>> {
    if !ended(entries) {
        return None;
    }
    let cards = scorecards(entries, def);
    if cards.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for card in cards {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.extend(render_text(&card));
    }
    Some(out)
}
