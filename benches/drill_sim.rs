//! What the drill estate costs: `cargo bench --bench drill_sim`.
//!
//! Per estate size (the base 21 pods, 5,000 pods through a scenario's `estate.pods`): the CPU
//! time of one simulated second (`Sim::advance`, ten 0.1 s ticks) and of one look at the four
//! views (what a poll of every pane costs), median and p99. A drill at speed 1 advances one
//! simulated second per wall second; `--speed 10` ten.
//!
//! Under `cargo test --all-targets` (no `--bench`) a few rounds run, without verdicts.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::backends::drill::Sim;
use warroom::backends::drill::scenario::parse::{Known, parse};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn sim(pods: u32) -> Sim {
    let text = format!(
        "id = \"bench\"\ntitle = \"Bench\"\ndescription = \"d\"\n[estate]\npods = {pods}\n\
         [[fault]]\nkind = \"node-crash\"\ntarget = \"postgresql-0\"\nat = 5\n"
    );
    let def = parse(&text, Path::new("bench.toml"), &Known::default()).expect("bench scenario");
    Sim::from_def(def, 1, Utc::now(), 1.0).expect("sim")
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 300 } else { 3 };
    for pods in [21, 5_000] {
        let mut s = sim(pods);
        let (mut advance, mut views) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            s.advance(Duration::from_secs(1));
            advance.push(t.elapsed());
            let t = Instant::now();
            let k = s.kube_view();
            let d = s.database_view();
            let r = s.sentinel_view();
            let tr = s.traffic_view();
            views.push(t.elapsed());
            assert_eq!(k.pods.len(), pods as usize, "every pod shows");
            assert!(!d.nodes.is_empty() && !r.sentinels.is_empty() && !tr.regions.is_empty());
        }
        advance.sort();
        views.sort();
        println!(
            "drill sim, {pods} pods: advance 1 s p50 {:.2} ms p99 {:.2} ms; four views p50 {:.2} ms p99 {:.2} ms ({rounds} rounds)",
            pct(&advance, 0.5),
            pct(&advance, 0.99),
            pct(&views, 0.5),
            pct(&views, 0.99)
        );
    }
}
