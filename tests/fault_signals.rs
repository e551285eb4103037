//! Fault injection: the real console (`warroom drill` in tmux) loses its life or its terminal
//! while a step executes: `kill -9`, SIGHUP (an SSH drop) and `tmux kill-session`. The process
//! is gone within 1 s, leaves no process behind, the terminal is restored where there is one,
//! the incident log holds the `step-executing` intent written before the execution, and a
//! console resumed from that log shows the step as "outcome unknown: verify".

#[allow(dead_code)]
mod support {
    pub mod lab;
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::app::state::IncidentInfo;
use warroom::app::{Mode, PaneId, State, StepStatus};
use warroom::config::Config;
use warroom::config::keymap::Keymap;
use warroom::config::theme::Theme;
use warroom::incident::entry::Entry;
use warroom::incident::log::read_log;
use warroom::ui::UiContext;

use support::lab::{alive, children_of, signal};
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

/// How long the console may take to leave once it is killed or loses its terminal.
const EXIT_WITHIN: Duration = Duration::from_secs(1);

fn incident_log(data: &Path) -> PathBuf {
    support::tmux::incident_log_file(data)
}

/// Start a calm drill slowed down (0.1x: a Route 53 change takes 3-6 s of wall time), propose
/// "send all traffic to us-west-2", confirm it by typing the region, and wait until the step
/// is executing. Returns the session and the console's pid.
fn step_in_flight(data: &Path) -> (Tmux, i32) {
    let t = Tmux::start(
        120,
        40,
        &[BIN, "drill", "--scenario", "calm", "--speed", "0.1"],
        &[("WARROOM_DATA_DIR", data), ("HOME", data)],
    );
    t.wait_for("the console", Duration::from_secs(15), |s| s.contains("Traffic") && s.contains("us-west-2"));
    t.keys(&["a"]);
    t.choose_action("Set Route 53 weights");
    t.wait_for("the confirm dialog", Duration::from_secs(5), |s| s.contains("type us-west-2"));
    t.type_text("us-west-2");
    t.keys(&["Enter"]);
    t.wait_for("the step executing", Duration::from_secs(5), |s| s.contains("executing"));
    let pid = t.pane_pid() as i32;
    (t, pid)
}

/// Every descendant of `pid`.
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children_of(p) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// CPU ticks (utime + stime) of `pid`, if it exists.
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Wait until `pid` and everything it started are gone (zombies count as gone); returns how
/// long it took, or panics after [`EXIT_WITHIN`] with the CPU it burnt meanwhile.
fn gone_within(pid: i32, family: &[i32], from: Instant) -> Duration {
    let ticks0 = cpu_ticks(pid);
    while alive(pid) || family.iter().any(|p| alive(*p)) {
        if from.elapsed() > EXIT_WITHIN {
            let left: Vec<(i32, Option<u64>)> = std::iter::once(pid)
                .chain(family.iter().copied())
                .filter(|p| alive(*p))
                .map(|p| (p, cpu_ticks(p)))
                .collect();
            panic!(
                "still running {EXIT_WITHIN:?} later: {left:?} (cpu ticks of the console at the start: {ticks0:?})"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    from.elapsed()
}

/// The entries of the step's log, checked: intent logged, no result.
fn check_intent_logged(data: &Path) -> Vec<Entry> {
    let entries = read_log(&incident_log(data)).expect("the incident log reads back");
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    let exec =
        kinds.iter().position(|k| *k == "step-executing").unwrap_or_else(|| panic!("no intent: {kinds:?}"));
    let confirmed = kinds.iter().position(|k| *k == "step-confirmed").expect("confirmed");
    assert!(confirmed < exec, "{kinds:?}");
    assert!(
        !kinds[exec..].iter().any(|k| matches!(*k, "step-verified" | "step-result")),
        "the step finished: {kinds:?}"
    );
    entries
}

/// Rebuild the console's state from the log as a resumed console does, draw it, and check
/// the step reads "outcome unknown" with the instruction to verify.
fn resumed_screen_says_verify(entries: &[Entry]) {
    let now = Utc::now();
    let info = IncidentInfo {
        id: "INC-RESUMED".into(),
        title: "resumed".into(),
        severity: "SEV2".into(),
        declared_at: entries[0].ts,
        drill: true,
    };
    let mut state = State::new(Mode::Drill, info, "tester@lab".into(), Arc::new(Config::default()), now);
    warroom::app::resume::restore(&mut state.domain, entries);
    let step = state.domain.steps.first().expect("the step is restored");
    assert_eq!(step.status, StepStatus::OutcomeUnknown);
    state.view.focus = PaneId::Steps;
    state.view.zoomed = true;
    let ctx = UiContext { theme: Theme::fallback(), keymap: Keymap::preset("default").unwrap() };
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| warroom::ui::draw(f, &state, &ctx)).unwrap();
    let buf = term.backend().buffer().clone();
    let text: String = (0..48)
        .map(|y| (0..160).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect();
    assert!(text.contains("UNKNOWN"), "{text}");
    assert!(
        text.contains("outcome unknown: the console stopped while this step ran; verify before continuing"),
        "{text}"
    );
}

#[test]
fn kill_9_mid_step_leaves_the_intent_and_a_resume_says_verify() {
    let data = tempfile::tempdir().unwrap();
    let (t, pid) = step_in_flight(data.path());
    let family = descendants(pid);
    let start = Instant::now();
    signal(pid, libc::SIGKILL);
    let took = gone_within(pid, &family, start);
    eprintln!("FIGURE kill -9 mid-step: gone after {took:?}");
    drop(t);
    let entries = check_intent_logged(data.path());
    resumed_screen_says_verify(&entries);
}

#[test]
fn sighup_mid_step_exits_within_1s_and_restores_the_terminal() {
    let data = tempfile::tempdir().unwrap();
    let (t, pid) = step_in_flight(data.path());
    assert_eq!(t.display("#{alternate_on}"), "1", "the console uses the alternate screen");
    let family = descendants(pid);
    let start = Instant::now();
    signal(pid, libc::SIGHUP);
    let took = gone_within(pid, &family, start);
    eprintln!("FIGURE SIGHUP mid-step: exited after {took:?}");
    t.wait_for("the pane to be dead", Duration::from_secs(2), |_| t.pane_dead());
    // The terminal is restored: back on the primary screen (a process that dies without
    // restoring leaves the pane at `alternate_on` 1). tmux resets the cursor flag of a dead
    // pane, so the cursor (shown in the same write) cannot be checked this way.
    assert_eq!(t.display("#{alternate_on}"), "0", "alternate screen left");
    let entries = check_intent_logged(data.path());
    resumed_screen_says_verify(&entries);
}

#[test]
fn tmux_kill_session_mid_step_exits_within_1s() {
    let data = tempfile::tempdir().unwrap();
    let (t, pid) = step_in_flight(data.path());
    let family = descendants(pid);
    let start = Instant::now();
    t.kill_session();
    let took = gone_within(pid, &family, start);
    eprintln!("FIGURE tmux kill-session mid-step: exited after {took:?}");
    let entries = check_intent_logged(data.path());
    resumed_screen_says_verify(&entries);
}
