//! Replay of a recorded console: its initial [`State`] and every `(now, Action)` it applied go
//! back through [`update`] with the recorded `now`; the effects are dropped (nothing executes,
//! nothing is written). A [`Timeline`] keeps [`State`] checkpoints so that any moment is one
//! clone plus the actions since the nearest earlier checkpoint away, and lists the log entries
//! and milestones a viewer jumps between. Pure: the recording's file format is not known here.

mod badge;
mod marks;

use chrono::{DateTime, Duration, Utc};

use super::action::Action;
use super::state::State;
use super::update::update;

pub use badge::ReplayBadge;
pub use marks::{Mark, Milestone, MilestoneKind};

/// A checkpoint is taken after this many actions since the last one...
pub const CHECKPOINT_ACTIONS: usize = 512;
/// ...or when this much recorded time passed since the last one, whichever comes first.
pub const CHECKPOINT_SECS: i64 = 30;
/// At most this many checkpoints are kept: past it, every other one is dropped and the spacing
/// doubles (a long recording seeks a little slower instead of growing without bound).
pub const MAX_CHECKPOINTS: usize = 1024;

/// One recorded input: the `now` it was applied at and the action.
pub type Recorded = (DateTime<Utc>, Action);

/// A state after the first `applied` actions.
#[derive(Debug, Clone)]
struct Checkpoint {
    applied: usize,
    state: State,
}

/// A recorded console, seekable: the state at any recorded moment, the log entries and the
/// milestones, and the terminal size the console had.
#[derive(Debug, Clone)]
pub struct Timeline {
    actions: Vec<Recorded>,
    /// `actions[i]`'s time, never decreasing (a time earlier than its predecessor's counts as
    /// its predecessor's, so seeking by time stays a binary search).
    times: Vec<DateTime<Utc>>,
    /// Sorted by `applied`; the first is the initial state (0 applied).
    checkpoints: Vec<Checkpoint>,
    entries: Vec<Mark>,
    milestones: Vec<Milestone>,
    /// `(applied, size)`: the terminal size after each recorded resize.
    sizes: Vec<(usize, (u16, u16))>,
}

/// Apply one recorded action, dropping its effects.
fn replay(state: &mut State, (now, action): &Recorded) {
    let _effects = update(state, action.clone(), *now);
}

impl Timeline {
    /// Replay `actions` (in the order recorded) from `initial` once, keeping checkpoints and
    /// collecting log entries, milestones and resizes. A replayed console allocates step ids
    /// on its own: any shared allocator of `initial` is dropped (replay writes nothing).
    pub fn new(mut initial: State, actions: Vec<Recorded>) -> Timeline {
        initial.domain.step_ids = None;
        let mut times = Vec::with_capacity(actions.len());
        let mut latest = actions.first().map_or(initial.domain.now, |(t, _)| *t);
        for (t, _) in &actions {
            latest = latest.max(*t);
            times.push(latest);
        }
        let mut marks = marks::Collector::new(&initial, times.first().copied());
        let mut sizes = Vec::new();
        let mut checkpoints = vec![Checkpoint { applied: 0, state: initial.clone() }];
        let (mut every_n, mut every_t) = (CHECKPOINT_ACTIONS, Duration::seconds(CHECKPOINT_SECS));
        let mut state = initial;
        for (i, recorded) in actions.iter().enumerate() {
            replay(&mut state, recorded);
            if let Action::Resize(w, h) = recorded.1 {
                sizes.push((i + 1, (w, h)));
            }
            marks.saw(&state, &recorded.1, times[i]);
            let last = checkpoints.last().map_or(0, |c| c.applied);
            let last_t = if last == 0 { times[0] } else { times[last - 1] };
            if i + 1 - last >= every_n || times[i] - last_t >= every_t {
                checkpoints.push(Checkpoint { applied: i + 1, state: state.clone() });
                if checkpoints.len() > MAX_CHECKPOINTS {
                    thin(&mut checkpoints);
                    every_n *= 2;
                    every_t = every_t * 2;
                }
            }
        }
        let (entries, milestones) = marks.finish(times.last().copied());
        Timeline { actions, times, checkpoints, entries, milestones, sizes }
    }

    /// How many actions were recorded.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The recorded actions, in order.
    pub fn actions(&self) -> &[Recorded] {
        &self.actions
    }

    /// When the recording starts: its first action (the initial state's `now` if none).
    pub fn start(&self) -> DateTime<Utc> {
        self.times.first().copied().unwrap_or(self.checkpoints[0].state.domain.now)
    }

    /// When the recording ends: its last action.
    pub fn end(&self) -> DateTime<Utc> {
        self.times.last().copied().unwrap_or_else(|| self.start())
    }

    /// How many actions were applied by `t`: those recorded at or before it.
    pub fn applied_at(&self, t: DateTime<Utc>) -> usize {
        self.times.partition_point(|at| *at <= t)
    }

    /// What the console's state was at `t`: every action recorded at or before `t` applied
    /// (the initial state before the first).
    pub fn state_at(&self, t: DateTime<Utc>) -> State {
        self.state_after(self.applied_at(t))
    }

    /// The state after the first `n` actions (all of them if `n` is larger): a clone of the
    /// nearest checkpoint at or before `n`, then the actions after it.
    pub fn state_after(&self, n: usize) -> State {
        let n = n.min(self.actions.len());
        let at = self.checkpoints.partition_point(|c| c.applied <= n);
        let cp = &self.checkpoints[at.saturating_sub(1)];
        let mut state = cp.state.clone();
        for recorded in &self.actions[cp.applied..n] {
            replay(&mut state, recorded);
        }
        state
    }

    /// Move `state`, the state after the first `from` actions, to the state after the first
    /// `to` (`to >= from`; clamped to the recording): playing forward without a clone.
    pub fn forward(&self, state: &mut State, from: usize, to: usize) {
        let to = to.min(self.actions.len());
        for recorded in self.actions.get(from..to).unwrap_or_default() {
            replay(state, recorded);
        }
    }

    /// How many checkpoints are kept.
    pub fn checkpoints(&self) -> usize {
        self.checkpoints.len()
    }

    /// The terminal size at `t`: the last recorded resize at or before it (`None`: none yet,
    /// the recording's initial size applies).
    pub fn size_at(&self, t: DateTime<Utc>) -> Option<(u16, u16)> {
        let n = self.applied_at(t);
        let at = self.sizes.partition_point(|(applied, _)| *applied <= n);
        at.checked_sub(1).map(|i| self.sizes[i].1)
    }

    /// Every log entry the console showed (each once), in order, at the time it appeared.
    pub fn entries(&self) -> &[Mark] {
        &self.entries
    }

    /// The milestones (declared, first FAILING verdict, steps confirmed and verified,
    /// mitigated, resolved), in time order.
    pub fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    /// The first log entry shown after `t`.
    pub fn next_entry(&self, t: DateTime<Utc>) -> Option<&Mark> {
        self.entries.iter().find(|m| m.at > t)
    }

    /// The last log entry shown before `t`.
    pub fn prev_entry(&self, t: DateTime<Utc>) -> Option<&Mark> {
        self.entries.iter().rev().find(|m| m.at < t)
    }

    /// The first milestone after `t`.
    pub fn next_milestone(&self, t: DateTime<Utc>) -> Option<&Milestone> {
        self.milestones.iter().find(|m| m.at > t)
    }
}

/// Keep the initial checkpoint and every other one after it.
fn thin(checkpoints: &mut Vec<Checkpoint>) {
    let mut i = 0;
    checkpoints.retain(|_| {
        i += 1;
        i == 1 || i % 2 == 1
    });
}

#[cfg(test)]
mod tests;
