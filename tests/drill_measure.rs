//! Drills that measure: the recovery tracker end to end on the drill estate (the real driver
//! with its runner, headless), the drill report in the export, and `warroom drill --history` on
//! a data dir holding two drill incidents (the real binary).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use support::headless::Headless;
use warroom::app::StepStatus;
use warroom::app::measure::Recovery;
use warroom::backends::drill::DrillEstate;
use warroom::backends::model::PgRole;
use warroom::incident::entry::{Entry, EntryKind};
use warroom::incident::export::{ExportMeta, export_markdown};
use warroom::incident::log::IncidentLog;
use warroom::operation::Operation;

/// The settle period of these drills, in (wall) seconds.
const SETTLE_SECS: u64 = 2;
/// The drill estate's poll interval in these tests (wall).
const POLL: Duration = Duration::from_millis(100);
/// The drill's speed (sim seconds per wall second).
const SPEED: f64 = 5.0;
/// The most client WAL one poll interval can hold: the sim's top write rate (180 kB/s x 1.6,
/// x 1.3 jitter) over one poll interval of sim time.
const ONE_POLL_OF_WRITES: u64 = (180_000.0 * 1.6 * 1.3 * 0.1 * SPEED) as u64;

/// The console on the drill estate, as `warroom drill` sets it up: the recovery tracker knows
/// when the scenario's fault strikes; a 600 s RTO target, a [`SETTLE_SECS`] settle period.
fn drill_console(estate: &DrillEstate, scenario: &str) -> Headless {
    let mut cfg = estate.config();
    cfg.drill.rto_target_secs = Some(600);
    cfg.drill.settle_secs = Some(SETTLE_SECS);
    let h = Headless::measured(estate, cfg, POLL);
    assert_eq!(
        format!("{:?}", h.state.domain.recovery),
        format!("{:?}", Recovery::drill(scenario, estate.fault_scheduled_at())),
        "the tracker is set up for {scenario}"
    );
    h
}

/// Propose the first operation `pick` accepts, type its confirmation word, run it to Done.
async fn run_proposal(h: &mut Headless, pick: impl Fn(&Operation) -> bool) -> u64 {
    let props = warroom::app::propose::proposals(&h.state.domain);
    let p = props.into_iter().find(|p| pick(&p.op)).expect("the operation is proposed");
    run_op(h, p.op, &p.why).await
}

/// The node step `id` (a confirmed promotion) promoted.
fn promoted_node(c: &Headless, id: u64) -> String {
    match c.state.domain.step(id).and_then(|s| s.op.as_ref()) {
        Some(Operation::PromotePostgres { node, .. }) => node.clone(),
        other => panic!("step #{id} is not a promotion: {other:?}"),
    }
}

/// Propose `op`, type its confirmation word, run it to Done.
async fn run_op(h: &mut Headless, op: Operation, why: &str) -> u64 {
    let word = op.confirm_word();
    let id = h.propose(op, why);
    h.type_confirm(&word);
    h.until("the step is verified", Duration::from_secs(20), |s| {
        s.domain.step(id).is_some_and(|s| s.status == StepStatus::Done)
    })
    .await;
    id
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp")).expect("RFC 3339").with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_db_down_drill_logs_one_plausible_result() {
    // 5x: the fault strikes 1 s in; the old primary would come back (split brain) 30 s later.
    let estate = DrillEstate::new("primary-db-down", SPEED, 11).expect("drill");
    let scheduled = estate.fault_scheduled_at().expect("a fault is scheduled");
    let mut c = drill_console(&estate, "primary-db-down");
    c.until_with("the fault is detected", Duration::from_secs(10), |c| {
        c.state.domain.recovery.detected.is_some()
    })
    .await;
    let injected = estate.fault_injected_at().expect("injected");
    assert!((injected - scheduled).num_milliseconds().abs() <= 100, "{scheduled} vs {injected}");
    let detected = c.state.domain.recovery.detected.clone().unwrap();
    assert!(detected.0 >= scheduled, "detected before the fault");
    // Whichever the estate shows first: the primary down, its pod leaving the Service, or the
    // primary region's ready probe failing because of it.
    assert!(!detected.1.is_empty(), "{detected:?}");
    assert!(
        detected.1.iter().any(|r| r == "database: no writable primary"
            || r.starts_with("database: Service")
            || (r.starts_with("traffic: us-east-1")
                && r.contains("/health/ready")
                && r.contains("database"))),
        "{detected:?}"
    );

    c.until_with("the Database pane shows the primary down", Duration::from_secs(10), |c| {
        let db = c.state.domain.observed.database.value.as_ref();
        db.and_then(|d| d.node("postgresql-0")).is_some_and(|n| n.role == PgRole::Down)
    })
    .await;
    let promoted = run_proposal(&mut c, |op| matches!(op, Operation::PromotePostgres { .. })).await;
    let node = promoted_node(&c, promoted);
    assert!(
        c.state.domain.recovery.result.is_none(),
        "not mitigated while the Service routes to the dead primary"
    );
    let sw = c.state.domain.recovery.pg_switch.clone().expect("the primary switch was seen");
    assert_eq!((sw.old_primary.as_str(), sw.new_primary.as_str()), ("postgresql-0", node.as_str()));

    run_proposal(&mut c, |op| matches!(op, Operation::PatchServiceSelector { pod, .. } if *pod == node))
        .await;
    assert!(c.state.domain.recovery.result.is_none(), "not before the settle period");
    c.until_with("the drill-result is logged", Duration::from_secs(10), |c| {
        c.log.entries().iter().any(|(i, _)| i.kind == EntryKind::DrillResult)
    })
    .await;
    assert!(c.flush(Duration::from_secs(5)).await);
    assert!(c.state.domain.recovery.mitigated_at.is_some());

    let entries = c.log.entries();
    let results: Vec<_> = entries.iter().filter(|(i, _)| i.kind == EntryKind::DrillResult).collect();
    assert_eq!(results.len(), 1, "exactly one result");
    let (intent, line) = results[0];
    let d = &intent.details;
    assert_eq!(d["fault"], "primary-db-down");
    assert_eq!(d["drill"], true);
    assert!((time(&d["fault_injected_at"]) - scheduled).num_milliseconds().abs() <= 1, "{d:#}");
    let (detected_at, first_action, mitigated) =
        (time(&d["detected_at"]), time(&d["first_action_at"]), time(&d["mitigated_at"]));
    let ms = chrono::Duration::milliseconds(1);
    assert!(
        scheduled - ms <= detected_at && detected_at <= first_action && first_action <= mitigated,
        "{d:#}"
    );
    // Consistent with the log: the first confirmation and the last verification bracket them.
    let at = |kind: &str, step: u64| {
        entries
            .iter()
            .find(|(i, _)| i.kind.as_str() == kind && i.details["step"] == step)
            .map(|(_, l)| l.at)
            .unwrap_or_else(|| panic!("no {kind} for step {step}"))
    };
    assert!(first_action <= at("step-confirmed", promoted), "first action is the promotion's confirmation");
    let repoint = promoted + 1;
    assert!(at("step-verified", repoint) >= mitigated - chrono::Duration::milliseconds(5));
    let held = (line.at - mitigated).num_milliseconds();
    assert!(held >= SETTLE_SECS as i64 * 1000, "logged after the verdict held {SETTLE_SECS} s: {held} ms");
    assert_eq!(d["settle_secs"], SETTLE_SECS);
    let rto = d["rto_secs"].as_f64().unwrap();
    let expected = (mitigated - scheduled).num_milliseconds() as f64 / 1000.0;
    assert!((rto - expected).abs() < 0.002, "rto {rto} vs {expected}");
    assert!(rto > 0.0 && rto < 60.0, "{rto}");
    assert_eq!((d["rto_target_secs"].as_u64(), d["target_met"].as_bool()), (Some(600), Some(true)));
    // Data loss: the LSNs seen, and their difference floored at 0, below the lag guard.
    let pg = &d["postgres"];
    assert_eq!(pg["new_primary"], node.as_str());
    let (old, new) = (pg["old_lsn"].as_u64().unwrap(), pg["new_lsn"].as_u64().unwrap());
    assert_eq!(d["data_loss_bytes"].as_u64(), Some(old.saturating_sub(new)));
    assert!(old.saturating_sub(new) < 1024 * 1024, "{old} - {new}");
    // Against the estate's ground truth: postgresql-0's last WAL position (frozen since the
    // crash) minus the promoted node's fork LSN; the measure misses at most one poll of writes.
    let truth = estate.pg_ground_truth();
    let fork = truth.iter().find(|t| t.0 == node).and_then(|t| t.3).expect("the promoted node forked");
    assert_eq!(new, fork, "the fork LSN as the node reports it");
    let true_loss = truth[0].2.saturating_sub(fork);
    let measured = d["data_loss_bytes"].as_u64().unwrap();
    eprintln!("primary-db-down: data loss measured {measured} B, ground truth {true_loss} B");
    assert!(measured <= true_loss && true_loss - measured <= ONE_POLL_OF_WRITES, "{measured} vs {true_loss}");
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s["status"] == "done"), "{steps:?}");
    assert!(line.summary.starts_with("DRILL recovered: RTO "), "{}", line.summary);
    // The estate agrees: one writable primary, the one promoted.
    let db = c.state.domain.observed.database.value.clone().unwrap();
    assert_eq!(db.primary().map(|p| p.name.clone()), Some(node));
    assert_eq!(db.node("postgresql-0").unwrap().role, PgRole::Down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_data_loss_is_the_fenced_primarys_writes_since_the_fork() {
    let estate = DrillEstate::new("split-brain", SPEED, 7).expect("drill");
    let mut c = drill_console(&estate, "split-brain");
    c.until_with("the split brain is detected", Duration::from_secs(10), |c| {
        c.state
            .domain
            .recovery
            .detected
            .as_ref()
            .is_some_and(|d| d.1.iter().any(|r| r.contains("split brain")))
    })
    .await;
    // Let both primaries write for a while: clients write to postgresql-0 behind the Service.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Keep postgresql-1 (promoted by mistake): fence postgresql-0, then repoint the Service.
    // Everything the clients wrote to postgresql-0 since the fork is lost.
    let config = c.state.domain.config.clone();
    let pg = config.postgres.as_ref().unwrap();
    let svc = pg.service.clone().unwrap();
    let endpoint = warroom::app::propose::endpoint_of(pg.nodes.iter().find(|n| n.name == "postgresql-0"));
    run_op(&mut c, Operation::FencePostgres { node: "postgresql-0".into(), endpoint }, "keep postgresql-1")
        .await;
    let repoint = Operation::PatchServiceSelector {
        context: svc.context.clone(),
        namespace: svc.namespace.clone(),
        service: svc.name.clone(),
        pod: "postgresql-1".into(),
    };
    run_op(&mut c, repoint, "route to the primary kept").await;
    c.until_with("the drill-result is logged", Duration::from_secs(10), |c| {
        c.log.entries().iter().any(|(i, _)| i.kind == EntryKind::DrillResult)
    })
    .await;
    let entries = c.log.entries();
    let (intent, _) = entries.iter().find(|(i, _)| i.kind == EntryKind::DrillResult).unwrap();
    let d = &intent.details;
    assert_eq!(
        (d["postgres"]["old_primary"].as_str(), d["postgres"]["new_primary"].as_str()),
        (Some("postgresql-0"), Some("postgresql-1"))
    );
    let truth = estate.pg_ground_truth();
    let fork = truth[1].3.expect("postgresql-1 forked");
    assert_eq!(d["postgres"]["new_lsn"].as_u64(), Some(fork));
    let true_loss = truth[0].2 - fork;
    let measured = d["data_loss_bytes"].as_u64().unwrap();
    eprintln!("split-brain: data loss measured {measured} B, ground truth {true_loss} B");
    assert!(true_loss > 100_000, "postgresql-0 took client writes after the fork: {true_loss}");
    assert!(measured <= true_loss && true_loss - measured <= ONE_POLL_OF_WRITES, "{measured} vs {true_loss}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_primary_returning_writable_withdraws_mitigation_until_it_is_fenced() {
    let estate = DrillEstate::new("primary-db-down", SPEED, 23).expect("drill");
    let mut c = drill_console(&estate, "primary-db-down");
    c.until_with("the primary is down", Duration::from_secs(10), |c| {
        let db = c.state.domain.observed.database.value.as_ref();
        db.and_then(|d| d.node("postgresql-0")).is_some_and(|n| n.role == PgRole::Down)
    })
    .await;
    let promoted = run_proposal(&mut c, |op| matches!(op, Operation::PromotePostgres { .. })).await;
    let node = promoted_node(&c, promoted);
    run_proposal(&mut c, |op| matches!(op, Operation::PatchServiceSelector { pod, .. } if *pod == node))
        .await;
    c.until_with("mitigated", Duration::from_secs(10), |c| c.state.domain.recovery.mitigated_at.is_some())
        .await;
    assert_eq!(c.out.bells, 0, "nothing rang while the drill went well");
    // The crashed primary's cause clears: it comes back writable on its old timeline.
    estate.fast_forward(Duration::from_secs(160));
    c.until_with("the mitigation is withdrawn", Duration::from_secs(10), |c| {
        c.log.entries().iter().any(|(i, _)| i.kind == EntryKind::MitigationWithdrawn)
    })
    .await;
    assert_eq!((c.state.domain.recovery.mitigated_at, c.state.domain.recovery.withdrawals), (None, 1));
    assert_eq!(c.out.bells, 1, "the withdrawal rang the bell, once");
    let entries = c.log.entries();
    let (w, line) = entries.iter().find(|(i, _)| i.kind == EntryKind::MitigationWithdrawn).unwrap();
    assert!(line.summary.contains("split brain"), "{}", line.summary);
    assert!(w.details["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    // Fence the returned primary: mitigation is reached again, with a second result.
    let config = c.state.domain.config.clone();
    let pg = config.postgres.as_ref().unwrap();
    let endpoint = warroom::app::propose::endpoint_of(pg.nodes.iter().find(|n| n.name == "postgresql-0"));
    run_op(&mut c, Operation::FencePostgres { node: "postgresql-0".into(), endpoint }, "the old primary")
        .await;
    c.until_with("mitigated again", Duration::from_secs(10), |c| {
        c.log.entries().iter().filter(|(i, _)| i.kind == EntryKind::DrillResult).count() == 2
    })
    .await;
    let entries = c.log.entries();
    let last = &entries.iter().rev().find(|(i, _)| i.kind == EntryKind::DrillResult).unwrap().0.details;
    assert_eq!(last["withdrawals"], 1);
    let withdrawn_at = entries.iter().find(|(i, _)| i.kind == EntryKind::MitigationWithdrawn).unwrap().1.at;
    assert!(time(&last["mitigated_at"]) > withdrawn_at, "{last:#}");
    let truth = estate.pg_ground_truth();
    let fork = truth.iter().find(|t| t.0 == node).and_then(|t| t.3).unwrap();
    let true_loss = truth[0].2 - fork;
    let measured = last["data_loss_bytes"].as_u64().unwrap();
    eprintln!(
        "primary-db-down with the old primary's return: data loss measured {measured} B, ground truth {true_loss} B"
    );
    assert!(measured <= true_loss && true_loss - measured <= ONE_POLL_OF_WRITES, "{measured} vs {true_loss}");
}

// ------------------------------------------------------------------ export

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

fn entry(seq: u64, at: i64, kind: &str, summary: &str, details: Value) -> Entry {
    Entry {
        seq,
        ts: t(at),
        mono_ms: 0,
        operator: "trainee@drill".into(),
        kind: kind.into(),
        summary: summary.into(),
        details,
        prev: "0".repeat(64),
    }
}

#[test]
fn export_has_the_drill_report_with_target_steps_and_late_items() {
    let result = json!({
        "fault": "primary-db-down", "fault_injected_at": "2026-11-26T03:00:05.000Z",
        "detected_at": "2026-11-26T03:00:06.500Z", "detected_because": ["database: no writable primary"],
        "first_action_at": "2026-11-26T03:02:00.000Z", "mitigated_at": "2026-11-26T03:06:10.000Z",
        "rto_secs": 365.0, "rto_from": "fault_injected", "data_loss_bytes": 4096,
        "postgres": { "old_primary": "postgresql-0", "old_lsn": 12_884_905_984u64, "new_primary": "postgresql-1",
                      "new_lsn": 12_884_901_888u64, "at": "2026-11-26T03:03:00.000Z" },
        "redis_offset_loss": null, "redis": null, "rto_target_secs": 300, "target_met": false,
        "steps": [ { "id": 1, "title": "Promote postgresql-1", "status": "done", "secs": 4 },
                   { "id": 2, "title": "Repoint the database Service", "status": "done", "secs": 130 } ],
        "checklist": [ { "item": "alert-oncall", "text": "Alert the on-call team", "due": "2026-11-26T03:05:00Z",
                         "done": null, "late_secs": 70 },
                       { "item": "start-incident-log", "text": "Start the incident log", "due": "2026-11-26T03:01:00Z",
                         "done": "2026-11-26T03:00:00Z", "late_secs": -60 } ],
        "drill": true
    });
    let entries = vec![
        entry(1, 0, "declared", "declared", json!({"id": "INC-20261126-030000-DRILL", "drill": true})),
        entry(
            2,
            370,
            "drill-result",
            "DRILL recovered: RTO 365.0 s (target 300 s: missed by 65.0 s)",
            result,
        ),
    ];
    let meta = ExportMeta {
        id: "INC-20261126-030000-DRILL".into(),
        title: "Drill: primary-db-down".into(),
        severity: "SEV2".into(),
        drill: true,
        declared_at: t(0),
        resolved_at: None,
    };
    let md = export_markdown(&meta, &entries);
    let section = &md[md.find("## Drill report").expect("drill report")..md.find("## Root cause").unwrap()];
    insta::assert_snapshot!("drill_measure_report", section);
    assert!(section.contains("- RTO target: 300 s: **missed** by 65.0 s"));
    assert!(section.contains("- Data loss: 4096 bytes"));
    assert!(!section.contains("Start the incident log"), "an early item is not late");
}

// ------------------------------------------------------------------ drill --history

fn run_history(data: &Path, json: bool) -> (Option<i32>, String, String) {
    let home = data.parent().unwrap();
    let mut args = vec!["drill", "--history"];
    if json {
        args.push("--json");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_DATA_HOME", home.join("xdg-data"))
        .env("WARROOM_DATA_DIR", data)
        .stdin(Stdio::null())
        .output()
        .expect("run warroom");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn result(scenario: &str, rto: f64, loss: u64, met: bool) -> Value {
    json!({ "fault": scenario, "rto_secs": rto, "data_loss_bytes": loss, "rto_target_secs": 30, "target_met": met })
}

#[test]
fn drill_history_lists_every_drill_grouped_by_scenario_with_why_not() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 3, 0, 0).unwrap();
    // A is declared first (its file sorts first) but its result is logged last.
    let (a, _) = IncidentLog::declare(&data, "Drill: redis", "SEV2", true, "ann@h", day(1)).unwrap();
    let (b, _) = IncidentLog::declare(&data, "Drill: db", "SEV2", true, "bob@h", day(2)).unwrap();
    let (live, _) = IncidentLog::declare(&data, "Real outage", "SEV1", false, "t@h", day(3)).unwrap();
    let (c, _) =
        IncidentLog::declare(&data, "Drill: primary-db-down", "SEV2", true, "cat@h", day(4)).unwrap();
    let (d, _) =
        IncidentLog::declare(&data, "Drill: primary-db-down", "SEV2", true, "dan@h", day(5)).unwrap();
    let (e, _) = IncidentLog::declare(&data, "Drill: split-brain", "SEV2", true, "eve@h", day(6)).unwrap();
    let (_f, _) = IncidentLog::declare(&data, "Drill: split-brain", "SEV2", true, "fay@h", day(7)).unwrap();
    b.append(&EntryKind::DrillResult, "DRILL recovered", result("primary-db-down", 20.0, 800, true)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    a.append(&EntryKind::DrillResult, "DRILL recovered", result("redis-master-down", 41.0, 0, false))
        .unwrap();
    live.append(&EntryKind::RecoveryResult, "recovered", result("", 99.0, 0, false)).unwrap();
    c.append(&EntryKind::DrillResult, "DRILL recovered", result("primary-db-down", 35.0, 0, false)).unwrap();
    // D never got mitigated: its last verdict says why.
    let failing =
        json!({ "level": "failing", "reasons": ["database: Service postgresql has no ready endpoint"] });
    d.append(&EntryKind::Verdict, "DRILL verdict: FAILING", failing).unwrap();
    // E was mitigated, then the estate failed again.
    e.append(&EntryKind::DrillResult, "DRILL recovered", result("split-brain", 12.0, 0, true)).unwrap();
    let split = json!({ "reasons": ["database: split brain (postgresql-0, postgresql-1)"] });
    e.append(&EntryKind::MitigationWithdrawn, "DRILL mitigation withdrawn", split).unwrap();

    let (code, out, err) = run_history(&data, false);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("DATE (UTC)") && lines[0].contains("SCENARIO") && lines[0].contains("OPERATOR")
    );
    // Grouped by scenario, by date within it.
    assert!(lines[1].contains("primary-db-down") && lines[1].contains("20.0 s"), "{out}");
    assert!(
        lines[1].contains("800 B") && lines[1].contains("met (30 s)") && lines[1].contains("bob@h"),
        "{out}"
    );
    assert!(lines[1].ends_with("INC-20261102-030000-DRILL"), "{out}");
    assert!(
        lines[2].contains("primary-db-down") && lines[2].contains("35.0 s") && lines[2].contains("cat@h")
    );
    assert!(lines[3].contains("primary-db-down") && lines[3].contains("dan@h"), "{out}");
    assert!(
        lines[3].ends_with(
            "INC-20261105-030000-DRILL  not mitigated: still unhealthy: database: Service postgresql has no ready endpoint"
        ),
        "{out}"
    );
    assert!(lines[4].contains("redis-master-down") && lines[4].contains("MISSED (30 s)"), "{out}");
    // F only declared (dated by that entry, before E's later entries): abandoned.
    assert!(
        lines[5].contains("split-brain") && lines[5].ends_with("INC-20261107-030000-DRILL  abandoned"),
        "{out}"
    );
    assert!(lines[6].contains("split-brain") && lines[6].contains("eve@h"), "{out}");
    assert!(
        lines[6]
            .ends_with("not mitigated: still unhealthy: database: split brain (postgresql-0, postgresql-1)"),
        "{out}"
    );
    assert!(!out.contains("99.0"), "a live recovery is not a drill: {out}");
    // RTOs are ranked within a scenario only.
    assert!(
        out.contains(
            "primary-db-down: 3 drill(s), 2 mitigated: best 20.0 s (INC-20261102-030000-DRILL), median 27.5 s, worst 35.0 s (INC-20261104-030000-DRILL)"
        ),
        "{out}"
    );
    assert!(out.contains("redis-master-down: 1 drill(s), 1 mitigated: best 41.0 s"), "{out}");
    assert!(out.contains("split-brain: 2 drill(s), 0 mitigated\n"), "{out}");

    let (code, out, err) = run_history(&data, true);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let runs = v["runs"].as_array().unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r["incident"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "INC-20261102-030000-DRILL",
            "INC-20261104-030000-DRILL",
            "INC-20261105-030000-DRILL",
            "INC-20261101-030000-DRILL",
            "INC-20261107-030000-DRILL",
            "INC-20261106-030000-DRILL"
        ]
    );
    assert_eq!((runs[3]["target_met"].as_bool(), runs[3]["operator"].as_str()), (Some(false), Some("ann@h")));
    assert_eq!((runs[4]["mitigated"].as_bool(), runs[4]["rto_secs"].is_null()), (Some(false), true));
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios[0]["scenario"], "primary-db-down");
    assert_eq!(scenarios[0]["median_rto_secs"], 27.5);
    assert_eq!(scenarios[0]["worst"]["incident"], "INC-20261104-030000-DRILL");
    assert_eq!(scenarios[1]["best"]["rto_secs"], 41.0);
    assert!(v.get("median_rto_secs").is_none(), "no ranking across scenarios");

    let empty = home.path().join("empty");
    let (code, out, _) = run_history(&empty, false);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("no drills yet"), "{out}");
}
