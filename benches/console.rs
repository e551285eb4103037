//! Figures of the real console process (issue 7): `cargo bench --bench console`.
//!
//! The `warroom` binary built for this target (release under `cargo bench`) runs in a
//! 200x50 pseudo-terminal against the Kubernetes API test server of `tests/support/kube_server`
//! holding 5,000 pods. Every byte it writes is counted and fed to a VT100 screen model, so the
//! bench waits for what a person would see. Measured, from /proc and the pty:
//!
//! - first full frame with every configured backend on a closed port;
//! - idle for 60 s: CPU (utime + stime) as % of one core, bytes/s written, RSS;
//! - RSS peak during a relist (the server answers the watch with 410 Gone; peak via `VmHWM`
//!   after resetting it through `/proc/PID/clear_refs`);
//! - kube watch event -> the pane shows it;
//! - keypress -> frame (help overlay open / close) while the server sends 50 pod events/s.
//!
//! kdash (when `$WARROOM_BENCH_KDASH` names its binary, or `kdash` is on `PATH`) runs against
//! the same server and pods in the same run: RSS, idle CPU and idle bytes/s side by side.
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs a quick smoke version: the debug
//! binary, 200 pods, short windows, no kdash, no timing verdicts; it still fails if the console
//! does not show the pods, the probe, the help overlay or a relist.

#[allow(dead_code)] // the bench uses a part of the tests' temp home
#[path = "../tests/support/home.rs"]
mod home;
#[path = "../tests/support/kube_server/mod.rs"]
mod kube_server;

#[path = "console/lab.rs"]
mod lab;
#[path = "console/procfs.rs"]
mod procfs;
#[path = "console/pty.rs"]
mod pty;
#[path = "console/stats.rs"]
mod stats;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use home::Home;
use kube_server::{KubeServer, ready_status, waiting_status};
use lab::{NAMESPACE, pod_name};
use procfs::mib;
use pty::PtyConsole;
use stats::{ms_summary, quantile};

/// Terminal size of every run.
const COLS: u16 = 200;
/// Terminal rows.
const ROWS: u16 = 50;
/// Text of the help overlay (generated from the default keymap).
const HELP_TEXT: &str = "Getting started";
/// Pane titles: all of them on screen is a full frame.
const PANES: [&str; 6] = ["Pods", "Database", "Sentinel", "Traffic", "Checklist", "Steps"];

/// How much to measure.
struct Plan {
    full: bool,
    first_frame_runs: usize,
    pods: usize,
    settle: Duration,
    idle: Duration,
    probes: usize,
    key_pairs: usize,
    churn_per_s: u32,
    relists: usize,
    /// Generous: a debug build on a loaded CI machine.
    patience: Duration,
}

impl Plan {
    fn new(full: bool) -> Plan {
        if full {
            Plan {
                full,
                first_frame_runs: 20,
                pods: 5_000,
                settle: Duration::from_secs(5),
                idle: Duration::from_secs(60),
                probes: 30,
                key_pairs: 100,
                churn_per_s: 50,
                relists: 5,
                patience: Duration::from_secs(60),
            }
        } else {
            Plan {
                full,
                first_frame_runs: 1,
                pods: 200,
                settle: Duration::from_millis(500),
                idle: Duration::from_secs(2),
                probes: 2,
                key_pairs: 2,
                churn_per_s: 50,
                relists: 1,
                patience: Duration::from_secs(60),
            }
        }
    }

    /// "met" / "NOT MET" in a full run; nothing in the smoke run (its figures mean nothing).
    fn verdict(&self, met: bool) -> &'static str {
        match (self.full, met) {
            (false, _) => "",
            (true, true) => "  [met]",
            (true, false) => "  [NOT MET]",
        }
    }
}

/// What an idle window showed.
struct Idle {
    cpu_pct: f64,
    bytes_per_s: f64,
    rss_median_kib: u64,
    rss_max_kib: u64,
}

/// Watch a program doing nothing for `window`: CPU, bytes written, RSS once a second.
fn measure_idle(con: &PtyConsole, window: Duration) -> Idle {
    let pid = con.pid();
    let (cpu0, bytes0, t0) = (procfs::cpu_time(pid), con.bytes(), Instant::now());
    let mut rss = Vec::new();
    while t0.elapsed() < window {
        rss.extend(procfs::rss_kib(pid));
        std::thread::sleep(Duration::from_secs(1).min(window.saturating_sub(t0.elapsed())));
    }
    let (cpu1, bytes1, secs) = (procfs::cpu_time(pid), con.bytes(), t0.elapsed().as_secs_f64());
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => panic!("no /proc/{pid}/stat: the program exited during the idle window"),
    };
    Idle {
        cpu_pct: cpu.as_secs_f64() / secs * 100.0,
        bytes_per_s: (bytes1 - bytes0) as f64 / secs,
        rss_median_kib: quantile(&rss, 0.5).unwrap_or(0),
        rss_max_kib: quantile(&rss, 1.0).unwrap_or(0),
    }
}

fn expect_screen(con: &PtyConsole, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> Instant {
    con.wait_for(timeout, pred).unwrap_or_else(|| {
        panic!("timed out after {timeout:?} waiting for {what}; screen:\n{}", con.contents())
    })
}

/// First full frame with every backend unreachable, `runs` times.
fn first_frame(bin: &Path, plan: &Plan) -> Vec<Duration> {
    (0..plan.first_frame_runs)
        .map(|_| {
            let home = Home::new();
            let cfg = lab::unreachable_config(&home);
            let args = ["--config", cfg.to_str().expect("utf-8 path"), "--new", "bench"];
            let con = PtyConsole::spawn(bin, &args, &home.env(), COLS, ROWS).expect("spawn warroom");
            let at = expect_screen(&con, "the first full frame", plan.patience, |s| {
                PANES.iter().all(|p| s.contains(p))
            });
            at - con.spawned_at
        })
        .collect()
}

/// Everything measured on our console with the pods watched.
struct Ours {
    loaded: Duration,
    peak_after_load_kib: u64,
    idle: Idle,
    relist_peaks_kib: Vec<u64>,
    watch_to_pane: Vec<Duration>,
    key_to_frame: Vec<Duration>,
    churn_rate: f64,
}

fn ours(bin: &Path, server: &KubeServer, kubeconfig: &Path, plan: &Plan) -> Ours {
    let home = Home::new();
    let cfg = lab::kube_config(&home, kubeconfig);
    let args = ["--config", cfg.to_str().expect("utf-8 path"), "--new", "bench"];
    let con = PtyConsole::spawn(bin, &args, &home.env(), COLS, ROWS).expect("spawn warroom");
    let pid = con.pid();
    let all = format!("{} pods, 0 unhealthy", plan.pods);
    let at = expect_screen(&con, &format!("'{all}'"), plan.patience, |s| s.contains(&all));
    let loaded = at - con.spawned_at;
    std::thread::sleep(plan.settle);
    let peak_after_load_kib = procfs::peak_kib(pid).unwrap_or(0);
    let idle = measure_idle(&con, plan.idle);

    // Kube watch event -> pane: a pod starts crash-looping with a reason seen nowhere else.
    let mut watch_to_pane = Vec::new();
    for k in 0..plan.probes {
        let name = pod_name(k * 97 % plan.pods);
        let reason = format!("Probe{k:03}");
        let t0 = Instant::now();
        server.set_pod_status(NAMESPACE, &name, waiting_status(&reason, 1, "Error"));
        let at = expect_screen(&con, &reason, plan.patience, |s| s.contains(&reason));
        watch_to_pane.push(at.saturating_duration_since(t0));
        let t0 = Instant::now();
        server.set_pod_status(NAMESPACE, &name, ready_status(true));
        let at = expect_screen(&con, "the probe to clear", plan.patience, |s| s.contains(&all));
        watch_to_pane.push(at.saturating_duration_since(t0));
    }

    // Keypress -> frame under churn: the help overlay opens (`?`) and closes (`q`).
    let stop = AtomicBool::new(false);
    let (key_to_frame, (events, took)) = std::thread::scope(|s| {
        let churn = s.spawn(|| lab::churn(server, plan.pods, plan.churn_per_s, &stop));
        std::thread::sleep(Duration::from_millis(500));
        let mut lat = Vec::new();
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..plan.key_pairs {
            for (key, open) in [(b"?", true), (b"q", false)] {
                let t0 = Instant::now();
                con.send(key);
                let at = expect_screen(&con, "the help overlay to toggle", plan.patience, |s| {
                    s.contains(HELP_TEXT) == open
                });
                lat.push(at.saturating_duration_since(t0));
                std::thread::sleep(Duration::from_millis(rng.u64(50..150)));
            }
        }
        stop.store(true, Ordering::Relaxed);
        (lat, churn.join().expect("churn thread"))
    });
    expect_screen(&con, "the churn to settle", plan.patience, |s| s.contains(&all));

    // Relist: watches end with 410 Gone; the client lists every pod again.
    let mut relist_peaks_kib = Vec::new();
    for _ in 0..plan.relists {
        assert!(procfs::reset_peak(pid), "cannot reset VmHWM of {pid} (needs the same user or root)");
        let before = lab::pod_lists(server);
        server.compact();
        let t0 = Instant::now();
        while lab::pod_lists(server) == before {
            assert!(t0.elapsed() < plan.patience, "no relist within {:?} of 410 Gone", plan.patience);
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(plan.settle.max(Duration::from_secs(1)));
        expect_screen(&con, "the pods after the relist", plan.patience, |s| s.contains(&all));
        relist_peaks_kib.push(procfs::peak_kib(pid).unwrap_or(0));
    }

    Ours {
        loaded,
        peak_after_load_kib,
        idle,
        relist_peaks_kib,
        watch_to_pane,
        key_to_frame,
        churn_rate: events as f64 / took.as_secs_f64(),
    }
}

/// The kdash binary: `$WARROOM_BENCH_KDASH`, else `kdash` on `PATH`.
fn kdash_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WARROOM_BENCH_KDASH") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("kdash")).find(|p| p.is_file())
}

/// kdash against the same server: time to show a pod, then the idle window.
fn kdash(
    bin: &Path,
    server: &KubeServer,
    kubeconfig: &Path,
    plan: &Plan,
) -> Result<(Duration, Idle), String> {
    let home = Home::new();
    let mut env = home.env();
    env.push(("KUBECONFIG", kubeconfig.into()));
    let seen_before = server.requests().len();
    let con = PtyConsole::spawn(bin, &[], &env, COLS, ROWS)?;
    let Some(at) = con.wait_for(plan.patience, |s| s.contains("svc-")) else {
        let mut paths: Vec<String> = server.requests()[seen_before..]
            .iter()
            .map(|r| r.split('?').next().unwrap_or_default().to_string())
            .collect();
        paths.sort();
        paths.dedup();
        return Err(format!(
            "kdash showed no pod within {:?}; it asked for {paths:?}; screen:\n{}",
            plan.patience,
            con.contents()
        ));
    };
    let loaded = at - con.spawned_at;
    std::thread::sleep(plan.settle.max(Duration::from_secs(10)));
    Ok((loaded, measure_idle(&con, plan.idle)))
}

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
    let plan = Plan::new(full);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_warroom"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let profile = if bin.components().any(|c| c.as_os_str() == "debug") { "debug" } else { "release" };
    println!(
        "console process figures ({}; {profile} build {}; {COLS}x{ROWS} pty)",
        if full { "full run" } else { "smoke run: figures not meaningful" },
        bin.display()
    );

    let ff = first_frame(&bin, &plan);
    let ff_p99 = quantile(&ff, 0.99).unwrap_or_default();
    println!(
        "first full frame, every backend on a closed port: {}{}",
        ms_summary(&ff),
        plan.verdict(ff_p99 <= Duration::from_millis(200))
    );

    let lab = rt.block_on(lab::start_cluster(plan.pods));
    let server = lab.server(lab::CONTEXT);
    let o = ours(&bin, server, &lab.kubeconfig, &plan);
    println!(
        "{} pods on screen {:.2} s after spawn; peak RSS by then {:.1} MiB",
        plan.pods,
        o.loaded.as_secs_f64(),
        mib(o.peak_after_load_kib)
    );
    println!(
        "idle {:.0} s: CPU {:.2}% of one core{}; output {:.0} B/s; RSS median {:.1} MiB, max {:.1} MiB{}",
        plan.idle.as_secs_f64(),
        o.idle.cpu_pct,
        plan.verdict(o.idle.cpu_pct <= 0.5),
        o.idle.bytes_per_s,
        mib(o.idle.rss_median_kib),
        mib(o.idle.rss_max_kib),
        plan.verdict(o.idle.rss_max_kib <= 64 * 1024)
    );
    let relist_max = quantile(&o.relist_peaks_kib, 1.0).unwrap_or(0);
    println!(
        "relist after 410 Gone ({} times): peak RSS median {:.1} MiB, max {:.1} MiB{}",
        o.relist_peaks_kib.len(),
        mib(quantile(&o.relist_peaks_kib, 0.5).unwrap_or(0)),
        mib(relist_max),
        plan.verdict(relist_max <= 100 * 1024)
    );
    let w99 = quantile(&o.watch_to_pane, 0.99).unwrap_or_default();
    println!(
        "kube watch event -> pane: {}{}",
        ms_summary(&o.watch_to_pane),
        plan.verdict(w99 <= Duration::from_secs(1))
    );
    let k99 = quantile(&o.key_to_frame, 0.99).unwrap_or_default();
    println!(
        "keypress -> frame during churn ({:.1} pod events/s): {}{}",
        o.churn_rate,
        ms_summary(&o.key_to_frame),
        plan.verdict(k99 <= Duration::from_millis(50))
    );

    if !full {
        return;
    }
    let Some(kd) = kdash_binary() else {
        println!("kdash: not found (set WARROOM_BENCH_KDASH or put kdash on PATH): comparison skipped");
        return;
    };
    match kdash(&kd, server, &lab.kubeconfig, &plan) {
        Ok((loaded, k)) => {
            println!("kdash showed pods {:.2} s after spawn ({})", loaded.as_secs_f64(), kd.display());
            println!("side by side, {} pods, idle {:.0} s:", plan.pods, plan.idle.as_secs_f64());
            println!(
                "  {:<8} {:>14} {:>14} {:>14} {:>12}",
                "", "RSS median", "RSS max", "idle CPU", "idle B/s"
            );
            for (name, i) in [("warroom", &o.idle), ("kdash", &k)] {
                println!(
                    "  {name:<8} {:>10.1} MiB {:>10.1} MiB {:>13.2}% {:>12.0}",
                    mib(i.rss_median_kib),
                    mib(i.rss_max_kib),
                    i.cpu_pct,
                    i.bytes_per_s
                );
            }
        }
        Err(e) => println!("kdash: could not be measured: {e}"),
    }
}
