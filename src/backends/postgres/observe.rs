//! [`PostgresObserver`]: polls every node concurrently, each under its own deadline.

use std::sync::Mutex;

use chrono::Utc;
use futures::future::{BoxFuture, join_all};
use tokio_postgres::types::PgLsn;

use super::conn::{NodeTarget, PgTimeouts, Session, human};
use crate::backends::Observe;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::config::model::PostgresConfig;

/// Observes the configured PostgreSQL nodes (`impl Observe<Output = DatabaseView>`).
///
/// A fresh session per node per poll (robust across restarts, fencing and failovers). A node
/// that fails keeps its last good values with `role = Down`, its `error` set and `last_ok`
/// unchanged, while the other rows keep updating.
pub struct PostgresObserver {
    nodes: Vec<NodeTarget>,
    timeouts: PgTimeouts,
    last: Mutex<Vec<PgNodeStatus>>,
}

/// What one successful poll of one node returned.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeSample {
    pub in_recovery: bool,
    pub version: String,
    pub read_only: bool,
    pub timeline: Option<u32>,
    /// Current LSN (primary) or last received LSN (replica).
    pub lsn: Option<u64>,
    /// Switchpoint of the current timeline (its history file), on a timeline above 1.
    pub fork_lsn: Option<u64>,
    /// Replica's own view: received minus replayed bytes.
    pub own_lag_bytes: Option<u64>,
    /// Replica's own view: seconds since the last replayed transaction, 0 when caught up.
    pub own_lag_seconds: Option<f64>,
    /// Replica's WAL receiver status.
    pub receiver_status: Option<String>,
    /// Primary's `pg_stat_replication` rows.
    pub standbys: Vec<StandbyRow>,
}

/// One row of a primary's `pg_stat_replication`.
#[derive(Debug, Clone, Default)]
pub(crate) struct StandbyRow {
    pub application_name: String,
    pub state: Option<String>,
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
}

impl PostgresObserver {
    /// An observer for `cfg.nodes`. Never fails: a bad DSN shows as an error on its row.
    pub fn new(cfg: &PostgresConfig, timeouts: PgTimeouts) -> PostgresObserver {
        let nodes: Vec<NodeTarget> = cfg.nodes.iter().map(NodeTarget::new).collect();
        let last = nodes.iter().map(blank_status).collect();
        PostgresObserver { nodes, timeouts, last: Mutex::new(last) }
    }

    /// One concurrent round over all nodes.
    async fn poll(&self) -> Result<DatabaseView, String> {
        let samples = join_all(self.nodes.iter().map(|n| sample_node(n, self.timeouts))).await;
        // The console's timeline: "last ok N ago" stays true across a wall-clock step.
        let now = crate::clock::now();
        let mut last = self.last.lock().map_err(|_| "postgres observer state poisoned".to_string())?;
        if samples.iter().all(Result::is_err) && !samples.is_empty() {
            let why: Vec<String> = self
                .nodes
                .iter()
                .zip(&samples)
                .filter_map(|(n, s)| Some(format!("{}: {}", n.name, s.as_ref().err()?)))
                .collect();
            // Still record the per-node errors, so the next success starts from them.
            for (row, s) in last.iter_mut().zip(&samples) {
                mark_failed(row, s.as_ref().err().cloned().unwrap_or_default());
            }
            return Err(format!("no PostgreSQL node answered: {}", why.join("; ")));
        }
        let standbys: Vec<&StandbyRow> =
            samples.iter().flatten().filter(|s| !s.in_recovery).flat_map(|s| s.standbys.iter()).collect();
        for ((node, row), sample) in self.nodes.iter().zip(last.iter_mut()).zip(&samples) {
            match sample {
                Ok(s) => *row = status_from(node, s, &standbys, now),
                Err(e) => mark_failed(row, e.clone()),
            }
        }
        Ok(DatabaseView { nodes: last.clone() })
    }
}

impl Observe for PostgresObserver {
    type Output = DatabaseView;

    fn name(&self) -> &str {
        "postgres"
    }

    fn observe(&self) -> BoxFuture<'_, Result<DatabaseView, String>> {
        Box::pin(self.poll())
    }
}

fn blank_status(n: &NodeTarget) -> PgNodeStatus {
    PgNodeStatus {
        name: n.name.clone(),
        region: n.region.clone(),
        role: PgRole::Unknown,
        version: None,
        timeline: None,
        lsn: None,
        fork_lsn: None,
        replay_lag_bytes: None,
        replay_lag_seconds: None,
        replication_state: None,
        read_only: false,
        pod: n.pod.clone(),
        error: None,
        last_ok: None,
    }
}

/// Keep the last good values, mark the node down with the error.
fn mark_failed(row: &mut PgNodeStatus, error: String) {
    row.role = PgRole::Down;
    row.error = Some(error);
}

/// Build a row from a sample; replica lag comes from the primary's `pg_stat_replication`
/// (keyed by `application_name` = node name) when available, else from the replica itself.
pub(crate) fn status_from(
    node: &NodeTarget,
    s: &NodeSample,
    standbys: &[&StandbyRow],
    now: chrono::DateTime<Utc>,
) -> PgNodeStatus {
    let mut row = PgNodeStatus {
        role: if s.in_recovery { PgRole::Replica } else { PgRole::Primary },
        version: Some(s.version.clone()),
        timeline: s.timeline,
        lsn: s.lsn,
        fork_lsn: s.fork_lsn,
        read_only: s.read_only,
        error: None,
        last_ok: Some(now),
        ..blank_status(node)
    };
    if s.in_recovery {
        let seen = standbys.iter().find(|r| r.application_name == node.name);
        row.replay_lag_bytes = seen.and_then(|r| r.lag_bytes).or(s.own_lag_bytes);
        row.replay_lag_seconds = match seen.and_then(|r| r.lag_seconds) {
            Some(secs) => Some(secs),
            None if row.replay_lag_bytes == Some(0) => Some(0.0),
            None => s.own_lag_seconds,
        };
        row.replication_state = seen.and_then(|r| r.state.clone()).or_else(|| s.receiver_status.clone());
    }
    row
}

/// Poll one node within its own deadlines.
async fn sample_node(node: &NodeTarget, t: PgTimeouts) -> Result<NodeSample, String> {
    let session = node.connect(t.connect_timeout).await?;
    match tokio::time::timeout(t.statement_timeout, run_queries(&session)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {}", human(t.statement_timeout))),
    }
}

const COMMON: &str = "SELECT pg_is_in_recovery(), current_setting('server_version'), \
     current_setting('default_transaction_read_only') = 'on'";

const PRIMARY: &str = "SELECT pg_current_wal_lsn(), pg_walfile_name(pg_current_wal_lsn())";

const STANDBYS: &str = "SELECT application_name, state, \
     pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, \
     extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication";

const REPLICA: &str = "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), \
     extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, \
     (SELECT received_tli FROM pg_stat_wal_receiver), (SELECT status FROM pg_stat_wal_receiver), \
     (SELECT timeline_id FROM pg_control_checkpoint())";

async fn run_queries(session: &Session) -> Result<NodeSample, String> {
    let c = &session.client;
    let row = c.query_one(COMMON, &[]).await.map_err(|e| session.err(&e))?;
    let mut s = NodeSample {
        in_recovery: row.try_get(0).map_err(|e| session.err(&e))?,
        version: row.try_get(1).map_err(|e| session.err(&e))?,
        read_only: row.try_get(2).map_err(|e| session.err(&e))?,
        ..NodeSample::default()
    };
    if s.in_recovery {
        let r = c.query_one(REPLICA, &[]).await.map_err(|e| session.err(&e))?;
        let receive: Option<PgLsn> = r.try_get(0).map_err(|e| session.err(&e))?;
        let replay: Option<PgLsn> = r.try_get(1).map_err(|e| session.err(&e))?;
        let since_replay: Option<f64> = r.try_get(2).map_err(|e| session.err(&e))?;
        let received_tli: Option<i32> = r.try_get(3).map_err(|e| session.err(&e))?;
        s.receiver_status = r.try_get(4).map_err(|e| session.err(&e))?;
        let checkpoint_tli: Option<i32> = r.try_get(5).map_err(|e| session.err(&e))?;
        let (receive, replay) = (receive.map(u64::from), replay.map(u64::from));
        s.lsn = receive.or(replay);
        s.own_lag_bytes = match (receive, replay) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b)),
            _ => None,
        };
        s.own_lag_seconds =
            if s.own_lag_bytes == Some(0) { Some(0.0) } else { since_replay.map(|x| x.max(0.0)) };
        s.timeline = received_tli.max(checkpoint_tli).and_then(|t| u32::try_from(t).ok());
    } else {
        let r = c.query_one(PRIMARY, &[]).await.map_err(|e| session.err(&e))?;
        let lsn: PgLsn = r.try_get(0).map_err(|e| session.err(&e))?;
        let walfile: String = r.try_get(1).map_err(|e| session.err(&e))?;
        s.lsn = Some(u64::from(lsn));
        s.timeline = timeline_of_walfile(&walfile);
        for r in c.query(STANDBYS, &[]).await.map_err(|e| session.err(&e))? {
            let name: Option<String> = r.try_get(0).map_err(|e| session.err(&e))?;
            let bytes: Option<i64> = r.try_get(2).map_err(|e| session.err(&e))?;
            s.standbys.push(StandbyRow {
                application_name: name.unwrap_or_default(),
                state: r.try_get(1).map_err(|e| session.err(&e))?,
                lag_bytes: bytes.map(|b| u64::try_from(b).unwrap_or(0)),
                lag_seconds: r.try_get(3).map_err(|e| session.err(&e))?,
            });
        }
    }
    if let Some(tl) = s.timeline.filter(|t| *t > 1) {
        // Needs pg_read_file rights (superuser, pg_read_server_files or a grant); without
        // them the fork is not reported and measurement falls back to the replica's last LSN.
        let history = c.query_one(HISTORY, &[&format!("{tl:08X}")]).await.ok();
        s.fork_lsn = history
            .and_then(|r| r.try_get::<_, Option<String>>(0).ok().flatten())
            .and_then(|h| history_fork(&h));
    }
    Ok(s)
}

/// The timeline history file of a timeline (hex id as in WAL file names), `NULL` if missing.
const HISTORY: &str = "SELECT pg_read_file('pg_wal/' || $1::text || '.history', 0, 65536, true)";

/// The switchpoint into the current timeline: the LSN of the last entry of its history file
/// (`parentTLI<TAB>switchpoint<TAB>reason` per line, `#` comments).
pub(crate) fn history_fork(history: &str) -> Option<u64> {
    let line = history.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with('#'))?;
    let lsn = line.split_whitespace().nth(1)?;
    let (hi, lo) = lsn.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// The timeline is the first 8 hex digits of a WAL file name (current on a primary right
/// after promotion, unlike `pg_control_checkpoint()` which waits for a checkpoint).
pub(crate) fn timeline_of_walfile(name: &str) -> Option<u32> {
    name.get(..8).and_then(|h| u32::from_str_radix(h, 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::PgNodeConfig;

    fn target(name: &str) -> NodeTarget {
        NodeTarget::new(&PgNodeConfig {
            name: name.into(),
            region: "r".into(),
            dsn: "host=127.0.0.1 port=1 user=postgres".into(),
            password_env: None,
            pod: None,
            data_dir: None,
        })
    }

    #[test]
    fn history_file_gives_the_fork_lsn() {
        let h = "1\t0/3000158\tno recovery target specified\n\n2\t1/A2B3C4D0\tbefore 2000-01-01\n";
        assert_eq!(history_fork(h), Some(0x1_A2B3_C4D0));
        assert_eq!(history_fork("1\t0/3000158\tno recovery target specified\n"), Some(0x300_0158));
        assert_eq!(history_fork("# comment only\n"), None);
        assert_eq!(history_fork("1\tgarbage\n"), None);
    }

    #[test]
    fn walfile_timeline() {
        assert_eq!(timeline_of_walfile("000000020000000000000003"), Some(2));
        assert_eq!(timeline_of_walfile("0000000A0000000000000003"), Some(10));
        assert_eq!(timeline_of_walfile("zz"), None);
    }

    #[test]
    fn replica_lag_prefers_the_primary_view() {
        let s = NodeSample {
            in_recovery: true,
            own_lag_bytes: Some(10),
            own_lag_seconds: Some(4.0),
            receiver_status: Some("streaming".into()),
            ..NodeSample::default()
        };
        let seen = StandbyRow {
            application_name: "pg1".into(),
            state: Some("catchup".into()),
            lag_bytes: Some(500),
            lag_seconds: Some(1.5),
        };
        let row = status_from(&target("pg1"), &s, &[&seen], Utc::now());
        assert_eq!(row.role, PgRole::Replica);
        assert_eq!(row.replay_lag_bytes, Some(500));
        assert_eq!(row.replay_lag_seconds, Some(1.5));
        assert_eq!(row.replication_state.as_deref(), Some("catchup"));
        // Another node's row is not used.
        let row = status_from(&target("pg2"), &s, &[&seen], Utc::now());
        assert_eq!(row.replay_lag_bytes, Some(10));
        assert_eq!(row.replay_lag_seconds, Some(4.0));
        assert_eq!(row.replication_state.as_deref(), Some("streaming"));
    }

    #[test]
    fn failed_node_keeps_last_values_and_last_ok() {
        let s = NodeSample { version: "15".into(), timeline: Some(3), ..NodeSample::default() };
        let mut row = status_from(&target("pg0"), &s, &[], Utc::now());
        let ok_at = row.last_ok;
        mark_failed(&mut row, "timeout after 2 s".into());
        assert_eq!(row.role, PgRole::Down);
        assert_eq!(row.timeline, Some(3));
        assert_eq!(row.last_ok, ok_at);
        assert_eq!(row.error.as_deref(), Some("timeout after 2 s"));
    }
}
