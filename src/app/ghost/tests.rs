use chrono::{TimeZone, Utc};

use super::*;

fn promote(node: &str) -> Operation {
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: "127.0.0.1:5432".into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    }
}

fn fence(node: &str) -> Operation {
    Operation::FencePostgres { node: node.into(), endpoint: "127.0.0.1:5432".into() }
}

#[test]
fn same_kind_and_target_match_and_anything_else_differs() {
    assert_eq!(compare(Some(&promote("postgresql-1")), &promote("postgresql-1")), Match::Same);
    assert_eq!(compare(Some(&promote("postgresql-2")), &promote("postgresql-1")), Match::DifferentTarget);
    assert_eq!(compare(Some(&fence("postgresql-1")), &promote("postgresql-1")), Match::DifferentOp);
    assert_eq!(compare(None, &promote("postgresql-1")), Match::Skipped);
    // Parameters that are not the target do not make a difference.
    let mut lagged = promote("postgresql-1");
    if let Operation::PromotePostgres { max_lag_bytes, .. } = &mut lagged {
        *max_lag_bytes = 1024;
    }
    assert_eq!(compare(Some(&lagged), &promote("postgresql-1")), Match::Same);
    assert_eq!(describe(&promote("postgresql-1")), "promote postgresql-1");
    assert_eq!(describe(&Operation::CheckPrimary), "check-primary");
    use crate::operation::assertion::Assertion;
    let down = Operation::Assert { check: Assertion::PrimaryDown };
    assert_eq!(describe(&down), "assert primary-down");
    let region = |r: &str| Operation::Assert { check: Assertion::RegionDown { region: r.into() } };
    assert_eq!(describe(&region("us-east-1")), "assert region-down us-east-1");
    assert_eq!(compare(Some(&region("us-west-2")), &region("us-east-1")), Match::DifferentTarget);
    assert_eq!(compare(Some(&down), &region("us-east-1")), Match::DifferentTarget, "both assert");
}

#[test]
fn scale_targets_differ_by_replicas_and_weights_by_value() {
    let scale = |n| Operation::ScaleDeployment {
        context: "c".into(),
        namespace: "prod".into(),
        deployment: "api".into(),
        replicas: n,
    };
    assert_eq!(compare(Some(&scale(3)), &scale(3)), Match::Same);
    assert_eq!(compare(Some(&scale(0)), &scale(3)), Match::DifferentTarget);
    let weights = |w: u8| Operation::SetRoute53Weights {
        zone: "Z".into(),
        record: "api.example.com".into(),
        endpoint: "http://127.0.0.1:1".into(),
        weights: vec![("us-east-1".into(), w), ("us-west-2".into(), 100 - w)],
    };
    assert_eq!(compare(Some(&weights(0)), &weights(0)), Match::Same);
    assert_eq!(compare(Some(&weights(50)), &weights(0)), Match::DifferentTarget);
}

fn line(vs: Match, vs_runbook: Option<Match>) -> DecisionLine {
    DecisionLine {
        step: 1,
        at: Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap(),
        original: "promote postgresql-1".into(),
        original_title: "Promote postgresql-1".into(),
        chosen: (vs != Match::Skipped).then(|| "promote postgresql-2".into()),
        vs_original: vs,
        expected: vs_runbook.map(|_| "promote postgresql-1".into()),
        vs_runbook,
        points: points(vs),
    }
}

#[test]
fn the_card_totals_points_per_match_and_renders_every_decision() {
    let card = GhostCard::new(
        "INC-1",
        "primary down",
        "alice@lab",
        "bob@lab",
        vec![
            line(Match::Same, Some(Match::Same)),
            line(Match::DifferentTarget, Some(Match::DifferentTarget)),
            line(Match::DifferentOp, None),
            line(Match::Skipped, Some(Match::Skipped)),
        ],
    );
    assert_eq!((card.total, card.max, card.matched()), (POINTS_PER_MATCH, 4 * POINTS_PER_MATCH, 1));
    let text = render_text(&card);
    assert_eq!(text[0], "Ghost card: alice@lab — primary down (INC-1)");
    assert!(text[1].starts_with("SCORE 10 / 40  (10 points per decision matching bob@lab's"), "{}", text[1]);
    let decisions: Vec<&String> = text.iter().filter(|l| l.starts_with("  decision")).collect();
    assert_eq!(decisions.len(), 4, "{text:#?}");
    assert!(decisions[0].contains("+10 / 10") && decisions[0].contains("matched"), "{}", decisions[0]);
    assert!(decisions[1].contains("+0 / 10") && decisions[1].contains("differed"), "{}", decisions[1]);
    assert!(decisions[1].ends_with("different target"), "{}", decisions[1]);
    assert!(decisions[2].ends_with("different op"), "{}", decisions[2]);
    assert!(decisions[3].contains("you (passed)") && decisions[3].ends_with("skipped"), "{}", decisions[3]);
    assert!(text.contains(&"      no runbook plan applied here".to_string()));
    assert_eq!(text.last().map(String::as_str), Some("Matched: 1 of 4"));
    let json = serde_json::to_string(&card).expect("json");
    assert_eq!(serde_json::from_str::<GhostCard>(&json).expect("back"), card);
    assert!(json.contains("\"vs_original\":\"different-target\""), "{json}");
}

#[test]
fn an_empty_card_scores_nothing_of_nothing() {
    let card = GhostCard::new("INC-1", "t", "a", "b", Vec::new());
    assert_eq!((card.total, card.max, card.matched()), (0, 0, 0));
}
