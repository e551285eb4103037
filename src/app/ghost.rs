//! Ghost mode: a recorded incident replayed to a trainee, who stops before each step the
//! original operator confirmed and chooses on a FORK of the replayed [`State`] with the normal
//! keys. Pure: the fork's effects are dropped (nothing reaches a backend or a log); the first
//! step the trainee confirms ends the choice, which is compared with what the original operator
//! confirmed and with what the runbook's plan expected next, and scored on a [`GhostCard`].
//!
//! A **decision point** is the state just before the first action that led to the original
//! step's confirmation: the last moment, after the previous confirmation, at which no dialog
//! was open (before the operator opened the actions menu, the runbook picker, or pressed the
//! key that opened the step's confirmation). When no such moment exists (a dialog stayed open
//! from the previous confirmation on), it is the state right after the previous confirmation.

mod card;
mod compare;

use chrono::{DateTime, Utc};

use super::action::Action;
use super::effect::Effect;
use super::replay::Timeline;
use super::state::State;
use super::update::update;
use crate::incident::entry::EntryKind;
use crate::operation::Operation;
use crate::runbook::plan;

pub use card::{DecisionLine, GhostCard, POINTS_PER_MATCH, points, render_text};
pub use compare::{Match, compare, describe, target};

/// A moment the replay stops at for the trainee.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionPoint {
    /// Actions applied at the stop: the fork starts from `timeline.state_after(applied)`.
    pub applied: usize,
    /// The index of the action that confirmed the original step.
    pub confirmed_by: usize,
    /// When the stop is (recorded time).
    pub at: DateTime<Utc>,
    /// The original step's id.
    pub step: u64,
    /// What the original operator confirmed.
    pub original: Operation,
    /// The original step's preview title.
    pub title: String,
    /// What the runbook's plan expected next at the stop, if a runbook applied.
    pub expected: Option<Operation>,
}

/// The step an action's effects confirmed, if any (its `step-confirmed` log intent).
fn confirmed_step(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|fx| match fx {
        Effect::Log(intent) if intent.kind == EntryKind::StepConfirmed => intent.details["step"].as_u64(),
        _ => None,
    })
}

/// Every decision point of `timeline`, in order. `runbooks` are the runbooks the plan expects
/// (a scenario's `runbooks`); a runbook running at the stop is used first.
pub fn decision_points(timeline: &Timeline, runbooks: &[String]) -> Vec<DecisionPoint> {
    let mut state = timeline.state_after(0);
    // rest[i]: no dialog was open after the first i actions.
    let mut rest = vec![state.view.modal.is_none()];
    let mut confirms = Vec::new();
    for (i, (now, action)) in timeline.actions().iter().enumerate() {
        let effects = update(&mut state, action.clone(), *now);
        if let Some(id) = confirmed_step(&effects)
            && let Some(op) = state.domain.step(id).and_then(|s| s.op.clone())
        {
            let title = state.domain.step(id).map(|s| s.preview.title.clone()).unwrap_or_default();
            confirms.push((i, id, op, title));
        }
        rest.push(state.view.modal.is_none());
    }
    let mut points = Vec::new();
    let mut from = 0;
    for (i, step, original, title) in confirms {
        let applied = (from..=i).rev().find(|d| rest[*d]).unwrap_or(from);
        let at_state = timeline.state_after(applied);
        points.push(DecisionPoint {
            applied,
            confirmed_by: i,
            at: at_state.domain.now,
            step,
            expected: expected(&at_state, runbooks),
            original,
            title,
        });
        from = i + 1;
    }
    points
}

/// The next step the runbook's plan would propose in `state`: the running runbook's first step
/// not done nor in flight whose gate holds, else the first buildable step of the first of `runbooks` that has
/// not run yet.
pub fn expected(state: &State, runbooks: &[String]) -> Option<Operation> {
    let d = &state.domain;
    // A step whose gate does not hold now would be skipped by the runbook: the next one is expected.
    let gate_holds = |p: &plan::PlannedStep| p.gate.as_ref().is_none_or(|g| g.check(&d.observed).is_ok());
    if let Some(run) = d.runbook.as_ref().filter(|r| r.active()) {
        for (sid, def, part) in &run.steps {
            if d.step(*sid).is_some_and(|s| s.status.is_terminal() || s.status.is_active()) {
                continue;
            }
            let p = plan::planned(&run.runbook, *def, part.clone(), &d.config, &d.observed, &run.params);
            if gate_holds(&p) {
                return p.op.ok().or_else(|| d.step(*sid).and_then(|s| s.op.clone()));
            }
        }
        return None;
    }
    let ran = d.runbook.as_ref().map(|r| r.runbook.id().to_string());
    runbooks.iter().filter(|id| ran.as_deref() != Some(id.as_str())).find_map(|id| {
        let rb = d.runbooks.get(id)?;
        let params = plan::resolve_params(rb, &d.config, &d.observed, &[]).ok()?;
        plan::plan(rb, &d.config, &d.observed, &params).into_iter().filter(gate_holds).find_map(|p| p.op.ok())
    })
}

/// What one trainee input did to the ghost session.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// The choice goes on (the fork changed).
    Choosing,
    /// The trainee confirmed a step (or passed): the decision is scored.
    Decided(DecisionLine),
    /// The trainee asked to quit.
    Quit,
}

/// A ghost-mode session over a recording: the decision points, the fork being driven, and the
/// decisions made so far.
#[derive(Debug, Clone)]
pub struct Ghost {
    points: Vec<DecisionPoint>,
    fork: Option<State>,
    decisions: Vec<DecisionLine>,
}

impl Ghost {
    /// A session over `timeline`'s decision points (see [`decision_points`]).
    pub fn new(timeline: &Timeline, runbooks: &[String]) -> Ghost {
        Ghost { points: decision_points(timeline, runbooks), fork: None, decisions: Vec::new() }
    }

    /// Every decision point.
    pub fn points(&self) -> &[DecisionPoint] {
        &self.points
    }

    /// The decisions made so far.
    pub fn decisions(&self) -> &[DecisionLine] {
        &self.decisions
    }

    /// The next decision point (the one being chosen while a fork is open), if any is left.
    pub fn next_point(&self) -> Option<&DecisionPoint> {
        self.points.get(self.decisions.len())
    }

    /// The fork the trainee drives, while a choice is open.
    pub fn fork(&self) -> Option<&State> {
        self.fork.as_ref()
    }

    /// Stop at the next decision point: fork the replayed state there (its step ids allocated
    /// on the fork alone; no API server is asked for access reviews, since nothing the fork
    /// confirms is executed and no answer would come). Returns the fork, or `None` when no
    /// decision is left.
    pub fn stop(&mut self, timeline: &Timeline) -> Option<&State> {
        let p = self.next_point()?;
        let mut fork = timeline.state_after(p.applied);
        fork.domain.step_ids = None;
        fork.domain.access_reviews = false;
        fork.view.flash = None;
        self.fork = Some(fork);
        self.fork.as_ref()
    }

    /// Apply one trainee action (a key the normal keymap turned into an action) to the fork, at
    /// the stop's recorded time. Its effects are dropped; a confirmed step ends the choice.
    pub fn apply(&mut self, action: Action) -> Turn {
        let (Some(fork), Some(p)) = (self.fork.as_mut(), self.points.get(self.decisions.len())) else {
            return Turn::Quit;
        };
        let now = p.at;
        let effects = update(fork, action, now);
        if let Some(id) = confirmed_step(&effects) {
            let chosen = fork.domain.step(id).and_then(|s| s.op.clone());
            return Turn::Decided(self.decide(chosen));
        }
        if effects.iter().any(|fx| matches!(fx, Effect::Quit)) {
            return Turn::Quit;
        }
        Turn::Choosing
    }

    /// The trainee passes on the open decision (scored as skipped).
    pub fn pass(&mut self) -> Option<DecisionLine> {
        self.fork.as_ref()?;
        Some(self.decide(None))
    }

    fn decide(&mut self, chosen: Option<Operation>) -> DecisionLine {
        self.fork = None;
        let p = &self.points[self.decisions.len()];
        let vs_original = compare(chosen.as_ref(), &p.original);
        let line = DecisionLine {
            step: p.step,
            at: p.at,
            original: describe(&p.original),
            original_title: crate::text::sanitize(&p.title).into_owned(),
            chosen: chosen.as_ref().map(describe),
            vs_original,
            expected: p.expected.as_ref().map(describe),
            vs_runbook: p.expected.as_ref().map(|e| compare(chosen.as_ref(), e)),
            points: points(vs_original),
        };
        self.decisions.push(line.clone());
        line
    }

    /// The card of the decisions made so far.
    pub fn card(&self, incident: &str, title: &str, operator: &str, original_operator: &str) -> GhostCard {
        GhostCard::new(incident, title, operator, original_operator, self.decisions.clone())
    }
}

#[cfg(test)]
mod tests;
