//! The facilitator console and two trainees on one drill, the real binary in tmux: pause
//! freezes every clock on every console (T+, checklist countdowns, pod ages, lag, freshness)
//! and resume moves them again; an injected fault reaches both trainees' panes within 1 s; a
//! hint appears in both trainees' hint boxes; ending the drill resolves the incident.

mod support {
    #![allow(dead_code)]
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn start(data: &Path, args: &[&str]) -> Tmux {
    let mut cmd = vec![BIN];
    cmd.extend_from_slice(args);
    Tmux::start(140, 45, &cmd, &[("WARROOM_DATA_DIR", data), ("HOME", data)])
}

fn incident(data: &Path) -> (String, PathBuf) {
    let log = std::fs::read_dir(data.join("incidents"))
        .expect("incidents dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("one incident log");
    (log.file_stem().unwrap().to_string_lossy().into_owned(), log)
}

/// What a screen shows of every clock: the whole screen but the PAUSED badge (it counts how
/// long the pause lasts).
fn clocks(screen: &str) -> String {
    let mut out = String::new();
    for line in screen.lines() {
        let line = match line.find(" PAUSED ") {
            Some(i) => {
                let rest = &line[i + 8..];
                let end = rest.find(' ').unwrap_or(rest.len());
                format!("{}{}", &line[..i], &rest[end..])
            }
            None => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The `T+mm:ss` of a screen's header.
fn t_plus(screen: &str) -> String {
    let first = screen.lines().next().unwrap_or_default();
    first.split_whitespace().find(|w| w.starts_with("T+")).unwrap_or_default().to_string()
}

fn entries(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect()
}

#[test]
fn a_facilitator_pauses_injects_hints_and_ends_a_drill_two_trainees_see_it() {
    let data = tempfile::tempdir().unwrap();
    let fac = start(data.path(), &["drill", "--facilitate", "--scenario", "calm"]);
    fac.wait_for("the facilitator console", Duration::from_secs(20), |s| s.contains("FACILITATOR"));
    let (id, log) = incident(data.path());
    let trainees: Vec<Tmux> = ["ann", "bob"]
        .iter()
        .map(|who| start(data.path(), &["drill", "--incident", &id, "--operator", who]))
        .collect();
    for t in &trainees {
        t.wait_for("the trainee's panes", Duration::from_secs(30), |s| {
            s.lines().any(|l| l.contains("postgresql-2")) && t_plus(s).as_str() >= "T+00:03"
        });
    }
    // The facilitator never takes command (it confirms no step): a trainee does, on joining.
    let holder = |s: &str| {
        s.lines()
            .next()
            .and_then(|l| l.split("COMMANDER: ").nth(1))
            .map(|r| r.split(' ').next().unwrap_or("").to_string())
    };
    let held = fac.wait_for("a trainee to hold command", Duration::from_secs(10), |s| {
        holder(s).is_some_and(|h| h == "ann" || h == "bob")
    });
    let who = holder(&held).expect("a holder");
    let commander = &trainees[if who == "ann" { 0 } else { 1 }];
    commander.wait_for("command on the trainee", Duration::from_secs(5), |s| s.contains("COMMANDER: you"));

    // A trainee cannot pause.
    trainees[0].keys(&["P"]);
    trainees[0].wait_for("the refusal", Duration::from_secs(5), |s| s.contains("not the facilitator"));

    // Pause: every console shows PAUSED, and then nothing moves for 2.5 s on any of them.
    fac.keys(&["P"]);
    let all: Vec<&Tmux> = std::iter::once(&fac).chain(trainees.iter()).collect();
    for t in &all {
        t.wait_for("PAUSED", Duration::from_secs(3), |s| s.contains(" PAUSED "));
    }
    // The follower may deliver the pause a little after the badge shows on the facilitator:
    // take the reference once each console has shown the same frame twice, 300 ms apart.
    let settle = |t: &Tmux| {
        let start = Instant::now();
        let mut prev = clocks(&t.capture());
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = clocks(&t.capture());
            if now == prev {
                return now;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "the screen keeps changing while paused");
            prev = now;
        }
    };
    let frozen: Vec<String> = all.iter().map(|t| settle(t)).collect();
    let start = Instant::now();
    let mut captures = 0;
    while start.elapsed() < Duration::from_millis(2500) {
        for (t, f) in all.iter().zip(&frozen) {
            let now = clocks(&t.capture());
            assert_eq!(&now, f, "a clock moved while paused (after {:?})", start.elapsed());
            captures += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("paused: {captures} captures over 2.5 s on 3 consoles, every clock identical");
    let paused_at = t_plus(&trainees[0].capture());

    // Resume: the clocks move again.
    fac.keys(&["P"]);
    for t in &trainees {
        t.wait_for("T+ to move after resume", Duration::from_secs(5), |s| {
            !s.contains(" PAUSED ") && t_plus(s) > paused_at
        });
    }

    // Inject a fault: both trainees see postgresql-2 down within 1 s.
    fac.keys(&["I"]);
    fac.wait_for("the kind menu", Duration::from_secs(5), |s| s.contains("Inject a fault: kind"));
    fac.keys(&["Enter"]);
    fac.wait_for("the target menu", Duration::from_secs(5), |s| s.contains("Inject node-crash: target"));
    fac.keys(&["Down", "Down", "Enter"]);
    fac.wait_for("the returns menu", Duration::from_secs(5), |s| s.contains("on postgresql-2: returns"));
    fac.keys(&["Enter"]);
    let sent = Instant::now();
    let down = |s: &str| s.lines().any(|l| l.contains("postgresql-2") && l.contains("DOWN"));
    let mut seen = Vec::new();
    for t in &trainees {
        t.wait_for("the injected fault", Duration::from_secs(5), down);
        seen.push(sent.elapsed());
    }
    println!("injected fault shown on both trainees' panes after {seen:?}");
    assert!(seen.iter().all(|d| *d < Duration::from_secs(1)), "{seen:?}");

    // A hint reaches both trainees' hint boxes; the facilitator's other entries do not show
    // in their Log panes.
    fac.keys(&["W"]);
    fac.wait_for("the hint prompt", Duration::from_secs(5), |s| s.contains("Hint for the trainees"));
    fac.type_text("Look at the replicas");
    fac.keys(&["Enter"]);
    for t in &trainees {
        let s = t.wait_for("the hint", Duration::from_secs(5), |s| {
            s.contains("HINT 1") && s.contains("Look at the replicas")
        });
        assert!(!s.contains("facilitator injected"), "a trainee sees the injection entry:\n{s}");
    }

    // End the drill: y, then the log says ended and resolved.
    fac.keys(&["E"]);
    fac.wait_for("the end confirmation", Duration::from_secs(5), |s| s.contains("End the drill"));
    fac.keys(&["y"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let e = entries(&log);
        let ended = e.iter().any(|e| e["kind"] == "facilitator" && e["details"]["action"] == "end");
        if ended && e.iter().any(|e| e["kind"] == "resolved") {
            break;
        }
        assert!(Instant::now() < deadline, "no end and resolved entries: {e:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every console leaves for the scorecard overlay.
    for t in &all {
        t.wait_for("the scorecard", Duration::from_secs(10), |s| s.contains("SCORECARD"));
    }
    // The trainee who held command is scored (a trainee who wrote nothing leaves no trace in
    // the log to score), never the facilitator; and any key leaves the overlay.
    let cards = trainees[0].capture();
    assert!(cards.contains(&format!("Scorecard: {who}")), "{cards}");
    assert!(!fac.capture().contains("Scorecard: uid"), "the facilitator has no card");
    for t in &all {
        t.keys(&["q"]);
        t.wait_for("the console to exit after the scorecard", Duration::from_secs(10), |_| t.pane_dead());
    }
    let e = entries(&log);
    let actions: Vec<&str> = e
        .iter()
        .filter(|e| e["kind"] == "facilitator")
        .filter_map(|e| e["details"]["action"].as_str())
        .collect();
    assert_eq!(actions, ["pause", "resume", "inject", "hint", "end"]);
}

#[test]
fn a_facilitator_that_joins_a_drill_hosted_elsewhere_pauses_its_estate() {
    let data = tempfile::tempdir().unwrap();
    let host = start(data.path(), &["drill", "--scenario", "calm", "--operator", "ann"]);
    host.wait_for("the host's panes", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-2"))
    });
    let (id, log) = incident(data.path());
    let fac = start(data.path(), &["drill", "--facilitate", "--incident", &id]);
    fac.wait_for("the facilitator console", Duration::from_secs(20), |s| s.contains("FACILITATOR"));
    fac.keys(&["P"]);
    host.wait_for("PAUSED on the host", Duration::from_secs(3), |s| s.contains(" PAUSED "));
    // The host's estate itself stopped: its Database pane and clocks stand still for 2 s.
    let reference = clocks(&host.capture());
    let start = Instant::now();
    let mut last = reference.clone();
    let mut settled = false;
    while start.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(200));
        let now = clocks(&host.capture());
        if now != last {
            assert!(start.elapsed() < Duration::from_secs(1), "the host's screen moved while paused");
            last = now;
            continue;
        }
        settled = true;
    }
    assert!(settled, "the host's screen never settled");
    fac.keys(&["P"]);
    host.wait_for("the resume", Duration::from_secs(3), |s| !s.contains(" PAUSED "));
    let e = entries(&log);
    let by_facilitator: Vec<&str> = e
        .iter()
        .filter(|e| e["kind"] == "facilitator")
        .filter_map(|e| e["details"]["action"].as_str())
        .collect();
    assert_eq!(by_facilitator, ["pause", "resume"]);
}
