//! Figures of the Kubernetes observer against the in-process API test server
//! (`tests/support/kube_server`): `cargo bench --bench kube_figures`.
//!
//! - a pod status change on the server -> the observer's view shows it (target: kube watch
//!   event -> pane p99 <= 1 s);
//! - 5,000 pods in two contexts: first sync, the RSS the observer's stores and the view add
//!   (no verdict: this process also holds the test servers; the console's RSS target of
//!   64 MiB is checked by `benches/console.rs`), and the full-screen draw at 200x50 from that
//!   view (target: p99 <= 2 ms, release build).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs a quick smoke version (5 samples,
//! 500 pods, 20 frames) and prints no verdicts: a debug build's times say nothing.

#[path = "../tests/support/kube_server/mod.rs"]
mod kube_server;
#[path = "console/stats.rs"]
mod stats;
#[path = "../tests/support/ui_fixtures.rs"]
mod ui_fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::app::PaneId;
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver};
use warroom::backends::model::KubeView;
use warroom::backends::{Observe, Snapshot};

use kube_server::{KubeLab, waiting_status};
use stats::{ms_summary, quantile};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

/// Target: a watch event reaches the view (and the pane) within this, p99.
const EVENT_P99_MAX: Duration = Duration::from_secs(1);
/// Target: a full-screen frame with 5,000 pods, p99 (release build).
const DRAW_P99_MAX: Duration = Duration::from_millis(2);

/// How much to measure.
struct Plan {
    full: bool,
    latency_samples: u32,
    pods_per_context: usize,
    frames: usize,
}

fn spec() -> KubeObserveSpec {
    KubeObserveSpec {
        contexts: vec![EAST.into(), WEST.into()],
        namespaces: vec!["default".into()],
        db_service: None,
        heartbeat_every: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(50),
    }
}

async fn observer(lab: &KubeLab) -> KubeObserver {
    let path = lab.kubeconfig.to_string_lossy().to_string();
    let clients =
        KubeClients::from_kubeconfig(Some(&path), &[EAST.into(), WEST.into()]).await.expect("clients");
    KubeObserver::start(&clients, spec())
}

/// Wait (on the observer's notify handle) until `cond` holds for its view.
async fn wait_until(
    obs: &KubeObserver,
    within: Duration,
    what: &str,
    cond: impl Fn(&KubeView) -> bool,
) -> KubeView {
    let notify = obs.notify_handle();
    let end = Instant::now() + within;
    loop {
        if let Ok(v) = obs.observe().await
            && cond(&v)
        {
            return v;
        }
        assert!(Instant::now() < end, "not within {within:?}: {what}");
        let _ = tokio::time::timeout(Duration::from_millis(20), notify.notified()).await;
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// A pod status change on the server -> the observer's view shows it.
async fn status_change_to_view(plan: &Plan) {
    let lab = KubeLab::start(&[EAST, WEST]).await;
    lab.server(EAST).add_pod("default", "api-1", &[("app", "api")]);
    let obs = observer(&lab).await;
    let has_api = |v: &KubeView| v.pods.iter().any(|p| p.name == "api-1");
    wait_until(&obs, Duration::from_secs(5), "first sync", has_api).await;
    let mut samples = Vec::new();
    for restarts in 1..=plan.latency_samples {
        let t0 = Instant::now();
        lab.server(EAST).set_pod_status(
            "default",
            "api-1",
            waiting_status("CrashLoopBackOff", restarts, "Error"),
        );
        wait_until(&obs, Duration::from_secs(2), "status change", |v| {
            v.pods.iter().any(|p| p.name == "api-1" && p.restarts == restarts)
        })
        .await;
        samples.push(t0.elapsed());
    }
    println!("kube status change -> KubeView: {}", ms_summary(&samples));
    if plan.full {
        let p99 = quantile(&samples, 0.99).unwrap_or_default();
        println!("  target p99 <= {EVENT_P99_MAX:?}: {}", verdict(p99 <= EVENT_P99_MAX));
    }
}

/// Resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Many pods: first sync, RSS, and full-screen frames drawn from the observer's view.
async fn many_pods(plan: &Plan) {
    let lab = KubeLab::start(&[EAST, WEST]).await;
    let n = plan.pods_per_context;
    for ctx in [EAST, WEST] {
        for i in 0..n {
            lab.server(ctx).add_pod("default", &format!("bulk-{i:05}-{}", &ctx[3..]), &[("app", "bulk")]);
        }
    }
    let before = rss_mib();
    let t0 = Instant::now();
    let obs = observer(&lab).await;
    let v = wait_until(&obs, Duration::from_secs(60), "every bulk pod", |v| v.pods.len() == 2 * n).await;
    let synced = t0.elapsed();
    let after = rss_mib();
    println!(
        "{} pods: first sync {synced:.2?}; RSS {before:.1} MiB -> {after:.1} MiB (+{:.1} MiB while the observer synced: its stores, the view, the test servers' list responses)",
        2 * n,
        after - before
    );
    // No verdict: the RSS target (<= 64 MiB with 5,000 pods) is for the console process and is
    // checked by `benches/console.rs`; this process also holds the test servers' pods.
    let mut st = ui_fixtures::calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(v, st.domain.now));
    let ui = ui_fixtures::ctx();
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    let mut times = Vec::with_capacity(plan.frames);
    for i in 0..plan.frames {
        st.view.selected[PaneId::Pods.index()] = i * 13 % (2 * n);
        let t = Instant::now();
        term.draw(|f| warroom::ui::draw(f, &st, &ui)).expect("draw");
        times.push(t.elapsed());
    }
    println!("draw 200x50 with {} pods (selection moving): {}", 2 * n, ms_summary(&times));
    if plan.full {
        let p99 = quantile(&times, 0.99).unwrap_or_default();
        println!("  target p99 <= {DRAW_P99_MAX:?}: {}", verdict(p99 <= DRAW_P99_MAX));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs the smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan { full, latency_samples: 60, pods_per_context: 2_500, frames: 400 }
    } else {
        Plan { full, latency_samples: 5, pods_per_context: 250, frames: 20 }
    };
    status_change_to_view(&plan).await;
    many_pods(&plan).await;
}
