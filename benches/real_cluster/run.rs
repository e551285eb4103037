//! What the bench does with the console: how much to measure ([`Plan`]), console starts against
//! the loaded clusters, and one long run (idle, watch probes, keys during a storm, relists).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::estate::{self, NAMESPACE};
use crate::procfs;
use crate::pty::PtyConsole;
use crate::stats::quantile;
use crate::support::control_plane::kubelet::Behaviour;
use crate::support::control_plane::{CONTEXTS, ControlPlane};
use crate::support::home::Home;

/// Terminal size of every run.
const COLS: u16 = 200;
/// Terminal rows.
const ROWS: u16 = 50;
/// Text of the help overlay (generated from the default keymap).
const HELP_TEXT: &str = "Getting started";
/// Pane titles: all of them on screen is a full frame.
const PANES: [&str; 6] = ["Pods", "Database", "Sentinel", "Traffic", "Checklist", "Steps"];

/// How much to measure.
pub struct Plan {
    pub full: bool,
    pub pods: usize,
    pub starts: usize,
    pub settle: Duration,
    pub idle: Duration,
    pub probes: usize,
    pub key_pairs: usize,
    pub storm_per_s: u32,
    pub storm_pool: usize,
    pub relists: usize,
    /// Waits for the console (generous: a debug build on a loaded machine).
    pub patience: Duration,
    /// Wait for the kubelet to report every pod Ready.
    pub ready_within: Duration,
}

impl Plan {
    /// The full run (`pods` from `WARROOM_BENCH_PODS`, default 5,000) or the smoke run.
    pub fn new(full: bool, pods: Option<usize>) -> Plan {
        if full {
            let pods = pods.unwrap_or(5_000).max(1_000);
            Plan {
                full,
                pods,
                starts: 5,
                settle: Duration::from_secs(5),
                idle: Duration::from_secs(60),
                probes: 20,
                key_pairs: 100,
                storm_per_s: 500,
                storm_pool: 500,
                relists: 2,
                patience: Duration::from_secs(120),
                ready_within: Duration::from_secs(1_800),
            }
        } else {
            Plan {
                full,
                pods: pods.unwrap_or(200),
                starts: 1,
                settle: Duration::from_millis(500),
                idle: Duration::from_secs(2),
                probes: 1,
                key_pairs: 2,
                storm_per_s: 100,
                storm_pool: 20,
                relists: 1,
                patience: Duration::from_secs(60),
                ready_within: Duration::from_secs(60),
            }
        }
    }

    /// "met" / "NOT MET" in a full run; nothing in the smoke run (its figures mean nothing).
    pub fn verdict(&self, met: bool) -> &'static str {
        match (self.full, met) {
            (false, _) => "",
            (true, true) => "  [met]",
            (true, false) => "  [NOT MET]",
        }
    }

    /// The text of the Pods pane when every pod is listed and healthy.
    fn all(&self) -> String {
        format!("{} pods, 0 unhealthy", self.pods)
    }
}

/// The 1/5/15-minute load average of the machine.
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn expect_screen(con: &PtyConsole, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> Instant {
    con.wait_for(timeout, pred).unwrap_or_else(|| {
        panic!("timed out after {timeout:?} waiting for {what}; screen:\n{}", con.contents())
    })
}

fn spawn(bin: &Path, cp: &ControlPlane) -> (Home, PtyConsole) {
    let home = Home::new();
    let cfg = estate::console_config(&home, &cp.kubeconfig);
    let args = ["--config", cfg.to_str().expect("utf-8 path"), "--new", "bench"];
    let con = PtyConsole::spawn(bin, &args, &home.env(), COLS, ROWS).expect("spawn warroom");
    (home, con)
}

/// One console start: spawn -> first full frame, spawn -> every pod listed.
pub struct Start {
    pub first_frame: Duration,
    pub listed: Duration,
}

/// Start the console `plan.starts` times against the loaded clusters.
pub fn starts(bin: &Path, cp: &ControlPlane, plan: &Plan) -> Vec<Start> {
    (0..plan.starts)
        .map(|_| {
            let (_home, con) = spawn(bin, cp);
            let frame = expect_screen(&con, "the first full frame", plan.patience, |s| {
                PANES.iter().all(|p| s.contains(p))
            });
            let all = plan.all();
            let listed = expect_screen(&con, &all, plan.patience, |s| s.contains(&all));
            Start { first_frame: frame - con.spawned_at, listed: listed - con.spawned_at }
        })
        .collect()
}

/// What an idle window showed.
pub struct Idle {
    pub cpu_pct: f64,
    pub bytes_per_s: f64,
    pub rss_median_kib: u64,
    pub rss_max_kib: u64,
}

/// Watch the console doing nothing for `window`: CPU, bytes written, RSS once a second.
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
        _ => panic!("no /proc/{pid}/stat: the console exited during the idle window"),
    };
    Idle {
        cpu_pct: cpu.as_secs_f64() / secs * 100.0,
        bytes_per_s: (bytes1 - bytes0) as f64 / secs,
        rss_median_kib: quantile(&rss, 0.5).unwrap_or(0),
        rss_max_kib: quantile(&rss, 1.0).unwrap_or(0),
    }
}

/// One forced relist.
pub struct Relist {
    /// Namespaced pod LISTs the restarted API servers answered.
    pub lists: u64,
    /// Compaction -> both API servers restarted and ready.
    pub restarted: Duration,
    /// Compaction -> the last LIST of the relist (polled every 100 ms).
    pub back: Duration,
    pub peak_kib: u64,
}

/// Everything measured in the long run.
pub struct Ours {
    pub peak_after_load_kib: u64,
    pub idle: Idle,
    pub watch_to_pane: Vec<Duration>,
    pub key_to_frame: Vec<Duration>,
    pub storm_rate: f64,
    /// RSS once the storm is over and every pod is healthy again (after 5 s of settling).
    pub rss_after_storm_kib: u64,
    pub relists: Vec<Relist>,
}

/// The long run: idle, watch probes, keys during a storm, relists.
pub fn ours(
    bin: &Path,
    rt: &tokio::runtime::Runtime,
    cp: &mut ControlPlane,
    clients: &[kube::Client],
    plan: &Plan,
) -> Ours {
    let (_home, con) = spawn(bin, cp);
    let all = plan.all();
    expect_screen(&con, &all, plan.patience, |s| s.contains(&all));
    std::thread::sleep(plan.settle);
    let peak_after_load_kib = procfs::peak_kib(con.pid()).unwrap_or(0);
    let idle = measure_idle(&con, plan.idle);
    let watch_to_pane = probes(&con, rt, cp, clients, plan);
    let (key_to_frame, storm_rate) = keys_in_storm(&con, rt, cp, clients, plan);
    std::thread::sleep(plan.settle);
    let rss_after_storm_kib = procfs::rss_kib(con.pid()).unwrap_or(0);
    let relists = (0..plan.relists).map(|_| relist(&con, rt, cp, clients, plan)).collect();
    Ours { peak_after_load_kib, idle, watch_to_pane, key_to_frame, storm_rate, rss_after_storm_kib, relists }
}

/// Watch event -> pane, three samples per probe: the kubelet reports a pod not ready (`1
/// unhealthy`), the pod's status gets a reason seen nowhere else, the pod is Ready again. Each is
/// timed from just before the API call (the kubelet's includes its GET of the pod).
fn probes(
    con: &PtyConsole,
    rt: &tokio::runtime::Runtime,
    cp: &ControlPlane,
    clients: &[kube::Client],
    plan: &Plan,
) -> Vec<Duration> {
    let all = plan.all();
    let one = format!("{} pods, 1 unhealthy", plan.pods);
    let mut out = Vec::new();
    for k in 0..plan.probes {
        let i = k * 997 % plan.pods;
        let t0 = Instant::now();
        rt.block_on(estate::set_behaviour(cp, &[i], Behaviour::NotReady));
        out.push(expect_screen(con, &one, plan.patience, |s| s.contains(&one)).saturating_duration_since(t0));
        let reason = format!("Probe{k:03}");
        let t0 = Instant::now();
        rt.block_on(estate::patch_reason(clients, i, &reason)).expect("probe patch");
        out.push(
            expect_screen(con, &reason, plan.patience, |s| s.contains(&reason)).saturating_duration_since(t0),
        );
        let t0 = Instant::now();
        rt.block_on(estate::set_behaviour(cp, &[i], Behaviour::Ready));
        out.push(expect_screen(con, &all, plan.patience, |s| s.contains(&all)).saturating_duration_since(t0));
    }
    out
}

/// Keypress -> frame (the help overlay opens on `?`, closes on `q`) while a storm of status
/// patches runs over `plan.storm_pool` not-ready pods. Returns the samples and the patch rate.
fn keys_in_storm(
    con: &PtyConsole,
    rt: &tokio::runtime::Runtime,
    cp: &ControlPlane,
    clients: &[kube::Client],
    plan: &Plan,
) -> (Vec<Duration>, f64) {
    let pool: Vec<usize> = (0..plan.storm_pool).map(|j| j * plan.pods / plan.storm_pool).collect();
    rt.block_on(estate::set_behaviour(cp, &pool, Behaviour::NotReady));
    let some = format!("{} pods, {} unhealthy", plan.pods, pool.len());
    expect_screen(con, &some, plan.patience, |s| s.contains(&some));
    let stop = AtomicBool::new(false);
    let (lat, (patches, took)) = std::thread::scope(|s| {
        let storm = s.spawn(|| rt.block_on(estate::storm(clients, &pool, plan.storm_per_s, &stop)));
        std::thread::sleep(Duration::from_secs(1));
        let mut lat = Vec::new();
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..plan.key_pairs {
            for (key, open) in [(b"?", true), (b"q", false)] {
                let t0 = Instant::now();
                con.send(key);
                let at = expect_screen(con, "the help overlay to toggle", plan.patience, |s| {
                    s.contains(HELP_TEXT) == open
                });
                lat.push(at.saturating_duration_since(t0));
                std::thread::sleep(Duration::from_millis(rng.u64(50..150)));
            }
        }
        stop.store(true, Ordering::Relaxed);
        (lat, storm.join().expect("storm thread"))
    });
    assert!(patches > 0, "the storm patched no pod");
    rt.block_on(estate::set_behaviour(cp, &pool, Behaviour::Ready));
    let all = plan.all();
    expect_screen(con, "the storm to settle", plan.patience, |s| s.contains(&all));
    (lat, patches as f64 / took.as_secs_f64())
}

/// Force a relist: compact etcd, restart both API servers; wait until they have answered the
/// console's LISTs (their request counters stop growing for 2 s) and every pod is on screen.
fn relist(
    con: &PtyConsole,
    rt: &tokio::runtime::Runtime,
    cp: &mut ControlPlane,
    clients: &[kube::Client],
    plan: &Plan,
) -> Relist {
    assert!(procfs::reset_peak(con.pid()), "cannot reset VmHWM (needs the same user or root)");
    let t0 = Instant::now();
    rt.block_on(cp.etcd.compact());
    for ctx in CONTEXTS {
        cp.restart_apiserver(ctx);
    }
    let restarted = t0.elapsed();
    let all = plan.all();
    let (mut lists, mut changed) = (0, Instant::now());
    loop {
        let now: Vec<u64> = clients.iter().map(|c| rt.block_on(estate::namespaced_pod_lists(c))).collect();
        let total = now.iter().sum();
        if total != lists {
            (lists, changed) = (total, Instant::now());
        }
        let quiet = changed.elapsed() > Duration::from_secs(2);
        if now.iter().all(|&n| n > 0) && quiet && con.contents().contains(&all) {
            break;
        }
        assert!(
            t0.elapsed() < plan.patience,
            "no relist of {NAMESPACE} pods in both contexts within {:?} (LISTs by context: {now:?}); screen:\n{}",
            plan.patience,
            con.contents()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let back = changed.saturating_duration_since(t0);
    std::thread::sleep(plan.settle);
    Relist { lists, restarted, back, peak_kib: procfs::peak_kib(con.pid()).unwrap_or(0) }
}
