//! Ghost mode end to end: a drill console in tmux promotes postgresql-1 (recorded by the flight
//! recorder); `warroom replay ID --as-trainee --operator alice` stops before that decision with
//! "What would you do next?", the trainee promotes postgresql-1 with the same keys, the screen
//! says SAME, and on exit the card is printed and written beside the recording while the
//! incident log stays byte-identical.

mod support {
    #[allow(dead_code)] // resize and pane_pid are not used here
    pub mod tmux;
}

use std::time::Duration;

use support::tmux::Tmux;
use warroom::app::ghost::{GhostCard, Match};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

#[test]
fn a_trainee_replays_a_recorded_promotion_and_gets_a_card() {
    let data = tempfile::tempdir().unwrap();
    let env = [("WARROOM_DATA_DIR", data.path()), ("HOME", data.path())];
    let t = Tmux::start(120, 40, &[BIN, "drill", "--scenario", "primary-db-down", "--speed", "4"], &env);
    t.wait_for("the primary to go down", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    });
    t.keys(&["a"]);
    t.choose_action("Promote postgresql-1");
    t.wait_for("the confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    t.type_text("postgresql-1");
    t.keys(&["Enter"]);
    t.wait_for("the promotion done", Duration::from_secs(20), |s| s.contains("✓ done"));
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(5), |_| t.pane_dead());
    drop(t);

    let log_path = support::tmux::incident_log_file(data.path());
    let id = log_path.file_stem().unwrap().to_string_lossy().into_owned();
    let log_before = std::fs::read(&log_path).unwrap();

    let cmd = [BIN, "replay", &id, "--as-trainee", "--operator", "alice"];
    let t = Tmux::start(120, 40, &cmd, &env);
    t.wait_for("the replay", Duration::from_secs(10), |s| s.contains("GHOST MODE"));
    t.keys(&["Enter"]);
    t.wait_for("the question", Duration::from_secs(5), |s| s.contains("What would you do next?"));
    t.keys(&["a"]);
    t.choose_action("Promote postgresql-1");
    t.wait_for("the fork's confirm dialog", Duration::from_secs(5), |s| s.contains("type postgresql-1"));
    t.type_text("postgresql-1");
    t.keys(&["Enter"]);
    let shown =
        t.wait_for("the comparison", Duration::from_secs(5), |s| s.contains("You: promote postgresql-1"));
    assert!(shown.contains("SAME") && shown.contains("+10 points"), "{shown}");
    // The scenario's plan (db-failover) would first confirm that the primary is down.
    assert!(shown.contains("the runbook's plan expected assert primary-down: different op"), "{shown}");
    t.keys(&["C-c"]);
    // Dead first, then read the screen: a screen captured before the exit may lack the last lines.
    t.wait_for("the replay to exit", Duration::from_secs(10), |_| t.pane_dead());
    let out = t.capture();
    // (The card's first line may scroll off the visible pane when tmux adds "Pane is dead".)
    assert!(out.contains("SCORE 10 / 10"), "{out}");
    assert!(out.contains("Card written to"), "{out}");

    assert_eq!(std::fs::read(&log_path).unwrap(), log_before, "the incident log is byte-identical");
    let rec_dir = log_path.with_file_name(format!("{id}.rec"));
    let cards: Vec<_> = std::fs::read_dir(&rec_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ghost-alice-")))
        .collect();
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card: GhostCard = serde_json::from_slice(&std::fs::read(&cards[0]).unwrap()).unwrap();
    assert_eq!((card.incident.as_str(), card.operator.as_str()), (id.as_str(), "alice"));
    assert_eq!(card.decisions.len(), 1, "{card:#?}");
    assert_eq!(card.decisions[0].vs_original, Match::Same);
    assert_eq!(card.decisions[0].original, "promote postgresql-1");
}
