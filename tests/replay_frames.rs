//! Replay reproduces what a console drew, cell for cell. A drill console is driven headlessly
//! (the real driver, drill estate, runner and pipeline) through a fault, the verdict dialog,
//! help, the runbook picker and a whole db-failover; every `(now, action)` the driver applies
//! is journalled through its tap (what the flight recorder records), and the screen is drawn
//! at 160x48 after every batch, as the console's loop does. Then the journal is replayed by
//! `Timeline` from the console's initial state, and the state at each frame's moment, drawn
//! at the same size, must equal the captured frame in every cell.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use support::headless::Headless;
use warroom::app::replay::{Recorded, Timeline};
use warroom::app::state::Modal;
use warroom::app::{Action, State, TextEdit};
use warroom::backends::model::PgRole;
use warroom::command::Command;
use warroom::config::{Keymap, Theme};
use warroom::operation::{Operation, Risk};
use warroom::ui::{self, UiContext};

const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

/// What the console drew after a batch: the frame and the moment (the last action applied).
struct Frame {
    applied: usize,
    at: DateTime<Utc>,
    buffer: Buffer,
}

struct Capture {
    term: Terminal<TestBackend>,
    ui: UiContext,
    journal: Arc<Mutex<Vec<Recorded>>>,
    frames: Vec<Frame>,
}

impl Capture {
    fn draw(term: &mut Terminal<TestBackend>, state: &State, ui: &UiContext) -> Buffer {
        term.draw(|f| ui::draw(f, state, ui)).expect("draw into a test backend");
        term.backend().buffer().clone()
    }

    /// Draw the console's state now, as its loop would after the batch just applied.
    fn frame(&mut self, h: &Headless) {
        let (applied, at) = {
            let journal = self.journal.lock().expect("journal");
            (journal.len(), journal.last().map(|(t, _)| *t))
        };
        let Some(at) = at else { return };
        let buffer = Capture::draw(&mut self.term, &h.state, &self.ui);
        self.frames.push(Frame { applied, at, buffer });
    }
}

/// One batch (a source, a runner result, the tick), then its frame.
async fn step(h: &mut Headless, c: &mut Capture) {
    let _ = tokio::time::timeout(Duration::from_secs(5), h.step()).await;
    c.frame(h);
}

/// One key, then its frame.
fn key(h: &mut Headless, c: &mut Capture, action: Action) {
    h.apply(action);
    c.frame(h);
}

async fn until(h: &mut Headless, c: &mut Capture, what: &str, cond: impl Fn(&State) -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    while !cond(&h.state) {
        assert!(tokio::time::Instant::now() < end, "not within 60 s: {what}\n{}", h.gist());
        step(h, c).await;
    }
}

/// Drive db-failover to its end as an operator would, from the picker.
async fn run_db_failover(h: &mut Headless, c: &mut Capture) {
    key(h, c, Action::Command(Command::Runbooks));
    for _ in 0..20 {
        match &h.state.view.modal {
            Some(Modal::Runbooks { selected }) if selected == "db-failover" => break,
            Some(Modal::Runbooks { .. }) => key(h, c, Action::Command(Command::ScrollDown)),
            other => panic!("the runbook picker is not open: {other:?}"),
        }
    }
    key(h, c, Action::Command(Command::Select));
    let end = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        assert!(tokio::time::Instant::now() < end, "db-failover not finished\n{}", h.gist());
        let run = h.state.domain.runbook.clone().expect("a runbook runs");
        if run.finished.is_some() {
            return;
        }
        if let Some(Modal::Confirm { step, .. }) = h.state.view.modal.clone() {
            let s = h.step_run(step).clone();
            let op = s.op.clone().expect("a step whose confirmation is open is built");
            if matches!(op, Operation::Manual { .. }) {
                key(h, c, Action::Command(Command::ConfirmYes));
                for ch in "done".chars() {
                    key(h, c, Action::Text(TextEdit::Char(ch)));
                }
                key(h, c, Action::Text(TextEdit::Submit));
            } else if s.risk() == Risk::High {
                for ch in op.confirm_word().chars() {
                    key(h, c, Action::Text(TextEdit::Char(ch)));
                }
                key(h, c, Action::Text(TextEdit::Submit));
            } else {
                key(h, c, Action::Command(Command::ConfirmYes));
            }
            continue;
        }
        let current = run.steps.iter().map(|(sid, _, _)| *sid).find(|sid| !h.status(*sid).is_terminal());
        match current.map(|sid| h.status(sid)) {
            Some(warroom::app::StepStatus::Executing | warroom::app::StepStatus::Verifying) | None => {
                step(h, c).await
            }
            Some(warroom::app::StepStatus::Failed { .. }) => panic!("a step failed\n{}", h.gist()),
            Some(_) => key(h, c, Action::Command(Command::RunbookNext)),
        }
    }
}

/// The first differing cell, with both rows, for the failure message.
fn first_difference(got: &Buffer, want: &Buffer) -> Option<String> {
    let area = want.area;
    for y in 0..area.height {
        for x in 0..area.width {
            if got[(x, y)] != want[(x, y)] {
                let row = |b: &Buffer| (0..area.width).map(|x| b[(x, y)].symbol()).collect::<String>();
                return Some(format!(
                    "cell ({x},{y}): replayed {:?}, drawn {:?}\nreplayed row: {}\ndrawn row:    {}",
                    got[(x, y)],
                    want[(x, y)],
                    row(got),
                    row(want)
                ));
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_drill_draws_every_frame_the_console_drew_cell_for_cell() {
    let (h, _estate) = Headless::drill("primary-db-down", 4.0).await;
    let initial = h.state.clone();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let tap = journal.clone();
    let mut h =
        h.with_tap(Box::new(move |now, action| tap.lock().expect("journal").push((now, action.clone()))));
    let ui = UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() };
    let term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut c = Capture { term, ui: ui.clone(), journal: journal.clone(), frames: Vec::new() };

    // The console as the operator sees it: the fault strikes, the verdict is looked at, help
    // opened and closed, a pane zoomed, then the failover run from the picker.
    until(&mut h, &mut c, "the primary is down", |s| {
        s.domain
            .observed
            .database
            .value
            .as_ref()
            .is_some_and(|d| d.nodes.iter().any(|n| n.role == PgRole::Down))
    })
    .await;
    for a in [Command::Verdict, Command::Close, Command::Help, Command::ScrollDown, Command::Close] {
        key(&mut h, &mut c, Action::Command(a));
    }
    key(&mut h, &mut c, Action::Command(Command::FocusPods));
    key(&mut h, &mut c, Action::Command(Command::Zoom));
    step(&mut h, &mut c).await;
    key(&mut h, &mut c, Action::Command(Command::Zoom));
    run_db_failover(&mut h, &mut c).await;
    until(&mut h, &mut c, "mitigated", |s| s.domain.recovery.result.is_some()).await;
    for _ in 0..5 {
        step(&mut h, &mut c).await;
    }

    let recorded = journal.lock().expect("journal").clone();
    let timeline = Timeline::new(initial, recorded);
    assert_eq!(timeline.len(), c.frames.last().expect("frames").applied);
    let mut term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut distinct = 0;
    for (i, frame) in c.frames.iter().enumerate() {
        assert_eq!(timeline.applied_at(frame.at), frame.applied, "frame {i}: its moment is its batch's end");
        let replayed = Capture::draw(&mut term, &timeline.state_at(frame.at), &ui);
        if let Some(diff) = first_difference(&replayed, &frame.buffer) {
            panic!(
                "frame {i} of {} (after {} actions) differs at {}: {diff}",
                c.frames.len(),
                frame.applied,
                frame.at
            );
        }
        distinct += usize::from(i == 0 || c.frames[i - 1].buffer != frame.buffer);
    }
    // The comparison is not vacuous: the screen changed many times (fault, dialogs, steps),
    // and a frame compared with the state of another moment differs.
    assert!(distinct >= 20, "only {distinct} distinct frames of {}", c.frames.len());
    let kinds: Vec<_> = timeline.milestones().iter().map(|m| m.kind).collect();
    use warroom::app::replay::MilestoneKind::*;
    for k in [Failing, StepConfirmed, StepVerified, Mitigated] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    let first = &c.frames[0];
    let last = c.frames.last().expect("frames");
    let early = Capture::draw(&mut term, &timeline.state_at(first.at), &ui);
    assert!(first_difference(&early, &last.buffer).is_some(), "the first and last frames differ");
}
