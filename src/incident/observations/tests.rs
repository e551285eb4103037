//! Unit tests of [`super::diff`]: every detection fires on the change, once, and clears.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::backends::model::{PodRow, RegionTraffic, SentinelObs};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap() + Duration::seconds(secs)
}

fn node(name: &str, role: PgRole, lag: Option<u64>) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role,
        version: None,
        timeline: Some(1),
        lsn: None,
        fork_lsn: None,
        replay_lag_bytes: lag,
        replay_lag_seconds: None,
        replication_state: None,
        read_only: false,
        pod: None,
        error: None,
        last_ok: None,
    }
}

fn db(nodes: Vec<PgNodeStatus>) -> Observed {
    Observed { database: Arc::new(Snapshot::fresh(DatabaseView { nodes }, t(0))), ..Observed::default() }
}

fn healthy_db() -> Observed {
    db(vec![node("pg-0", PgRole::Primary, None), node("pg-1", PgRole::Replica, Some(0))])
}

fn events(out: &[LogIntent]) -> Vec<String> {
    assert!(out.iter().all(|i| i.kind == EntryKind::Observation));
    out.iter().map(|i| i.details["event"].as_str().unwrap_or("?").to_string()).collect()
}

fn summaries(out: &[LogIntent]) -> Vec<&str> {
    out.iter().map(|i| i.summary.as_str()).collect()
}

#[test]
fn nothing_changes_nothing_logged() {
    let a = healthy_db();
    assert!(diff(&a, &a.clone(), 0).is_empty());
    assert!(diff(&Observed::default(), &Observed::default(), 0).is_empty());
}

#[test]
fn pending_to_fresh_healthy_is_silent() {
    assert!(diff(&Observed::default(), &healthy_db(), 0).is_empty());
}

#[test]
fn primary_went_down_then_replica_promoted() {
    let before = healthy_db();
    let down = db(vec![node("pg-0", PgRole::Down, None), node("pg-1", PgRole::Replica, Some(0))]);
    let out = diff(&before, &down, 0);
    assert_eq!(events(&out), ["primary-down"]);
    assert_eq!(out[0].summary, "Primary pg-0 went down: no writable primary (pg-0 down, pg-1 replica)");
    assert_eq!(out[0].details["from"], "pg-0");
    // Persisting: not repeated.
    assert!(diff(&down, &down.clone(), 0).is_empty());

    let promoted = db(vec![node("pg-0", PgRole::Down, None), node("pg-1", PgRole::Primary, None)]);
    let out = diff(&down, &promoted, 0);
    assert_eq!(summaries(&out), ["Writable primary again: pg-1"]);
    assert_eq!(out[0].details["to"], "pg-1");
}

#[test]
fn primary_changed_and_fenced_primary() {
    let before = healthy_db();
    let switched = db(vec![node("pg-0", PgRole::Replica, Some(0)), node("pg-1", PgRole::Primary, None)]);
    let out = diff(&before, &switched, 0);
    assert_eq!(summaries(&out), ["Primary changed: pg-0 -> pg-1"]);
    assert_eq!(events(&out), ["primary-changed"]);

    let mut fenced = node("pg-0", PgRole::Primary, None);
    fenced.read_only = true;
    let after = db(vec![fenced, node("pg-1", PgRole::Replica, Some(0))]);
    let out = diff(&before, &after, 0);
    assert_eq!(events(&out), ["no-primary"]);
    assert!(out[0].summary.contains("pg-0 is fenced (read-only)"), "{}", out[0].summary);
}

#[test]
fn no_primary_from_unknown_is_detection() {
    let down = db(vec![node("pg-0", PgRole::Down, None), node("pg-1", PgRole::Replica, Some(0))]);
    let out = diff(&Observed::default(), &down, 0);
    assert_eq!(events(&out), ["no-primary"]);
}

#[test]
fn split_brain_detected_and_cleared() {
    let before = healthy_db();
    let split = db(vec![node("pg-0", PgRole::Primary, None), node("pg-1", PgRole::Primary, None)]);
    let out = diff(&before, &split, 0);
    assert_eq!(summaries(&out), ["SPLIT BRAIN: 2 writable primaries: pg-0, pg-1"]);
    assert!(diff(&split, &split.clone(), 0).is_empty());
    let mut fenced = node("pg-0", PgRole::Primary, None);
    fenced.read_only = true;
    let cleared = db(vec![fenced, node("pg-1", PgRole::Primary, None)]);
    let out = diff(&split, &cleared, 0);
    assert_eq!(summaries(&out), ["Split brain cleared: pg-1 is the only writable primary"]);
    assert_eq!(events(&out), ["split-brain-cleared"]);
}

#[test]
fn replica_lag_crosses_the_limit_and_back() {
    let lagging =
        |lag| db(vec![node("pg-0", PgRole::Primary, None), node("pg-1", PgRole::Replica, Some(lag))]);
    let out = diff(&lagging(100), &lagging(5000), 1024);
    assert_eq!(summaries(&out), ["Replica pg-1 lag 5000 B exceeds the limit of 1024 B"]);
    assert_eq!(out[0].details["lag_bytes"], 5000);
    assert!(diff(&lagging(5000), &lagging(9000), 1024).is_empty());
    let out = diff(&lagging(9000), &lagging(1024), 1024);
    assert_eq!(events(&out), ["lag-within-limit"]);
    assert!(diff(&lagging(1024), &lagging(10), 1024).is_empty());
}

fn sentinels(masters: &[Option<&str>], events: Vec<SentinelEvent>) -> Observed {
    let view = SentinelView {
        master_name: "mymaster".into(),
        sentinels: masters
            .iter()
            .enumerate()
            .map(|(i, m)| SentinelObs {
                addr: format!("127.0.0.1:{}", 26379 + i),
                master: m.map(str::to_string),
                error: None,
            })
            .collect(),
        events,
        ..SentinelView::default()
    };
    Observed { sentinel: Arc::new(Snapshot::fresh(view, t(0))), ..Observed::default() }
}

fn switch(at: i64, sentinel: &str) -> SentinelEvent {
    SentinelEvent {
        at: t(at),
        sentinel: sentinel.into(),
        kind: "+switch-master".into(),
        detail: "mymaster 10.0.0.1 6379 10.0.0.2 6379".into(),
    }
}

#[test]
fn sentinels_disagree_and_agree_again() {
    let a = Some("10.0.0.1:6379");
    let b = Some("10.0.0.2:6379");
    let agreed = sentinels(&[a, a, a], vec![]);
    let split = sentinels(&[a, b, a], vec![]);
    let out = diff(&agreed, &split, 0);
    assert_eq!(events(&out), ["sentinels-disagree"]);
    assert!(out[0].summary.contains("127.0.0.1:26380 says 10.0.0.2:6379"), "{}", out[0].summary);
    assert!(diff(&split, &split.clone(), 0).is_empty());
    let out = diff(&split, &sentinels(&[b, b, b], vec![]), 0);
    assert_eq!(summaries(&out), ["Sentinels agree again: master 10.0.0.2:6379"]);
    // An unreachable Sentinel is not a disagreement.
    assert!(diff(&agreed, &sentinels(&[a, None, a], vec![]), 0).is_empty());
}

#[test]
fn sentinel_master_switch_from_agreed_master_and_events() {
    let a = Some("10.0.0.1:6379");
    let b = Some("10.0.0.2:6379");
    let before = sentinels(&[a, a, a], vec![]);
    let after = sentinels(&[b, b, b], vec![switch(10, "127.0.0.1:26379"), switch(10, "127.0.0.1:26380")]);
    let out = diff(&before, &after, 0);
    assert_eq!(events(&out), ["master-switched", "switch-master"]);
    assert_eq!(out[0].summary, "Redis master switched: 10.0.0.1:6379 -> 10.0.0.2:6379");
    assert_eq!(
        out[1].summary,
        "Sentinel +switch-master mymaster: 10.0.0.1:6379 -> 10.0.0.2:6379 (reported by 127.0.0.1:26379, 127.0.0.1:26380)"
    );
    // The same events again, plus the third Sentinel reporting the same failover: not logged again.
    let later = sentinels(
        &[b, b, b],
        vec![switch(10, "127.0.0.1:26379"), switch(10, "127.0.0.1:26380"), switch(11, "127.0.0.1:26381")],
    );
    assert!(diff(&after, &later, 0).is_empty());
    // A new failover much later is logged.
    let mut again = later.clone();
    let mut view = again.sentinel.value.clone().unwrap();
    view.events.push(SentinelEvent {
        at: t(600),
        detail: "mymaster 10.0.0.2 6379 10.0.0.1 6379".into(),
        ..switch(0, "s")
    });
    again.sentinel = Arc::new(Snapshot::fresh(view, t(600)));
    let out = diff(&later, &again, 0);
    assert_eq!(events(&out), ["switch-master"]);
    assert!(out[0].summary.contains("10.0.0.2:6379 -> 10.0.0.1:6379"));
}

fn pod(ctx: &str, name: &str, reason: Option<&str>) -> PodRow {
    PodRow {
        context: ctx.into(),
        namespace: "default".into(),
        name: name.into(),
        ready: u16::from(reason.is_none()),
        containers: 1,
        phase: "Running".into(),
        restarts: 3,
        reason: reason.map(str::to_string),
        started_at: None,
        node: None,
        labels: Default::default(),
    }
}

fn pods(rows: Vec<PodRow>) -> Observed {
    let view = KubeView { pods: Arc::new(rows), ..KubeView::default() };
    Observed { kube: Arc::new(Snapshot::fresh(view, t(0))), ..Observed::default() }
}

#[test]
fn crashloop_few_pods_listed_many_summarized() {
    const CLB: Option<&str> = Some("CrashLoopBackOff");
    let calm = pods((0..14).map(|i| pod("us-east-1", &format!("api-{i}"), None)).collect());
    let few = pods(
        (0..14).map(|i| pod("us-east-1", &format!("api-{i}"), if i < 2 { CLB } else { None })).collect(),
    );
    let out = diff(&calm, &few, 0);
    assert_eq!(
        summaries(&out),
        [
            "Pod default/api-0 in us-east-1 entered CrashLoopBackOff",
            "Pod default/api-1 in us-east-1 entered CrashLoopBackOff"
        ]
    );
    assert!(diff(&few, &few.clone(), 0).is_empty());

    let mut rows: Vec<PodRow> = (0..14).map(|i| pod("us-east-1", &format!("api-{i}"), CLB)).collect();
    rows.push(pod("us-west-2", "api-0", None));
    let many = pods(rows);
    let out = diff(&few, &many, 0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].summary,
        "12 pods entered CrashLoopBackOff in us-east-1 (14 in CrashLoopBackOff there): default/api-10, default/api-11, default/api-12, +9 more"
    );
    assert_eq!(out[0].details["count"], 12);
    assert_eq!(out[0].details["total"], 14);

    let out = diff(&many, &calm, 0);
    assert_eq!(events(&out), ["crashloop-left"]);
    assert!(out[0].summary.starts_with("14 pods left CrashLoopBackOff in us-east-1"), "{}", out[0].summary);
}

fn region(name: &str, hc: HealthState, ready: Option<u16>) -> RegionTraffic {
    RegionTraffic {
        name: name.into(),
        role: "primary".into(),
        weight: Some(100),
        failover_role: None,
        health_check: hc,
        checkers: None,
        live: None,
        ready: ready.map(|s| Probe { status: Some(s), latency_ms: 12, error: None }),
        deploy_ready: None,
    }
}

fn traffic(regions: Vec<RegionTraffic>) -> Observed {
    let view = TrafficView { record: "api.example.com.".into(), regions, ..TrafficView::default() };
    Observed { traffic: Arc::new(Snapshot::fresh(view, t(0))), ..Observed::default() }
}

#[test]
fn region_health_check_flips() {
    let ok = traffic(vec![region("us-east-1", HealthState::Healthy, None)]);
    let bad = traffic(vec![region("us-east-1", HealthState::Unhealthy, None)]);
    let out = diff(&ok, &bad, 0);
    assert_eq!(summaries(&out), ["Region us-east-1 health check unhealthy (was healthy)"]);
    assert!(diff(&bad, &bad.clone(), 0).is_empty());
    let out = diff(&bad, &ok, 0);
    assert_eq!(summaries(&out), ["Region us-east-1 health check healthy (was unhealthy)"]);
    // Unknown is not a flip.
    assert!(diff(&ok, &traffic(vec![region("us-east-1", HealthState::Unknown, None)]), 0).is_empty());
}

#[test]
fn ready_probe_failing_and_recovered() {
    let ok = traffic(vec![region("us-west-2", HealthState::Healthy, Some(200))]);
    let mut failing_region = region("us-west-2", HealthState::Healthy, Some(503));
    failing_region.ready.as_mut().unwrap().error = Some("upstream\nconnect error".into());
    let failing = traffic(vec![failing_region]);
    let out = diff(&ok, &failing, 0);
    assert_eq!(summaries(&out), ["Region us-west-2 ready probe failing: HTTP 503 (upstream connect error)"]);
    assert!(diff(&failing, &failing.clone(), 0).is_empty());
    let out = diff(&failing, &ok, 0);
    assert_eq!(summaries(&out), ["Region us-west-2 ready probe recovered: HTTP 200 in 12 ms"]);
    assert_eq!(events(&out), ["ready-recovered"]);
}

#[test]
fn source_freshness_transitions() {
    let fresh = healthy_db();
    let mut stale = fresh.clone();
    let mut snap = (*fresh.database).clone();
    snap.freshness = Freshness::Stale { since: t(5), error: "connection refused\u{1b}[31m".into() };
    stale.database = Arc::new(snap.clone());
    let out = diff(&fresh, &stale, 0);
    assert_eq!(
        summaries(&out),
        ["postgres data is stale (polls failing since 03:00:05): connection refused"]
    );
    assert_eq!(out[0].details["freshness"], "stale");
    assert!(diff(&stale, &stale.clone(), 0).is_empty());

    let mut open = stale.clone();
    snap.freshness = Freshness::BreakerOpen { retry_at: t(65), error: "connection refused".into() };
    open.database = Arc::new(snap.clone());
    let out = diff(&stale, &open, 0);
    assert_eq!(events(&out), ["source-breaker-open"]);
    assert!(out[0].summary.contains("retry at 03:01:05"));
    // Half-open probe failing again (breaker -> stale -> breaker) is not news.
    assert!(diff(&open, &stale, 0).is_empty());

    let out = diff(&open, &fresh, 0);
    assert_eq!(summaries(&out), ["postgres observed again (was breaker_open)"]);

    let failed = Observed {
        kube: Arc::new(Snapshot {
            value: None,
            fetched_at: None,
            freshness: Freshness::Failed { error: "no kubeconfig".into() },
        }),
        ..Observed::default()
    };
    let out = diff(&Observed::default(), &failed, 0);
    assert_eq!(summaries(&out), ["kubernetes cannot be observed: no kubeconfig"]);
    let long = "x".repeat(500);
    let mut failed_long = failed.clone();
    failed_long.traffic =
        Arc::new(Snapshot { value: None, fetched_at: None, freshness: Freshness::Failed { error: long } });
    let out = diff(&failed, &failed_long, 0);
    assert!(out[0].summary.chars().count() < 220, "{}", out[0].summary);
}
