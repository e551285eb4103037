//! Big clusters on the REAL control plane (issue 13 point 6): `cargo bench --bench real_cluster`
//! (`WARROOM_BENCH_PODS=50000` for the 50,000-pod case; default 5,000).
//!
//! A private control plane (`tests/support/control_plane`: etcd, per region context a
//! kube-apiserver and a kube-controller-manager, the harness playing the kubelet) gets N bare
//! pods created through the API across the two contexts; the kubelet reports them Ready. The
//! `warroom` binary built for this target then runs in a 200x50 pseudo-terminal against both
//! contexts (`benches/console/pty.rs`: every byte is fed to a VT100 screen model). Measured:
//!
//! - first full frame (every pane title on screen) and every pod listed (`N pods, 0 unhealthy`)
//!   after spawn, over several console starts against the loaded clusters;
//! - idle: CPU as % of one core, bytes/s written, RSS once a second;
//! - watch event -> pane: a pod's status gets a waiting reason seen nowhere else, then Ready again;
//! - keypress -> frame (help overlay open / close) during a rollout storm of status patches;
//! - peak RSS during a relist: etcd compacted, both API servers restarted (fresh watch caches:
//!   the console's watches resume from a compacted resourceVersion, get 410 Gone and LIST again;
//!   the API server's own request counter confirms the LIST).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs a smoke version: the debug binary,
//! 200 pods, short windows, no verdicts; it still fails if the console does not list the pods,
//! show a probe or the help overlay, or relist.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "real_cluster/estate.rs"]
mod estate;
#[path = "console/procfs.rs"]
mod procfs;
#[path = "console/pty.rs"]
mod pty;
#[path = "real_cluster/run.rs"]
mod run;
#[path = "console/stats.rs"]
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use procfs::mib;
use run::Plan;
use stats::{ms_summary, quantile};
use support::control_plane::ControlPlane;

fn main() {
    // A failed expectation ends the process: unwinding would drop the lab's runtimes and servers,
    // whose teardown can wait forever on their tasks (a failed bench hung instead of failing).
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::exit(101);
    }));
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs the smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let pods = std::env::var("WARROOM_BENCH_PODS").ok().and_then(|v| v.parse().ok());
    let plan = Plan::new(full, pods);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_warroom"));
    let profile = if bin.components().any(|c| c.as_os_str() == "debug") { "debug" } else { "release" };
    println!(
        "real control plane figures ({}; {profile} build; {} pods in 2 contexts; load average {})",
        if full { "full run" } else { "smoke run: figures not meaningful" },
        plan.pods,
        run::loadavg()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let t0 = std::time::Instant::now();
    let mut cp = ControlPlane::start();
    println!("control plane started in {:.1} s", t0.elapsed().as_secs_f64());
    let clients = rt.block_on(estate::clients(&cp));
    let created = rt.block_on(estate::create_pods(&cp, &clients, plan.pods));
    println!(
        "{} pods created through the API in {:.1} s ({:.0}/s)",
        plan.pods,
        created.as_secs_f64(),
        plan.pods as f64 / created.as_secs_f64()
    );
    let ready = rt.block_on(estate::wait_all_ready(&clients, plan.pods, plan.ready_within));
    println!("all Ready (harness kubelet) {:.1} s after the last create", ready.as_secs_f64());

    let starts = run::starts(&bin, &cp, &plan);
    let ff: Vec<Duration> = starts.iter().map(|s| s.first_frame).collect();
    let listed: Vec<Duration> = starts.iter().map(|s| s.listed).collect();
    println!(
        "first full frame against the loaded clusters: {}{}",
        ms_summary(&ff),
        plan.verdict(quantile(&ff, 1.0).unwrap_or_default() <= Duration::from_millis(200))
    );
    println!(
        "every pod listed after spawn: {}{}",
        ms_summary(&listed),
        plan.verdict(quantile(&listed, 1.0).unwrap_or_default() <= Duration::from_secs(5))
    );

    let o = run::ours(&bin, &rt, &mut cp, &clients, &plan);
    println!("peak RSS once listed and settled: {:.1} MiB", mib(o.peak_after_load_kib));
    println!(
        "idle {:.0} s: CPU {:.2}% of one core{}; output {:.0} B/s; RSS median {:.1} MiB, max {:.1} MiB{}",
        plan.idle.as_secs_f64(),
        o.idle.cpu_pct,
        plan.verdict(o.idle.cpu_pct <= 1.0),
        o.idle.bytes_per_s,
        mib(o.idle.rss_median_kib),
        mib(o.idle.rss_max_kib),
        plan.verdict(o.idle.rss_max_kib <= 150 * 1024)
    );
    let w99 = quantile(&o.watch_to_pane, 0.99).unwrap_or_default();
    println!(
        "watch event -> pane (from the API call): {}{}",
        ms_summary(&o.watch_to_pane),
        plan.verdict(w99 <= Duration::from_secs(1))
    );
    let k99 = quantile(&o.key_to_frame, 0.99).unwrap_or_default();
    println!(
        "keypress -> frame during the storm ({:.0} status patches/s done, asked {}/s over {} not-ready pods): {}{}",
        o.storm_rate,
        plan.storm_per_s,
        plan.storm_pool,
        ms_summary(&o.key_to_frame),
        plan.verdict(k99 <= Duration::from_millis(50))
    );
    println!(
        "RSS once the storm is over and settled: {:.1} MiB{}",
        mib(o.rss_after_storm_kib),
        plan.verdict(o.rss_after_storm_kib <= 150 * 1024)
    );
    let relist_max = quantile(&o.relists.iter().map(|r| r.peak_kib).collect::<Vec<_>>(), 1.0).unwrap_or(0);
    for r in &o.relists {
        println!(
            "relist: etcd compacted, both API servers restarted in {:.1} s; {} namespaced pod LISTs, the last {:.1} s after the compaction; peak RSS {:.1} MiB",
            r.restarted.as_secs_f64(),
            r.lists,
            r.back.as_secs_f64(),
            mib(r.peak_kib)
        );
    }
    println!("relist peak RSS max {:.1} MiB{}", mib(relist_max), plan.verdict(relist_max <= 250 * 1024));
    println!("load average at the end {}", run::loadavg());
}
