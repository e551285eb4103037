//! Running a runbook through the step pipeline: every step of the runbook becomes a [`StepRun`]
//! when the runbook starts (so the Steps pane shows them all, with state and elapsed time); the
//! operator runs them in order with `runbook-next`. When a step comes up its operation is built
//! again from the current state, its layer and gate are checked (not applicable: skipped with the
//! reason, logged), then it goes through prechecks and confirmation like any step. A runbook
//! never moves past a failed, executing or unconfirmed step by itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::effect::Effect;
use super::pipeline::{self, flash, log};
use super::state::{Modal, PaneId, State};
use super::step::{StepRun, StepStatus};
use crate::incident::entry::EntryKind;
use crate::operation::Operation;
use crate::runbook::model::Runbook;
use crate::runbook::plan::{self, BuildError, ResolvedParam};

/// A runbook being run in this incident.
#[derive(Debug, Clone)]
pub struct RunbookRun {
    /// The definition.
    pub runbook: Arc<Runbook>,
    /// Resolved parameters.
    pub params: Vec<ResolvedParam>,
    /// Step ids, in runbook order, with (definition index, expanded part).
    pub steps: Vec<(u64, usize, Option<String>)>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When and how it ended.
    pub finished: Option<(DateTime<Utc>, String)>,
}

impl RunbookRun {
    /// Whether it is still running.
    pub fn active(&self) -> bool {
        self.finished.is_none()
    }
}

/// Open the runbook picker.
pub fn open_picker(state: &mut State) {
    if let Some(run) = state.domain.runbook.as_ref().filter(|r| r.active()) {
        let id = run.runbook.id().to_string();
        flash(state, format!("runbook {id} is running: finish it or abort it first"));
        return;
    }
    let Some(first) = picker_entries(state).into_iter().next() else {
        flash(state, "no runbooks available");
        return;
    };
    state.view.modal = Some(Modal::Runbooks { selected: first.id });
}

/// One row of the runbook picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerEntry {
    /// Runbook id.
    pub id: String,
    /// Why it is recommended now (`None`: not recommended).
    pub reason: Option<String>,
}

/// The picker's rows: the runbooks recommended for the current faults first (most urgent
/// first, each with its reason), then every other runbook in catalog order.
pub fn picker_entries(state: &State) -> Vec<PickerEntry> {
    let mut out: Vec<PickerEntry> = super::recommend::recommended(&state.domain)
        .into_iter()
        .filter(|r| state.domain.runbooks.get(&r.runbook).is_some())
        .map(|r| PickerEntry { id: r.runbook, reason: Some(r.reason) })
        .collect();
    for e in &state.domain.runbooks.entries {
        let id = e.runbook.id();
        if !out.iter().any(|x| x.id == id) {
            out.push(PickerEntry { id: id.to_string(), reason: None });
        }
    }
    out
}

/// Start runbook `id` with `overrides` (`--param k=v`). With `only`, every other step is skipped
/// ("not selected"). The first step comes up at once (its confirmation opens).
pub fn start(
    state: &mut State,
    id: &str,
    overrides: &[(String, String)],
    only: Option<&str>,
    fx: &mut Vec<Effect>,
) -> Result<(), String> {
    if state.domain.runbook.as_ref().is_some_and(RunbookRun::active) {
        return Err("a runbook is already running in this console".into());
    }
    let rb = state.domain.runbooks.get(id).cloned().ok_or_else(|| {
        format!("no runbook {id:?} (available: {})", state.domain.runbooks.ids().join(", "))
    })?;
    if let Some(step) = only
        && !rb.steps.iter().any(|s| s.id.get_ref() == step)
    {
        let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.get_ref().as_str()).collect();
        return Err(format!("runbook {id} has no step {step:?} (steps: {})", ids.join(", ")));
    }
    let params = plan::resolve_params(&rb, &state.domain.config, &state.domain.observed, overrides)
        .map_err(|e| format!("cannot start {id}: {e}"))?;
    let planned = plan::plan(&rb, &state.domain.config, &state.domain.observed, &params);
    let now = state.domain.now;
    let mut ids = Vec::new();
    let mut listed = Vec::new();
    for p in planned {
        let sid = state.domain.alloc_step_id();
        // A step that cannot be built now is listed by its title (no stand-in operation); it is
        // built again, or skipped with the typed reason, when it comes up.
        let (mut step, na) = match &p.op {
            Ok(op) => (StepRun::new(sid, op.clone(), p.why.clone(), now), None),
            Err(e) => (StepRun::listed(sid, p.title.clone(), p.why.clone(), now), Some(e.to_string())),
        };
        step.preview.title = p.title.clone();
        step.runbook_key = Some(p.key.clone());
        step.risk_override = p.risk;
        step.timeout_secs = p.timeout_secs;
        step.approvals_rule = p.approvals;
        listed.push(json!({ "step": sid, "key": p.key, "title": p.title, "not_applicable": na }));
        ids.push((sid, p.def, p.part.clone()));
        state.domain.steps.push(step);
    }
    let param_text: Vec<String> = params.iter().map(|p| format!("{}={}", p.name, p.value)).collect();
    log(
        state,
        fx,
        EntryKind::RunbookStarted,
        format!(
            "runbook {id} started: {}{}",
            rb.title,
            if param_text.is_empty() { String::new() } else { format!(" ({})", param_text.join(", ")) }
        ),
        json!({ "runbook": id, "title": rb.title, "params": params, "steps": listed, "only": only }),
    );
    state.domain.runbook =
        Some(RunbookRun { runbook: rb, params, steps: ids.clone(), started_at: now, finished: None });
    if let Some(only) = only {
        for (sid, _, _) in &ids {
            let key = state.domain.step(*sid).and_then(|s| s.runbook_key.clone()).unwrap_or_default();
            if key != only && !key.starts_with(&format!("{only}/")) {
                skip_with(state, *sid, format!("not selected (--step {only})"), false, fx);
            }
        }
    }
    state.view.focus = PaneId::Steps;
    next(state, fx);
    Ok(())
}

/// Bring up the next step of the active runbook (or say why not).
pub fn next(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = state.domain.runbook.clone().filter(RunbookRun::active) else {
        flash(state, "no runbook is running: open the runbook picker");
        return;
    };
    for (sid, def, part) in &run.steps {
        let Some(step) = state.domain.step(*sid) else { continue };
        let key = step.runbook_key.clone().unwrap_or_default();
        match step.status.clone() {
            StepStatus::Done | StepStatus::Skipped(_) => continue,
            StepStatus::Aborted => return finish(state, "aborted", fx),
            StepStatus::Failed { reason, .. } => {
                select(state, *sid);
                return flash(
                    state,
                    format!(
                        "step {key} failed ({reason}): retry, skip with a reason, or abort; the runbook waits"
                    ),
                );
            }
            StepStatus::OutcomeUnknown => {
                select(state, *sid);
                return flash(state, format!("step {key}: outcome unknown: verify, then retry or skip"));
            }
            StepStatus::AwaitingApproval { .. } => {
                select(state, *sid);
                let Some(step) = state.domain.step(*sid) else { return };
                let what = super::approval::describe(step, state.domain.now).unwrap_or_default();
                return flash(state, format!("step {key}: {what}: another person approves with A"));
            }
            status @ (StepStatus::Executing | StepStatus::Verifying) => {
                select(state, *sid);
                return flash(state, format!("step {key} is {}: wait for it", status.label()));
            }
            StepStatus::AwaitingConfirm => {
                select(state, *sid);
                return pipeline::open_confirm(state, *sid, fx);
            }
            StepStatus::Proposed | StepStatus::Prechecked => {
                let Some((op, p)) = applicable(state, &run, *sid, *def, part.clone(), fx) else { continue };
                let note = super::safety::blast_radius_note(&state.domain, &op);
                let Some(step) = state.domain.step_mut(*sid) else { continue };
                step.preview = op.preview();
                if let Some(note) = note {
                    step.preview.blast_radius = format!("{}; {note}", step.preview.blast_radius);
                }
                step.preview.title = p.title.clone();
                step.op = Some(op);
                step.why = p.why.clone();
                let (title, op, preview, why) =
                    (step.preview.title.clone(), step.op.clone(), step.preview.clone(), step.why.clone());
                log(
                    state,
                    fx,
                    EntryKind::StepPreviewed,
                    format!("step #{sid} ({} {key}): {title}", run.runbook.id()),
                    json!({ "step": sid, "runbook": run.runbook.id(), "key": key, "op": op, "preview": preview, "why": why }),
                );
                select(state, *sid);
                return pipeline::open_confirm(state, *sid, fx);
            }
        }
    }
    finish(state, "completed", fx);
}

/// Build runbook step `sid` again from the current state: its operation and plan, or `None`
/// after skipping it (logged) because it is not applicable now: it cannot be built, its gate
/// does not hold, or it breaks a safety rule (runbook steps obey the rules like every
/// proposal; a skipped step comes back when it applies, see [`revive_skipped`]).
fn applicable(
    state: &mut State,
    run: &RunbookRun,
    sid: u64,
    def: usize,
    part: Option<String>,
    fx: &mut Vec<Effect>,
) -> Option<(Operation, plan::PlannedStep)> {
    let p = plan::planned(&run.runbook, def, part, &state.domain.config, &state.domain.observed, &run.params);
    let op = match &p.op {
        Ok(op) => op.clone(),
        Err(e @ BuildError::NotApplicable(_)) => {
            skip_with(state, sid, e.to_string(), true, fx);
            return None;
        }
        Err(e @ BuildError::Invalid(_)) => {
            skip_with(state, sid, e.to_string(), false, fx);
            return None;
        }
    };
    if let Some(gate) = &p.gate
        && let Err(observed) = gate.check(&state.domain.observed)
    {
        let reason = format!("{NOT_APPLICABLE}gate {} not met ({observed})", gate.text());
        skip_with(state, sid, reason, true, fx);
        return None;
    }
    if let Some(v) = super::safety::check(&state.domain, &op).into_iter().next() {
        skip_with(state, sid, format!("{NOT_APPLICABLE}{}", v.text()), true, fx);
        return None;
    }
    Some((op, p))
}

/// How the reason of a step skipped by its gate or a safety rule starts.
const NOT_APPLICABLE: &str = "not applicable: ";

/// How the `why` of a step that came back starts (with the skipped step's id).
fn came_back_marker(sid: u64) -> String {
    format!("came back (runbook step #{sid}): ")
}

/// A runbook step skipped because its gate did not hold (or a safety rule stopped it) comes
/// back as a proposed step, with a bell, once its gate holds, no rule stops it and its
/// prechecks pass (e.g. the fence skipped while the old primary was down, when it returns
/// writable). Each skipped step comes back at most once; it is proposed, never confirmed.
pub fn revive_skipped(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = state.domain.runbook.clone() else { return };
    if state.domain.resolved.is_some() {
        return;
    }
    for (sid, def, part) in &run.steps {
        let Some(step) = state.domain.step(*sid) else { continue };
        let StepStatus::Skipped(reason) = &step.status else { continue };
        let by_gate = reason.starts_with(&format!("{NOT_APPLICABLE}gate "))
            || reason.starts_with(&format!("{NOT_APPLICABLE}safety rule "));
        let marker = came_back_marker(*sid);
        if !by_gate || state.domain.steps.iter().any(|s| s.why.starts_with(&marker)) {
            continue;
        }
        let key = step.runbook_key.clone().unwrap_or_default();
        let p = plan::planned(
            &run.runbook,
            *def,
            part.clone(),
            &state.domain.config,
            &state.domain.observed,
            &run.params,
        );
        let Ok(op) = p.op else { continue };
        if p.gate.as_ref().is_some_and(|g| g.check(&state.domain.observed).is_err())
            || !super::safety::check(&state.domain, &op).is_empty()
            || super::propose::failing_precheck(&state.domain, &op).is_some()
        {
            continue;
        }
        let id = state.domain.next_step_id;
        state.domain.next_step_id += 1;
        let gate = p.gate.as_ref().map(|g| format!("gate {} holds now", g.text())).unwrap_or_default();
        let why = format!("{marker}{} {key} was skipped; {gate}: {}", run.runbook.id(), p.why);
        let mut new = StepRun::new(id, op, why, state.domain.now);
        new.preview.title = p.title.clone();
        let (title, op, preview, why) =
            (new.preview.title.clone(), new.op.clone(), new.preview.clone(), new.why.clone());
        state.domain.steps.push(new);
        log(
            state,
            fx,
            EntryKind::StepPreviewed,
            format!("step #{id} proposed: {title} (runbook step #{sid} {key} was skipped; it applies now)"),
            json!({ "step": id, "op": op, "preview": preview, "why": why, "came_back_from": sid }),
        );
        flash(state, format!("step #{id} came back: {title} (was skipped: it applies now)"));
        fx.push(Effect::Bell);
    }
}

/// The step after `id` in the active runbook is the next one to run (used by `step-run` on a
/// runbook step: only the next step may be run).
pub fn is_next(state: &State, id: u64) -> bool {
    let Some(run) = state.domain.runbook.as_ref().filter(|r| r.active()) else { return false };
    run.steps
        .iter()
        .map(|(sid, _, _)| *sid)
        .find(|sid| state.domain.step(*sid).is_some_and(|s| !s.status.is_terminal()))
        == Some(id)
}

/// Abort the active runbook: its current step is aborted (unless executing) and the rest stay
/// as they are.
pub fn abort(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = state.domain.runbook.clone().filter(RunbookRun::active) else {
        flash(state, "no runbook is running");
        return;
    };
    if run
        .steps
        .iter()
        .any(|(sid, _, _)| state.domain.step(*sid).is_some_and(|s| s.status == StepStatus::Executing))
    {
        flash(state, "a step is executing: wait for its result, then abort");
        return;
    }
    if let Some(sid) = run.steps.iter().map(|(sid, _, _)| *sid).find(|sid| {
        state.domain.step(*sid).is_some_and(|s| !s.status.is_terminal() && s.status != StepStatus::Proposed)
    }) {
        pipeline::abort(state, sid, fx);
    }
    finish(state, "aborted", fx);
}

/// After every action: a runbook whose steps are all finished is finished; an aborted step
/// aborts its runbook.
pub fn sync(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = state.domain.runbook.as_ref().filter(|r| r.active()) else { return };
    let statuses: Vec<StepStatus> = run
        .steps
        .iter()
        .filter_map(|(sid, _, _)| state.domain.step(*sid).map(|s| s.status.clone()))
        .collect();
    if statuses.contains(&StepStatus::Aborted) {
        finish(state, "aborted", fx);
    } else if statuses.iter().all(StepStatus::is_terminal) {
        finish(state, "completed", fx);
    }
}

fn finish(state: &mut State, outcome: &str, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let Some(run) = state.domain.runbook.as_mut().filter(|r| r.active()) else { return };
    run.finished = Some((now, outcome.to_string()));
    let run = run.clone();
    let secs = (now - run.started_at).num_milliseconds() as f64 / 1000.0;
    let steps: Vec<serde_json::Value> = run
        .steps
        .iter()
        .filter_map(|(sid, _, _)| state.domain.step(*sid))
        .map(|s| json!({ "step": s.id, "key": s.runbook_key, "title": s.preview.title, "status": s.status.label() }))
        .collect();
    let done = run
        .steps
        .iter()
        .filter(|(sid, _, _)| state.domain.step(*sid).is_some_and(|s| s.status == StepStatus::Done))
        .count();
    log(
        state,
        fx,
        EntryKind::RunbookFinished,
        format!(
            "runbook {} {outcome} in {secs:.1} s ({done}/{} steps done)",
            run.runbook.id(),
            run.steps.len()
        ),
        json!({ "runbook": run.runbook.id(), "outcome": outcome, "secs": secs, "steps": steps }),
    );
    flash(state, format!("runbook {} {outcome}", run.runbook.id()));
}

fn skip_with(state: &mut State, sid: u64, reason: String, not_applicable: bool, fx: &mut Vec<Effect>) {
    let now = state.domain.now;
    let Some(step) = state.domain.step_mut(sid) else { return };
    step.status = StepStatus::Skipped(reason.clone());
    step.finished_at = Some(now);
    let key = step.runbook_key.clone();
    // A step skipped before it came up was never previewed: its title travels with the skip.
    let title = step.preview.title.clone();
    log(
        state,
        fx,
        EntryKind::StepSkipped,
        format!("step #{sid} ({}) skipped: {reason}", key.as_deref().unwrap_or("?")),
        json!({ "step": sid, "key": key, "title": title, "reason": reason, "not_applicable": not_applicable }),
    );
}

fn select(state: &mut State, sid: u64) {
    if let Some(i) = state.domain.steps.iter().position(|s| s.id == sid) {
        state.view.selected[PaneId::Steps.index()] = i;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::app::state::{IncidentInfo, Mode};
    use crate::runbook::catalog::{Catalog, Entry, Origin};
    use crate::runbook::plan::tests::{postgres_only, runbook};

    #[test]
    fn a_step_that_cannot_be_built_is_skipped_with_its_reason_once() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 26, 3, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC".into(),
            title: "t".into(),
            severity: "SEV1".into(),
            declared_at: now,
            drill: false,
        };
        let mut s = State::new(Mode::Live, incident, "alice@host".into(), Arc::new(postgres_only()), now);
        let entry = Entry { runbook: Arc::new(runbook()), origin: Origin::User(PathBuf::from("t.toml")) };
        s.domain.runbooks = Arc::new(Catalog { entries: vec![entry] });
        let mut fx = Vec::new();
        start(&mut s, "t", &[], None, &mut fx).expect("starts");
        // Listed by title, without a stand-in operation: nothing that could be confirmed.
        for key in ["label", "fence"] {
            let step =
                s.domain.steps.iter().find(|st| st.runbook_key.as_deref() == Some(key)).expect("listed");
            assert_eq!(step.op, None, "{key} has no operation before it can be built");
            assert!(!step.preview.title.is_empty(), "{key} is listed by its title");
        }
        next(&mut s, &mut fx);
        let status = |key: &str| {
            s.domain
                .steps
                .iter()
                .find(|st| st.runbook_key.as_deref() == Some(key))
                .map(|st| st.status.clone())
        };
        assert_eq!(
            status("label"),
            Some(StepStatus::Skipped("not applicable: Kubernetes is not configured".into()))
        );
        assert_eq!(
            status("fence"),
            Some(StepStatus::Skipped("cannot be built: no PostgreSQL node named pg-9".into()))
        );
        let skipped: Vec<(String, bool)> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Log(l) if l.kind == crate::incident::entry::EntryKind::StepSkipped => Some((
                    l.details["reason"].as_str().unwrap_or_default().to_string(),
                    l.details["not_applicable"].as_bool().unwrap_or_default(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            [
                ("not applicable: Kubernetes is not configured".to_string(), true),
                ("cannot be built: no PostgreSQL node named pg-9".to_string(), false)
            ]
        );
    }
}
