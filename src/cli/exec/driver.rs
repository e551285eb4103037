//! `warroom exec` on the shared [`Driver`] (the console's loop: source snapshots, runner
//! results, the commander lock's view and a tick become actions for the core): the runbook's
//! confirmations are answered from the command line like an operator would, SIGINT/SIGTERM stop
//! it after the executing step's result is logged, and the outcome and summary are reported.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::app::state::Modal;
use crate::app::step::Stage;
use crate::app::{Action, Effect, State, StepStatus, TextEdit, runbook_flow};
use crate::backends::{Freshness, Operate, Sources};
use crate::command::Command;
use crate::driver::{CommanderLink, Driver, Inputs, Output, Queued};
use crate::incident::commander::CommanderView;
use crate::incident::entry::EntryKind;
use crate::operation::{Operation, Risk};
use crate::runner::LogSink;
use crate::text::sanitize;

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

/// The shared [`Driver`] with exec's inputs (its signals) and output (what ran), answering the
/// runbook's confirmations from the command line.
pub struct Exec {
    driver: Driver,
    signals: Signals,
    ran: Ran,
    /// The step whose wait for approvals was announced (printed once).
    waiting_for: Option<u64>,
}

/// SIGINT / SIGTERM: exec stops after the executing step's result is logged.
struct Signals {
    both: Option<(Signal, Signal)>,
    interrupted: bool,
}

impl Inputs for Signals {
    type Event = ();

    async fn next(&mut self) -> Queued<()> {
        match self.both.as_mut() {
            Some((i, t)) => tokio::select! { _ = i.recv() => (), _ = t.recv() => () },
            None => std::future::pending().await,
        }
        Queued::Event(())
    }

    fn ready(&mut self) -> Option<()> {
        None
    }

    fn action(&mut self, (): (), _: &State) -> Option<Action> {
        if !self.interrupted {
            super::progress(
                "warroom exec: interrupted: stopping after the executing step's result is logged",
            );
        }
        self.interrupted = true;
        None
    }
}

/// Exec's output: no terminal (no bell, no clipboard); it notes what the effects did.
#[derive(Default)]
struct Ran {
    executed_any: bool,
    result_logged: bool,
}

impl Output for Ran {
    fn bell(&mut self) {}

    fn copy(&mut self, _text: &str) {}

    fn emitted(&mut self, effect: &Effect) {
        match effect {
            // Only what changes the estate counts: a refusal after read-only steps (an
            // assertion) is still a refusal (exit 3), not a failure midway.
            Effect::Execute { op, .. } if op.is_mutating() => self.executed_any = true,
            Effect::Log(l) if l.kind == EntryKind::DrillResult => self.result_logged = true,
            _ => {}
        }
    }
}

impl Exec {
    /// Start the driver (writing to `sink`, executing with `operator`) around `state`,
    /// following the commander lock exec holds.
    pub fn new(
        state: State,
        sources: Sources,
        operator: Arc<dyn Operate>,
        sink: Arc<dyn LogSink>,
        commander: watch::Receiver<CommanderView>,
        follower: crate::incident::log::LogFollower,
    ) -> Exec {
        let driver = Driver::start(state, sources, operator, sink)
            .with_commander(CommanderLink { view: commander, requests: None })
            .with_follower(follower);
        let both = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(i), Ok(t)) => Some((i, t)),
            _ => None,
        };
        Exec { driver, signals: Signals { both, interrupted: false }, ran: Ran::default(), waiting_for: None }
    }

    fn apply(&mut self, action: Action) {
        self.driver.apply(action, &mut self.ran);
    }

    /// Wait for the next input and apply it and everything queued behind it.
    async fn step(&mut self) {
        self.driver.step(&mut self.signals, &mut self.ran).await;
    }

    /// Until every layer answered once (or `limit`): the state sees the first snapshots.
    async fn settle(&mut self, limit: Duration) {
        let end = tokio::time::Instant::now() + limit;
        // The lock's and the sources' values at start (queued by the driver) come first.
        self.driver.apply_queued(&mut self.ran);
        loop {
            let o = &self.driver.state.domain.observed;
            let pending =
                [&o.kube.freshness, &o.database.freshness, &o.sentinel.freshness, &o.traffic.freshness]
                    .iter()
                    .any(|f| **f == Freshness::Pending);
            if !pending || tokio::time::Instant::now() >= end || self.signals.interrupted {
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
        if self.signals.interrupted {
            return Outcome::Interrupted;
        }
        let rb = self.driver.state.domain.runbooks.get(id).cloned();
        if let Some(rb) = rb {
            match crate::cli::plan::resolve(
                &rb,
                &self.driver.state.domain.config,
                &self.driver.state.domain.observed,
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
        let started = runbook_flow::start(&mut self.driver.state, id, params, only, &mut fx);
        self.driver.carry_out(fx, &mut self.ran);
        if let Err(e) = started {
            return Outcome::Refused(e);
        }
        self.drive(d).await
    }

    fn current(&self) -> Option<(u64, String, StepStatus)> {
        let run = self.driver.state.domain.runbook.as_ref()?;
        run.steps.iter().find_map(|(sid, _, _)| {
            let s = self.driver.state.domain.step(*sid)?;
            (!s.status.is_terminal())
                .then(|| (*sid, s.runbook_key.clone().unwrap_or_default(), s.status.clone()))
        })
    }

    async fn drive(&mut self, d: &Decisions) -> Outcome {
        loop {
            if let Some((_, outcome)) =
                self.driver.state.domain.runbook.as_ref().and_then(|r| r.finished.clone())
            {
                return match outcome.as_str() {
                    "completed" => Outcome::Completed,
                    other => Outcome::Failed("runbook".into(), format!("runbook {other}")),
                };
            }
            let executing = self.driver.state.domain.steps.iter().any(|s| s.status == StepStatus::Executing);
            if self.signals.interrupted && !executing {
                return Outcome::Interrupted;
            }
            if let Some(Modal::Confirm { step, .. }) = self.driver.state.view.modal.clone() {
                if let Err(why) = self.answer(step, d) {
                    return Outcome::Refused(why);
                }
                continue;
            }
            match self.current() {
                Some((_, key, StepStatus::Failed { stage, reason })) => {
                    // Rejected or timed out waiting for approval: nothing of it ran.
                    if stage == Stage::Approval {
                        return Outcome::Refused(format!("step {key}: {reason}"));
                    }
                    return if stage == Stage::Precheck && !self.ran.executed_any {
                        Outcome::Refused(format!("step {key}: precheck failed: {reason}"))
                    } else {
                        Outcome::Failed(key, reason)
                    };
                }
                Some((_, key, StepStatus::OutcomeUnknown)) => {
                    return Outcome::Failed(key, "outcome unknown: verify before continuing".into());
                }
                Some((_, _, StepStatus::Executing | StepStatus::Verifying)) | None => self.step().await,
                Some((sid, key, StepStatus::AwaitingApproval { needed, digest, deadline, .. })) => {
                    if self.waiting_for != Some(sid) {
                        self.waiting_for = Some(sid);
                        super::progress(&format!(
                            "warroom exec: step {key} (#{sid}) waits for {needed} approval(s) from another person \
                             until {}: warroom approve {} {sid} (digest {digest})",
                            deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            self.driver.state.domain.incident.id,
                        ));
                    }
                    self.step().await
                }
                // The API server is being asked whether this step is allowed.
                Some((sid, _, StepStatus::Proposed))
                    if self.driver.state.domain.step(sid).is_some_and(|s| s.asking_access) =>
                {
                    self.step().await
                }
                Some((sid, key, status)) => {
                    self.apply(Action::Command(Command::RunbookNext));
                    // A step that now waits for the API server's answer is not stuck.
                    let asking = self.driver.state.domain.step(sid).is_some_and(|s| s.asking_access);
                    let stuck = self.driver.state.view.modal.is_none()
                        && !asking
                        && self.current().is_some_and(|(s, _, st)| s == sid && st == status);
                    if stuck {
                        let why =
                            self.driver.state.view.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
                        return Outcome::Refused(format!("step {key} cannot run: {why}"));
                    }
                }
            }
        }
    }

    /// Answer the open confirmation of `step` from the command line, or say why not.
    fn answer(&mut self, step: u64, d: &Decisions) -> Result<(), String> {
        let Some(s) = self.driver.state.domain.step(step).cloned() else {
            return Err(format!("no step #{step}"));
        };
        let key = s.runbook_key.clone().unwrap_or_else(|| format!("#{step}"));
        let refuse = |this: &mut Exec, why: String| {
            this.apply(Action::Command(Command::ConfirmNo));
            Err(why)
        };
        let Some(op) = s.op.clone() else {
            return refuse(self, format!("step {key} is not built yet"));
        };
        if let Some(why) = super::preflight::missing_decision(&key, &op, s.risk(), d) {
            return refuse(self, why);
        }
        if let Operation::Manual { .. } = &op {
            self.apply(Action::Command(Command::ConfirmYes));
            for c in d.note.as_deref().unwrap_or_default().chars() {
                self.apply(Action::Text(TextEdit::Char(c)));
            }
            self.apply(Action::Text(TextEdit::Submit));
        } else if s.risk() == Risk::High {
            for c in op.confirm_word().chars() {
                self.apply(Action::Text(TextEdit::Char(c)));
            }
            self.apply(Action::Text(TextEdit::Submit));
        } else {
            self.apply(Action::Command(Command::ConfirmYes));
        }
        if matches!(self.driver.state.view.modal, Some(Modal::Confirm { step: open, .. }) if open == step)
            || matches!(self.driver.state.view.modal, Some(Modal::Prompt { .. }))
        {
            let why = self.driver.state.view.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
            self.driver.state.view.modal = None;
            return refuse(self, format!("step {key} was not confirmed: {why}"));
        }
        Ok(())
    }

    /// End the run: an unfinished runbook is aborted (logged), then the log is flushed.
    pub async fn finish(&mut self, outcome: &Outcome) {
        // Let an executing step's result arrive and be logged first (never leave it unlogged).
        let end = tokio::time::Instant::now() + Duration::from_secs(600);
        while self.driver.state.domain.steps.iter().any(|s| s.status == StepStatus::Executing)
            && tokio::time::Instant::now() < end
        {
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
        if self.driver.state.domain.runbook.as_ref().is_some_and(|r| r.active()) {
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
        if !self.driver.flush(Duration::from_secs(10)).await {
            eprintln!("warroom exec: the incident log did not flush within 10 s");
        }
        // Drain the Logged results (nothing prints from them: the sink printed each entry).
        self.driver.apply_queued(&mut self.ran);
    }

    /// Whether the recovery measurement logged its `drill-result` entry.
    pub fn drill_result_logged(&self) -> bool {
        self.ran.result_logged
    }

    /// After a completed drill run: wait (at most `limit`) until the recovery measurement logs
    /// its `drill-result` (mitigation may need the estate to settle after the last verify).
    /// `Err` says why it was not reached.
    pub async fn await_drill_result(&mut self, limit: Duration) -> Result<(), String> {
        let end = tokio::time::Instant::now() + limit;
        while !self.ran.result_logged && !self.signals.interrupted && tokio::time::Instant::now() < end {
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
        if self.ran.result_logged {
            return Ok(());
        }
        use crate::app::verdict::{Level, verdict_of};
        let v = verdict_of(&self.driver.state.domain.observed, &self.driver.state.domain.config);
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
        Err(if self.signals.interrupted {
            format!("interrupted; {why}")
        } else {
            format!("not within {} s: {why}", limit.as_secs_f64())
        })
    }

    /// Apply a final view of the commander lock (its release) and flush the log.
    pub async fn observe_commander(&mut self, view: CommanderView) {
        self.apply(Action::Commander(view));
        if !self.driver.flush(Duration::from_secs(10)).await {
            eprintln!("warroom exec: the incident log did not flush within 10 s");
        }
    }

    /// Every step of the run with its status, then the outcome.
    pub fn summary(&self, outcome: &Outcome) -> String {
        let mut o = String::from("\nSummary:\n");
        if let Some(run) = &self.driver.state.domain.runbook {
            for (sid, _, _) in &run.steps {
                let Some(s) = self.driver.state.domain.step(*sid) else { continue };
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
