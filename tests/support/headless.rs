//! A headless console: the app core driven by the REAL [`Driver`] (live sources built by
//! `warroom::backends::live::build`, or the drill estate's; the effect runner; a [`MemoryLog`])
//! without a terminal. The test is the operator: it applies keys as actions between steps, and
//! a [`Recorded`] output keeps the bells, the clipboard and every effect the core emitted.
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::app::state::{IncidentInfo, Modal};
use warroom::app::{Action, Effect, Mode, State, StepRun, StepStatus, TextEdit};
use warroom::backends::Sources;
use warroom::backends::live;
use warroom::command::Command;
use warroom::config::Config;
use warroom::driver::{Driver, Output};
use warroom::incident::entry::LogIntent;
use warroom::operation::Operation;
use warroom::runner::MemoryLog;

/// Operator name written into the in-memory log.
pub const OPERATOR: &str = "tester@lab";

/// What the driver handed the output: bells, clipboard text, and every effect, in order.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Bells rung.
    pub bells: usize,
    /// Texts copied to the clipboard (redacted by the driver).
    pub copies: Vec<String>,
    /// Every effect `update` (or a core call) emitted, in order.
    pub effects: Vec<Effect>,
}

impl Output for Recorded {
    fn bell(&mut self) {
        self.bells += 1;
    }

    fn copy(&mut self, text: &str) {
        self.copies.push(text.to_string());
    }

    fn emitted(&mut self, effect: &Effect) {
        self.effects.push(effect.clone());
    }
}

/// The real driver with an in-memory log and a recording output. Derefs to the [`Driver`]:
/// `h.state` is the core's state (inspect freely between steps).
pub struct Headless {
    driver: Driver,
    /// Everything the runner appended, in order.
    pub log: Arc<MemoryLog>,
    /// What reached the output.
    pub out: Recorded,
}

impl Deref for Headless {
    type Target = Driver;

    fn deref(&self) -> &Driver {
        &self.driver
    }
}

impl DerefMut for Headless {
    fn deref_mut(&mut self) -> &mut Driver {
        &mut self.driver
    }
}

impl Headless {
    /// Build the live estate for `cfg`, start the runner and a fresh live incident.
    pub async fn start(cfg: Config) -> Headless {
        let cfg = Arc::new(cfg);
        let estate = live::build(&cfg).await;
        Headless::with_estate(cfg, estate)
    }

    /// Like [`Headless::start`], with sources and operator built by the test (e.g. a Route 53
    /// client with static test credentials against a fake).
    pub fn with_estate(cfg: Arc<Config>, estate: live::LiveEstate) -> Headless {
        let incident = incident("INC-LIVETEST", "live pipeline test", false);
        let state = State::new(Mode::Live, incident, OPERATOR.into(), cfg, Utc::now());
        Headless::around(state, estate.sources, estate.operator)
    }

    /// The same console over the drill estate (`scenario`, `speed`, seed 1): the drill's own
    /// operator, sources polled every 200 ms, a drill incident; mitigation counts after the
    /// verdict held 1 s (`[drill] settle_secs`).
    pub async fn drill(scenario: &str, speed: f64) -> (Headless, warroom::backends::drill::DrillEstate) {
        let estate = warroom::backends::drill::DrillEstate::new(scenario, speed, 1).expect("scenario");
        let mut cfg = estate.config();
        cfg.drill.settle_secs = Some(1);
        let h = Headless::on_drill(&estate, cfg, Duration::from_millis(200));
        (h, estate)
    }

    /// Like [`Headless::drill`] with the test's configuration (e.g. `[drill]` settings), and the
    /// recovery tracker set up as `warroom drill` does (the scenario's fault time known).
    pub async fn drill_measured(
        scenario: &str,
        speed: f64,
        cfg: Config,
    ) -> (Headless, warroom::backends::drill::DrillEstate) {
        let estate = warroom::backends::drill::DrillEstate::new(scenario, speed, 1).expect("scenario");
        let h = Headless::measured(&estate, cfg, Duration::from_millis(200));
        (h, estate)
    }

    /// A drill console on `estate` (sources polled every `poll`) with the recovery tracker set
    /// up as `warroom drill` does.
    pub fn measured(estate: &warroom::backends::drill::DrillEstate, cfg: Config, poll: Duration) -> Headless {
        let mut h = Headless::on_drill(estate, cfg, poll);
        h.state.domain.recovery =
            warroom::app::measure::Recovery::drill(estate.scenario().name, estate.fault_scheduled_at());
        h
    }

    /// A drill console on `estate`: its operator, its sources polled every `poll`.
    pub fn on_drill(estate: &warroom::backends::drill::DrillEstate, cfg: Config, poll: Duration) -> Headless {
        let incident = incident("INC-DRILLTEST", "drill runbook test", true);
        let state = State::new(Mode::Drill, incident, OPERATOR.into(), Arc::new(cfg), Utc::now());
        let sources = warroom::cli::drill::sources(estate, poll);
        Headless::around(state, sources, Arc::new(estate.operator()))
    }

    fn around(state: State, sources: Sources, operator: Arc<dyn warroom::backends::Operate>) -> Headless {
        let log = Arc::new(MemoryLog::new(OPERATOR));
        let driver = Driver::start(state, sources, operator, log.clone());
        Headless { driver, log, out: Recorded::default() }
    }

    /// The same console with `tap` seeing every action the driver applies, with its `now` (what
    /// a flight recorder journals).
    pub fn with_tap(self, tap: warroom::driver::Tap) -> Headless {
        Headless { driver: self.driver.with_tap(tap), ..self }
    }

    /// Start runbook `id` with `--param` overrides (its first step's confirmation opens).
    pub fn start_runbook(&mut self, id: &str, params: &[(&str, &str)]) {
        let params: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut fx = Vec::new();
        warroom::app::runbook_flow::start(&mut self.driver.state, id, &params, None, &mut fx)
            .unwrap_or_else(|e| panic!("{id} did not start: {e}\n{}", self.gist()));
        self.driver.carry_out(fx, &mut self.out);
    }

    /// Start runbook `id` (as the picker would, with `--param` overrides) and drive it to its
    /// end like an operator: type the target's name for high-risk steps, `y` for low-risk ones,
    /// a note for manual steps, `runbook-next` after each verified step. A failed step fails the
    /// test with the state. Returns the outcome (`completed` / `aborted`).
    pub async fn run_runbook(&mut self, id: &str, params: &[(&str, &str)], within: Duration) -> String {
        self.start_runbook(id, params);
        let end = tokio::time::Instant::now() + within;
        loop {
            let run = self.state.domain.runbook.clone().expect("runbook");
            if let Some((_, outcome)) = &run.finished {
                // The runner writes asynchronously: let the log catch up before returning.
                assert!(self.driver.flush(Duration::from_secs(5)).await, "log flush");
                return outcome.clone();
            }
            if tokio::time::Instant::now() >= end {
                panic!("{id} not finished within {within:?}\n{}", self.gist());
            }
            match self.state.view.modal.clone() {
                Some(Modal::Confirm { step, .. }) => {
                    let s = self.step_run(step).clone();
                    let op = s.op.clone().expect("a step whose confirmation is open is built");
                    if matches!(op, Operation::Manual { .. }) {
                        self.apply(Action::Command(Command::ConfirmYes));
                        for c in "done by the test operator".chars() {
                            self.apply(Action::Text(TextEdit::Char(c)));
                        }
                        self.apply(Action::Text(TextEdit::Submit));
                    } else if s.risk() == warroom::operation::Risk::High {
                        self.type_confirm(&op.confirm_word());
                    } else {
                        self.apply(Action::Command(Command::ConfirmYes));
                    }
                    continue;
                }
                Some(other) => panic!("unexpected dialog {other:?}\n{}", self.gist()),
                None => {}
            }
            let current =
                run.steps.iter().map(|(sid, _, _)| *sid).find(|sid| !self.status(*sid).is_terminal());
            match current.map(|sid| (sid, self.status(sid))) {
                Some((sid, StepStatus::Failed { .. } | StepStatus::OutcomeUnknown)) => {
                    panic!("{id}: step #{sid} failed\n{}", self.gist())
                }
                Some((_, StepStatus::Executing | StepStatus::Verifying)) | None => {
                    let _ = tokio::time::timeout_at(end, self.step()).await;
                }
                Some(_) => self.apply(Action::Command(Command::RunbookNext)),
            }
        }
    }

    /// Apply one action now (as a key would) and carry out its effects.
    pub fn apply(&mut self, action: Action) {
        self.driver.apply(action, &mut self.out);
    }

    /// Wait for the next input (a source change, a runner result or the tick) and apply it and
    /// everything already queued behind it.
    pub async fn step(&mut self) {
        self.driver.step(&mut (), &mut self.out).await;
    }

    /// Run the loop until `cond` holds; panic after `within` with `what` and the state's gist.
    /// Returns how long it took.
    pub async fn until(&mut self, what: &str, within: Duration, cond: impl Fn(&State) -> bool) -> Duration {
        self.until_with(what, within, |h| cond(&h.state)).await
    }

    /// [`Headless::until`] with a condition on the whole console (its log, its output).
    pub async fn until_with(
        &mut self,
        what: &str,
        within: Duration,
        cond: impl Fn(&Headless) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let end = tokio::time::Instant::now() + within;
        while !cond(self) {
            if tokio::time::Instant::now() >= end {
                panic!("not within {within:?}: {what}\n{}", self.gist());
            }
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
        start.elapsed()
    }

    /// Run the loop until the log holds an entry of `kind` for step `id` (the runner writes
    /// asynchronously: the state may show a transition before its entry is durable).
    pub async fn until_logged(&mut self, id: u64, kind: &str, within: Duration) {
        let end = tokio::time::Instant::now() + within;
        while !self.step_kinds(id).iter().any(|k| k == kind) {
            if tokio::time::Instant::now() >= end {
                panic!("no {kind} entry for step #{id} within {within:?}: {:?}", self.step_kinds(id));
            }
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
    }

    /// Keep the loop running for `d` (sources and results keep flowing).
    pub async fn run_for(&mut self, d: Duration) {
        let end = tokio::time::Instant::now() + d;
        while tokio::time::Instant::now() < end {
            let _ = tokio::time::timeout_at(end, self.step()).await;
        }
    }

    /// Open the actions list, move to the first proposal `pick` accepts and select it (as the
    /// keys would). Returns the new step's id.
    pub fn select_proposal(&mut self, pick: impl Fn(&Operation) -> bool) -> u64 {
        self.apply(Action::Command(Command::Actions));
        let index = match &self.state.view.modal {
            Some(Modal::Actions { items, .. }) => {
                items.iter().position(|p| pick(&p.op)).unwrap_or_else(|| {
                    panic!(
                        "no such proposal; proposed: {:#?}",
                        items.iter().map(|p| (&p.op, &p.why)).collect::<Vec<_>>()
                    )
                })
            }
            other => panic!("the actions list did not open: {other:?}; flash {:?}", self.state.view.flash),
        };
        for _ in 0..index {
            self.apply(Action::Command(Command::ScrollDown));
        }
        let id = self.state.domain.next_step_id;
        self.apply(Action::Command(Command::Select));
        assert!(self.state.domain.step(id).is_some(), "selecting did not create step #{id}");
        id
    }

    /// The proposals the actions list would show now (without opening it).
    pub fn proposals(&self) -> Vec<Operation> {
        warroom::app::propose::proposals(&self.state.domain).into_iter().map(|p| p.op).collect()
    }

    /// Propose `op` directly through the pipeline (the override path). Returns the step id.
    pub fn propose(&mut self, op: Operation, why: &str) -> u64 {
        let mut fx = Vec::new();
        let id = warroom::app::pipeline::propose(&mut self.driver.state, op, why.into(), &mut fx);
        self.driver.carry_out(fx, &mut self.out);
        id
    }

    /// Type `word` into the open high-risk confirmation and press Enter.
    pub fn type_confirm(&mut self, word: &str) {
        assert!(
            matches!(self.state.view.modal, Some(Modal::Confirm { .. })),
            "no confirmation open: {:?}; flash {:?}",
            self.state.view.modal,
            self.state.view.flash
        );
        for c in word.chars() {
            self.apply(Action::Text(TextEdit::Char(c)));
        }
        self.apply(Action::Text(TextEdit::Submit));
    }

    /// Step by id (panics when missing).
    pub fn step_run(&self, id: u64) -> &StepRun {
        self.state.domain.step(id).unwrap_or_else(|| panic!("no step #{id}"))
    }

    /// Status of a step.
    pub fn status(&self, id: u64) -> StepStatus {
        self.step_run(id).status.clone()
    }

    /// Log intents written for step `id`, in order.
    pub fn step_log(&self, id: u64) -> Vec<LogIntent> {
        self.log
            .entries()
            .into_iter()
            .map(|(intent, _)| intent)
            .filter(|i| i.details.get("step").and_then(|s| s.as_u64()) == Some(id))
            .collect()
    }

    /// Kinds of the log entries of step `id`, in order.
    pub fn step_kinds(&self, id: u64) -> Vec<String> {
        self.step_log(id).into_iter().map(|i| i.kind.to_string()).collect()
    }

    /// Whether an `Execute` for step `id` was ever emitted.
    pub fn executed(&self, id: u64) -> bool {
        self.out.effects.iter().any(|e| matches!(e, Effect::Execute { step, .. } if *step == id))
    }

    /// A short description of the state for failure messages.
    pub fn gist(&self) -> String {
        let o = &self.state.domain.observed;
        format!(
            "database: {:?} {:#?}\nsentinel: {:?} {:#?}\nsteps: {:#?}\nflash: {:?}\ntraffic: {:#?}",
            o.database.freshness,
            o.database.value.as_ref().map(|d| d
                .nodes
                .iter()
                .map(|n| (&n.name, n.role, n.read_only, n.timeline, n.replay_lag_bytes, &n.error))
                .collect::<Vec<_>>()),
            o.sentinel.freshness,
            o.sentinel.value.as_ref().map(|s| (s.agreed_master(), s.failover_in_progress, &s.quorum)),
            self.state
                .domain
                .steps
                .iter()
                .map(|s| (s.id, &s.runbook_key, &s.preview.title, &s.status, &s.checks, &s.output))
                .collect::<Vec<_>>(),
            self.state.view.flash,
            o.traffic.value.as_ref().map(|t| t
                .regions
                .iter()
                .map(|r| (&r.name, r.weight, r.health_check, &r.ready))
                .collect::<Vec<_>>()),
        )
    }
}

/// A fresh incident, declared now.
fn incident(id: &str, title: &str, drill: bool) -> IncidentInfo {
    IncidentInfo {
        id: id.into(),
        title: title.into(),
        severity: "SEV2".into(),
        declared_at: Utc::now(),
        drill,
    }
}
