//! Hand-built `State`s for the UI snapshot tests: a calm estate and a primary-database-down
//! estate. Every time is fixed relative to [`T0`] so snapshots are stable.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use warroom::app::state::{IncidentInfo, Proposal};
use warroom::app::{Mode, PaneId, State, StepRun, StepStatus};
use warroom::backends::model::{
    ContextHealth, DatabaseView, DeploymentRow, HealthState, KubeView, PgNodeStatus, PgRole, PodRow, Probe,
    RedisReplica, RegionTraffic, SentinelEvent, SentinelObs, SentinelView, ServiceView, TrafficView,
};
use warroom::backends::{Freshness, Observed, Snapshot};
use warroom::command::Command;
use warroom::config::key::Key;
use warroom::config::keymap::{Binding, KeyLayer};
use warroom::config::model::{ObjectRef, PostgresConfig};
use warroom::config::{Config, Keymap, Theme};
use warroom::incident::checklist::{Checklist, ChecklistItem, Due};
use warroom::incident::entry::LogLine;
use warroom::operation::Operation;
use warroom::ui::UiContext;

/// T+0 of every fixture incident: 2026-11-26 03:00:00 UTC.
pub const T0: i64 = 1_795_662_000;

/// `T0 + secs`.
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0).single().expect("fixed timestamp is valid")
}

/// "Now" in every fixture: T+12:03.
pub fn now() -> DateTime<Utc> {
    t(723)
}

fn bind(layer_keys: &[(&str, Command, &str)]) -> Vec<Binding> {
    layer_keys
        .iter()
        .map(|(k, c, d)| Binding {
            keys: k.split(' ').map(|x| Key(x.to_string())).collect(),
            command: *c,
            desc: (*d).to_string(),
        })
        .collect()
}

/// A small keymap built by hand (the real keymap files land separately).
pub fn keymap() -> Keymap {
    Keymap {
        name: "test".into(),
        layers: vec![
            (
                KeyLayer::Global,
                bind(&[
                    ("q", Command::Quit, "Quit"),
                    ("?", Command::Help, "Show or hide help"),
                    ("tab", Command::FocusNext, "Next pane"),
                    ("shift-tab", Command::FocusPrev, "Previous pane"),
                    ("a", Command::Actions, "Proposed operations"),
                    ("z", Command::Zoom, "Zoom the focused pane"),
                    ("n", Command::Note, "Write a note"),
                    ("g p", Command::FocusPods, "Go to Pods"),
                    ("g d", Command::FocusDatabase, "Go to Database"),
                ]),
            ),
            (
                KeyLayer::Pane,
                bind(&[
                    ("j", Command::ScrollDown, "Down"),
                    ("k", Command::ScrollUp, "Up"),
                    ("ctrl-d", Command::PageDown, "Page down"),
                    ("ctrl-u", Command::PageUp, "Page up"),
                ]),
            ),
            (
                KeyLayer::Steps,
                bind(&[
                    ("enter", Command::StepRun, "Confirm / run the step"),
                    ("r", Command::StepRetry, "Retry a failed step"),
                    ("s", Command::StepSkip, "Skip with a reason"),
                    ("x", Command::StepAbort, "Abort the step"),
                ]),
            ),
            (
                KeyLayer::Checklist,
                bind(&[
                    ("space", Command::ChecklistTick, "Tick the item"),
                    ("j", Command::ScrollDown, "Down"),
                ]),
            ),
            (
                KeyLayer::Actions,
                bind(&[
                    ("j", Command::ScrollDown, "Down"),
                    ("k", Command::ScrollUp, "Up"),
                    ("enter", Command::Select, "Propose this step"),
                    ("esc", Command::Close, "Close"),
                ]),
            ),
            (
                KeyLayer::Confirm,
                bind(&[("y", Command::ConfirmYes, "Confirm"), ("esc", Command::ConfirmNo, "Cancel")]),
            ),
            (
                KeyLayer::Help,
                bind(&[
                    ("j", Command::ScrollDown, "Scroll down"),
                    ("k", Command::ScrollUp, "Scroll up"),
                    ("esc", Command::Close, "Close help"),
                ]),
            ),
        ],
    }
}

/// Theme fallback + the hand-built keymap.
pub fn ctx() -> UiContext {
    UiContext { theme: Theme::fallback(), keymap: keymap() }
}

fn pod(
    ctx: &str,
    ns: &str,
    name: &str,
    ready: u16,
    phase: &str,
    restarts: u32,
    reason: Option<&str>,
) -> PodRow {
    PodRow {
        context: ctx.into(),
        namespace: ns.into(),
        name: name.into(),
        ready,
        containers: 1,
        phase: phase.into(),
        restarts,
        reason: reason.map(String::from),
        started_at: Some(t(-3 * 86_400)),
        node: None,
        labels: BTreeMap::new(),
    }
}

fn deployment(ctx: &str, name: &str, desired: u32, ready: u32) -> DeploymentRow {
    DeploymentRow {
        context: ctx.into(),
        namespace: "default".into(),
        name: name.into(),
        desired,
        ready,
        available: ready,
    }
}

fn pg(name: &str, role: PgRole, lsn: u64, lag: Option<u64>, error: Option<&str>) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "us-east-1".into(),
        role,
        version: Some("16.4".into()),
        timeline: if role == PgRole::Down { None } else { Some(3) },
        lsn: if role == PgRole::Down { None } else { Some(lsn) },
        fork_lsn: None,
        replay_lag_bytes: lag,
        replay_lag_seconds: lag.map(|_| 0.0),
        replication_state: (role == PgRole::Replica).then(|| "streaming".to_string()),
        read_only: false,
        pod: Some(name.into()),
        error: error.map(String::from),
        last_ok: Some(if error.is_some() { t(650) } else { now() }),
    }
}

fn probe(status: u16, ms: u32) -> Option<Probe> {
    Some(Probe { status: Some(status), latency_ms: ms, error: None })
}

fn region(name: &str, role: &str, weight: u8, health: HealthState, deploy: (u32, u32)) -> RegionTraffic {
    let ok = health == HealthState::Healthy;
    RegionTraffic {
        name: name.into(),
        role: role.into(),
        weight: Some(weight),
        failover_role: None,
        health_check: health,
        checkers: Some(if ok { (16, 16) } else { (0, 16) }),
        live: if ok {
            probe(200, 12)
        } else {
            Some(Probe { status: None, latency_ms: 2000, error: Some("timeout".into()) })
        },
        ready: if ok { probe(200, 18) } else { probe(503, 40) },
        deploy_ready: Some(deploy),
    }
}

fn kube_calm() -> KubeView {
    let mut pods = vec![
        pod("us-east-1", "database", "postgresql-0", 1, "Running", 0, None),
        pod("us-east-1", "database", "postgresql-1", 1, "Running", 0, None),
        pod("us-east-1", "default", "api-7d9f8b-2kq4x", 1, "Running", 0, None),
        pod("us-east-1", "default", "api-7d9f8b-8hz2m", 1, "Running", 1, None),
        pod("us-east-1", "default", "worker-5c6d-x9p2l", 1, "Running", 0, None),
        pod("us-west-2", "default", "api-6b8c7d-4mn8k", 1, "Running", 0, None),
        pod("us-west-2", "default", "worker-7f8e-q2w3e", 1, "Running", 0, None),
    ];
    pods.sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
    KubeView {
        pods: pods.into(),
        deployments: vec![
            deployment("us-east-1", "api", 2, 2),
            deployment("us-east-1", "worker", 1, 1),
            deployment("us-west-2", "api", 1, 1),
            deployment("us-west-2", "worker", 1, 1),
        ],
        db_service: Some(ServiceView {
            context: "us-east-1".into(),
            namespace: "database".into(),
            name: "postgresql".into(),
            selector: BTreeMap::from([("role".into(), "primary".into())]),
            endpoint_pods: vec!["postgresql-0".into()],
            endpoints: vec![],
        }),
        contexts: vec![
            ContextHealth { context: "us-east-1".into(), error: None, last_ok: Some(now()) },
            ContextHealth { context: "us-west-2".into(), error: None, last_ok: Some(now()) },
        ],
    }
}

fn sentinel_calm() -> SentinelView {
    let master = "10.0.1.10:6379";
    SentinelView {
        master_name: "mymaster".into(),
        sentinels: ["10.0.1.20:26379", "10.0.1.21:26379", "10.0.1.22:26379"]
            .iter()
            .map(|a| SentinelObs { addr: (*a).into(), master: Some(master.into()), error: None })
            .collect(),
        quorum: Some(Ok("OK 3 usable Sentinels. Quorum and failover authorization can be reached".into())),
        replicas: vec![
            RedisReplica {
                addr: "10.0.1.11:6379".into(),
                flags: "slave".into(),
                link_up: true,
                offset_lag: Some(0),
            },
            RedisReplica {
                addr: "10.0.1.12:6379".into(),
                flags: "slave".into(),
                link_up: true,
                offset_lag: Some(120),
            },
        ],
        master_role: Some("master".into()),
        events: vec![SentinelEvent {
            at: t(-3600),
            sentinel: "10.0.1.20:26379".into(),
            kind: "+reset-master".into(),
            detail: "master mymaster 10.0.1.10 6379".into(),
        }],
        failover_in_progress: false,
    }
}

fn traffic_calm() -> TrafficView {
    TrafficView {
        record: "api.example.com.".into(),
        ttl: Some(60),
        regions: vec![
            region("us-east-1", "primary", 100, HealthState::Healthy, (2, 2)),
            region("us-west-2", "secondary", 0, HealthState::Healthy, (1, 1)),
            region("eu-central-1", "tertiary", 0, HealthState::Healthy, (1, 1)),
        ],
        control_plane_error: None,
    }
}

fn checklist(all_immediate_done: bool) -> Checklist {
    let item = |id: &str, phase: &str, text: &str, due: Due, done: Option<i64>| ChecklistItem {
        id: id.into(),
        phase: phase.into(),
        text: text.into(),
        due,
        done: done.map(|s| (t(s), None)),
    };
    let imm = "Immediate (0-5 min)";
    let short = "Short-term (5-15 min)";
    let ongoing = "Ongoing (15+ min)";
    Checklist {
        items: vec![
            item("alert-oncall", imm, "Alert on-call team", Due::By(Duration::minutes(5)), Some(60)),
            item("start-log", imm, "Start incident log", Due::By(Duration::minutes(5)), Some(0)),
            item(
                "begin-failover",
                imm,
                "Begin failover procedure",
                Due::By(Duration::minutes(5)),
                all_immediate_done.then_some(200),
            ),
            item("notify", short, "Notify stakeholders", Due::By(Duration::minutes(15)), None),
            item("status-page", short, "Post status update", Due::By(Duration::minutes(15)), None),
            item(
                "updates",
                ongoing,
                "Regular status updates",
                Due::Every { first: Duration::minutes(15), every: Duration::minutes(30) },
                None,
            ),
            item("post-mortem", "After failover", "Schedule the post-mortem", Due::Unscheduled, None),
        ],
    }
}

fn log(drill: bool) -> VecDeque<LogLine> {
    let line = |seq: u64, s: i64, kind: &str, summary: &str| LogLine {
        seq,
        at: t(s),
        operator: "alice@bastion-1".into(),
        kind: kind.into(),
        summary: summary.into(),
    };
    let mut v = VecDeque::from(vec![
        line(1, 0, "declared", "SEV1 declared"),
        line(2, 60, "checklist", "Alert on-call team: done"),
        line(3, 200, "step-verified", "#1 postgresql-0 is the writable primary"),
    ]);
    if drill {
        v.push_back(line(4, 600, "observation", "postgresql-0 unreachable: connection refused"));
        v.push_back(line(
            5,
            700,
            "step-failed",
            "#3 precheck failed: postgresql-1 is replica, not a writable primary",
        ));
    }
    v
}

fn base(mode: Mode, title: &str, config: Config) -> State {
    let incident = IncidentInfo {
        id: "INC-20261126-0300".into(),
        title: title.into(),
        severity: "SEV1".into(),
        declared_at: t(0),
        drill: mode == Mode::Drill,
    };
    State::new(mode, incident, "alice@bastion-1".into(), Arc::new(config), now())
}

fn step(id: u64, op: Operation, why: &str, status: StepStatus, obs: &Observed, created: i64) -> StepRun {
    let checks = op.precheck(obs);
    let mut s = StepRun::new(id, op, why.into(), t(created));
    s.checks = checks;
    s.status = status;
    if s.status == StepStatus::Done {
        s.started_at = Some(t(created + 5));
        s.finished_at = Some(t(created + 7));
        s.attempts = 1;
    }
    s
}

/// Everything healthy: one primary, agreeing Sentinels, all traffic in us-east-1.
pub fn calm() -> State {
    let mut st = base(Mode::Live, "Elevated API error rate in us-east-1 (investigating)", Config::default());
    st.domain.observed = Observed {
        kube: Arc::new(Snapshot::fresh(kube_calm(), t(720))),
        database: Arc::new(Snapshot::fresh(
            DatabaseView {
                nodes: vec![
                    pg("postgresql-0", PgRole::Primary, 0x3_0000_0060, None, None),
                    pg("postgresql-1", PgRole::Replica, 0x3_0000_0060, Some(0), None),
                ],
            },
            t(721),
        )),
        sentinel: Arc::new(Snapshot::fresh(sentinel_calm(), t(722))),
        traffic: Arc::new(Snapshot::fresh(traffic_calm(), t(718))),
    };
    warroom::app::measure::refresh_verdict(&mut st.domain);
    let obs = st.domain.observed.clone();
    st.domain.steps = vec![step(
        1,
        Operation::CheckPrimary,
        "first step of the database runbook",
        StepStatus::Done,
        &obs,
        190,
    )];
    st.domain.steps[0].output.push("postgresql-0 is the writable primary".into());
    st.domain.checklist = checklist(true);
    st.domain.log_tail = log(false);
    st
}

/// A low-risk step (scale a deployment) waiting for confirmation in the calm estate.
pub fn calm_with_low_risk_confirm() -> State {
    let mut st = calm();
    let obs = st.domain.observed.clone();
    let op = Operation::ScaleDeployment {
        context: "us-west-2".into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 10,
    };
    st.domain.steps.push(step(
        2,
        op,
        "pre-scale the secondary region",
        StepStatus::AwaitingConfirm,
        &obs,
        700,
    ));
    st.view.modal = Some(warroom::app::Modal::Confirm { step: 2, typed: String::new() });
    st
}

/// Primary down (drill): postgresql-0 DOWN, pods crash-looping, Kubernetes data stale, Sentinel
/// failed, Route 53 breaker open, a step with a failed precheck, a warning and a flash.
pub fn primary_down() -> State {
    let config = Config {
        postgres: Some(PostgresConfig {
            max_lag_bytes: 0,
            service: Some(ObjectRef {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
            }),
            nodes: Vec::new(),
        }),
        ..Config::default()
    };
    let mut st = base(Mode::Drill, "Primary database down: API returning 500s in us-east-1", config);

    let mut kube = kube_calm();
    for p in std::sync::Arc::make_mut(&mut kube.pods) {
        if p.name == "postgresql-0" {
            *p = pod("us-east-1", "database", "postgresql-0", 0, "Running", 7, Some("CrashLoopBackOff"));
        } else if p.name.starts_with("api-7d9f8b") {
            p.ready = 0;
            p.restarts = 4;
            p.reason = Some("CrashLoopBackOff".into());
        }
    }
    if let Some(s) = kube.db_service.as_mut() {
        s.endpoint_pods.clear();
    }
    kube.contexts[0].error =
        Some("watch failed: Get \"https://10.0.0.1:6443/api/v1/pods\": dial tcp: i/o timeout".into());
    kube.contexts[0].last_ok = Some(t(683));
    let kube_snap = Snapshot {
        value: Some(kube),
        fetched_at: Some(t(683)),
        freshness: Freshness::Stale { since: t(690), error: "us-east-1: i/o timeout".into() },
    };

    let db = DatabaseView {
        nodes: vec![
            pg("postgresql-0", PgRole::Down, 0, None, Some("connection refused (10.0.1.30:5432)")),
            pg("postgresql-1", PgRole::Replica, 0x3_0000_0060, Some(0), None),
        ],
    };
    let sentinel: Snapshot<SentinelView> = Snapshot {
        value: None,
        fetched_at: None,
        freshness: Freshness::Failed { error: "all 3 Sentinels unreachable: connection refused".into() },
    };
    let mut traffic = traffic_calm();
    traffic.regions[0] = region("us-east-1", "primary", 100, HealthState::Unhealthy, (0, 2));
    traffic.control_plane_error = Some("route53.amazonaws.com: connection timed out".into());
    let traffic_snap = Snapshot {
        value: Some(traffic),
        fetched_at: Some(t(603)),
        freshness: Freshness::BreakerOpen {
            retry_at: t(743),
            error: "ListResourceRecordSets: timeout".into(),
        },
    };
    st.domain.observed = Observed {
        kube: Arc::new(kube_snap),
        database: Arc::new(Snapshot::fresh(db, t(721))),
        sentinel: Arc::new(sentinel),
        traffic: Arc::new(traffic_snap),
    };
    warroom::app::measure::refresh_verdict(&mut st.domain);

    let obs = st.domain.observed.clone();
    let promote = Operation::PromotePostgres {
        node: "postgresql-1".into(),
        endpoint: "10.0.1.31:5432".into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    let repoint = Operation::PatchServiceSelector {
        context: "us-east-1".into(),
        namespace: "database".into(),
        service: "postgresql".into(),
        pod: "postgresql-1".into(),
    };
    let mut first =
        step(1, Operation::CheckPrimary, "first step of the database runbook", StepStatus::Done, &obs, 190);
    first.output.push("no single writable primary: postgresql-0 is down".into());
    let second = step(
        2,
        promote,
        "reachable replica with the least lag (0 B) on timeline 3",
        StepStatus::Prechecked,
        &obs,
        640,
    );
    let mut third =
        step(3, repoint, "Service postgresql has no ready endpoint", StepStatus::Proposed, &obs, 650);
    let reason = third.failed_check().map(|c| c.detail.clone()).unwrap_or_default();
    third.status = StepStatus::Failed { stage: warroom::app::step::Stage::Precheck, reason };
    third.finished_at = Some(t(700));
    st.domain.steps = vec![first, second, third];
    st.view.selected[PaneId::Steps.index()] = 2;
    st.domain.checklist = checklist(false);
    st.domain.log_tail = log(true);
    st.domain.warnings = vec![
        "keymap /home/alice/.config/warroom/keymaps/custom.toml line 3, column 7: expected a string for `run`; using presets"
            .into(),
    ];
    st.view.flash = Some(("step #3: precheck failed".into(), t(700)));
    st
}

/// The proposals the actions menu shows in the primary-down estate.
pub fn proposals() -> Vec<Proposal> {
    vec![
        Proposal {
            op: Operation::PromotePostgres {
                node: "postgresql-1".into(),
                endpoint: "10.0.1.31:5432".into(),
                max_lag_bytes: 0,
                accept_data_loss: None,
            },
            why: "postgresql-0 is DOWN; postgresql-1 is the reachable replica with the least lag (0 B)"
                .into(),
            blocked: None,
        },
        Proposal {
            op: Operation::CheckPrimary,
            why: "confirm which node accepts writes".into(),
            blocked: None,
        },
        Proposal {
            op: Operation::ScaleDeployment {
                context: "us-west-2".into(),
                namespace: "default".into(),
                deployment: "api".into(),
                replicas: 10,
            },
            why: "us-east-1 health check is unhealthy: pre-scale the secondary region".into(),
            blocked: None,
        },
    ]
}

/// `n` pods in two contexts, every 97th crash-looping (the UI snapshots and the Pods
/// pane bench draw them).
pub fn many_pods(n: usize) -> KubeView {
    let pods = (0..n)
        .map(|i| PodRow {
            context: if i % 2 == 0 { "us-east-1".into() } else { "us-west-2".into() },
            namespace: "default".into(),
            name: format!("api-{i:05}"),
            ready: u16::from(i % 97 != 0),
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: (i % 97 == 0).then(|| "CrashLoopBackOff".to_string()),
            started_at: Some(t(-60)),
            node: None,
            labels: BTreeMap::new(),
        })
        .collect::<Vec<_>>();
    KubeView { pods: pods.into(), ..KubeView::default() }
}

/// The calm console with 15 minutes of trends behind it: postgresql-1's lag climbs to 6 MiB and
/// recovers, the database source was stale for five minutes (a gap), us-east-1 failed its health
/// check for three minutes while traffic moved half to us-west-2 and back.
#[allow(dead_code)]
pub fn calm_with_trends() -> State {
    let mut st = calm();
    for i in (-900_i64..=0).step_by(10) {
        let at = now() + chrono::Duration::seconds(i);
        let m = (i + 900) / 60; // minutes into the window
        let lag = match m {
            0..=3 => 1024,
            4..=7 => (m as u64 - 3) * 1536 * 1024,
            _ => 2048,
        };
        let db = DatabaseView {
            nodes: vec![
                pg("postgresql-0", PgRole::Primary, 0x3_0000_0060, None, None),
                pg("postgresql-1", PgRole::Replica, 0x3_0000_0060, Some(lag), None),
            ],
        };
        let mut traffic = traffic_calm();
        if (5..8).contains(&m) {
            traffic.regions[0].health_check = HealthState::Unhealthy;
            traffic.regions[0].weight = Some(50);
            traffic.regions[1].weight = Some(50);
        }
        let observed = Observed {
            database: Arc::new(if (9..14).contains(&m) {
                Snapshot {
                    freshness: warroom::backends::Freshness::Stale { since: at, error: "timeout".into() },
                    ..Snapshot::fresh(db, at)
                }
            } else {
                Snapshot::fresh(db, at)
            }),
            traffic: Arc::new(Snapshot::fresh(traffic, at)),
            ..st.domain.observed.clone()
        };
        st.domain.trends.sample(&observed);
    }
    st
}
