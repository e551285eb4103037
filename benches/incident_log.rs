//! Figures for the incident log (plain `main`, run with `cargo bench --bench incident_log`):
//! append latency with fsync (median, p99), burst rate, and the time and memory needed to
//! resume (open) and verify an incident of 100,000 entries.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use warroom::incident::entry::{Entry, EntryKind};
use warroom::incident::log::{IncidentLog, ZERO_HASH, line_hash, verify};
use warroom::incident::store;

/// Resident and peak memory of this process in KiB, from /proc.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this once as a smoke test,
    // with small counts so CI stays quick (the figures are only meaningful from `cargo bench`).
    let full = std::env::args().any(|a| a == "--bench");
    let (n, resume_entries) = if full { (1000, 100_000u64) } else { (20, 1_000u64) };
    let dir = tempfile::tempdir().expect("temp dir");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap();

    // 1. Append latency with fsync.
    let (log, _) = IncidentLog::declare(dir.path(), "bench", "SEV2", true, "bench@host", now).unwrap();
    let mut lat = Vec::with_capacity(n);
    let burst = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        log.append(
            &EntryKind::Observation,
            &format!("replica lag {i} bytes on postgresql-1"),
            json!({ "lag": i }),
        )
        .unwrap();
        lat.push(t.elapsed());
    }
    let burst = burst.elapsed();
    lat.sort();
    println!(
        "append+fsync: n={n} median={:?} p99={:?} max={:?} burst={:.0} entries/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[n - 1],
        n as f64 / burst.as_secs_f64()
    );

    // 1b. The same appends with the head anchored in a state dir (a second atomic file write,
    // temp + fsync + rename, per append).
    let state = tempfile::tempdir().expect("temp dir");
    let (plain, _) = IncidentLog::declare(state.path(), "bench", "SEV2", true, "bench@host", now).unwrap();
    let anchored = plain.anchored(state.path()).unwrap();
    let mut lat = Vec::with_capacity(n);
    let burst = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        anchored
            .append(&EntryKind::Observation, &format!("replica lag {i} bytes"), json!({ "lag": i }))
            .unwrap();
        lat.push(t.elapsed());
    }
    let burst = burst.elapsed();
    lat.sort();
    println!(
        "append+fsync+anchor: n={n} median={:?} p99={:?} max={:?} burst={:.0} entries/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[n - 1],
        n as f64 / burst.as_secs_f64()
    );

    // 2. Resume an incident of 100,000 entries (chain built directly, without per-line fsync).
    let id = "INC-20261126-130000";
    let path = store::log_path(dir.path(), id).unwrap();
    let mut file = std::fs::File::create(&path).unwrap();
    let mut prev = ZERO_HASH.to_string();
    let mut out = Vec::new();
    for seq in 1..=resume_entries {
        let (kind, summary, details) = if seq == 1 {
            (
                "declared",
                "Declared bench".to_string(),
                json!({ "id": id, "title": "bench", "severity": "SEV1", "drill": true }),
            )
        } else {
            (
                "observation",
                format!(
                    "postgresql-1 replay lag {seq} bytes; sentinel quorum 3/3 agrees on 10.0.0.{}",
                    seq % 250
                ),
                json!({ "node": "postgresql-1", "lag_bytes": seq, "source": "postgres", "fresh": true }),
            )
        };
        let e = Entry {
            seq,
            ts: now,
            mono_ms: seq * 10,
            operator: "alice@ops-bastion-1 via 203.0.113.7".into(),
            kind: kind.into(),
            summary,
            details,
            prev: prev.clone(),
        };
        let line = serde_json::to_vec(&e).unwrap();
        prev = line_hash(&line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    file.write_all(&out).unwrap();
    file.sync_all().unwrap();
    let size = out.len();
    drop(out);

    let (rss0, _) = rss_kib();
    let t = Instant::now();
    let (resumed, _meta, entries) = IncidentLog::open(dir.path(), id, "bench@host").unwrap();
    let open_time = t.elapsed();
    let (rss1, hwm1) = rss_kib();
    println!(
        "resume {resume_entries} entries ({:.1} MiB file): open {:?}, entries held: +{:.1} MiB RSS (peak {:.1} MiB)",
        size as f64 / 1048576.0,
        open_time,
        (rss1.saturating_sub(rss0)) as f64 / 1024.0,
        hwm1 as f64 / 1024.0
    );
    assert_eq!(entries.len() as u64, resume_entries);
    drop(entries);
    let t = Instant::now();
    resumed.append(&EntryKind::Note, "after resume", json!({})).unwrap();
    println!("first append after resume: {:?}", t.elapsed());
    let t = Instant::now();
    let report = verify(&path).unwrap();
    assert!(report.is_intact());
    println!("verify {} entries: {:?}", resume_entries + 1, t.elapsed());
}
