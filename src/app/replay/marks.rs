//! The log entries and milestones of a recording, found while it is replayed once.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use crate::app::action::Action;
use crate::app::state::State;
use crate::app::verdict::Level;
use crate::incident::entry::{EntryKind, LogLine};

/// A declaration at most this long before the recording starts is its first milestone (the
/// console that declares an incident starts recording right after).
const DECLARED_SLACK_SECS: i64 = 10;

/// A log entry as the console showed it: when it appeared, its kind and summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// When the console showed it (the recorded `now` of the action that brought it).
    pub at: DateTime<Utc>,
    /// Its sequence number in the incident log.
    pub seq: u64,
    /// Entry kind.
    pub kind: EntryKind,
    /// Its one-line summary.
    pub summary: String,
}

/// What a milestone marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneKind {
    /// The incident was declared.
    Declared,
    /// The drill's fault was injected.
    FaultInjected,
    /// The verdict turned FAILING for the first time.
    Failing,
    /// A step was confirmed.
    StepConfirmed,
    /// A step was verified.
    StepVerified,
    /// Mitigation reached (a `drill-result` or `recovery-result` entry).
    Mitigated,
    /// The incident was resolved.
    Resolved,
}

impl MilestoneKind {
    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            MilestoneKind::Declared => "declared",
            MilestoneKind::FaultInjected => "fault injected",
            MilestoneKind::Failing => "FAILING",
            MilestoneKind::StepConfirmed => "step confirmed",
            MilestoneKind::StepVerified => "step verified",
            MilestoneKind::Mitigated => "mitigated",
            MilestoneKind::Resolved => "resolved",
        }
    }
}

/// A moment worth jumping to.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// When it happened on the console's screen.
    pub at: DateTime<Utc>,
    /// What it is.
    pub kind: MilestoneKind,
    /// What the log or the verdict said.
    pub text: String,
}

/// The milestone an entry kind marks, if any.
fn milestone_of(kind: &EntryKind) -> Option<MilestoneKind> {
    Some(match kind {
        EntryKind::Declared => MilestoneKind::Declared,
        EntryKind::StepConfirmed => MilestoneKind::StepConfirmed,
        EntryKind::StepVerified => MilestoneKind::StepVerified,
        EntryKind::DrillResult | EntryKind::RecoveryResult => MilestoneKind::Mitigated,
        EntryKind::Resolved => MilestoneKind::Resolved,
        _ => return None,
    })
}

/// Collects marks while a recording is replayed.
pub(super) struct Collector {
    seen: HashSet<u64>,
    entries: Vec<Mark>,
    milestones: Vec<Milestone>,
    failing_seen: bool,
    declared_at: DateTime<Utc>,
    fault_at: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
}

impl Collector {
    /// Before the first action: what `initial` already showed is not a mark of the recording.
    pub(super) fn new(initial: &State, start: Option<DateTime<Utc>>) -> Collector {
        Collector {
            seen: initial.domain.log_tail.iter().map(|l| l.seq).collect(),
            entries: Vec::new(),
            milestones: Vec::new(),
            failing_seen: initial.domain.verdict.level == Level::Failing,
            declared_at: initial.domain.incident.declared_at,
            fault_at: initial.domain.recovery.fault_injected_at,
            start,
        }
    }

    /// `action`, applied at `at`, left `state`.
    pub(super) fn saw(&mut self, state: &State, action: &Action, at: DateTime<Utc>) {
        match action {
            Action::Logged(line) => self.entry(line, at),
            Action::Mirrored(e) => self.entry(&e.to_log_line(), at),
            _ => {}
        }
        if !self.failing_seen && state.domain.verdict.level == Level::Failing {
            self.failing_seen = true;
            let why = state.domain.verdict.first_reason().unwrap_or("no reason given");
            self.milestones.push(Milestone { at, kind: MilestoneKind::Failing, text: why.to_string() });
        }
        if self.fault_at.is_none() {
            self.fault_at = state.domain.recovery.fault_injected_at;
        }
    }

    fn entry(&mut self, line: &LogLine, at: DateTime<Utc>) {
        if !self.seen.insert(line.seq) {
            return;
        }
        if let Some(kind) = milestone_of(&line.kind) {
            self.milestones.push(Milestone { at, kind, text: line.summary.clone() });
        }
        self.entries.push(Mark { at, seq: line.seq, kind: line.kind.clone(), summary: line.summary.clone() });
    }

    /// The entries and the milestones (in time order), for a recording ending at `end`.
    /// Moments known only from the state (the declaration of an incident whose `declared`
    /// entry was not seen, the drill's fault) count when they fall inside the recording.
    pub(super) fn finish(mut self, end: Option<DateTime<Utc>>) -> (Vec<Mark>, Vec<Milestone>) {
        let inside = |t: DateTime<Utc>| self.start.zip(end).is_some_and(|(s, e)| s <= t && t <= e);
        if !self.milestones.iter().any(|m| m.kind == MilestoneKind::Declared) {
            let declared = self.declared_at;
            match self.start {
                _ if inside(declared) => {
                    let text = "incident declared".to_string();
                    self.milestones.push(Milestone { at: declared, kind: MilestoneKind::Declared, text });
                }
                // The console that declared it started recording a moment later.
                Some(start)
                    if declared <= start && start - declared <= Duration::seconds(DECLARED_SLACK_SECS) =>
                {
                    let text = format!("incident declared at {}Z", declared.format("%H:%M:%S"));
                    self.milestones.push(Milestone { at: start, kind: MilestoneKind::Declared, text });
                }
                _ => {}
            }
        }
        if let Some(at) = self.fault_at.filter(|t| inside(*t)) {
            let text = "the drill's fault struck".to_string();
            self.milestones.push(Milestone { at, kind: MilestoneKind::FaultInjected, text });
        }
        // Stable: milestones of one moment keep the order they were seen in.
        self.milestones.sort_by_key(|m| m.at);
        (self.entries, self.milestones)
    }
}
