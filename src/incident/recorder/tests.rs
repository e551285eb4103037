use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::incident::log::{IncidentLog, read_log};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap()
}

/// A record payload that compresses poorly (so segments fill), numbered.
fn payload(i: u64) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = format!("record {i}:").into_bytes();
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(b'a' + (x % 26) as u8);
    }
    v
}

struct Incident {
    dir: tempfile::TempDir,
    log: Arc<IncidentLog>,
    id: String,
}

fn incident() -> Incident {
    let dir = tempfile::tempdir().unwrap();
    let (log, meta) = IncidentLog::declare(dir.path(), "t", "SEV2", true, "ana@host", Utc::now()).unwrap();
    Incident { log: Arc::new(log), id: meta.id, dir }
}

impl Incident {
    fn writer(&self, console: &str, limits: Limits) -> SegmentWriter {
        let root = recordings_dir(self.dir.path(), &self.id).unwrap();
        let sink: Arc<dyn SegmentLog> = self.log.clone();
        SegmentWriter::create(&root, console, limits, sink).unwrap()
    }

    fn verify(&self) -> RecVerify {
        verify(self.dir.path(), &self.id, &read_log(self.log.path()).unwrap())
    }
}

fn small() -> Limits {
    Limits { max_bytes: 4 * 1024, max_age: Duration::from_secs(300), sync_every: Duration::from_secs(1) }
}

#[test]
fn segments_rotate_by_size_and_read_back_in_order_with_their_log_entries() {
    let inc = incident();
    let mut w = inc.writer("c1", small());
    for i in 0..300u64 {
        w.write(t0() + chrono::Duration::milliseconds(i as i64 * 250), &payload(i), i % 50 == 0).unwrap();
    }
    w.close().unwrap();
    let recs = consoles(inc.dir.path(), &inc.id);
    assert_eq!(recs.len(), 1);
    let segs = &recs[0].segments;
    assert!(segs.len() >= 5, "300 x 200 letters of noise at 4 KiB per segment: {} segments", segs.len());
    let raw = read_raw(&recs[0]).unwrap();
    assert_eq!((raw.torn.as_deref(), raw.open), (None, false));
    assert_eq!(raw.records.len(), 300);
    for (i, (ts, bytes)) in raw.records.iter().enumerate() {
        assert_eq!(*ts, t0() + chrono::Duration::milliseconds(i as i64 * 250), "record {i}'s time");
        assert_eq!(*bytes, payload(i as u64), "record {i}");
    }
    let entries = read_log(inc.log.path()).unwrap();
    let logged: Vec<SegmentInfo> = entries
        .iter()
        .filter(|e| e.kind == crate::incident::entry::EntryKind::Recording)
        .map(|e| serde_json::from_value(e.details.clone()).unwrap())
        .collect();
    assert_eq!(logged.len(), segs.len(), "one entry per closed segment");
    assert_eq!(logged.iter().map(|s| s.records).sum::<u64>(), 300);
    for (info, path) in logged.iter().zip(segs) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(info.sha256, sha256_hex(&bytes));
        assert_eq!(info.bytes, bytes.len() as u64);
        // The compressor holds some output back until it flushes: about the limit.
        assert!(info.bytes < 4 * 1024 + 8 * 1024, "about the limit: {}", info.bytes);
    }
    assert_eq!(logged[0].from, t0());
    let v = inc.verify();
    assert!(v.is_intact() && v.open.is_empty(), "{v:?}");
    assert_eq!(v.verified, segs.len());
}

#[test]
fn segments_rotate_by_age() {
    let inc = incident();
    let limits = Limits { max_age: Duration::from_millis(50), ..small() };
    let mut w = inc.writer("c1", limits);
    w.write(t0(), b"one", false).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while consoles(inc.dir.path(), &inc.id)[0].segments.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no rotation");
        std::thread::sleep(Duration::from_millis(60));
        w.tick().unwrap();
        w.write(t0(), b"two", false).unwrap();
    }
    let v = inc.verify();
    assert!(v.verified >= 1 && v.open.len() == 1, "the closed one verified, the last open: {v:?}");
}

#[test]
fn a_torn_tail_reads_up_to_the_last_whole_record_and_says_so() {
    let inc = incident();
    let mut w = inc.writer("c1", Limits::default());
    for i in 0..10u64 {
        // Every record flushed, as an urgent record is.
        w.write(t0(), &payload(i), true).unwrap();
    }
    let path = consoles(inc.dir.path(), &inc.id)[0].segments[0].clone();
    let synced = std::fs::read(&path).unwrap();
    // The open segment of a running console: every record, not torn, open.
    let seg = read_segment(&path).unwrap();
    assert_eq!((seg.records.len(), seg.closed, seg.torn.as_deref()), (10, false, None));
    std::mem::forget(w); // a crash: the segment is never closed
    // Cut anywhere in the last record's compressed bytes: the first nine survive.
    let nine = {
        let dir = tempfile::tempdir().unwrap();
        let mut w9 = SegmentWriter::create(dir.path(), "x", Limits::default(), inc.log.clone()).unwrap();
        for i in 0..9u64 {
            w9.write(t0(), &payload(i), true).unwrap();
        }
        let p = dir.path().join("x/000001.seg");
        let len = std::fs::read(&p).unwrap().len();
        std::mem::forget(w9);
        len
    };
    for cut in [nine + 3, (nine + synced.len()) / 2] {
        std::fs::write(&path, &synced[..cut]).unwrap();
        let seg = read_segment(&path).unwrap();
        assert_eq!(seg.records.len(), 9, "cut at {cut} of {}", synced.len());
        assert!(seg.records.iter().enumerate().all(|(i, (_, b))| *b == payload(i as u64)));
        let torn = seg.torn.expect("said so");
        assert!(torn.contains("torn after 9 whole record(s)"), "{torn}");
        assert!(!seg.closed);
    }
    // Cut inside the last flush marker: every record is whole, but the stream was cut.
    std::fs::write(&path, &synced[..synced.len() - 2]).unwrap();
    let seg = read_segment(&path).unwrap();
    assert_eq!(seg.records.len(), 10);
    assert!(seg.torn.is_some_and(|t| t.contains("torn after 10 whole record(s)")));
    // Garbage instead of a header is an error, not records.
    std::fs::write(&path, b"not a segment").unwrap();
    assert!(matches!(read_segment(&path), Err(RecError::BadMagic { .. })));
}

#[test]
fn verify_names_an_altered_a_missing_and_an_unlogged_segment() {
    let inc = incident();
    let mut w = inc.writer("c1", small());
    for i in 0..500u64 {
        // Flushed as a console flushes (each second): the compressor's output is counted.
        w.write(t0(), &payload(i), i % 10 == 0).unwrap();
    }
    w.close().unwrap();
    let segs = consoles(inc.dir.path(), &inc.id)[0].segments.clone();
    let sizes: Vec<u64> = segs.iter().map(|p| std::fs::metadata(p).unwrap().len()).collect();
    assert!(segs.len() >= 3, "{sizes:?}");
    let good = inc.verify();
    assert!(good.is_intact(), "{good:?}");

    // One byte changed.
    let mut bytes = std::fs::read(&segs[1]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&segs[1], &bytes).unwrap();
    let v = inc.verify();
    assert_eq!(v.problems.len(), 1, "{v:?}");
    assert!(v.problems[0].contains("was altered") && v.problems[0].contains(&segs[1].display().to_string()));
    bytes[mid] ^= 1;
    std::fs::write(&segs[1], &bytes).unwrap();
    assert!(inc.verify().is_intact());

    // One deleted.
    std::fs::remove_file(&segs[0]).unwrap();
    let v = inc.verify();
    assert!(!v.is_intact());
    assert!(v.problems[0].contains("is missing") && v.problems[0].contains("000001.seg"), "{v:?}");
    std::fs::write(&segs[0], b"").unwrap();
    assert!(inc.verify().problems[0].contains("was altered"), "an emptied segment is altered");

    // A segment nobody logged, before the last: added by hand.
    let mut w2 = inc.writer("c2", small());
    w2.write(t0(), b"x", true).unwrap();
    std::mem::forget(w2);
    let c2 = consoles(inc.dir.path(), &inc.id)[1].dir.clone();
    std::fs::copy(c2.join("000001.seg"), c2.join("000000.seg")).unwrap();
    let v = inc.verify();
    assert!(v.problems.iter().any(|p| p.contains("000000.seg") && p.contains("not recorded")), "{v:?}");
    assert!(v.open.iter().any(|p| p.ends_with("c2/000001.seg")), "the last one is open: {v:?}");
}

#[test]
fn names_are_checked_before_they_become_paths() {
    assert!(valid_console_id("20261206T050000.000Z-42"));
    for bad in ["", "..", "../x", "a/b", ".hidden", "a b"] {
        assert!(!valid_console_id(bad), "{bad:?}");
    }
    assert!(valid_segment_name("000001.seg"));
    for bad in ["1.seg", "../000001.seg", "000001.seg.bak", "abcdef.seg"] {
        assert!(!valid_segment_name(bad), "{bad:?}");
    }
    assert!(valid_console_id(&new_console_id(t0())));
}
