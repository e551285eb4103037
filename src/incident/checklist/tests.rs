//! Unticking, and restoring unticks from the log.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::*;

fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap() + Duration::minutes(m)
}

fn entry(seq: u64, m: i64, kind: EntryKind, details: serde_json::Value) -> Entry {
    Entry {
        seq,
        ts: t(m),
        mono_ms: 0,
        operator: "a@h".into(),
        kind,
        summary: "x".into(),
        details,
        prev: "0".repeat(64),
    }
}

#[test]
fn an_untick_reopens_a_one_off_item_state_by_state() {
    let mut c = Checklist::communication();
    // Open: nothing to untick.
    assert_eq!(c.untick("alert-oncall").unwrap_err(), "\"alert-oncall\" is not ticked");
    c.tick("alert-oncall", t(2), Some("paged".into())).unwrap();
    assert_eq!(c.status("alert-oncall", t(0), t(3)), Some(ItemStatus::Done { at: t(2) }));
    assert!(c.item("alert-oncall").unwrap().done.is_some());
    c.untick("alert-oncall").unwrap();
    // Open again, and overdue once its time has passed.
    assert!(c.item("alert-oncall").unwrap().done.is_none());
    assert_eq!(c.status("alert-oncall", t(0), t(6)), Some(ItemStatus::Overdue(60)));
    // It can be ticked again.
    c.tick("alert-oncall", t(7), None).unwrap();
    assert!(c.item("alert-oncall").unwrap().done.is_some());
    // A recurring item keeps its postings; an unknown id is named.
    c.record_status_update(t(8));
    assert!(c.untick("status-updates").unwrap_err().contains("recurs"));
    assert_eq!(c.item("status-updates").unwrap().done.as_ref().map(|d| d.0), Some(t(8)));
    assert_eq!(c.untick("nope").unwrap_err(), "unknown checklist item \"nope\"");
}

#[test]
fn replaying_the_log_restores_unticks_of_hand_and_event_ticks() {
    let by = json!({ "seq": 3, "kind": "runbook-started" });
    let entries = [
        entry(1, 0, EntryKind::Declared, json!({})),
        entry(2, 1, EntryKind::Checklist, json!({ "item": "alert-oncall", "note": null })),
        entry(4, 2, EntryKind::Checklist, json!({ "item": "begin-failover", "note": null, "by": by })),
        entry(
            5,
            3,
            EntryKind::Checklist,
            json!({ "item": "begin-failover", "undone": true, "note": "wrong" }),
        ),
        entry(
            6,
            4,
            EntryKind::Checklist,
            json!({ "item": "start-incident-log", "undone": true, "note": null }),
        ),
    ];
    let mut c = Checklist::communication();
    assert_eq!(c.apply_entries(&entries), Vec::<String>::new());
    assert!(c.item("alert-oncall").unwrap().done.is_some(), "a tick not undone stays");
    assert!(c.item("begin-failover").unwrap().done.is_none(), "the event's tick was undone");
    assert!(c.item("start-incident-log").unwrap().done.is_none(), "the declaration's tick was undone");
    // Ticked again after the untick: done, at the new time.
    let again = [entry(7, 5, EntryKind::Checklist, json!({ "item": "begin-failover", "note": "now" }))];
    assert!(c.apply_entries(&again).is_empty());
    assert_eq!(c.item("begin-failover").unwrap().done, Some((t(5), Some("now".into()))));
    // Two consoles unticking the same item: the second is no news, not a warning.
    let twice = [
        entry(8, 6, EntryKind::Checklist, json!({ "item": "begin-failover", "undone": true })),
        entry(9, 6, EntryKind::Checklist, json!({ "item": "begin-failover", "undone": true })),
    ];
    assert!(c.apply_entries(&twice).is_empty());
    assert!(c.item("begin-failover").unwrap().done.is_none());
    // An untick of an unknown item or of a recurring one is a warning naming the entry.
    let bad = [
        entry(10, 7, EntryKind::Checklist, json!({ "item": "nope", "undone": true })),
        entry(11, 7, EntryKind::StatusUpdate, json!({})),
        entry(12, 8, EntryKind::Checklist, json!({ "item": "status-updates", "undone": true })),
    ];
    let warnings = c.apply_entries(&bad);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("log entry 10: unknown checklist item"), "{warnings:?}");
    assert!(warnings[1].starts_with("log entry 12:") && warnings[1].contains("recurs"), "{warnings:?}");
    assert_eq!(c.item("status-updates").unwrap().done.as_ref().map(|d| d.0), Some(t(7)));
}
