//! Figures for the incident shared through Kubernetes (`[war_room]`) on the REAL control plane
//! (`tests/support/control_plane`): `cargo bench --bench war_room_shared`.
//!
//! - round trip: host A appends an entry, until host B's local file holds it (B's sharing
//!   thread polls the store every 200 ms), p50 / p99;
//! - catch-up: a host joining an incident of 10,000 entries rebuilds its local log from the
//!   store (chain checked), and a host whose file lacks the last 10,000 pulls them.
//!
//! Under `cargo test --all-targets` (no `--bench`): 10 round trips and 200 entries.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;
use warroom::config::model::WarRoomConfig;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, read_log};
use warroom::incident::shared::{EntryStore, KubeStore};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (trips, entries) = if full { (200, 10_000u64) } else { (10, 200u64) };
    let cp = ControlPlane::start();
    let ns = unique_namespace("wr-bench");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(cp.namespace("us-east-1", &ns));
    let w = WarRoomConfig {
        context: "us-east-1".into(),
        namespace: ns,
        kubeconfig: Some(cp.kubeconfig.to_string_lossy().into_owned()),
    };
    let store =
        |id: &str| -> Arc<dyn EntryStore> { Arc::new(KubeStore::connect(&w, None, id).expect("connect")) };

    // Round trip A -> store -> B's file.
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, meta) = IncidentLog::declare(a_dir.path(), "bench", "SEV2", false, "ana@a", Utc::now()).unwrap();
    let a = Arc::new(a);
    a.share(store(&meta.id)).unwrap();
    IncidentLog::join_from_store(b_dir.path(), &meta.id, store(&meta.id).as_ref()).unwrap();
    let b = Arc::new(IncidentLog::open(b_dir.path(), &meta.id, "bo@b").unwrap().0);
    b.share(store(&meta.id)).unwrap();
    let mut samples = Vec::new();
    for i in 0..trips {
        let start = Instant::now();
        let seq = a.append(&EntryKind::Note, &format!("trip {i}"), json!({})).unwrap().seq;
        loop {
            if read_log(b.path()).unwrap().last().is_some_and(|e| e.seq >= seq) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "entry {seq} never reached host B");
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "round trip through the shared store (A append -> B's local file), n={trips}: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3
    );
    drop(b);

    // Catch-up: A writes `entries` more; C joins from an empty data dir; B's file pulls them.
    let start = Instant::now();
    for i in 0..entries {
        a.append(&EntryKind::Note, &format!("bulk {i}"), json!({ "i": i })).unwrap();
    }
    let wrote = start.elapsed();
    let c_dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    IncidentLog::join_from_store(c_dir.path(), &meta.id, store(&meta.id).as_ref()).unwrap();
    let joined = start.elapsed();
    let start = Instant::now();
    let b = Arc::new(IncidentLog::open(b_dir.path(), &meta.id, "bo@b").unwrap().0);
    b.share(store(&meta.id)).unwrap();
    let pulled = start.elapsed();
    let total = read_log(a.path()).unwrap().len();
    assert_eq!(read_log(b.path()).unwrap().len(), total);
    assert_eq!(std::fs::read(a.path()).unwrap(), std::fs::read(b.path()).unwrap());
    println!(
        "catch-up of {entries} entries: join from an empty data dir ({total} entries) {:.2} s; \
         an existing file pulling the missing {entries} {:.2} s; (writing them: {:.2} s, {:.0} appends/s)",
        joined.as_secs_f64(),
        pulled.as_secs_f64(),
        wrote.as_secs_f64(),
        entries as f64 / wrote.as_secs_f64()
    );
}
