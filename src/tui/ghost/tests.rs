//! The ghost console's phases and what its box says, over a small recording: the primary is
//! down and the operator promotes pg-1 from the actions menu with the typed name.

use chrono::Duration;
use ratatui::backend::TestBackend;

use super::*;
use crate::app::ghost::Match;
use crate::app::replay::Recorded;
use crate::app::tests::{primary_down_state, t0};
use crate::app::{Action, Modal, TextEdit};
use crate::command::Command;
use crate::config::{Keymap, Theme};
use crate::operation::Operation;

fn promote_pg(op: &Operation, node: &str) -> bool {
    matches!(op, Operation::PromotePostgres { node: n, .. } if n == node)
}

/// Ten seconds of ticks, then at 10 s the operator opens the actions, selects promote pg-1
/// and types its name.
fn timeline() -> Timeline {
    let initial = primary_down_state();
    let mut state = initial.clone();
    let mut actions: Vec<Recorded> = Vec::new();
    let mut apply = |state: &mut State, s: i64, a: Action| {
        let now = t0() + Duration::seconds(s);
        let _ = crate::app::update(state, a.clone(), now);
        actions.push((now, a));
    };
    for s in 0..10 {
        apply(&mut state, s, Action::Tick);
    }
    apply(&mut state, 10, Action::Command(Command::Actions));
    let Some(Modal::Actions { items, .. }) = &state.view.modal else { panic!("no actions list") };
    let at = items.iter().position(|p| promote_pg(&p.op, "pg-1")).expect("promote pg-1 proposed");
    for _ in 0..at {
        apply(&mut state, 10, Action::Command(Command::ScrollDown));
    }
    apply(&mut state, 10, Action::Command(Command::Select));
    for c in "pg-1".chars() {
        apply(&mut state, 11, Action::Text(TextEdit::Char(c)));
    }
    apply(&mut state, 11, Action::Text(TextEdit::Submit));
    for s in 12..20 {
        apply(&mut state, s, Action::Tick);
    }
    Timeline::new(initial, actions)
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn go(flow: Flow) -> Phase {
    match flow {
        Flow::Go(p) => p,
        Flow::Stay => panic!("stayed"),
        Flow::End => panic!("ended"),
    }
}

#[test]
fn the_replay_stops_before_the_actions_menu_and_continues_after_the_choice() {
    let tl = timeline();
    let keymap = Keymap::fallback();
    let mut keys = Keys { keymap: &keymap, chord: ChordBuffer::default() };
    let mut ghost = Ghost::new(&tl, &[]);
    assert_eq!(ghost.points().len(), 1);
    assert_eq!(ghost.points()[0].applied, 10, "the stop is just before `a` opened the actions menu");
    let playing = Phase::Playing { from: 0, since: Instant::now() };
    assert!(matches!(on_key(&playing, key(KeyCode::Char('x')), &mut ghost, &tl, &mut keys), Flow::Stay));
    let choosing = go(on_key(&playing, key(KeyCode::Enter), &mut ghost, &tl, &mut keys));
    assert!(matches!(choosing, Phase::Choosing));
    assert!(ghost.fork().is_some_and(|f| f.view.modal.is_none()));
    // The trainee's keys, through the keymap: `a`, down to promote pg-1, Enter, the typed name.
    assert!(matches!(on_key(&choosing, key(KeyCode::Char('a')), &mut ghost, &tl, &mut keys), Flow::Stay));
    let Some(Modal::Actions { items, .. }) = ghost.fork().and_then(|f| f.view.modal.clone()) else {
        panic!("the actions menu opened on the fork")
    };
    let at = items.iter().position(|p| promote_pg(&p.op, "pg-1")).expect("promote pg-1 proposed");
    for _ in 0..at {
        assert!(matches!(on_key(&choosing, key(KeyCode::Down), &mut ghost, &tl, &mut keys), Flow::Stay));
    }
    assert!(matches!(on_key(&choosing, key(KeyCode::Enter), &mut ghost, &tl, &mut keys), Flow::Stay));
    for c in "pg-1".chars() {
        assert!(matches!(on_key(&choosing, key(KeyCode::Char(c)), &mut ghost, &tl, &mut keys), Flow::Stay));
    }
    let decided = go(on_key(&choosing, key(KeyCode::Enter), &mut ghost, &tl, &mut keys));
    let Phase::Decided(line) = &decided else { panic!("decided") };
    assert_eq!(line.vs_original, Match::Same);
    let text = banner::decided(line, &ghost.points()[0]).join("\n");
    assert!(text.contains("You: promote pg-1.  The operator: promote pg-1 (\"Promote pg-1"), "{text}");
    assert!(text.contains("SAME  +10 points") && text.contains("no runbook plan applied here"), "{text}");
    let Phase::Playing { from, .. } = go(on_key(&decided, key(KeyCode::Enter), &mut ghost, &tl, &mut keys))
    else {
        panic!("playing again")
    };
    assert_eq!(
        from,
        ghost.points()[0].confirmed_by + 1,
        "the replay goes on after the original's confirmation"
    );
    assert_eq!(stop_at(&ghost, &tl), tl.len(), "no decision left: the replay plays to its end");
    let end = Phase::Playing { from, since: Instant::now() };
    assert!(matches!(on_key(&end, key(KeyCode::Char('q')), &mut ghost, &tl, &mut keys), Flow::End));
}

#[test]
fn f9_passes_and_the_pass_scores_nothing() {
    let tl = timeline();
    let keymap = Keymap::fallback();
    let mut keys = Keys { keymap: &keymap, chord: ChordBuffer::default() };
    let mut ghost = Ghost::new(&tl, &[]);
    ghost.stop(&tl).expect("a stop");
    let Phase::Decided(line) = go(on_key(&Phase::Choosing, key(KeyCode::F(9)), &mut ghost, &tl, &mut keys))
    else {
        panic!("decided")
    };
    assert_eq!((line.vs_original, line.points, line.chosen), (Match::Skipped, 0, None));
}

#[test]
fn the_question_is_drawn_over_the_fork() {
    // A console that reviewed access with the API server.
    let plain = timeline();
    let mut initial = plain.state_after(0);
    initial.domain.access_reviews = true;
    let tl = Timeline::new(initial, plain.actions().to_vec());
    let mut ghost = Ghost::new(&tl, &[]);
    assert!(tl.state_after(ghost.points()[0].applied).domain.access_reviews);
    let fork = ghost.stop(&tl).expect("a stop").clone();
    assert!(!fork.domain.access_reviews, "a fork never waits for an API server's answers");
    let ctx = UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() };
    let mut term = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
    term.draw(|f| {
        crate::ui::draw(f, &fork, &ctx);
        draw_box(f, &banner::choosing(1, 1));
    })
    .expect("draw");
    let buf = term.backend().buffer();
    let rows: Vec<String> =
        (0..40).map(|y| (0..160).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect();
    assert!(rows[37].contains("decision 1 of 1: What would you do next?"), "{}", rows[37]);
    assert!(rows[39].contains('─') && rows[36].contains("ghost"), "{}\n{}", rows[36], rows[39]);
}
