//! The replay's keys, playhead, cursor and frame placement.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;

use super::player::{Overlay, Player, ReplayKey, SPEEDS, replay_key, replay_keys};
use super::*;
use crate::app::Action;
use crate::app::replay::{MilestoneKind, Recorded};
use crate::app::tests::{primary_down_state, t0};
use crate::config::{Keymap, Theme};
use crate::incident::entry::{EntryKind, LogLine};

fn line(seq: u64, kind: EntryKind, summary: &str) -> Action {
    Action::Logged(LogLine { seq, at: t0(), operator: "alice@host".into(), kind, summary: summary.into() })
}

/// Ten minutes of ticks (one a second) with entries at 60 s (declared), 120 s (a note),
/// 300 s (a step confirmed) and 400 s (resolved), and a resize at 200 s.
fn timeline() -> Timeline {
    let mut actions: Vec<Recorded> = (0..=600).map(|s| (t0() + Duration::seconds(s), Action::Tick)).collect();
    let at = |s: i64| t0() + Duration::seconds(s) + Duration::milliseconds(500);
    actions.extend([
        (at(60), line(1, EntryKind::Declared, "declared")),
        (at(120), line(2, EntryKind::Note, "a note")),
        (at(200), Action::Resize(100, 30)),
        (at(300), line(3, EntryKind::StepConfirmed, "step #1 confirmed")),
        (at(400), line(4, EntryKind::Resolved, "resolved")),
    ]);
    actions.sort_by_key(|(t, _)| *t);
    let mut initial = primary_down_state();
    initial.domain.incident.declared_at = t0() - Duration::minutes(5);
    Timeline::new(initial, actions)
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<ReplayKey> {
    replay_key(&KeyEvent::new(code, modifiers))
}

fn secs(p: &Player) -> i64 {
    (p.at - t0()).num_seconds()
}

#[test]
fn the_fixed_key_map() {
    let none = KeyModifiers::NONE;
    assert_eq!(key(KeyCode::Char(' '), none), Some(ReplayKey::PlayPause));
    assert_eq!(key(KeyCode::Char('+'), none), Some(ReplayKey::Faster));
    assert_eq!(key(KeyCode::Char('-'), none), Some(ReplayKey::Slower));
    assert_eq!(key(KeyCode::Left, none), Some(ReplayKey::Seek(-10)));
    assert_eq!(key(KeyCode::Right, none), Some(ReplayKey::Seek(10)));
    assert_eq!(key(KeyCode::Left, KeyModifiers::SHIFT), Some(ReplayKey::Seek(-60)));
    assert_eq!(key(KeyCode::Right, KeyModifiers::SHIFT), Some(ReplayKey::Seek(60)));
    assert_eq!(key(KeyCode::Char('['), none), Some(ReplayKey::PrevEntry));
    assert_eq!(key(KeyCode::Char(']'), none), Some(ReplayKey::NextEntry));
    assert_eq!(key(KeyCode::Char('m'), none), Some(ReplayKey::NextMilestone));
    assert_eq!(key(KeyCode::Char('M'), KeyModifiers::SHIFT), Some(ReplayKey::Milestones));
    assert_eq!(key(KeyCode::Char('g'), none), Some(ReplayKey::Start));
    assert_eq!(key(KeyCode::Char('G'), KeyModifiers::SHIFT), Some(ReplayKey::End));
    assert_eq!(key(KeyCode::Char('q'), none), Some(ReplayKey::Quit));
    assert_eq!(key(KeyCode::Char('c'), KeyModifiers::CONTROL), Some(ReplayKey::Quit));
    assert_eq!(key(KeyCode::Char('?'), none), Some(ReplayKey::Help));
    // Console keys are not replay keys: nothing reaches the console.
    for c in ['a', 'y', 'n', 'b', 'x'] {
        assert_eq!(key(KeyCode::Char(c), none), None, "{c}");
    }
    // Esc and `?` read together arrive as Alt-?: the picker closes, then the help opens.
    let alt = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::ALT);
    assert_eq!(replay_keys(&alt), [ReplayKey::Close, ReplayKey::Help]);
    let alt_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT);
    assert_eq!(replay_keys(&alt_x), [ReplayKey::Close]);
    assert_eq!(replay_keys(&KeyEvent::new(KeyCode::Char('m'), none)), [ReplayKey::NextMilestone]);
    for (k, _) in super::player::HELP {
        assert!(!k.is_empty());
    }
}

#[test]
fn speed_moves_along_the_ladder_and_stops_at_its_ends() {
    let tl = timeline();
    let mut p = Player::new(&tl, None, 1.0);
    let mut seen = vec![p.speed];
    for _ in 0..10 {
        p.key(ReplayKey::Faster, &tl);
        seen.push(p.speed);
    }
    assert_eq!(seen, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 64.0, 64.0, 64.0, 64.0]);
    for _ in 0..12 {
        p.key(ReplayKey::Slower, &tl);
    }
    assert_eq!(p.speed, SPEEDS[0]);
    // A speed off the ladder (`--speed 3`) moves to its neighbours.
    let mut p = Player::new(&tl, None, 3.0);
    p.key(ReplayKey::Faster, &tl);
    assert_eq!(p.speed, 4.0);
    let mut p = Player::new(&tl, None, 3.0);
    p.key(ReplayKey::Slower, &tl);
    assert_eq!(p.speed, 2.0);
}

#[test]
fn the_playhead_moves_at_speed_pauses_and_stops_at_the_end() {
    let tl = timeline();
    let mut p = Player::new(&tl, Some(t0() + Duration::seconds(100)), 4.0);
    p.advance(std::time::Duration::from_secs(2), &tl);
    assert_eq!(secs(&p), 108);
    p.key(ReplayKey::PlayPause, &tl);
    assert!(p.paused);
    p.advance(std::time::Duration::from_secs(30), &tl);
    assert_eq!(secs(&p), 108, "paused: the playhead stays");
    p.key(ReplayKey::PlayPause, &tl);
    p.advance(std::time::Duration::from_secs(3600), &tl);
    assert_eq!(p.at, tl.end());
    assert!(p.paused, "the end pauses");
    p.key(ReplayKey::PlayPause, &tl);
    assert_eq!(p.at, tl.start(), "play at the end starts over");
    assert!(!p.paused);
}

#[test]
fn seeking_is_clamped_to_the_recording() {
    let tl = timeline();
    let mut p = Player::new(&tl, Some(t0() - Duration::hours(1)), 1.0);
    assert_eq!(p.at, tl.start(), "--from before the start");
    p.key(ReplayKey::Seek(-10), &tl);
    assert_eq!(p.at, tl.start());
    p.key(ReplayKey::Seek(60), &tl);
    p.key(ReplayKey::Seek(10), &tl);
    assert_eq!(secs(&p), 70);
    p.key(ReplayKey::Seek(-60), &tl);
    assert_eq!(secs(&p), 10);
    p.key(ReplayKey::End, &tl);
    assert_eq!(p.at, tl.end());
    p.key(ReplayKey::Seek(60), &tl);
    assert_eq!(p.at, tl.end());
    p.key(ReplayKey::Start, &tl);
    assert_eq!(p.at, tl.start());
}

#[test]
fn entries_and_milestones_are_jumped_to() {
    let tl = timeline();
    let at = |s: i64| t0() + Duration::seconds(s) + Duration::milliseconds(500);
    let mut p = Player::new(&tl, Some(t0() + Duration::seconds(90)), 1.0);
    p.key(ReplayKey::NextEntry, &tl);
    assert_eq!(p.at, at(120));
    p.key(ReplayKey::NextEntry, &tl);
    assert_eq!(p.at, at(300));
    p.key(ReplayKey::PrevEntry, &tl);
    assert_eq!(p.at, at(120));
    p.key(ReplayKey::PrevEntry, &tl);
    assert_eq!(p.at, at(60));
    p.key(ReplayKey::PrevEntry, &tl);
    assert_eq!(p.at, at(60), "nothing earlier: stays");
    assert_eq!(p.message.as_deref(), Some("no earlier log entry"));
    p.key(ReplayKey::NextMilestone, &tl);
    assert_eq!(p.message, None, "a key clears the message");
    assert_eq!(p.at, at(300), "the note is not a milestone; the confirmed step is");
    p.key(ReplayKey::NextMilestone, &tl);
    assert_eq!(p.at, at(400));
    p.key(ReplayKey::NextMilestone, &tl);
    assert_eq!(p.message.as_deref(), Some("no later milestone"));
    let kinds: Vec<_> = tl.milestones().iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MilestoneKind::Declared, MilestoneKind::StepConfirmed, MilestoneKind::Resolved]);
}

#[test]
fn the_milestone_picker_and_help_take_the_keys_while_open() {
    let tl = timeline();
    let mut p = Player::new(&tl, Some(t0() + Duration::seconds(100)), 1.0);
    p.key(ReplayKey::Milestones, &tl);
    assert_eq!(p.overlay, Some(Overlay::Milestones { selected: 1 }), "the next one is highlighted");
    p.key(ReplayKey::Seek(60), &tl);
    assert_eq!(secs(&p), 100, "no seeking under the picker");
    p.key(ReplayKey::Down, &tl);
    p.key(ReplayKey::Down, &tl);
    assert_eq!(p.overlay, Some(Overlay::Milestones { selected: 2 }), "clamped to the last");
    p.key(ReplayKey::Up, &tl);
    p.key(ReplayKey::Up, &tl);
    p.key(ReplayKey::Choose, &tl);
    assert_eq!(p.overlay, None);
    assert_eq!(p.at, tl.milestones()[0].at);

    p.key(ReplayKey::Help, &tl);
    assert_eq!(p.overlay, Some(Overlay::Help));
    p.key(ReplayKey::End, &tl);
    assert_eq!(p.at, tl.milestones()[0].at, "help open: keys other than close do nothing");
    p.key(ReplayKey::Close, &tl);
    assert_eq!(p.overlay, None);
    p.key(ReplayKey::Help, &tl);
    p.key(ReplayKey::Quit, &tl);
    assert!(p.quit, "q quits from anywhere");
}

#[test]
fn the_cursor_gives_the_timelines_state_forward_and_back() {
    let tl = timeline();
    let mut c = Cursor::new(&tl);
    for n in [0, 5, 6, 300, 301, 250, 605, 10_000, 2, 2, 599] {
        let want = format!("{:?}", tl.state_after(n));
        assert_eq!(format!("{:?}", c.state(&tl, n)), want, "after {n}");
    }
}

fn ui() -> UiContext {
    UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() }
}

fn row(b: &Buffer, y: u16) -> String {
    (0..b.area.width).map(|x| b[(x, y)].symbol()).collect()
}

/// Draw the replay screen of `tl` at the playhead into a terminal of `term` size.
fn replay_screen(tl: &Timeline, p: &Player, recorded: (u16, u16), term: (u16, u16)) -> (Buffer, Buffer) {
    let mut state = tl.state_at(p.at);
    let badge = p.badge(state.domain.incident.declared_at, screen::fit_note(recorded, term));
    let text = badge.text();
    state.view.replay = Some(badge);
    let frame = screen::recorded_frame(&state, recorded, &ui());
    let mut t = Terminal::new(ratatui::backend::TestBackend::new(term.0, term.1)).expect("terminal");
    t.draw(|f| screen::draw(f, &frame, &text, p, tl, &ui())).expect("draw");
    (frame, t.backend().buffer().clone())
}

#[test]
fn the_frame_is_the_consoles_at_the_recorded_size_with_the_badge() {
    let tl = timeline();
    let p = Player::new(&tl, Some(t0() + Duration::seconds(100)), 4.0);
    let (frame, screen) = replay_screen(&tl, &p, (160, 48), (160, 48));
    assert_eq!(frame, screen, "same size: exactly the console's frame");
    let header = row(&screen, 0);
    assert!(header.contains("REPLAY 03:01:40Z T+06:40 4x"), "{header}");

    // Without the badge, the same state draws the same frame but for the header.
    let plain = screen::recorded_frame(&tl.state_at(p.at), (160, 48), &ui());
    assert!(!row(&plain, 0).contains("REPLAY"));
    assert_eq!(
        (1..48).map(|y| row(&plain, y)).collect::<Vec<_>>(),
        (1..48).map(|y| row(&frame, y)).collect::<Vec<_>>()
    );
}

#[test]
fn a_larger_terminal_pads_and_a_smaller_one_clips_and_says_so() {
    let tl = timeline();
    let p = Player::new(&tl, Some(t0() + Duration::seconds(100)), 1.0);
    let (frame, screen) = replay_screen(&tl, &p, (100, 30), (120, 40));
    for y in 0..30 {
        for x in 0..100 {
            assert_eq!(screen[(x, y)], frame[(x, y)], "({x},{y})");
        }
        assert_eq!(
            row(&screen, y).chars().skip(100).collect::<String>().trim(),
            "",
            "padding right of row {y}"
        );
    }
    assert!((30..40).all(|y| row(&screen, y).trim().is_empty()), "padding below");
    assert!(row(&screen, 0).contains("recorded 100x30, terminal 120x40: padded"), "{}", row(&screen, 0));

    let (frame, screen) = replay_screen(&tl, &p, (160, 48), (100, 30));
    for y in 0..29 {
        assert_eq!(row(&screen, y), row(&frame, y).chars().take(100).collect::<String>(), "row {y}");
    }
    let last = row(&screen, 29);
    assert!(last.contains("REPLAY") && last.contains("recorded 160x48, terminal 100x30: clipped"), "{last}");
}

#[test]
fn fit_notes() {
    assert_eq!(screen::fit_note((80, 24), (80, 24)), None);
    assert_eq!(
        screen::fit_note((80, 24), (70, 30)).as_deref(),
        Some("recorded 80x24, terminal 70x30: clipped and padded")
    );
}

#[test]
fn the_recorded_size_follows_the_recorded_resizes() {
    let tl = timeline();
    assert_eq!(tl.size_at(t0() + Duration::seconds(150)), None);
    assert_eq!(tl.size_at(t0() + Duration::seconds(250)), Some((100, 30)));
}
