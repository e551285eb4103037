//! Fault injection: the wall clock is stepped +/- 5 minutes (NTP step, `date -s`). Timers use
//! the monotonic-anchored clock (`warroom::clock`): a checklist item does not fire early,
//! a verify deadline does not expire, the incident clock neither jumps nor freezes. Log entries
//! carry the wall time and a monotonic offset. The real binary is stepped with libfaketime.

#[allow(dead_code)]
mod support {
    pub mod tmux;
}

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use warroom::app::state::IncidentInfo;
use warroom::app::{Action, Effect, Mode, State, StepRun, StepStatus, update};
use warroom::clock::MonotonicClock;
use warroom::config::Config;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, read_log};
use warroom::operation::Operation;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn state_at(declared: DateTime<Utc>) -> State {
    let info = IncidentInfo {
        id: "INC-CLOCK".into(),
        title: "clock".into(),
        severity: "SEV2".into(),
        declared_at: declared,
        drill: false,
    };
    let mut state = State::new(Mode::Live, info, "tester@lab".into(), Arc::new(Config::default()), declared);
    // A step verifying with a 20 s deadline (its postcondition cannot hold: no data).
    let mut step = StepRun::new(1, Operation::CheckPrimary, "test".into(), declared);
    step.status = StepStatus::Verifying;
    step.verify_deadline = Some(declared + chrono::Duration::seconds(20));
    state.domain.steps.push(step);
    state
}

fn rang(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Bell))
}

#[test]
fn wall_clock_steps_neither_fire_the_checklist_nor_expire_a_verify_deadline() {
    let wall = Arc::new(Mutex::new(Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()));
    let w = wall.clone();
    let clock = MonotonicClock::with_wall(Box::new(move || *w.lock().unwrap()));
    let t0 = Instant::now();
    let start = clock.at(t0);
    let mut state = state_at(start);
    assert!(!rang(&update(&mut state, Action::Tick, clock.at(t0 + Duration::from_secs(1)))));

    // +5 min on the wall clock. The first checklist item is due at T+5:00.
    *wall.lock().unwrap() += chrono::Duration::minutes(5);
    let mut naive = state.clone();
    let fx = update(&mut state, Action::Tick, clock.at(t0 + Duration::from_secs(2)));
    assert!(!rang(&fx), "checklist fired early: {:?}", state.view.flash);
    assert_eq!(state.domain.steps[0].status, StepStatus::Verifying, "verify deadline expired early");
    assert_eq!(state.domain.clock_text(), "T+00:02");
    assert!(clock.skew() >= chrono::Duration::minutes(4), "the step is visible as skew: {}", clock.skew());
    // What reading the wall clock for `now` did (the bug this clock prevents).
    let wall_now = *wall.lock().unwrap() + (clock.at(t0 + Duration::from_secs(2)) - start);
    let fx = update(&mut naive, Action::Tick, wall_now);
    assert!(rang(&fx), "control: a wall-clock `now` makes the checklist overdue at once");
    assert!(
        matches!(naive.domain.steps[0].status, StepStatus::Failed { .. }),
        "control: and the verify expires"
    );

    // -10 min (5 min before the start): the incident clock keeps counting, nothing fires.
    *wall.lock().unwrap() -= chrono::Duration::minutes(10);
    let fx = update(&mut state, Action::Tick, clock.at(t0 + Duration::from_secs(3)));
    assert!(!rang(&fx));
    assert_eq!(state.domain.clock_text(), "T+00:03");
    assert_eq!(state.domain.steps[0].status, StepStatus::Verifying);
    // Monotonic time still drives the deadlines: 21 s later the verify does expire.
    update(&mut state, Action::Tick, clock.at(t0 + Duration::from_secs(21)));
    assert!(
        matches!(state.domain.steps[0].status, StepStatus::Failed { .. }),
        "{:?}",
        state.domain.steps[0].status
    );
}

#[test]
fn log_entries_carry_wall_time_and_a_monotonic_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (log, meta) =
        IncidentLog::declare(dir.path(), "clock", "SEV3", true, "tester@lab", Utc::now()).expect("declare");
    std::thread::sleep(Duration::from_millis(300));
    log.append(&EntryKind::Note, "after 300 ms", serde_json::json!({})).expect("append");
    std::thread::sleep(Duration::from_millis(200));
    log.append(&EntryKind::Note, "after 500 ms", serde_json::json!({})).expect("append");
    let entries = read_log(&meta.path).expect("read back");
    assert!(entries.len() >= 3, "{entries:?}");
    let first = &entries[0];
    for pair in entries.windows(2) {
        assert!(pair[1].mono_ms >= pair[0].mono_ms, "monotonic offsets never go back: {entries:?}");
    }
    let last = entries.last().unwrap();
    let mono = last.mono_ms - first.mono_ms;
    assert!((500..2_000).contains(&mono), "monotonic offset {mono} ms for 500 ms of sleeping");
    let wall = (last.ts - first.ts).num_milliseconds();
    assert!((wall - mono as i64).abs() < 200, "wall {wall} ms vs monotonic {mono} ms without a clock step");
}

/// Write the libfaketime offset the console reads (re-read on every call: FAKETIME_NO_CACHE).
fn set_offset(file: &Path, offset: &str) {
    std::fs::write(file, format!("{offset}\n")).unwrap();
}

/// Seconds of the header's incident clock (`T+mm:ss`).
fn clock_secs(screen: &str) -> Option<i64> {
    let at = screen.find("T+")?;
    let text: String = screen[at + 2..].chars().take(5).collect();
    let (m, s) = text.split_once(':')?;
    Some(m.parse::<i64>().ok()? * 60 + s.parse::<i64>().ok()?)
}

#[test]
fn real_binary_under_faketime_keeps_its_clock_and_checklist_across_steps() {
    assert!(
        Path::new(FAKETIME_LIB).exists(),
        "{FAKETIME_LIB} is missing: apt-get install faketime (scripts/install-test-deps.sh)"
    );
    let data = tempfile::tempdir().unwrap();
    let rc = data.path().join("faketime.rc");
    set_offset(&rc, "+0");
    let t = Tmux::start(
        120,
        40,
        &[BIN, "drill", "--scenario", "calm"],
        &[
            ("WARROOM_DATA_DIR", data.path()),
            ("HOME", data.path()),
            ("LD_PRELOAD", Path::new(FAKETIME_LIB)),
            ("FAKETIME_TIMESTAMP_FILE", &rc),
            ("FAKETIME_NO_CACHE", Path::new("1")),
            ("FAKETIME_DONT_FAKE_MONOTONIC", Path::new("1")),
        ],
    );
    let first =
        t.wait_for("the console", Duration::from_secs(15), |s| s.contains("Checklist") && s.contains("T+"));
    let c0 = clock_secs(&first).expect("incident clock");

    set_offset(&rc, "+5m");
    let stepped = Instant::now();
    // Not a fixed sleep: a frame whose clock moved 3 s past the one read before the step was
    // drawn after it (a clock that jumped with the wall shows at once, and fails below).
    let after_plus = t.wait_for("a frame 3 s after the +5m step", Duration::from_secs(15), |s| {
        clock_secs(s).is_some_and(|c| c >= c0 + 3)
    });
    let c1 = clock_secs(&after_plus).expect("incident clock");
    let real = stepped.elapsed().as_secs() as i64;
    assert!(c1 >= c0 && c1 - c0 <= real + 4, "clock jumped with the wall: {c0} -> {c1}\n{after_plus}");
    assert!(!after_plus.contains("OVERDUE"), "a checklist item fired early:\n{after_plus}");
    // A note written now carries the stepped wall time and the true monotonic offset.
    t.keys(&["n"]);
    t.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    t.type_text("after the wall clock step");
    t.keys(&["Enter"]);
    t.wait_for("the note in the log pane", Duration::from_secs(5), |s| s.contains("note after the wal"));

    let before_minus = clock_secs(&t.capture()).expect("incident clock");
    set_offset(&rc, "-5m");
    let stepped = Instant::now();
    // A clock that froze or went back with the wall never gets there (the wait fails).
    let after_minus = t.wait_for("a frame 3 s after the -5m step", Duration::from_secs(15), |s| {
        clock_secs(s).is_some_and(|c| c >= before_minus + 3)
    });
    let c2 = clock_secs(&after_minus).expect("incident clock");
    let real = stepped.elapsed().as_secs() as i64;
    assert!(
        c2 > c1 && c2 - before_minus <= real + 4,
        "clock froze or jumped: {c1} -> {before_minus} -> {c2}\n{after_minus}"
    );
    assert!(!after_minus.contains("OVERDUE"), "{after_minus}");
    eprintln!("FIGURE incident clock under +5m / -5m wall steps: T+{c0}s -> T+{c1}s -> T+{c2}s");
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(5), |_| t.pane_dead());

    let file = support::tmux::incident_log_file(data.path());
    let entries = read_log(&file).expect("the log reads back");
    let declared = entries.iter().find(|e| e.kind.as_str() == "declared").expect("declared");
    let note = entries.iter().find(|e| e.kind.as_str() == "note").expect("note");
    let wall = (note.ts - declared.ts).num_seconds();
    let mono = (note.mono_ms - declared.mono_ms) as i64 / 1000;
    assert!(wall >= 295, "faketime did not step the binary's wall clock ({wall} s): the test proves nothing");
    assert!(mono < 30, "the monotonic offset follows real time: {mono} s");
    eprintln!("FIGURE note entry: wall +{wall} s, monotonic +{mono} s after declared");
}
