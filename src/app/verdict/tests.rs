//! The verdict, state by state.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::backends::model::{
    ContextHealth, DeploymentRow, PgNodeStatus, PodRow, RedisReplica, RegionTraffic, SentinelObs, ServiceView,
};
use crate::config::model::{PostgresConfig, RegionConfig};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn node(name: &str, region: &str, role: PgRole) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: region.into(),
        role,
        timeline: Some(1),
        lsn: Some(1000),
        replay_lag_bytes: (role == PgRole::Replica).then_some(10),
        replication_state: (role == PgRole::Replica).then(|| "streaming".into()),
        pod: Some(name.into()),
        error: (role == PgRole::Down).then(|| "connection refused".into()),
        ..PgNodeStatus::default()
    }
}

fn pod(ctx: &str, name: &str, ready: bool, reason: Option<&str>) -> PodRow {
    PodRow {
        context: ctx.into(),
        namespace: "default".into(),
        name: name.into(),
        ready: u16::from(ready),
        containers: 1,
        phase: "Running".into(),
        restarts: if reason.is_some() { 7 } else { 0 },
        reason: reason.map(str::to_string),
        started_at: None,
        node: None,
        labels: BTreeMap::new(),
    }
}

fn deployment(ctx: &str, name: &str, ready: u32, desired: u32) -> DeploymentRow {
    DeploymentRow {
        context: ctx.into(),
        namespace: "default".into(),
        name: name.into(),
        desired,
        ready,
        available: ready,
    }
}

fn region(name: &str, weight: u8, role: &str, hc: HealthState) -> RegionTraffic {
    RegionTraffic {
        name: name.into(),
        role: role.into(),
        weight: Some(weight),
        failover_role: None,
        health_check: hc,
        checkers: None,
        live: Some(Probe { status: Some(200), latency_ms: 10, error: None }),
        ready: Some(Probe { status: Some(200), latency_ms: 10, error: None }),
        deploy_ready: None,
    }
}

fn config() -> Config {
    let region = |name: &str, role: &str| RegionConfig {
        name: name.into(),
        role: role.into(),
        kube_context: Some(name.into()),
        deployments: vec!["api".into()],
        ..RegionConfig::default()
    };
    Config {
        regions: vec![region("us-east-1", "primary"), region("us-west-2", "secondary")],
        postgres: Some(PostgresConfig { max_lag_bytes: 1_000_000, service: None, nodes: Vec::new() }),
        ..Config::default()
    }
}

/// A healthy two-region estate: pg-0 primary in us-east-1 behind the Service, pg-1 and pg-2
/// replicas, 3 Sentinels agreeing, api 3/3 in us-east-1 and 2/2 in us-west-2, weights 100/0.
struct Estate {
    db: DatabaseView,
    kube: KubeView,
    redis: SentinelView,
    traffic: TrafficView,
}

impl Estate {
    fn healthy() -> Estate {
        let db = DatabaseView {
            nodes: vec![
                node("pg-0", "us-east-1", PgRole::Primary),
                node("pg-1", "us-east-1", PgRole::Replica),
                node("pg-2", "us-west-2", PgRole::Replica),
            ],
        };
        let pods = vec![
            pod("us-east-1", "api-1", true, None),
            pod("us-east-1", "api-2", true, None),
            pod("us-east-1", "api-3", true, None),
            pod("us-west-2", "api-4", true, None),
            pod("us-west-2", "api-5", true, None),
        ];
        let kube = KubeView {
            pods: Arc::new(pods),
            deployments: vec![deployment("us-east-1", "api", 3, 3), deployment("us-west-2", "api", 2, 2)],
            db_service: Some(ServiceView {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
                selector: BTreeMap::new(),
                endpoint_pods: vec!["pg-0".into()],
                endpoints: vec![],
            }),
            contexts: vec![ContextHealth { context: "us-east-1".into(), error: None, last_ok: None }],
        };
        let redis = SentinelView {
            master_name: "mymaster".into(),
            sentinels: (0..3)
                .map(|i| SentinelObs {
                    addr: format!("s{i}:26379"),
                    master: Some("r0:6379".into()),
                    error: None,
                })
                .collect(),
            quorum: Some(Ok("OK 3 usable Sentinels".into())),
            replicas: vec![RedisReplica {
                addr: "r1:6379".into(),
                flags: "slave".into(),
                link_up: true,
                offset_lag: Some(0),
            }],
            master_role: Some("master".into()),
            ..SentinelView::default()
        };
        let traffic = TrafficView {
            record: "api.example.com.".into(),
            regions: vec![
                region("us-east-1", 100, "primary", HealthState::Healthy),
                region("us-west-2", 0, "secondary", HealthState::Healthy),
            ],
            ..TrafficView::default()
        };
        Estate { db, kube, redis, traffic }
    }

    fn observed(&self) -> Observed {
        Observed {
            kube: Arc::new(Snapshot::fresh(self.kube.clone(), t0())),
            database: Arc::new(Snapshot::fresh(self.db.clone(), t0())),
            sentinel: Arc::new(Snapshot::fresh(self.redis.clone(), t0())),
            traffic: Arc::new(Snapshot::fresh(self.traffic.clone(), t0())),
        }
    }

    fn verdict(&self) -> Verdict {
        verdict_of(&self.observed(), &config())
    }

    fn node(&mut self, name: &str) -> &mut PgNodeStatus {
        self.db.nodes.iter_mut().find(|n| n.name == name).unwrap()
    }
}

#[test]
fn a_healthy_estate_is_healthy_and_restored() {
    let v = Estate::healthy().verdict();
    assert_eq!(v, Verdict { level: Level::Healthy, reasons: vec![], expected_down: vec![], restored: true });
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["level"], "healthy");
}

#[test]
fn no_writable_primary_and_split_brain_are_failing() {
    let mut e = Estate::healthy();
    *e.node("pg-0") = node("pg-0", "us-east-1", PgRole::Down);
    let v = e.verdict();
    assert_eq!(v.level, Level::Failing);
    assert_eq!(v.first_reason(), Some("database: no writable primary"));
    assert!(v.reasons.contains(&"database: pg-0 is down: connection refused".to_string()), "{v:?}");
    assert!(!v.restored);

    let mut e = Estate::healthy();
    e.node("pg-1").role = PgRole::Primary;
    let v = e.verdict();
    assert_eq!((v.level, v.first_reason()), (Level::Failing, Some("database: split brain (pg-0, pg-1)")));
    assert!(!v.restored);
}

#[test]
fn the_service_must_route_to_the_primary() {
    let mut e = Estate::healthy();
    e.kube.db_service.as_mut().unwrap().endpoint_pods.clear();
    let v = e.verdict();
    assert_eq!(v.reasons, ["database: Service postgresql has no ready endpoint"]);
    assert_eq!(v.level, Level::Failing);
    e.kube.db_service.as_mut().unwrap().endpoint_pods = vec!["pg-1".into()];
    assert_eq!(e.verdict().reasons, ["database: Service postgresql routes to pg-1, not to the primary pg-0"]);
}

/// A Service whose only traffic goes to a terminating primary (no endpoint ready) is failing,
/// though it routes to the primary; a terminating or not-ready pod beside a ready primary is not.
#[test]
fn a_service_draining_to_a_terminating_primary_is_failing() {
    use crate::backends::model::{EndpointState, ServiceEndpoint};
    let ep = |pod: &str, state, traffic| ServiceEndpoint { pod: pod.into(), state, traffic };
    let mut e = Estate::healthy();
    let svc = e.kube.db_service.as_mut().unwrap();
    svc.endpoints = vec![ep("pg-0", EndpointState::ServingTerminating, true)];
    let v = e.verdict();
    assert_eq!(v.level, Level::Failing);
    assert_eq!(
        v.reasons,
        ["database: Service postgresql has no ready endpoint; pg-0 gets traffic only while terminating"]
    );
    let svc = e.kube.db_service.as_mut().unwrap();
    svc.endpoints = vec![
        ep("pg-0", EndpointState::Ready, true),
        ep("pg-1", EndpointState::ServingTerminating, false),
        ep("pg-2", EndpointState::NotReady, false),
    ];
    assert_eq!(e.verdict().level, Level::Healthy, "{:?}", e.verdict().reasons);
}

#[test]
fn a_lost_or_lagging_replica_or_a_fenced_node_is_degraded_but_restored() {
    let mut e = Estate::healthy();
    *e.node("pg-2") = node("pg-2", "us-west-2", PgRole::Down);
    let v = e.verdict();
    assert_eq!(v.level, Level::Degraded);
    assert_eq!(v.reasons, ["database: pg-2 is down: connection refused"]);
    assert!(v.restored, "a lost replica does not affect users");

    let mut e = Estate::healthy();
    e.node("pg-1").replay_lag_bytes = Some(2_000_000);
    assert_eq!(e.verdict().reasons, ["database: pg-1 replay lag 2000000 B is over the limit 1000000 B"]);
    e.node("pg-1").replay_lag_bytes = Some(1_000_000);
    assert_eq!(e.verdict().level, Level::Healthy, "at the limit is fine");

    let mut e = Estate::healthy();
    e.node("pg-1").replication_state = Some("diverged: timeline 2 forked at 0/5 (needs pg_rewind)".into());
    assert_eq!(e.verdict().level, Level::Degraded);
    assert!(e.verdict().reasons[0].starts_with("database: pg-1 replica is not streaming: diverged"));

    let mut e = Estate::healthy();
    *e.node("pg-1") = PgNodeStatus { read_only: true, ..node("pg-1", "us-east-1", PgRole::Primary) };
    let v = e.verdict();
    assert_eq!(
        v.reasons,
        ["database: pg-1 is fenced (read-only primary on timeline 1): rebuild it as a replica"]
    );
    assert_eq!((v.level, v.restored), (Level::Degraded, true));
}

#[test]
fn sentinel_findings() {
    let mut e = Estate::healthy();
    for s in &mut e.redis.sentinels[1..] {
        s.master = None;
        s.error = Some("connection refused".into());
    }
    let v = e.verdict();
    assert_eq!(v.level, Level::Degraded);
    assert_eq!(
        v.reasons,
        ["redis: 1 of 3 Sentinels reachable (s1:26379: connection refused; s2:26379: connection refused)"]
    );
    e.redis.quorum = Some(Err("NOQUORUM 1 usable Sentinels".into()));
    assert!(e.verdict().reasons.contains(&"redis: quorum check failed: NOQUORUM 1 usable Sentinels".into()));

    let mut e = Estate::healthy();
    e.redis.sentinels[2].master = Some("r1:6379".into());
    assert_eq!(e.verdict().reasons, ["redis: Sentinels disagree on the master"]);
    let mut e = Estate::healthy();
    e.redis.master_role = Some("slave".into());
    assert_eq!(e.verdict().reasons, ["redis: the master answers as slave"]);
    let mut e = Estate::healthy();
    e.redis.master_role = None;
    e.redis.failover_in_progress = true;
    assert_eq!(e.verdict().reasons, ["redis: the master does not answer", "redis: failover in progress"]);
    let mut e = Estate::healthy();
    e.redis.replicas[0].link_up = false;
    e.redis.replicas[0].flags = "slave,s_down,disconnected".into();
    assert_eq!(e.verdict().reasons, ["redis: replica r1:6379 down or unlinked"]);
    assert_eq!(e.verdict().level, Level::Degraded);
}

#[test]
fn crash_looping_pods_degrade_and_a_deployment_without_ready_pods_fails() {
    let mut e = Estate::healthy();
    let mut pods = (*e.kube.pods).clone();
    pods[1] = pod("us-east-1", "api-2", false, Some("CrashLoopBackOff"));
    e.kube.pods = Arc::new(pods);
    e.kube.deployments[0].ready = 2;
    let v = e.verdict();
    assert_eq!(v.level, Level::Degraded);
    assert_eq!(
        v.reasons,
        [
            "kubernetes: Deployment default/api in us-east-1: 2/3 ready; api-2 0/1 CrashLoopBackOff (7 restarts)"
        ]
    );
    assert!(!v.restored, "lost capacity in the serving region blocks mitigation");

    e.kube.deployments[0].ready = 0;
    let v = e.verdict();
    assert_eq!(v.level, Level::Failing);
    assert!(
        v.reasons[0].starts_with("kubernetes: Deployment default/api in us-east-1 has no ready pod (0/3)")
    );

    // The same in the standby region only costs redundancy.
    let mut e = Estate::healthy();
    e.kube.deployments[1].ready = 0;
    let v = e.verdict();
    assert_eq!((v.level, v.restored), (Level::Degraded, true));
    assert_eq!(v.reasons, ["kubernetes: Deployment default/api in us-west-2 has no ready pod (0/2)"]);
}

#[test]
fn serving_region_health_and_probes_fail_standby_health_degrades() {
    let mut e = Estate::healthy();
    e.traffic.regions[0].health_check = HealthState::Unhealthy;
    e.traffic.regions[0].ready =
        Some(Probe { status: Some(503), latency_ms: 5, error: Some("503: pool".into()) });
    assert_eq!(
        e.verdict().reasons,
        [
            "traffic: us-east-1 serves traffic but its health check is unhealthy",
            "traffic: us-east-1 serves traffic but /health/ready fails: 503: pool"
        ]
    );
    let mut e = Estate::healthy();
    e.traffic.regions[1].health_check = HealthState::Unhealthy;
    assert_eq!(e.verdict().reasons, ["traffic: standby region us-west-2 has an unhealthy health check"]);
    assert_eq!(e.verdict().level, Level::Degraded);
    let mut e = Estate::healthy();
    e.traffic.regions[0].weight = Some(0);
    assert_eq!(e.verdict().reasons, ["traffic: no region receives traffic (every weight is 0)"]);
}

#[test]
fn a_standby_region_whose_probes_fail_costs_redundancy() {
    let mut e = Estate::healthy();
    e.traffic.regions[1].live =
        Some(Probe { status: None, latency_ms: 2000, error: Some("timed out".into()) });
    assert_eq!(e.verdict().reasons, ["traffic: standby region us-west-2 /health/live fails: timed out"]);
    assert_eq!((e.verdict().level, e.verdict().restored), (Level::Degraded, true));
    let mut e = Estate::healthy();
    e.traffic.regions[1].ready = Some(Probe { status: Some(503), latency_ms: 5, error: None });
    assert_eq!(e.verdict().reasons, ["traffic: standby region us-west-2 /health/ready fails: HTTP 503"]);
    assert_eq!(e.verdict().level, Level::Degraded);
}

#[test]
fn without_weights_or_a_primary_role_every_region_is_judged_as_serving() {
    // One region, role left at its default (secondary), no Route 53: who serves is unknown, so a
    // failing health endpoint is users' pain, not "healthy".
    let mut e = Estate::healthy();
    for r in &mut e.traffic.regions {
        r.weight = None;
        r.role = "secondary".into();
    }
    assert_eq!(e.verdict().level, Level::Healthy, "{:?}", e.verdict().reasons);
    e.traffic.regions[0].live = Some(Probe { status: None, latency_ms: 2000, error: Some("refused".into()) });
    let v = e.verdict();
    assert_eq!(v.level, Level::Failing, "{v:?}");
    assert_eq!(v.reasons, ["traffic: us-east-1 /health/live fails: refused"]);
}

#[test]
fn after_a_region_failover_the_lost_region_is_expected_down() {
    let mut e = Estate::healthy();
    // us-east-1 lost: its nodes down, its pods not ready, its Service without endpoints.
    *e.node("pg-0") = node("pg-0", "us-east-1", PgRole::Down);
    *e.node("pg-1") = node("pg-1", "us-east-1", PgRole::Down);
    e.kube.deployments[0].ready = 0;
    let lost = |p: &PodRow| PodRow { ready: if p.context == "us-east-1" { 0 } else { p.ready }, ..p.clone() };
    e.kube.pods = Arc::new((*e.kube.pods).iter().map(lost).collect());
    e.kube.db_service.as_mut().unwrap().endpoint_pods.clear();
    e.traffic.regions[0].health_check = HealthState::Unhealthy;
    e.traffic.regions[0].live =
        Some(Probe { status: None, latency_ms: 2000, error: Some("timed out".into()) });
    assert_eq!(e.verdict().level, Level::Failing);
    // Failover: pg-2 promoted, weights 0/100, us-west-2 scaled.
    e.node("pg-2").role = PgRole::Primary;
    e.traffic.regions[0].weight = Some(0);
    e.traffic.regions[1].weight = Some(100);
    let v = e.verdict();
    assert_eq!(v.level, Level::Healthy, "{v:#?}");
    assert!(v.restored);
    assert_eq!(
        v.expected_down,
        [
            "region us-east-1: drained (Route 53 weight 0, traffic moved to us-west-2)",
            "us-east-1: health check unhealthy, probes failing",
            "Service postgresql in us-east-1: in the drained region",
            "pg-0 is down: connection refused (drained region us-east-1)",
            "pg-1 is down: connection refused (drained region us-east-1)",
            "Deployment default/api in us-east-1: 0/3 ready (drained region)",
        ]
    );
    // The standby region at weight 0 in normal operation is not drained: it is not the primary.
    let mut e = Estate::healthy();
    e.kube.deployments[1].ready = 1;
    assert!(e.verdict().expected_down.is_empty());
    assert_eq!(e.verdict().level, Level::Degraded);
}

#[test]
fn a_layer_without_fresh_data_is_unknown() {
    let e = Estate::healthy();
    let mut o = e.observed();
    o.sentinel = Arc::new(Snapshot {
        value: Some(e.redis.clone()),
        fetched_at: Some(t0()),
        freshness: Freshness::Stale { since: t0(), error: "timeout after 2 s".into() },
    });
    let v = verdict_of(&o, &config());
    assert_eq!((v.level, v.restored), (Level::Unknown, false));
    assert_eq!(v.reasons, ["redis: no fresh data (stale: timeout after 2 s)"]);
    // A failing layer still says failing.
    let mut e2 = Estate::healthy();
    e2.db.nodes[0].role = PgRole::Down;
    o.database = Arc::new(Snapshot::fresh(e2.db, t0()));
    assert_eq!(verdict_of(&o, &config()).level, Level::Failing);
    assert_eq!(verdict_of(&Observed::default(), &config()).level, Level::Unknown);
    let nothing = Observed {
        kube: Arc::new(Snapshot::not_configured()),
        database: Arc::new(Snapshot::not_configured()),
        sentinel: Arc::new(Snapshot::not_configured()),
        traffic: Arc::new(Snapshot::not_configured()),
    };
    assert_eq!(verdict_of(&nothing, &config()).reasons, ["no layer is configured"]);
}

#[test]
fn backend_text_in_reasons_is_sanitized() {
    let mut e = Estate::healthy();
    let n = e.node("pg-2");
    n.role = PgRole::Down;
    n.error = Some("refused \u{1b}]52;c;ZXZpbA==\u{7}postgres://u:hunter2@h/db".into());
    let v = e.verdict();
    assert!(!v.reasons[0].contains('\u{1b}') && !v.reasons[0].contains("hunter2"), "{:?}", v.reasons);
}
