//! The commander lock end to end: the real binary in tmux, two consoles on one drill incident;
//! and a holder killed with -9 whose lock expires (and not before).

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
    let screen =
        second.wait_for("the refusal", Duration::from_secs(5), |s| s.contains("holds the commander lock"));
    assert!(!screen.contains("type postgresql-1"), "no confirm dialog on the second console:\n{screen}");

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
    let second_pid = second.pane_pid();
    let tag2 = format!("pid {second_pid} (expires in");
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
fn killed_holders_lock_expires_and_a_second_console_takes_it_then_not_before() {
    let data = tempfile::tempdir().unwrap();
    let cfg = data.path().join("warroom.toml");
    std::fs::write(&cfg, "[commander]\nttl_secs = 3\n").unwrap();
    let cfg_arg = cfg.to_string_lossy().into_owned();
    let first = console(data.path(), &["--config", &cfg_arg]);
    first.wait_for("the first console to hold the lock", Duration::from_secs(20), |s| {
        s.contains("COMMANDER: you")
    });
    let (id, _) = incident(data.path());
    let pid = first.pane_pid();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "warroom", "the pane runs the binary itself");
    let ok = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(ok.success());
    let (identity, expires_at) = recorded_holder(data.path(), &id).expect("a holder is recorded");
    assert!(identity.ends_with(&format!("pid {pid}")), "{identity}");

    let second = join(data.path(), &["--config", &cfg_arg], &id);
    // While the dead holder's claim lasts, the second console sees it and a take asks first.
    let tag = format!("pid {pid} (expires in");
    second.wait_for("the dead holder's claim", Duration::from_secs(20), |s| s.contains(&tag));
    if Utc::now() < expires_at - chrono::Duration::milliseconds(500) {
        second.keys(&["T"]);
        let s = second.wait_for("the takeover dialog", Duration::from_secs(3), |s| {
            s.contains("Take over the commander lock") || s.contains("COMMANDER: free")
        });
        if s.contains("Take over the commander lock") {
            second.keys(&["n"]);
        }
    }
    // Once expired, it shows free (not before), and T takes it without a takeover dialog.
    let start = Instant::now();
    second.wait_for("the lock to expire", Duration::from_secs(10), |s| s.contains("COMMANDER: free"));
    let freed_at = Utc::now();
    assert!(freed_at >= expires_at, "shown free at {freed_at}, before the expiry at {expires_at}");
    assert!(start.elapsed() < Duration::from_secs(8));
    second.keys(&["T"]);
    let s = second
        .wait_for("the second console to hold it", Duration::from_secs(10), |s| s.contains("COMMANDER: you"));
    assert!(!s.contains("Take over the commander lock"), "{s}");
    let (identity, _) = recorded_holder(data.path(), &id).expect("a holder is recorded");
    assert!(identity.ends_with(&format!("pid {}", second.pane_pid())), "{identity}");
    second.keys(&["q"]);
    second.wait_for("the console to exit", Duration::from_secs(10), |_| second.pane_dead());
    assert_eq!(recorded_holder(data.path(), &id), None, "released at exit");
}
