//! Ghost mode on a recorded primary-db-down drill: a headless drill console (the real driver,
//! drill estate, runner and pipeline) runs db-failover from the picker while its tap journals
//! every `(now, action)` (what the flight recorder records). The journal is replayed as a
//! trainee: the decision points are the moments before each confirmed step, and the trainee's
//! synthetic key events go through `tui::keys` and the pure ghost core on a fork.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::headless::Headless;
use warroom::app::ghost::{Ghost, GhostCard, Match, Turn, decision_points};
use warroom::app::replay::{Recorded, Timeline};
use warroom::app::state::Modal;
use warroom::app::{Action, State, StepStatus};
use warroom::backends::model::PgRole;
use warroom::cli::replay::ghost::write_card;
use warroom::command::Command;
use warroom::config::Keymap;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::IncidentLog;
use warroom::incident::recorder::{consoles, recordings_dir};
use warroom::operation::{Operation, Risk};
use warroom::tui::keys::{ChordBuffer, key_to_action};

/// The drill recorded: its console's initial state and journal.
async fn record_db_failover() -> (State, Vec<Recorded>) {
    let (h, _estate) = Headless::drill("primary-db-down", 4.0).await;
    let initial = h.state.clone();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let tap = journal.clone();
    let mut h =
        h.with_tap(Box::new(move |now, action| tap.lock().expect("journal").push((now, action.clone()))));
    h.until("the primary is down", Duration::from_secs(60), |s| {
        s.domain
            .observed
            .database
            .value
            .as_ref()
            .is_some_and(|d| d.nodes.iter().any(|n| n.role == PgRole::Down))
    })
    .await;
    run_db_failover(&mut h).await;
    h.until("mitigated", Duration::from_secs(60), |s| s.domain.recovery.result.is_some()).await;
    let recorded = journal.lock().expect("journal").clone();
    (initial, recorded)
}

/// Drive db-failover to its end as an operator would, from the picker.
async fn run_db_failover(h: &mut Headless) {
    h.apply(Action::Command(Command::Runbooks));
    for _ in 0..20 {
        match &h.state.view.modal {
            Some(Modal::Runbooks { selected }) if selected == "db-failover" => break,
            Some(Modal::Runbooks { .. }) => h.apply(Action::Command(Command::ScrollDown)),
            other => panic!("the runbook picker is not open: {other:?}"),
        }
    }
    h.apply(Action::Command(Command::Select));
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
                h.apply(Action::Command(Command::ConfirmYes));
                h.type_confirm("done");
            } else if s.risk() == Risk::High {
                h.type_confirm(&op.confirm_word());
            } else {
                h.apply(Action::Command(Command::ConfirmYes));
            }
            continue;
        }
        let current = run.steps.iter().map(|(sid, _, _)| *sid).find(|sid| !h.status(*sid).is_terminal());
        match current.map(|sid| h.status(sid)) {
            Some(StepStatus::Executing | StepStatus::Verifying) | None => {
                let _ = tokio::time::timeout(Duration::from_secs(5), h.step()).await;
            }
            Some(StepStatus::Failed { .. }) => panic!("a step failed\n{}", h.gist()),
            Some(_) => h.apply(Action::Command(Command::RunbookNext)),
        }
    }
}

fn is_promote(op: &Operation, node: &str) -> bool {
    matches!(op, Operation::PromotePostgres { node: n, .. } if n == node)
}

fn ch(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A trainee at the keyboard: key events mapped by the console's keymap on the fork, then
/// applied through the ghost core.
struct Trainee {
    keymap: Keymap,
    chord: ChordBuffer,
}

impl Trainee {
    fn press(&mut self, ghost: &mut Ghost, ev: KeyEvent) -> Turn {
        let fork = ghost.fork().expect("a choice is open");
        match key_to_action(&ev, fork, &self.keymap, &mut self.chord) {
            Some(action) => ghost.apply(action),
            None => Turn::Choosing,
        }
    }

    fn type_word(&mut self, ghost: &mut Ghost, word: &str) -> Turn {
        for c in word.chars() {
            assert_eq!(self.press(ghost, ch(c)), Turn::Choosing, "typing {word}");
        }
        self.press(ghost, code(KeyCode::Enter))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_points_stop_before_each_confirmed_step() {
    let (initial, recorded) = record_db_failover().await;
    let timeline = Timeline::new(initial, recorded);
    let points = decision_points(&timeline, &["db-failover".to_string()]);
    assert!(points.len() >= 4, "check, promote, repoint, verify at least: {points:#?}");
    let mut previous = None;
    for p in &points {
        assert!(p.applied <= p.confirmed_by, "{p:?}");
        assert!(
            previous.is_none_or(|c| p.applied > c),
            "a stop comes after the previous confirmation: {p:?}"
        );
        previous = Some(p.confirmed_by);
        let at = timeline.state_after(p.applied);
        assert!(at.view.modal.is_none(), "no dialog is open at the stop: {p:?}");
        // Just before: the step is not confirmed yet; the action at `confirmed_by` confirms it.
        let before = timeline.state_after(p.confirmed_by);
        assert!(matches!(before.view.modal, Some(Modal::Confirm { step, .. }) if step == p.step), "{p:?}");
        let after = timeline.state_after(p.confirmed_by + 1);
        let status = &after.domain.step(p.step).expect("the step").status;
        assert!(!matches!(status, StepStatus::Proposed | StepStatus::AwaitingConfirm), "{status:?}");
    }
    // Before the runbook started: its first step (the primary is down) is what the plan expects.
    assert!(timeline.state_after(points[0].applied).domain.runbook.is_none());
    assert!(matches!(points[0].original, Operation::Assert { .. }), "{:?}", points[0].original);
    assert_eq!(points[0].expected.as_ref().map(|o| o.kind()), Some(points[0].original.kind()));
    let promote = points.iter().find(|p| is_promote(&p.original, "postgresql-1")).expect("the promotion");
    assert_eq!(promote.title, "Promote postgresql-1 to primary");
    assert!(promote.expected.as_ref().is_some_and(|e| is_promote(e, "postgresql-1")), "{promote:?}");
    // A step skipped by its gate is not what the plan expects: every later stop expects what was done.
    for p in &points {
        assert_eq!(p.expected.as_ref(), Some(&p.original), "{p:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainee_is_scored_against_the_recorded_failover() {
    let (initial, recorded) = record_db_failover().await;
    let timeline = Timeline::new(initial, recorded);
    let runbooks = ["db-failover".to_string()];
    let mut t = Trainee { keymap: Keymap::fallback(), chord: ChordBuffer::default() };

    // Run 1: the right choices. Decision 1: the picker (b), db-failover, Enter, y.
    let mut ghost = Ghost::new(&timeline, &runbooks);
    let n = ghost.points().len();
    let fork = ghost.stop(&timeline).expect("a first stop");
    assert!(fork.domain.runbook.is_none());
    t.press(&mut ghost, ch('b'));
    for _ in 0..20 {
        match &ghost.fork().expect("fork").view.modal {
            Some(Modal::Runbooks { selected }) if selected == "db-failover" => break,
            Some(Modal::Runbooks { .. }) => {
                assert_eq!(t.press(&mut ghost, code(KeyCode::Down)), Turn::Choosing)
            }
            other => panic!("the picker is not open on the fork: {other:?}"),
        }
    }
    assert_eq!(t.press(&mut ghost, code(KeyCode::Enter)), Turn::Choosing);
    let Turn::Decided(first) = t.press(&mut ghost, ch('y')) else { panic!("y confirms the first step") };
    assert_eq!(first.vs_original, Match::Same, "{first:?}");
    assert_eq!(first.points, 10);
    // Decision 2: the promotion, through the runbook (N) and the typed name.
    ghost.stop(&timeline).expect("the second stop");
    assert_eq!(ghost.next_point().map(|p| is_promote(&p.original, "postgresql-1")), Some(true));
    assert_eq!(t.press(&mut ghost, ch('N')), Turn::Choosing);
    let Turn::Decided(right) = t.type_word(&mut ghost, "postgresql-1") else {
        panic!("the promotion confirms")
    };
    assert_eq!(right.vs_original, Match::Same, "{right:?}");
    assert_eq!(right.vs_runbook, Some(Match::Same), "{right:?}");
    assert_eq!(right.chosen.as_deref(), Some("promote postgresql-1"));
    assert_eq!(right.original_title, "Promote postgresql-1 to primary");
    // The rest passed.
    while ghost.stop(&timeline).is_some() {
        assert_eq!(ghost.pass().map(|d| d.vs_original), Some(Match::Skipped));
    }
    let card = ghost.card("INC-DRILLTEST", "drill", "alice@lab", "tester@lab");
    assert_eq!((card.total, card.max, card.matched()), (20, 10 * n as u32, 2));

    // Run 2: a wrong choice at the promotion. The actions menu offers only the replica with the
    // least lag (postgresql-2 cannot be promoted with the console's keys here); the trainee
    // scales the secondary region's api instead of failing the database over.
    let is_scale_api =
        |op: &Operation| matches!(op, Operation::ScaleDeployment { deployment, .. } if deployment == "api");
    let mut ghost = Ghost::new(&timeline, &runbooks);
    ghost.stop(&timeline);
    assert!(ghost.pass().is_some());
    ghost.stop(&timeline).expect("the promotion's stop");
    assert_eq!(t.press(&mut ghost, ch('a')), Turn::Choosing);
    for _ in 0..20 {
        match &ghost.fork().expect("fork").view.modal {
            Some(Modal::Actions { items, selected }) => {
                assert!(!items.iter().any(|p| is_promote(&p.op, "postgresql-2")), "{items:#?}");
                if is_scale_api(&items[*selected].op) {
                    break;
                }
                assert_eq!(t.press(&mut ghost, code(KeyCode::Down)), Turn::Choosing);
            }
            other => panic!("the actions menu is not open on the fork: {other:?}"),
        }
    }
    assert_eq!(t.press(&mut ghost, code(KeyCode::Enter)), Turn::Choosing);
    let fork = ghost.fork().expect("fork");
    assert!(
        matches!(fork.view.modal, Some(Modal::Confirm { .. })),
        "{:?} {:?}",
        fork.view.modal,
        fork.view.flash
    );
    let Turn::Decided(wrong) = t.press(&mut ghost, ch('y')) else { panic!("y confirms the scale") };
    assert_eq!(wrong.vs_original, Match::DifferentOp, "{wrong:?}");
    assert_eq!(wrong.vs_runbook, Some(Match::DifferentOp), "{wrong:?}");
    assert_eq!(wrong.points, 0);
    assert_eq!(wrong.original, "promote postgresql-1");
    assert_eq!(wrong.chosen.as_deref(), Some("scale default/api=10"));
    let card = ghost.card("INC-DRILLTEST", "drill", "alice@lab", "tester@lab");
    assert_eq!((card.total, card.matched()), (0, 0), "{card:#?}");
    assert_eq!(card.decisions.len(), 2);
    card_is_written_beside_the_log_untouched(card);
}

/// The card goes next to the recording; the incident log stays byte-identical.
fn card_is_written_beside_the_log_untouched(card: GhostCard) {
    let data = tempfile::tempdir().expect("tempdir");
    let now = chrono::Utc::now();
    let (log, meta) =
        IncidentLog::declare(data.path(), "primary down", "SEV2", true, "tester@lab", now).expect("declare");
    log.append(&EntryKind::Note, "the operator's note", serde_json::json!({})).expect("append");
    let before = std::fs::read(&meta.path).expect("log bytes");
    let card = GhostCard { incident: meta.id.clone(), ..card };
    let path = write_card(data.path(), &card, now).expect("written");
    let again = write_card(data.path(), &card, now).expect("a second card");
    assert_ne!(path, again, "a second card never replaces the first");
    assert_eq!(std::fs::read(&meta.path).expect("log bytes"), before, "the incident log is byte-identical");
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with("ghost-alice@lab-") && name.ends_with(".json"), "{name}");
    assert_eq!(path.parent(), recordings_dir(data.path(), &meta.id).as_deref());
    let back: GhostCard = serde_json::from_slice(&std::fs::read(&path).expect("card")).expect("json");
    assert_eq!(back, card);
    assert!(consoles(data.path(), &meta.id).is_empty(), "a card is not a console recording");
    let (_, _, entries) = IncidentLog::open(data.path(), &meta.id, "tester@lab").expect("open");
    assert_eq!(entries.len(), 2, "declared and the note: nothing from the training replay");
}
