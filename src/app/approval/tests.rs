//! The two-person rule state by state: two consoles on one incident (alice confirms as
//! commander, bob and carol approve), the entries one appends fed to the others.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::app::mirror::StepIds;
use crate::app::state::{IncidentInfo, Modal};
use crate::app::{Action, Effect, Mode, State, TextEdit, pipeline, resume, update};
use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::command::Command;
use crate::config::Config;
use crate::config::model::{ApprovalsConfig, PgNodeConfig, PostgresConfig};
use crate::incident::entry::{Entry, EntryKind};
use crate::operation::Operation;

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap() + Duration::seconds(s)
}

#[derive(Debug, Default)]
struct Counter(Mutex<u64>);

impl StepIds for Counter {
    fn allocate(&self, at_least: u64) -> Result<u64, String> {
        let mut last = self.0.lock().unwrap();
        *last = (*last + 1).max(at_least);
        Ok(*last)
    }
}

fn config(approvals: ApprovalsConfig) -> Config {
    let pg = |n: &str, port: u16| PgNodeConfig {
        name: n.into(),
        region: "us-east-1".into(),
        dsn: format!("host=10.0.0.1 port={port} user=postgres"),
        password_env: None,
        pod: None,
        data_dir: None,
    };
    Config {
        postgres: Some(PostgresConfig {
            max_lag_bytes: 1024,
            service: None,
            nodes: vec![pg("pg-0", 5432), pg("pg-1", 5433), pg("pg-2", 5434)],
        }),
        approvals,
        ..Config::default()
    }
}

fn two_person() -> ApprovalsConfig {
    ApprovalsConfig { high_risk: Some(2), timeout_secs: Some(600), ..ApprovalsConfig::default() }
}

fn console(who: &str, cfg: &Config, ids: &Arc<Counter>) -> State {
    let incident = IncidentInfo {
        id: "INC-20261206-090000".into(),
        title: "t".into(),
        severity: "SEV1".into(),
        declared_at: t(0),
        drill: false,
    };
    let mut s = State::new(Mode::Live, incident, who.into(), Arc::new(cfg.clone()), t(0));
    s.domain.step_ids = Some(ids.clone());
    let node = |name: &str, role| PgNodeStatus {
        name: name.into(),
        role,
        timeline: Some(1),
        replay_lag_bytes: (role == PgRole::Replica).then_some(0),
        ..PgNodeStatus::default()
    };
    let view = DatabaseView {
        nodes: vec![node("pg-0", PgRole::Down), node("pg-1", PgRole::Replica), node("pg-2", PgRole::Replica)],
    };
    update(&mut s, Action::Database(Arc::new(Snapshot::fresh(view, t(0)))), t(0));
    s
}

/// The log every console appends to, in memory: entries carry their writer's identity.
#[derive(Default)]
struct Log {
    entries: Vec<Entry>,
}

impl Log {
    /// Append what `fx` logs, written by `who` at `at`; returns the new entries.
    fn write(&mut self, who: &str, fx: &[Effect], at: DateTime<Utc>) -> Vec<Entry> {
        let new: Vec<Entry> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Log(l) => Some(l),
                _ => None,
            })
            .enumerate()
            .map(|(i, l)| Entry {
                seq: (self.entries.len() + i + 1) as u64,
                ts: at,
                mono_ms: 0,
                operator: who.into(),
                kind: l.kind.clone(),
                summary: l.summary.clone(),
                details: l.details.clone(),
                prev: "0".repeat(64),
            })
            .collect();
        self.entries.extend(new.clone());
        new
    }
}

fn mirror(s: &mut State, entries: &[Entry], at: DateTime<Utc>) -> Vec<Effect> {
    entries.iter().flat_map(|e| update(s, Action::Mirrored(Box::new(e.clone())), at)).collect()
}

fn executes(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Execute { .. }))
}

fn logged(fx: &[Effect]) -> Vec<EntryKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l.kind.clone()),
            _ => None,
        })
        .collect()
}

fn promote(node: &str, port: u16) -> Operation {
    Operation::PromotePostgres {
        node: node.into(),
        endpoint: format!("10.0.0.1:{port}"),
        max_lag_bytes: 1024,
        accept_data_loss: None,
    }
}

fn typed(s: &mut State, word: &str, at: DateTime<Utc>) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in word.chars() {
        fx.extend(update(s, Action::Text(TextEdit::Char(c)), at));
    }
    fx.extend(update(s, Action::Text(TextEdit::Submit), at));
    fx
}

/// alice proposes and confirms a promotion of pg-1 (high risk: two people); bob follows.
fn confirmed(cfg: &Config) -> (State, State, Log, u64) {
    let ids = Arc::new(Counter::default());
    let (mut alice, mut bob) = (console("alice@ops1", cfg, &ids), console("bob@ops2", cfg, &ids));
    let mut log = Log::default();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut alice, promote("pg-1", 5433), "why".into(), &mut fx);
    fx.extend(typed(&mut alice, "pg-1", t(1)));
    assert!(!executes(&fx), "a step needing approval never executes at confirmation: {fx:?}");
    let new = log.write("alice@ops1", &fx, t(1));
    mirror(&mut bob, &new, t(1));
    (alice, bob, log, id)
}

fn status(s: &State, id: u64) -> StepStatus {
    s.domain.step(id).unwrap().status.clone()
}

/// bob presses A on the step, sees the preview, and y: what he logs.
fn approve_with_keys(bob: &mut State, id: u64, at: DateTime<Utc>) -> Vec<Effect> {
    bob.view.selected[crate::app::state::PaneId::Steps.index()] =
        bob.domain.steps.iter().position(|s| s.id == id).unwrap();
    bob.view.focus = crate::app::state::PaneId::Steps;
    let mut fx = update(bob, Action::Command(Command::StepApprove), at);
    let Some(Modal::ConfirmKey { what, .. }) = &bob.view.modal else {
        panic!("no approval dialog: {:?} flash {:?}", bob.view.modal, bob.view.flash)
    };
    assert!(what.contains("Approve step") && what.contains("pg-1") && what.contains("digest: "), "{what}");
    fx.extend(update(bob, Action::Command(Command::ConfirmYes), at));
    fx
}

#[test]
fn people_needed_is_the_strictest_rule() {
    let op = promote("pg-1", 5433);
    let none = ApprovalsConfig::default();
    assert_eq!(people_needed(&none, &op, Risk::High, None), 1, "no rule: the commander alone");
    let cfg = ApprovalsConfig { high_risk: Some(2), ..ApprovalsConfig::default() };
    assert_eq!(people_needed(&cfg, &op, Risk::High, None), 2);
    assert_eq!(
        people_needed(&cfg, &Operation::CheckPrimary, Risk::Low, None),
        1,
        "high_risk only binds high risk"
    );
    let mut kinds = cfg.clone();
    kinds.kinds.insert("promote".into(), 3);
    assert_eq!(people_needed(&kinds, &op, Risk::High, None), 3, "the kind rule is stricter");
    assert_eq!(people_needed(&kinds, &op, Risk::High, Some(2)), 3, "a runbook cannot lower it");
    assert_eq!(people_needed(&kinds, &op, Risk::High, Some(4)), 4, "nor is it lowered by the others");
    assert_eq!(people_needed(&none, &Operation::CheckPrimary, Risk::Low, Some(2)), 2, "runbook step rule");
    let mut step =
        crate::app::step::StepRun::new(1, Operation::Manual { instruction: "x".into() }, String::new(), t(0));
    step.approvals_rule = Some(3);
    assert_eq!(approvals_needed(&kinds, &step), 0, "a manual step executes nothing");
}

#[test]
fn identities_compare_user_and_host_not_the_ssh_client() {
    assert!(same_person("alice@ops1", "alice@ops1 via 203.0.113.7"));
    assert!(!same_person("alice@ops1", "alice@ops2"), "another host is another identity");
    assert!(!same_person("alice@ops1", "bob@ops1"));
}

#[test]
fn a_confirmed_step_waits_and_its_confirmation_records_digest_and_deadline() {
    let cfg = config(two_person());
    let (alice, bob, log, id) = confirmed(&cfg);
    let StepStatus::AwaitingApproval { needed, approvals, digest, deadline, attempt } = status(&alice, id)
    else {
        panic!("{:?}", status(&alice, id))
    };
    assert_eq!((needed, approvals, attempt), (1, 0, 1));
    assert_eq!(deadline, t(1) + Duration::seconds(600));
    assert_eq!(digest, step_digest(alice.domain.step(id).unwrap()).unwrap());
    let confirm = log.entries.iter().find(|e| e.kind == EntryKind::StepConfirmed).unwrap();
    assert_eq!(confirm.details["approvals_needed"], json!(1));
    assert_eq!(confirm.details["digest"], json!(digest));
    assert_eq!(status(&bob, id), status(&alice, id), "the other console rebuilds the same wait");
    assert!(bob.domain.step(id).unwrap().remote);
    let shown = describe(alice.domain.step(id).unwrap(), t(49)).unwrap();
    assert!(shown.starts_with("awaiting approval 0/1 (expires in 9:12; digest "), "{shown}");
}

#[test]
fn without_a_rule_the_step_executes_at_confirmation_as_before() {
    let ids = Arc::new(Counter::default());
    let mut alice = console("alice@ops1", &config(ApprovalsConfig::default()), &ids);
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut alice, promote("pg-1", 5433), "why".into(), &mut fx);
    let fx = typed(&mut alice, "pg-1", t(1));
    assert_eq!(logged(&fx), [EntryKind::StepConfirmed, EntryKind::StepExecuting]);
    assert!(executes(&fx));
    assert_eq!(status(&alice, id), StepStatus::Executing);
}

#[test]
fn approval_from_another_console_executes_the_step() {
    let cfg = config(two_person());
    let (mut alice, mut bob, mut log, id) = confirmed(&cfg);
    // Nothing happens on ticks while it waits.
    assert!(!executes(&update(&mut alice, Action::Tick, t(30))));
    let fx = approve_with_keys(&mut bob, id, t(40));
    assert_eq!(logged(&fx), [EntryKind::StepApproved]);
    assert!(!executes(&fx), "the approver's console never executes it");
    let new = log.write("bob@ops2", &fx, t(40));
    assert_eq!(new[0].details["digest"], json!(step_digest(alice.domain.step(id).unwrap()).unwrap()));
    let fx = mirror(&mut alice, &new, t(41));
    assert_eq!(logged(&fx), [EntryKind::StepExecuting], "{fx:?}");
    assert!(executes(&fx));
    assert_eq!(status(&alice, id), StepStatus::Executing);
}

#[test]
fn the_commander_cannot_approve_and_an_entry_by_the_commander_does_not_count() {
    let cfg = config(two_person());
    let (mut alice, _bob, _log, id) = confirmed(&cfg);
    let digest = step_digest(alice.domain.step(id).unwrap()).unwrap();
    let mut fx = Vec::new();
    decide(&mut alice, id, true, None, &digest, &mut fx);
    assert!(fx.is_empty(), "{fx:?}");
    let flash = &alice.view.flash.as_ref().unwrap().0;
    assert!(flash.contains("you (alice@ops1) confirmed it as commander"), "{flash}");
    // Written anyway (a script, another SSH session of the same person): not counted.
    let mut log = Log::default();
    let fake = Effect::Log(crate::incident::entry::LogIntent::new(
        EntryKind::StepApproved,
        "x".to_string(),
        json!({ "step": id, "digest": digest, "attempt": 1 }),
    ));
    let new = log.write("alice@ops1 via 198.51.100.9", &[fake], t(5));
    assert!(!executes(&mirror(&mut alice, &new, t(5))));
    assert!(matches!(status(&alice, id), StepStatus::AwaitingApproval { approvals: 0, .. }));
}

#[test]
fn approvals_for_another_preview_do_not_count_and_are_shown() {
    let cfg = config(two_person());
    let (mut alice, bob, _log, id) = confirmed(&cfg);
    let other = promote("pg-2", 5434);
    let stale = crate::operation::digest::digest(&other, &other.preview());
    // bob saw another preview: refused where he is.
    let err =
        may_decide(bob.domain.step(id).unwrap(), "bob@ops2", false, &cfg.approvals, &stale).unwrap_err();
    assert!(err.contains("digest changed"), "{err}");
    // An approval entry for the other preview arrives anyway: it does not count.
    let mut log = Log::default();
    let entry = Effect::Log(crate::incident::entry::LogIntent::new(
        EntryKind::StepApproved,
        "x".to_string(),
        json!({ "step": id, "digest": stale, "attempt": 1 }),
    ));
    let new = log.write("bob@ops2", &[entry], t(5));
    assert!(!executes(&mirror(&mut alice, &new, t(5))));
    let step = alice.domain.step(id).unwrap();
    assert!(matches!(step.status, StepStatus::AwaitingApproval { approvals: 0, .. }));
    let shown = describe(step, t(5)).unwrap();
    assert!(shown.contains("1 approval of an earlier preview no longer counts"), "{shown}");
}

#[test]
fn a_rebuilt_step_needs_new_approvals() {
    let cfg = config(two_person());
    let (mut alice, mut bob, mut log, id) = confirmed(&cfg);
    // bob rejects; alice's step fails; she retries after the step is rebuilt for pg-2.
    let reject = decision_intent(bob.domain.step(id).unwrap(), false, Some("wrong node")).unwrap();
    let new = log.write(
        "bob@ops2",
        &[Effect::Log(crate::incident::entry::LogIntent::new(reject.0, reject.1, reject.2))],
        t(5),
    );
    mirror(&mut alice, &new, t(5));
    let old = step_digest(alice.domain.step(id).unwrap()).unwrap();
    {
        let step = alice.domain.step_mut(id).unwrap();
        step.op = Some(promote("pg-2", 5434));
        step.preview = promote("pg-2", 5434).preview();
    }
    update(&mut alice, Action::Command(Command::StepRetry), t(6));
    let fx = typed(&mut alice, "pg-2", t(7));
    assert!(!executes(&fx));
    let StepStatus::AwaitingApproval { digest, attempt, approvals, .. } = status(&alice, id) else {
        panic!()
    };
    assert_ne!(digest, old, "a rebuilt step has a new digest");
    assert_eq!((attempt, approvals), (2, 0), "bob's decision on the earlier attempt does not carry over");
    // bob's console, still showing the old preview, cannot approve the new one.
    mirror(&mut bob, &log.write("alice@ops1", &fx, t(7)), t(7));
    let err = may_decide(bob.domain.step(id).unwrap(), "bob@ops2", false, &cfg.approvals, &old).unwrap_err();
    assert!(err.contains("digest changed"), "{err}");
}

#[test]
fn the_deadline_fails_the_step_with_approval_timed_out() {
    let cfg = config(two_person());
    let (mut alice, _bob, _log, id) = confirmed(&cfg);
    assert!(logged(&update(&mut alice, Action::Tick, t(600))).is_empty(), "not yet at 599 s");
    let fx = update(&mut alice, Action::Tick, t(601));
    assert_eq!(logged(&fx), [EntryKind::StepFailed]);
    assert!(!executes(&fx));
    let StepStatus::Failed { stage, reason } = status(&alice, id) else { panic!() };
    assert_eq!(stage, crate::app::step::Stage::Approval);
    assert!(reason.starts_with("approval timed out"), "{reason}");
}

#[test]
fn a_rejection_fails_the_step_with_who_and_why() {
    let cfg = config(two_person());
    let (mut alice, mut bob, mut log, id) = confirmed(&cfg);
    bob.view.focus = crate::app::state::PaneId::Steps;
    update(&mut bob, Action::Command(Command::StepReject), t(3));
    assert!(matches!(bob.view.modal, Some(Modal::Prompt { .. })), "asks for a reason first");
    let mut fx = typed(&mut bob, "replica is behind", t(3));
    let Some(Modal::ConfirmKey { what, .. }) = &bob.view.modal else { panic!("{:?}", bob.view.modal) };
    assert!(what.contains("Reject step") && what.contains("replica is behind"), "{what}");
    fx.extend(update(&mut bob, Action::Command(Command::ConfirmYes), t(3)));
    assert_eq!(logged(&fx), [EntryKind::StepRejected]);
    let fx = mirror(&mut alice, &log.write("bob@ops2", &fx, t(3)), t(4));
    assert_eq!(logged(&fx), [EntryKind::StepFailed]);
    assert!(!executes(&fx));
    let StepStatus::Failed { reason, .. } = status(&alice, id) else { panic!() };
    assert_eq!(reason, "rejected by bob@ops2: replica is behind");
}

#[test]
fn observers_approve_only_when_allowed_and_nobody_decides_twice() {
    let cfg = config(two_person());
    let (_alice, mut bob, _log, id) = confirmed(&cfg);
    let digest = step_digest(bob.domain.step(id).unwrap()).unwrap();
    bob.domain.read_only = true;
    let mut fx = Vec::new();
    decide(&mut bob, id, true, None, &digest, &mut fx);
    assert!(fx.is_empty());
    assert!(bob.view.flash.as_ref().unwrap().0.contains("read-only consoles may not approve"));
    let allowed = config(ApprovalsConfig { observers_may_approve: true, ..two_person() });
    bob.domain.config = Arc::new(allowed);
    decide(&mut bob, id, true, None, &digest, &mut fx);
    assert_eq!(logged(&fx), [EntryKind::StepApproved], "the read-only console's approval is written");
    let mut again = Vec::new();
    decide(&mut bob, id, false, Some("no".into()), &digest, &mut again);
    assert!(again.is_empty());
    assert!(bob.view.flash.as_ref().unwrap().0.contains("already decided: bob@ops2 approved it"));
}

#[test]
fn a_step_that_is_not_waiting_cannot_be_approved() {
    let ids = Arc::new(Counter::default());
    let mut alice = console("alice@ops1", &config(two_person()), &ids);
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut alice, promote("pg-1", 5433), "why".into(), &mut fx);
    let err = may_decide(alice.domain.step(id).unwrap(), "bob@ops2", false, &two_person(), "x").unwrap_err();
    assert_eq!(err, format!("step #{id} is not awaiting approval (it is confirm?)"));
}

#[test]
fn a_restarted_console_rebuilds_the_wait_and_never_executes_without_approvals() {
    let cfg = config(two_person());
    let (_alice, _bob, log, id) = confirmed(&cfg);
    // alice's console died; it starts again from the log.
    let ids = Arc::new(Counter::default());
    let mut again = console("alice@ops1", &cfg, &ids);
    resume::restore(&mut again.domain, &log.entries);
    let StepStatus::AwaitingApproval { approvals: 0, deadline, .. } = status(&again, id) else {
        panic!("{:?}", status(&again, id))
    };
    assert_eq!(deadline, t(601), "the deadline comes from the log, not the restart");
    assert!(!again.domain.step(id).unwrap().remote);
    assert!(!executes(&update(&mut again, Action::Tick, t(300))));
    let fx = update(&mut again, Action::Tick, t(602));
    assert_eq!(logged(&fx), [EntryKind::StepFailed]);
    assert!(!executes(&fx));
}

#[test]
fn a_restarted_console_counts_approvals_given_while_it_was_down() {
    let cfg = config(ApprovalsConfig { high_risk: Some(3), ..two_person() });
    let (_alice, bob, mut log, id) = confirmed(&cfg);
    let i = decision_intent(bob.domain.step(id).unwrap(), true, None).unwrap();
    let intent = Effect::Log(crate::incident::entry::LogIntent::new(i.0, i.1, i.2));
    log.write("bob@ops2", std::slice::from_ref(&intent), t(10));
    let ids = Arc::new(Counter::default());
    let mut again = console("alice@ops1", &cfg, &ids);
    resume::restore(&mut again.domain, &log.entries);
    assert!(matches!(status(&again, id), StepStatus::AwaitingApproval { approvals: 1, needed: 2, .. }));
    assert!(!executes(&update(&mut again, Action::Tick, t(20))), "1 of 2 is not enough");
    // carol approves after the restart: now it executes.
    let new = log.write("carol@ops3", &[intent], t(30));
    let fx = mirror(&mut again, &new, t(30));
    assert!(executes(&fx), "{fx:?}");
}

#[test]
fn the_config_knows_every_operation_kind_name() {
    use strum::VariantNames as _;
    assert_eq!(crate::config::model::OP_KIND_NAMES, crate::operation::kind::OpKind::VARIANTS);
}
