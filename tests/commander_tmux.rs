//! The commander lock end to end: the real binary in tmux, two consoles on one drill incident
//! (a takeover reaches the old holder's header within a second, with a banner); and a holder
//! killed with -9 whose lock a console on the same host takes at once, not after the ttl.

mod support {
    #![allow(dead_code)]
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn console(data: &Path, extra: &[&str]) -> Tmux {
    let mut cmd = vec![BIN];
    cmd.extend_from_slice(extra);
    cmd.extend_from_slice(&["drill", "--scenario", "primary-db-down", "--speed", "4"]);
    Tmux::start(120, 40, &cmd, &[("WARROOM_DATA_DIR", data), ("HOME", data)])
}

fn join(data: &Path, extra: &[&str], id: &str) -> Tmux {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["drill", "--scenario", "primary-db-down", "--speed", "4", "--incident", id]);
    let mut cmd = vec![BIN];
    cmd.extend_from_slice(&args);
    Tmux::start(120, 40, &cmd, &[("WARROOM_DATA_DIR", data), ("HOME", data)])
}

fn incident(data: &Path) -> (String, PathBuf) {
    let dir = data.join("incidents");
    let log = std::fs::read_dir(&dir)
        .expect("incidents dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("one incident log");
    (log.file_stem().unwrap().to_string_lossy().into_owned(), log)
}

/// The holder recorded in the lock file: (identity, expires_at).
fn recorded_holder(data: &Path, id: &str) -> Option<(String, DateTime<Utc>)> {
    let text = std::fs::read_to_string(data.join("incidents").join(format!("{id}.commander"))).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).expect("lock file is JSON");
    let h = v.get("holder").filter(|h| !h.is_null())?;
    Some((h["identity"].as_str()?.to_string(), h["expires_at"].as_str()?.parse().ok()?))
}

fn primary_down(t: &Tmux) {
    t.wait_for("the primary to go down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
}

#[test]
fn second_console_shows_the_holder_refuses_to_confirm_and_takes_over_explicitly() {
    let data = tempfile::tempdir().unwrap();
    let first = console(data.path(), &[]);
    first.wait_for("the first console to hold the lock", Duration::from_secs(20), |s| {
        s.contains("COMMANDER: you")
    });
    let first_pid = first.pane_pid();
    let (id, log) = incident(data.path());
    let (identity, _) = recorded_holder(data.path(), &id).expect("a holder is recorded");
    assert!(identity.ends_with(&format!(" pid {first_pid}")), "{identity}");

    let second = join(data.path(), &[], &id);
    let tag = format!("pid {first_pid} (expires in");
    let screen = second.wait_for("the second console to show the holder", Duration::from_secs(20), |s| {
        s.contains("COMMANDER: ") && s.contains(&tag)
    });
    assert!(!screen.contains("COMMANDER: you"), "{screen}");
    primary_down(&second);
    second.keys(&["a"]);
    second.choose_action("Promote postgresql-1");
    let tag1 = format!("not the commander (held by {identity}): cannot propose steps");
    let screen = second.wait_for("the refusal", Duration::from_secs(5), |s| s.contains(&tag1));
    assert!(!screen.contains("type postgresql-1"), "no confirm dialog on the second console:\n{screen}");
    // Keys typed right after a refusal are dropped until Esc (or 1.5 s without a key).
    second.keys(&["Escape"]);
    second.wait_for("keys to act again", Duration::from_secs(5), |s| !s.contains(&tag1));

    // The holder gets the dialog for the same step.
    primary_down(&first);
    first.keys(&["a"]);
    first.choose_action("Promote postgresql-1");
    first
        .wait_for("the holder's confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    first.keys(&["Escape"]);

    // Explicit takeover from the second console: y/n first.
    second.keys(&["T"]);
    second.wait_for("the takeover dialog", Duration::from_secs(5), |s| {
        s.contains("Take over the commander lock")
    });
    second.keys(&["y"]);
    second
        .wait_for("the second console to hold it", Duration::from_secs(10), |s| s.contains("COMMANDER: you"));
    // The old holder's header says so at once, with the time, until it takes command again.
    let seen = Instant::now();
    let second_pid = second.pane_pid();
    let banner =
        format!("COMMAND TAKEN by {} at ", identity.replace(&first_pid.to_string(), &second_pid.to_string()));
    first.wait_for("the takeover banner", Duration::from_secs(5), |s| s.contains(&banner));
    let latency = seen.elapsed();
    println!("takeover reached the old commander's header {} ms after the new one's", latency.as_millis());
    assert!(latency < Duration::from_secs(1), "the takeover took {latency:?} to reach the old commander");
    // The header names the new holder (its expiry may be cut off beside the takeover banner).
    let tag2 = format!("COMMANDER: {}", identity.replace(&first_pid.to_string(), &second_pid.to_string()));
    first.wait_for("the first console to see the new holder", Duration::from_secs(10), |s| s.contains(&tag2));

    second.keys(&["q"]);
    second.wait_for("the second console to exit", Duration::from_secs(10), |_| second.pane_dead());
    first.keys(&["q"]);
    first.wait_for("the first console to exit", Duration::from_secs(10), |_| first.pane_dead());

    let text = std::fs::read_to_string(&log).unwrap();
    let commander: Vec<&str> = text.lines().filter(|l| l.contains("\"kind\":\"commander\"")).collect();
    let find = |what: &str| commander.iter().position(|l| l.contains(what));
    let took = find("took the commander lock").unwrap_or_else(|| panic!("{commander:#?}"));
    let over = find(&format!("taken over from {identity}")).unwrap_or_else(|| panic!("{commander:#?}"));
    let lost = find(&format!(
        "lost: taken over by {}",
        identity.replace(&first_pid.to_string(), &second_pid.to_string())
    ))
    .unwrap_or_else(|| panic!("{commander:#?}"));
    let released = find("released the commander lock").unwrap_or_else(|| panic!("{commander:#?}"));
    assert!(took < over && over < released && lost > took, "{commander:#?}");
    let out =
        Command::new(BIN).args(["log", "verify", &id]).env("WARROOM_DATA_DIR", data.path()).output().unwrap();
    assert!(out.status.success(), "log verify: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_killed_holders_lock_is_released_at_once_on_the_same_host() {
    let data = tempfile::tempdir().unwrap();
    let first = console(data.path(), &[]);
    first.wait_for("the first console to hold the lock", Duration::from_secs(20), |s| {
        s.contains("COMMANDER: you")
    });
    let (id, log) = incident(data.path());
    let pid = first.pane_pid();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "warroom", "the pane runs the binary itself");
    let ok = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(ok.success());
    let killed = Utc::now();
    let (identity, expires_at) = recorded_holder(data.path(), &id).expect("a holder is recorded");
    assert!(identity.ends_with(&format!("pid {pid}")), "{identity}");
    assert!(expires_at > killed + chrono::Duration::seconds(20), "the default 30 s ttl: {expires_at}");

    // A console started now on the same host takes the lock at start, without a takeover.
    let start = Instant::now();
    let second = join(data.path(), &[], &id);
    let s = second
        .wait_for("the second console to hold it", Duration::from_secs(15), |s| s.contains("COMMANDER: you"));
    let took = start.elapsed();
    println!("lock of the killed holder taken {} ms after the second console started", took.as_millis());
    assert!(Utc::now() < expires_at, "taken before the dead claim's ttl ran out");
    assert!(!s.contains("Take over the commander lock"), "{s}");
    let (identity, _) = recorded_holder(data.path(), &id).expect("a holder is recorded");
    assert!(identity.ends_with(&format!("pid {}", second.pane_pid())), "{identity}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("taken over from"), "no takeover of a dead holder is logged");
    second.keys(&["q"]);
    second.wait_for("the console to exit", Duration::from_secs(10), |_| second.pane_dead());
    assert_eq!(recorded_holder(data.path(), &id), None, "released at exit");
}
