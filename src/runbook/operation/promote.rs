//! Promotion of a PostgreSQL replica, shared by the SQL form ([`Operation::PromotePostgres`])
//! and the failover plan's literal form ([`Operation::ExecPromote`]: `pg_ctl promote -D <dir>`
//! through the pod exec API). Both have the same prechecks and the same postcondition; only
//! the call differs.
//!
//! [`Operation::PromotePostgres`]: super::Operation::PromotePostgres
//! [`Operation::ExecPromote`]: super::Operation::ExecPromote

use super::fresh_check;
use crate::backends::Observed;
use crate::backends::model::PgRole;
use crate::operation::exec::{exec_request_line, pg_ctl_promote_argv};
use crate::operation::{Check, Preview, Verify};

/// The lag guard line of both promotion previews.
pub(super) fn lag_guard_line(max_lag_bytes: u64, accept_data_loss: Option<u64>) -> String {
    match accept_data_loss {
        Some(b) => format!("lag guard overridden: accepts data loss of {b} bytes"),
        None => format!("lag guard: replay lag must be <= {max_lag_bytes} bytes"),
    }
}

/// What `ExecPromote` will do.
pub(super) struct ExecPromoteTarget<'a> {
    pub context: &'a str,
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: Option<&'a str>,
    pub data_dir: &'a str,
    pub node: &'a str,
    pub max_lag_bytes: u64,
    pub accept_data_loss: Option<u64>,
}

/// Preview of `ExecPromote`: the exact exec call, in which context, and the argv.
pub(super) fn exec_preview(t: &ExecPromoteTarget<'_>) -> Preview {
    let argv = pg_ctl_promote_argv(t.data_dir);
    let container =
        t.container.map_or("the pod's default container".to_string(), |c| format!("container {c}"));
    Preview {
        title: format!("Promote {} to primary with pg_ctl promote (pod exec)", t.node),
        target: format!("pod {}/{} in context {}", t.namespace, t.pod, t.context),
        lines: vec![
            format!(
                "{}  (WebSocket, v5.channel.k8s.io)",
                exec_request_line(t.namespace, t.pod, t.container, &argv)
            ),
            format!("runs `{}` in {container}; fails on a non-zero exit", argv.join(" ")),
            lag_guard_line(t.max_lag_bytes, t.accept_data_loss),
        ],
        blast_radius: "new timeline; every client must reconnect to the new primary".into(),
    }
}

/// Prechecks of both promotions: fresh data, the target is a reachable replica, its lag is
/// within the limit (or the typed override), and no other node is a writable primary.
pub(super) fn checks(
    obs: &Observed,
    node: &str,
    max_lag_bytes: u64,
    accept_data_loss: Option<u64>,
) -> Vec<Check> {
    let mut checks = vec![fresh_check("database data", &obs.database)];
    let Some(db) = obs.database.value.as_ref() else { return checks };
    let target = db.node(node);
    checks.push(match target {
        None => Check::new("target", false, format!("no node named {node}")),
        Some(n) if n.error.is_some() || n.role == PgRole::Down => Check::new(
            "target reachable",
            false,
            format!("{node} is unreachable: {}", n.error.as_deref().unwrap_or("down")),
        ),
        Some(n) if n.role != PgRole::Replica => {
            Check::new("target in recovery", false, format!("{node} is {}, not a replica", n.role.as_str()))
        }
        Some(_) => Check::new("target in recovery", true, format!("{node} is a reachable replica")),
    });
    if let Some(n) = target.filter(|n| n.role == PgRole::Replica) {
        let lag = n.replay_lag_bytes.unwrap_or(0);
        let limit = accept_data_loss.map_or(max_lag_bytes, |o| o.max(max_lag_bytes));
        checks.push(Check::new(
            "lag within limit",
            lag <= limit,
            match accept_data_loss {
                Some(o) => format!("lag {lag} B, override accepts up to {o} B of data loss"),
                None => format!("lag {lag} B, limit {max_lag_bytes} B"),
            },
        ));
    }
    let others: Vec<&str> =
        db.writable_primaries().into_iter().filter(|p| p.name != node).map(|p| p.name.as_str()).collect();
    checks.push(if others.is_empty() {
        Check::new("old primary down or fenced", true, "no other writable primary")
    } else {
        Check::new(
            "old primary down or fenced",
            false,
            format!(
                "{} is still a writable primary: fence it first (two primaries = split brain)",
                others.join(", ")
            ),
        )
    });
    checks
}

/// Postcondition of both promotions: the node is a writable primary in fresh data.
pub(super) fn verify(obs: &Observed, node: &str) -> Verify {
    match obs.database.fresh_value().and_then(|d| d.node(node)) {
        Some(n) if n.is_writable_primary() => Verify::Holds(format!(
            "{node} is primary and accepts writes (timeline {})",
            n.timeline.map_or("?".into(), |t| t.to_string())
        )),
        Some(n) => Verify::NotYet(format!("{node} is {}", n.role.as_str())),
        None => Verify::NotYet("no fresh database data".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::backends::model::{DatabaseView, PgNodeStatus};
    use crate::backends::{Freshness, Snapshot};
    use crate::operation::{Operation, Risk};

    fn node(name: &str, role: PgRole, lag: u64, read_only: bool) -> PgNodeStatus {
        PgNodeStatus {
            name: name.into(),
            region: "us-east-1".into(),
            role,
            version: Some("15".into()),
            timeline: Some(2),
            lsn: Some(100),
            fork_lsn: None,
            replay_lag_bytes: (role == PgRole::Replica).then_some(lag),
            replay_lag_seconds: None,
            replication_state: None,
            read_only,
            pod: None,
            error: (role == PgRole::Down).then(|| "connection refused".to_string()),
            last_ok: None,
        }
    }

    fn observed(nodes: Vec<PgNodeStatus>) -> Observed {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        Observed { database: Arc::new(Snapshot::fresh(DatabaseView { nodes }, at)), ..Observed::default() }
    }

    fn pair(node: &str, accept: Option<u64>) -> (Operation, Operation) {
        let sql = Operation::PromotePostgres {
            node: node.into(),
            endpoint: "10.0.0.11:5432".into(),
            max_lag_bytes: 100,
            accept_data_loss: accept,
        };
        let exec = Operation::ExecPromote {
            context: "us-east-1".into(),
            namespace: "database".into(),
            pod: node.into(),
            container: Some("postgres".into()),
            data_dir: "/var/lib/postgresql/data".into(),
            node: node.into(),
            max_lag_bytes: 100,
            accept_data_loss: accept,
        };
        (sql, exec)
    }

    #[test]
    fn prechecks_and_verify_are_those_of_the_sql_promote() {
        let cases = [
            // Primary down, target a caught-up replica: passes.
            vec![node("pg-0", PgRole::Down, 0, false), node("pg-1", PgRole::Replica, 10, false)],
            // Lag above the limit.
            vec![node("pg-0", PgRole::Down, 0, false), node("pg-1", PgRole::Replica, 5000, false)],
            // Old primary still writable (split-brain guard), then fenced.
            vec![node("pg-0", PgRole::Primary, 0, false), node("pg-1", PgRole::Replica, 0, false)],
            vec![node("pg-0", PgRole::Primary, 0, true), node("pg-1", PgRole::Replica, 0, false)],
            // Target already primary (verify holds), target down.
            vec![node("pg-0", PgRole::Down, 0, false), node("pg-1", PgRole::Primary, 0, false)],
            vec![node("pg-0", PgRole::Primary, 0, false), node("pg-1", PgRole::Down, 0, false)],
        ];
        let mut failed = 0;
        for nodes in cases {
            let obs = observed(nodes);
            for accept in [None, Some(10_000)] {
                let (sql, exec) = pair("pg-1", accept);
                let checks = exec.precheck(&obs);
                assert_eq!(checks, sql.precheck(&obs));
                assert_eq!(exec.verify(&obs), sql.verify(&obs));
                failed += usize::from(checks.iter().any(|c| !c.ok));
            }
        }
        assert!(failed >= 6, "the cases exercise failing checks too ({failed})");
        // Stale data refuses, like the SQL form.
        let mut obs = observed(vec![node("pg-1", PgRole::Replica, 0, false)]);
        let stale = Snapshot {
            freshness: Freshness::Stale { since: Utc::now(), error: "timeout".into() },
            ..(*obs.database).clone()
        };
        obs.database = Arc::new(stale);
        let (_, exec) = pair("pg-1", None);
        assert!(!exec.precheck(&obs)[0].ok);
        assert!(matches!(exec.verify(&obs), Verify::NotYet(_)));
    }

    #[test]
    fn high_risk_confirmed_by_the_node_name_with_the_exact_call_shown() {
        let (_, exec) = pair("postgresql-1", Some(4096));
        assert_eq!(exec.name(), "exec-promote");
        assert_eq!(exec.risk(), Risk::High);
        assert!(exec.is_mutating());
        assert_eq!(exec.confirm_word(), "postgresql-1");
        let p = exec.preview();
        assert_eq!(p.target, "pod database/postgresql-1 in context us-east-1");
        assert_eq!(
            p.lines[0],
            "GET /api/v1/namespaces/database/pods/postgresql-1/exec?stdout=true&stderr=true&container=postgres\
             &command=pg_ctl&command=promote&command=-D&command=/var/lib/postgresql/data  (WebSocket, v5.channel.k8s.io)"
        );
        assert!(p.lines[1].contains("`pg_ctl promote -D /var/lib/postgresql/data` in container postgres"));
        assert_eq!(p.lines[2], "lag guard overridden: accepts data loss of 4096 bytes");
        let json = serde_json::to_string(&exec).expect("serializes");
        assert!(json.contains("\"op\":\"exec-promote\""), "{json}");
        assert_eq!(serde_json::from_str::<Operation>(&json).expect("parses back"), exec);
    }
}
