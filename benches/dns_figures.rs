//! DNS verification figures against real authoritative servers (Knot DNS on loopback,
//! `tests/support/dns.rs`): `cargo bench --bench dns_figures`.
//!
//! Per server: the time of one non-recursive query (UDP, answer parsed), p50/p99. The whole
//! `verify-dns` round: three servers, a weighted record asked 8 times per server, all servers
//! at once, p50/p99. Needs `knotd` and `knotc` (Debian package `knot`).
//!
//! Under `cargo test --all-targets` (no `--bench`) a few queries and rounds run, without verdicts.

#[path = "../tests/support/dns.rs"]
mod dns;

use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use warroom::backends::dns::probe::query;
use warroom::backends::dns::{DnsCheck, Expected, NameServer};

use dns::Knot;

const NAME: &str = "api.example.com.";
/// Target: the verification of three servers in sync (one round) well under a second.
const ROUND_P99_MAX_MS: f64 = 250.0;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (queries, rounds) = if full { (1000, 200) } else { (20, 3) };
    let knots: Vec<Knot> =
        (0..3).map(|_| Knot::start(&[("api", 60, "A", &["192.0.2.10", "192.0.2.20"])])).collect();
    let servers: Vec<NameServer> = knots
        .iter()
        .enumerate()
        .map(|(i, k)| NameServer { name: format!("ns{}", i + 1), addr: k.addr })
        .collect();

    for s in &servers {
        let mut t = Vec::with_capacity(queries);
        for _ in 0..queries {
            let r = query(s.addr, NAME, RecordType::A, Duration::from_secs(1)).await.expect("answer");
            assert_eq!(r.values.len(), 2);
            t.push(r.took);
        }
        t.sort();
        println!(
            "{}: one non-recursive query: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n={queries})",
            s.label(),
            pct(&t, 0.5),
            pct(&t, 0.99),
            pct(&t, 1.0)
        );
    }

    let sets = vec![
        ("us-east-1".to_string(), Some(50), vec!["192.0.2.20".to_string()]),
        ("us-west-2".to_string(), Some(50), vec!["192.0.2.10".to_string()]),
    ];
    let expected = Expected::from_sets(&sets, &[]);
    let check = DnsCheck {
        name: NAME.into(),
        rtype: RecordType::A,
        query_timeout: Duration::from_secs(1),
        samples: warroom::backends::dns::check::DEFAULT_SAMPLES,
        retry_interval: Duration::from_millis(100),
    };
    let mut t = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let report = check.until_in_sync(&servers, &expected, Duration::from_secs(5)).await;
        t.push(start.elapsed());
        assert!(report.all_in_sync(), "{:?}", report.lines());
    }
    t.sort();
    let p99 = pct(&t, 0.99);
    println!(
        "verify-dns round, 3 servers x {} queries (weighted): p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms (n={rounds})",
        warroom::backends::dns::check::DEFAULT_SAMPLES,
        pct(&t, 0.5),
        pct(&t, 1.0)
    );
    if full {
        let verdict = if p99 <= ROUND_P99_MAX_MS { "met" } else { "MISSED" };
        println!("  target verify-dns round (servers in sync) p99 <= {ROUND_P99_MAX_MS} ms: {verdict}");
    }
}
