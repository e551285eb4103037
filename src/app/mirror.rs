//! Several consoles on one incident: step states and step numbers come from the incident log.
//!
//! Entries another console appends reach this console through the log follower as
//! [`super::Action::Mirrored`]; [`apply`] replays their effect on steps and the runbook run
//! (the same replay as resuming, see [`super::resume::Replay::Live`]). A step introduced by
//! another console is `remote`: this console shows its state but never verifies or logs it by
//! itself, until it confirms the step itself. A runbook run finished by another console's entry
//! is marked finished here silently: only the console whose own action finished it logs
//! `runbook-finished`.
//!
//! Checklist ticks and unticks (`checklist` entries, by hand or by an event) and status-update
//! postings another console logged tick this console's checklist the same way resuming does
//! ([`crate::incident::checklist::Checklist::apply_entries`]).
//!
//! Step ids are allocated through [`StepIds`], which the incident log serializes across
//! processes, so two consoles never number two steps alike.

use crate::incident::entry::{Entry, EntryKind};

use super::resume::{Replay, apply_entry};
use super::runbook_flow::RunbookRun;
use super::state::Domain;
use super::step::StepStatus;

/// Hands out step ids unique within the incident, across every console appending to it.
pub trait StepIds: Send + Sync + std::fmt::Debug {
    /// The next free id, at least `at_least`.
    fn allocate(&self, at_least: u64) -> Result<u64, String>;
}

/// Apply an entry another console appended.
pub fn apply(domain: &mut Domain, e: &Entry) {
    apply_entry(domain, e, Replay::Live);
    if matches!(e.kind, EntryKind::Checklist | EntryKind::StatusUpdate) {
        let warnings = domain.checklist.apply_entries(std::slice::from_ref(e));
        domain.warnings.extend(warnings);
    }
    if e.kind == EntryKind::Resolved && domain.resolved.is_none() {
        let summary = e.details.get("summary").and_then(|v| v.as_str()).unwrap_or(&e.summary).to_string();
        domain.resolved = Some((e.ts, summary));
    }
    let Some(run) = domain.runbook.as_ref().filter(|r| r.active()) else { return };
    if let Some(outcome) = outcome(domain, run)
        && let Some(run) = domain.runbook.as_mut()
    {
        run.finished = Some((e.ts, outcome.to_string()));
    }
}

/// How the run ended, if all its steps have.
fn outcome(domain: &Domain, run: &RunbookRun) -> Option<&'static str> {
    let statuses: Vec<&StepStatus> =
        run.steps.iter().filter_map(|(sid, _, _)| domain.step(*sid).map(|s| &s.status)).collect();
    if statuses.contains(&&StepStatus::Aborted) {
        Some("aborted")
    } else if statuses.iter().all(|s| s.is_terminal()) {
        Some("completed")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
