//! Figures of the console's trends (`app::trend`): `cargo bench --bench trend`.
//!
//! - sampling cost per snapshot: `Trends::sample` + the `trend-sample` decision on the calm
//!   estate with 5,000 pods observed (pods are not sampled: the figure must not grow with them),
//!   beside one whole `update` of a 5,000-pod Kubernetes snapshot for scale;
//! - memory of a 12-hour history: 12 h of snapshots once a second (43,200 per layer) for the
//!   calm estate (2 nodes, 3 regions) and for the most series kept (64 nodes, 64 regions).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs 20 samples and 10 minutes of history.

#[path = "console/stats.rs"]
mod stats;
#[path = "../tests/support/ui_fixtures.rs"]
mod ui_fixtures;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::app::trend::{MAX_SERIES, Trends};
use warroom::app::{Action, update};
use warroom::backends::model::{DatabaseView, PgNodeStatus, PgRole, TrafficView};
use warroom::backends::{Observed, Snapshot};

use stats::{ms_summary, quantile};
use ui_fixtures::{calm, many_pods, now};

/// `observed` with its database and traffic snapshots fetched at `at`, lag `lag` on every replica.
fn at_time(base: &Observed, at: chrono::DateTime<chrono::Utc>, lag: u64) -> Observed {
    let mut db: DatabaseView = base.database.value.clone().unwrap_or_default();
    for n in db.nodes.iter_mut().filter(|n| n.role == PgRole::Replica) {
        n.replay_lag_bytes = Some(lag);
    }
    let traffic: TrafficView = base.traffic.value.clone().unwrap_or_default();
    Observed {
        database: Arc::new(Snapshot::fresh(db, at)),
        traffic: Arc::new(Snapshot::fresh(traffic, at)),
        ..base.clone()
    }
}

/// An estate with `n` replicas and `n` regions (the most series the trends keep).
fn widest(base: &Observed, n: usize) -> Observed {
    let mut db: DatabaseView = base.database.value.clone().unwrap_or_default();
    let replica: PgNodeStatus =
        db.nodes.iter().find(|x| x.role == PgRole::Replica).cloned().expect("a replica");
    db.nodes = (0..n).map(|i| PgNodeStatus { name: format!("pg-{i}"), ..replica.clone() }).collect();
    let mut t: TrafficView = base.traffic.value.clone().unwrap_or_default();
    let region = t.regions[0].clone();
    t.regions = (0..n)
        .map(|i| warroom::backends::model::RegionTraffic { name: format!("r-{i}"), ..region.clone() })
        .collect();
    Observed {
        database: Arc::new(Snapshot::fresh(db, now())),
        traffic: Arc::new(Snapshot::fresh(t, now())),
        ..base.clone()
    }
}

/// Feed `secs` seconds of one snapshot a second; returns the history's heap bytes and the time.
fn history(base: &Observed, secs: i64) -> (usize, Duration) {
    let mut trends = Trends::default();
    let start = Instant::now();
    for s in 0..secs {
        let at = now() + chrono::Duration::seconds(s);
        let o = at_time(base, at, (s as u64 * 7919) % 65_536);
        trends.sample(&o);
        black_box(trends.logged.due(&o, at));
    }
    (trends.heap_bytes(), start.elapsed())
}

/// Median, p99 and max in microseconds (sampling is far below a millisecond).
fn us_summary(samples: &[Duration]) -> String {
    let us = |p: f64| quantile(samples, p).unwrap_or_default().as_secs_f64() * 1e6;
    format!("median {:.1} µs, p99 {:.1} µs, max {:.1} µs (n={})", us(0.5), us(0.99), us(1.0), samples.len())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 10_000 } else { 20 };
    let mut st = calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(many_pods(5000), now()));
    let base = st.domain.observed.clone();

    let mut trends = Trends::default();
    let per: Vec<Duration> = (0..runs)
        .map(|i| {
            let at = now() + chrono::Duration::seconds(i as i64);
            let o = at_time(&base, at, i as u64 % 4096);
            let start = Instant::now();
            trends.sample(black_box(&o));
            black_box(trends.logged.due(&o, at));
            start.elapsed()
        })
        .collect();
    println!("trend sampling per snapshot (5,000 pods, 2 nodes, 3 regions): {}", us_summary(&per));

    let kube = Arc::new(Snapshot::fresh(many_pods(5000), now()));
    let whole: Vec<Duration> = (0..runs.min(200))
        .map(|i| {
            let mut s = st.clone();
            let at = now() + chrono::Duration::seconds(i as i64);
            let start = Instant::now();
            black_box(update(&mut s, Action::Kube(kube.clone()), at));
            start.elapsed()
        })
        .collect();
    println!("for scale, one whole update of a 5,000-pod snapshot: {}", ms_summary(&whole));

    let secs = if full { 12 * 3600 } else { 600 };
    let (bytes, took) = history(&base, secs);
    println!("history after {secs} s at 1 snapshot/s (2 nodes, 3 regions): {bytes} B heap, fed in {took:?}");
    let wide = widest(&base, MAX_SERIES);
    let (bytes, took) = history(&wide, secs);
    println!(
        "history after {secs} s at 1 snapshot/s ({MAX_SERIES} nodes, {MAX_SERIES} regions): {bytes} B heap, fed in {took:?}"
    );
    let (short, _) = history(&wide, 15 * 60);
    assert_eq!(short, bytes, "the history does not grow past its 15-minute ring");
}
