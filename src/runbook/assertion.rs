//! How an [`Assertion`] (read-only checks a runbook step makes against what the panes show,
//! "the primary is down", "traffic is on us-west-2") is evaluated. An assertion step executes
//! nothing: its postcondition is the assertion, evaluated on every snapshot until it holds or
//! its verify deadline passes (then the runbook stops, as after any failed verify).

use crate::backends::gate::region_gate_problem;
use crate::backends::model::PgRole;
use crate::backends::{Freshness, Observed};
use crate::operation::assertion::Assertion;
use crate::operation::{Check, Verify};
use crate::text::grammar::each_verb;

impl Assertion {
    /// One-line title.
    pub fn title(&self) -> String {
        match self {
            Assertion::PrimaryDown => "Confirm the PostgreSQL primary is down".into(),
            Assertion::SentinelHealthy => "Check Sentinel status and quorum".into(),
            Assertion::SentinelAgreed => "Verify every Sentinel agrees on the master".into(),
            Assertion::RegionDown { region } => format!("Confirm {region} is failing"),
            Assertion::RegionHealthy { region } => format!("Verify {region} is healthy"),
            Assertion::TrafficOn { region } => format!("Verify traffic is on {region}"),
            Assertion::ReplicationHealthy { .. } => "Verify data replication (PostgreSQL and Redis)".into(),
            Assertion::NodeIsReplica { node } => format!("Verify {node} is a streaming replica"),
        }
    }

    /// What is read, for the preview.
    pub fn reads(&self) -> &'static str {
        match self {
            Assertion::PrimaryDown | Assertion::NodeIsReplica { .. } => {
                "the Database pane (every PostgreSQL node)"
            }
            Assertion::SentinelHealthy | Assertion::SentinelAgreed => {
                "the Sentinel pane (every Sentinel: get-master-addr-by-name, CKQUORUM)"
            }
            Assertion::RegionDown { .. } | Assertion::RegionHealthy { .. } | Assertion::TrafficOn { .. } => {
                "the Traffic pane (Route 53 weights and health checks, HTTP probes)"
            }
            Assertion::ReplicationHealthy { .. } => "the Database and Sentinel panes",
        }
    }

    /// Why the assertion cannot come to hold by waiting, as prechecks (checked before
    /// confirming and before executing): a step that cannot succeed now fails at once with the
    /// reason instead of waiting for its verify timeout. `primary-down` fails while a node
    /// answers as a writable primary in fresh data; the other assertions have none (they may
    /// come to hold as the estate moves).
    pub fn precheck(&self, obs: &Observed) -> Vec<Check> {
        match self {
            Assertion::PrimaryDown => {
                let Some(db) = obs.database.fresh_value() else { return vec![] };
                let up: Vec<&str> = db.writable_primaries().iter().map(|n| n.name.as_str()).collect();
                vec![match up.as_slice() {
                    [] => Check::new("primary down", true, "no node answers as a writable primary"),
                    [one] => Check::new(
                        "primary down",
                        false,
                        format!("the primary is not down: {one} answers as a writable primary"),
                    ),
                    many => Check::new(
                        "primary down",
                        false,
                        format!(
                            "the primary is not down: {} (split brain)",
                            each_verb(
                                many,
                                ", ",
                                "answers as a writable primary",
                                "answer as writable primaries"
                            )
                        ),
                    ),
                }]
            }
            _ => vec![],
        }
    }

    /// Evaluate against the current snapshots (only fresh data can make it hold).
    pub fn verify(&self, obs: &Observed) -> Verify {
        match self {
            Assertion::PrimaryDown => primary_down(obs),
            Assertion::SentinelHealthy => sentinel_healthy(obs),
            Assertion::SentinelAgreed => sentinel_agreed(obs),
            Assertion::RegionDown { region } => region_down(obs, region),
            Assertion::RegionHealthy { region } => region_healthy(obs, region),
            Assertion::TrafficOn { region } => traffic_on(obs, region),
            Assertion::ReplicationHealthy { max_lag_bytes } => replication(obs, *max_lag_bytes),
            Assertion::NodeIsReplica { node } => node_is_replica(obs, node),
        }
    }
}

fn primary_down(obs: &Observed) -> Verify {
    let Some(db) = obs.database.fresh_value() else { return no_fresh("database") };
    if let Some(p) = db.primary() {
        return Verify::NotYet(format!("{} is a writable primary: the primary is up", p.name));
    }
    let down: Vec<String> = db
        .nodes
        .iter()
        .filter(|n| n.role == PgRole::Down)
        .map(|n| format!("{} ({})", n.name, n.error.as_deref().unwrap_or("down")))
        .collect();
    if down.is_empty() {
        Verify::NotYet("no node is down, yet none is a writable primary".into())
    } else {
        Verify::Holds(format!("no writable primary; down: {}", down.join(", ")))
    }
}

fn sentinel_healthy(obs: &Observed) -> Verify {
    let Some(s) = obs.sentinel.fresh_value() else { return no_fresh("sentinel") };
    if s.failover_in_progress {
        return Verify::NotYet("a failover is in progress".into());
    }
    match (s.quorum_verdict(), s.agreed_master()) {
        (Some(Ok(q)), Some(m)) => Verify::Holds(format!("quorum: {q}; {} {m}", agreeing(s))),
        (Some(Err(q)), _) => Verify::NotYet(format!("quorum: {q}")),
        (None, _) => Verify::NotYet("quorum unknown".into()),
        (_, None) => Verify::NotYet("Sentinels do not agree on a master".into()),
    }
}

fn sentinel_agreed(obs: &Observed) -> Verify {
    let Some(s) = obs.sentinel.fresh_value() else { return no_fresh("sentinel") };
    match s.agreed_master() {
        Some(m) if s.master_role.as_deref().is_none_or(|r| r == "master") => {
            Verify::Holds(format!("{}: master {m}", agreeing(s)))
        }
        Some(m) => Verify::NotYet(format!(
            "Sentinels agree on {m} but it answers as {}",
            s.master_role.as_deref().unwrap_or("?")
        )),
        None => Verify::NotYet("Sentinels do not agree on a master".into()),
    }
}

fn region_down(obs: &Observed, region: &str) -> Verify {
    let Some(t) = obs.traffic.fresh_value() else { return no_fresh("traffic") };
    match t.region(region) {
        None => Verify::NotYet(format!("{region} is not in the Traffic pane")),
        Some(r) => match region_gate_problem(r) {
            Some(problem) => Verify::Holds(problem),
            None => Verify::NotYet(format!("{region} passes its health check and ready probe")),
        },
    }
}

fn region_healthy(obs: &Observed, region: &str) -> Verify {
    let Some(t) = obs.traffic.fresh_value() else { return no_fresh("traffic") };
    match t.region(region) {
        None => Verify::NotYet(format!("{region} is not in the Traffic pane")),
        Some(r) => match region_gate_problem(r) {
            None => {
                Verify::Holds(format!("{region}: health check {}, ready probe ok", r.health_check.as_str()))
            }
            Some(problem) => Verify::NotYet(problem),
        },
    }
}

fn traffic_on(obs: &Observed, region: &str) -> Verify {
    let Some(t) = obs.traffic.fresh_value() else { return no_fresh("traffic") };
    let share = t.share(region).unwrap_or(0.0);
    let gate = t.region(region).and_then(region_gate_problem);
    match gate {
        _ if share < 0.999 => Verify::NotYet(format!("{region} has {:.0} % of the weight", share * 100.0)),
        Some(problem) => Verify::NotYet(format!("{region} has all the weight but {problem}")),
        None => Verify::Holds(format!("{region} has 100 % of the weight and is healthy")),
    }
}

fn node_is_replica(obs: &Observed, node: &str) -> Verify {
    let Some(db) = obs.database.fresh_value() else { return no_fresh("database") };
    match db.node(node) {
        None => Verify::NotYet(format!("no node named {node}")),
        Some(n) if n.role == PgRole::Replica => Verify::Holds(format!(
            "{node} is a replica{}",
            n.replay_lag_bytes.map(|l| format!(", lag {l} B")).unwrap_or_default()
        )),
        Some(n) => Verify::NotYet(format!("{node} is {}", n.role.as_str())),
    }
}

/// "all 3 Sentinels agree", or "1 of 3 Sentinels reachable; those agree" (never "all" when
/// some did not answer).
fn agreeing(s: &crate::backends::model::SentinelView) -> String {
    match s.reachable() {
        (r, t) if r == t => format!("all {t} Sentinels agree"),
        (r, t) => format!("{r} of {t} Sentinels reachable; those agree"),
    }
}

impl Assertion {
    /// What is wrong although the assertion holds (verified with a warning): Sentinels that do
    /// not answer, a data layer running without a reachable replica.
    pub fn warning(&self, obs: &Observed) -> Option<String> {
        let mut warnings = Vec::new();
        let sentinels = matches!(
            self,
            Assertion::SentinelHealthy | Assertion::SentinelAgreed | Assertion::ReplicationHealthy { .. }
        );
        if let Some(s) = obs.sentinel.fresh_value().filter(|_| sentinels) {
            let (r, t) = s.reachable();
            if r < t {
                warnings.push(format!("only {r} of {t} Sentinels reachable"));
            }
            if matches!(self, Assertion::ReplicationHealthy { .. })
                && s.agreed_master().is_some()
                && !s.replicas.iter().any(|r| r.link_up)
            {
                warnings.push("Redis has no reachable replica: running without redundancy".into());
            }
        }
        if let (Assertion::ReplicationHealthy { .. }, Some(db)) = (self, obs.database.fresh_value())
            && db.primary().is_some()
            && !db.nodes.iter().any(|n| n.role == PgRole::Replica)
        {
            warnings.push("PostgreSQL has no reachable replica: running without redundancy".into());
        }
        (!warnings.is_empty()).then(|| warnings.join("; "))
    }
}

fn no_fresh(layer: &str) -> Verify {
    Verify::NotYet(format!("no fresh {layer} data"))
}

fn replication(obs: &Observed, max_lag_bytes: u64) -> Verify {
    let mut held = Vec::new();
    let mut problems = Vec::new();
    if let Some(db) = obs.database.fresh_value() {
        match db.writable_primaries().as_slice() {
            [p] => held.push(format!("PostgreSQL primary {} ({})", p.name, p.region)),
            [] => problems.push("no writable PostgreSQL primary".to_string()),
            many => problems.push(format!("{} writable primaries", many.len())),
        }
        for n in db.nodes.iter().filter(|n| n.role == PgRole::Replica) {
            match n.replay_lag_bytes {
                Some(l) if l <= max_lag_bytes => held.push(format!("{} lag {l} B", n.name)),
                Some(l) => problems.push(format!("{} lags {l} B", n.name)),
                None => problems.push(format!("{} lag unknown", n.name)),
            }
        }
    } else if obs.database.freshness != Freshness::NotConfigured {
        problems.push("no fresh database data".into());
    }
    if let Some(s) = obs.sentinel.fresh_value() {
        match s.agreed_master() {
            Some(m) if s.master_role.as_deref() != Some("master") => {
                problems.push(format!("Redis master {m} does not answer as a master"));
            }
            Some(m) => {
                let reachable = |r: &&crate::backends::model::RedisReplica| {
                    !r.flags.contains("down") && !r.flags.contains("disconnected")
                };
                let unlinked: Vec<&str> = s
                    .replicas
                    .iter()
                    .filter(reachable)
                    .filter(|r| !r.link_up)
                    .map(|r| r.addr.as_str())
                    .collect();
                let linked = s.replicas.iter().filter(|r| r.link_up).count();
                if !unlinked.is_empty() {
                    problems.push(format!(
                        "Redis replica(s) {} reachable but not linked to {m}",
                        unlinked.join(", ")
                    ));
                } else if linked == 0 {
                    held.push(format!("Redis master {m} (no reachable replica: running without redundancy)"));
                } else {
                    held.push(format!("Redis master {m} with {linked} linked replica(s)"));
                }
            }
            None => problems.push("Sentinels do not agree on a master".into()),
        }
    } else if obs.sentinel.freshness != Freshness::NotConfigured {
        problems.push("no fresh Sentinel data".into());
    }
    if !problems.is_empty() {
        Verify::NotYet(problems.join("; "))
    } else if held.is_empty() {
        Verify::NotYet("neither PostgreSQL nor Sentinel is configured".into())
    } else {
        Verify::Holds(held.join("; "))
    }
}

/// Health of a region as one word, for gates ("healthy" / the problem).
pub fn region_problem(obs: &Observed, region: &str) -> Result<(), String> {
    let t = obs.traffic.value.as_ref().ok_or_else(|| "no traffic data".to_string())?;
    let r = t.region(region).ok_or_else(|| format!("{region} is not in the Traffic pane"))?;
    match region_gate_problem(r) {
        None => Ok(()),
        Some(p) => Err(p),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::backends::Snapshot;
    use crate::backends::drill::Sim;
    use crate::backends::model::{DatabaseView, PgNodeStatus};
    use crate::operation::Operation;

    fn db(nodes: &[(&str, PgRole)]) -> Observed {
        let nodes = nodes
            .iter()
            .map(|(name, role)| PgNodeStatus { name: name.to_string(), role: *role, ..Default::default() })
            .collect();
        Observed {
            database: Arc::new(Snapshot::fresh(DatabaseView { nodes }, Utc::now())),
            ..Observed::default()
        }
    }

    fn calm() -> Observed {
        let origin = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let mut sim = Sim::new("calm", 42, origin, 1.0).expect("calm");
        sim.advance(Duration::from_secs(10));
        let now = sim.now();
        Observed {
            database: Arc::new(Snapshot::fresh(sim.database_view(), now)),
            sentinel: Arc::new(Snapshot::fresh(sim.sentinel_view(), now)),
            ..Observed::default()
        }
    }

    fn failed(obs: &Observed) -> Vec<String> {
        let op = Operation::Assert { check: Assertion::PrimaryDown };
        op.precheck(obs).into_iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).collect()
    }

    #[test]
    fn confirm_down_fails_at_once_while_the_primary_answers() {
        let healthy = db(&[("postgresql-0", PgRole::Primary), ("postgresql-1", PgRole::Replica)]);
        assert_eq!(
            failed(&healthy),
            ["primary down: the primary is not down: postgresql-0 answers as a writable primary"]
        );
        let split = db(&[("postgresql-0", PgRole::Primary), ("postgresql-1", PgRole::Primary)]);
        assert!(
            failed(&split)[0].contains("postgresql-0, postgresql-1 both answer as writable"),
            "{:?}",
            failed(&split)
        );
        // Down primary: the precheck holds and the verify decides.
        let down = db(&[("postgresql-0", PgRole::Down), ("postgresql-1", PgRole::Replica)]);
        assert!(failed(&down).is_empty());
        // No fresh data yet: nothing is known, the verify waits for it.
        assert!(failed(&Observed::default()).is_empty());
    }

    fn edit_sentinel(obs: &mut Observed, f: impl FnOnce(&mut crate::backends::model::SentinelView)) {
        let mut v = obs.sentinel.value.clone().expect("sentinel");
        f(&mut v);
        obs.sentinel = Arc::new(Snapshot::fresh(v, Utc::now()));
    }

    #[test]
    fn agreement_of_the_reachable_few_is_not_called_all_and_warns() {
        let mut obs = calm();
        assert!(
            matches!(Assertion::SentinelAgreed.verify(&obs), Verify::Holds(t) if t.starts_with("all 3 Sentinels agree"))
        );
        assert_eq!(Assertion::SentinelAgreed.warning(&obs), None);
        edit_sentinel(&mut obs, |v| {
            for s in v.sentinels.iter_mut().skip(1) {
                s.master = None;
                s.error = Some("connection refused".into());
            }
        });
        let Verify::Holds(text) = Assertion::SentinelAgreed.verify(&obs) else { panic!("holds") };
        assert!(text.contains("1 of 3 Sentinels reachable; those agree") && !text.contains("all"), "{text}");
        let w = Assertion::SentinelAgreed.warning(&obs).expect("verified with a warning");
        assert!(w.contains("only 1 of 3 Sentinels reachable"), "{w}");
        let op = Operation::Assert { check: Assertion::SentinelAgreed };
        assert_eq!(op.verify_warning(&obs), Some(w));
    }

    #[test]
    fn noquorum_never_lets_sentinel_healthy_hold() {
        let mut obs = calm();
        edit_sentinel(&mut obs, |v| v.quorum = Some(Ok("NOQUORUM 1 usable Sentinels".into())));
        assert!(
            matches!(Assertion::SentinelHealthy.verify(&obs), Verify::NotYet(t) if t.contains("NOQUORUM"))
        );
    }

    #[test]
    fn replication_without_a_reachable_replica_is_verified_with_a_warning() {
        let mut obs = calm();
        let check = Assertion::ReplicationHealthy { max_lag_bytes: 1 << 30 };
        assert!(matches!(check.verify(&obs), Verify::Holds(_)));
        assert_eq!(check.warning(&obs), None);
        edit_sentinel(&mut obs, |v| {
            for r in v.replicas.iter_mut() {
                r.link_up = false;
                r.flags = "slave,s_down,disconnected".into();
            }
        });
        let Verify::Holds(text) = check.verify(&obs) else { panic!("holds") };
        assert!(text.contains("running without redundancy"), "{text}");
        let w = check.warning(&obs).expect("a warning");
        assert!(w.contains("Redis has no reachable replica"), "{w}");
    }

    #[test]
    fn a_failover_precheck_without_quorum_warns_and_is_never_a_pass() {
        let mut obs = calm();
        edit_sentinel(&mut obs, |v| v.quorum = Some(Err("NOQUORUM 1 usable Sentinels".into())));
        let op = Operation::SentinelFailover {
            master: "mymaster".into(),
            sentinel: obs.sentinel.value.as_ref().unwrap().sentinels[0].addr.clone(),
            from_master: None,
        };
        let q = op.precheck(&obs).into_iter().find(|c| c.name == "quorum").expect("quorum check");
        // The forced failover needs no quorum (a lost region takes Sentinels with it): a warning.
        assert!(q.warning && q.detail.contains("NOQUORUM") && q.symbol() == "⚠", "{q:?}");
        edit_sentinel(&mut obs, |v| v.quorum = Some(Ok("NOQUORUM 1 usable Sentinels".into())));
        let q = op.precheck(&obs).into_iter().find(|c| c.name == "quorum").expect("quorum check");
        assert!(q.warning, "a NOQUORUM answer is never a pass however it arrives: {q:?}");
        edit_sentinel(&mut obs, |v| v.quorum = Some(Ok("OK 3 usable Sentinels".into())));
        let q = op.precheck(&obs).into_iter().find(|c| c.name == "quorum").expect("quorum check");
        assert_eq!(q.symbol(), "✓");
    }
}
