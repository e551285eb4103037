//! Two consoles on one incident, simulated: the entries one console's effects would append are
//! fed to the other as [`Action::Mirrored`], with one shared step-id allocator.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::StepIds;
use crate::app::state::IncidentInfo;
use crate::app::{Action, Effect, Mode, State, StepStatus, TextEdit, pipeline, update};
use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::config::Config;
use crate::config::model::{PgNodeConfig, PostgresConfig};
use crate::incident::entry::{Entry, EntryKind};
use crate::operation::Operation;

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 20, 0, 0).unwrap() + Duration::seconds(s)
}

/// The incident log's allocator, in memory.
#[derive(Debug, Default)]
struct Counter(Mutex<u64>);

impl StepIds for Counter {
    fn allocate(&self, at_least: u64) -> Result<u64, String> {
        let mut last = self.0.lock().unwrap();
        *last = (*last + 1).max(at_least);
        Ok(*last)
    }
}

#[derive(Debug)]
struct Broken;

impl StepIds for Broken {
    fn allocate(&self, _: u64) -> Result<u64, String> {
        Err("permission denied".into())
    }
}

fn config() -> Config {
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
            nodes: vec![pg("pg-0", 5432), pg("pg-1", 5433)],
        }),
        ..Config::default()
    }
}

fn node(name: &str, role: PgRole) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        role,
        timeline: Some(1),
        replay_lag_bytes: (role == PgRole::Replica).then_some(0),
        ..PgNodeStatus::default()
    }
}

fn db(nodes: Vec<PgNodeStatus>, at: DateTime<Utc>) -> Action {
    Action::Database(Arc::new(Snapshot::fresh(DatabaseView { nodes }, at)))
}

fn console(ids: &Arc<Counter>) -> State {
    let incident = IncidentInfo {
        id: "INC-20261205-200000".into(),
        title: "t".into(),
        severity: "SEV1".into(),
        declared_at: t(0),
        drill: false,
    };
    let mut s = State::new(Mode::Live, incident, "alice@host".into(), Arc::new(config()), t(0));
    s.domain.step_ids = Some(ids.clone());
    update(&mut s, db(vec![node("pg-0", PgRole::Down), node("pg-1", PgRole::Replica)], t(0)), t(0));
    s
}

/// What appending the effects' log intents would write, numbered from `seq`.
fn written(fx: &[Effect], seq: &mut u64, at: DateTime<Utc>) -> Vec<Entry> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l),
            _ => None,
        })
        .map(|l| {
            *seq += 1;
            Entry {
                seq: *seq,
                ts: at,
                mono_ms: 0,
                operator: "bob@host".into(),
                kind: l.kind.clone(),
                summary: l.summary.clone(),
                details: l.details.clone(),
                prev: "0".repeat(64),
            }
        })
        .collect()
}

fn mirror(s: &mut State, entries: Vec<Entry>, at: DateTime<Utc>) -> Vec<Effect> {
    entries.into_iter().flat_map(|e| update(s, Action::Mirrored(Box::new(e)), at)).collect()
}

fn kinds(fx: &[Effect]) -> Vec<EntryKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l.kind.clone()),
            _ => None,
        })
        .collect()
}

fn promote() -> Operation {
    Operation::PromotePostgres {
        node: "pg-1".into(),
        endpoint: crate::app::propose::endpoint_of(config().postgres.as_ref().map(|p| &p.nodes[1])),
        max_lag_bytes: 1024,
        accept_data_loss: None,
    }
}

#[test]
fn two_consoles_number_steps_from_one_allocator_and_see_each_others_steps() {
    let ids = Arc::new(Counter::default());
    let (mut a, mut b) = (console(&ids), console(&ids));
    let mut seq = 0;
    let mut fa = Vec::new();
    let first = pipeline::propose(&mut a, promote(), "a".into(), &mut fa);
    let mut fb = Vec::new();
    let second = pipeline::propose(&mut b, promote(), "b".into(), &mut fb);
    assert_eq!((first, second), (1, 2), "no id given twice although neither saw the other's step");
    mirror(&mut b, written(&fa, &mut seq, t(1)), t(1));
    mirror(&mut a, written(&fb, &mut seq, t(1)), t(1));
    for s in [&a, &b] {
        let mut seen: Vec<u64> = s.domain.steps.iter().map(|x| x.id).collect();
        seen.sort();
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(s.domain.next_step_id, 3);
    }
    assert!(b.domain.step(1).is_some_and(|x| x.remote && x.status == StepStatus::Prechecked));
    assert!(a.domain.step(2).is_some_and(|x| x.remote));
    assert!(!a.domain.step(1).is_some_and(|x| x.remote), "a console's own step stays its own");
}

#[test]
fn a_step_run_elsewhere_shows_its_states_here_and_is_verified_only_where_it_ran() {
    let ids = Arc::new(Counter::default());
    let (mut a, mut b) = (console(&ids), console(&ids));
    let mut seq = 0;
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut a, promote(), "a".into(), &mut fx);
    for c in "pg-1".chars() {
        fx.extend(update(&mut a, Action::Text(TextEdit::Char(c)), t(2)));
    }
    fx.extend(update(&mut a, Action::Text(TextEdit::Submit), t(2)));
    assert!(fx.iter().any(|e| matches!(e, Effect::Execute { .. })), "{:?}", kinds(&fx));
    mirror(&mut b, written(&fx, &mut seq, t(2)), t(2));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::Executing));
    let fx = update(&mut a, Action::StepExecuted { step: id, result: Ok("promoted".into()) }, t(3));
    mirror(&mut b, written(&fx, &mut seq, t(3)), t(3));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::Verifying));

    // The postcondition holds: only the console that ran the step verifies and logs it.
    let promoted = || db(vec![node("pg-0", PgRole::Down), node("pg-1", PgRole::Primary)], t(4));
    let fb = update(&mut b, promoted(), t(4));
    assert!(!kinds(&fb).contains(&EntryKind::StepVerified), "{:?}", kinds(&fb));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::Verifying));
    // Nor does it fail it here at the verify deadline.
    let fb = update(&mut b, Action::Tick, t(400));
    assert!(kinds(&fb).is_empty(), "{:?}", kinds(&fb));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::Verifying));
    let fa = update(&mut a, promoted(), t(4));
    assert!(kinds(&fa).contains(&EntryKind::StepVerified), "{:?}", kinds(&fa));
    mirror(&mut b, written(&fa, &mut seq, t(401)), t(401));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::Done));
}

#[test]
fn a_runbook_finished_by_another_console_is_finished_here_without_a_second_entry() {
    let ids = Arc::new(Counter::default());
    let mut b = console(&ids);
    let rb = b.domain.runbooks.get("db-failover").cloned().expect("built-in runbook");
    let listed: Vec<serde_json::Value> = rb
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| json!({ "step": 10 + i as u64, "key": s.id.get_ref(), "title": s.id.get_ref() }))
        .collect();
    let n = listed.len() as u64;
    let entry = |seq: u64, kind: EntryKind, details: serde_json::Value| Entry {
        seq,
        ts: t(seq as i64),
        mono_ms: 0,
        operator: "bob@host".into(),
        summary: kind.to_string(),
        kind,
        details,
        prev: "0".repeat(64),
    };
    let mut fx = update(
        &mut b,
        Action::Mirrored(Box::new(entry(
            2,
            EntryKind::RunbookStarted,
            json!({ "runbook": "db-failover", "steps": listed }),
        ))),
        t(2),
    );
    let run = b.domain.runbook.clone().expect("the run is shown here");
    assert!(run.active() && run.steps.len() == n as usize);
    assert_eq!(b.domain.next_step_id, 10 + n, "ids the other console took are never given here");
    for i in 0..n {
        let skipped = json!({ "step": 10 + i, "reason": "not needed" });
        fx.extend(update(
            &mut b,
            Action::Mirrored(Box::new(entry(3 + i, EntryKind::StepSkipped, skipped))),
            t(3),
        ));
    }
    assert!(!kinds(&fx).contains(&EntryKind::RunbookFinished), "{:?}", kinds(&fx));
    assert!(b.domain.runbook.as_ref().is_some_and(|r| !r.active()), "finished here as well");
    let done =
        entry(50, EntryKind::RunbookFinished, json!({ "runbook": "db-failover", "outcome": "completed" }));
    let fx = update(&mut b, Action::Mirrored(Box::new(done)), t(50));
    assert!(kinds(&fx).is_empty());
    assert_eq!(b.domain.runbook.as_ref().and_then(|r| r.finished.clone()), Some((t(50), "completed".into())));
}

#[test]
fn a_console_that_does_not_record_observations_logs_none() {
    let ids = Arc::new(Counter::default());
    for records in [true, false] {
        let mut s = console(&ids);
        s.domain.records_observations = records;
        let fx = update(
            &mut s,
            db(vec![node("pg-0", PgRole::Primary), node("pg-1", PgRole::Replica)], t(5)),
            t(5),
        );
        let fx2 =
            update(&mut s, db(vec![node("pg-0", PgRole::Down), node("pg-1", PgRole::Replica)], t(6)), t(6));
        let observed =
            kinds(&fx).into_iter().chain(kinds(&fx2)).filter(|k| *k == EntryKind::Observation).count();
        assert_eq!(observed > 0, records, "records_observations = {records}");
        // The panes follow the snapshots either way.
        assert_eq!(
            s.domain.observed.database.value.as_ref().and_then(|d| d.node("pg-0")).map(|n| n.role),
            Some(PgRole::Down)
        );
    }
}

#[test]
fn an_allocator_that_fails_falls_back_to_this_consoles_numbering_with_a_warning() {
    let ids = Arc::new(Counter::default());
    let mut s = console(&ids);
    s.domain.next_step_id = 7;
    s.domain.step_ids = Some(Arc::new(Broken));
    assert_eq!(s.domain.alloc_step_id(), 7);
    assert_eq!(s.domain.next_step_id, 8);
    assert!(s.domain.warnings.iter().any(|w| w.contains("permission denied")), "{:?}", s.domain.warnings);
    // A working allocator never goes below what this console has seen.
    s.domain.step_ids = Some(ids.clone());
    assert_eq!(s.domain.alloc_step_id(), 8);
}

#[test]
fn a_step_this_console_resumed_is_left_to_the_console_that_reports_running_it() {
    let ids = Arc::new(Counter::default());
    let (mut a, mut b) = (console(&ids), console(&ids));
    let mut seq = 0;
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut a, promote(), "a".into(), &mut fx);
    for c in "pg-1".chars() {
        fx.extend(update(&mut a, Action::Text(TextEdit::Char(c)), t(2)));
    }
    fx.extend(update(&mut a, Action::Text(TextEdit::Submit), t(2)));
    // B starts now: it replays the log as a resume (the step's outcome is unknown to it)...
    crate::app::resume::restore(&mut b.domain, &written(&fx, &mut seq, t(2)));
    assert_eq!(b.domain.step(id).map(|x| x.status.clone()), Some(StepStatus::OutcomeUnknown));
    // ...then A reports the result: B shows it verifying and leaves the verification to A.
    let fa = update(&mut a, Action::StepExecuted { step: id, result: Ok("promoted".into()) }, t(3));
    mirror(&mut b, written(&fa, &mut seq, t(3)), t(3));
    assert!(b.domain.step(id).is_some_and(|x| x.remote && x.status == StepStatus::Verifying));
    let promoted = db(vec![node("pg-0", PgRole::Down), node("pg-1", PgRole::Primary)], t(4));
    let fb = update(&mut b, promoted, t(4));
    assert!(!kinds(&fb).contains(&EntryKind::StepVerified), "{:?}", kinds(&fb));
}

/// A drill estate: PostgreSQL nodes, the Service routing to `svc`, a calm Sentinel and traffic.
fn drill_estate(nodes: &[(&str, PgRole)], svc: &str, at: DateTime<Utc>) -> crate::backends::Observed {
    use crate::backends::model::{
        HealthState, KubeView, RegionTraffic, SentinelObs, SentinelView, ServiceView, TrafficView,
    };
    let db = DatabaseView {
        nodes: nodes
            .iter()
            .map(|(n, r)| PgNodeStatus {
                lsn: (*r != PgRole::Down).then_some(100),
                pod: Some(n.to_string()),
                ..node(n, *r)
            })
            .collect(),
    };
    let kube = KubeView {
        db_service: Some(ServiceView {
            context: "us-east-1".into(),
            namespace: "database".into(),
            name: "postgresql".into(),
            selector: Default::default(),
            endpoint_pods: vec![svc.to_string()],
            endpoints: vec![],
        }),
        ..KubeView::default()
    };
    let master = "10.0.1.10:6379".to_string();
    let sentinel = SentinelView {
        master_name: "mymaster".into(),
        sentinels: (0..3)
            .map(|i| SentinelObs {
                addr: format!("10.0.1.2{i}:26379"),
                master: Some(master.clone()),
                error: None,
            })
            .collect(),
        quorum: Some(Ok("OK 3 usable Sentinels".into())),
        master_role: Some("master".into()),
        ..SentinelView::default()
    };
    let traffic = TrafficView {
        record: "api.example.com.".into(),
        regions: vec![RegionTraffic {
            name: "us-east-1".into(),
            role: "primary".into(),
            weight: Some(100),
            failover_role: None,
            health_check: HealthState::Healthy,
            checkers: None,
            live: None,
            ready: None,
            deploy_ready: None,
        }],
        ..TrafficView::default()
    };
    crate::backends::Observed {
        kube: Arc::new(Snapshot::fresh(kube, at)),
        database: Arc::new(Snapshot::fresh(db, at)),
        sentinel: Arc::new(Snapshot::fresh(sentinel, at)),
        traffic: Arc::new(Snapshot::fresh(traffic, at)),
    }
}

#[test]
fn only_the_console_that_records_observations_logs_the_drill_result() {
    let mut logged = Vec::new();
    for records in [true, false] {
        let incident = IncidentInfo {
            id: "INC-20261205-200000-DRILL".into(),
            title: "t".into(),
            severity: "SEV2".into(),
            declared_at: t(0),
            drill: true,
        };
        let mut s = State::new(Mode::Drill, incident, "alice@host".into(), Arc::default(), t(0));
        s.domain.records_observations = records;
        s.domain.recovery = crate::app::measure::Recovery::drill("primary-db-down", Some(t(2)));
        let mut fx = Vec::new();
        let feed = |s: &mut State, o: crate::backends::Observed, at: i64, fx: &mut Vec<Effect>| {
            fx.extend(update(s, Action::Database(o.database), t(at)));
            fx.extend(update(s, Action::Kube(o.kube), t(at)));
            fx.extend(update(s, Action::Sentinel(o.sentinel), t(at)));
            fx.extend(update(s, Action::Traffic(o.traffic), t(at)));
        };
        feed(
            &mut s,
            drill_estate(&[("pg-0", PgRole::Primary), ("pg-1", PgRole::Replica)], "pg-0", t(1)),
            1,
            &mut fx,
        );
        feed(
            &mut s,
            drill_estate(&[("pg-0", PgRole::Down), ("pg-1", PgRole::Replica)], "pg-0", t(3)),
            3,
            &mut fx,
        );
        let mut done = crate::app::StepRun::new(1, promote(), "test".into(), t(4));
        (done.status, done.started_at, done.finished_at) = (StepStatus::Done, Some(t(4)), Some(t(5)));
        s.domain.steps.push(done);
        // Healthy again and held for a minute (whatever settle period the tracker asks for).
        for at in 6..66 {
            feed(
                &mut s,
                drill_estate(&[("pg-0", PgRole::Down), ("pg-1", PgRole::Primary)], "pg-1", t(at)),
                at,
                &mut fx,
            );
            fx.extend(update(&mut s, Action::Tick, t(at)));
        }
        logged.push(kinds(&fx).iter().filter(|k| **k == EntryKind::DrillResult).count());
    }
    assert_eq!(logged, vec![1, 0], "recording console, then a joined one");
}

/// Select checklist item `id` on console `s` and press the tick key.
fn press_tick(s: &mut State, id: &str, at: DateTime<Utc>) -> Vec<Effect> {
    use crate::app::state::PaneId;
    s.view.focus = PaneId::Checklist;
    s.view.selected[PaneId::Checklist.index()] =
        s.domain.checklist.items.iter().position(|i| i.id == id).expect("item");
    update(s, Action::Command(crate::command::Command::ChecklistTick), at)
}

fn typed_text(s: &mut State, text: &str, at: DateTime<Utc>) -> Vec<Effect> {
    let mut fx: Vec<Effect> =
        text.chars().flat_map(|c| update(s, Action::Text(TextEdit::Char(c)), at)).collect();
    fx.extend(update(s, Action::Text(TextEdit::Submit), at));
    fx
}

#[test]
fn ticks_unticks_and_status_updates_of_one_console_show_on_the_other() {
    use crate::incident::checklist::auto::BEGIN_FAILOVER;
    let ids = Arc::new(Counter::default());
    let (mut a, mut b) = (console(&ids), console(&ids));
    let mut seq = 0;
    let done = |s: &State, id: &str| s.domain.checklist.item(id).unwrap().done.clone();
    // A ticks by hand: B shows it ticked, with A's note, and writes nothing.
    press_tick(&mut a, "alert-oncall", t(60));
    let fx = typed_text(&mut a, "paged dba", t(60));
    let fx = mirror(&mut b, written(&fx, &mut seq, t(60)), t(61));
    assert!(kinds(&fx).is_empty(), "{fx:?}");
    assert_eq!(done(&b, "alert-oncall"), Some((t(60), Some("paged dba".into()))));
    assert_eq!(done(&b, "alert-oncall"), done(&a, "alert-oncall"));
    // A's runbook start ticks begin-failover on A (an event; B writes no tick for a mirrored
    // runbook-started, see `notify`): B shows A's tick.
    let line = crate::incident::entry::LogLine {
        seq: 50,
        at: t(90),
        operator: "bob@host".into(),
        kind: EntryKind::RunbookStarted,
        summary: "x".into(),
    };
    let fx = update(&mut a, Action::Logged(line), t(90));
    let to_b = written(&fx, &mut seq, t(90));
    let fx = mirror(&mut b, to_b, t(91));
    assert!(kinds(&fx).is_empty(), "{fx:?}");
    assert_eq!(done(&b, BEGIN_FAILOVER).and_then(|d| d.1).as_deref(), Some("✓ by runbook-started #50"));
    // A unticks it: open on B too.
    press_tick(&mut a, BEGIN_FAILOVER, t(100));
    typed_text(&mut a, "not yet", t(100));
    let fx = update(&mut a, Action::Command(crate::command::Command::ConfirmYes), t(100));
    assert!(done(&a, BEGIN_FAILOVER).is_none());
    mirror(&mut b, written(&fx, &mut seq, t(100)), t(101));
    assert!(done(&b, BEGIN_FAILOVER).is_none());
    // A status update A posted moves B's recurring item and ticks its first-update item.
    let mut fx = Vec::new();
    crate::app::update::post_status_update(&mut a, "all good".into(), &mut fx);
    mirror(&mut b, written(&fx, &mut seq, t(120)), t(121));
    assert_eq!(done(&b, "post-status-update").map(|d| d.0), Some(t(120)));
    assert_eq!(done(&b, "status-updates").map(|d| d.0), Some(t(120)));
    // Both consoles now hold the same checklist; nothing was worth a warning on B.
    let ticked = |s: &State| -> Vec<String> {
        s.domain.checklist.items.iter().filter(|i| i.done.is_some()).map(|i| i.id.clone()).collect()
    };
    assert_eq!(ticked(&a), ticked(&b));
    assert!(b.domain.warnings.is_empty(), "{:?}", b.domain.warnings);
}
