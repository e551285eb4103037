//! The incident log: chain, seq, fsync, permissions, redaction, tamper detection, torn tails,
//! following, listing.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use warroom::incident::entry::Entry;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, LogError, ProblemKind, ZERO_HASH, line_hash, read_log, verify};
use warroom::incident::store::{last_open_incident, list_incidents};

const OP: &str = "alice@ops1 via 203.0.113.7";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn lines(p: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(p).unwrap();
    data.split_inclusive(|&b| b == b'\n').map(|l| l.strip_suffix(b"\n").unwrap_or(l).to_vec()).collect()
}

fn write_lines(p: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(p, out).unwrap();
}

/// A log with the declared entry plus `n` notes; returns it and its path.
fn log_with(dir: &Path, n: usize) -> (IncidentLog, PathBuf) {
    let (log, _) = IncidentLog::declare(dir, "Primary DB down", "SEV1", false, OP, t0()).unwrap();
    for i in 0..n {
        log.append(&EntryKind::Note, &format!("note {i}"), json!({ "i": i })).unwrap();
    }
    let path = log.path().to_path_buf();
    (log, path)
}

#[test]
fn declare_and_append_build_a_gapless_hash_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (log, meta) = IncidentLog::declare(dir.path(), "Primary DB down", "SEV1", false, OP, t0()).unwrap();
    assert_eq!(meta.id, "INC-20261126-120301");
    assert_eq!(meta.declared_at, t0());
    assert!(!meta.drill && meta.resolved_at.is_none());
    assert_eq!(log.path(), dir.path().join("incidents/INC-20261126-120301.jsonl"));
    let appended: Vec<Entry> = (0..5)
        .map(|i| log.append(&EntryKind::Observation, &format!("lag {i}"), json!({ "lag": i })).unwrap())
        .collect();
    assert_eq!(appended.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);

    let raw = lines(log.path());
    let entries = read_log(log.path()).unwrap();
    assert_eq!(entries.len(), 6);
    assert_eq!(&entries[1..], &appended[..], "what append returned is what is on disk");
    assert_eq!(entries[0].kind, EntryKind::Declared);
    assert_eq!(entries[0].prev, ZERO_HASH);
    assert_eq!(entries[0].details["title"], "Primary DB down");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.operator, OP);
        if i > 0 {
            assert_eq!(e.prev, line_hash(&raw[i - 1]), "entry {} chains to line {i}", i + 1);
            assert!(e.mono_ms >= entries[i - 1].mono_ms);
        }
        let text = String::from_utf8(raw[i].clone()).unwrap();
        let ts = text.split("\"ts\":\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(ts.len(), "2026-11-26T12:03:01.000Z".len(), "ms precision, UTC: {ts}");
        assert!(ts.ends_with('Z'));
    }
    let report = verify(log.path()).unwrap();
    assert!(report.is_intact() && report.pending_torn.is_none(), "{report:?}");
    assert_eq!(report.entries, 6);
}

#[test]
fn files_are_private_and_unsafe_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path) = log_with(dir.path(), 1);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("incidents")), 0o700);
    let id = "INC-20261126-120301";
    drop(log);

    // World-writable log file.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = IncidentLog::open(dir.path(), id, OP).err().unwrap();
    assert!(matches!(err, LogError::Insecure { .. }), "{err}");
    assert!(err.to_string().contains("group/world-writable"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    IncidentLog::open(dir.path(), id, OP).unwrap();

    // A symlink in place of the log.
    let real = dir.path().join("elsewhere.jsonl");
    std::fs::rename(&path, &real).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    let err = IncidentLog::open(dir.path(), id, OP).err().unwrap();
    assert!(matches!(err, LogError::Insecure { .. }) && err.to_string().contains("symlink"), "{err}");

    // A group-writable incidents directory.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("incidents")).unwrap();
    std::fs::set_permissions(other.path().join("incidents"), std::fs::Permissions::from_mode(0o770)).unwrap();
    let err = IncidentLog::declare(other.path(), "x", "SEV3", false, OP, t0()).err().unwrap();
    assert!(matches!(err, LogError::Insecure { .. }), "{err}");

    // Ids cannot escape the incidents directory.
    for bad in ["../INC-1", "INC-../../etc/passwd", "", "INC-", "inc-20261126-120301"] {
        assert!(matches!(IncidentLog::open(dir.path(), bad, OP), Err(LogError::BadId { .. })), "{bad}");
    }
    assert!(matches!(
        IncidentLog::open(dir.path(), "INC-20200101-000000", OP),
        Err(LogError::NotFound { .. })
    ));
}

#[test]
fn secrets_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) =
        IncidentLog::declare(dir.path(), "DB auth broken password=Hunter2x", "SEV2", false, OP, t0())
            .unwrap();
    let e = log
        .append(&EntryKind::StepResult,
            "promoted via postgres://admin:Sup3rS3cretPw@10.0.0.5:5432/app",
            json!({
                "dsn": "host=10.0.0.5 user=admin password=Sup3rS3cretPw dbname=app",
                "aws": { "aws_secret_access_key": AWS_SECRET, "note": format!("aws_secret_access_key={AWS_SECRET}") },
                "cmd": ["redis-cli", "AUTH RedisPw77"],
                "key_id": "AKIAIOSFODNN7EXAMPLE",
                "headers": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
            }),
        )
        .unwrap();
    assert_eq!(e.summary, "promoted via postgres://admin:***@10.0.0.5:5432/app");
    let bytes = String::from_utf8(std::fs::read(log.path()).unwrap()).unwrap();
    for secret in
        ["Hunter2x", "Sup3rS3cretPw", AWS_SECRET, "RedisPw77", "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9"]
    {
        assert!(!bytes.contains(secret), "{secret} leaked into the log");
    }
    assert!(bytes.contains("admin:***@10.0.0.5"), "the rest of the DSN stays readable");
}

#[test]
fn summaries_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path) = log_with(dir.path(), 0);
    let e = log.append(&EntryKind::Note, "two\nlines\r\x1b[31m", json!(null)).unwrap();
    assert_eq!(e.summary, "two lines  [31m");
    assert_eq!(e.details, json!({}));
    assert_eq!(lines(&path).len(), 2);
}

/// Each kind of tampering is caught, at the right line.
#[test]
fn tampering_is_caught_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, path) = log_with(dir.path(), 7); // 8 lines
    let orig = lines(&path);
    let check = |name: &str, lines: Vec<Vec<u8>>| {
        let p = dir.path().join(format!("{name}.jsonl"));
        write_lines(&p, &lines);
        let report = verify(&p).unwrap();
        report.problem.clone().unwrap_or_else(|| panic!("{name} not caught: {report:?}"))
    };

    let mut edited = orig.clone();
    edited[2] = String::from_utf8(edited[2].clone()).unwrap().replace("note 1", "note X").into_bytes();
    let p = check("edited", edited);
    // Every line carries its own hash (the seal): the edit is caught at the edited line itself.
    assert_eq!((p.kind, p.line, p.detected_at), (ProblemKind::ChainBroken, 3, 3), "{p:?}");
    assert!(p.message.contains("its own hash does not match"), "{}", p.message);

    let mut deleted = orig.clone();
    deleted.remove(3);
    let p = check("deleted", deleted);
    assert_eq!((p.kind, p.line), (ProblemKind::Missing, 4), "{p:?}");
    assert!(p.message.contains("seq 4 is missing"), "{}", p.message);

    let mut reordered = orig.clone();
    reordered.swap(3, 4);
    let p = check("reordered", reordered);
    assert_eq!((p.kind, p.line), (ProblemKind::Reordered, 4), "{p:?}");

    // A forged line appended by hand: plausible seq, prev copied from the last real line.
    let mut appended = orig.clone();
    let mut forged: Entry = serde_json::from_slice(&orig[7]).unwrap();
    forged.seq = 9;
    forged.summary = "nothing happened here".into();
    appended.push(serde_json::to_vec(&forged).unwrap());
    let p = check("appended", appended);
    assert_eq!((p.kind, p.detected_at), (ProblemKind::ChainBroken, 9), "{p:?}");

    // A garbage line in the middle is not a torn tail.
    let mut garbage = orig.clone();
    garbage.insert(5, b"{\"seq\": 6, oops".to_vec());
    let p = check("garbage", garbage);
    assert_eq!((p.kind, p.line), (ProblemKind::Unreadable, 6), "{p:?}");
    let err = read_log(&dir.path().join("garbage.jsonl")).unwrap_err();
    assert!(err.to_string().contains("garbage.jsonl:6:"), "{err}");

    // The CLI exits 1 on tampering, 0 on an intact log.
    let bin = env!("CARGO_BIN_EXE_warroom");
    let run = |id: &str| {
        Command::new(bin).args(["log", "verify", id]).env("WARROOM_DATA_DIR", dir.path()).output().unwrap()
    };
    let ok = run("INC-20261126-120301");
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    let mut edited = orig.clone();
    edited[1] = String::from_utf8(edited[1].clone()).unwrap().replace("note 0", "note Z").into_bytes();
    write_lines(&path, &edited);
    let bad = run("INC-20261126-120301");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("line 2"), "{stdout}");
}

#[test]
fn torn_tail_is_recorded_not_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path) = log_with(dir.path(), 3); // 4 lines
    drop(log);
    let torn = br#"{"seq":5,"ts":"2026-11-26T12:03:09.123Z","mono_ms":8,"operator":"alice@ops1","kind":"no"#;
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(torn).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Before anyone opens it: intact, with a pending torn tail; readers skip it.
    let report = verify(&path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    let pending = report.pending_torn.unwrap();
    assert_eq!((pending.first_line, pending.lines, pending.bytes), (5, 1, torn.len()));
    assert_eq!(read_log(&path).unwrap().len(), 4);

    let (log, _, entries) = IncidentLog::open(dir.path(), "INC-20261126-120301", OP).unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..before.len()], &before[..], "torn bytes kept exactly as they were");
    assert_eq!(after[before.len()], b'\n');
    let rec = entries.last().unwrap();
    assert_eq!((rec.kind.as_str(), rec.seq), ("torn-tail", 5));
    assert_eq!(rec.prev, line_hash(torn));
    assert_eq!(rec.details["torn"][0]["len"], torn.len());
    assert_eq!(rec.details["torn"][0]["sha256"], line_hash(torn));
    assert!(rec.details["torn"][0]["excerpt"].as_str().unwrap().starts_with("{\"seq\":5"));
    assert_eq!(rec.details["chain_prev"], line_hash(&lines(&path)[3]));

    let next = log.append(&EntryKind::Note, "after the crash", json!({})).unwrap();
    assert_eq!(next.seq, 6);
    let report = verify(&path).unwrap();
    assert!(report.is_intact() && report.pending_torn.is_none(), "{report:?}");
    assert_eq!((report.entries, report.recorded_torn), (6, 1));

    // Altering the recorded torn bytes afterwards is tampering.
    let mut l = lines(&path);
    l[4][2] = b'X';
    write_lines(&path, &l);
    let p = verify(&path).unwrap().problem.unwrap();
    assert_eq!((p.kind, p.line), (ProblemKind::TornRecordMismatch, 6), "{p:?}");
}

#[test]
fn a_torn_tail_left_by_another_process_is_recorded_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path) = log_with(dir.path(), 2);
    // Another console crashed mid-line while this one kept the file open, after a terminated
    // garbage line (e.g. a zero-filled block after a power loss).
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"\0\0\0\n{\"seq\":4,").unwrap();
    let e = log.append(&EntryKind::Note, "still here", json!({})).unwrap();
    assert_eq!(e.seq, 5);
    let entries = read_log(&path).unwrap();
    let rec = &entries[3];
    assert_eq!((rec.kind.as_str(), rec.details["torn"].as_array().unwrap().len()), ("torn-tail", 2));
    assert_eq!(rec.details["torn"][0]["excerpt"], "???");
    let report = verify(&path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.entries, report.recorded_torn), (5, 2));
}

#[test]
fn two_consoles_see_each_other_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (a, meta) = IncidentLog::declare(dir.path(), "Region down", "SEV1", false, "a@one", t0()).unwrap();
    let (b, _, seen_by_b) = IncidentLog::open(dir.path(), &meta.id, "b@two").unwrap();
    assert_eq!(seen_by_b.len(), 1);
    let mut follow_a = a.follower();
    let mut follow_b = b.follower();
    assert!(follow_a.poll_new().is_empty());

    b.append(&EntryKind::Note, "b: scaling us-west-2", json!({})).unwrap();
    a.append(&EntryKind::Note, "a: paging DBA", json!({})).unwrap();
    b.append(&EntryKind::Note, "b: DNS weights 0/100", json!({})).unwrap();

    let deadline = Instant::now() + Duration::from_secs(1);
    let mut got = Vec::new();
    while got.len() < 3 && Instant::now() < deadline {
        got.extend(follow_a.poll_new());
        std::thread::sleep(Duration::from_millis(250));
    }
    let summaries: Vec<_> = got.iter().map(|e| (e.seq, e.operator.as_str(), e.summary.as_str())).collect();
    assert_eq!(
        summaries,
        vec![
            (2, "b@two", "b: scaling us-west-2"),
            (3, "a@one", "a: paging DBA"),
            (4, "b@two", "b: DNS weights 0/100")
        ]
    );
    assert_eq!(follow_b.poll_new().len(), 3);

    // A partly written line is not returned until it is complete.
    let mut f = std::fs::OpenOptions::new().append(true).open(a.path()).unwrap();
    f.write_all(b"{\"seq\":5").unwrap();
    let offset = follow_a.offset();
    assert!(follow_a.poll_new().is_empty());
    assert_eq!(follow_a.offset(), offset);
    // The next append records it as torn; the follower sees that record and the entry.
    b.append(&EntryKind::Note, "b: after torn", json!({})).unwrap();
    let kinds: Vec<_> = follow_a.poll_new().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EntryKind::TornTail, EntryKind::Note]);
    assert!(verify(a.path()).unwrap().is_intact());
}

#[test]
fn threads_share_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let (log, path) = log_with(dir.path(), 0);
    let log = Arc::new(log);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| log.append(&EntryKind::Note, &format!("t{t} #{i}"), json!({})).unwrap().seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (2..=161).collect::<Vec<_>>());
    let report = verify(&path).unwrap();
    assert!(report.is_intact() && report.entries == 161, "{report:?}");
}

#[test]
fn listing_and_resuming() {
    let dir = tempfile::tempdir().unwrap();
    assert!(list_incidents(dir.path()).unwrap().is_empty());
    let (first, m1) = IncidentLog::declare(dir.path(), "First", "SEV2", false, OP, t0()).unwrap();
    let (_, m2) = IncidentLog::declare(dir.path(), "Same second", "SEV3", false, OP, t0()).unwrap();
    assert_eq!(m2.id, "INC-20261126-120301-2");
    let later = t0() + chrono::Duration::minutes(5);
    let (drill, m3) = IncidentLog::declare(dir.path(), "Game day", "SEV1", true, OP, later).unwrap();
    assert_eq!(m3.id, "INC-20261126-120801-DRILL");
    assert!(m3.drill);
    assert_eq!(last_open_incident(dir.path()).unwrap().unwrap().id, m3.id);
    let resolved = drill.append(&EntryKind::Resolved, "drill over", json!({})).unwrap();

    let listed: Vec<_> = list_incidents(dir.path()).unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(listed.len(), 3);
    let drill_meta = listed.iter().find(|m| m.id == m3.id).unwrap();
    assert!(drill_meta.drill && drill_meta.title == "Game day" && drill_meta.severity == "SEV1");
    assert_eq!(drill_meta.resolved_at, Some(resolved.ts));
    let open = last_open_incident(dir.path()).unwrap().unwrap();
    assert!(open.id == m1.id || open.id == m2.id, "{open:?}");

    // Resuming returns every entry and the same metadata; appends continue the chain.
    first.append(&EntryKind::Note, "before restart", json!({})).unwrap();
    drop(first);
    let (again, meta, entries) = IncidentLog::open(dir.path(), &m1.id, OP).unwrap();
    assert_eq!(meta, m1);
    assert_eq!(entries[1].summary, "before restart");
    assert_eq!(again.append(&EntryKind::Note, "after restart", json!({})).unwrap().seq, 3);
    assert!(verify(again.path()).unwrap().is_intact());

    // A file that is not an incident log is listed as an error, the others still listed.
    std::fs::write(dir.path().join("incidents/INC-20990101-000000.jsonl"), b"").unwrap();
    let listed = list_incidents(dir.path()).unwrap();
    assert_eq!(listed.iter().filter(|r| r.is_ok()).count(), 3);
    assert!(listed.iter().any(|r| matches!(r, Err(LogError::NotAnIncident { .. }))));
}

/// `append` calls fdatasync after the write of every entry, before the next one (seen with
/// strace on the real binary).
#[test]
fn every_append_is_fsynced_before_the_next() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("strace is not installed: install it to check the fsync path");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_log, _) = log_with(dir.path(), 0);
    let trace = dir.path().join("trace");
    let out = Command::new("strace")
        .args(["-f", "-e", "trace=write,fdatasync,fsync", "-o"])
        .arg(&trace)
        .args([env!("CARGO_BIN_EXE_warroom"), "log", "append", "INC-20261126-120301", "--count", "5"])
        .env("WARROOM_DATA_DIR", dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = std::fs::read_to_string(trace).unwrap();
    // Keep only entry writes (they start with {"seq") and syncs of the log's file descriptor,
    // in order (the anchored head in the state dir is another file). A call another thread
    // interrupts is traced as `fdatasync(11 <unfinished ...>`: the fd ends at the space too.
    let fd_of = |l: &str, call: &str| {
        l.split_once(call).and_then(|(_, rest)| rest.split([',', ')', ' ']).next()).map(str::to_string)
    };
    let log_fd = trace
        .lines()
        .find(|l| l.contains("write(") && l.contains("{\\\"seq\\\""))
        .and_then(|l| fd_of(l, "write("))
        .expect("an entry write in the trace");
    let events: Vec<&str> = trace
        .lines()
        .filter_map(|l| {
            if l.contains("write(") && l.contains("{\\\"seq\\\"") {
                assert_eq!(fd_of(l, "write(").as_deref(), Some(log_fd.as_str()), "{l}");
                Some("write")
            } else if (l.contains("fdatasync(") || l.contains("fsync("))
                && [fd_of(l, "fdatasync("), fd_of(l, "fsync(")].contains(&Some(log_fd.clone()))
            {
                Some("sync")
            } else {
                None
            }
        })
        .collect();
    assert_eq!(events, ["write", "sync"].repeat(5), "{trace}");
}
