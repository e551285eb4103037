//! The scorecard end to end: a headless primary-db-down drill (the real driver, runner and
//! drill estate) run well and run badly, its log scored against the scenario's objectives.

mod support;

use std::time::Duration;

use serde_json::json;
use support::headless::{Headless, OPERATOR};
use warroom::app::{Action, PaneId, StepStatus, TextEdit};
use warroom::backends::drill::DrillEstate;
use warroom::backends::drill::scenario::ScenarioDef;
use warroom::backends::model::PgRole;
use warroom::command::Command;
use warroom::incident::entry::{Entry, EntryKind};
use warroom::incident::scorecard::{Timeliness, render_text, score, scorecards};
use warroom::operation::Operation;

/// The drill's speed (sim seconds per wall second).
const SPEED: f64 = 5.0;

/// primary-db-down's objectives (built here until the scenario registry embeds the file).
fn primary_db_down() -> ScenarioDef {
    toml::from_str(
        r#"
id = "primary-db-down"
title = "Primary database down"
description = "postgresql-0 crashes into CrashLoopBackOff; it comes back writable later."
runbooks = ["db-failover"]
[objectives]
rto = "10m"
max-data-loss = 1048576
promote = "postgresql-1"
fence = true
checklist-on-time = ["alert-oncall"]
forbidden = [{ op = "fence", target = "postgresql-1", why = "it is the node the Service routes to" }]
"#,
    )
    .expect("scenario def")
}

/// A drill console as `warroom drill` sets it up (600 s RTO target, 2 s settle period).
async fn console() -> (Headless, DrillEstate) {
    let estate = DrillEstate::new("primary-db-down", SPEED, 1).expect("drill");
    let mut cfg = estate.config();
    cfg.drill.rto_target_secs = Some(600);
    cfg.drill.settle_secs = Some(2);
    let mut h = Headless::measured(&estate, cfg, Duration::from_millis(100));
    h.until("the primary is down", Duration::from_secs(10), |s| {
        let db = s.domain.observed.database.value.as_ref();
        db.and_then(|d| d.node("postgresql-0")).is_some_and(|n| n.role == PgRole::Down)
    })
    .await;
    (h, estate)
}

/// The log as a drill incident's file holds it: the `declared` and `drill-estate` entries
/// `warroom drill` writes first, then everything the console wrote.
fn entries(h: &Headless) -> Vec<Entry> {
    let declared_at = h.state.domain.incident.declared_at;
    let head = [
        (EntryKind::Declared, json!({ "drill": true })),
        (EntryKind::DrillEstate, json!({ "scenario": "primary-db-down", "speed": SPEED, "seed": 1 })),
    ];
    let mut out: Vec<Entry> = head
        .into_iter()
        .enumerate()
        .map(|(i, (kind, details))| Entry {
            seq: i as u64 + 1,
            ts: declared_at,
            mono_ms: 0,
            operator: OPERATOR.into(),
            kind,
            summary: String::new(),
            details,
            prev: String::new(),
        })
        .collect();
    out.extend(h.log.entries().into_iter().map(|(intent, line)| Entry {
        seq: line.seq + 2,
        ts: line.at,
        mono_ms: 0,
        operator: line.operator,
        kind: intent.kind,
        summary: intent.summary,
        details: intent.details,
        prev: String::new(),
    }));
    out
}

/// Tick checklist item `id` as an operator does (select it, tick, Enter without a note).
fn tick(h: &mut Headless, id: &str) {
    let i = h.state.domain.checklist.items.iter().position(|x| x.id == id).expect("item");
    h.state.view.focus = PaneId::Checklist;
    h.state.view.selected[PaneId::Checklist.index()] = i;
    h.apply(Action::Command(Command::ChecklistTick));
    h.apply(Action::Text(TextEdit::Submit));
}

/// Propose `op`, type its confirmation word, wait until it is verified.
async fn run_op(h: &mut Headless, op: Operation) -> u64 {
    let word = op.confirm_word();
    let id = h.propose(op, "the test operator");
    h.type_confirm(&word);
    h.until("the step is verified", Duration::from_secs(20), |s| {
        s.domain.step(id).is_some_and(|s| s.status == StepStatus::Done)
    })
    .await;
    id
}

fn fence(h: &Headless, node: &str) -> Operation {
    let pg = h.state.domain.config.postgres.clone().expect("postgres");
    let endpoint = warroom::app::propose::endpoint_of(pg.nodes.iter().find(|n| n.name == node));
    Operation::FencePostgres { node: node.into(), endpoint }
}

fn logged(h: &Headless, kind: EntryKind) -> usize {
    h.log.entries().iter().filter(|(i, _)| i.kind == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_primary_db_down_drill_gets_full_marks() {
    let (mut h, estate) = console().await;
    tick(&mut h, "alert-oncall");
    let outcome = h.run_runbook("db-failover", &[], Duration::from_secs(60)).await;
    assert_eq!(outcome, "completed", "{}", h.gist());
    h.until_with("mitigated", Duration::from_secs(10), |h| logged(h, EntryKind::DrillResult) == 1).await;
    // The old primary comes back writable: the mitigation is withdrawn until it is fenced.
    estate.fast_forward(Duration::from_secs(160));
    h.until_with("withdrawn", Duration::from_secs(10), |h| logged(h, EntryKind::MitigationWithdrawn) == 1)
        .await;
    let op = fence(&h, "postgresql-0");
    run_op(&mut h, op).await;
    h.until_with("mitigated again", Duration::from_secs(10), |h| logged(h, EntryKind::DrillResult) == 2)
        .await;
    assert!(h.flush(Duration::from_secs(5)).await);

    let entries = entries(&h);
    let cards = scorecards(&entries, &primary_db_down());
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    let text = render_text(card).join("\n");
    eprintln!("{text}");
    assert!(card.debrief.is_empty(), "{text}");
    assert_eq!((card.total, card.max), (85 - 5, 85 - 5), "{text}");
    assert_eq!(card.promoted, vec!["postgresql-1"]);
    assert_eq!(card.checklist[0].status, Timeliness::OnTime);
    assert!(card.rto_secs.is_some_and(|r| r > 0.0 && r < 600.0), "{text}");
    let (detect, act) = (card.time_to_detect_secs.unwrap(), card.time_to_first_action_secs.unwrap());
    assert!(0.0 <= detect && detect <= act, "{text}");
    assert_eq!(card.operator.as_deref(), Some(OPERATOR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_primary_db_down_drill_has_its_mistakes_in_the_debrief() {
    let (mut h, estate) = console().await;
    // Straight to promoting postgresql-2 (in another region's cluster), no check of the primary.
    let pg = h.state.domain.config.postgres.clone().expect("postgres");
    let promote = match h.proposals().into_iter().find(|op| matches!(op, Operation::PromotePostgres { .. })) {
        Some(Operation::PromotePostgres { max_lag_bytes, .. }) => Operation::PromotePostgres {
            node: "postgresql-2".into(),
            endpoint: warroom::app::propose::endpoint_of(pg.nodes.iter().find(|n| n.name == "postgresql-2")),
            max_lag_bytes,
            accept_data_loss: None,
        },
        other => panic!("a promotion is proposed: {other:?}"),
    };
    run_op(&mut h, promote).await;
    // Repointing the Service to it: refused by its precheck (the pod is not in this cluster).
    let svc = h
        .proposals()
        .into_iter()
        .find_map(|op| match op {
            Operation::PatchServiceSelector { context, namespace, service, .. } => {
                Some(Operation::PatchServiceSelector {
                    context,
                    namespace,
                    service,
                    pod: "postgresql-2".into(),
                })
            }
            _ => None,
        })
        .expect("a repoint is proposed");
    let refused = h.propose(svc, "the test operator");
    h.until("the repoint is refused", Duration::from_secs(10), |s| {
        s.domain.step(refused).is_some_and(|s| matches!(s.status, StepStatus::Failed { .. }))
    })
    .await;
    // The old primary returns writable: two primaries, never recovered.
    estate.fast_forward(Duration::from_secs(160));
    h.until("postgresql-0 is writable again", Duration::from_secs(10), |s| {
        let db = s.domain.observed.database.value.as_ref();
        db.and_then(|d| d.node("postgresql-0")).is_some_and(|n| n.role == PgRole::Primary)
    })
    .await;
    assert!(h.flush(Duration::from_secs(5)).await);
    assert_eq!(logged(&h, EntryKind::DrillResult), 0, "never mitigated");

    let entries = entries(&h);
    let card = score(&entries, &primary_db_down(), Some(OPERATOR));
    let text = render_text(&card).join("\n");
    eprintln!("{text}");
    let rule_entry = |rule: &str| {
        let d = card.debrief.iter().find(|d| d.rule == rule).unwrap_or_else(|| panic!("no {rule}:\n{text}"));
        d.entry.map(|r| entries[r.seq as usize - 1].kind.clone())
    };
    assert_eq!(rule_entry("promote-before-check"), Some(EntryKind::StepConfirmed));
    assert_eq!(rule_entry("wrong-candidate"), Some(EntryKind::StepExecuting));
    assert_eq!(rule_entry("precheck-refused"), Some(EntryKind::StepFailed));
    assert_eq!(rule_entry("no-fence"), None);
    assert_eq!(rule_entry("not-recovered"), Some(EntryKind::Verdict));
    assert_eq!(rule_entry("checklist-missed"), None);
    assert_eq!(card.debrief.len(), 6, "{text}");
    assert!(text.contains("you promoted postgresql-2; the safe candidate was postgresql-1"), "{text}");
    assert!(text.contains("you promoted postgresql-2 before confirming the primary was down"), "{text}");
    // Nothing met; one dangerous attempt.
    assert_eq!((card.total, card.max, card.dangerous), (-5, 80, 1), "{text}");
    assert_eq!(card.rto_secs, None);
}
