//! End to end: the real binary in tmux, driven with keys, read with `capture-pane`, as a person
//! would use it; then the incident log it wrote.

mod support {
    pub mod tmux;
}

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn drill(w: u16, h: u16, data: &Path, scenario: &str) -> Tmux {
    Tmux::start(
        w,
        h,
        &[BIN, "drill", "--scenario", scenario, "--speed", "4"],
        &[("WARROOM_DATA_DIR", data), ("HOME", data)],
    )
}

/// The one incident log (`*.jsonl`; the commander lock files live beside it).
fn incident_log_path(data: &Path) -> std::path::PathBuf {
    support::tmux::incident_log_file(data)
}

fn incident_log(data: &Path) -> String {
    std::fs::read_to_string(incident_log_path(data)).expect("log")
}

#[test]
fn operator_promotes_the_replica_through_the_confirm_dialog() {
    let data = tempfile::tempdir().unwrap();
    let t = drill(120, 40, data.path(), "primary-db-down");
    t.wait_for("the primary to go down", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    t.keys(&["a"]);
    t.choose_action("Promote postgresql-1");
    let dialog =
        t.wait_for("the confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    assert!(dialog.contains("pg_promote(wait => true"), "the dialog shows the exact call:\n{dialog}");
    assert!(dialog.contains("✓ old primary down or fenced"), "prechecks are shown:\n{dialog}");
    // A wrong name does not confirm.
    t.type_text("postgresql-2");
    t.keys(&["Enter"]);
    let screen = t.wait_for("the mismatch message", Duration::from_secs(5), |s| s.contains("does not match"));
    assert!(screen.contains("type postgresql-1"), "the dialog stays open:\n{screen}");
    for _ in 0.."postgresql-2".len() {
        t.keys(&["BSpace"]);
    }
    t.type_text("postgresql-1");
    t.keys(&["Enter"]);
    let screen = t.wait_for("the Database pane to show the new primary", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-1") && l.contains("primary") && !l.contains("Promote"))
            && s.contains("✓ done")
    });
    assert!(screen.contains("DRILL"), "the screen says DRILL:\n{screen}");
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(5), |_| t.pane_dead());

    let log = incident_log(data.path());
    for kind in [
        "\"declared\"",
        "\"step-previewed\"",
        "\"step-confirmed\"",
        "\"step-executing\"",
        "\"step-verified\"",
    ] {
        assert!(log.contains(kind), "log lacks {kind}:\n{log}");
    }
    let confirmed = log.find("\"step-confirmed\"").unwrap();
    let executing = log.find("\"step-executing\"").unwrap();
    let result = log.find("\"step-result\"").unwrap();
    assert!(confirmed < executing && executing < result, "intent is logged before the result");
    assert!(
        log.lines().all(|l| l.contains("\"drill\":true") || l.contains("DRILL")),
        "every line says DRILL"
    );
    let id = incident_log_path(data.path());
    let id = id.file_stem().unwrap().to_string_lossy().to_string();
    let out =
        Command::new(BIN).args(["log", "verify", &id]).env("WARROOM_DATA_DIR", data.path()).output().unwrap();
    assert!(out.status.success(), "log verify: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn compact_layout_at_80x24_and_too_small_message_and_resize() {
    let data = tempfile::tempdir().unwrap();
    let t = drill(80, 24, data.path(), "calm");
    let screen = t.wait_for("the compact screen", Duration::from_secs(15), |s| {
        s.contains("Pods") && s.contains("Database") && s.contains("Sentinel") && s.contains("Traffic")
    });
    assert!(screen.contains("T+00:"), "the incident clock is shown:\n{screen}");
    assert!(screen.lines().count() <= 24 && screen.lines().all(|l| l.chars().count() <= 80));
    t.resize(40, 10);
    let small =
        t.wait_for("the too-small message", Duration::from_secs(5), |s| s.contains("terminal too small"));
    assert!(small.contains("need 60x16"), "{small}");
    t.resize(120, 40);
    let big = t.wait_for("the full layout again", Duration::from_secs(5), |s| {
        s.contains("Checklist") && s.contains("Steps")
    });
    assert!(!big.contains("terminal too small"), "redrawn after the resize:\n{big}");
    // The help overlay is generated from the keymap.
    t.keys(&["?"]);
    t.wait_for("help", Duration::from_secs(5), |s| s.contains("Getting started"));
    // The keys follow the getting-started text and the legend: page down to them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !t.capture().contains("Focus the next pane") {
        assert!(Instant::now() < deadline, "no key description in the help:\n{}", t.capture());
        // One page at a time, each drawn before the next (no page skipped unseen).
        let before = help_lines(&t.capture());
        t.keys(&["NPage"]);
        t.wait_for("the help to scroll", Duration::from_secs(5), |s| {
            s.contains("▲ lines") && help_lines(s) != before
        });
    }
    // End shows the last page; one key up moves at once (no overscroll to climb back from),
    // also after the terminal shrank with the help open.
    for (w, h) in [(120, 40), (80, 24)] {
        t.resize(w, h);
        // The help is drawn at the new size (a page is the height less 4 lines) before End.
        t.wait_for("the help at the new size", Duration::from_secs(5), |s| {
            help_lines(s).is_some_and(|(first, last, _)| last + 1 - first == usize::from(h) - 4)
        });
        t.keys(&["End"]);
        let end = t.wait_for("the help's last page", Duration::from_secs(5), |s| {
            help_lines(s).is_some_and(|(_, last, total)| last == total)
        });
        let (first, _, total) = help_lines(&end).expect("position");
        for _ in 0..3 {
            t.keys(&["End"]);
        }
        t.keys(&["k"]);
        t.wait_for("one line up", Duration::from_secs(5), |s| {
            help_lines(s) == Some((first - 1, total - 1, total))
        });
    }
    t.keys(&["q"]); // closes help
    t.wait_for("help to close", Duration::from_secs(5), |s| !s.contains("Focus the next pane"));
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(5), |_| t.pane_dead());
}

/// The help's position, `lines FIRST-LAST of TOTAL`, from its bottom border.
fn help_lines(screen: &str) -> Option<(usize, usize, usize)> {
    let at = screen.find("lines ")? + "lines ".len();
    let mut words = screen[at..].split_whitespace();
    let (first, last) = words.next()?.split_once('-')?;
    let total = words.nth(1)?.trim_end_matches(',');
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

#[test]
fn killing_the_session_ends_the_console_promptly() {
    let data = tempfile::tempdir().unwrap();
    let t = drill(100, 30, data.path(), "calm");
    t.wait_for("the console", Duration::from_secs(15), |s| s.contains("Database"));
    let pid = t.pane_pid();
    drop(t); // kill-server: the pty goes away (EOF/EIO on the tty, SIGHUP)
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break; // exited, waiting to be reaped
        }
        if start.elapsed() > Duration::from_secs(2) {
            let tasks: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|d| {
                    d.flatten()
                        .map(|t| {
                            let p = t.path();
                            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
                            let wchan = std::fs::read_to_string(p.join("wchan")).unwrap_or_default();
                            format!("{} {wchan}", comm.trim())
                        })
                        .collect()
                })
                .unwrap_or_default();
            panic!("warroom still running 2 s after its terminal went away: {stat} threads: {tasks:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
