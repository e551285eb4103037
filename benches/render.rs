//! Rendering and terminal-output benchmarks (issue 7): `cargo bench --bench render`.
//!
//! Criterion groups time a full 200x50 frame (`warroom::ui::draw` into a ratatui `Terminal`
//! over `QuietBackend`) with 500, 5,000 and 50,000 pods in three contexts. Before them, a
//! figures section prints what criterion does not: per-frame median and p99 with the growth
//! ratio from 500 to 50,000 pods, and the bytes written to the terminal while idle, for one
//! pod change and for full repaints.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) criterion runs each benchmark
//! once, the latency figures are skipped, and the byte figures are printed and ASSERTED
//! (deterministic: the same state always writes the same bytes), so an output regression fails
//! CI. Under `cargo bench` they are printed with verdicts and the timing figures follow.

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group};
use warroom::ui::draw;

use support::figures::{self, ByteFigures, HEIGHT, WIDTH};

/// Pod counts of the draw benchmarks.
const SIZES: [usize; 3] = [500, 5_000, 50_000];

/// Target: bytes per second while idle.
const IDLE_MAX_PER_S: f64 = 100.0;
/// Target: bytes for one pod changing status.
const POD_CHANGE_MAX: u64 = 300;
/// Target: bytes for a full repaint at 200x50.
const REPAINT_MAX: u64 = 16 * 1024;

/// Steady frames: every widget is built and diffed; nothing changed, so nothing is written.
fn draw_steady(c: &mut Criterion) {
    let ui = support::ui();
    let mut group = c.benchmark_group(format!("draw_{WIDTH}x{HEIGHT}"));
    for n in SIZES {
        let state = support::estate(n);
        let mut term = figures::terminal();
        group.bench_with_input(BenchmarkId::from_parameter(n), &state, |b, st| {
            b.iter(|| {
                term.draw(|f| draw(f, black_box(st), &ui)).expect("draw into a sink");
            });
        });
    }
    group.finish();
}

/// A full repaint of 5,000 pods: clear (as after a resize), build, diff, write every cell.
fn draw_full_repaint(c: &mut Criterion) {
    let ui = support::ui();
    let state = support::estate(5_000);
    let mut term = figures::terminal();
    c.bench_function("full_repaint_200x50/5000", |b| {
        b.iter(|| {
            term.clear().expect("clear a sink");
            term.draw(|f| draw(f, black_box(&state), &ui)).expect("draw into a sink");
        });
    });
}

criterion_group!(benches, draw_steady, draw_full_repaint);

/// "met" or "NOT MET".
fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// Print the byte figures with their verdicts; return the unmet targets.
fn report_bytes(b: &ByteFigures) -> Vec<String> {
    let checks = [
        ("idle, sources quiet (B/s)", b.idle_quiet_per_s, IDLE_MAX_PER_S),
        ("  worst minute of 20 (B/s)", b.idle_quiet_worst_per_s, IDLE_MAX_PER_S),
        ("idle, 1 s polling (B/s)", b.idle_polling_per_s, IDLE_MAX_PER_S),
        ("  worst minute of 20 (B/s)", b.idle_polling_worst_per_s, IDLE_MAX_PER_S),
        ("one pod changes status (B)", b.pod_status_change as f64, POD_CHANGE_MAX as f64),
        ("full repaint, first frame (B)", b.first_frame as f64, REPAINT_MAX as f64),
        ("full repaint after resize (B)", b.after_resize as f64, REPAINT_MAX as f64),
    ];
    println!("bytes written at {WIDTH}x{HEIGHT} with {} pods in 3 contexts:", b.pods);
    let mut unmet = Vec::new();
    for (name, value, max) in checks {
        let ok = value <= max;
        println!("  {name:<32} {value:>9.1}  (target <= {max}) {}", verdict(ok));
        if !ok {
            unmet.push(format!("{name}: {value:.1} > {max}"));
        }
    }
    println!(
        "  {:<32} {:>9}  (no target: the rows between its old and new place shift)",
        "healthy pod turns unhealthy (B)", b.pod_turns_unhealthy
    );
    unmet
}

/// Per-frame median / p99 at each size and the growth ratio 500 -> 50,000 (bench mode only).
fn report_latency() {
    // RENDER_FRAMES overrides the frames per size (a quick look on a debug build).
    let frames = std::env::var("RENDER_FRAMES").ok().and_then(|f| f.parse().ok()).unwrap_or(2_000);
    let lat: Vec<figures::Latency> = SIZES.iter().map(|n| figures::latency(*n, frames)).collect();
    println!("frame time at {WIDTH}x{HEIGHT} (clock moving one second per frame):");
    for l in &lat {
        println!(
            "  {:>6} pods: median {:>9.1?}  p99 {:>9.1?}  ({} frames)",
            l.pods, l.median, l.p99, l.frames
        );
    }
    let (small, big) = (lat[0], lat[lat.len() - 1]);
    let growth = big.median.as_secs_f64() / small.median.as_secs_f64();
    let p99_5k = lat[1].p99;
    println!(
        "  growth 500 -> 50,000 pods (median): {growth:.2}x (target <= 1.5x) {}",
        verdict(growth <= 1.5)
    );
    println!("  p99 at 5,000 pods: {p99_5k:.1?} (target <= 2 ms) {}", verdict(p99_5k.as_secs_f64() <= 0.002));
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let latency_only = std::env::var_os("RENDER_LATENCY_ONLY").is_some();
    if bench_mode && latency_only {
        report_latency();
        return;
    }
    let unmet = report_bytes(&figures::bytes(5_000));
    if bench_mode {
        report_latency();
    } else {
        assert!(unmet.is_empty(), "terminal-output targets not met: {unmet:?}");
    }
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
