//! Figures of the Pods pane with 5,000 pods: `cargo bench --bench pods_pane`.
//!
//! - a 160x48 frame with 5,000 pods and the 2,500th selected, beside a calm frame (target for
//!   a full-screen frame with 5,000 pods: p99 <= 2 ms, release build);
//! - `visible_order`: the 40 rows at offset 2,500 of 5,000 unsorted pods, without sorting them
//!   all (what a frame costs when the pod list just changed and the order memo is cold).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs 10 frames of each, without verdicts.

#[path = "console/stats.rs"]
mod stats;
#[path = "../tests/support/ui_fixtures.rs"]
mod ui_fixtures;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::app::{PaneId, State};
use warroom::backends::Snapshot;
use warroom::ui::draw;
use warroom::ui::panes::pods::visible_order;

use stats::{ms_summary, quantile};
use ui_fixtures::{calm, ctx, many_pods, now};

/// Target: a full-screen frame with 5,000 pods, p99.
const DRAW_P99_MAX: Duration = Duration::from_millis(2);

/// Time of each of `runs` frames of `st` at 160x48.
fn frames(st: &State, runs: usize) -> Vec<Duration> {
    let ui = ctx();
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            term.draw(|f| draw(f, st, &ui)).expect("draw");
            start.elapsed()
        })
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs the smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 1_000 } else { 10 };
    let mut st = calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(many_pods(5000), now()));
    st.view.focus = PaneId::Pods;
    st.view.selected[PaneId::Pods.index()] = 2500;
    let busy = frames(&st, runs);
    println!("160x48 frame, 5,000 pods, row 2,500 selected: {}", ms_summary(&busy));
    println!("160x48 calm frame: {}", ms_summary(&frames(&calm(), runs)));
    let view = many_pods(5000);
    let order: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(visible_order(black_box(&view), 2500, 40));
            start.elapsed()
        })
        .collect();
    println!("visible_order (40 rows at 2,500) of 5,000 unsorted pods: {}", ms_summary(&order));
    if full {
        let p99 = quantile(&busy, 0.99).unwrap_or_default();
        let verdict = if p99 <= DRAW_P99_MAX { "met" } else { "MISSED" };
        println!("  target frame with 5,000 pods p99 <= {DRAW_P99_MAX:?}: {verdict}");
    }
}
