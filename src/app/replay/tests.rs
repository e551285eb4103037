//! The timeline against the plain truth: applying every recorded action from scratch.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::app::Effect;
use crate::app::tests::{primary_down_state, t0};
use crate::app::{Modal, TextEdit};
use crate::backends::model::PgRole;
use crate::command::Command;
use crate::incident::entry::{Entry, EntryKind, LogLine};

/// A console in miniature: applies inputs at their time, records `(now, action)` as the driver
/// would, and answers its effects as the runner would (a log entry comes back as `Logged`, an
/// execution as `StepExecuted` a second later).
struct Console {
    state: State,
    recorded: Vec<Recorded>,
    seq: u64,
    later: VecDeque<(DateTime<Utc>, Action)>,
}

impl Console {
    fn new(state: State) -> Console {
        Console { state, recorded: Vec::new(), seq: 0, later: VecDeque::new() }
    }

    fn apply(&mut self, now: DateTime<Utc>, action: Action) {
        // What the runner answered before `now` arrives first.
        while self.later.front().is_some_and(|(t, _)| *t <= now) {
            let (t, a) = self.later.pop_front().expect("checked");
            self.apply_one(t, a);
        }
        self.apply_one(now, action);
    }

    fn apply_one(&mut self, now: DateTime<Utc>, action: Action) {
        assert!(self.recorded.last().is_none_or(|(t, _)| *t <= now), "a console's clock is monotonic");
        self.recorded.push((now, action.clone()));
        for fx in update(&mut self.state, action, now) {
            match fx {
                Effect::Log(intent) => {
                    self.seq += 1;
                    let line = LogLine {
                        seq: self.seq,
                        at: now,
                        operator: "alice@host".into(),
                        kind: intent.kind,
                        summary: intent.summary,
                    };
                    self.later.push_back((now + Duration::milliseconds(5), Action::Logged(line)));
                }
                Effect::Execute { step, .. } => {
                    let done = Action::StepExecuted { step, result: Ok("promoted".into()) };
                    self.later.push_back((now + Duration::seconds(1), done));
                }
                _ => {}
            }
        }
    }
}

fn db(p0: PgRole, p1: PgRole) -> Action {
    use crate::app::tests::node;
    crate::app::tests::db(vec![
        node("pg-0", p0, 0, 1),
        node("pg-1", p1, 10, 1),
        node("pg-2", PgRole::Replica, 10, 1),
    ])
}

/// Ten minutes of a console: ticks every 250 ms, a database snapshot every second; the primary
/// dies at 20 s, the operator promotes pg-1 at 40 s (picker, typed confirmation), pg-1 shows as
/// primary from 45 s; another console's note arrives at 60 s (and again: the follower repeats
/// own entries), a resize at 90 s, a resolution at 500 s.
fn recording() -> (State, Vec<Recorded>) {
    let start = t0();
    let healthy = db(PgRole::Primary, PgRole::Replica);
    let mut initial = primary_down_state();
    let _ = update(&mut initial, healthy.clone(), start);
    let mut c = Console::new(initial.clone());
    for ms in (0..600_000).step_by(250) {
        let now = start + Duration::milliseconds(ms);
        c.apply(now, Action::Tick);
        if ms % 1000 == 0 {
            let snap = match ms {
                ..20_000 => healthy.clone(),
                20_000..45_000 => db(PgRole::Down, PgRole::Replica),
                _ => db(PgRole::Down, PgRole::Primary),
            };
            c.apply(now + Duration::milliseconds(1), snap);
        }
        let now = now + Duration::milliseconds(2);
        match ms {
            40_000 => {
                c.apply(now, Action::Command(Command::Actions));
                let Some(Modal::Actions { items, .. }) = &c.state.view.modal else {
                    panic!("no actions list")
                };
                let promote = items
                    .iter()
                    .position(|p| matches!(&p.op, crate::operation::Operation::PromotePostgres { node, .. } if node == "pg-1"))
                    .expect("promote pg-1 is proposed");
                for _ in 0..promote {
                    c.apply(now, Action::Command(Command::ScrollDown));
                }
                c.apply(now, Action::Command(Command::Select));
                assert!(
                    matches!(c.state.view.modal, Some(Modal::Confirm { .. })),
                    "{:?}",
                    c.state.view.modal
                );
                for ch in "pg-1".chars() {
                    c.apply(now, Action::Text(TextEdit::Char(ch)));
                }
                c.apply(now, Action::Text(TextEdit::Submit));
            }
            60_000 => {
                // After this console's own entry of that moment (the minute's trend sample,
                // written at 60.001 s) has come back from the runner: seq order = arrival order.
                let now = now + Duration::milliseconds(10);
                c.seq += 1;
                let e = mirrored(c.seq, EntryKind::Note, "bob: paging the DBA");
                c.apply(now, Action::Mirrored(Box::new(e.clone())));
                c.apply(now + Duration::milliseconds(100), Action::Logged(e.to_log_line()));
            }
            90_000 => c.apply(now, Action::Resize(120, 40)),
            500_000 => {
                c.seq += 1;
                let e = mirrored(c.seq, EntryKind::Resolved, "resolved: pg-1 promoted");
                c.apply(now, Action::Mirrored(Box::new(e)));
            }
            _ => {}
        }
    }
    (initial, c.recorded)
}

fn mirrored(seq: u64, kind: EntryKind, summary: &str) -> Entry {
    Entry {
        seq,
        ts: t0(),
        mono_ms: 0,
        operator: "bob@host".into(),
        kind,
        summary: summary.into(),
        details: serde_json::Value::Null,
        prev: "0".repeat(64),
    }
}

/// Applying the first `n` recorded actions to `initial`, no checkpoints.
fn from_scratch(initial: &State, actions: &[Recorded], n: usize) -> State {
    let mut s = initial.clone();
    for (now, a) in &actions[..n] {
        let _ = update(&mut s, a.clone(), *now);
    }
    s
}

fn same(a: &State, b: &State) -> bool {
    let (x, y) = (format!("{a:#?}"), format!("{b:#?}"));
    if x != y {
        for (l, r) in x.lines().zip(y.lines()).filter(|(l, r)| l != r).take(5) {
            eprintln!("got:      {l}\nexpected: {r}");
        }
    }
    x == y
}

#[test]
fn the_state_at_any_moment_is_the_state_from_scratch() {
    let (initial, actions) = recording();
    let tl = Timeline::new(initial.clone(), actions.clone());
    assert!(tl.checkpoints() > 10, "ten minutes keep checkpoints: {}", tl.checkpoints());
    let start = tl.start();
    // Every 7.3 s, plus the moments right at and around checkpoints and the ends.
    let mut moments: Vec<DateTime<Utc>> =
        (0..90).map(|i| start + Duration::milliseconds(i * 7_300)).collect();
    for cp in &tl.checkpoints {
        if cp.applied > 0 {
            let t = actions[cp.applied - 1].0;
            moments.extend([t - Duration::milliseconds(1), t, t + Duration::milliseconds(1)]);
        }
    }
    moments.extend([start - Duration::seconds(5), tl.end(), tl.end() + Duration::hours(1)]);
    for t in moments {
        let n = actions.iter().filter(|(at, _)| *at <= t).count();
        let expected = from_scratch(&initial, &actions, n);
        let got = tl.state_at(t);
        assert!(same(&got, &expected), "state_at({t}) differs from applying {n} actions from scratch");
        assert_eq!(got.domain.now, expected.domain.now);
    }
    // Before the first action: the initial state, untouched.
    assert!(same(&tl.state_at(start - Duration::seconds(1)), &initial));
}

#[test]
fn the_replayed_console_saw_what_the_recording_says() {
    let (initial, actions) = recording();
    let tl = Timeline::new(initial, actions);
    let before = tl.state_at(t0() + Duration::seconds(19));
    let failing = tl.state_at(t0() + Duration::seconds(30));
    let after = tl.state_at(t0() + Duration::seconds(50));
    assert_ne!(before.domain.verdict.level, crate::app::verdict::Level::Failing);
    assert_eq!(failing.domain.verdict.level, crate::app::verdict::Level::Failing);
    let step = after.domain.steps.first().expect("the promotion step");
    assert_eq!(step.status, crate::app::StepStatus::Done, "{step:?}");
    // Replay wrote nothing and executed nothing: it has no runner; effects are dropped.
    assert_eq!(tl.size_at(t0() + Duration::seconds(89)), None);
    assert_eq!(tl.size_at(t0() + Duration::seconds(91)), Some((120, 40)));
}

#[test]
fn entries_are_listed_once_each_and_navigation_finds_them() {
    let (initial, actions) = recording();
    let tl = Timeline::new(initial, actions);
    let seqs: Vec<u64> = tl.entries().iter().map(|m| m.seq).collect();
    let mut unique = seqs.clone();
    unique.dedup();
    assert_eq!(seqs, unique, "the follower's repeat of an entry is not a second entry");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let note = tl.entries().iter().find(|m| m.kind == EntryKind::Note).expect("the mirrored note");
    assert_eq!(note.at, t0() + Duration::milliseconds(60_012));

    // `]` from just before the note lands on it; `[` from just after it too.
    let next = tl.next_entry(note.at - Duration::milliseconds(1)).expect("next");
    assert_eq!(next.seq, note.seq);
    let prev = tl.prev_entry(note.at + Duration::milliseconds(1)).expect("prev");
    assert_eq!(prev.seq, note.seq);
    // Strictly after / before: pressing again moves on.
    assert!(tl.next_entry(note.at).is_none_or(|m| m.at > note.at));
    assert!(tl.prev_entry(tl.entries()[0].at).is_none());
    assert!(tl.next_entry(tl.end()).is_none());
    // An entry is visible in the log tail from the moment it is listed.
    let shown = tl.state_at(note.at);
    assert!(shown.domain.log_tail.iter().any(|l| l.seq == note.seq));
    let not_yet = tl.state_at(note.at - Duration::milliseconds(1));
    assert!(!not_yet.domain.log_tail.iter().any(|l| l.seq == note.seq));
}

#[test]
fn milestones_in_order_with_what_happened() {
    let (initial, actions) = recording();
    let tl = Timeline::new(initial, actions);
    let kinds: Vec<MilestoneKind> = tl.milestones().iter().map(|m| m.kind).collect();
    let at = |k: MilestoneKind| tl.milestones().iter().find(|m| m.kind == k).map(|m| m.at);
    assert_eq!(kinds.first(), Some(&MilestoneKind::Declared), "{kinds:?}");
    assert_eq!(at(MilestoneKind::Declared), Some(t0()));
    // The primary is down from 20 s: the verdict turns FAILING with that snapshot.
    let failing = at(MilestoneKind::Failing).expect("failing");
    assert_eq!(failing, t0() + Duration::milliseconds(20_001), "{:?}", tl.milestones());
    let failing_text = &tl.milestones().iter().find(|m| m.kind == MilestoneKind::Failing).unwrap().text;
    assert!(failing_text.contains("no writable primary"), "{failing_text}");
    let confirmed = at(MilestoneKind::StepConfirmed).expect("confirmed");
    let verified = at(MilestoneKind::StepVerified).expect("verified");
    assert!(failing < confirmed && confirmed < verified, "{:?}", tl.milestones());
    assert!(confirmed >= t0() + Duration::seconds(40) && verified >= t0() + Duration::seconds(45));
    assert_eq!(at(MilestoneKind::Resolved), Some(t0() + Duration::milliseconds(500_002)));
    assert!(tl.milestones().windows(2).all(|w| w[0].at <= w[1].at));
    // `m` walks them in order (milestones of one moment are one stop).
    let mut t = tl.start() - Duration::seconds(1);
    let mut walked = Vec::new();
    while let Some(m) = tl.next_milestone(t) {
        walked.push(m.at);
        t = m.at;
    }
    let mut times: Vec<DateTime<Utc>> = tl.milestones().iter().map(|m| m.at).collect();
    times.dedup();
    assert_eq!(walked, times);
}

#[test]
fn a_failing_verdict_already_shown_at_the_start_is_not_a_milestone() {
    let (initial, actions) = recording();
    // Start the recording at 30 s: the state then is already FAILING.
    let cut = actions.iter().position(|(t, _)| *t >= t0() + Duration::seconds(30)).expect("cut");
    let start = from_scratch(&initial, &actions, cut);
    let tl = Timeline::new(start, actions[cut..].to_vec());
    assert!(tl.milestones().iter().all(|m| m.kind != MilestoneKind::Failing), "{:?}", tl.milestones());
    assert!(
        tl.milestones().iter().all(|m| m.kind != MilestoneKind::Declared),
        "declared before the recording"
    );
}

#[test]
fn a_declaration_just_before_the_recording_is_its_first_milestone() {
    let (mut initial, actions) = recording();
    initial.domain.incident.declared_at = t0() - Duration::milliseconds(800);
    let tl = Timeline::new(initial.clone(), actions.clone());
    let first = &tl.milestones()[0];
    assert_eq!((first.kind, first.at), (MilestoneKind::Declared, tl.start()));
    assert_eq!(first.text, "incident declared at 02:59:59Z");
    // Declared long before (a resumed incident): not a milestone of this recording.
    initial.domain.incident.declared_at = t0() - Duration::hours(2);
    let tl = Timeline::new(initial, actions);
    assert!(tl.milestones().iter().all(|m| m.kind != MilestoneKind::Declared), "{:?}", tl.milestones());
}

#[test]
fn checkpoints_stay_bounded_and_thinning_keeps_the_first() {
    let mut cps: Vec<Checkpoint> =
        (0..10).map(|i| Checkpoint { applied: i * 3, state: primary_down_state() }).collect();
    thin(&mut cps);
    assert_eq!(cps.iter().map(|c| c.applied).collect::<Vec<_>>(), [0, 6, 12, 18, 24]);

    // A long recording of ticks: never more than MAX_CHECKPOINTS, still exact.
    let initial = primary_down_state();
    let actions: Vec<Recorded> = (0..(MAX_CHECKPOINTS as i64 + 200))
        .map(|i| (t0() + Duration::seconds(i * 31), Action::Tick))
        .collect();
    let tl = Timeline::new(initial.clone(), actions.clone());
    assert!(tl.checkpoints() <= MAX_CHECKPOINTS, "{}", tl.checkpoints());
    for n in [0, 1, 700, 1023, 1024, actions.len()] {
        assert!(same(&tl.state_after(n), &from_scratch(&initial, &actions, n)), "after {n}");
    }
}

#[test]
fn an_empty_recording_is_its_initial_state() {
    let initial = primary_down_state();
    let tl = Timeline::new(initial.clone(), Vec::new());
    assert!(tl.is_empty());
    assert_eq!(tl.start(), initial.domain.now);
    assert_eq!(tl.end(), initial.domain.now);
    assert!(same(&tl.state_at(tl.end()), &initial));
    assert!(tl.next_entry(tl.start()).is_none() && tl.next_milestone(tl.start()).is_none());
}

#[test]
fn the_badge_says_where_and_how_fast() {
    let badge = ReplayBadge {
        at: t0() + Duration::seconds(754),
        declared_at: t0(),
        speed: 4.0,
        paused: false,
        note: None,
    };
    assert_eq!(badge.text(), "REPLAY 03:12:34Z T+12:34 4x");
    let paused = ReplayBadge { paused: true, speed: 0.25, ..badge.clone() };
    assert_eq!(paused.text(), "REPLAY 03:12:34Z T+12:34 PAUSED");
    let slow = ReplayBadge { speed: 0.25, at: t0() + Duration::seconds(3723), ..badge.clone() };
    assert_eq!(slow.text(), "REPLAY 04:02:03Z T+1h02:03 0.25x");
    let noted = ReplayBadge { note: Some("160x48 clipped to 120x40".into()), ..badge };
    assert_eq!(noted.text(), "REPLAY 03:12:34Z T+12:34 4x · 160x48 clipped to 120x40");
}
