//! Figures of the PostgreSQL backend against a real primary + streaming replica on loopback
//! (`tests/support/lab`): `cargo bench --bench postgres_figures`.
//!
//! - `kill -9` of the primary -> one observe shows it down (no poll-interval wait; target for
//!   the pane: PostgreSQL role flip -> pane <= poll interval + 1 s);
//! - promoting the replica: wall time of the operation (part of the `db-failover` end-to-end
//!   target of <= 5 s).
//!
//! Needs the PostgreSQL server binaries (see `tests/support/lab/postgres.rs`). Under
//! `cargo test --all-targets` (no `--bench`) one round runs, without verdicts.

#[allow(dead_code)] // the figures use a part of the labs
#[path = "../tests/support/lab/mod.rs"]
mod lab;
#[path = "console/stats.rs"]
mod stats;

use std::time::{Duration, Instant};

use warroom::backends::model::PgRole;
use warroom::backends::postgres::{PgTimeouts, PostgresObserver, PostgresOperator};
use warroom::backends::{Observe, Operate};
use warroom::operation::Operation;

use lab::postgres::{NODES, PgLab};
use lab::wait_until;
use stats::{ms_summary, quantile};

const TIMEOUTS: PgTimeouts =
    PgTimeouts { connect_timeout: Duration::from_secs(2), statement_timeout: Duration::from_secs(2) };
/// Target: a role flip reaches the pane within the poll interval (1 s by default) plus this.
const DOWN_MAX: Duration = Duration::from_secs(1);
/// Target: the whole `db-failover` runbook end to end (the promotion is one part).
const FAILOVER_MAX: Duration = Duration::from_secs(5);

/// One round: (kill -9 -> observed down, promote wall time).
async fn one_round() -> (Duration, Duration) {
    let lab = PgLab::start().await;
    let obs = PostgresObserver::new(&lab.config(), TIMEOUTS);
    let op = PostgresOperator::new(&lab.config(), TIMEOUTS);
    obs.observe().await.expect("observe");
    lab.kill9(NODES[0]);
    let t = Instant::now();
    wait_until("down", Duration::from_secs(5), || async {
        let v = obs.observe().await?;
        (v.nodes[0].role == PgRole::Down).then_some(()).ok_or_else(|| "up".to_string())
    })
    .await;
    let down = t.elapsed();
    let promote = Operation::PromotePostgres {
        node: NODES[1].into(),
        endpoint: format!("127.0.0.1:{}", lab.node(NODES[1]).port),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    let t = Instant::now();
    op.execute(&promote).await.expect("promote");
    (down, t.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs one round.
    let full = std::env::args().any(|a| a == "--bench");
    let (mut down, mut promote) = (Vec::new(), Vec::new());
    for _ in 0..if full { 5 } else { 1 } {
        let (d, p) = one_round().await;
        down.push(d);
        promote.push(p);
    }
    println!("kill -9 primary -> shown down (one observe, no interval wait): {}", ms_summary(&down));
    println!("promote replica, wall time: {}", ms_summary(&promote));
    if full {
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let worst_down = quantile(&down, 1.0).unwrap_or_default();
        let worst_promote = quantile(&promote, 1.0).unwrap_or_default();
        println!(
            "  target down -> pane <= poll interval + {DOWN_MAX:?}: worst {worst_down:.2?}: {}",
            verdict(worst_down <= DOWN_MAX)
        );
        println!(
            "  promote within the db-failover target of {FAILOVER_MAX:?}: worst {worst_promote:.2?}: {}",
            verdict(worst_promote <= FAILOVER_MAX)
        );
    }
}
