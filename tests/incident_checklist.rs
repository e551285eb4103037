//! The timed communication checklist: parsing, due/overdue, the bell crossing, the recurring
//! status update, restoring from a resumed log, and errors for bad files. No sleeps: `now` is
//! injected everywhere.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use warroom::incident::checklist::{Checklist, ChecklistError, Due, ItemStatus};
use warroom::incident::entry::{Entry, EntryKind};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn at(mins: i64, secs: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(mins) + Duration::seconds(secs)
}

fn entry(seq: u64, ts: DateTime<Utc>, kind: EntryKind, details: Value) -> Entry {
    Entry {
        seq,
        ts,
        mono_ms: seq * 1000,
        operator: "alice@bastion".into(),
        summary: format!("{kind} #{seq}"),
        kind,
        details,
        prev: "0".repeat(64),
    }
}

#[test]
fn builtin_checklist_follows_the_communication_plan() {
    let c = Checklist::communication();
    let ids: Vec<&str> = c.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "alert-oncall",
            "start-incident-log",
            "begin-failover",
            "notify-stakeholders",
            "post-status-update",
            "continue-failover",
            "status-updates",
            "monitor-health",
            "prepare-recovery-plan",
            "verify-stability",
            "conduct-post-mortem",
            "update-documentation",
            "preventive-measures",
        ]
    );
    let due = |id: &str| c.item(id).unwrap().due.clone();
    assert_eq!(due("alert-oncall"), Due::By(Duration::minutes(5)));
    assert_eq!(due("notify-stakeholders"), Due::By(Duration::minutes(15)));
    assert_eq!(
        due("status-updates"),
        Due::Every { first: Duration::minutes(30), every: Duration::minutes(15) }
    );
    assert_eq!(due("monitor-health"), Due::Unscheduled);
    assert_eq!(due("verify-stability"), Due::Unscheduled);
    assert_eq!(c.item("alert-oncall").unwrap().phase, "Immediate (0-5 min)");
    assert_eq!(c.item("conduct-post-mortem").unwrap().phase, "After failover");
    assert!(c.items.iter().all(|i| i.done.is_none()));
}

#[test]
fn due_then_overdue_then_done() {
    let mut c = Checklist::communication();
    assert_eq!(c.status("alert-oncall", t0(), at(2, 0)), Some(ItemStatus::DueIn(180)));
    assert_eq!(c.status("alert-oncall", t0(), at(4, 59)), Some(ItemStatus::DueIn(1)));
    assert_eq!(c.status("alert-oncall", t0(), at(5, 0)), Some(ItemStatus::Overdue(0)));
    assert_eq!(c.status("alert-oncall", t0(), at(6, 30)), Some(ItemStatus::Overdue(90)));
    assert_eq!(c.status("verify-stability", t0(), at(90, 0)), Some(ItemStatus::Unscheduled));
    assert_eq!(c.status("no-such-item", t0(), at(1, 0)), None);
    assert_eq!(c.overdue(t0(), at(6, 0)), ["alert-oncall", "start-incident-log", "begin-failover"]);

    c.tick("alert-oncall", at(6, 30), Some("paged via phone".into())).unwrap();
    assert_eq!(c.status("alert-oncall", t0(), at(7, 0)), Some(ItemStatus::Done { at: at(6, 30) }));
    assert_eq!(Checklist::due_at(c.item("alert-oncall").unwrap(), t0()), None);
    assert_eq!(c.item("alert-oncall").unwrap().done, Some((at(6, 30), Some("paged via phone".into()))));
    assert_eq!(c.overdue(t0(), at(7, 0)), ["start-incident-log", "begin-failover"]);

    c.tick("verify-stability", at(50, 0), None).unwrap();
    assert_eq!(c.status("verify-stability", t0(), at(51, 0)), Some(ItemStatus::Done { at: at(50, 0) }));
}

#[test]
fn tick_rejects_unknown_and_repeated_items() {
    let mut c = Checklist::communication();
    let err = c.tick("alert-on-call", at(1, 0), None).unwrap_err();
    assert!(err.contains("unknown checklist item \"alert-on-call\""), "{err}");
    c.tick("alert-oncall", at(1, 0), None).unwrap();
    let err = c.tick("alert-oncall", at(2, 0), None).unwrap_err();
    assert!(err.contains("already ticked at 03:01:00"), "{err}");
    assert_eq!(c.item("alert-oncall").unwrap().done, Some((at(1, 0), None)));
}

/// Drive 1 s ticks from T+0 to `until_mins` and count how often each id crossed its due time.
fn bells(c: &Checklist, step_secs: i64, until_mins: i64) -> Vec<(String, DateTime<Utc>)> {
    let mut rung = Vec::new();
    let mut prev = t0();
    while prev < at(until_mins, 0) {
        let now = prev + Duration::seconds(step_secs);
        for id in c.newly_overdue(t0(), prev, now) {
            rung.push((id, now));
        }
        prev = now;
    }
    rung
}

#[test]
fn bell_rings_once_per_crossing() {
    let mut c = Checklist::communication();
    c.tick("start-incident-log", t0(), None).unwrap();
    c.tick("notify-stakeholders", at(3, 0), None).unwrap();
    let rung = bells(&c, 1, 20);
    let expected: Vec<(String, DateTime<Utc>)> = [
        ("alert-oncall", at(5, 0)),
        ("begin-failover", at(5, 0)),
        ("post-status-update", at(15, 0)),
        ("continue-failover", at(15, 0)),
    ]
    .iter()
    .map(|(id, t)| (id.to_string(), *t))
    .collect();
    assert_eq!(rung, expected);

    // Irregular ticks (a stalled loop) still ring once, at the first tick past the due time.
    let rung = bells(&c, 7, 20);
    assert_eq!(rung.iter().filter(|(id, _)| id == "alert-oncall").count(), 1);
    assert_eq!(rung.iter().find(|(id, _)| id == "alert-oncall").unwrap().1, at(5, 1)); // 43 * 7 s

    // No crossing when time does not move forward.
    assert!(c.newly_overdue(t0(), at(5, 0), at(5, 0)).is_empty());
    assert!(c.newly_overdue(t0(), at(6, 0), at(4, 0)).is_empty());
}

#[test]
fn recurring_status_update_reschedules_after_a_late_posting() {
    let mut c = Checklist::communication();
    let item = |c: &Checklist| c.item("status-updates").unwrap().clone();
    assert_eq!(Checklist::due_at(&item(&c), t0()), Some(at(30, 0)));
    assert_eq!(c.status("status-updates", t0(), at(36, 0)), Some(ItemStatus::Overdue(360)));

    // Late: posted at T+36, so the next one is due at T+51, not T+45.
    c.record_status_update(at(36, 0));
    assert_eq!(Checklist::due_at(&item(&c), t0()), Some(at(51, 0)));
    assert_eq!(c.status("status-updates", t0(), at(40, 0)), Some(ItemStatus::DueIn(660)));
    // The one-off first update was ticked by the same posting.
    assert_eq!(c.status("post-status-update", t0(), at(40, 0)), Some(ItemStatus::Done { at: at(36, 0) }));

    // The bell for the recurring item rings at T+30 and again at T+51 (posting at T+36).
    let before_posting = Checklist::communication();
    let mut rung = Vec::new();
    let mut prev = t0();
    while prev < at(60, 0) {
        let now = prev + Duration::seconds(1);
        let view = if now >= at(36, 0) { &c } else { &before_posting };
        rung.extend(
            view.newly_overdue(t0(), prev, now).into_iter().filter(|i| i == "status-updates").map(|_| now),
        );
        prev = now;
    }
    assert_eq!(rung, [at(30, 0), at(51, 0)]);
}

#[test]
fn recurring_status_update_reschedules_after_an_early_posting() {
    let mut c = Checklist::communication();
    c.record_status_update(at(10, 0));
    let due = |c: &Checklist| Checklist::due_at(c.item("status-updates").unwrap(), t0());
    assert_eq!(due(&c), Some(at(25, 0)));
    // Early: the next one posted 5 min before it was due moves the schedule forward.
    c.record_status_update(at(20, 0));
    assert_eq!(due(&c), Some(at(35, 0)));
    assert_eq!(c.status("post-status-update", t0(), at(21, 0)), Some(ItemStatus::Done { at: at(10, 0) }));
    // Ticking the recurring item by hand is a posting too.
    c.tick("status-updates", at(30, 0), Some("posted on the status page".into())).unwrap();
    assert_eq!(due(&c), Some(at(45, 0)));
    // An older posting (e.g. replayed out of order) never moves the schedule back.
    c.tick("status-updates", at(29, 0), None).unwrap();
    c.record_status_update(at(28, 0));
    assert_eq!(due(&c), Some(at(45, 0)));
    assert_eq!(c.status("status-updates", t0(), at(46, 0)), Some(ItemStatus::Overdue(60)));
}

#[test]
fn resumed_incident_restores_ticks() {
    let entries = vec![
        entry(1, t0(), EntryKind::Declared, json!({"title": "db down", "drill": true})),
        entry(2, at(1, 0), EntryKind::Observation, json!({"source": "postgres"})),
        entry(3, at(2, 0), EntryKind::Checklist, json!({"item": "alert-oncall", "note": "paged"})),
        entry(4, at(3, 0), EntryKind::Checklist, json!({"item": "alert-oncall", "note": "second console"})),
        entry(5, at(12, 0), EntryKind::StatusUpdate, json!({"text": "investigating"})),
        entry(6, at(13, 0), EntryKind::Checklist, json!({"item": "no-longer-exists"})),
        entry(7, at(14, 0), EntryKind::Checklist, json!({"note": "no item"})),
        entry(8, at(27, 0), EntryKind::StatusUpdate, json!({})),
    ];
    let mut resumed = Checklist::communication();
    let warnings = resumed.apply_entries(&entries);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("log entry 6") && warnings[0].contains("no-longer-exists"), "{warnings:?}");
    assert!(warnings[1].contains("log entry 7"), "{warnings:?}");

    let mut direct = Checklist::communication();
    direct.tick("start-incident-log", t0(), None).unwrap();
    direct.tick("alert-oncall", at(2, 0), Some("paged".into())).unwrap();
    direct.tick("post-status-update", at(12, 0), None).unwrap();
    direct.tick("status-updates", at(27, 0), None).unwrap();
    assert_eq!(resumed, direct);
    assert_eq!(Checklist::due_at(resumed.item("status-updates").unwrap(), t0()), Some(at(42, 0)));
    assert_eq!(
        resumed.overdue(t0(), at(16, 0)),
        ["begin-failover", "notify-stakeholders", "continue-failover"]
    );
}

fn parse_err(text: &str) -> (usize, usize, String) {
    match Checklist::from_toml(text, Path::new("/etc/warroom/checklist.toml")) {
        Err(e @ ChecklistError::Invalid { .. }) => {
            let shown = e.to_string();
            let ChecklistError::Invalid { line, column, message, .. } = e else { unreachable!() };
            assert_eq!(shown, format!("/etc/warroom/checklist.toml:{line}:{column}: {message}"));
            (line, column, message)
        }
        other => panic!("expected an invalid-file error, got {other:?}"),
    }
}

const ONE_ITEM: &str =
    "[[phase]]\ntitle = \"Now\"\ndue = \"5m\"\n\n[[phase.item]]\nid = \"a\"\ntext = \"do a\"\n";

#[test]
fn minimal_user_file_parses() {
    let c = Checklist::from_toml(ONE_ITEM, Path::new("x.toml")).unwrap();
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.items[0].due, Due::By(Duration::minutes(5)));
    let c = Checklist::from_toml(
        "[[phase]]\ntitle = \"P\"\n[[phase.item]]\nid = \"tick-1\"\ntext = \"t\"\nevery = \"1h30m\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(c.items[0].due, Due::Every { first: Duration::minutes(90), every: Duration::minutes(90) });
}

#[test]
fn unknown_key_names_line_column_and_expected_keys() {
    let text = ONE_ITEM.replace("text = \"do a\"", "txt = \"do a\"");
    let (line, column, msg) = parse_err(&text);
    assert_eq!((line, column), (7, 1), "{msg}");
    assert!(msg.contains("unknown field `txt`") && msg.contains("expected one of"), "{msg}");
    assert!(msg.contains("`text`"), "{msg}");

    let (line, column, msg) = parse_err("[[phase]]\ntitle = \"x\"\ncolour = \"red\"\n");
    assert_eq!((line, column), (3, 1), "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
}

#[test]
fn bad_duration_points_at_the_value() {
    let (line, column, msg) = parse_err(&ONE_ITEM.replace("due = \"5m\"", "due = \"soon\""));
    assert_eq!((line, column), (3, 7), "{msg}");
    assert!(msg.contains("bad duration \"soon\""), "{msg}");
    assert!(msg.contains("expected a duration like \"30s\", \"5m\" or \"1h30m\""), "{msg}");

    let text = format!("{ONE_ITEM}every = \"0s\"\n");
    let (line, column, msg) = parse_err(&text);
    assert_eq!((line, column), (8, 9), "{msg}");
    assert!(msg.contains("`every` must be positive"), "{msg}");

    let (line, _, msg) = parse_err(&ONE_ITEM.replace("due = \"5m\"", "due = 5"));
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("expected a string") || msg.contains("invalid type"), "{msg}");
}

#[test]
fn duplicate_and_malformed_ids_are_rejected() {
    let text = format!("{ONE_ITEM}\n[[phase.item]]\nid = \"a\"\ntext = \"again\"\n");
    let (line, column, msg) = parse_err(&text);
    assert_eq!((line, column), (10, 6), "{msg}");
    assert!(msg.contains("duplicate item id \"a\""), "{msg}");

    let (line, column, msg) = parse_err(&ONE_ITEM.replace("id = \"a\"", "id = \"Alert On-Call\""));
    assert_eq!((line, column), (6, 6), "{msg}");
    assert!(msg.contains("expected lowercase kebab-case"), "{msg}");
}

#[test]
fn structural_errors_are_explained() {
    let (line, column, msg) = parse_err("");
    assert_eq!((line, column), (1, 1));
    assert!(msg.contains("expected at least one [[phase]]"), "{msg}");

    let (line, column, msg) = parse_err("[[phase]]\ntitle = \"Empty\"\n");
    assert_eq!((line, column), (2, 9), "{msg}");
    assert!(msg.contains("phase \"Empty\" has no items"), "{msg}");

    let (line, _, msg) = parse_err(&ONE_ITEM.replace("text = \"do a\"\n", ""));
    assert!(line >= 5, "{line}: {msg}");
    assert!(msg.contains("missing field `text`"), "{msg}");

    let (line, column, msg) = parse_err("[[phase]]\ntitle = \"x\n");
    assert_eq!(line, 2, "{column}: {msg}");
}

#[test]
fn load_reports_unreadable_files_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = Checklist::load(&missing).unwrap_err();
    assert!(matches!(err, ChecklistError::Io { .. }));
    assert!(err.to_string().contains("nope.toml: cannot read checklist"), "{err}");

    let file = dir.path().join("list.toml");
    std::fs::write(&file, ONE_ITEM.replace("5m", "5 fortnights")).unwrap();
    let err = Checklist::load(&file).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}:3:7: bad duration", file.display())), "{err}");
}
