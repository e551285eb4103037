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
/// Entry kinds an observer's keys must never write (besides the execution ones).
const WRITES: [&str; 11] = [
    "runbook-started",
    "step-previewed",
    "step-failed",
    "step-skipped",
    "step-aborted",
    "step-retry",
    "checklist",
    "status-update",
    "resolved",
    "override",
    "runbook-finished",
];
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

/// Press `keys` (in one write, as keys typed ahead or arriving together over SSH reach the
/// console), wait for `flash` in the footer; no dialog may be open. Then Esc (which ends the
/// dropping of keys a refusal starts and dismisses the message) until the flash is gone, so the
/// next call cannot see this one's flash.
fn refused(t: &Tmux, what: &str, keys: &[&str], flash: &str) -> String {
    t.keys(keys);
    let screen = t.wait_for(&format!("{what}: the read-only refusal"), Duration::from_secs(5), |s| {
        footer(s).contains(flash)
    });
    for dialog in ["Confirm step #", "Are you sure?", "Reason for skipping", "Resolve the incident"] {
        assert!(!screen.contains(dialog), "{what}: no {dialog:?} on a read-only console:\n{screen}");
    }
    t.keys(&["Escape"]);
    t.wait_for("the flash to go", Duration::from_secs(5), |s| !footer(s).contains(flash));
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

    // Every key that could write something: refused with a flash naming the role.
    // (Modals take their own keys, so each is opened within `refused`.)
    observer.keys(&["b"]);
    let picker =
        observer.wait_for("the runbook picker", Duration::from_secs(5), |s| s.contains("Runbooks (Enter"));
    assert!(picker.contains("› db-failover"), "db-failover is highlighted first:\n{picker}");
    close(&observer, "Runbooks (Enter");
    let ro = |what: &str| format!("READ-ONLY console: cannot {what}");
    refused(&observer, "b + Enter (start db-failover)", &["b", "Enter"], &ro("start runbooks"));
    refused(&observer, "N (next runbook step)", &["N"], &ro("run runbook steps"));
    refused(&observer, "Enter on the Steps pane", &["5", "Enter"], &ro("run steps"));
    refused(&observer, "y, then Enter, on the Steps pane", &["y", "Enter"], &ro("run steps"));
    refused(&observer, "r (retry)", &["r"], &ro("retry steps"));
    refused(&observer, "s (skip)", &["s"], &ro("skip steps"));
    refused(&observer, "x (abort the step)", &["x"], &ro("abort steps"));
    refused(&observer, "X (abort the runbook)", &["X"], &ro("abort the runbook"));
    refused(&observer, "o (override the lag guard)", &["o"], &ro("override the lag guard"));
    observer.keys(&["a"]);
    observer.wait_for("the actions menu", Duration::from_secs(5), |s| s.contains("Proposed operations"));
    close(&observer, "Proposed operations");
    refused(&observer, "a + Enter (the first proposed operation)", &["a", "Enter"], &ro("propose steps"));
    refused(&observer, "T (take command)", &["T"], &ro("take the commander lock"));
    refused(&observer, "O (override single authority)", &["O"], &ro("override authority"));
    refused(&observer, "R (resolve)", &["R"], &ro("resolve"));
    refused(&observer, "space on the Checklist", &["6", "Space"], &ro("tick checklist items"));
    refused(&observer, "Enter on the Checklist", &["Enter"], &ro("tick checklist items"));
    refused(&observer, "ctrl-r (release command)", &["C-r"], "you do not hold the commander lock");
    // A status update is only a draft here: copied, not posted.
    observer.keys(&["u"]);
    observer.wait_for("the draft", Duration::from_secs(5), |s| s.contains("Status update DRAFT"));
    refused(&observer, "u + Ctrl-S (post a status update)", &["C-s"], "NOT posted or logged");

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
    refused(&observer, "T with the lock free", &["T"], "READ-ONLY console: cannot take the commander lock");
    refused(&observer, "N with the lock free", &["N"], "READ-ONLY console: cannot run runbook steps");
    refused(&observer, "R with the lock free", &["R"], "READ-ONLY console: cannot resolve");
    observer.keys(&["q"]);
    observer.wait_for("the observer to exit", Duration::from_secs(10), |_| observer.pane_dead());

    // The log: the observer wrote its note and nothing else (the commander console only took
    // the lock and observed): no runbook, step, checklist, status update or resolution.
    let all = entries(&log);
    let kinds = kinds(&log);
    for kind in EXECUTION.iter().chain(&WRITES) {
        assert!(!kinds.iter().any(|k| k == kind), "{kind} in the log of a read-only session:\n{kinds:?}");
    }
    let notes: Vec<&Value> = all.iter().filter(|e| e["kind"] == "note").collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["details"]["text"], note);
    let took = all.iter().filter(|e| e["kind"] == "commander" && e["details"]["event"] == "took").count();
    assert_eq!(took, 1, "only the commander console took the lock: {kinds:?}");
}

/// The tmux name of a key as the keymap spells it (`enter`, `ctrl-r`, `N`).
fn tmux_key(k: &str) -> String {
    match k {
        "enter" => "Enter".into(),
        "esc" => "Escape".into(),
        "tab" => "Tab".into(),
        "backtab" => "BTab".into(),
        "space" => "Space".into(),
        "up" => "Up".into(),
        "down" => "Down".into(),
        "left" => "Left".into(),
        "right" => "Right".into(),
        "pgup" => "PPage".into(),
        "pgdn" => "NPage".into(),
        "home" => "Home".into(),
        "end" => "End".into(),
        "backspace" => "BSpace".into(),
        k => match k.strip_prefix("ctrl-") {
            Some(c) => format!("C-{c}"),
            None => k.to_string(),
        },
    }
}

/// Every binding of the default keymap: (layer, key as the keymap spells it, action).
fn default_bindings() -> Vec<(String, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("keymaps/default.toml");
    let doc: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let mut out = Vec::new();
    for (layer, list) in &doc {
        for b in list.as_array().expect("a layer is a list") {
            let run = b["run"].as_str().unwrap().to_string();
            let keys = match &b["on"] {
                toml::Value::String(k) => vec![k.clone()],
                toml::Value::Array(a) => a.iter().map(|k| k.as_str().unwrap().to_string()).collect(),
                other => panic!("on = {other}"),
            };
            out.extend(keys.into_iter().map(|k| (layer.clone(), k, run.clone())));
        }
    }
    out
}

/// Nothing open, no flash, keys not being dropped: the footer ends with its last hint.
fn calm(screen: &str) -> bool {
    let f = footer(screen).trim_end();
    let f =
        f.rsplit_once(" ! ").map_or(f, |(before, after)| if after.contains("warning") { before } else { f });
    f.trim_end().ends_with("q quit")
}

fn to_calm(t: &Tmux, after: &str) {
    for _ in 0..20 {
        if calm(&t.capture()) {
            return;
        }
        t.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("the console did not come back to calm after {after}:\n{}", t.capture());
}

fn warroom(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", data)
        .output()
        .expect("run warroom")
}

#[test]
fn every_key_of_the_default_keymap_and_every_cli_path_of_a_read_only_console_writes_only_notes() {
    let data = tempfile::tempdir().unwrap();
    // A commander starts db-failover (step #1 done, step #2 ready), then leaves.
    let commander = console(data.path(), &DRILL);
    commander.wait_for("the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    commander.wait_for("the primary down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    commander.keys(&["b"]);
    commander.wait_for("the picker", Duration::from_secs(5), |s| s.contains("Runbooks (Enter"));
    commander.keys(&["Enter"]);
    commander.wait_for("step #1's confirmation", Duration::from_secs(5), |s| s.contains("Confirm step #1"));
    commander.keys(&["y"]);
    commander.wait_for("step #1 done", Duration::from_secs(20), |s| s.contains("db-failover 1/"));
    commander.keys(&["q"]);
    commander.wait_for("the commander to exit", Duration::from_secs(10), |_| commander.pane_dead());
    let log = incident_log(data.path());
    let id = log.file_stem().unwrap().to_string_lossy().into_owned();

    let mut args = vec!["--read-only"];
    args.extend_from_slice(&DRILL);
    args.extend_from_slice(&["--incident", &id]);
    let observer = console(data.path(), &args);
    let screen =
        observer.wait_for("the observer", Duration::from_secs(20), |s| s.contains("COMMANDER: free"));
    assert!(screen.contains("db-failover 1/"), "the runbook in progress is shown:\n{screen}");
    let before = entries(&log).len();

    let bindings = default_bindings();
    assert!(bindings.len() > 50, "{bindings:?}");
    let mut tried = 0;
    for (layer, key, run) in &bindings {
        if run == "quit" {
            continue; // pressed last
        }
        let open = match layer.as_str() {
            "steps" | "confirm" => Some(("5", None)),
            "checklist" => Some(("6", None)),
            "actions" => Some(("a", Some("Proposed operations"))),
            "help" => Some(("?", Some("Help"))),
            _ => None,
        };
        if let Some((k, shown)) = open {
            observer.keys(&[k]);
            if let Some(marker) = shown {
                observer
                    .wait_for(&format!("{layer} to open"), Duration::from_secs(5), |s| s.contains(marker));
            }
        }
        observer.keys(&[&tmux_key(key)]);
        // Answer whatever it opened as someone who means it: text, Enter, then y.
        std::thread::sleep(Duration::from_millis(150));
        observer.type_text("pg-1 12");
        observer.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(150));
        observer.keys(&["y"]);
        to_calm(&observer, &format!("{key} ({run}) in {layer}"));
        tried += 1;
    }
    assert!(observer.capture().contains("READ-ONLY"), "still the observer");

    // Every CLI path that writes, with --read-only.
    for kind in ["resolved", "checklist", "status-update", "runbook-started", "step-confirmed"] {
        let out = warroom(data.path(), &["--read-only", "log", "append", &id, "--kind", kind]);
        assert_eq!(out.status.code(), Some(3), "log append --kind {kind}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("writes notes only"), "{out:?}");
    }
    let out = warroom(data.path(), &["--read-only", "log", "append", &id, "--summary", "cli note"]);
    assert_eq!(out.status.code(), Some(0), "a note from the command line: {out:?}");
    let out = warroom(
        data.path(),
        &[
            "--read-only",
            "exec",
            "db-failover",
            "--incident",
            &id,
            "--drill",
            "primary-db-down",
            "--confirm",
            "postgresql-1",
            "--yes-low-risk",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "exec: {out:?}");
    let logs_before = std::fs::read_dir(data.path().join("incidents")).unwrap().count();
    let live_config = data.path().join("live.toml");
    std::fs::write(&live_config, "[incident]\n").unwrap();
    let live_config = live_config.to_string_lossy().into_owned();
    for declare in [
        &["--read-only", "drill", "--scenario", "calm"][..],
        &["--read-only", "--config", &live_config, "--new", "observer's own"],
    ] {
        // Through a shell that prints the exit code and stays (the message would go with the pane).
        let mut cmd = vec!["sh", "-c", "\"$0\" \"$@\"; echo EXIT=$?; sleep 60", BIN];
        cmd.extend_from_slice(declare);
        let t = Tmux::start(120, 30, &cmd, &[("WARROOM_DATA_DIR", data.path()), ("HOME", data.path())]);
        let s = t.wait_for("the refusal", Duration::from_secs(10), |s| s.contains("EXIT="));
        assert!(s.contains("cannot declare one") && s.contains("EXIT=2"), "{declare:?}:\n{s}");
    }
    assert_eq!(
        std::fs::read_dir(data.path().join("incidents")).unwrap().count(),
        logs_before,
        "nothing declared"
    );

    // Barrier: a note typed now is written after anything the keys above caused.
    observer.keys(&["n"]);
    observer.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    observer.type_text("observer: last entry");
    observer.keys(&["Enter"]);
    observer.wait_for("the barrier note", Duration::from_secs(10), |_| {
        entries(&log)
            .last()
            .is_some_and(|e| e["summary"].as_str().unwrap_or_default().contains("observer: last entry"))
    });
    observer.keys(&["q"]);
    observer.wait_for("the observer to exit", Duration::from_secs(10), |_| observer.pane_dead());
    let added: Vec<Value> = entries(&log)[before..].to_vec();
    // Leaving closes the observer's flight-recorder segment: a `recording` entry, written by
    // its exit, not by a key. Every key wrote notes only.
    assert!(added.iter().any(|e| e["kind"] == "recording"), "the observer's recording is logged at exit");
    let kinds: Vec<&str> =
        added.iter().map(|e| e["kind"].as_str().unwrap_or_default()).filter(|k| *k != "recording").collect();
    assert!(kinds.iter().all(|k| *k == "note"), "{tried} keys tried; the log gained {kinds:?}");
    assert!(kinds.len() >= 3, "the notes themselves were written: {kinds:?}");
    let out = warroom(data.path(), &["log", "verify", &id]);
    assert!(out.status.success(), "{out:?}");
}
