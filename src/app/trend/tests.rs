//! Bucketing, gaps, bounds and sampling of the trends; the `trend-sample` rate and content.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::backends::model::{DatabaseView, PgNodeStatus, RegionTraffic, TrafficView};
use crate::backends::{Freshness, Snapshot};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

fn replica(name: &str, lag: u64) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role: PgRole::Replica,
        version: None,
        timeline: Some(1),
        lsn: Some(1),
        fork_lsn: None,
        replay_lag_bytes: Some(lag),
        replay_lag_seconds: Some(lag as f64 / 1000.0),
        replication_state: None,
        read_only: false,
        pod: None,
        error: None,
        last_ok: None,
    }
}

fn region(name: &str, weight: u8, health: HealthState) -> RegionTraffic {
    RegionTraffic {
        name: name.into(),
        role: "primary".into(),
        weight: Some(weight),
        failover_role: None,
        health_check: health,
        checkers: None,
        live: None,
        ready: None,
        deploy_ready: None,
    }
}

fn observed(lag: u64, secs: i64) -> Observed {
    let db = DatabaseView { nodes: vec![replica("pg-1", lag)] };
    let t = TrafficView {
        regions: vec![region("east", 100, HealthState::Healthy), region("west", 0, HealthState::Unhealthy)],
        ..TrafficView::default()
    };
    Observed {
        database: Arc::new(Snapshot::fresh(db, at(secs))),
        traffic: Arc::new(Snapshot::fresh(t, at(secs))),
        ..Observed::default()
    }
}

fn stale<T: Clone>(s: &Snapshot<T>, since: i64) -> Snapshot<T> {
    Snapshot { freshness: Freshness::Stale { since: at(since), error: "timeout".into() }, ..s.clone() }
}

#[test]
fn samples_in_one_bucket_fold_to_the_worst_and_new_buckets_append() {
    let mut s = Series::new(Fold::Max);
    s.record(at(0), 5.0);
    s.record(at(3), 9.0);
    s.record(at(9), 1.0);
    s.record(at(10), 2.0);
    let w = s.window(at(10));
    assert_eq!(w.len(), BUCKETS);
    assert_eq!(&w[BUCKETS - 2..], &[Some(9.0), Some(2.0)]);
    let mut h = Series::new(Fold::Min);
    h.record(at(0), 1.0);
    h.record(at(5), 0.0);
    h.record(at(6), 1.0);
    assert_eq!(h.window(at(0))[BUCKETS - 1], Some(0.0), "one unhealthy sample marks the bucket");
}

#[test]
fn intervals_without_data_are_gaps_never_a_repeated_value() {
    let mut s = Series::new(Fold::Max);
    s.record(at(0), 1.0);
    s.record(at(40), 1.0);
    let w = s.window(at(40));
    assert_eq!(&w[BUCKETS - 5..], &[Some(1.0), None, None, None, Some(1.0)]);
    // Nothing since: the buckets up to now are gaps, and the last value is not carried.
    let w = s.window(at(100));
    assert_eq!(&w[BUCKETS - 6..], &[None; 6]);
    assert_eq!(w[BUCKETS - 7], Some(1.0));
    // Everything older than the window is gone.
    assert!(s.window(at(40 + 15 * 60)).iter().all(Option::is_none));
}

#[test]
fn memory_is_bounded_over_a_twelve_hour_incident() {
    let mut s = Series::new(Fold::Max);
    for i in 0..12 * 3600 {
        s.record(at(i), i as f64);
    }
    assert_eq!(s.ring.len(), BUCKETS);
    assert!(s.ring.capacity() < 2 * BUCKETS, "the ring never grew: {}", s.ring.capacity());
    let bytes = s.heap_bytes();
    assert!(bytes < 2 * BUCKETS * std::mem::size_of::<Option<f64>>(), "{bytes}");
    // A jump of days keeps the ring at its size too.
    s.record(at(12 * 3600 + 5 * 86_400), 1.0);
    assert_eq!(s.ring.len(), BUCKETS);
    assert_eq!(s.window(at(12 * 3600 + 5 * 86_400)).iter().flatten().count(), 1);
    // A sample older than the ring is dropped, not written over a newer bucket.
    s.record(at(0), 99.0);
    assert!(!s.ring.contains(&Some(99.0)));
}

#[test]
fn squeezed_cells_cover_the_whole_span_with_the_worst_of_each_group() {
    let mut s = Series::new(Fold::Max);
    s.record(at(0), 3.0);
    s.record(at(BUCKET_SECS), 7.0);
    let cells = s.cells(at(BUCKET_SECS), 9);
    assert_eq!(cells.len(), 9);
    assert_eq!(cells[8], Some(7.0), "newest group holds both samples, folded to the max");
    assert!(cells[..8].iter().all(Option::is_none));
    assert_eq!(s.cells(at(0), 200).len(), BUCKETS);
    assert!(s.cells(at(0), 0).is_empty());
    // Uneven division: the groups still end at the newest bucket and cover every bucket.
    let c = s.cells(at(BUCKET_SECS), 7);
    assert_eq!(c.len(), 7);
    assert_eq!(c[6], Some(7.0));
}

#[test]
fn only_fresh_snapshots_are_sampled() {
    let mut t = Trends::default();
    let o = observed(500, 0);
    t.sample(&o);
    let mut o2 = observed(9000, 20);
    o2.database = Arc::new(stale(&o2.database, 15));
    o2.traffic = Arc::new(stale(&o2.traffic, 15));
    t.sample(&o2);
    let lag = t.lag_bytes["pg-1"].window(at(20));
    assert_eq!(&lag[BUCKETS - 3..], &[Some(500.0), None, None], "stale lag is not drawn");
    let health = t.health["east"].window(at(20));
    assert_eq!(&health[BUCKETS - 3..], &[Some(1.0), None, None], "stale health is not 'healthy'");
    assert_eq!(t.health["west"].window(at(0))[BUCKETS - 1], Some(0.0));
    assert_eq!(t.share["east"].window(at(0))[BUCKETS - 1], Some(100.0));
    assert_eq!(t.lag_secs["pg-1"].window(at(0))[BUCKETS - 1], Some(0.5));
    // A replica that errors adds nothing.
    let mut o3 = observed(700, 30);
    let mut db = o3.database.value.clone().unwrap();
    db.nodes[0].error = Some("refused".into());
    o3.database = Arc::new(Snapshot::fresh(db, at(30)));
    t.sample(&o3);
    assert_eq!(t.lag_bytes["pg-1"].window(at(30))[BUCKETS - 1], None);
}

#[test]
fn trend_samples_are_logged_on_change_at_most_once_a_minute_with_the_peak() {
    let mut log = SampleLog::default();
    let (_, first) = log.due(&observed(100, 0), at(0)).expect("the first values are logged");
    let samples = first["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3, "{first}");
    assert_eq!(samples[0]["series"], "lag");
    assert_eq!(samples[0]["bytes"], 100);
    assert_eq!(samples[1]["share_pct"], 100.0);
    assert_eq!(samples[2]["health"], "unhealthy");
    assert!(log.due(&observed(100, 30), at(30)).is_none(), "unchanged: nothing");
    assert!(log.due(&observed(9000, 31), at(31)).is_none(), "changed, but within the minute");
    let (summary, d) = log.due(&observed(200, 61), at(61)).expect("changed, a minute on");
    let s = &d["samples"][0];
    assert_eq!((s["bytes"].as_u64(), s["peak_bytes"].as_u64()), (Some(200), Some(9000)), "{d}");
    assert!(summary.contains("pg-1 lag 200 B"), "{summary}");
    assert_eq!(d["samples"].as_array().unwrap().len(), 1, "traffic unchanged: not repeated");
    // Data going stale is a change: logged as no fresh data, never as the last value.
    let mut o = observed(200, 130);
    o.database = Arc::new(stale(&o.database, 125));
    let (_, d) = log.due(&o, at(130)).expect("stale is logged");
    assert_eq!(d["samples"][0]["stale"], true);
    assert!(d["samples"][0].get("bytes").is_none());
}
