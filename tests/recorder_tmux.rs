//! The flight recorder end to end: a drill console in tmux records what it applied; the
//! incident log records each segment's hash; `warroom log verify` passes, and fails naming
//! the segment once one byte of it changes; the recording decodes and replays through the
//! core to the state the console showed.

mod support {
    #[allow(dead_code)] // resize and pane_pid are not used here
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::tmux::Tmux;
use warroom::app::Action;
use warroom::app::recording::{self, genesis_state};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn warroom(data: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", data)
        .output()
        .expect("warroom runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn incident_id(data: &Path) -> String {
    let log = support::tmux::incident_log_file(data);
    log.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_drill_console_records_a_verified_replayable_recording() {
    let data = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        120,
        40,
        &[BIN, "drill", "--scenario", "primary-db-down", "--speed", "4"],
        &[("WARROOM_DATA_DIR", data.path()), ("HOME", data.path())],
    );
    t.wait_for("the primary to go down", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    // A note with a secret in it: typed, submitted, logged redacted.
    t.keys(&["n"]);
    t.wait_for("the note prompt", Duration::from_secs(5), |s| s.to_lowercase().contains("note"));
    t.type_text("primary down, password=hunter2hunter2");
    t.keys(&["Enter"]);
    t.wait_for("the note in the log pane", Duration::from_secs(5), |s| s.contains("note primary down"));
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(10), |_| t.pane_dead());

    let id = incident_id(data.path());
    let consoles = recording::consoles(data.path(), &id);
    assert_eq!(consoles.len(), 1, "one console recorded: {consoles:?}");
    let segs: Vec<PathBuf> = consoles[0].segments.clone();
    assert!(!segs.is_empty());
    let log = std::fs::read_to_string(support::tmux::incident_log_file(data.path())).unwrap();
    assert!(log.contains("\"kind\":\"recording\""), "the closed segment is in the log:\n{log}");
    for seg in &segs {
        let bytes = std::fs::read(seg).unwrap();
        let hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        assert!(log.contains(&hash), "{} hash {hash} in the log", seg.display());
    }

    let (code, out) = warroom(data.path(), &["log", "verify", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{} recording segment(s) verified", segs.len())), "{out}");

    // The recording decodes and replays through the core to what the console showed.
    let rec = recording::read(&consoles[0]).expect("decodes");
    assert_eq!(rec.genesis.id, id);
    assert_eq!(rec.genesis.size, (120, 40), "the terminal size at start");
    assert!(
        rec.torn.is_none() && !rec.open && rec.dropped == 0,
        "{:?} {} {}",
        rec.torn,
        rec.open,
        rec.dropped
    );
    assert!(rec.actions.iter().any(|(_, a)| matches!(a, Action::Kube(_))));
    assert!(
        rec.actions.iter().any(|(_, a)| matches!(a, Action::Command(warroom::command::Command::Quit))),
        "the quit key is recorded"
    );
    assert_eq!(genesis_state(&rec.genesis).domain.incident.id, id);
    let mut state = rec.initial_state();
    for (now, action) in rec.actions.iter().cloned() {
        let _ = warroom::app::update(&mut state, action, now);
    }
    assert!(state.view.quit, "the replayed quit key quits");
    let db = state.domain.observed.database.value.as_ref().expect("database snapshot replayed");
    assert!(
        db.nodes.iter().any(|n| n.name == "postgresql-0" && n.role == warroom::backends::model::PgRole::Down),
        "the replay saw the primary down: {db:?}"
    );
    assert!(
        state.domain.log_tail.iter().any(|l| l.summary.contains("primary down, password=***")),
        "the note, redacted, is in the replayed log pane"
    );
    let plain = format!("{:?}", rec.actions);
    assert!(!plain.contains("hunter2"), "the typed secret is not in the recording");

    // One byte changed in a segment: verify fails, naming it.
    let target = &segs[0];
    let mut bytes = std::fs::read(target).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(target, &bytes).unwrap();
    let (code, out) = warroom(data.path(), &["log", "verify", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TAMPERED OR DAMAGED") && out.contains(&target.display().to_string()), "{out}");
}
