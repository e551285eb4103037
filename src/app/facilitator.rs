//! The facilitator of a drill: pause and resume the one drill clock, inject a fault, release a
//! staged hint or write one, end the drill. Everything is a `facilitator` entry (details
//! `{action, ...}`) so every console (joined ones through the log follower) knows the paused
//! intervals and the hints; the estate itself is paused or struck through [`Effect::Drill`] on
//! the console that hosts it. Staged hints with `after` are released by the hosting console
//! after that much drill time without progress (no step executed, no checklist item ticked).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::effect::Effect;
use super::pipeline::{flash, log};
use super::state::{Modal, State};
use crate::backends::drill::DrillControl;
use crate::backends::drill::scenario::FaultKind;
use crate::backends::drill::scenario::model::TargetKind;
use crate::backends::drill::scenario::{FaultDef, HintDef};
use crate::incident::drill_clock::DrillClock;
use crate::incident::entry::{Entry, EntryKind};
use strum::IntoEnumIterator;

/// A hint the trainees were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// 1-based number among the hints given.
    pub n: u64,
    /// The text.
    pub text: String,
    /// When it was released.
    pub at: DateTime<Utc>,
    /// `facilitator` or `timer`.
    pub by: String,
    /// Index of the staged hint it releases (`None`: free text).
    pub staged: Option<usize>,
}

/// What this console knows of the drill's facilitation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facilitation {
    /// This console is the facilitator's (never confirms steps, takes command or proposes).
    pub facilitator: bool,
    /// The paused intervals: the one drill clock.
    pub clock: DrillClock,
    /// The scenario's staged hints.
    pub staged: Vec<HintDef>,
    /// This console releases staged hints on their timers (it hosts the estate).
    pub auto_hints: bool,
    /// Hints released so far, oldest first.
    pub hints: Vec<Hint>,
    /// Last progress (a step executed, a checklist item ticked).
    pub last_progress: Option<DateTime<Utc>>,
    /// The facilitator ended the drill.
    pub ended: bool,
    /// The wall clock as of the last action (the domain's `now` stands still while paused).
    pub wall: DateTime<Utc>,
}

impl Facilitation {
    /// Take an entry (this console's or another's) into account.
    pub fn apply(&mut self, e: &Entry) {
        self.note_kind(&e.kind, e.ts);
        if e.kind != EntryKind::Facilitator {
            return;
        }
        self.clock.apply(e);
        let d = &e.details;
        match d.get("action").and_then(Value::as_str) {
            Some("hint") => {
                let n = d.get("n").and_then(Value::as_u64).unwrap_or(self.hints.len() as u64 + 1);
                let text = d.get("text").and_then(Value::as_str).unwrap_or(&e.summary).to_string();
                let by = d.get("by").and_then(Value::as_str).unwrap_or("facilitator").to_string();
                let staged = d.get("staged").and_then(Value::as_u64).map(|s| s as usize);
                self.add_hint(Hint { n, text, at: e.ts, by, staged });
            }
            Some("end") => self.ended = true,
            _ => {}
        }
    }

    /// Progress a hint timer waits for: an executed step or a ticked checklist item.
    pub fn note_kind(&mut self, kind: &EntryKind, at: DateTime<Utc>) {
        if matches!(kind, EntryKind::StepExecuting | EntryKind::Checklist) {
            self.last_progress = Some(self.last_progress.map_or(at, |p| p.max(at)));
        }
    }

    fn add_hint(&mut self, h: Hint) {
        if !self.hints.iter().any(|x| x.n == h.n) {
            self.hints.push(h);
            self.hints.sort_by_key(|h| h.n);
        }
    }

    /// The next staged hint not released yet.
    pub fn next_staged(&self) -> Option<usize> {
        let released = self.hints.iter().filter_map(|h| h.staged).max();
        let next = released.map_or(0, |i| i + 1);
        (next < self.staged.len()).then_some(next)
    }

    /// The staged hint due on its timer at `now` (drill time since the later of `start`, the
    /// last progress and the last hint is at least its `after`), if any.
    pub fn due_hint(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<usize> {
        if self.ended {
            return None;
        }
        let i = self.next_staged()?;
        let after = self.staged[i].after?;
        let since = [Some(start), self.last_progress, self.hints.last().map(|h| h.at)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(start);
        let waited = self.clock.elapsed(since, now).to_std().unwrap_or_default();
        (waited >= after).then_some(i)
    }
}

/// Pause or resume the drill clock (the facilitator's key).
pub fn toggle_pause(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.domain.facilitation.wall;
    let f = &mut state.domain.facilitation;
    if f.ended {
        return flash(state, "the drill has ended");
    }
    let (action, control, summary) = match f.clock.paused_since() {
        Some(since) => {
            f.clock.resume(now);
            let secs = (now - since).num_seconds().max(0);
            ("resume", DrillControl::Resume, format!("drill resumed after {secs} s paused"))
        }
        None => {
            f.clock.pause(now);
            ("pause", DrillControl::Pause, "drill PAUSED by the facilitator".to_string())
        }
    };
    // The log first, then the estate (the rule for everything that changes it).
    log(state, fx, EntryKind::Facilitator, summary, json!({ "action": action }));
    fx.push(Effect::Drill(control));
}

/// Strike `fault` now on the hosted estate, logged with what it is.
pub fn inject(state: &mut State, fault: FaultDef, fx: &mut Vec<Effect>) {
    let d = json!({
        "kind": fault.kind.as_str(),
        "target": fault.target,
        "region": fault.region,
        "returns_after_secs": fault.returns_after.map(|d| d.as_secs()),
    });
    let on = fault.target.as_deref().map(|t| format!(" on {t}")).unwrap_or_default();
    let summary = format!("facilitator injected {}{on}", fault.kind);
    log(state, fx, EntryKind::Facilitator, summary, json!({ "action": "inject", "fault": d }));
    fx.push(Effect::Drill(DrillControl::Inject(fault)));
}

/// The targets the drill estate offers for a fault of `kind` (`(target, region)`).
pub fn targets(kind: FaultKind) -> Vec<(Option<String>, Option<String>)> {
    use crate::backends::drill::estate::{DEPLOYMENTS, PG_NODES, REDIS_NODES, REGIONS, SENTINELS};
    let names =
        |specs: &[&[crate::backends::drill::estate::PgSpec]]| -> Vec<(Option<String>, Option<String>)> {
            specs.iter().flat_map(|s| s.iter()).map(|n| (Some(n.name.to_string()), None)).collect()
        };
    match kind.target() {
        TargetKind::None => vec![(None, None)],
        TargetKind::DataPod => names(&[&PG_NODES, &REDIS_NODES]),
        TargetKind::Node => names(&[&PG_NODES, &REDIS_NODES, &SENTINELS]),
        TargetKind::PgNode => names(&[&PG_NODES]),
        TargetKind::Sentinel => names(&[&SENTINELS]),
        TargetKind::Region => REGIONS.iter().map(|(r, _)| (Some(r.to_string()), None)).collect(),
        TargetKind::Deployment => REGIONS
            .iter()
            .flat_map(|(r, _)| {
                DEPLOYMENTS.iter().map(move |(d, _)| (Some(d.to_string()), Some(r.to_string())))
            })
            .collect(),
    }
}

/// Where the injection menu is: fault kind, then target, then when the fault returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InjectStage {
    /// Choosing the fault kind.
    Kind,
    /// Choosing the target of `kind` (only the estate's valid ones are listed).
    Target {
        /// The kind chosen.
        kind: FaultKind,
    },
    /// Choosing when the fault's cause clears.
    Returns {
        /// The kind chosen.
        kind: FaultKind,
        /// The target chosen (`None`: the kind takes none).
        target: Option<String>,
        /// The deployment's region.
        region: Option<String>,
    },
}

/// Returns-after choices of the menu's last stage (`None`: never, within the drill).
pub const RETURNS: [Option<u64>; 5] = [None, Some(30), Some(60), Some(120), Some(300)];

/// The rows of the injection menu at `stage`.
pub fn inject_items(stage: &InjectStage) -> Vec<String> {
    match stage {
        InjectStage::Kind => FaultKind::iter().map(|k| k.as_str().to_string()).collect(),
        InjectStage::Target { kind } => targets(*kind).iter().map(target_label).collect(),
        InjectStage::Returns { .. } => RETURNS
            .iter()
            .map(|r| {
                r.map_or("never returns (within the drill)".to_string(), |s| format!("returns after {s} s"))
            })
            .collect(),
    }
}

/// The menu's title at `stage`.
pub fn inject_title(stage: &InjectStage) -> String {
    match stage {
        InjectStage::Kind => " Inject a fault: kind ".into(),
        InjectStage::Target { kind } => format!(" Inject {kind}: target "),
        InjectStage::Returns { kind, target, region } => {
            format!(" Inject {kind} on {}: returns ", target_label(&(target.clone(), region.clone())))
        }
    }
}

/// Open the injection menu at its first stage.
pub fn open_inject(state: &mut State) {
    state.view.modal = Some(Modal::Inject { stage: InjectStage::Kind, selected: 0 });
}

/// Enter in the injection menu: the next stage, or (after the returns-after) the injection.
pub fn inject_select(state: &mut State, stage: InjectStage, selected: usize, fx: &mut Vec<Effect>) {
    let next = match stage {
        InjectStage::Kind => {
            let Some(kind) = FaultKind::iter().nth(selected) else { return };
            match kind.target() {
                TargetKind::None => InjectStage::Returns { kind, target: None, region: None },
                _ => InjectStage::Target { kind },
            }
        }
        InjectStage::Target { kind } => {
            let Some((target, region)) = targets(kind).into_iter().nth(selected) else { return };
            InjectStage::Returns { kind, target, region }
        }
        InjectStage::Returns { kind, target, region } => {
            let returns_after = RETURNS.get(selected).copied().flatten().map(std::time::Duration::from_secs);
            let fault = FaultDef::now(kind, target, region, returns_after);
            return inject(state, fault, fx);
        }
    };
    state.view.modal = Some(Modal::Inject { stage: next, selected: 0 });
}

fn target_label((t, r): &(Option<String>, Option<String>)) -> String {
    match (t, r) {
        (Some(t), Some(r)) => format!("{t} in {r}"),
        (Some(t), None) => t.clone(),
        _ => "(no target)".into(),
    }
}

/// Release the next staged hint (`by`: `facilitator` or `timer`).
pub fn release_staged(state: &mut State, by: &str, fx: &mut Vec<Effect>) {
    let Some(i) = state.domain.facilitation.next_staged() else {
        return flash(state, "no staged hint left: write one (free text)");
    };
    let text = state.domain.facilitation.staged[i].text.clone();
    give_hint(state, text, Some(i), by, fx);
}

/// Give the trainees a hint (staged `staged`, or free text).
pub fn give_hint(state: &mut State, text: String, staged: Option<usize>, by: &str, fx: &mut Vec<Effect>) {
    let text = crate::text::sanitize(&text).into_owned();
    let f = &mut state.domain.facilitation;
    let n = f.hints.iter().map(|h| h.n).max().unwrap_or(0) + 1;
    let at = f.wall;
    f.add_hint(Hint { n, text: text.clone(), at, by: by.to_string(), staged });
    let details = json!({ "action": "hint", "n": n, "text": text, "hint": text, "by": by, "staged": staged });
    log(state, fx, EntryKind::Facilitator, format!("hint {n}: {text}"), details);
}

/// End the drill (after y): logged, and the incident resolved.
pub fn end(state: &mut State, fx: &mut Vec<Effect>) {
    if state.domain.facilitation.clock.paused_since().is_some() {
        toggle_pause(state, fx);
    }
    state.domain.facilitation.ended = true;
    log(
        state,
        fx,
        EntryKind::Facilitator,
        "drill ended by the facilitator".into(),
        json!({ "action": "end" }),
    );
    if state.domain.resolved.is_none() {
        super::update::resolve(state, "drill ended by the facilitator".into(), fx);
    }
    drill_over(state, fx);
}

/// The facilitator ended the drill and the incident is resolved: this console leaves its loop,
/// and a drill console then shows the scorecard overlay (the console's epilogue).
pub fn drill_over(state: &mut State, fx: &mut Vec<Effect>) {
    if state.domain.facilitation.ended && !state.view.quit {
        state.view.quit = true;
        fx.push(Effect::Quit);
    }
}

/// On the clock tick of the hosting console: release a staged hint whose timer ran out.
pub fn tick(state: &mut State, fx: &mut Vec<Effect>) {
    let f = &state.domain.facilitation;
    if !f.auto_hints || state.domain.resolved.is_some() || state.domain.read_only {
        return;
    }
    if f.due_hint(state.domain.incident.declared_at, f.wall).is_some() {
        release_staged(state, "timer", fx);
    }
}

/// Whether a trainee's console shows this log line: every facilitator entry is hidden from
/// trainees except hints (they see the effect in the panes).
pub fn shown_to(facilitator: bool, kind: &EntryKind, summary: &str) -> bool {
    facilitator || *kind != EntryKind::Facilitator || summary.starts_with("hint ")
}
