//! Figures of the Redis Sentinel backend against a real master + replica + 3 Sentinels on
//! loopback (`tests/support/lab`): `cargo bench --bench sentinel_figures`.
//!
//! A manual failover through Sentinel 0, timed two ways: from the request until the observer
//! sees every Sentinel agree on the new master, and from the `+switch-master` event (Sentinel's
//! own timestamp) until the observer shows it (target: Sentinel `+switch-master` -> pane
//! p99 <= 1 s). Needs `redis-server` and `redis-sentinel` on `PATH`.
//!
//! Under `cargo test --all-targets` (no `--bench`) one failover runs, without verdicts.

#[allow(dead_code)] // the figures use a part of the labs
#[path = "../tests/support/lab/mod.rs"]
mod lab;

use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::backends::sentinel::{SentinelObserver, SentinelOperator};
use warroom::backends::{Observe, Operate};
use warroom::operation::Operation;

use lab::redis::{MASTER, RedisLab};
use lab::wait_until;

const TIMEOUT: Duration = Duration::from_secs(2);
/// Target: `+switch-master` -> the observer (and the pane), p99.
const SWITCH_P99_MAX_MS: i64 = 1_000;

/// One manual failover: (request -> every Sentinel agrees, `+switch-master` -> observer in ms).
async fn one_failover() -> (Duration, i64) {
    let lab = RedisLab::start().await;
    let obs = SentinelObserver::new(&lab.config(), TIMEOUT);
    let notify = obs.notify_handle();
    let old = obs.observe().await.expect("observe").agreed_master().expect("agreed").to_string();
    // Let the Sentinels settle (they refuse a failover right after discovering the replica).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let op = SentinelOperator::new(&lab.config(), TIMEOUT);
    let failover = Operation::SentinelFailover {
        master: MASTER.into(),
        sentinel: lab.sentinels[0].addr(),
        from_master: Some(old.clone()),
    };
    let t = Instant::now();
    op.execute(&failover).await.expect("failover");
    let (switch_at, seen_at) = wait_until("switch observed", Duration::from_secs(15), || async {
        let _ = tokio::time::timeout(Duration::from_secs(1), notify.notified()).await;
        let v = obs.observe().await?;
        match (v.events.iter().find(|e| e.kind == "+switch-master"), v.agreed_master()) {
            (Some(e), Some(m)) if m != old => Ok((e.at, Utc::now())),
            _ => Err("not yet".to_string()),
        }
    })
    .await;
    (t.elapsed(), (seen_at - switch_at).num_milliseconds())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs one failover.
    let full = std::env::args().any(|a| a == "--bench");
    let mut seen = Vec::new();
    for _ in 0..if full { 3 } else { 1 } {
        let (agreed, switch_to_observer) = one_failover().await;
        println!(
            "manual failover -> all Sentinels agree: {agreed:.2?}; +switch-master -> observer: {switch_to_observer} ms"
        );
        seen.push(switch_to_observer);
    }
    if full {
        let worst = seen.iter().copied().max().unwrap_or_default();
        let verdict = if worst <= SWITCH_P99_MAX_MS { "met" } else { "MISSED" };
        println!(
            "  target +switch-master -> pane <= {SWITCH_P99_MAX_MS} ms: worst {worst} ms of {}: {verdict}",
            seen.len()
        );
    }
}
