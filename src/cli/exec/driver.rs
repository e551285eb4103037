//! The headless loop of `warroom exec`: source snapshots, runner results, the commander lock's
//! view and a tick become [`Action`]s for [`update`] (as in the console's event loop), and the
//! runbook's confirmations are answered from the command line like an operator would.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::app::state::Modal;
use crate::app::step::Stage;
use crate::app::{Action, Command, Effect, State, StepStatus, TextEdit, runbook_flow, update};
use crate::backends::{Freshness, Operate};
use crate::incident::commander::CommanderView;
use crate::runbook::{Operation, Risk};
use crate::runner::{LogSink, Runner};
use crate::tui::Sources;
use crate::ui::sanitize::sanitize;

/// What the command line answers to confirmations.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// Confirm words given with `--confirm` (a high-risk step runs only if its word is here).
    pub confirm: Vec<String>,
    /// `--yes-low-risk`.
    pub yes_low_risk: bool,
    /// `--note`, for manual steps.
    pub note: Option<String>,
}

/// How an exec ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step done or skipped.
    Completed,
    /// A step failed after something was executed: (step key, reason).
    Failed(String, String),
    /// Refused before executing the step it names (nothing after it ran).
    Refused(String),
    /// Stopped by SIGINT / SIGTERM after the executing step's result was logged.
    Interrupted,
}

impl Outcome {
    /// The process exit code.
    pub fn code(&self) -> i32 {
        match self {
            Outcome::Completed => 0,
            Outcome::Failed(..) => 1,
            Outcome::Refused(_) => 3,
            Outcome::Interrupted => 130,
        }
    }
}

/// The app core, the runner and the sources, driven without a terminal.
pub struct Driver {
    state: State,
    runner: Runner,
    actions: mpsc::UnboundedReceiver<Action>,
    sources: Sources,
    commander: watch::Receiver<CommanderView>,
    tick: tokio::time::Interval,
    signals: Option<(Signal, Signal)>,
    interrupted: bool,
    executed_any: bool,
    result_logged: bool,
}

/// The entry a drill's recovery measurement logs once the drill is mitigated.
const DRILL_RESULT: &str = "drill-result";

impl Driver {
    /// Start the runner (writing to `sink`, executing with `operator`) around `state`.
    pub fn new(
        state: State,
        sources: Sources,
        operator: Arc<dyn Operate>,
        sink: Arc<dyn LogSink>,
        commander: watch::Receiver<CommanderView>,
    ) -> Driver {
        let (tx, actions) = mpsc::unbounded_channel();
        let runner = Runner::start(operator, sink, state.domain.read_only, tx);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let signals = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(i), Ok(t)) => Some((i, t)),
            _ => None,
        };
        Driver {
            state,
            runner,
            actions,
            sources,
            commander,
            tick,
            signals,
            interrupted: false,
            executed_any: false,
            result_logged: false,
        }
    }

    fn apply(&mut self, action: Action) {
        // Monotonic-anchored like the console: a wall-clock step neither fires nor delays timers.
        let effects = update(&mut self.state, action, crate::tui::clock::now());
        self.dispatch(effects);
    }

    fn dispatch(&mut self, effects: Vec<Effect>) {
        // Only what changes the estate counts: a refusal after read-only steps (an assertion)
        // is still a refusal (exit 3), not a failure midway.
        if effects.iter().any(|e| matches!(e, Effect::Execute { op, .. } if op.is_mutating())) {
            self.executed_any = true;
        }
        if effects.iter().any(|e| matches!(e, Effect::Log(l) if l.kind == DRILL_RESULT)) {
            self.result_logged = true;
        }
        self.runner
            .dispatch(effects.into_iter().filter(|e| matches!(e, Effect::Log(_) | Effect::Execute { .. })));
    }

    /// Wait for the next input and apply it and everything queued behind it.
    async fn step(&mut self) {
        let sig = async {
            match self.signals.as_mut() {
                Some((i, t)) => tokio::select! { _ = i.recv() => (), _ = t.recv() => () },
                None => std::future::pending().await,
            }
        };
        let first = tokio::select! {
            () = sig => None,
            _ = self.tick.tick() => Some(Action::Tick),
            Ok(()) = self.sources.kube.changed() => Some(Action::Kube(self.sources.kube.borrow_and_update().clone())),
            Ok(()) = self.sources.database.changed() => Some(Action::Database(self.sources.database.borrow_and_update().clone())),
            Ok(()) = self.sources.sentinel.changed() => Some(Action::Sentinel(self.sources.sentinel.borrow_and_update().clone())),
            Ok(()) = self.sources.traffic.changed() => Some(Action::Traffic(self.sources.traffic.borrow_and_update().clone())),
            Ok(()) = self.commander.changed() => Some(Action::Commander(self.commander.borrow_and_update().clone())),
            Some(a) = self.actions.recv() => Some(a),
        };
        match first {
            Some(a) => self.apply(a),
            None => {
                if !self.interrupted {
                    super::progress(
                        "warroom exec: interrupted: stopping after the executing step's result is logged",
                    );
                }
                self.interrupted = true;
            }
        }
        while let Ok(a) = self.actions.try_recv() {
            self.apply(a);
        }
    }

    /// Until every layer answered once (or `limit`): the state sees the first snapshots.
    async fn settle(&mut self, limit: Duration) {
        let end = tokio::time::Instant::now() + limit;
        let current = self.commander.borrow_and_update().clone();
        self.apply(Action::Commander(current));
        // A source's value at start (e.g. "not configured", which never changes) is not reported
        // by `changed()`: take every current value first.
        let s = &mut self.sources;
        let initial = [
            Action::Kube(s.kube.borrow_and_update().clone()),
            Action::Database(s.database.borrow_and_update().clone()),
            Action::Sentinel(s.sentinel.borrow_and_update().clone()),
            Action::Traffic(s.traffic.borrow_and_update().clone()),
        ];
        for a in initial {
            self.apply(a);
        }
        loop {
            let o = &self.state.domain.observed;
            let pending =
                [&o.kube.freshness, &o.database.freshness, &o.sentinel.freshness, &o.traffic.freshness]
                    .iter()
                    .any(|f| **f == Freshness::Pending);
            if !pending || tokio::time::Instant::now() >= end || self.interrupted {
                return;
            }
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
    }

    /// Start runbook `id` and drive it to its end, answering confirmations from `d`.
    pub async fn execute(
        &mut self,
        id: &str,
        params: &[(String, String)],
        only: Option<&str>,
        d: &Decisions,
    ) -> Outcome {
        self.settle(crate::cli::plan::FIRST_SNAPSHOT_LIMIT).await;
        if self.interrupted {
            return Outcome::Interrupted;
        }
        let rb = self.state.domain.runbooks.get(id).cloned();
        if let Some(rb) = rb {
            match crate::cli::plan::resolve(
                &rb,
                &self.state.domain.config,
                &self.state.domain.observed,
                params,
            ) {
                Ok(ps) => {
                    for p in ps {
                        super::progress(&format!(
                            "warroom exec: parameter {} = {} [{}]",
                            p.name,
                            sanitize(&p.value),
                            sanitize(&p.origin)
                        ));
                    }
                }
                Err(e) => return Outcome::Refused(e.message),
            }
        }
        let mut fx = Vec::new();
        let started = runbook_flow::start(&mut self.state, id, params, only, &mut fx);
        self.dispatch(fx);
        if let Err(e) = started {
            return Outcome::Refused(e);
        }
        self.drive(d).await
    }

    fn current(&self) -> Option<(u64, String, StepStatus)> {
        let run = self.state.domain.runbook.as_ref()?;
        run.steps.iter().find_map(|(sid, _, _)| {
            let s = self.state.domain.step(*sid)?;
            (!s.status.is_terminal())
                .then(|| (*sid, s.runbook_key.clone().unwrap_or_default(), s.status.clone()))
        })
    }

    async fn drive(&mut self, d: &Decisions) -> Outcome {
        loop {
            if let Some((_, outcome)) = self.state.domain.runbook.as_ref().and_then(|r| r.finished.clone()) {
                return match outcome.as_str() {
                    "completed" => Outcome::Completed,
                    other => Outcome::Failed("runbook".into(), format!("runbook {other}")),
                };
            }
            let executing = self.state.domain.steps.iter().any(|s| s.status == StepStatus::Executing);
            if self.interrupted && !executing {
                return Outcome::Interrupted;
            }
            if let Some(Modal::Confirm { step, .. }) = self.state.view.modal.clone() {
                if let Err(why) = self.answer(step, d) {
                    return Outcome::Refused(why);
                }
                continue;
            }
            match self.current() {
                Some((_, key, StepStatus::Failed { stage, reason })) => {
                    return if stage == Stage::Precheck && !self.executed_any {
                        Outcome::Refused(format!("step {key}: precheck failed: {reason}"))
                    } else {
                        Outcome::Failed(key, reason)
                    };
                }
                Some((_, key, StepStatus::OutcomeUnknown)) => {
                    return Outcome::Failed(key, "outcome unknown: verify before continuing".into());
                }
                Some((_, _, StepStatus::Executing | StepStatus::Verifying)) | None => self.step().await,
                Some((sid, key, status)) => {
                    self.apply(Action::Command(Command::RunbookNext));
                    let stuck = self.state.view.modal.is_none()
                        && self.current().is_some_and(|(s, _, st)| s == sid && st == status);
                    if stuck {
                        let why = self.state.view.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
                        return Outcome::Refused(format!("step {key} cannot run: {why}"));
                    }
                }
            }
        }
    }

    /// Answer the open confirmation of `step` from the command line, or say why not.
    fn answer(&mut self, step: u64, d: &Decisions) -> Result<(), String> {
        let Some(s) = self.state.domain.step(step).cloned() else { return Err(format!("no step #{step}")) };
        let key = s.runbook_key.clone().unwrap_or_else(|| format!("#{step}"));
        let refuse = |this: &mut Driver, why: String| {
            this.apply(Action::Command(Command::ConfirmNo));
            Err(why)
        };
        if let Some(why) = super::preflight::missing_decision(&key, &s.op, s.risk(), d) {
            return refuse(self, why);
        }
        if let Operation::Manual { .. } = &s.op {
            self.apply(Action::Command(Command::ConfirmYes));
            for c in d.note.as_deref().unwrap_or_default().chars() {
                self.apply(Action::Text(TextEdit::Char(c)));
            }
            self.apply(Action::Text(TextEdit::Submit));
        } else if s.risk() == Risk::High {
            for c in s.op.confirm_word().chars() {
                self.apply(Action::Text(TextEdit::Char(c)));
            }
            self.apply(Action::Text(TextEdit::Submit));
        } else {
            self.apply(Action::Command(Command::ConfirmYes));
        }
        if matches!(self.state.view.modal, Some(Modal::Confirm { step: open, .. }) if open == step)
            || matches!(self.state.view.modal, Some(Modal::Prompt { .. }))
        {
            let why = self.state.view.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
            self.state.view.modal = None;
            return refuse(self, format!("step {key} was not confirmed: {why}"));
        }
        Ok(())
    }

    /// End the run: an unfinished runbook is aborted (logged), then the log is flushed.
    pub async fn finish(&mut self, outcome: &Outcome) {
        // Let an executing step's result arrive and be logged first (never leave it unlogged).
        let end = tokio::time::Instant::now() + Duration::from_secs(600);
        while self.state.domain.steps.iter().any(|s| s.status == StepStatus::Executing)
            && tokio::time::Instant::now() < end
        {
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
        if self.state.domain.runbook.as_ref().is_some_and(|r| r.active()) {
            let why = match outcome {
                Outcome::Interrupted => "interrupted by a signal",
                Outcome::Refused(_) => "refused",
                _ => "stopped",
            };
            super::progress(&format!("warroom exec: aborting the runbook ({why})"));
            self.apply(Action::Command(Command::RunbookAbort));
            // `runbook-abort` asks y/n first (it is irreversible): answer it.
            self.apply(Action::Command(Command::ConfirmYes));
        }
        if !self.runner.flush(Duration::from_secs(10)).await {
            eprintln!("warroom exec: the incident log did not flush within 10 s");
        }
        // Drain the Logged results (nothing prints from them: the sink printed each entry).
        while let Ok(a) = self.actions.try_recv() {
            self.apply(a);
        }
    }

    /// Whether the recovery measurement logged its `drill-result` entry.
    pub fn drill_result_logged(&self) -> bool {
        self.result_logged
    }

    /// After a completed drill run: wait (at most `limit`) until the recovery measurement logs
    /// its `drill-result` (mitigation may need the estate to settle after the last verify).
    /// `Err` says why it was not reached.
    pub async fn await_drill_result(&mut self, limit: Duration) -> Result<(), String> {
        let end = tokio::time::Instant::now() + limit;
        while !self.result_logged && !self.interrupted && tokio::time::Instant::now() < end {
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
        if self.result_logged {
            return Ok(());
        }
        use crate::app::verdict::{Level, verdict_of};
        let v = verdict_of(&self.state.domain.observed, &self.state.domain.config);
        let why = match v.level {
            Level::Unknown => "the estate's verdict is unknown: a layer has no fresh value".to_string(),
            _ if !v.restored => {
                format!("the estate is still {}: {}", v.level.as_str(), sanitize(&v.reasons.join("; ")))
            }
            _ => {
                "the estate is restored but mitigation was not confirmed (it must hold for the settle period)"
                    .to_string()
            }
        };
        Err(if self.interrupted {
            format!("interrupted; {why}")
        } else {
            format!("not within {} s: {why}", limit.as_secs_f64())
        })
    }

    /// Apply a final view of the commander lock (its release) and flush the log.
    pub async fn observe_commander(&mut self, view: CommanderView) {
        self.apply(Action::Commander(view));
        if !self.runner.flush(Duration::from_secs(10)).await {
            eprintln!("warroom exec: the incident log did not flush within 10 s");
        }
    }

    /// Every step of the run with its status, then the outcome.
    pub fn summary(&self, outcome: &Outcome) -> String {
        let mut o = String::from("\nSummary:\n");
        if let Some(run) = &self.state.domain.runbook {
            for (sid, _, _) in &run.steps {
                let Some(s) = self.state.domain.step(*sid) else { continue };
                let detail = match &s.status {
                    StepStatus::Skipped(r) => format!(": {}", sanitize(r)),
                    StepStatus::Failed { reason, .. } => format!(": {}", sanitize(reason)),
                    _ => String::new(),
                };
                let _ = writeln!(
                    o,
                    "  {:<20} {:<10} {}{detail}",
                    s.runbook_key.as_deref().unwrap_or("?"),
                    s.status.label(),
                    sanitize(&s.preview.title)
                );
            }
        }
        let _ = match outcome {
            Outcome::Completed => writeln!(o, "RESULT: completed (exit 0)"),
            Outcome::Failed(key, why) => {
                writeln!(o, "RESULT: FAILED at step {key}: {}; nothing after it ran (exit 1)", sanitize(why))
            }
            Outcome::Refused(why) => {
                writeln!(o, "RESULT: REFUSED: {}; nothing after it ran (exit 3)", sanitize(why))
            }
            Outcome::Interrupted => {
                writeln!(o, "RESULT: INTERRUPTED by a signal; nothing after it ran (exit 130)")
            }
        };
        o
    }
}
