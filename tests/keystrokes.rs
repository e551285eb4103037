//! No key acts by accident, with the real binary in tmux on the drill: `N` brings up a runbook
//! step whose precheck fails (fence postgresql-0 while it is down), and the operator, expecting
//! the typed confirmation, types the pod name and Enter at once. Those keys are dropped with a
//! flash; the incident log shows no skip, retry, override or abort, and the console is still
//! running (the `q` in "postgresql" did not quit it). `X` then asks before aborting.

mod support {
    #![allow(dead_code)]
    pub mod tmux;
}

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::tmux::{Tmux, incident_log_file};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

/// A user runbook: confirm the primary is down (low risk, `y`), then fence it, whose precheck
/// fails while it is down (it is not reachable).
const RUNBOOK: &str = r#"id = "fence-down-primary"
title = "Fence the down primary (keystroke test)"
description = "Confirm the primary is down, then fence it: the fence's precheck fails while it is down."

[[steps]]
id = "confirm-down"
op = "assert"
args = { check = "primary-down" }
why = "check first"

[[steps]]
id = "fence"
op = "fence"
args = { node = "postgresql-0" }
why = "make the old primary refuse writes"
"#;

/// Entries that a key typed by accident would have written.
const ACCIDENTS: [&str; 6] =
    ["step-skipped", "step-retry", "override", "step-aborted", "runbook-finished", "step-confirmed"];

fn entries(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .expect("read the incident log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
        .collect()
}

fn footer(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default()
}

#[test]
fn keys_typed_for_a_confirmation_that_did_not_open_are_dropped_never_run() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("config");
    std::fs::create_dir_all(config.join("warroom/runbooks")).unwrap();
    std::fs::write(config.join("warroom/runbooks/fence-down-primary.toml"), RUNBOOK).unwrap();
    let env = [
        ("WARROOM_DATA_DIR", data.path()),
        ("HOME", data.path()),
        ("XDG_CONFIG_HOME", config.as_path()),
        ("NO_COLOR", Path::new("")),
    ];
    let t = Tmux::start(160, 48, &[BIN, "drill", "--scenario", "primary-db-down", "--speed", "4"], &env);
    t.wait_for("the console to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    t.wait_for("the primary to go down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    // Pick the user runbook in the picker.
    t.keys(&["b"]);
    t.wait_for("the picker", Duration::from_secs(5), |s| s.contains("fence-down-primary"));
    let highlighted = |s: &str| s.lines().find(|l| l.contains("› ")).unwrap_or_default().to_string();
    for _ in 0..12 {
        let screen = t.capture();
        if highlighted(&screen).contains("› fence-down-primary") {
            break;
        }
        t.keys(&["Down"]);
        let was = highlighted(&screen);
        t.wait_for("the highlight to move", Duration::from_secs(5), |s| highlighted(s) != was);
    }
    assert!(highlighted(&t.capture()).contains("› fence-down-primary"), "{}", t.capture());
    t.keys(&["Enter"]);
    t.wait_for("step #1's confirmation", Duration::from_secs(5), |s| s.contains("Confirm step #1"));
    t.keys(&["y"]);
    t.wait_for("step #1 done", Duration::from_secs(20), |s| s.contains("1/2"));
    let log = incident_log_file(data.path());
    let before = entries(&log).len();

    // `N`, the pod name and Enter, in one write: typed ahead, as a person expecting the dialog.
    t.keys(&["N"]);
    t.type_text("postgresql-0");
    t.keys(&["Enter"]);
    let screen = t.wait_for("the dropped keys' flash", Duration::from_secs(5), |s| {
        footer(s).contains("keys ignored: step #2's prechecks failed (")
    });
    assert!(!screen.contains("Confirm step #2"), "no confirmation opened:\n{screen}");
    assert!(!screen.contains("Reason for skipping"), "no skip prompt:\n{screen}");
    // The typed-ahead keys are gone: a note written now is the next entry after the precheck's.
    t.keys(&["Escape"]);
    t.wait_for("keys to act again", Duration::from_secs(5), |s| !footer(s).contains("keys ignored"));
    t.keys(&["n"]);
    t.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    t.type_text("barrier: the keys before this note ran nothing");
    t.keys(&["Enter"]);
    t.wait_for("the note in the log", Duration::from_secs(10), |_| {
        entries(&log).iter().any(|e| e["kind"] == "note")
    });
    assert!(!t.pane_dead(), "the q in postgresql did not quit the console");
    let added: Vec<Value> = entries(&log)[before..].to_vec();
    let kinds: Vec<&str> = added.iter().map(|e| e["kind"].as_str().unwrap_or_default()).collect();
    for k in ACCIDENTS {
        assert!(!kinds.contains(&k), "{k} written by keys typed at no dialog: {kinds:?}");
    }
    let failed = added.iter().find(|e| e["kind"] == "step-failed").expect("the precheck failure is logged");
    assert!(failed["summary"].as_str().unwrap().contains("precheck failed"), "{failed}");

    // `X` asks first (y/n stating what happens); `n` leaves the runbook running.
    t.keys(&["5"]);
    t.keys(&["X"]);
    let ask = t.wait_for("the abort question", Duration::from_secs(5), |s| s.contains("Are you sure?"));
    assert!(ask.contains("Abort runbook fence-down-primary"), "{ask}");
    assert!(footer(&ask).contains("y do it") && footer(&ask).contains("cancel"), "{}", footer(&ask));
    t.keys(&["n"]);
    t.wait_for("the question to close", Duration::from_secs(5), |s| !s.contains("Are you sure?"));
    t.keys(&["X"]);
    t.wait_for("the abort question again", Duration::from_secs(5), |s| s.contains("Are you sure?"));
    t.keys(&["y"]);
    t.wait_for("the runbook aborted", Duration::from_secs(10), |_| {
        entries(&log).iter().any(|e| e["kind"] == "runbook-finished")
    });
    let all = entries(&log);
    let cancelled_first = all.iter().filter(|e| e["kind"] == "runbook-finished").count();
    assert_eq!(cancelled_first, 1, "n aborted nothing; y aborted once");
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(10), |_| t.pane_dead());
}
