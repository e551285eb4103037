//! `--read-only` observer consoles (the shared tmux, trainees) see everything and write notes,
//! but no key path executes a step: the real binary in tmux, joined to a running drill incident
//! whose commander console sits beside it; then the incident log they share is read.

#[allow(dead_code)] // each test binary uses a part of the shared support code
mod support {
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
const DRILL: [&str; 5] = ["drill", "--scenario", "primary-db-down", "--speed", "4"];
/// What `pipeline::open_confirm` flashes on a read-only console.
const NO_CONFIRM: &str = "READ-ONLY console: steps cannot be confirmed here";
/// Entry kinds that exist only once a step was confirmed.
const EXECUTION: [&str; 4] = ["step-confirmed", "step-executing", "step-result", "step-verified"];

fn console(data: &Path, args: &[&str]) -> Tmux {
    let mut cmd = vec![BIN];
    cmd.extend_from_slice(args);
    Tmux::start(160, 48, &cmd, &[("WARROOM_DATA_DIR", data), ("HOME", data), ("NO_COLOR", Path::new(""))])
}

fn incident_log(data: &Path) -> PathBuf {
    std::fs::read_dir(data.join("incidents"))
        .expect("incidents dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("one incident log")
}

fn entries(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .expect("read the incident log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
        .collect()
}

fn kinds(log: &Path) -> Vec<String> {
    entries(log).iter().map(|e| e["kind"].as_str().unwrap_or_default().to_string()).collect()
}

/// The footer's flash on the last screen line.
fn footer(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default()
}

/// Press `keys`, then wait for `flash` in the footer; no confirm dialog may be open. The flash
/// is first replaced by another one (`ctrl-r` on a console without the lock says so), so a
/// flash left from the previous key cannot pass for this one.
fn refused(t: &Tmux, what: &str, keys: &[&str], flash: &str) -> String {
    t.keys(&["C-r"]);
    t.wait_for("the flash to be replaced", Duration::from_secs(5), |s| {
        footer(s).contains("you do not hold the commander lock")
    });
    // In one write, as keys typed ahead (or arriving together over SSH) reach the console.
    t.keys(keys);
    let screen = t.wait_for(&format!("{what}: the read-only refusal"), Duration::from_secs(5), |s| {
        footer(s).contains(flash)
    });
    assert!(
        !screen.contains("Confirm step #"),
        "{what}: no confirm dialog on a read-only console:\n{screen}"
    );
    screen
}

/// Esc, then wait until the modal showing `marker` is gone (a key sent right after Esc would
/// be read as Alt+key).
fn close(t: &Tmux, marker: &str) {
    t.keys(&["Escape"]);
    t.wait_for("the modal to close", Duration::from_secs(5), |s| !s.contains(marker));
}

#[test]
fn a_read_only_console_sees_everything_writes_notes_and_executes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let commander = console(data.path(), &DRILL);
    commander.wait_for("the commander console to hold the lock", Duration::from_secs(20), |s| {
        s.contains("COMMANDER: you")
    });
    let log = incident_log(data.path());
    let id = log.file_stem().unwrap().to_string_lossy().into_owned();

    let mut args = vec!["--read-only"];
    args.extend_from_slice(&DRILL);
    args.extend_from_slice(&["--incident", &id]);
    let observer = console(data.path(), &args);
    // It sees everything: the incident, the estate, the fault, who commands.
    let screen = observer.wait_for("the observer to see the primary down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    assert!(screen.contains(&id), "the joined incident:\n{screen}");
    assert!(screen.contains("READ-ONLY"), "the header badge:\n{screen}");
    assert!(screen.contains("COMMANDER: "), "who commands:\n{screen}");
    for pane in ["Pods", "Database", "Sentinel", "Traffic", "Steps", "Checklist", "Log"] {
        assert!(screen.contains(pane), "{pane} pane shown:\n{screen}");
    }

    // Every key that could run something.
    // (Modals take their own keys, so each is opened within `refused`, after the flash reset.)
    observer.keys(&["b"]);
    let picker =
        observer.wait_for("the runbook picker", Duration::from_secs(5), |s| s.contains("Runbooks (Enter"));
    assert!(picker.contains("› db-failover"), "db-failover is highlighted first:\n{picker}");
    close(&observer, "Runbooks (Enter");
    refused(&observer, "b + Enter (start db-failover's first step)", &["b", "Enter"], NO_CONFIRM);
    refused(&observer, "N (next runbook step)", &["N"], NO_CONFIRM);
    let steps = refused(&observer, "Enter on the Steps pane", &["5", "Enter"], NO_CONFIRM);
    assert!(steps.contains("next: ") || steps.contains("confirm: "), "a runbook step waits:\n{steps}");
    refused(&observer, "y, then Enter, on the Steps pane", &["y", "Enter"], NO_CONFIRM);
    observer.keys(&["a"]);
    observer.wait_for("the actions menu", Duration::from_secs(5), |s| s.contains("Proposed operations"));
    close(&observer, "Proposed operations");
    refused(&observer, "a + Enter (the first proposed operation)", &["a", "Enter"], NO_CONFIRM);
    refused(&observer, "T (take command)", &["T"], "READ-ONLY console: it cannot take the commander lock");
    let overrides = "READ-ONLY console: overrides are for the console that executes steps";
    refused(&observer, "O (override single authority)", &["O"], overrides);
    refused(&observer, "o (override the lag guard)", &["o"], overrides);

    // A note is written.
    let note = "observer: watching the failover from the shared tmux";
    observer.keys(&["n"]);
    observer.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    observer.type_text(note);
    observer.keys(&["Enter"]);
    observer
        .wait_for("the note in the Log pane", Duration::from_secs(5), |s| s.contains("observer: watching"));

    // The commander leaves: the lock is free, and the observer still cannot take it or confirm.
    commander.keys(&["q"]);
    commander.wait_for("the commander console to exit", Duration::from_secs(10), |_| commander.pane_dead());
    observer.wait_for("the observer to see the lock free", Duration::from_secs(10), |s| {
        s.contains("COMMANDER: free")
    });
    refused(
        &observer,
        "T with the lock free",
        &["T"],
        "READ-ONLY console: it cannot take the commander lock",
    );
    refused(&observer, "N with the lock free", &["N"], NO_CONFIRM);
    observer.keys(&["q"]);
    observer.wait_for("the observer to exit", Duration::from_secs(10), |_| observer.pane_dead());

    // The log: the observer's keys reached the console (a runbook started, steps previewed, the
    // note) and nothing was ever confirmed or executed; only the commander took the lock.
    let all = entries(&log);
    let kinds = kinds(&log);
    for kind in EXECUTION {
        assert!(!kinds.iter().any(|k| k == kind), "{kind} in the log of a read-only session:\n{kinds:?}");
    }
    assert!(kinds.iter().any(|k| k == "runbook-started"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "step-previewed"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "override"), "an observer overrides nothing: {kinds:?}");
    let notes: Vec<&Value> = all.iter().filter(|e| e["kind"] == "note").collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["details"]["text"], note);
    let took = all.iter().filter(|e| e["kind"] == "commander" && e["details"]["event"] == "took").count();
    assert_eq!(took, 1, "only the commander console took the lock: {kinds:?}");
}
