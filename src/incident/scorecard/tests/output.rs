//! What shows the scorecard: the export (Markdown and JSON), `drill --history` and the overlay's
//! lines.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::super::*;
use super::{ALICE, BOB, Log, assert_down, bad_run, good_run, primary_db_down, promote, t0};
use crate::incident::entry::EntryKind;

fn export_meta(drill: bool) -> crate::incident::export::ExportMeta {
    crate::incident::export::ExportMeta {
        id: "INC-20261206-030000".into(),
        title: "Drill: primary-db-down".into(),
        severity: "SEV2".into(),
        drill,
        declared_at: t0(),
        resolved_at: None,
    }
}

#[test]
fn the_export_has_a_scorecard_section_per_trainee_in_markdown_and_json() {
    use crate::incident::export::{export_json_scored, export_markdown, export_markdown_scored};
    let (l, _) = bad_run();
    let def = primary_db_down();
    let md = export_markdown_scored(&export_meta(true), &l.entries, Some(&def));
    assert!(md.contains("## Scorecard\n"), "{md}");
    assert!(md.contains("Scored against the objectives of scenario `primary-db-down`"), "{md}");
    assert!(md.contains("### `alice@lab`: -10 / 85\n"), "{md}");
    assert!(md.contains("| RTO | 895.0 s, target 600 s: missed | +0 / 30 | #17 03:15:00 |"), "{md}");
    assert!(md.contains("| dangerous attempt | override taken | -5 | #5 03:00:25 |"), "{md}");
    assert!(
        md.contains("- you promoted postgresql-2; the safe candidate was postgresql-1 (\\#8 at 03:00:27)"),
        "{md}"
    );
    // Before the generic closing sections.
    assert!(md.find("## Scorecard").unwrap() < md.find("## Root cause").unwrap());
    // No scenario, or a live incident: no section.
    assert!(!export_markdown(&export_meta(true), &l.entries).contains("## Scorecard"));
    assert!(!export_markdown_scored(&export_meta(false), &l.entries, Some(&def)).contains("## Scorecard"));

    let json: Value =
        serde_json::from_str(&export_json_scored(&export_meta(true), &l.entries, Some(&def))).unwrap();
    let cards = json["scorecards"].as_array().expect("scorecards");
    assert_eq!(cards.len(), 1);
    assert_eq!((cards[0]["total"].as_i64(), cards[0]["max"].as_u64()), (Some(-10), Some(85)));
    assert_eq!(cards[0]["operator"], ALICE);
    assert_eq!(cards[0]["debrief"].as_array().map(Vec::len), Some(9));
    assert_eq!(cards[0]["debrief"][0]["rule"], "precheck-refused");
    assert_eq!(cards[0]["debrief"][0]["entry"]["seq"], 4);
    assert_eq!(cards[0]["checklist"][0]["status"], json!({"late": 100}));
    assert_eq!(cards[0]["lines"][0]["objective"], "RTO");
}

/// Write `l`'s entries after its `declared` one into a new drill incident declared by `who`
/// `ago` seconds ago (each writer's entries written as that writer). Returns the incident id.
fn write_incident(data: &std::path::Path, who: &str, ago: i64, l: &Log) -> String {
    use crate::incident::log::{IncidentLog, LogMode};
    let at = Utc::now() - Duration::seconds(ago);
    let (_, meta) = IncidentLog::declare(data, "Drill: primary-db-down", "SEV2", true, who, at).unwrap();
    for e in l.entries.iter().filter(|e| e.kind != EntryKind::Declared) {
        let writer = if e.operator == ALICE { who } else { e.operator.as_str() };
        let (log, _, _) = IncidentLog::open_as(data, &meta.id, writer, LogMode::Drill).unwrap();
        log.append(&e.kind, &e.summary, e.details.clone()).unwrap();
    }
    meta.id
}

#[test]
fn drill_history_shows_each_operators_score_and_rto_trend_per_scenario() {
    use crate::incident::history::{drill_history, drill_history_scored, render_text};
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    // Alice: a good run, then a bad one; Bob: a good one. Ticks land right after the
    // declaration, so every tick is on time; the bad run still misses notify-stakeholders.
    let a1 = write_incident(&data, ALICE, 30, &good_run());
    let a2 = write_incident(&data, ALICE, 20, &bad_run().0);
    let b1 = write_incident(&data, BOB, 10, &good_run());
    let h = drill_history_scored(&data, &|entries| {
        assert_eq!(scenario_id(entries).as_deref(), Some("primary-db-down"));
        Some(primary_db_down())
    })
    .unwrap();
    assert_eq!(h.runs.len(), 3);
    let who: Vec<(&str, &str)> =
        h.trends.iter().map(|t| (t.scenario.as_str(), t.operator.as_str())).collect();
    assert_eq!(who, vec![("primary-db-down", ALICE), ("primary-db-down", BOB)]);
    let alice = &h.trends[0];
    let runs: Vec<(&str, Option<i64>, Option<f64>)> =
        alice.runs.iter().map(|r| (r.incident.as_str(), r.score, r.rto_secs)).collect();
    assert_eq!(runs, vec![(a1.as_str(), Some(85), Some(75.0)), (a2.as_str(), Some(-5), Some(895.0))]);
    let score = alice.score.unwrap();
    assert_eq!((score.best, score.median, score.last), (85.0, 40.0, Some(-5.0)));
    let rto = alice.rto_secs.unwrap();
    assert_eq!((rto.best, rto.median, rto.last), (75.0, 485.0, Some(895.0)));
    assert_eq!(h.trends[1].runs[0].incident, b1);

    let text = render_text(&h);
    assert!(text.contains("Trend per operator and scenario (oldest first):\n"), "{text}");
    assert!(
        text.contains(
            "primary-db-down  alice@lab  2 drill(s): score 85/85 → -5/85 (best 85, median 40.0, last -5); RTO 75.0 s → 895.0 s (best 75.0 s, median 485.0 s, last 895.0 s)\n"
        ),
        "{text}"
    );
    assert!(text.contains("primary-db-down  bob@lab  1 drill(s): score 85/85 (best 85"), "{text}");
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["trends"][0]["score"]["median"], 40.0);
    assert_eq!(json["trends"][0]["runs"][1]["score"], -5);

    // Without the scenario's objectives: RTO trends only, by the result's operator.
    let plain = drill_history(&data).unwrap();
    assert!(plain.trends.iter().all(|t| t.score.is_none()));
    assert!(render_text(&plain).contains("primary-db-down  alice@lab  2 drill(s); RTO 75.0 s → 895.0 s"));
}

#[test]
fn the_overlay_shows_every_trainees_card_once_the_drill_is_over() {
    let def = primary_db_down();
    let mut l = Log::new();
    l.step(40, BOB, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-1"));
    assert_eq!(overlay_lines(&l.entries, &def), None, "not over: no result, not resolved");
    l.push(60, ALICE, EntryKind::Resolved, "resolved", json!({"summary": "done"}));
    let lines = overlay_lines(&l.entries, &def).expect("resolved");
    let heads: Vec<&String> = lines.iter().filter(|l| l.starts_with("Scorecard: ")).collect();
    assert_eq!(heads.len(), 2, "{lines:#?}");
    assert!(heads[0].contains(BOB) && heads[1].contains(ALICE));
    assert!(lines.contains(&String::new()), "a blank line between cards");
    // Recovered and not resolved: over too; withdrawn: not.
    let mut l = good_run();
    assert!(ended(&l.entries));
    l.push(200, ALICE, EntryKind::MitigationWithdrawn, "w", json!({}));
    assert!(!ended(&l.entries));
}
