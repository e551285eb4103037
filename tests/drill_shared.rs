//! One estate per drill incident, end to end: the real binary in tmux, two and three consoles on
//! one drill. The consoles that join show the host's estate (identical Database panes), steps
//! done anywhere show everywhere with one numbering, a joined calm drill stays calm, and a host
//! that exits leaves the joined consoles failed until another console hosts the estate; a
//! checklist tick or untick on one console shows on the other.

mod support {
    #![allow(dead_code)]
    pub mod tmux;
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::tmux::Tmux;
use warroom::incident::entry::EntryKind;

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

/// The rows of the Database pane (below its title line, above its bottom border).
fn database_rows(screen: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let Some((top, col)) = lines.iter().enumerate().find_map(|(i, l)| {
        let s: String = l.iter().collect();
        let byte = s.find("Database")?;
        Some((i, s[..byte].chars().count().checked_sub(2)?))
    }) else {
        return Vec::new();
    };
    lines[top + 1..]
        .iter()
        .map(|l| l.iter().skip(col).collect::<String>())
        .take_while(|r| !r.starts_with('└'))
        .collect()
}

/// Capture the consoles back to back until their Database panes are identical (a snapshot may
/// land between two captures); returns the rows, or panics with every screen after `limit`.
fn identical_database(consoles: &[&Tmux], limit: Duration) -> Vec<String> {
    let start = Instant::now();
    loop {
        let screens: Vec<String> = consoles.iter().map(|t| t.capture()).collect();
        let rows: Vec<Vec<String>> = screens.iter().map(|s| database_rows(s)).collect();
        if !rows[0].is_empty() && rows.iter().all(|r| *r == rows[0]) {
            return rows[0].clone();
        }
        if start.elapsed() > limit {
            panic!("Database panes differ after {limit:?}:\n{}", screens.join("\n------\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn shows_step_done(screen: &str, id: u64) -> bool {
    let tag = format!("#{id} ");
    screen.lines().any(|l| l.contains(&tag) && l.contains("done"))
}

fn entries(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect()
}

fn quit(t: &Tmux) {
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(10), |_| t.pane_dead());
}

#[test]
fn two_then_three_consoles_share_the_estate_the_steps_and_one_numbering() {
    let data = tempfile::tempdir().unwrap();
    let host = start(data.path(), &["drill", "--scenario", "primary-db-down", "--speed", "4"]);
    host.wait_for("the host to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let (id, log) = incident(data.path());
    // No --scenario: the joined console takes the incident's.
    let joined = start(data.path(), &["drill", "--incident", &id]);
    for t in [&host, &joined] {
        t.wait_for("the primary to go down", Duration::from_secs(30), |s| {
            s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
        });
    }
    let rows = identical_database(&[&host, &joined], Duration::from_secs(1));
    assert!(rows.iter().any(|r| r.contains("no writable primary")), "{rows:#?}");

    // A console that is not the commander proposes nothing (refused before any step exists).
    joined.keys(&["a"]);
    joined.choose_action("Promote postgresql-1");
    joined.wait_for("the refusal", Duration::from_secs(5), |s| s.contains("not the commander"));
    joined.keys(&["Escape"]);
    // It takes command and proposes the promotion, then cancels at the typed confirmation: the
    // step exists, numbered first by the incident's one allocator.
    take_command(&joined);
    joined.keys(&["a"]);
    joined.choose_action("Promote postgresql-1");
    joined.wait_for("the confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    joined.keys(&["Escape"]);
    host.wait_for("the takeover banner", Duration::from_secs(5), |s| s.contains("COMMAND TAKEN by"));
    take_command(&host);

    // A third console, read-only, joins.
    let trainee = start(data.path(), &["--read-only", "drill", "--incident", &id]);
    trainee.wait_for("the trainee's panes", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });

    // The commander promotes: its step gets the next number, not the joined console's.
    host.keys(&["a"]);
    host.choose_action("Promote postgresql-1");
    host.wait_for("the confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    host.type_text("postgresql-1");
    host.keys(&["Enter"]);
    host.wait_for("step #2 done on the commander", Duration::from_secs(20), |s| shows_step_done(s, 2));
    let done_at = Instant::now();
    let mut lag = BTreeMap::new();
    for (name, t) in [("joined", &joined), ("read-only", &trainee)] {
        t.wait_for("step #2 done on the other consoles", Duration::from_secs(5), |s| shows_step_done(s, 2));
        lag.insert(name, done_at.elapsed());
    }
    println!("step done on the commander -> shown done on the others (capture every 100 ms): {lag:?}");
    assert!(lag.values().all(|d| *d < Duration::from_secs(1)), "{lag:?}");

    // One estate: the promoted primary everywhere, panes identical within a second.
    for t in [&joined, &trainee] {
        t.wait_for("the promoted primary", Duration::from_secs(10), |s| {
            s.lines().any(|l| l.contains("postgresql-1") && l.contains("primary"))
        });
    }
    let rows = identical_database(&[&host, &joined, &trainee], Duration::from_secs(1));
    assert!(!rows.iter().any(|r| r.contains("no writable primary")), "{rows:#?}");

    // The host exits: the others fail with the reason; the next console to join hosts the
    // estate again, resumed with the promotion, and the others follow it.
    quit(&host);
    for t in [&joined, &trainee] {
        t.wait_for("the host's exit", Duration::from_secs(5), |s| s.contains("drill host exited"));
    }
    let new_host = start(data.path(), &["drill", "--incident", &id]);
    let promoted = |s: &str| {
        !s.contains("drill host exited")
            && s.lines().any(|l| l.contains("postgresql-1") && l.contains("primary"))
    };
    for t in [&new_host, &joined, &trainee] {
        t.wait_for("the resumed estate with its promoted primary", Duration::from_secs(20), promoted);
    }
    identical_database(&[&new_host, &joined, &trainee], Duration::from_secs(1));

    for t in [&trainee, &joined, &new_host] {
        quit(t);
    }
    let all = entries(&log);
    let previewed: Vec<u64> = all
        .iter()
        .filter(|e| e["kind"] == "step-previewed")
        .map(|e| e["details"]["step"].as_u64().expect("step id"))
        .collect();
    assert_eq!(previewed, vec![1, 2], "one numbering across consoles");
    let verified: Vec<&serde_json::Value> = all.iter().filter(|e| e["kind"] == "step-verified").collect();
    assert_eq!(verified.len(), 1, "only the console that executed the step verifies it: {verified:#?}");
    // Only the host records observations: each change of the primary is recorded once.
    let events: Vec<&str> = all
        .iter()
        .filter(|e| e["kind"] == "observation" && e["details"]["source"] == "postgres")
        .filter_map(|e| e["details"]["event"].as_str())
        .collect();
    let count = |what: &str| events.iter().filter(|e| **e == what).count();
    assert_eq!(count("primary-down"), 1, "{events:?}");
    assert_eq!(count("no-primary"), 0, "a joined console logs no first impression of its own: {events:?}");
    assert_eq!(count("primary-changed"), 1, "{events:?}");
    let estates: Vec<&serde_json::Value> = all.iter().filter(|e| e["kind"] == "drill-estate").collect();
    assert_eq!(estates.len(), 2, "declared, then resumed by the new host; none by joined consoles");
    assert_eq!(estates[1]["details"]["reapplied"], 1, "the promotion was re-applied: {estates:#?}");
    let out =
        Command::new(BIN).args(["log", "verify", &id]).env("WARROOM_DATA_DIR", data.path()).output().unwrap();
    assert!(out.status.success(), "log verify: {}", String::from_utf8_lossy(&out.stdout));
}

/// `T`, answering the takeover question with `y` when it is asked (a holder seen live), until
/// the header says this console holds the lock.
fn take_command(t: &Tmux) {
    t.keys(&["T"]);
    let answered = std::cell::Cell::new(false);
    t.wait_for("command taken", Duration::from_secs(5), |s| {
        if !answered.get() && s.contains("Take it over?") {
            answered.set(true);
            t.keys(&["y"]);
        }
        s.contains("COMMANDER: you")
    });
}

#[test]
fn a_joined_calm_drill_stays_calm_and_a_host_that_exits_is_replaced() {
    let data = tempfile::tempdir().unwrap();
    let host = start(data.path(), &["drill", "--scenario", "calm", "--speed", "20"]);
    host.wait_for("the host to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let (id, log) = incident(data.path());
    // The joined console's own default scenario (primary-db-down) must not leak in.
    let joined = start(data.path(), &["drill", "--incident", &id]);
    // 20x speed: by T+00:05 of the incident the estate has run 100 s, far past the moment
    // primary-db-down strikes; the joined console shows the host's healthy primary.
    joined.wait_for("five seconds of the drill", Duration::from_secs(30), |s| {
        s.lines().next().is_some_and(|l| l.contains("T+00:05") || l.contains("T+00:06"))
    });
    let rows = identical_database(&[&host, &joined], Duration::from_secs(1));
    assert!(rows.iter().any(|r| r.contains("postgresql-0") && r.contains("primary")), "{rows:#?}");
    assert!(!rows.iter().any(|r| r.contains("DOWN")), "{rows:#?}");

    // The host exits: the joined console's panes fail with the reason.
    quit(&host);
    joined.wait_for("the host's exit", Duration::from_secs(5), |s| s.contains("drill host exited"));
    // A console that joins now hosts the estate again; the first joined console follows it.
    let new_host = start(data.path(), &["drill", "--incident", &id]);
    new_host.wait_for("the new host's panes", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("primary"))
    });
    joined.wait_for("the joined console to follow the new host", Duration::from_secs(10), |s| {
        !s.contains("drill host exited")
            && s.lines().any(|l| l.contains("postgresql-0") && l.contains("primary"))
    });
    for t in [&joined, &new_host] {
        quit(t);
    }
    let all = entries(&log);
    let estates: Vec<&serde_json::Value> = all.iter().filter(|e| e["kind"] == "drill-estate").collect();
    assert_eq!(estates.len(), 2, "declared, then resumed by the new host: {estates:#?}");
    assert!(estates.iter().all(|e| e["details"]["scenario"] == "calm"), "{estates:#?}");
    assert_eq!(estates[1]["details"]["restart"], true);
    assert!(!all.iter().any(
        |e| e["kind"] == "observation" && e["summary"].as_str().is_some_and(|s| s.contains("went down"))
    ));
}

/// Step ids from the log's allocator: consoles racing (separate handles, as separate processes
/// have) never get the same id, and the follower tells a console's own entries from others'.
#[test]
fn step_ids_are_unique_across_log_handles_and_the_follower_knows_its_own_entries() {
    use warroom::incident::log::IncidentLog;
    let data = tempfile::tempdir().unwrap();
    let (first, meta) =
        IncidentLog::declare(data.path(), "t", "SEV2", true, "a@h", chrono::Utc::now()).expect("declare");
    let handles: Vec<IncidentLog> = (0..4)
        .map(|i| IncidentLog::open(data.path(), &meta.id, &format!("c{i}@h")).expect("open").0)
        .collect();
    let ids: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = handles
            .iter()
            .map(|log| {
                s.spawn(move || (0..50).map(|_| log.allocate_step_id(1).expect("id")).collect::<Vec<_>>())
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    let unique: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 200, "no id given twice");
    assert_eq!(unique.iter().next_back(), Some(&200));
    assert_eq!(handles[0].allocate_step_id(500).expect("id"), 500, "never below what the caller has seen");
    assert_eq!(handles[1].allocate_step_id(1).expect("id"), 501);

    let mut follower = first.follower();
    let mine = first.append(&EntryKind::Note, "mine", serde_json::json!({})).expect("append");
    let theirs = handles[2].append(&EntryKind::Note, "theirs", serde_json::json!({})).expect("append");
    let seen = follower.poll_new();
    let own: Vec<(u64, bool)> = seen.iter().map(|e| (e.seq, follower.take_own(e.seq))).collect();
    assert_eq!(own, vec![(mine.seq, true), (theirs.seq, false)]);
}

/// Entry propagation (the path every step entry takes to the other consoles): a note written
/// on one console until it is drawn on another, against the entry's own timestamp. Printed.
#[test]
fn entries_reach_the_other_console_within_a_second() {
    let data = tempfile::tempdir().unwrap();
    let host = start(data.path(), &["drill", "--scenario", "calm", "--speed", "4"]);
    host.wait_for("the host to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let (id, log) = incident(data.path());
    let joined = start(data.path(), &["drill", "--incident", &id]);
    joined.wait_for("the joined console's panes", Duration::from_secs(20), |s| s.contains("postgresql-0"));
    let mut took = Vec::new();
    for k in 0..20 {
        let text = format!("probe-{k:02}");
        // Spread the writes over the follower's 250 ms poll (each probe starts right after the
        // previous one was seen, which would always land at the same phase).
        std::thread::sleep(Duration::from_millis(k * 53 % 250));
        host.keys(&["n"]);
        host.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
        host.type_text(&text);
        host.keys(&["Enter"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        let shown = loop {
            if joined.capture().contains(&text) {
                break chrono::Utc::now();
            }
            assert!(Instant::now() < deadline, "{text} never reached the joined console");
            std::thread::sleep(Duration::from_millis(10));
        };
        let written = entries(&log)
            .into_iter()
            .find(|e| e["kind"] == "note" && e["details"]["text"] == text.as_str())
            .and_then(|e| e["ts"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok()))
            .expect("the note is in the log");
        took.push((shown - written).to_std().unwrap_or_default());
    }
    took.sort();
    let (p50, p99) = (took[10], took[19]);
    println!("entry propagation console -> console over 20: p50 {p50:?} p99 {p99:?} (capture every 10 ms)");
    assert!(p99 < Duration::from_secs(1), "{took:?}");
    for t in [&joined, &host] {
        quit(t);
    }
}

/// A checklist tick (and an untick) on one console shows on the other, which did not write it.
#[test]
fn a_checklist_tick_and_untick_on_one_console_show_on_the_other() {
    let data = tempfile::tempdir().unwrap();
    let host = start(data.path(), &["drill", "--scenario", "calm", "--speed", "4"]);
    host.wait_for("the host to hold the lock", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let (id, log) = incident(data.path());
    let joined = start(data.path(), &["drill", "--incident", &id]);
    joined.wait_for("the joined console's checklist", Duration::from_secs(20), |s| {
        s.contains("[ ] Alert the on-call team")
    });
    // The first item is selected when the Checklist pane is focused: tick it on the host.
    host.keys(&["6", "Enter"]);
    host.wait_for("the tick prompt", Duration::from_secs(5), |s| s.contains("Tick 'Alert the on-call team'"));
    host.type_text("paged");
    host.keys(&["Enter"]);
    joined.wait_for("the host's tick", Duration::from_secs(5), |s| s.contains("[x] Alert the on-call team"));
    // Untick it on the host: a reason, then y.
    host.keys(&["Enter"]);
    host.wait_for("the untick prompt", Duration::from_secs(5), |s| {
        s.contains("Untick 'Alert the on-call team'")
    });
    host.type_text("wrong team");
    host.keys(&["Enter"]);
    host.wait_for("the y/n", Duration::from_secs(5), |s| {
        s.contains("Untick 'Alert the on-call team', ticked at")
    });
    host.keys(&["y"]);
    joined
        .wait_for("the host's untick", Duration::from_secs(5), |s| s.contains("[ ] Alert the on-call team"));
    for t in [&joined, &host] {
        quit(t);
    }
    let ticks: Vec<serde_json::Value> = entries(&log)
        .into_iter()
        .filter(|e| e["kind"] == "checklist" && e["details"]["item"] == "alert-oncall")
        .map(|e| e["details"].clone())
        .collect();
    assert_eq!(
        ticks,
        [
            serde_json::json!({ "drill": true, "item": "alert-oncall", "note": "paged" }),
            serde_json::json!({ "drill": true, "item": "alert-oncall", "undone": true, "note": "wrong team" }),
        ],
        "the host wrote one tick and one untick; the joined console wrote none"
    );
}
