//! The mode guard: a writer opened for drills never appends to a live incident (nor a live
//! writer to a drill), and the refusal writes nothing, not even a torn-tail entry.

use chrono::{TimeZone, Utc};

use super::{IncidentLog, LogError, LogMode};
use crate::incident::entry::EntryKind;

const OP: &str = "tester@host";

fn bytes(log: &IncidentLog) -> Vec<u8> {
    std::fs::read(log.path()).expect("read log")
}

#[test]
fn a_drill_writer_cannot_open_a_live_incident_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap();
    let (live, meta) = IncidentLog::declare(dir.path(), "db down", "SEV1", false, OP, t0).unwrap();
    assert_eq!(live.mode(), LogMode::Live);
    live.append(&EntryKind::Note, "the real primary is down", serde_json::json!({})).unwrap();
    // A torn tail (a crash mid-write) would make any writer record a torn-tail entry on open.
    let mut torn = bytes(&live);
    torn.extend_from_slice(b"{\"seq\":3,\"half");
    std::fs::write(live.path(), &torn).unwrap();

    let err = IncidentLog::open_as(dir.path(), &meta.id, OP, LogMode::Drill).err().expect("refused");
    assert!(
        matches!(err, LogError::ModeMismatch { incident: LogMode::Live, writer: LogMode::Drill, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("is a live incident: a drill writer never appends"), "{err}");
    assert_eq!(std::fs::read(live.path()).unwrap(), torn, "the refusal wrote nothing");

    // The live writer it expects opens it (and records the torn tail).
    let (again, m, entries) = IncidentLog::open_as(dir.path(), &meta.id, OP, LogMode::Live).unwrap();
    assert!(!m.drill);
    assert_eq!(again.mode(), LogMode::Live);
    assert_eq!(entries.last().map(|e| &e.kind), Some(&EntryKind::TornTail));
}

#[test]
fn a_live_writer_cannot_open_a_drill_and_the_neutral_open_keeps_the_declared_mode() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap();
    let (drill, meta) = IncidentLog::declare(dir.path(), "drill", "SEV2", true, OP, t0).unwrap();
    assert_eq!(drill.mode(), LogMode::Drill);
    let before = bytes(&drill);
    let err = IncidentLog::open_as(dir.path(), &meta.id, OP, LogMode::Live).err().expect("refused");
    assert!(
        matches!(err, LogError::ModeMismatch { incident: LogMode::Drill, writer: LogMode::Live, .. }),
        "{err}"
    );
    assert_eq!(bytes(&drill), before);
    let (same, _, _) = IncidentLog::open_as(dir.path(), &meta.id, OP, LogMode::Drill).unwrap();
    assert_eq!(same.mode(), LogMode::Drill);
    let (neutral, _, _) = IncidentLog::open(dir.path(), &meta.id, OP).unwrap();
    assert_eq!(neutral.mode(), LogMode::Drill, "`warroom log append` writes as the incident's own kind");
}

#[test]
fn a_file_that_does_not_start_with_a_declaration_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap();
    let (log, meta) = IncidentLog::declare(dir.path(), "x", "SEV3", false, OP, t0).unwrap();
    std::fs::write(log.path(), b"not json\n").unwrap();
    let err = IncidentLog::open_as(dir.path(), &meta.id, OP, LogMode::Live).err().expect("refused");
    assert!(matches!(err, LogError::NotAnIncident { .. }), "{err}");
    assert_eq!(bytes(&log), b"not json\n");
}
