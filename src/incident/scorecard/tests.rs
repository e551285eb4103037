//! The scoring rules on hand-built logs: a known-good run, a known-bad run, each rule state by
//! state.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::backends::drill::scenario::ScenarioDef;
use crate::operation::Operation;
use crate::operation::assertion::Assertion;

mod output;

const ALICE: &str = "alice@lab";
const BOB: &str = "bob@lab";

/// primary-db-down's objectives, built in code until the scenario registry lands.
pub(super) fn primary_db_down() -> ScenarioDef {
    toml::from_str(
        r#"
id = "primary-db-down"
title = "Primary database down"
description = "postgresql-0 crashes."
runbooks = ["db-failover"]
[objectives]
rto = "10m"
max-data-loss = 1048576
promote = "postgresql-1"
fence = true
checklist-on-time = ["alert-oncall", "notify-stakeholders"]
forbidden = [{ op = "fence", target = "postgresql-1", why = "it is the node the Service routes to" }]
"#,
    )
    .expect("scenario def")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap()
}

/// A log under construction.
struct Log {
    entries: Vec<Entry>,
}

impl Log {
    fn new() -> Log {
        let mut l = Log { entries: Vec::new() };
        l.push(0, ALICE, EntryKind::Declared, "declared", json!({"drill": true}));
        l.push(0, ALICE, EntryKind::DrillEstate, "estate", json!({"scenario": "primary-db-down"}));
        l
    }

    fn push(&mut self, at: i64, who: &str, kind: EntryKind, summary: &str, details: Value) -> u64 {
        let seq = self.entries.len() as u64 + 1;
        self.entries.push(Entry {
            seq,
            ts: t0() + Duration::seconds(at),
            mono_ms: at as u64 * 1000,
            operator: who.into(),
            kind,
            summary: summary.into(),
            details,
            prev: "0".repeat(64),
        });
        seq
    }

    /// A step previewed, confirmed, executed and verified from `at` on (one entry a second).
    /// Returns the `step-executing` entry's seq.
    fn step(&mut self, at: i64, who: &str, id: u64, op: Operation) -> u64 {
        let op = serde_json::to_value(op).unwrap();
        let title = format!("step {id}");
        self.push(
            at,
            who,
            EntryKind::StepPreviewed,
            "p",
            json!({"step": id, "op": op, "preview": {"title": title}}),
        );
        self.push(at + 1, who, EntryKind::StepConfirmed, "c", json!({"step": id, "attempt": 1}));
        let exec = self.push(at + 1, who, EntryKind::StepExecuting, "e", json!({"step": id, "op": op}));
        self.push(at + 2, who, EntryKind::StepResult, "r", json!({"step": id, "ok": true}));
        self.push(at + 3, who, EntryKind::StepVerified, "v", json!({"step": id, "verified": "yes"}));
        exec
    }

    fn tick(&mut self, at: i64, who: &str, item: &str) -> u64 {
        self.push(at, who, EntryKind::Checklist, "tick", json!({"item": item}))
    }

    /// The drill-result the tracker logs: fault at T+5 s.
    fn result(&mut self, at: i64, rto: f64, loss: Option<u64>, old: &str, new: &str) -> u64 {
        let d = json!({
            "fault": "primary-db-down",
            "fault_injected_at": (t0() + Duration::seconds(5)).to_rfc3339(),
            "rto_secs": rto,
            "data_loss_bytes": loss,
            "postgres": {"old_primary": old, "new_primary": new},
        });
        self.push(at, ALICE, EntryKind::DrillResult, "DRILL recovered", d)
    }
}

fn assert_down() -> Operation {
    Operation::Assert { check: Assertion::PrimaryDown }
}
fn promote(node: &str) -> Operation {
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: "e:5432".into(),
        max_lag_bytes: 1,
        accept_data_loss: None,
    }
}
fn fence(node: &str) -> Operation {
    Operation::FencePostgres { node: node.into(), endpoint: "e:5432".into() }
}
fn repoint(pod: &str) -> Operation {
    Operation::PatchServiceSelector {
        context: "us-east-1".into(),
        namespace: "db".into(),
        service: "postgresql".into(),
        pod: pod.into(),
    }
}

/// Checks the primary, promotes the safe candidate, fences the old primary, repoints the
/// Service, ticks both items on time; recovered in 75 s losing 200 B.
fn good_run() -> Log {
    let mut l = Log::new();
    l.tick(30, ALICE, "alert-oncall");
    l.step(40, ALICE, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-1"));
    l.step(60, ALICE, 3, fence("postgresql-0"));
    l.step(70, ALICE, 4, repoint("postgresql-1"));
    l.tick(90, ALICE, "notify-stakeholders");
    l.result(95, 75.0, Some(200), "postgresql-0", "postgresql-1");
    l
}

fn rules(card: &Scorecard) -> Vec<&'static str> {
    card.debrief.iter().map(|d| d.rule).collect()
}

fn line<'a>(card: &'a Scorecard, objective: &str) -> &'a ScoreLine {
    card.lines
        .iter()
        .find(|l| l.objective == objective)
        .unwrap_or_else(|| panic!("no {objective}: {card:#?}"))
}

#[test]
fn a_known_good_run_gets_full_marks_and_an_empty_debrief() {
    let l = good_run();
    let card = score(&l.entries, &primary_db_down(), Some(ALICE));
    assert!(card.debrief.is_empty(), "{:#?}", card.debrief);
    // 30 RTO + 20 data loss + 15 promote + 10 fence + 2 x 5 checklist.
    assert_eq!((card.total, card.max), (85, 85), "{:#?}", card.lines);
    assert_eq!(card.lines.len(), 6);
    assert!(card.lines.iter().all(|l| l.points == i64::from(l.max)), "{:#?}", card.lines);
    assert_eq!(card.rto_secs, Some(75.0));
    assert_eq!(card.rto_target_secs, Some(600));
    assert_eq!(card.data_loss_bytes, Some(200));
    assert_eq!(card.promoted, vec!["postgresql-1"]);
    // Fault at T+5; the first tick at T+30 shows she noticed; the first confirmation at T+41.
    assert_eq!(card.time_to_detect_secs, Some(25.0));
    assert_eq!(card.time_to_first_action_secs, Some(36.0));
    assert!(card.checklist.iter().all(|c| c.status == Timeliness::OnTime));
    let text = render_text(&card).join("\n");
    assert!(text.contains("SCORE 85 / 85"), "{text}");
    assert!(text.contains("nothing to correct"), "{text}");
    assert!(text.contains(DETECT_DEFINITION), "{text}");
    assert_eq!(operators(&l.entries), vec![ALICE]);
    assert_eq!(scenario_id(&l.entries).as_deref(), Some("primary-db-down"));
}

/// Promotes the lagging replica without checking (refused by the lag guard, then overridden),
/// never fences, repoints; ticks alert-oncall late; misses notify-stakeholders.
fn bad_run() -> (Log, [u64; 5]) {
    let mut l = Log::new();
    let p = serde_json::to_value(promote("postgresql-2")).unwrap();
    l.push(
        20,
        ALICE,
        EntryKind::StepPreviewed,
        "p",
        json!({"step": 1, "op": p, "preview": {"title": "promote postgresql-2"}}),
    );
    let refused = l.push(
        20,
        ALICE,
        EntryKind::StepFailed,
        "f",
        json!({"step": 1, "stage": "precheck", "reason": "replay lag: 9000000 B behind"}),
    );
    let over = l.push(
        25,
        ALICE,
        EntryKind::Override,
        "accepted data loss of 9000000 bytes to promote postgresql-2",
        json!({"step": 1}),
    );
    let confirmed = l.entries.len() as u64 + 2;
    let promoted = l.step(26, ALICE, 2, promote("postgresql-2"));
    let moved = l.step(40, ALICE, 3, repoint("postgresql-2"));
    l.tick(400, ALICE, "alert-oncall");
    l.result(900, 895.0, Some(9_000_000), "postgresql-0", "postgresql-2");
    (l, [refused, over, confirmed, promoted, moved])
}

#[test]
fn a_known_bad_run_names_each_mistake_with_its_entry() {
    let (l, [refused, over, confirmed, promoted, moved]) = bad_run();
    let late = l.entries.iter().find(|e| e.kind == EntryKind::Checklist).unwrap().seq;
    let result = l.entries.last().unwrap().seq;
    let card = score(&l.entries, &primary_db_down(), Some(ALICE));
    let by_rule = |rule: &str| {
        card.debrief
            .iter()
            .find(|d| d.rule == rule)
            .unwrap_or_else(|| panic!("no {rule}: {:#?}", card.debrief))
    };
    let seq = |rule: &str| by_rule(rule).entry.map(|r| r.seq);
    assert_eq!(seq("precheck-refused"), Some(refused));
    assert_eq!(seq("override"), Some(over));
    assert_eq!(seq("promote-before-check"), Some(confirmed));
    assert_eq!(seq("wrong-candidate"), Some(promoted));
    assert_eq!(seq("no-fence"), Some(moved));
    assert_eq!(seq("checklist-late"), Some(late));
    assert_eq!(seq("checklist-missed"), None);
    assert_eq!(seq("rto-missed"), Some(result));
    assert_eq!(seq("data-loss"), Some(result));
    assert_eq!(card.debrief.len(), 9, "{:#?}", card.debrief);
    let text = |rule: &str| by_rule(rule).text.clone();
    let at = |seq: u64| format!("#{seq} at {}", l.entries[seq as usize - 1].ts.format("%H:%M:%S"));
    assert_eq!(
        text("promote-before-check"),
        format!("you promoted postgresql-2 before confirming the primary was down ({})", at(confirmed))
    );
    assert_eq!(
        text("wrong-candidate"),
        format!("you promoted postgresql-2; the safe candidate was postgresql-1 ({})", at(promoted))
    );
    assert!(
        text("precheck-refused").contains("replay lag: 9000000 B behind"),
        "{}",
        text("precheck-refused")
    );
    assert!(text("checklist-late").starts_with("alert-oncall ("), "{}", text("checklist-late"));
    assert!(
        text("checklist-late").contains("was ticked 100 s after it was due"),
        "{}",
        text("checklist-late")
    );
    assert!(
        text("checklist-missed").contains("notify-stakeholders")
            && text("checklist-missed").contains("03:15:00")
    );
    // Nothing met; two deductions of 5.
    assert_eq!((card.total, card.max), (-10, 85), "{:#?}", card.lines);
    assert_eq!(card.dangerous, 2);
    // The debrief is in log order (entries without one last).
    let seqs: Vec<u64> = card.debrief.iter().map(|d| d.entry.map_or(u64::MAX, |r| r.seq)).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{seqs:?}");
    let rendered = render_text(&card).join("\n");
    assert!(rendered.contains("SCORE -10 / 85"), "{rendered}");
    assert!(rendered.contains(&text("wrong-candidate")), "{rendered}");
}

#[test]
fn rto_met_missed_and_not_recovered() {
    let def = primary_db_down();
    let mut l = good_run();
    assert_eq!(line(&score(&l.entries, &def, None), "RTO").points, 30);
    // Exactly on target counts as met.
    l.entries.last_mut().unwrap().details["rto_secs"] = json!(600.0);
    assert_eq!(line(&score(&l.entries, &def, None), "RTO").points, 30);
    l.entries.last_mut().unwrap().details["rto_secs"] = json!(600.1);
    let card = score(&l.entries, &def, None);
    assert_eq!(line(&card, "RTO").points, 0);
    assert_eq!(rules(&card), vec!["rto-missed"]);
    // A withdrawn mitigation: the result does not count.
    l.push(200, ALICE, EntryKind::MitigationWithdrawn, "w", json!({"reasons": ["database: split brain"]}));
    let card = score(&l.entries, &def, None);
    assert_eq!((card.rto_secs, line(&card, "RTO").points), (None, 0));
    assert!(rules(&card).contains(&"not-recovered"), "{:#?}", card.debrief);
    let d = card.debrief.iter().find(|d| d.rule == "not-recovered").unwrap();
    assert!(d.text.starts_with("the estate was not recovered: still database: split brain"), "{}", d.text);
    assert_eq!(line(&card, "data loss").points, 0, "no result, no data-loss points");
    // The time to detect still counts from the fault of the withdrawn result.
    assert_eq!(card.time_to_detect_secs, Some(25.0));
}

#[test]
fn data_loss_within_over_unknown_and_without_a_switch() {
    let def = primary_db_down();
    let mut l = good_run();
    let set = |l: &mut Log, k: &str, v: Value| l.entries.last_mut().unwrap().details[k] = v;
    set(&mut l, "data_loss_bytes", json!(1_048_576));
    assert_eq!(line(&score(&l.entries, &def, None), "data loss").points, 20);
    set(&mut l, "data_loss_bytes", json!(1_048_577));
    let card = score(&l.entries, &def, None);
    assert_eq!((line(&card, "data loss").points, rules(&card)), (0, vec!["data-loss"]));
    // A switch whose LSNs were not seen: unknown, no points, not called fine.
    set(&mut l, "data_loss_bytes", Value::Null);
    let card = score(&l.entries, &def, None);
    assert_eq!((card.data_loss_bytes, line(&card, "data loss").points), (None, 0));
    // No PostgreSQL switch at all: nothing lost.
    set(&mut l, "postgres", Value::Null);
    let card = score(&l.entries, &def, None);
    assert_eq!((card.data_loss_bytes, line(&card, "data loss").points), (Some(0), 20));
}

#[test]
fn promote_states() {
    let def = primary_db_down();
    // Not promoted at all.
    let mut l = Log::new();
    l.step(40, ALICE, 1, assert_down());
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(line(&card, "promote").points, 0);
    assert!(rules(&card).contains(&"not-promoted"));
    // Executed but never verified.
    let mut l = Log::new();
    l.step(40, ALICE, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-1"));
    l.entries.pop();
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(line(&card, "promote").points, 0);
    assert!(rules(&card).contains(&"not-promoted"));
    // A refused (never executed) promotion of the wrong node does not count as promoting it.
    let mut l = Log::new();
    l.step(40, ALICE, 1, assert_down());
    let p = serde_json::to_value(promote("postgresql-2")).unwrap();
    l.push(45, ALICE, EntryKind::StepPreviewed, "p", json!({"step": 2, "op": p}));
    l.push(45, ALICE, EntryKind::StepFailed, "f", json!({"step": 2, "stage": "precheck", "reason": "lag"}));
    l.step(50, ALICE, 3, promote("postgresql-1"));
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(line(&card, "promote").points, 15);
    assert_eq!(card.promoted, vec!["postgresql-1"]);
    assert!(!rules(&card).contains(&"wrong-candidate"), "{:#?}", card.debrief);
    assert_eq!(rules(&card).iter().filter(|r| **r == "precheck-refused").count(), 1);
    // The wrong node first, then the right one: no points, the mistake named.
    let mut l = Log::new();
    l.step(40, ALICE, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-2"));
    l.step(60, ALICE, 3, promote("postgresql-1"));
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(line(&card, "promote").points, 0);
    assert_eq!(rules(&card).iter().filter(|r| **r == "wrong-candidate").count(), 1);
    // An exec-promote of the right node counts like a promote.
    let mut l = Log::new();
    l.step(40, ALICE, 1, Operation::CheckPrimary);
    let exec = Operation::ExecPromote {
        context: "c".into(),
        namespace: "db".into(),
        pod: "postgresql-1".into(),
        container: None,
        data_dir: "/d".into(),
        node: "postgresql-1".into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    l.step(50, ALICE, 2, exec);
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(line(&card, "promote").points, 15);
    assert!(
        !rules(&card).contains(&"promote-before-check"),
        "check-primary confirms it: {:#?}",
        card.debrief
    );
}

#[test]
fn promote_before_check_needs_a_verified_check_before_the_confirmation() {
    let def = primary_db_down();
    // The check ran but failed (not verified): the promotion was still hasty.
    let mut l = Log::new();
    l.step(40, ALICE, 1, assert_down());
    l.entries.pop();
    l.push(
        43,
        ALICE,
        EntryKind::StepFailed,
        "f",
        json!({"step": 1, "stage": "verify", "reason": "primary up"}),
    );
    l.step(50, ALICE, 2, promote("postgresql-1"));
    assert!(rules(&score(&l.entries, &def, None)).contains(&"promote-before-check"));
    // The check verified after the promotion was confirmed: still hasty.
    let mut l = Log::new();
    l.step(40, ALICE, 2, promote("postgresql-1"));
    l.step(50, ALICE, 1, assert_down());
    assert!(rules(&score(&l.entries, &def, None)).contains(&"promote-before-check"));
    // Verified by a teammate before: fine.
    let mut l = Log::new();
    l.step(40, BOB, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-1"));
    assert!(!rules(&score(&l.entries, &def, Some(ALICE))).contains(&"promote-before-check"));
}

#[test]
fn fence_states() {
    let def = primary_db_down();
    let base = |l: &mut Log| {
        l.step(40, ALICE, 1, assert_down());
        l.step(50, ALICE, 2, promote("postgresql-1"));
    };
    // Fenced after the Service moved while the old primary was not known to be down.
    let mut l = Log::new();
    l.step(50, ALICE, 2, promote("postgresql-1"));
    let moved = l.step(60, ALICE, 3, repoint("postgresql-1"));
    l.step(70, ALICE, 4, fence("postgresql-0"));
    l.result(95, 75.0, Some(0), "postgresql-0", "postgresql-1");
    let card = score(&l.entries, &def, None);
    assert_eq!(line(&card, "fence").points, 0);
    let d = card.debrief.iter().find(|d| d.rule == "fence-late").expect("fence-late");
    assert_eq!(d.entry.map(|r| r.seq), Some(moved));
    // The same order after a verified primary-down check: the old primary was down when the
    // Service moved; fencing it when it returns is in time.
    let mut l = Log::new();
    base(&mut l);
    l.step(60, ALICE, 3, repoint("postgresql-1"));
    l.step(70, ALICE, 4, fence("postgresql-0"));
    l.result(95, 75.0, Some(0), "postgresql-0", "postgresql-1");
    let card = score(&l.entries, &def, None);
    assert_eq!(line(&card, "fence").points, 10, "{:#?}", card.debrief);
    // Or after the runbook skipped the fence because the old primary took no writes.
    let mut l = Log::new();
    l.step(50, ALICE, 2, promote("postgresql-1"));
    let skip = |node: &str| {
        json!({"step": 9, "key": "fence", "not_applicable": true,
               "reason": format!("not applicable: gate node-writable:{node} not met (down)")})
    };
    l.push(55, ALICE, EntryKind::StepSkipped, "s", skip("postgresql-0"));
    l.step(60, ALICE, 3, repoint("postgresql-1"));
    l.step(70, ALICE, 4, fence("postgresql-0"));
    l.result(95, 75.0, Some(0), "postgresql-0", "postgresql-1");
    assert_eq!(line(&score(&l.entries, &def, None), "fence").points, 10);
    // A skip about another node says nothing about the old primary.
    let at = l.entries.iter().position(|e| e.kind == EntryKind::StepSkipped).unwrap();
    l.entries[at].details = skip("postgresql-2");
    assert_eq!(line(&score(&l.entries, &def, None), "fence").points, 0);
    // Never fenced, the Service moved while the old primary may have taken writes.
    let mut l = Log::new();
    l.step(50, ALICE, 2, promote("postgresql-1"));
    let moved = l.step(60, ALICE, 3, repoint("postgresql-1"));
    let card = score(&l.entries, &def, None);
    let d = card.debrief.iter().find(|d| d.rule == "no-fence").expect("no-fence");
    assert_eq!(d.entry.map(|r| r.seq), Some(moved));
    // Fenced the wrong node (the promoted one): not a fence of the old primary, and forbidden.
    let mut l = Log::new();
    base(&mut l);
    let bad = l.step(60, ALICE, 3, fence("postgresql-1"));
    l.result(95, 75.0, Some(0), "postgresql-0", "postgresql-1");
    let card = score(&l.entries, &def, None);
    assert_eq!(line(&card, "fence").points, 0);
    assert!(rules(&card).contains(&"no-fence"));
    let f = card.debrief.iter().find(|d| d.rule == "forbidden").expect("forbidden");
    assert_eq!(f.entry.map(|r| r.seq), Some(bad));
    assert!(
        f.text.contains("fence on postgresql-1") && f.text.contains("the node the Service routes to"),
        "{}",
        f.text
    );
    assert_eq!((card.forbidden, line(&card, "forbidden fence on postgresql-1").points), (1, -20));
    // Fenced without any move (no result: any node not promoted is the old primary): met.
    let mut l = Log::new();
    base(&mut l);
    l.step(60, ALICE, 3, fence("postgresql-0"));
    assert_eq!(line(&score(&l.entries, &def, None), "fence").points, 10);
    // Fenced but the fence never verified: not met.
    let mut l = Log::new();
    base(&mut l);
    l.step(60, ALICE, 3, fence("postgresql-0"));
    l.entries.pop();
    assert_eq!(line(&score(&l.entries, &def, None), "fence").points, 0);
    // `fence = false`: no fence line at all.
    let mut lax = def.clone();
    lax.objectives.fence = false;
    let card = score(&good_run().entries, &lax, None);
    assert!(card.lines.iter().all(|l| l.objective != "fence"));
    assert_eq!(card.max, 75);
}

#[test]
fn checklist_on_time_late_missed_and_unknown() {
    let mut def = primary_db_down();
    def.objectives.checklist_on_time = vec![
        "alert-oncall".into(),
        "start-incident-log".into(),
        "post-status-update".into(),
        "no-such".into(),
    ];
    let mut l = good_run();
    // Due at T+5m: a tick at exactly T+5m is on time; the status update at T+16m is late.
    l.entries.retain(|e| e.kind != EntryKind::Checklist);
    l.tick(300, ALICE, "alert-oncall");
    l.push(960, ALICE, EntryKind::StatusUpdate, "update", json!({"text": "x"}));
    let card = score(&l.entries, &def, None);
    let status: Vec<(&str, Timeliness)> =
        card.checklist.iter().map(|c| (c.item.as_str(), c.status)).collect();
    assert_eq!(
        status,
        vec![
            ("alert-oncall", Timeliness::OnTime),
            ("start-incident-log", Timeliness::OnTime),
            ("post-status-update", Timeliness::Late(60)),
            ("no-such", Timeliness::Missed),
        ]
    );
    assert_eq!(line(&card, "checklist no-such").detail, "not in the communication checklist");
    let r = rules(&card);
    assert!(r.contains(&"checklist-late") && r.contains(&"checklist-missed"), "{r:?}");
}

#[test]
fn hints_count_kind_hint_and_facilitator_entries_with_a_hint() {
    let def = primary_db_down();
    let mut l = good_run();
    l.push(100, "trainer@lab", EntryKind::from("hint"), "hint", json!({"text": "Which replica lags least?"}));
    l.push(110, "trainer@lab", EntryKind::from("facilitator"), "paused", json!({"event": "pause"}));
    l.push(120, "trainer@lab", EntryKind::from("facilitator"), "hint", json!({"hint": "Fence first."}));
    let card = score(&l.entries, &def, Some(ALICE));
    assert_eq!(card.hints, 2);
    assert_eq!(card.total, 85 - 6);
    let hints: Vec<&str> =
        card.lines.iter().filter(|l| l.objective == "hint").map(|l| l.detail.as_str()).collect();
    assert_eq!(hints, vec!["Which replica lags least?", "Fence first."]);
    assert_eq!(operators(&l.entries), vec![ALICE], "the facilitator is no trainee");
    // Not even when the facilitator writes a note.
    l.push(130, "trainer@lab", EntryKind::Note, "watching", json!({"text": "watching"}));
    assert_eq!(operators(&l.entries), vec![ALICE]);
}

#[test]
fn several_operators_get_one_card_each_with_actions_attributed_to_the_confirmer() {
    let def = primary_db_down();
    let mut l = Log::new();
    l.tick(30, BOB, "alert-oncall");
    l.step(40, BOB, 1, assert_down());
    l.step(50, ALICE, 2, promote("postgresql-2"));
    l.step(60, BOB, 3, fence("postgresql-0"));
    // Bob proposed the repoint; Alice confirmed it: it is Alice's.
    let op = serde_json::to_value(repoint("postgresql-2")).unwrap();
    l.push(70, BOB, EntryKind::StepPreviewed, "p", json!({"step": 4, "op": op}));
    l.push(71, ALICE, EntryKind::StepConfirmed, "c", json!({"step": 4}));
    l.push(71, ALICE, EntryKind::StepExecuting, "e", json!({"step": 4, "op": op}));
    l.push(72, ALICE, EntryKind::Override, "override", json!({"check": "single authority"}));
    l.result(95, 75.0, Some(0), "postgresql-0", "postgresql-2");
    let cards = scorecards(&l.entries, &def);
    assert_eq!(cards.iter().map(|c| c.operator.clone().unwrap()).collect::<Vec<_>>(), vec![BOB, ALICE]);
    let (bob, alice) = (&cards[0], &cards[1]);
    // Shared outcomes on both.
    for c in &cards {
        assert_eq!(line(c, "RTO").points, 30);
        assert_eq!(line(c, "checklist alert-oncall").points, 5);
    }
    assert_eq!(line(bob, "fence").points, 10);
    assert_eq!(line(alice, "fence").points, 0);
    assert!(bob.promoted.is_empty() && alice.promoted == vec!["postgresql-2"]);
    assert!(rules(alice).contains(&"wrong-candidate") && !rules(bob).contains(&"wrong-candidate"));
    assert_eq!((alice.dangerous, bob.dangerous), (1, 0));
    assert_eq!(bob.time_to_first_action_secs, Some(36.0));
    assert_eq!(alice.time_to_first_action_secs, Some(46.0));
    // No operator: the team's card sees every action.
    let team = score(&l.entries, &def, None);
    assert_eq!((team.dangerous, team.promoted.len()), (1, 1));
}

#[test]
fn detection_falls_back_to_the_first_unhealthy_verdict() {
    let def = primary_db_down();
    let mut l = Log::new();
    l.push(8, ALICE, EntryKind::Verdict, "v", json!({"level": "healthy"}));
    l.push(
        10,
        ALICE,
        EntryKind::Verdict,
        "v",
        json!({"level": "failing", "reasons": ["database: no writable primary"]}),
    );
    l.push(12, ALICE, EntryKind::Note, "looking", json!({"text": "looking"}));
    l.step(30, ALICE, 1, assert_down());
    let card = score(&l.entries, &def, None);
    assert_eq!((card.time_to_detect_secs, card.time_to_first_action_secs), (Some(2.0), Some(21.0)));
    let d = card.debrief.iter().find(|d| d.rule == "not-recovered").unwrap();
    assert!(d.text.contains("still database: no writable primary"), "{}", d.text);
    // Nobody acted: one card for whoever declared.
    assert_eq!(operators(&Log::new().entries), vec![ALICE]);
    assert_eq!(scorecards(&Log::new().entries, &def).len(), 1);
}

#[test]
fn backend_text_in_the_log_reaches_the_card_plain_and_redacted() {
    let def = primary_db_down();
    let mut l = good_run();
    l.push(130, ALICE, EntryKind::Override, "override \u{1b}[2J password=hunter2", json!({}));
    let card = score(&l.entries, &def, Some(ALICE));
    let text = render_text(&card).join("\n");
    assert!(!text.contains('\u{1b}') && !text.contains("hunter2"), "{text}");
}

/// A facilitated drill: the facilitator declares it; a trainee who only joined and took command
/// is scored, the facilitator never; with no trainee at all there is no card.
#[test]
fn a_facilitated_drill_scores_the_trainees_who_joined_never_the_facilitator() {
    let def = primary_db_down();
    let mut l = Log { entries: Vec::new() };
    l.push(0, "trainer@lab", EntryKind::Declared, "declared", json!({"drill": true}));
    l.push(0, "trainer@lab", EntryKind::DrillEstate, "estate", json!({"scenario": "primary-db-down"}));
    l.push(1, "trainer@lab", EntryKind::Facilitator, "drill PAUSED", json!({"action": "pause"}));
    assert!(operators(&l.entries).is_empty(), "the facilitator alone is no trainee");
    assert!(scorecards(&l.entries, &def).is_empty());
    l.push(5, "bob", EntryKind::Commander, "bob took the commander lock", json!({"event": "took"}));
    assert_eq!(operators(&l.entries), vec!["bob"]);
    l.push(9, "bob", EntryKind::Resolved, "resolved", json!({}));
    let lines = overlay_lines(&l.entries, &def).expect("the drill is over");
    assert!(lines[0].contains("bob"), "{lines:#?}");
    assert!(!lines.iter().any(|x| x.contains("Scorecard: trainer@lab")), "{lines:#?}");
}
