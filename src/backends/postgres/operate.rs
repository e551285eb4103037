//! [`PostgresOperator`]: check-primary, promote and fence, each re-checking the live state
//! right before acting and answering with a one-line summary with timings.

use std::time::{Duration, Instant};

use futures::future::{BoxFuture, join_all};

use super::conn::{NodeTarget, PgTimeouts, Session, human, is_read_only_refusal};
use crate::backends::Operate;
use crate::config::model::PostgresConfig;
use crate::operation::Operation;
use crate::text::grammar::each_verb;

/// How long `pg_promote` may wait for the promotion to finish, in seconds.
pub const PROMOTE_WAIT_SECONDS: i32 = 30;

/// How long fencing waits for the reloaded configuration to refuse writes.
const FENCE_CONFIRM: Duration = Duration::from_secs(5);

/// Carries out the PostgreSQL operations (`CheckPrimary`, `PromotePostgres`, `FencePostgres`).
pub struct PostgresOperator {
    nodes: Vec<NodeTarget>,
    timeouts: PgTimeouts,
}

impl PostgresOperator {
    /// An operator for `cfg.nodes`.
    pub fn new(cfg: &PostgresConfig, timeouts: PgTimeouts) -> PostgresOperator {
        PostgresOperator { nodes: cfg.nodes.iter().map(NodeTarget::new).collect(), timeouts }
    }

    fn node(&self, name: &str) -> Result<&NodeTarget, String> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| format!("no PostgreSQL node named {name}"))
    }

    async fn session(&self, node: &NodeTarget) -> Result<Session, String> {
        node.connect(self.timeouts.connect_timeout)
            .await
            .map_err(|e| format!("{} ({}): {e}", node.name, node.endpoint))
    }

    /// A write in a throwaway transaction that is rolled back: `Ok` when `node` accepts
    /// writes, `Err` with the server's reason (e.g. read-only transaction) otherwise.
    pub async fn write_probe(&self, node: &str) -> Result<(), String> {
        let target = self.node(node)?;
        let session = self.session(target).await?;
        let probe = async {
            let c = &session.client;
            c.batch_execute("BEGIN").await?;
            let r = c.batch_execute("CREATE TEMP TABLE warroom_write_probe (x int) ON COMMIT DROP").await;
            let _ = c.batch_execute("ROLLBACK").await;
            r
        };
        match tokio::time::timeout(self.timeouts.statement_timeout, probe).await {
            Err(_) => {
                Err(format!("{node}: write probe timeout after {}", human(self.timeouts.statement_timeout)))
            }
            Ok(Err(e)) if is_read_only_refusal(&e) => {
                Err(format!("{node} refuses writes: {}", session.err(&e)))
            }
            Ok(Err(e)) => Err(format!("{node}: write probe failed: {}", session.err(&e))),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Role of `node` right now: `Ok(true)` in recovery, `Ok(false)` primary.
    async fn in_recovery(&self, session: &Session) -> Result<bool, String> {
        let q = session.client.query_one("SELECT pg_is_in_recovery()", &[]);
        match tokio::time::timeout(self.timeouts.statement_timeout, q).await {
            Err(_) => Err(format!("timeout after {}", human(self.timeouts.statement_timeout))),
            Ok(r) => r.and_then(|row| row.try_get(0)).map_err(|e| session.err(&e)),
        }
    }

    async fn check_primary(&self) -> Result<String, String> {
        let started = Instant::now();
        let states = join_all(self.nodes.iter().map(|n| async move {
            let s = self.session(n).await?;
            let role = self.in_recovery(&s).await?;
            let ro = s
                .client
                .query_one("SELECT current_setting('default_transaction_read_only') = 'on'", &[])
                .await
                .and_then(|r| r.try_get::<_, bool>(0))
                .map_err(|e| s.err(&e))?;
            Ok::<_, String>((role, ro))
        }))
        .await;
        let mut writable = vec![];
        let mut parts = vec![];
        for (n, st) in self.nodes.iter().zip(states) {
            parts.push(match st {
                Ok((false, false)) => {
                    writable.push(n.name.as_str());
                    format!("{} primary", n.name)
                }
                Ok((false, true)) => format!("{} primary (fenced, read-only)", n.name),
                Ok((true, _)) => format!("{} replica", n.name),
                Err(e) => format!("{} unreachable ({e})", n.name),
            });
        }
        let took = human(started.elapsed());
        match writable.as_slice() {
            [one] => Ok(format!("{one} is the writable primary ({}; {took})", parts.join(", "))),
            [] => Err(format!("no writable primary ({}; {took})", parts.join(", "))),
            many => Err(format!(
                "split brain: {} ({took})",
                each_verb(many, ", ", "accepts writes", "accept writes")
            )),
        }
    }

    async fn promote(&self, node: &str) -> Result<String, String> {
        let target = self.node(node)?;
        let started = Instant::now();
        let session = self.session(target).await?;
        if !self.in_recovery(&session).await.map_err(|e| format!("{node}: {e}"))? {
            return Err(format!(
                "refused: {node} is not in recovery (already a primary); nothing to promote"
            ));
        }
        let q = session
            .client
            .query_one("SELECT pg_promote(wait => true, wait_seconds => $1)", &[&PROMOTE_WAIT_SECONDS]);
        let limit = Duration::from_secs(PROMOTE_WAIT_SECONDS as u64 + 5);
        let promoted: bool = match tokio::time::timeout(limit, q).await {
            Err(_) => return Err(format!("{node}: pg_promote did not answer within {}", human(limit))),
            Ok(r) => r.and_then(|row| row.try_get(0)).map_err(|e| format!("{node}: {}", session.err(&e)))?,
        };
        if !promoted {
            return Err(format!("{node}: pg_promote did not finish within {PROMOTE_WAIT_SECONDS} s"));
        }
        let took = human(started.elapsed());
        let timeline = session
            .client
            .query_one("SELECT pg_walfile_name(pg_current_wal_lsn())", &[])
            .await
            .ok()
            .and_then(|r| r.try_get::<_, String>(0).ok())
            .and_then(|w| super::observe::timeline_of_walfile(&w));
        Ok(format!(
            "promoted {node} ({}) in {took}; now on timeline {}",
            target.endpoint,
            timeline.map_or("?".into(), |t| t.to_string())
        ))
    }

    async fn fence(&self, node: &str) -> Result<String, String> {
        let target = self.node(node)?;
        let started = Instant::now();
        let session = self.session(target).await?;
        if self.in_recovery(&session).await.map_err(|e| format!("{node}: {e}"))? {
            return Err(format!("refused: {node} is in recovery (a replica already refuses writes)"));
        }
        let steps = async {
            let c = &session.client;
            c.batch_execute("ALTER SYSTEM SET default_transaction_read_only = on").await?;
            c.batch_execute("SELECT pg_reload_conf()").await?;
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    &[],
                )
                .await?
                .try_get(0)?;
            Ok::<i64, tokio_postgres::Error>(n)
        };
        let terminated = match tokio::time::timeout(self.timeouts.statement_timeout, steps).await {
            Err(_) => {
                return Err(format!(
                    "{node}: fencing timeout after {}",
                    human(self.timeouts.statement_timeout)
                ));
            }
            Ok(r) => r.map_err(|e| format!("{node}: {}", session.err(&e)))?,
        };
        drop(session);
        // pg_reload_conf only signals the postmaster: confirm with new sessions until refused.
        let deadline = Instant::now() + FENCE_CONFIRM;
        loop {
            match self.write_probe(node).await {
                Err(e) if e.contains("refuses writes") => break,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("{node}: fence not confirmed: {e}"));
                }
                Ok(()) if Instant::now() >= deadline => {
                    return Err(format!(
                        "{node}: fence not confirmed: still accepts writes {} after reload",
                        human(FENCE_CONFIRM)
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        Ok(format!(
            "fenced {node} ({}): default_transaction_read_only = on, {terminated} client session(s) terminated, \
             write refused; {}",
            target.endpoint,
            human(started.elapsed())
        ))
    }
}

impl Operate for PostgresOperator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            match op {
                Operation::CheckPrimary => self.check_primary().await,
                Operation::PromotePostgres { node, .. } => self.promote(&node).await,
                Operation::FencePostgres { node, .. } => self.fence(&node).await,
                Operation::VerifyWrites { node, .. } => {
                    let started = std::time::Instant::now();
                    self.write_probe(&node).await?;
                    Ok(format!(
                        "{node}: CREATE TEMP TABLE warroom_write_probe committed in {}",
                        human(started.elapsed())
                    ))
                }
                other => Err(format!("not a PostgreSQL operation: {}", other.name())),
            }
        })
    }
}
