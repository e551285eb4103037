//! Reducer and pipeline tests with an injected `now`: every transition of a step.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::state::IncidentInfo;
use super::*;
use crate::app::step::Stage;
use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, DeploymentRow, KubeView, PgNodeStatus, PgRole};
use crate::command::Command;
use crate::config::Config;
use crate::config::model::{ObjectRef, PgNodeConfig, PostgresConfig, RegionConfig};
use crate::incident::entry::EntryKind;
use crate::operation::Operation;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

pub(super) fn node(name: &str, role: PgRole, lag: u64, tl: u32) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role,
        version: Some("15.18".into()),
        timeline: Some(tl),
        lsn: Some(1000),
        fork_lsn: None,
        replay_lag_bytes: (role == PgRole::Replica).then_some(lag),
        replay_lag_seconds: None,
        replication_state: None,
        read_only: false,
        pod: Some(name.into()),
        error: if role == PgRole::Down { Some("connection refused".into()) } else { None },
        last_ok: None,
    }
}

pub(super) fn config() -> Config {
    let pg_node = |n: &str, port: u16| PgNodeConfig {
        name: n.into(),
        region: "us-east-1".into(),
        dsn: format!("host=10.0.0.1 port={port} user=postgres"),
        password_env: None,
        pod: Some(ObjectRef { context: "us-east-1".into(), namespace: "database".into(), name: n.into() }),
        data_dir: None,
    };
    Config {
        regions: vec![
            RegionConfig {
                name: "us-east-1".into(),
                role: "primary".into(),
                kube_context: Some("us-east-1".into()),
                deployments: vec!["api".into()],
                ..RegionConfig::default()
            },
            RegionConfig {
                name: "us-west-2".into(),
                role: "secondary".into(),
                kube_context: Some("us-west-2".into()),
                deployments: vec!["api".into()],
                failover_replicas: Some(10),
                ..RegionConfig::default()
            },
        ],
        postgres: Some(PostgresConfig {
            max_lag_bytes: 1024,
            service: Some(ObjectRef {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
            }),
            nodes: vec![pg_node("pg-0", 5432), pg_node("pg-1", 5433), pg_node("pg-2", 5434)],
        }),
        ..Config::default()
    }
}

pub(super) fn db(nodes: Vec<PgNodeStatus>) -> Action {
    Action::Database(Arc::new(Snapshot::fresh(DatabaseView { nodes }, t0())))
}

/// Primary down, pg-1 lag 10 B, pg-2 lag 5000 B.
pub(crate) fn primary_down_state() -> State {
    let incident = IncidentInfo {
        id: "INC-TEST".into(),
        title: "test".into(),
        severity: "SEV1".into(),
        declared_at: t0(),
        drill: false,
    };
    let mut s = State::new(Mode::Live, incident, "alice@host".into(), Arc::new(config()), t0());
    update(
        &mut s,
        db(vec![
            node("pg-0", PgRole::Down, 0, 1),
            node("pg-1", PgRole::Replica, 10, 1),
            node("pg-2", PgRole::Replica, 5000, 1),
        ]),
        t0(),
    );
    s
}

/// What an effect did, for assertions on what happened in which order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Did {
    /// A log entry of this kind.
    Log(EntryKind),
    /// An `Effect::Execute`.
    Execute,
    /// Any other effect, by its debug text (`Bell`, `Copy(..)`).
    Other(String),
}

pub(crate) fn kinds(fx: &[Effect]) -> Vec<Did> {
    fx.iter()
        .map(|e| match e {
            Effect::Log(l) => Did::Log(l.kind.clone()),
            Effect::Execute { .. } => Did::Execute,
            other => Did::Other(format!("{other:?}")),
        })
        .collect()
}

pub(crate) fn promote(node: &str) -> Operation {
    let cfg = config();
    let n = cfg.postgres.as_ref().and_then(|p| p.nodes.iter().find(|n| n.name == node));
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: crate::app::propose::endpoint_of(n),
        max_lag_bytes: 1024,
        accept_data_loss: None,
    }
}

pub(super) fn typed(s: &mut State, word: &str, now: DateTime<Utc>) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in word.chars() {
        fx.extend(update(s, Action::Text(TextEdit::Char(c)), now));
    }
    fx.extend(update(s, Action::Text(TextEdit::Submit), now));
    fx
}

#[test]
fn actions_menu_proposes_the_healthiest_replica_and_says_why() {
    let mut s = primary_down_state();
    update(&mut s, Action::Command(Command::Actions), t0());
    let Some(Modal::Actions { items, .. }) = &s.view.modal else {
        panic!("actions menu not open: {:?}", s.view.modal)
    };
    let p =
        items.iter().find(|p| matches!(p.op, Operation::PromotePostgres { .. })).expect("promote proposed");
    assert_eq!(p.op, promote("pg-1"));
    assert!(p.why.contains("primary is DOWN") && p.why.contains("least lag (10 B)"), "{}", p.why);
}

#[test]
fn high_risk_step_runs_only_after_typing_the_target_name() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepPreviewed)]);
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::AwaitingConfirm);
    assert!(s.wants_text(), "high-risk confirmation takes typed text");

    // `y` does not confirm a high-risk step.
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), t0());
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::AwaitingConfirm);

    // A wrong name is refused and the dialog stays open.
    let fx = typed(&mut s, "pg-2", t0());
    assert!(!kinds(&fx).contains(&Did::Execute));
    assert!(matches!(s.view.modal, Some(Modal::Confirm { .. })));
    assert!(s.view.flash.as_ref().unwrap().0.contains("does not match"));

    // Clear, then the right name: confirmed, intent logged before the execute effect.
    for _ in 0..4 {
        update(&mut s, Action::Text(TextEdit::Backspace), t0());
    }
    let fx = typed(&mut s, "pg-1", t0());
    assert_eq!(
        kinds(&fx),
        [Did::Log(EntryKind::StepConfirmed), Did::Log(EntryKind::StepExecuting), Did::Execute]
    );
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::Executing);
    assert!(s.view.modal.is_none());
}

#[test]
fn execute_then_verify_against_observed_state() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    typed(&mut s, "pg-1", t0());
    let t1 = t0() + Duration::seconds(1);
    let fx = update(
        &mut s,
        Action::StepExecuted { step: id, result: Ok("pg_promote() returned true".into()) },
        t1,
    );
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepResult)]);
    assert_eq!(
        s.domain.step(id).unwrap().status,
        StepStatus::Verifying,
        "the replica still reports recovery"
    );
    // The next observation shows pg-1 as primary: verified.
    let t2 = t1 + Duration::seconds(1);
    let fx = update(
        &mut s,
        db(vec![
            node("pg-0", PgRole::Down, 0, 1),
            node("pg-1", PgRole::Primary, 0, 2),
            node("pg-2", PgRole::Replica, 0, 2),
        ]),
        t2,
    );
    let (observations, rest): (Vec<&Effect>, Vec<&Effect>) =
        fx.iter().partition(|e| matches!(e, Effect::Log(l) if l.kind == EntryKind::Observation));
    assert_eq!(kinds(&rest.into_iter().cloned().collect::<Vec<_>>()), [Did::Log(EntryKind::StepVerified)]);
    assert!(
        observations.iter().any(|e| matches!(e, Effect::Log(l) if l.summary.contains("pg-1"))),
        "the new primary is logged as an observation: {observations:?}"
    );
    let step = s.domain.step(id).unwrap();
    assert_eq!(step.status, StepStatus::Done);
    assert!(step.output.iter().any(|l| l.contains("timeline 2")), "{:?}", step.output);
}

#[test]
fn precheck_failure_names_the_check_and_never_executes() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-2"), "why".into(), &mut fx);
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepPreviewed), Did::Log(EntryKind::StepFailed)]);
    match &s.domain.step(id).unwrap().status {
        StepStatus::Failed { stage: Stage::Precheck, reason } => {
            assert!(reason.contains("lag within limit") && reason.contains("5000"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.view.modal.is_none(), "no confirmation for a failed precheck");
}

#[test]
fn promote_refused_while_another_primary_accepts_writes() {
    let mut s = primary_down_state();
    update(&mut s, db(vec![node("pg-0", PgRole::Primary, 0, 1), node("pg-1", PgRole::Replica, 0, 1)]), t0());
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    match &s.domain.step(id).unwrap().status {
        StepStatus::Failed { reason, .. } => {
            assert!(reason.contains("pg-0 is still a writable primary"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prechecks_run_again_at_confirmation_time() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    // While the dialog is open the old primary comes back writable.
    update(&mut s, db(vec![node("pg-0", PgRole::Primary, 0, 1), node("pg-1", PgRole::Replica, 0, 1)]), t0());
    let fx = typed(&mut s, "pg-1", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepFailed)]);
    assert!(matches!(s.domain.step(id).unwrap().status, StepStatus::Failed { stage: Stage::Precheck, .. }));
}

#[test]
fn stale_data_blocks_a_step() {
    let mut s = primary_down_state();
    let mut stale = (*s.domain.observed.database).clone();
    stale.freshness = crate::backends::Freshness::Stale { since: t0(), error: "timeout".into() };
    update(&mut s, Action::Database(Arc::new(stale)), t0());
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    match &s.domain.step(id).unwrap().status {
        StepStatus::Failed { reason, .. } => {
            assert!(reason.contains("stale") && reason.contains("timeout"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancelled_confirmation_keeps_the_step_ready() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    let fx = update(&mut s, Action::Text(TextEdit::Cancel), t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepCancelled)]);
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::Prechecked);
    assert!(s.view.modal.is_none());
    // Enter on the step opens the confirmation again.
    update(&mut s, Action::Command(Command::StepRun), t0());
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == id));
}

#[test]
fn execute_timeout_fails_the_step_and_retry_goes_through_prechecks_again() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    typed(&mut s, "pg-1", t0());
    let fx =
        update(&mut s, Action::StepExecuted { step: id, result: Err("timed out after 30 s".into()) }, t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepFailed)]);
    assert!(
        matches!(&s.domain.step(id).unwrap().status, StepStatus::Failed { stage: Stage::Execute, reason } if reason.contains("timed out"))
    );
    let fx = update(&mut s, Action::Command(Command::StepRetry), t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepRetry)]);
    assert!(matches!(s.view.modal, Some(Modal::Confirm { .. })), "retry asks for confirmation again");
    let fx = typed(&mut s, "pg-1", t0());
    assert_eq!(
        kinds(&fx),
        [Did::Log(EntryKind::StepConfirmed), Did::Log(EntryKind::StepExecuting), Did::Execute]
    );
    assert_eq!(s.domain.step(id).unwrap().attempts, 2);
}

#[test]
fn verify_timeout_fails_and_never_proceeds_on_its_own() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    typed(&mut s, "pg-1", t0());
    update(&mut s, Action::StepExecuted { step: id, result: Ok("ok".into()) }, t0());
    let before = t0() + Duration::seconds(59);
    assert!(update(&mut s, Action::Tick, before).is_empty());
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::Verifying);
    let after = t0() + Duration::seconds(60);
    let fx = update(&mut s, Action::Tick, after);
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepFailed)]);
    assert!(
        matches!(&s.domain.step(id).unwrap().status, StepStatus::Failed { stage: Stage::Verify, reason } if reason.contains("pg-1 is replica"))
    );
    // Later observations do not revive a failed step.
    update(&mut s, db(vec![node("pg-1", PgRole::Primary, 0, 2)]), after);
    assert!(matches!(s.domain.step(id).unwrap().status, StepStatus::Failed { .. }));
}

#[test]
fn skip_needs_a_reason_and_abort_is_logged() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-2"), "why".into(), &mut fx);
    update(&mut s, Action::Command(Command::StepSkip), t0());
    let fx = update(&mut s, Action::Text(TextEdit::Submit), t0());
    assert!(fx.is_empty(), "empty reason refused");
    let fx = typed(&mut s, "lag too high, chose pg-1", t0());
    assert!(fx.is_empty(), "skipping asks y/n first: {fx:?}");
    assert!(
        matches!(&s.view.modal, Some(Modal::ConfirmKey { what, .. }) if what.contains("lag too high, chose pg-1"))
    );
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepSkipped)]);
    assert_eq!(s.domain.step(id).unwrap().status, StepStatus::Skipped("lag too high, chose pg-1".into()));

    let mut fx2 = Vec::new();
    let id2 = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx2);
    let fx = update(&mut s, Action::Command(Command::StepAbort), t0());
    assert!(fx.is_empty(), "aborting asks y/n first: {fx:?}");
    assert!(
        matches!(&s.view.modal, Some(Modal::ConfirmKey { what, .. }) if what.starts_with(&format!("Abort step #{id2}")))
    );
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepAborted)]);
    assert_eq!(s.domain.step(id2).unwrap().status, StepStatus::Aborted);
    assert!(s.view.modal.is_none());
}

#[test]
fn read_only_console_cannot_confirm_by_any_path() {
    let mut s = primary_down_state();
    s.domain.read_only = true;
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    assert!(s.view.modal.is_none(), "no confirm dialog on a read-only console");
    assert!(s.view.flash.as_ref().unwrap().0.contains("READ-ONLY"));
    let mut all = Vec::new();
    for c in [Command::StepRun, Command::ConfirmYes, Command::StepRetry] {
        all.extend(update(&mut s, Action::Command(c), t0()));
    }
    // Even a forged confirm modal cannot execute.
    s.view.modal = Some(Modal::Confirm { step: id, typed: String::new() });
    all.extend(typed(&mut s, "pg-1", t0()));
    pipeline::confirm(&mut s, id, Some("pg-1".into()), &mut all);
    assert!(!all.iter().any(|e| matches!(e, Effect::Execute { .. })), "{all:?}");
}

#[test]
fn low_risk_scale_confirms_with_y() {
    let mut s = primary_down_state();
    let kube = KubeView {
        deployments: vec![DeploymentRow {
            context: "us-west-2".into(),
            namespace: "default".into(),
            name: "api".into(),
            desired: 3,
            ready: 3,
            available: 3,
        }],
        ..KubeView::default()
    };
    update(&mut s, Action::Kube(Arc::new(Snapshot::fresh(kube, t0()))), t0());
    update(&mut s, Action::Command(Command::Actions), t0());
    let Some(Modal::Actions { items, .. }) = &s.view.modal else { panic!() };
    let i =
        items.iter().position(|p| matches!(p.op, Operation::ScaleDeployment { .. })).expect("scale proposed");
    assert!(
        matches!(&items[i].op, Operation::ScaleDeployment { context, replicas: 10, .. } if context == "us-west-2")
    );
    s.view.modal = Some(Modal::Actions { items: items.clone(), selected: i });
    update(&mut s, Action::Command(Command::Select), t0());
    assert!(!s.wants_text(), "low risk takes no typing");
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), t0());
    assert_eq!(
        kinds(&fx),
        [Did::Log(EntryKind::StepConfirmed), Did::Log(EntryKind::StepExecuting), Did::Execute]
    );
}

#[test]
fn quit_while_a_step_is_in_flight_needs_a_second_press() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    typed(&mut s, "pg-1", t0());
    assert!(update(&mut s, Action::Command(Command::Quit), t0()).is_empty());
    assert!(!s.view.quit);
    assert_eq!(update(&mut s, Action::Command(Command::Quit), t0()), vec![Effect::Quit]);
    assert!(s.view.quit);
}

#[test]
fn drill_log_entries_say_drill() {
    let mut s = primary_down_state();
    s.domain.mode = Mode::Drill;
    let mut fx = Vec::new();
    pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    let Effect::Log(l) = &fx[0] else { panic!() };
    assert!(l.summary.starts_with("DRILL "));
    assert_eq!(l.details["drill"], true);
}

#[test]
fn recording_entries_are_not_shown_in_the_log_pane() {
    let mut s = primary_down_state();
    let at = s.domain.now;
    let line = |seq, kind: EntryKind| crate::incident::entry::LogLine {
        seq,
        at,
        operator: "me".into(),
        kind,
        summary: format!("entry {seq}"),
    };
    let _ = update(&mut s, Action::Logged(line(1, EntryKind::Note)), at);
    let _ = update(&mut s, Action::Logged(line(2, EntryKind::Recording)), at);
    let _ = update(&mut s, Action::Logged(line(3, EntryKind::Note)), at);
    let seqs: Vec<u64> = s.domain.log_tail.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, [1, 3], "the Log pane leaves the recording entry out");
}

#[test]
fn focus_zoom_and_scroll() {
    let mut s = primary_down_state();
    s.view.focus = PaneId::Pods;
    update(&mut s, Action::Command(Command::FocusNext), t0());
    assert_eq!(s.view.focus, PaneId::Database);
    update(&mut s, Action::Command(Command::FocusPrev), t0());
    update(&mut s, Action::Command(Command::FocusPrev), t0());
    assert_eq!(s.view.focus, PaneId::Log, "focus wraps around");
    update(&mut s, Action::Command(Command::Zoom), t0());
    assert!(s.view.zoomed);
    update(&mut s, Action::Command(Command::Close), t0());
    assert!(!s.view.zoomed);
    update(&mut s, Action::Command(Command::FocusDatabase), t0());
    for _ in 0..10 {
        update(&mut s, Action::Command(Command::ScrollDown), t0());
    }
    assert_eq!(s.view.selected[PaneId::Database.index()], 2, "clamped to the last of 3 nodes");
    update(&mut s, Action::Command(Command::ScrollTop), t0());
    assert_eq!(s.view.selected[PaneId::Database.index()], 0);
}

#[test]
fn lag_override_is_typed_logged_and_goes_through_confirmation() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-2"), "why".into(), &mut fx);
    assert!(matches!(s.domain.step(id).unwrap().status, StepStatus::Failed { stage: Stage::Precheck, .. }));
    update(&mut s, Action::Command(Command::StepOverride), t0());
    assert!(matches!(&s.view.modal, Some(Modal::Prompt { label, .. }) if label.contains("5000 B")));
    // Less than the current lag is refused.
    let fx = typed(&mut s, "100", t0());
    assert!(fx.is_empty());
    assert!(s.view.flash.as_ref().unwrap().0.contains("less than the current lag"));
    update(&mut s, Action::Command(Command::StepOverride), t0());
    let fx = typed(&mut s, "5000", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::Override), Did::Log(EntryKind::StepPreviewed)]);
    let Effect::Log(l) = &fx[0] else { panic!() };
    assert!(l.summary.contains("accepted data loss of 5000 bytes"), "{}", l.summary);
    assert!(matches!(&s.domain.step(id).unwrap().status, StepStatus::Skipped(r) if r.contains("superseded")));
    let new = s.domain.steps.last().unwrap();
    assert_eq!(new.status, StepStatus::AwaitingConfirm, "the override still needs the typed confirmation");
    assert!(matches!(new.op, Some(Operation::PromotePostgres { accept_data_loss: Some(5000), .. })));
    assert!(new.preview.lines.iter().any(|l| l.contains("accepts data loss of 5000 bytes")));
    let fx = typed(&mut s, "pg-2", t0());
    assert_eq!(
        kinds(&fx),
        [Did::Log(EntryKind::StepConfirmed), Did::Log(EntryKind::StepExecuting), Did::Execute]
    );
}

#[test]
fn override_is_refused_for_other_failures() {
    let mut s = primary_down_state();
    update(&mut s, db(vec![node("pg-0", PgRole::Primary, 0, 1), node("pg-1", PgRole::Replica, 0, 1)]), t0());
    let mut fx = Vec::new();
    pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    update(&mut s, Action::Command(Command::StepOverride), t0());
    assert!(s.view.modal.is_none(), "a writable old primary is not a lag problem: no override");
    assert!(s.view.flash.as_ref().unwrap().0.contains("did not fail its lag guard"));
}

fn entry(seq: u64, kind: EntryKind, details: serde_json::Value) -> crate::incident::entry::Entry {
    crate::incident::entry::Entry {
        seq,
        ts: t0() + Duration::seconds(seq as i64),
        mono_ms: seq * 1000,
        operator: "alice@host".into(),
        summary: format!("{kind} #{seq}"),
        kind,
        details,
        prev: "0".repeat(64),
    }
}

#[test]
fn resume_marks_a_step_that_was_executing_as_outcome_unknown_and_never_reruns_it() {
    let op = serde_json::to_value(promote("pg-1")).unwrap();
    let scale = serde_json::to_value(Operation::ScaleDeployment {
        context: "us-west-2".into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 10,
    })
    .unwrap();
    let entries = vec![
        entry(1, EntryKind::Declared, serde_json::json!({})),
        entry(2, EntryKind::StepPreviewed, serde_json::json!({ "step": 1, "op": scale, "why": "capacity" })),
        entry(3, EntryKind::StepConfirmed, serde_json::json!({ "step": 1 })),
        entry(4, EntryKind::StepExecuting, serde_json::json!({ "step": 1 })),
        entry(5, EntryKind::StepResult, serde_json::json!({ "step": 1, "ok": true })),
        entry(6, EntryKind::StepVerified, serde_json::json!({ "step": 1 })),
        entry(7, EntryKind::StepPreviewed, serde_json::json!({ "step": 2, "op": op, "why": "primary down" })),
        entry(8, EntryKind::StepConfirmed, serde_json::json!({ "step": 2 })),
        entry(9, EntryKind::StepExecuting, serde_json::json!({ "step": 2 })),
        entry(10, EntryKind::Note, serde_json::json!({ "text": "console died here" })),
    ];
    let mut s = primary_down_state();
    resume::restore(&mut s.domain, &entries);
    assert_eq!(s.domain.steps.len(), 2);
    assert_eq!(s.domain.steps[0].status, StepStatus::Done);
    assert_eq!(s.domain.steps[1].status, StepStatus::OutcomeUnknown);
    assert!(s.domain.steps[1].output.iter().any(|l| l.contains("verify before continuing")));
    assert_eq!(s.domain.next_step_id, 3, "new steps never reuse an id");
    assert_eq!(s.domain.log_tail.len(), 10);
    // Nothing runs by itself: ticks and observations emit no execution.
    let mut fx = update(&mut s, Action::Tick, t0() + Duration::seconds(20));
    fx.extend(update(
        &mut s,
        db(vec![node("pg-0", PgRole::Down, 0, 1), node("pg-1", PgRole::Replica, 0, 1)]),
        t0() + Duration::seconds(21),
    ));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Execute { .. })), "{fx:?}");
    // The operator can retry it explicitly: prechecks and confirmation again.
    s.view.selected[PaneId::Steps.index()] = 1;
    update(&mut s, Action::Command(Command::StepRetry), t0() + Duration::seconds(22));
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step: 2, .. })));
}

#[test]
fn only_a_new_value_or_freshness_asks_for_a_frame() {
    let mut s = primary_down_state();
    let nodes = || {
        vec![
            node("pg-0", PgRole::Down, 0, 1),
            node("pg-1", PgRole::Replica, 10, 1),
            node("pg-2", PgRole::Replica, 5000, 1),
        ]
    };
    let later = |nodes: Vec<PgNodeStatus>, secs: i64| {
        Action::Database(Arc::new(Snapshot::fresh(DatabaseView { nodes }, t0() + Duration::seconds(secs))))
    };
    // The same value polled again a second later: only its age moved.
    assert!(!later(nodes(), 1).may_change_screen(&s));
    assert!(!Action::Tick.may_change_screen(&s));
    let mut lagging = nodes();
    lagging[2].replay_lag_bytes = Some(6000);
    assert!(later(lagging, 1).may_change_screen(&s));
    let stale = Snapshot {
        freshness: crate::backends::Freshness::Stale { since: t0(), error: "timeout".into() },
        ..(*s.domain.observed.database).clone()
    };
    assert!(Action::Database(Arc::new(stale)).may_change_screen(&s));
    assert!(Action::Kube(Arc::new(Snapshot::fresh(KubeView::default(), t0()))).may_change_screen(&s));
    update(&mut s, Action::Kube(Arc::new(Snapshot::fresh(KubeView::default(), t0()))), t0());
    assert!(!Action::Kube(Arc::new(Snapshot::fresh(KubeView::default(), t0()))).may_change_screen(&s));
}
