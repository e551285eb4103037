//! Trends end to end: a primary-db-down drill run headless through the real driver (runner,
//! memory log) logs `trend-sample` entries from what the estate showed, fills the console's
//! rings, and its log exports to a post-mortem whose Mermaid gantt carries every step and whose
//! text charts show each replica's lag and each region's traffic.

mod support;

use std::time::Duration;

use support::headless::Headless;
use warroom::app::StepStatus;
use warroom::backends::drill::DrillEstate;
use warroom::backends::model::PgRole;
use warroom::incident::entry::{Entry, EntryKind};
use warroom::incident::export::{ExportMeta, export_markdown};
use warroom::operation::Operation;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_drill_logs_trend_samples_and_exports_its_pictures() {
    let estate = DrillEstate::new("primary-db-down", 5.0, 11).expect("drill");
    let mut c = Headless::measured(&estate, estate.config(), Duration::from_millis(100));
    c.until("the primary is down", Duration::from_secs(15), |s| {
        let db = s.domain.observed.database.value.as_ref();
        db.and_then(|d| d.node("postgresql-0")).is_some_and(|n| n.role == PgRole::Down)
    })
    .await;
    let props = warroom::app::propose::proposals(&c.state.domain);
    let promote =
        props.into_iter().find(|p| matches!(p.op, Operation::PromotePostgres { .. })).expect("promote");
    let node = match &promote.op {
        Operation::PromotePostgres { node, .. } => node.clone(),
        _ => unreachable!(),
    };
    run_op(&mut c, promote.op.clone(), &promote.why).await;
    let props = warroom::app::propose::proposals(&c.state.domain);
    let repoint = props
        .into_iter()
        .find(|p| matches!(&p.op, Operation::PatchServiceSelector { pod, .. } if *pod == node))
        .expect("repoint");
    run_op(&mut c, repoint.op.clone(), &repoint.why).await;
    assert!(c.flush(Duration::from_secs(5)).await);

    // The console's rings hold the replicas' lag and every region's share and health.
    let trends = &c.state.domain.trends;
    let db = c.state.domain.observed.database.value.clone().expect("database");
    let traffic = c.state.domain.observed.traffic.value.clone().expect("traffic");
    for r in &traffic.regions {
        assert!(trends.health.contains_key(&r.name), "no health trend for {}", r.name);
    }
    assert!(trends.lag_bytes.contains_key("postgresql-1") || trends.lag_bytes.contains_key("postgresql-2"));

    // The log holds trend samples, whose figures were in the snapshots (replica lag in bytes,
    // a share between 0 and 100, a health-check state), the first one at the console's start.
    let entries: Vec<Entry> = c
        .log
        .entries()
        .into_iter()
        .map(|(i, l)| Entry {
            seq: l.seq,
            ts: l.at,
            mono_ms: 0,
            operator: l.operator,
            kind: i.kind,
            summary: i.summary,
            details: i.details,
            prev: "0".repeat(64),
        })
        .collect();
    let samples: Vec<serde_json::Value> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::TrendSample)
        .flat_map(|e| e.details["samples"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(!samples.is_empty(), "no trend-sample entry");
    for r in &traffic.regions {
        let s = samples.iter().find(|s| s["series"] == "traffic" && s["name"] == r.name.as_str());
        let s = s.unwrap_or_else(|| panic!("no traffic sample for {}: {samples:?}", r.name));
        assert!(s["share_pct"].as_f64().is_some_and(|p| (0.0..=100.0).contains(&p)), "{s}");
        assert!(["healthy", "unhealthy", "unknown"].contains(&s["health"].as_str().unwrap_or("")), "{s}");
    }
    let lag =
        samples.iter().find(|s| s["series"] == "lag" && s.get("bytes").is_some()).expect("a lag sample");
    assert!(db.node(lag["name"].as_str().unwrap()).is_some(), "{lag}");

    // The export: every step of the run in the gantt, a chart per series.
    let declared = entries.first().map(|e| e.ts).expect("entries");
    let meta = ExportMeta {
        id: "INC-TREND-DRILL".into(),
        title: "Drill: primary database down".into(),
        severity: "SEV1".into(),
        drill: true,
        declared_at: declared,
        resolved_at: None,
    };
    let md = export_markdown(&meta, &entries);
    let gantt = md.split("```mermaid\n").nth(1).and_then(|s| s.split("```").next()).expect("a gantt");
    assert!(gantt.contains(&format!("Step 1 Promote {node}")), "{gantt}");
    assert!(gantt.contains(": done, s1, ") && gantt.contains(": done, s2, "), "{gantt}");
    let charts = md.split("## Lag and traffic").nth(1).expect("the charts");
    assert!(charts.contains(&format!("{} replay lag", lag["name"].as_str().unwrap())), "{charts}");
    for r in &traffic.regions {
        assert!(charts.contains(&format!("{} traffic share and health", r.name)), "{charts}");
    }
}
