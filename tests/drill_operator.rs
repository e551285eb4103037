//! `warroom drill --operator NAME`: the name is validated (one clear line, exit 2, nothing
//! written), shown in the header and recorded in every entry the console writes.

mod support {
    #![allow(dead_code)]
    pub mod tmux;
}

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn run(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", data)
        .stdin(Stdio::null())
        .output()
        .expect("run warroom");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_bad_operator_name_is_one_line_exit_2_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let long = "x".repeat(65);
    for (name, why) in [
        ("", "the name is empty"),
        (long.as_str(), "65 characters long, at most 64"),
        ("al\u{1b}[2Jice", "non-printable character U+001B"),
    ] {
        let (code, err) = run(data.path(), &["drill", "--scenario", "calm", "--operator", name]);
        assert_eq!(code, Some(2), "{name:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{name:?}: {err}");
        assert!(err.starts_with("warroom: --operator: ") && err.contains(why), "{name:?}: {err}");
        assert!(!err.contains('\u{1b}'), "{err:?}");
    }
    assert!(!data.path().join("incidents").exists(), "nothing declared");
}

#[test]
fn the_operator_name_is_in_the_header_and_every_entry_the_console_writes() {
    let data = tempfile::tempdir().unwrap();
    let cmd = [BIN, "drill", "--scenario", "calm", "--operator", "trainee-7"];
    let t = Tmux::start(140, 45, &cmd, &[("WARROOM_DATA_DIR", data.path()), ("HOME", data.path())]);
    let screen =
        t.wait_for("the console to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("trainee-7"), "{screen}");
    // A note, so the console writes an entry on the operator's behalf.
    t.keys(&["n"]);
    t.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    t.type_text("looking at the panes");
    t.keys(&["Enter"]);
    let log = support::tmux::incident_log_file(data.path());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let entries: Vec<serde_json::Value> =
            text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        if entries.iter().any(|e| e["kind"] == "note") {
            break entries;
        }
        assert!(std::time::Instant::now() < deadline, "no note logged:\n{text}\n{}", t.capture());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(entries.len() >= 3, "{entries:#?}");
    for e in &entries {
        assert_eq!(e["operator"], "trainee-7", "{e}");
    }
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(10), |_| t.pane_dead());
}
