//! The one loop that drives the core. The sources' snapshots, effect results, entries other
//! consoles append, the commander lock's view and a tick become [`Action`]s for [`update`], in
//! the order they arrive; every [`Effect`] goes to the [`Runner`] (log, execute), the commander
//! lock task, or an [`Output`] (bell, clipboard). The console adds terminal events, `warroom
//! exec` its signals and command-line answers, tests their scripted keys: through [`Inputs`]
//! or [`Driver::apply`]. The driver knows no terminal and no screen.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::app::{Action, Effect, State, update};
use crate::backends::{Operate, Sources};
use crate::incident::commander::{CommanderView, LockRequest};
use crate::incident::log::LogFollower;
use crate::runner::{LogSink, Runner};

pub mod recorder;

pub use recorder::Recorder;

/// Where the effects that are neither the runner's nor the lock's go: the bell and the
/// clipboard. The console writes them through its terminal backend; tests record them.
pub trait Output {
    /// Ring the bell once.
    fn bell(&mut self);
    /// Put `text` on the clipboard (the driver redacted it).
    fn copy(&mut self, text: &str);
    /// Sees every effect the core emitted, before it is carried out (exec notes what ran,
    /// tests record). Does nothing by default.
    fn emitted(&mut self, _effect: &Effect) {}
}

/// One input of a batch, waiting its turn.
pub enum Queued<E> {
    /// An action, applied as it is.
    Action(Action),
    /// One of the caller's inputs (a terminal event): turned into an action only when its turn
    /// comes, against the state the inputs before it left.
    Event(E),
}

/// What a driver's user adds to the sources (terminal events, signals, or nothing).
pub trait Inputs {
    /// One input, read when its turn in the batch comes.
    type Event;
    /// Wait for the next input (never resolves when there are none). Must be cancel-safe.
    fn next(&mut self) -> impl Future<Output = Queued<Self::Event>>;
    /// An input already waiting, if any (drained into the same batch).
    fn ready(&mut self) -> Option<Self::Event>;
    /// The action `event` asks for, read against `state`; none for a pending chord, say.
    fn action(&mut self, event: Self::Event, state: &State) -> Option<Action>;
}

/// No inputs but the sources (tests apply their keys with [`Driver::apply`]).
impl Inputs for () {
    type Event = Infallible;

    fn next(&mut self) -> impl Future<Output = Queued<Infallible>> {
        std::future::pending()
    }

    fn ready(&mut self) -> Option<Infallible> {
        None
    }

    fn action(&mut self, event: Infallible, _: &State) -> Option<Action> {
        match event {}
    }
}

/// The link to the commander lock (see [`crate::incident::commander::spawn`]).
pub struct CommanderLink {
    /// The lock as its holder sees it.
    pub view: watch::Receiver<CommanderView>,
    /// Take / release requests (a console); `None` when the caller holds the lock itself (exec).
    pub requests: Option<mpsc::Sender<LockRequest>>,
}

/// How often [`Action::Tick`] comes: clocks, checklist due times, verify deadlines.
const TICK: Duration = Duration::from_millis(250);

/// The core, its effect runner and its inputs.
pub struct Driver {
    /// The core's state. Read it between steps; change it through [`Driver::apply`].
    pub state: State,
    sources: Sources,
    runner: Runner,
    /// Feeds `actions`: the runner's results, the follower, the commander view.
    sender: mpsc::UnboundedSender<Action>,
    actions: mpsc::UnboundedReceiver<Action>,
    lock_requests: Option<mpsc::Sender<LockRequest>>,
    tick: tokio::time::Interval,
    /// The flight recorder, when this console records ([`Driver::with_recorder`]).
    recorder: Option<Recorder>,
    /// Sees every action applied, with its `now` (see [`Driver::with_tap`]).
    tap: Option<Tap>,
}

/// Sees each action [`Driver::apply`] hands to `update`, with the `now` it is applied at, before
/// it is applied: the journal replay rebuilds the screen from (tests capture it).
pub type Tap = Box<dyn FnMut(chrono::DateTime<chrono::Utc>, &Action) + Send>;

impl Driver {
    /// Start the runner (executing with `operator`, logging to `log`) around `state`. The
    /// sources' current values are queued first: a layer that is not configured never changes,
    /// and `changed()` reports only what comes after.
    pub fn start(
        state: State,
        mut sources: Sources,
        operator: Arc<dyn Operate>,
        log: Arc<dyn LogSink>,
    ) -> Driver {
        let (sender, actions) = mpsc::unbounded_channel();
        let runner = Runner::start(operator, log, state.domain.read_only, sender.clone());
        let s = &mut sources;
        let current = [
            Action::Kube(s.kube.borrow_and_update().clone()),
            Action::Database(s.database.borrow_and_update().clone()),
            Action::Sentinel(s.sentinel.borrow_and_update().clone()),
            Action::Traffic(s.traffic.borrow_and_update().clone()),
        ];
        for a in current {
            let _ = sender.send(a);
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Driver {
            state,
            sources,
            runner,
            sender,
            actions,
            lock_requests: None,
            tick,
            recorder: None,
            tap: None,
        }
    }

    /// Follow the commander lock: its current view is queued now, every change after it.
    pub fn with_commander(mut self, link: CommanderLink) -> Driver {
        let CommanderLink { mut view, requests } = link;
        let _ = self.sender.send(Action::Commander(view.borrow_and_update().clone()));
        let actions = self.sender.clone();
        tokio::spawn(async move {
            while view.changed().await.is_ok() {
                if actions.send(Action::Commander(view.borrow_and_update().clone())).is_err() {
                    return;
                }
            }
        });
        self.lock_requests = requests;
        self
    }

    /// Record every action applied from now on (the flight recorder; see [`recorder`]).
    /// Step ids the incident's allocator hands out are recorded too (a replay reuses them).
    pub fn with_recorder(mut self, recorder: Recorder) -> Driver {
        if let Some(ids) = self.state.domain.step_ids.take() {
            self.state.domain.step_ids = Some(recorder.tee(ids));
        }
        self.recorder = Some(recorder);
        self
    }

    /// Show every applied action, with its `now`, to `tap` (in the order applied).
    pub fn with_tap(mut self, tap: Tap) -> Driver {
        self.tap = Some(tap);
        self
    }

    /// Poll the incident log 4x/second for entries appended by any console (ours included: the
    /// core de-duplicates by seq), so every console shows the others' entries within a second.
    pub fn with_follower(self, mut follower: LogFollower) -> Driver {
        let actions = self.sender.clone();
        tokio::task::spawn_blocking(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                for e in follower.poll_new() {
                    // Other consoles' entries also move this console's steps (see app::mirror).
                    let action = if follower.take_own(e.seq) {
                        Action::Logged(e.to_log_line())
                    } else {
                        Action::Mirrored(Box::new(e))
                    };
                    if actions.send(action).is_err() {
                        return;
                    }
                }
            }
        });
        self
    }

    /// Watch a shared log's store (`[war_room]`) twice a second: each change of its status
    /// (reachable, stale with the error, pending count) reaches the header.
    pub fn with_shared_store(self, log: std::sync::Arc<crate::incident::log::IncidentLog>) -> Driver {
        let actions = self.sender.clone();
        tokio::spawn(async move {
            let mut last: Option<crate::incident::shared::SharedStatus> = None;
            loop {
                let now = log.shared_status().map(|s| match s {
                    // Only a change of state matters, not each successful poll's time.
                    crate::incident::shared::SharedStatus::Synced { .. } => {
                        crate::incident::shared::SharedStatus::Synced { at: chrono::DateTime::UNIX_EPOCH }
                    }
                    stale => stale,
                });
                if let Some(s) = now.filter(|s| Some(s) != last.as_ref()) {
                    last = Some(s.clone());
                    if actions.send(Action::SharedStore(s)).is_err() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        self
    }

    /// Wait for the next input of any kind, then apply it and everything already queued
    /// behind it, in order. Returns whether the screen may have changed. Cancel-safe while
    /// waiting; nothing is lost when a timeout drops it.
    pub async fn step<I: Inputs>(&mut self, inputs: &mut I, out: &mut dyn Output) -> bool {
        let mut batch = vec![self.next(inputs).await];
        // Drain whatever else is already queued (latest snapshot wins) before drawing.
        batch.extend(std::iter::from_fn(|| self.actions.try_recv().ok()).map(Queued::Action));
        batch.extend(std::iter::from_fn(|| inputs.ready()).map(Queued::Event));
        let mut changed = false;
        for queued in batch {
            // A key is read against the state left by the keys before it (typed ahead, or
            // arriving together over a slow link): `b` then Enter picks the runbook, and text
            // typed right after `n` goes into the note instead of running commands.
            let action = match queued {
                Queued::Action(a) => a,
                Queued::Event(ev) => match inputs.action(ev, &self.state) {
                    Some(a) => a,
                    None => continue,
                },
            };
            changed |= self.apply(action, out);
        }
        changed
    }

    async fn next<I: Inputs>(&mut self, inputs: &mut I) -> Queued<I::Event> {
        let s = &mut self.sources;
        tokio::select! {
            input = inputs.next() => input,
            _ = self.tick.tick() => Queued::Action(Action::Tick),
            Ok(()) = s.kube.changed() => Queued::Action(Action::Kube(s.kube.borrow_and_update().clone())),
            Ok(()) = s.database.changed() => Queued::Action(Action::Database(s.database.borrow_and_update().clone())),
            Ok(()) = s.sentinel.changed() => Queued::Action(Action::Sentinel(s.sentinel.borrow_and_update().clone())),
            Ok(()) = s.traffic.changed() => Queued::Action(Action::Traffic(s.traffic.borrow_and_update().clone())),
            Some(a) = self.actions.recv() => Queued::Action(a),
        }
    }

    /// Apply everything already queued, without waiting. Returns whether the screen may have
    /// changed.
    pub fn apply_queued(&mut self, out: &mut dyn Output) -> bool {
        let mut changed = false;
        while let Ok(a) = self.actions.try_recv() {
            changed |= self.apply(a, out);
        }
        changed
    }

    /// Apply one action now and carry out its effects. Returns whether the screen may have
    /// changed.
    pub fn apply(&mut self, action: Action, out: &mut dyn Output) -> bool {
        let visible = action.may_change_screen(&self.state);
        // Monotonic-anchored: a stepped wall clock neither fires timers early nor late.
        let now = crate::clock::now();
        if let Some(tap) = &mut self.tap {
            tap(now, &action);
        }
        if let Some(r) = &mut self.recorder {
            r.record(now, &action);
        }
        let effects = update(&mut self.state, action, now);
        let changed = visible || !effects.is_empty();
        self.carry_out(effects, out);
        changed
    }

    /// Carry out `effects` in order (those of `update`, or of a core call such as starting a
    /// runbook): the log and executions through the runner, lock requests to the lock task,
    /// the bell and the clipboard (redacted) to `out`. A quit needs nothing here: the core
    /// recorded it in the state ([`Driver::quit_requested`]).
    pub fn carry_out(&mut self, effects: Vec<Effect>, out: &mut dyn Output) {
        for effect in effects {
            out.emitted(&effect);
            match effect {
                Effect::Log(_)
                | Effect::Execute { .. }
                | Effect::CheckAccess { .. }
                | Effect::Drill(_)
                | Effect::Notify { .. } => self.runner.dispatch([effect]),
                Effect::Bell => out.bell(),
                Effect::Copy(text) => out.copy(&crate::text::redact(&text)),
                Effect::Commander(req) => {
                    if let Some(tx) = &self.lock_requests
                        && tx.try_send(req).is_err()
                    {
                        tracing::warn!("commander lock task is busy or gone: {req:?} dropped");
                    }
                }
                Effect::Quit => {}
            }
        }
    }

    /// Whether the core asked to quit (a quit command confirmed, or a shutdown).
    pub fn quit_requested(&self) -> bool {
        self.state.view.quit
    }

    /// Wait until every effect queued so far is handled (log entries durable, executions
    /// dispatched), or `limit` passed. Returns whether it completed.
    pub async fn flush(&self, limit: Duration) -> bool {
        self.runner.flush(limit).await
    }

    /// Leaving a console: give the commander lock up (logged, waiting up to 3 s), then write
    /// every queued log entry (up to 5 s): never lose a line.
    pub async fn shut_down(&mut self, out: &mut dyn Output) {
        self.release_commander(out).await;
        if !self.runner.flush(Duration::from_secs(5)).await {
            tracing::error!("incident log entries still queued after 5 s at exit");
        }
        self.finish_recording().await;
    }

    /// End the flight recording: its last segment closed and logged (waiting up to 5 s).
    pub async fn finish_recording(&mut self) {
        let Some(recorder) = self.recorder.take() else { return };
        let finished = tokio::task::spawn_blocking(move || recorder.finish(Duration::from_secs(5))).await;
        if !matches!(finished, Ok(true)) {
            tracing::error!("flight recorder still writing after 5 s at exit");
        }
    }

    /// Give the commander lock up if this console holds it, and apply the lock's answer. A
    /// console that cannot reach the lock leaves it to expire after its ttl.
    async fn release_commander(&mut self, out: &mut dyn Output) {
        let Some(requests) = self.lock_requests.take() else { return };
        if !matches!(self.state.domain.commander, CommanderView::Mine { .. }) {
            return;
        }
        if requests.send(LockRequest::Release).await.is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while matches!(self.state.domain.commander, CommanderView::Mine { warning: None, .. }) {
            match tokio::time::timeout_at(deadline, self.actions.recv()).await {
                Ok(Some(a @ Action::Commander(_))) => {
                    self.apply(a, out);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    tracing::warn!("commander lock not released within 3 s: it expires after its ttl");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
