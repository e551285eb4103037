//! Figures for the flight recorder (plain `main`, run with `cargo bench --bench recorder`):
//! bytes per hour and CPU per second of recording the drill estate with 5,000 pods polled
//! every 1 s, against the budget of issue 14 (at most 1 MB per hour, at most 0.1 % of one
//! core = 1 ms of CPU per second).
//!
//! One simulated hour is encoded and written as the console's recorder thread does it
//! (`Encoder` -> `SegmentWriter`, DEFLATE, segments of ~256 KiB, each closed segment logged
//! to a real incident log), as fast as it goes; CPU is this thread's CPU time (user +
//! system, fsyncs included: one per simulated second, as the 1 s group commit does); the
//! console's own copy of each snapshot is freed outside it, as the console frees it. The
//! estate varies as a drill does: 4 ticks a second, every layer polled each second (fresh
//! `fetched_at`), 3 pods changing per second (restarts, readiness), the replicas' lag and
//! the probes' latency changing every poll, a 50-pod rollout every 10 minutes, an operator
//! command every 30 s. Under `cargo test --all-targets` (no `--bench`) a quick smoke version
//! runs (500 pods, 2 minutes).
//!
//! A second run records the drill estate itself: the built-in `calm` scenario with
//! `[estate] pods = 5000` (`ScenarioDef.estate.pods`, as a scenario file sets it), its sim
//! advanced one second per poll and every layer's view taken from it, as the drill console
//! polls at 1 s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use warroom::app::Action;
use warroom::app::recording::{Encoder, Genesis};
use warroom::backends::Snapshot;
use warroom::backends::model::*;
use warroom::command::Command;
use warroom::incident::log::IncidentLog;
use warroom::incident::recorder::{Limits, SegmentLog, SegmentWriter, recordings_dir};

/// This thread's CPU time (user + system).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const CONTEXTS: [&str; 3] = ["eu-central-1", "us-east-1", "us-west-2"];

fn pod(ctx: &str, app: &str, hash: &str, i: usize, t0: DateTime<Utc>) -> PodRow {
    PodRow {
        context: ctx.into(),
        namespace: "prod".into(),
        name: format!("{app}-{hash}-{i:05x}"),
        ready: 1,
        containers: 1,
        phase: "Running".into(),
        restarts: 0,
        reason: None,
        started_at: Some(t0 - chrono::Duration::days(3)),
        node: Some(format!("ip-10-0-{}-{}.ec2.internal", i % 7, i % 50)),
        labels: BTreeMap::from([("app".into(), app.into()), ("pod-template-hash".into(), hash.into())]),
    }
}

fn sorted(mut pods: Vec<PodRow>) -> Vec<PodRow> {
    pods.sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
    pods
}

fn estate_pods(n: usize, t0: DateTime<Utc>) -> Vec<PodRow> {
    let apps = ["api", "worker", "web", "cache", "batch"];
    sorted((0..n).map(|i| pod(CONTEXTS[i % 3], apps[i % 5], "7cldhwf7h", i, t0)).collect())
}

fn kube(pods: &Arc<Vec<PodRow>>) -> KubeView {
    KubeView {
        pods: pods.clone(),
        deployments: ["api", "worker", "web", "cache", "batch"]
            .iter()
            .map(|a| DeploymentRow {
                context: "us-east-1".into(),
                namespace: "prod".into(),
                name: a.to_string(),
                desired: 1000,
                ready: 1000,
                available: 1000,
            })
            .collect(),
        db_service: None,
        contexts: CONTEXTS
            .iter()
            .map(|c| ContextHealth { context: c.to_string(), error: None, last_ok: None })
            .collect(),
    }
}

fn database(rng: &mut Rng) -> DatabaseView {
    DatabaseView {
        nodes: (0..3)
            .map(|i| PgNodeStatus {
                name: format!("postgresql-{i}"),
                region: CONTEXTS[i].into(),
                role: if i == 0 { PgRole::Primary } else { PgRole::Replica },
                version: Some("16.4".into()),
                timeline: Some(1),
                lsn: Some(0x3000_0000 + rng.next() % 100_000),
                replay_lag_bytes: (i > 0).then(|| rng.next() % 4096),
                replay_lag_seconds: (i > 0).then(|| (rng.next() % 100) as f64 / 100.0),
                replication_state: (i > 0).then(|| "streaming".into()),
                pod: Some(format!("postgresql-{i}")),
                ..Default::default()
            })
            .collect(),
    }
}

fn sentinel() -> SentinelView {
    SentinelView {
        master_name: "mymaster".into(),
        sentinels: (0..3)
            .map(|i| SentinelObs {
                addr: format!("10.0.{i}.5:26379"),
                master: Some("10.0.1.10:6379".into()),
                error: None,
            })
            .collect(),
        quorum: Some(Ok("OK 3 usable Sentinels".into())),
        replicas: vec![],
        master_role: Some("master".into()),
        events: vec![],
        failover_in_progress: false,
    }
}

fn traffic(rng: &mut Rng) -> TrafficView {
    TrafficView {
        record: "api.example.com.".into(),
        ttl: Some(60),
        regions: CONTEXTS
            .iter()
            .map(|r| RegionTraffic {
                name: r.to_string(),
                role: "primary".into(),
                weight: Some(if *r == "us-east-1" { 100 } else { 0 }),
                failover_role: None,
                health_check: HealthState::Healthy,
                checkers: Some((16, 16)),
                live: Some(Probe {
                    status: Some(200),
                    latency_ms: 10 + (rng.next() % 90) as u32,
                    error: None,
                }),
                ready: Some(Probe {
                    status: Some(200),
                    latency_ms: 10 + (rng.next() % 90) as u32,
                    error: None,
                }),
                deploy_ready: Some((5, 5)),
            })
            .collect(),
        control_plane_error: None,
    }
}

/// One simulated second of the estate's actions, at `t`.
fn second(
    s: u64,
    t: DateTime<Utc>,
    pods: &mut Arc<Vec<PodRow>>,
    rng: &mut Rng,
    t0: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Action)> {
    let mut out = Vec::new();
    let ms = |m: i64| t + chrono::Duration::milliseconds(m);
    // A few pods change, every second; a 50-pod rollout every 10 minutes, one pod a second.
    let list = Arc::make_mut(pods);
    for _ in 0..3 {
        let i = rng.below(list.len());
        list[i].restarts += 1;
        list[i].ready = (list[i].ready + 1) % 2;
        list[i].reason = (list[i].ready == 0).then(|| "CrashLoopBackOff".into());
    }
    let phase = s % 600;
    if phase < 50 {
        let round = s / 600;
        let old =
            list.iter().position(|p| p.name.starts_with("web-") && !p.name.contains(&format!("r{round}")));
        if let Some(i) = old {
            let ctx = list[i].context.clone();
            list.remove(i);
            list.push(pod(&ctx, "web", &format!("r{round}x{s}"), phase as usize, t0));
            *list = sorted(std::mem::take(list));
        }
    }
    out.push((ms(10), Action::Kube(Arc::new(Snapshot::fresh(kube(pods), ms(5))))));
    out.push((ms(20), Action::Database(Arc::new(Snapshot::fresh(database(rng), ms(15))))));
    out.push((ms(30), Action::Sentinel(Arc::new(Snapshot::fresh(sentinel(), ms(25))))));
    out.push((ms(40), Action::Traffic(Arc::new(Snapshot::fresh(traffic(rng), ms(35))))));
    for q in 0..4 {
        out.push((ms(q * 250 + 100 + (rng.next() % 7) as i64), Action::Tick));
    }
    if s.is_multiple_of(30) {
        out.push((ms(900), Action::Command(Command::FocusNext)));
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

struct Logged(IncidentLog);

impl SegmentLog for Logged {
    fn segment_closed(&self, info: &warroom::incident::recorder::SegmentInfo) -> Result<(), String> {
        self.0.segment_closed(info)
    }
}

/// One second of the drill estate's actions at `t`: the sim advanced a second, every layer
/// polled from it, four ticks, an operator command every 30 s.
fn drill_second(
    sim: &mut warroom::backends::drill::Sim,
    s: u64,
    t: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Action)> {
    sim.advance(Duration::from_secs(1));
    let ms = |m: i64| t + chrono::Duration::milliseconds(m);
    let mut out = vec![
        (ms(10), Action::Kube(Arc::new(Snapshot::fresh(sim.kube_view(), ms(5))))),
        (ms(20), Action::Database(Arc::new(Snapshot::fresh(sim.database_view(), ms(15))))),
        (ms(30), Action::Sentinel(Arc::new(Snapshot::fresh(sim.sentinel_view(), ms(25))))),
        (ms(40), Action::Traffic(Arc::new(Snapshot::fresh(sim.traffic_view(), ms(35))))),
    ];
    for q in 0..4 {
        out.push((ms(q * 250 + 100), Action::Tick));
    }
    if s.is_multiple_of(30) {
        out.push((ms(900), Action::Command(Command::FocusNext)));
    }
    out
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n_pods, secs) = if full { (5_000, 3_600u64) } else { (500, 120u64) };
    let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut pods = Arc::new(estate_pods(n_pods, t0));
    measure(&format!("hand-built pods, {n_pods} pods"), secs, full, |s, t| {
        second(s, t, &mut pods, &mut rng, t0)
    });
    let mut def = warroom::backends::drill::scenario::registry::find("calm", None).expect("built-in calm");
    def.estate.pods = Some(n_pods as u32);
    let mut sim = warroom::backends::drill::Sim::from_def(def, 7, t0, 1.0).expect("the drill estate");
    measure(&format!("drill estate (calm, [estate] pods = {n_pods})"), secs, full, |s, t| {
        drill_second(&mut sim, s, t)
    });
}

/// Record `secs` seconds of `second`'s actions and print the figures, labelled `label`.
fn measure(
    label: &str,
    secs: u64,
    full: bool,
    mut second: impl FnMut(u64, DateTime<Utc>) -> Vec<(DateTime<Utc>, Action)>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap();
    println!("recorder: {label}");
    let (log, meta) = IncidentLog::declare(dir.path(), "bench", "SEV2", true, "bench@host", t0).unwrap();
    let root = recordings_dir(dir.path(), &meta.id).unwrap();
    let sink: Arc<dyn SegmentLog> = Arc::new(Logged(log));
    let mut writer = SegmentWriter::create(&root, "bench", Limits::default(), sink).unwrap();
    let state = warroom::app::State::new(
        warroom::app::Mode::Drill,
        (&meta).into(),
        "bench@host".into(),
        Arc::new(warroom::backends::drill::estate::config()),
        t0,
    );
    let genesis = Genesis::capture("bench", &state, &[], vec![], (200, 60));
    let mut encoder = Encoder::default();

    let g = encoder.genesis(&genesis);
    writer.write(g.ts, &g.bytes, true).unwrap();
    let (mut records, mut raw_bytes, mut worst) = (1u64, g.bytes.len() as u64, Duration::ZERO);
    let (mut cpu, mut cpu_encode) = (Duration::ZERO, Duration::ZERO);
    let mut shown: Vec<(DateTime<Utc>, Action)> = Vec::new();
    for s in 0..secs {
        let t = t0 + chrono::Duration::seconds(s as i64);
        let actions = second(s, t);
        // The console's state holds the snapshots too and frees the old ones on its own thread
        // (it would without a recorder): held here, freed outside the measured time.
        let console = std::mem::replace(&mut shown, actions.clone());
        let start = thread_cpu();
        let mut batch = Vec::new();
        for (at, a) in &actions {
            batch.extend(encoder.encode(*at, a));
        }
        let encoded = thread_cpu();
        let last = batch.len().saturating_sub(1);
        for (i, r) in batch.iter().enumerate() {
            // One fsync per second: the 1 s group commit.
            writer.write(r.ts, &r.bytes, r.urgent || i == last).unwrap();
            raw_bytes += r.bytes.len() as u64;
        }
        records += batch.len() as u64;
        let end = thread_cpu();
        drop(console);
        worst = worst.max(end - start);
        cpu += end - start;
        cpu_encode += encoded - start;
    }
    let start = thread_cpu();
    writer.close().unwrap();
    cpu += thread_cpu() - start;
    let recs = warroom::incident::recorder::consoles_in(&root);
    let on_disk: u64 = recs[0].segments.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    let per_hour = on_disk as f64 * 3600.0 / secs as f64;
    let cpu_per_s = cpu.as_secs_f64() * 1e6 / secs as f64;
    println!(
        "recorder: {secs} s simulated, {records} records ({raw_bytes} B of JSON), {} segments",
        recs[0].segments.len()
    );
    println!(
        "recorder: CPU per second: encode (diff, JSON, redaction check) {:.0} us, compress+write+fsync {:.0} us",
        cpu_encode.as_secs_f64() * 1e6 / secs as f64,
        (cpu - cpu_encode).as_secs_f64() * 1e6 / secs as f64
    );
    println!(
        "recorder: {:.0} KB/hour on disk (budget 1000 KB/hour), CPU {:.0} us/s = {:.3} % of a core (budget 1000 us/s = 0.1 %), worst second {:?}",
        per_hour / 1000.0,
        cpu_per_s,
        cpu_per_s / 1e4,
        worst
    );
    // The recording reads back whole.
    let back = warroom::app::recording::read(&recs[0]).expect("reads back");
    assert_eq!(back.actions.len() as u64 + 1, records, "every record decodes");
    if full {
        let verdict = |ok: bool| if ok { "within budget" } else { "OVER BUDGET" };
        println!("recorder: size {}, CPU {}", verdict(per_hour <= 1e6), verdict(cpu_per_s <= 1000.0));
    }
}
