//! A log replayed into a [`Domain`] and judged with no screen at all: what a joined console, a
//! resumed console and `status --json` rely on.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::app::propose::proposals;
use crate::app::recommend::recommended;
use crate::app::safety::tests::{domain_of, origin, sim_at};
use crate::app::state::{IncidentInfo, Mode};
use crate::app::verdict::Level;
use crate::backends::drill::estate;

/// One line of the incident log as it is stored (JSON), read back as an [`Entry`].
fn line(seq: u64, secs: i64, kind: &str, summary: &str, details: serde_json::Value) -> Entry {
    let ts = origin() + chrono::Duration::seconds(secs);
    serde_json::from_value(json!({
        "seq": seq,
        "ts": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "mono_ms": secs * 1000,
        "operator": "alice@host",
        "kind": kind,
        "summary": summary,
        "details": details,
        "prev": "0".repeat(64),
    }))
    .expect("a stored log line")
}

#[test]
fn a_replayed_log_rebuilds_the_domain_and_is_judged_without_a_view() {
    // The estate a console saw: the primary is down. The operation it proposed came from it.
    let seen = domain_of(&sim_at("primary-db-down", 15));
    let promote = proposals(&seen)
        .into_iter()
        .find(|p| matches!(p.op, Operation::PromotePostgres { .. }) && p.blocked.is_none())
        .expect("a promotion is offered while the primary is down")
        .op;
    let log = [
        line(1, 0, "declared", "incident declared", json!({ "title": "db down" })),
        line(
            2,
            5,
            "step-previewed",
            "step #1 proposed",
            json!({ "step": 1, "op": promote, "why": "primary down" }),
        ),
        line(3, 9, "step-executing", "step #1 executing", json!({ "step": 1 })),
        line(
            4,
            12,
            "step-previewed",
            "step #2 proposed",
            json!({ "step": 2, "op": promote, "why": "again" }),
        ),
        line(5, 14, "step-skipped", "step #2 skipped", json!({ "step": 2, "reason": "duplicate" })),
    ];

    let incident = IncidentInfo {
        id: "INC-T".into(),
        title: "db down".into(),
        severity: "SEV1".into(),
        declared_at: origin(),
        drill: true,
    };
    let mut domain =
        Domain::new(Mode::Drill, incident, "bob@host".into(), Arc::new(estate::config()), seen.now);
    restore(&mut domain, &log);

    // The log alone rebuilds the steps: the console died while #1 ran, #2 was skipped.
    assert_eq!(domain.steps.len(), 2);
    assert_eq!(domain.step(1).map(|s| &s.status), Some(&StepStatus::OutcomeUnknown));
    assert_eq!(domain.step(1).and_then(|s| s.op.as_ref()), Some(&promote));
    assert_eq!(domain.step(2).map(|s| &s.status), Some(&StepStatus::Skipped("duplicate".into())));
    assert_eq!(domain.next_step_id, 3, "new steps are numbered after the replayed ones");
    assert_eq!(domain.log_tail.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(domain.resolved, None);

    // Judged with the estate's snapshots and no View: the verdict and the runbook to run.
    domain.observed = seen.observed.clone();
    crate::app::measure::refresh_verdict(&mut domain);
    assert_eq!(domain.verdict.level, Level::Failing, "{:?}", domain.verdict);
    assert!(
        domain.verdict.reasons.iter().any(|r| r.contains("postgresql-0")),
        "{:?}",
        domain.verdict.reasons
    );
    let recs = recommended(&domain);
    assert_eq!(recs.iter().map(|r| r.runbook.as_str()).collect::<Vec<_>>(), ["db-failover"]);
}

#[test]
fn recording_entries_stay_out_of_the_log_pane_of_a_resumed_console() {
    let log = [
        line(1, 0, "declared", "incident declared", json!({ "title": "db down" })),
        line(
            2,
            300,
            "recording",
            "recording segment c/000001.seg closed",
            json!({ "segment": "000001.seg" }),
        ),
        line(3, 301, "note", "still looking", json!({})),
    ];
    let incident = IncidentInfo {
        id: "INC-T".into(),
        title: "db down".into(),
        severity: "SEV1".into(),
        declared_at: origin(),
        drill: true,
    };
    let mut domain =
        Domain::new(Mode::Drill, incident, "bob@host".into(), Arc::new(estate::config()), origin());
    restore(&mut domain, &log);
    let seqs: Vec<u64> = domain.log_tail.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, [1, 3], "the recording entry is not in the Log pane");
}
