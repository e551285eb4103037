//! Post-mortem export of a recorded drill incident (built here from `Entry` values with fixed
//! timestamps): insta snapshots of the Markdown and the JSON, plus explicit checks of the
//! milestones, lateness, escaping and the drill report.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use warroom::incident::checklist::Checklist;
use warroom::incident::entry::{Entry, EntryKind};
use warroom::incident::export::{ExportMeta, PostMortem, export_json, export_markdown};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn at(mins: i64, secs: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(mins) + Duration::seconds(secs)
}

/// A malicious backend string: terminal escapes (OSC 52 clipboard write, colour), Markdown
/// and HTML that would break out of a table cell or a code span.
const EVIL: &str = "evil`|pod\u{1b}]52;c;cm0gLXJmIH4=\u{7} \u{1b}[31m<img src=x onerror=alert(1)> [click](http://x) | # \u{9b}2J";

struct Log(Vec<Entry>);

impl Log {
    fn add(&mut self, ts: DateTime<Utc>, operator: &str, kind: EntryKind, summary: &str, details: Value) {
        let seq = self.0.len() as u64 + 1;
        self.0.push(Entry {
            seq,
            ts,
            mono_ms: (ts - t0()).num_milliseconds() as u64,
            operator: operator.into(),
            kind,
            summary: summary.into(),
            details,
            prev: "0".repeat(64),
        });
    }
}

fn promote_preview() -> Value {
    json!({
        "title": "Promote postgresql-1 to primary",
        "target": "postgresql-1 at 127.0.0.1:55433 (us-west-2)",
        "lines": ["SELECT pg_promote(wait => true, wait_seconds => 60);"],
        "blast_radius": "writes go to postgresql-1; postgresql-0 must be fenced or stay down"
    })
}

fn repoint_preview() -> Value {
    json!({
        "title": "Point Service postgresql at postgresql-1",
        "target": "context us-east-1, namespace database, service postgresql",
        "lines": [
            "PATCH /api/v1/namespaces/database/services/postgresql (merge-patch)",
            "{\"spec\":{\"selector\":{\"role\":\"primary\",\"statefulset.kubernetes.io/pod-name\":\"postgresql-1\"}}}",
            "a line with ``` backticks ``` that must not close the fence"
        ],
        "blast_radius": "every client of postgresql.database reconnects"
    })
}

/// The recorded drill: primary database down, promote, repoint (fails once, retried), status
/// update, drill result, resolved.
fn drill_log() -> Vec<Entry> {
    let (alice, bob) = ("alice@bastion via 10.1.2.3", "bob@laptop");
    let mut l = Log(Vec::new());
    l.add(
        t0(),
        alice,
        EntryKind::Declared,
        "Drill: primary database down",
        json!({"severity": "SEV1", "drill": true}),
    );
    l.add(
        at(0, 4),
        alice,
        EntryKind::Observation,
        "Primary postgresql-0 went down: no writable primary (postgresql-0 down, postgresql-1 replica)",
        json!({"source": "postgres", "event": "primary-down"}),
    );
    l.add(
        at(0, 40),
        alice,
        EntryKind::Checklist,
        "Alert the on-call team",
        json!({"item": "alert-oncall", "note": "paged #oncall"}),
    );
    l.add(
        at(1, 0),
        alice,
        EntryKind::StepPreviewed,
        "Promote postgresql-1 to primary",
        json!({"step": 1, "preview": promote_preview()}),
    );
    l.add(at(1, 20), alice, EntryKind::StepConfirmed, "Confirmed: promote postgresql-1", json!({"step": 1}));
    l.add(at(1, 21), alice, EntryKind::StepExecuting, "Executing promote", json!({"step": 1}));
    l.add(at(1, 23), alice, EntryKind::StepResult, "pg_promote returned true", json!({"step": 1}));
    l.add(
        at(1, 25),
        alice,
        EntryKind::StepVerified,
        "postgresql-1 is a writable primary on timeline 2",
        json!({"step": 1}),
    );
    l.add(
        at(2, 0),
        bob,
        EntryKind::StepPreviewed,
        "Point Service postgresql at postgresql-1",
        json!({"step": 2, "preview": repoint_preview()}),
    );
    l.add(at(2, 10), bob, EntryKind::StepConfirmed, "Confirmed: repoint-service", json!({"step": 2}));
    l.add(
        at(2, 40),
        bob,
        EntryKind::StepFailed,
        "verify: endpoints still point at postgresql-0",
        json!({"step": 2, "stage": "verify"}),
    );
    l.add(at(3, 0), bob, EntryKind::StepConfirmed, "Retry confirmed: repoint-service", json!({"step": 2}));
    l.add(at(3, 30), bob, EntryKind::StepVerified, "Service postgresql -> postgresql-1", json!({"step": 2}));
    l.add(
        at(3, 40),
        alice,
        EntryKind::Observation,
        &format!("Pod default/{EVIL} in us-east-1 entered CrashLoopBackOff"),
        json!({"source": "kubernetes"}),
    );
    l.add(
        at(6, 0),
        alice,
        EntryKind::Checklist,
        "Begin the failover procedure",
        json!({"item": "begin-failover"}),
    );
    l.add(
        at(8, 0),
        alice,
        EntryKind::StatusUpdate,
        "Promoted postgresql-1; Service repointed",
        json!({"text": "..."}),
    );
    l.add(
        at(12, 0),
        bob,
        EntryKind::Checklist,
        "Notify stakeholders",
        json!({"item": "notify-stakeholders", "note": "emailed | status list"}),
    );
    l.add(at(20, 0), alice, EntryKind::DrillResult, "Drill passed: RTO 205.4 s, no data lost", json!({
        "fault": "primary-db-down", "fault_injected_at": "2026-11-26T02:59:58Z", "rto_secs": 205.4, "data_loss_bytes": 0,
        "mitigated_at": "2026-11-26T03:03:30.000Z"
    }));
    l.add(at(24, 5), alice, EntryKind::StatusUpdate, "Stable on postgresql-1", json!({}));
    l.add(
        at(41, 0),
        alice,
        EntryKind::Resolved,
        "Failover complete: postgresql-1 is primary, traffic unchanged",
        json!({}),
    );
    l.0
}

fn drill_meta() -> ExportMeta {
    ExportMeta {
        id: "INC-20261126-030000-DRILL".into(),
        title: "Drill: primary database down".into(),
        severity: "SEV1".into(),
        drill: true,
        declared_at: t0(),
        resolved_at: None,
    }
}

#[test]
fn drill_markdown_snapshot() {
    insta::assert_snapshot!("drill_markdown", export_markdown(&drill_meta(), &drill_log()));
}

#[test]
fn drill_json_snapshot() {
    insta::assert_snapshot!("drill_json", export_json(&drill_meta(), &drill_log()));
}

#[test]
fn milestones_and_times_come_from_the_log() {
    let pm = PostMortem::build(&drill_meta(), &drill_log(), &Checklist::communication());
    let ms: Vec<(&str, Option<i64>, Option<u64>)> =
        pm.milestones.iter().map(|m| (m.name, m.offset_secs, m.seq)).collect();
    assert_eq!(
        ms,
        [
            ("declared", Some(0), Some(1)),
            ("detected", Some(4), Some(2)),
            ("first-action", Some(80), Some(5)),
            ("mitigated", Some(210), Some(18)),
            ("resolved", Some(41 * 60), Some(20)),
        ]
    );
    assert_eq!(pm.time_to_detect_secs, Some(4));
    assert_eq!(pm.time_to_mitigate_secs, Some(210));
    assert_eq!(pm.time_to_resolve_secs, Some(2460));
    assert_eq!(pm.duration_secs, Some(2460));
    assert_eq!(
        pm.resolution.as_deref(),
        Some("Failover complete: postgresql-1 is primary, traffic unchanged")
    );

    let steps: Vec<(&str, &str, usize)> =
        pm.steps.iter().map(|s| (s.id.as_str(), s.outcome, s.events.len())).collect();
    assert_eq!(steps, [("1", "verified", 5), ("2", "verified", 5)]);
    assert_eq!(pm.steps[0].lines, ["SELECT pg_promote(wait => true, wait_seconds => 60);"]);

    let drill = pm.drill.unwrap();
    assert_eq!(drill.fault.as_deref(), Some("primary-db-down"));
    assert_eq!(drill.rto_secs, Some(205.4));
    assert_eq!(drill.data_loss_bytes, Some(0));
    assert_eq!(drill.fault_injected_at, Some(t0() - Duration::seconds(2)));
}

#[test]
fn checklist_lateness_is_measured_against_due_times() {
    let pm = PostMortem::build(&drill_meta(), &drill_log(), &Checklist::communication());
    let row = |id: &str, posting: Option<u32>| {
        pm.checklist
            .iter()
            .find(|r| r.id == id && r.posting == posting)
            .unwrap_or_else(|| panic!("{id} {posting:?}"))
    };
    assert_eq!(row("start-incident-log", None).late_secs, Some(-300)); // ticked by `declared`
    assert_eq!(row("alert-oncall", None).late_secs, Some(40 - 300));
    assert_eq!(row("begin-failover", None).late_secs, Some(60)); // due T+5, done T+6
    assert_eq!(row("post-status-update", None).done_at, Some(at(8, 0)));
    assert_eq!(row("notify-stakeholders", None).note.as_deref(), Some("emailed | status list"));
    // Recurring: first posting T+8 (first due T+30: early), second at T+24:05 (due T+23: late
    // 65 s), third was due T+39:05 and missed by the end (T+41): overdue 115 s.
    assert_eq!(row("status-updates", Some(1)).late_secs, Some(8 * 60 - 30 * 60));
    assert_eq!(row("status-updates", Some(2)).late_secs, Some(65));
    assert_eq!(row("status-updates", Some(3)).done_at, None);
    assert_eq!(row("status-updates", Some(3)).late_secs, Some(115));
    // Never done, was due (T+15) before the end.
    assert_eq!(row("continue-failover", None).done_at, None);
    assert_eq!(row("continue-failover", None).late_secs, Some(26 * 60));
    // Unscheduled and not done: no lateness.
    assert_eq!(row("verify-stability", None).late_secs, None);
}

#[test]
fn backend_text_cannot_break_markdown_or_reach_the_terminal() {
    let md = export_markdown(&drill_meta(), &drill_log());
    for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(!md.contains(bad), "control {bad:?} leaked");
    }
    // HTML is escaped: every `<` in the document is preceded by a backslash.
    assert!(md.contains("\\<img src=x"), "{md}");
    assert!(md.match_indices('<').all(|(i, _)| md[..i].ends_with('\\')), "raw HTML leaked: {md}");
    assert!(!md.contains("[click](http://x)"), "a live link leaked");
    // Every table row keeps its column count: count cell separators that are not escaped.
    let mut columns = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => escaped = true,
                '|' if !escaped => n += 1,
                _ => escaped = false,
            }
            if c != '\\' {
                escaped = false;
            }
        }
        match columns {
            None => columns = Some(n),
            Some(expected) => assert_eq!(n, expected, "row changed column count: {line}"),
        }
    }
    // The preview's backticks stay inside a longer fence.
    assert!(md.contains("````text\nPATCH"), "{md}");
    let json = export_json(&drill_meta(), &drill_log());
    assert!(!json.contains("\\u001b") && !json.contains('\u{1b}'), "escape leaked into JSON");
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["meta"]["id"], "INC-20261126-030000-DRILL");
    assert_eq!(parsed["timeline"].as_array().unwrap().len(), 20);
}

#[test]
fn unresolved_live_incident_has_no_drill_section() {
    let meta = ExportMeta {
        id: "INC-20261126-030000".into(),
        title: "Primary database down".into(),
        severity: "SEV2".into(),
        drill: false,
        declared_at: t0(),
        resolved_at: None,
    };
    let log: Vec<Entry> = drill_log().into_iter().filter(|e| e.seq <= 4).collect();
    let md = export_markdown(&meta, &log);
    assert!(!md.contains("## Drill report"));
    assert!(!md.contains("DRILL"));
    assert!(md.contains("| Resolved | not resolved |"), "{md}");
    assert!(md.contains("| Duration | ongoing |"), "{md}");
    assert!(md.contains("| Mitigated (verdict restored and held) | not reached | | |"), "{md}");
    assert!(
        md.contains("### Step 1: Promote postgresql\\-1 to primary")
            || md.contains("### Step 1: Promote postgresql-1 to primary")
    );
    assert!(md.contains("- Outcome: **previewed**"), "{md}");
    for section in ["## Root cause", "## Contributing factors", "## Action items"] {
        assert!(md.contains(section), "missing {section}");
    }
    let pm = PostMortem::build(&meta, &log, &Checklist::communication());
    assert!(pm.drill.is_none());
    assert_eq!(pm.time_to_resolve_secs, None);
}

/// A drill as the recovery tracker logs it: mitigation began at T+00:57 (held 10 s, logged at
/// T+01:07), a later step verified at T+03:10, then the old primary returned (withdrawn at
/// T+03:30) and mitigation was reached again at T+04:05.
fn tracked_log(with_second_result: bool) -> Vec<Entry> {
    let mut l = Log(Vec::new());
    let who = "trainee@drill";
    l.add(t0(), who, EntryKind::Declared, "Drill: primary-db-down", json!({"drill": true}));
    l.add(at(0, 6), who, EntryKind::Observation, "Primary postgresql-0 went down", json!({}));
    l.add(at(0, 20), who, EntryKind::StepConfirmed, "Confirmed: promote", json!({"step": 1}));
    l.add(at(0, 57), who, EntryKind::StepVerified, "Service postgresql -> postgresql-1", json!({"step": 2}));
    let result = |mitigated: &str, rto: f64, withdrawals: u32| {
        json!({
            "fault": "primary-db-down", "fault_injected_at": "2026-11-26T03:00:05.000Z",
            "detected_at": "2026-11-26T03:00:05.500Z", "detected_because": ["database: no writable primary"],
            "first_action_at": "2026-11-26T03:00:20.000Z", "mitigated_at": mitigated, "settle_secs": 10,
            "withdrawals": withdrawals, "remaining": ["database: postgresql-0 is down: connection refused"],
            "expected_down": [], "rto_secs": rto, "rto_from": "fault_injected", "data_loss_bytes": 796_000,
            "steps": [], "checklist": [], "drill": true
        })
    };
    l.add(
        at(1, 7),
        who,
        EntryKind::DrillResult,
        "DRILL recovered: RTO 52.0 s",
        result("2026-11-26T03:00:57.000Z", 52.0, 0),
    );
    l.add(at(3, 10), who, EntryKind::StepVerified, "Checked the primary", json!({"step": 3}));
    l.add(
        at(3, 30),
        who,
        EntryKind::MitigationWithdrawn,
        "DRILL mitigation withdrawn: the estate failed again: database: split brain (postgresql-0, postgresql-1)",
        json!({"reasons": ["database: split brain (postgresql-0, postgresql-1)"]}),
    );
    if with_second_result {
        l.add(at(4, 0), who, EntryKind::StepVerified, "postgresql-0 fenced", json!({"step": 4}));
        l.add(
            at(4, 15),
            who,
            EntryKind::DrillResult,
            "DRILL recovered: RTO 240.0 s",
            result("2026-11-26T03:04:05.000Z", 240.0, 1),
        );
    }
    l.0
}

fn mitigated_milestone(pm: &PostMortem) -> Option<i64> {
    pm.milestones.iter().find(|m| m.name == "mitigated").and_then(|m| m.offset_secs)
}

#[test]
fn milestones_and_drill_report_agree_on_mitigation_and_its_withdrawal() {
    // Withdrawn and not reached again: neither says mitigated.
    let log = tracked_log(false);
    let pm = PostMortem::build(&drill_meta(), &log, &Checklist::communication());
    assert_eq!(mitigated_milestone(&pm), None);
    assert_eq!(pm.time_to_mitigate_secs, None);
    let d = pm.drill.clone().unwrap();
    assert!(d.withdrawn && d.mitigated_at.is_none(), "{d:#?}");
    let md = export_markdown(&drill_meta(), &log);
    assert!(md.contains("| Mitigated (verdict restored and held) | not reached | | |"), "{md}");
    assert!(
        md.contains("- Mitigated (verdict restored, held 10 s): **withdrawn** (not reached again)"),
        "{md}"
    );
    assert!(md.contains("- Mitigation withdrawn at 03:03:30 (T+03:30): DRILL mitigation withdrawn"), "{md}");

    // Reached again: both say T+04:05 (not the step verified at T+03:10, not the first T+00:57).
    let log = tracked_log(true);
    let pm = PostMortem::build(&drill_meta(), &log, &Checklist::communication());
    let d = pm.drill.clone().unwrap();
    assert_eq!(mitigated_milestone(&pm), Some(245));
    assert_eq!(d.mitigated_at, Some(at(4, 5)));
    assert_eq!(pm.time_to_mitigate_secs, Some(245));
    let detected = pm.milestones.iter().find(|m| m.name == "detected").unwrap();
    assert_eq!((detected.at, d.detected_at), (Some(at(0, 5) + Duration::milliseconds(500)), detected.at));
    let md = export_markdown(&drill_meta(), &log);
    assert!(
        md.contains(
            "| Mitigated (verdict restored and held) | 03:04:05 | T+04:05 | #9 DRILL recovered: RTO 240.0 s |"
        ),
        "{md}"
    );
    assert!(md.contains("- Mitigated (verdict restored, held 10 s): 03:04:05 (T+04:05)"), "{md}");
    assert!(
        md.contains("- Still degraded at mitigation: database: postgresql\\-0 is down: connection refused")
            || md.contains(
                "- Still degraded at mitigation: database: postgresql-0 is down: connection refused"
            ),
        "{md}"
    );

    // Mitigated once, never withdrawn: T+00:57 in both, though a step was verified at T+03:10.
    let log: Vec<Entry> = tracked_log(false).into_iter().filter(|e| e.seq <= 6).collect();
    let pm = PostMortem::build(&drill_meta(), &log, &Checklist::communication());
    assert_eq!(mitigated_milestone(&pm), Some(57));
    assert_eq!(pm.drill.unwrap().mitigated_at, Some(at(0, 57)));
}

/// The fixture logs (written before entry kinds were an enum: every kind, an unknown
/// `pager-escalated`, a torn tail; a live incident and a drill) export to exactly the Markdown
/// and JSON they exported to then (the drill's goldens gained the `recording` entry appended
/// to it when that kind was added; it moved from the timeline to the "Recordings" section;
/// both Markdown goldens gained the "Timeline chart" Mermaid section when it was added).
#[test]
fn fixture_logs_export_exactly_as_before_unknown_kinds_included() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    for id in ["INC-20261205-231413", "INC-20261205-231413-DRILL"] {
        let path = dir.join(format!("{id}.jsonl"));
        let entries = warroom::incident::log::read_log(&path).expect("fixture reads");
        let m = warroom::incident::store::meta_from_entries(&path, &entries).expect("an incident");
        let meta = ExportMeta {
            id: m.id,
            title: m.title,
            severity: m.severity,
            drill: m.drill,
            declared_at: m.declared_at,
            resolved_at: m.resolved_at,
        };
        let golden =
            |ext: &str| std::fs::read_to_string(dir.join(format!("{id}.export.{ext}"))).expect("golden");
        let md = export_markdown(&meta, &entries);
        assert_eq!(md, golden("md"), "{id}: Markdown export changed");
        let json = export_json(&meta, &entries);
        assert_eq!(json, golden("json"), "{id}: JSON export changed");
        if !meta.drill {
            assert!(md.contains("| `pager-escalated` | a kind from a newer warroom |"), "{md}");
            let doc: Value = serde_json::from_str(&json).expect("JSON export");
            let kinds: Vec<&str> =
                doc["timeline"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
            assert!(kinds.contains(&"pager-escalated") && kinds.contains(&"torn-tail"), "{kinds:?}");
        }
    }
}

/// A `recording` entry (a flight-recorder segment closed) is bookkeeping: the export's timeline
/// leaves it out and its "Recordings" section lists the segment, its size and hash.
#[test]
fn recording_entries_are_listed_under_recordings_not_in_the_timeline() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    let path = dir.join("INC-20261205-231413-DRILL.jsonl");
    let entries = warroom::incident::log::read_log(&path).expect("fixture reads");
    assert!(entries.iter().any(|e| e.kind == EntryKind::Recording), "the fixture has a recording entry");
    let m = warroom::incident::store::meta_from_entries(&path, &entries).expect("an incident");
    let meta = ExportMeta {
        id: m.id,
        title: m.title,
        severity: m.severity,
        drill: m.drill,
        declared_at: m.declared_at,
        resolved_at: m.resolved_at,
    };
    let sha = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let md = export_markdown(&meta, &entries);
    let timeline = &md[md.find("## Timeline").unwrap()..md.find("## Checklist").unwrap()];
    assert!(!timeline.contains("recording"), "{timeline}");
    let recordings = &md[md.find("## Recordings").expect("a Recordings section")..];
    assert!(
        recordings.contains(&format!(
            "| 12 | 06:19:21 | `20261205T231413.100Z-4242` | `000001.seg` | 2048 | `{sha}` |"
        )),
        "{recordings}"
    );
    let doc: Value = serde_json::from_str(&export_json(&meta, &entries)).unwrap();
    let kinds: Vec<&str> =
        doc["timeline"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(!kinds.contains(&"recording") && kinds.contains(&"resolved"), "{kinds:?}");
    assert_eq!(doc["recordings"][0]["segment"], "000001.seg");
    assert_eq!(doc["recordings"][0]["bytes"], 2048);
    assert_eq!(doc["recordings"][0]["sha256"], sha);
    // A log without recordings has no such section, and its JSON no such key.
    let plain: Vec<_> = entries.iter().filter(|e| e.kind != EntryKind::Recording).cloned().collect();
    assert!(!export_markdown(&meta, &plain).contains("## Recordings"));
    let doc: Value = serde_json::from_str(&export_json(&meta, &plain)).unwrap();
    assert!(doc.get("recordings").is_none(), "{doc}");
}

// ------------------------------------------------------------------ pictures: Mermaid and charts

/// One line of the Mermaid gantt this export emits, by the grammar it follows: the header, a
/// title, the date and axis formats, a section, or a task / milestone with its tag, id, start and
/// end (or `0d`). No `:` `;` `#` `%` inside a name or title, so no text can end a statement.
fn gantt_line_ok(line: &str) -> bool {
    let date = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}";
    let patterns = [
        "^gantt$".to_string(),
        r"^    title [^:;#%`\n]+$".to_string(),
        r"^    dateFormat YYYY-MM-DD HH:mm:ss$".to_string(),
        r"^    axisFormat %H:%M$".to_string(),
        r"^    section (Incident|Steps|Recovery)$".to_string(),
        format!(
            r"^    [^:;#%`\s][^:;#%`]* : (crit, |done, |milestone, )?[a-z][a-z0-9_]*, {date}, ({date}|0d)$"
        ),
    ];
    patterns.iter().any(|p| regex::Regex::new(p).expect("pattern").is_match(line))
}

fn mermaid_block(md: &str) -> Vec<&str> {
    let start = md.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let len = md[start..].find("```").expect("the block ends");
    md[start..start + len].lines().collect()
}

fn trend_sample(l: &mut Log, ts: DateTime<Utc>, samples: Value) {
    l.add(
        ts,
        "alice@bastion",
        EntryKind::TrendSample,
        "DRILL trend",
        json!({ "drill": true, "samples": samples }),
    );
}

/// The recorded drill with the console's trend samples: postgresql-1's lag rises to a 6 MiB peak
/// (logged as `peak_bytes` of a later sample), the database goes stale for a while, traffic
/// moves from us-east-1 (turning unhealthy) to us-west-2.
fn drill_log_with_trends() -> Vec<Entry> {
    let mut l = Log(drill_log());
    let lag = |b: u64, peak: u64| json!({"series": "lag", "name": "postgresql-1", "bytes": b, "seconds": 0.5, "peak_bytes": peak});
    let traffic = |name: &str, share: f64, health: &str| json!({"series": "traffic", "name": name, "share_pct": share, "health": health});
    trend_sample(
        &mut l,
        at(0, 1),
        json!([
            lag(1024, 1024),
            traffic("us-east-1", 100.0, "healthy"),
            traffic("us-west-2", 0.0, "healthy")
        ]),
    );
    trend_sample(&mut l, at(1, 1), json!([lag(4 << 20, 4 << 20), traffic("us-east-1", 100.0, "unhealthy")]));
    trend_sample(&mut l, at(2, 5), json!([lag(2 << 20, 6 << 20)]));
    trend_sample(&mut l, at(3, 10), json!([{"series": "lag", "name": "postgresql-1", "stale": true}]));
    trend_sample(
        &mut l,
        at(4, 30),
        json!([
            lag(2048, 2048),
            traffic("us-east-1", 0.0, "unhealthy"),
            traffic("us-west-2", 100.0, "healthy")
        ]),
    );
    l.0.sort_by_key(|e| e.ts);
    for (i, e) in l.0.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    l.0
}

/// The Markdown carries a Mermaid gantt whose every line follows the grammar, with every step
/// (the failed one `crit`) and the milestones; and text charts of the lag (its peak, its stale
/// gap) and the traffic (share and health per region). The trend samples stay out of the
/// timeline table.
#[test]
fn the_post_mortem_draws_the_timeline_and_the_trends() {
    let entries = drill_log_with_trends();
    let pm = PostMortem::build(&drill_meta(), &entries, &Checklist::communication());
    let md = export_markdown(&drill_meta(), &entries);
    let block = mermaid_block(&md);
    for line in &block {
        assert!(gantt_line_ok(line), "not gantt grammar: {line:?}\n{md}");
    }
    assert!(!pm.steps.is_empty());
    for (i, s) in pm.steps.iter().enumerate() {
        let task = block
            .iter()
            .find(|l| l.contains(&format!(" s{}, ", i + 1)))
            .unwrap_or_else(|| panic!("step {} missing:\n{}", s.id, block.join("\n")));
        assert!(task.trim_start().starts_with(&format!("Step {} ", s.id)), "{task}");
        let crit = matches!(s.outcome, "failed" | "aborted");
        assert_eq!(task.contains(": crit, "), crit, "{task}");
    }
    for m in ["m_declared", "m_detected", "m_resolved"] {
        assert!(block.iter().any(|l| l.contains(&format!("milestone, {m}, "))), "{m}:\n{}", block.join("\n"));
    }
    let charts = md.split("## Lag and traffic").nth(1).expect("the charts section");
    assert!(charts.contains("postgresql-1 replay lag"), "{charts}");
    assert!(charts.contains("max 6.0 MiB") && charts.contains("peak 6.0 MiB logged at T+02:05"), "{charts}");
    let lag_row = charts.lines().find(|l| l.contains("max 6.0 MiB")).expect("the lag row");
    assert!(lag_row.contains('█') && lag_row.contains('·'), "peak and the stale gap: {lag_row}");
    assert!(charts.contains("us-east-1 traffic share and health"), "{charts}");
    let health = charts.lines().find(|l| l.contains("health ┤")).expect("a health row");
    assert!(health.contains('H') && health.contains('U'), "{health}");
    assert!(!md.contains("| `trend-sample` |"), "trend samples are not timeline rows");
}

/// A hostile incident title and step title (Mermaid's `:` `;` `#` `%%`, a line break, HTML, a
/// code fence) cannot break the diagram: every line still parses and the text survives as words.
#[test]
fn hostile_titles_cannot_break_the_mermaid_diagram() {
    let hostile = "evil: title; #x %%{init: {'theme':'dark'}}%%\nsection pwned <script>alert(1)</script> ```";
    let mut entries = drill_log_with_trends();
    for e in &mut entries {
        if let Some(p) = e.details.get_mut("preview") {
            p["title"] = json!(hostile);
        }
    }
    let meta = ExportMeta { title: hostile.into(), ..drill_meta() };
    let md = export_markdown(&meta, &entries);
    let block = mermaid_block(&md);
    for line in &block {
        assert!(gantt_line_ok(line), "hostile text broke the diagram: {line:?}\n{}", block.join("\n"));
    }
    assert!(!block.iter().any(|l| l.trim_start().starts_with("section pwned")), "{}", block.join("\n"));
    let title = block.iter().find(|l| l.trim_start().starts_with("title ")).expect("title");
    assert!(title.contains("evil title x") && !title.contains('<'), "{title}");
    assert!(block.iter().any(|l| l.contains("Step 1 evil title")), "{}", block.join("\n"));
}
