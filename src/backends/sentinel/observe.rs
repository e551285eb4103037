//! [`SentinelObserver`]: asks every Sentinel concurrently (each under its own deadline), the
//! master itself for its role, and folds in the pub/sub events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::future::{BoxFuture, join_all};
use redis::aio::MultiplexedConnection;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::conn::{Addr, Endpoint, connect, describe, human, parse_info, password};
use super::events::{EventRing, Subscriber, failover_running};
use crate::backends::Observe;
use crate::backends::model::{RedisReplica, SentinelObs, SentinelView};
use crate::config::model::SentinelConfig;

/// Sentinel's own default failover-timeout (ms), used when no Sentinel reported one.
const DEFAULT_FAILOVER_TIMEOUT_MS: u64 = 180_000;

/// Observes Redis through its Sentinels (`impl Observe<Output = SentinelView>`).
///
/// Pub/sub subscriber tasks (one per Sentinel) start on [`SentinelObserver::start`] or the
/// first observation, and are aborted when the observer is dropped.
pub struct SentinelObserver {
    master: String,
    sentinels: Vec<Endpoint>,
    password_env: Option<String>,
    timeout: Duration,
    ring: EventRing,
    notify: Arc<Notify>,
    tasks: Mutex<Option<Vec<AbortHandle>>>,
}

/// What one Sentinel answered.
#[derive(Debug, Clone)]
pub(crate) struct SentinelAnswer {
    /// `SENTINEL get-master-addr-by-name`.
    pub master: Option<String>,
    /// `SENTINEL CKQUORUM`.
    pub quorum: Result<String, String>,
    /// `SENTINEL MASTER` fields (`flags`, `failover-timeout`, ...).
    pub master_fields: HashMap<String, String>,
    /// `SENTINEL REPLICAS`.
    pub replicas: Vec<HashMap<String, String>>,
}

impl SentinelObserver {
    /// An observer of `cfg.master` through `cfg.addrs`; `timeout` bounds each Sentinel and the
    /// master separately. Never fails: an invalid address shows as that Sentinel's error.
    pub fn new(cfg: &SentinelConfig, timeout: Duration) -> SentinelObserver {
        SentinelObserver {
            master: cfg.master.clone(),
            sentinels: cfg.addrs.iter().map(|a| Endpoint::new(a)).collect(),
            password_env: cfg.password_env.clone(),
            timeout,
            ring: EventRing::default(),
            notify: Arc::new(Notify::new()),
            tasks: Mutex::new(None),
        }
    }

    /// Longest one observation can take (Sentinels concurrently, then the master): the
    /// poller's timeout for this source must be longer.
    pub fn worst_case(&self) -> Duration {
        self.timeout * 2
    }

    /// Notified on every Sentinel event, so the poller can re-poll at once.
    pub fn notify_handle(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Start the pub/sub subscribers (idempotent). Must run inside a tokio runtime; without
    /// one it does nothing and the first observation starts them.
    pub fn start(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Ok(mut tasks) = self.tasks.lock() else { return };
        if tasks.is_some() {
            return;
        }
        let pw = password(self.password_env.as_deref()).ok().flatten();
        let handles = self
            .sentinels
            .iter()
            .filter_map(|s| s.addr.clone().ok())
            .map(|addr| {
                Subscriber {
                    addr,
                    password: pw.clone(),
                    master: self.master.clone(),
                    ring: self.ring.clone(),
                    notify: self.notify.clone(),
                    timeout: self.timeout,
                }
                .spawn()
            })
            .collect();
        *tasks = Some(handles);
    }

    async fn poll(&self) -> Result<SentinelView, String> {
        self.start();
        let pw = password(self.password_env.as_deref())?;
        let pw = pw.as_deref();
        let answers = join_all(self.sentinels.iter().map(|s| async move {
            let addr = s.addr.as_ref().map_err(Clone::clone)?;
            match tokio::time::timeout(self.timeout, ask(addr, pw, &self.master, self.timeout)).await {
                Err(_) => Err(format!("timeout after {}", human(self.timeout))),
                Ok(r) => r,
            }
        }))
        .await;
        if answers.iter().all(Result::is_err) {
            let why: Vec<String> = self
                .sentinels
                .iter()
                .zip(&answers)
                .filter_map(|(s, a)| Some(format!("{}: {}", s.label, a.as_ref().err()?)))
                .collect();
            return Err(format!("no Sentinel answered: {}", why.join("; ")));
        }
        let mut view = SentinelView { master_name: self.master.clone(), ..SentinelView::default() };
        view.sentinels = self
            .sentinels
            .iter()
            .zip(&answers)
            .map(|(s, a)| SentinelObs {
                addr: s.label.clone(),
                master: a.as_ref().ok().and_then(|a| a.master.clone()),
                error: a.as_ref().err().cloned(),
            })
            .collect();
        let ok: Vec<&SentinelAnswer> = answers.iter().flatten().collect();
        let chosen = majority_master(&ok);
        view.quorum = ok.first().map(|a| a.quorum.clone());
        if let Some(m) = &chosen {
            let from = ok.iter().find(|a| a.master.as_deref() == Some(m.as_str())).copied();
            let (role, offset) = master_replication(m, pw, self.timeout).await;
            view.master_role = role;
            view.replicas = from.map(|a| replicas_of(a, offset)).unwrap_or_default();
        }
        view.events = self.ring.snapshot();
        let window_ms = ok
            .iter()
            .filter_map(|a| a.master_fields.get("failover-timeout")?.parse::<u64>().ok())
            .max()
            .unwrap_or(DEFAULT_FAILOVER_TIMEOUT_MS);
        let flagged = ok.iter().any(|a| {
            a.master_fields.get("flags").is_some_and(|f| f.split(',').any(|x| x == "failover_in_progress"))
        });
        let window = chrono::Duration::milliseconds(i64::try_from(window_ms).unwrap_or(i64::MAX));
        view.failover_in_progress = flagged || failover_running(&view.events, Utc::now(), window);
        Ok(view)
    }
}

impl Drop for SentinelObserver {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.take().unwrap_or_default() {
                t.abort();
            }
        }
    }
}

impl Observe for SentinelObserver {
    type Output = SentinelView;

    fn name(&self) -> &str {
        "sentinel"
    }

    fn observe(&self) -> BoxFuture<'_, Result<SentinelView, String>> {
        Box::pin(self.poll())
    }
}

/// Ask one Sentinel everything it knows about `master`.
pub(crate) async fn ask(
    addr: &Addr,
    pw: Option<&str>,
    master: &str,
    timeout: Duration,
) -> Result<SentinelAnswer, String> {
    let mut c = connect(addr, pw, timeout).await?;
    let err = |e: redis::RedisError| describe(&e, pw);
    let reported: Option<(String, String)> =
        sentinel(&mut c, "get-master-addr-by-name", master).await.map_err(err)?;
    let quorum = match sentinel::<String>(&mut c, "ckquorum", master).await {
        Ok(s) => Ok(s),
        Err(e) if e.is_io_error() || e.is_timeout() => return Err(err(e)),
        Err(e) => Err(err(e)),
    };
    let master_fields: HashMap<String, String> = sentinel(&mut c, "master", master).await.map_err(err)?;
    let replicas: Vec<HashMap<String, String>> = sentinel(&mut c, "replicas", master).await.map_err(err)?;
    Ok(SentinelAnswer { master: reported.map(|(h, p)| format!("{h}:{p}")), quorum, master_fields, replicas })
}

async fn sentinel<T: redis::FromRedisValue>(
    c: &mut MultiplexedConnection,
    sub: &str,
    master: &str,
) -> redis::RedisResult<T> {
    redis::cmd("SENTINEL").arg(sub).arg(master).query_async(c).await
}

/// The master most Sentinels report (ties: the first in configured order).
pub(crate) fn majority_master(answers: &[&SentinelAnswer]) -> Option<String> {
    let reported: Vec<&str> = answers.iter().filter_map(|a| a.master.as_deref()).collect();
    let mut best: Option<(&str, usize)> = None;
    for m in &reported {
        let n = reported.iter().filter(|x| *x == m).count();
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((m, n));
        }
    }
    best.map(|(m, _)| m.to_string())
}

/// The master's own `role` and `master_repl_offset` (both `None` when it does not answer).
async fn master_replication(
    master: &str,
    pw: Option<&str>,
    timeout: Duration,
) -> (Option<String>, Option<u64>) {
    let Ok(addr) = Addr::parse(master) else { return (None, None) };
    let info = async {
        let mut c = connect(&addr, pw, timeout).await.ok()?;
        redis::cmd("INFO").arg("replication").query_async::<String>(&mut c).await.ok()
    };
    match tokio::time::timeout(timeout, info).await {
        Ok(Some(text)) => {
            let m = parse_info(&text);
            (m.get("role").cloned(), m.get("master_repl_offset").and_then(|o| o.parse().ok()))
        }
        _ => (None, None),
    }
}

/// Replicas as one Sentinel lists them, with the offset lag against `master_offset`.
pub(crate) fn replicas_of(a: &SentinelAnswer, master_offset: Option<u64>) -> Vec<RedisReplica> {
    a.replicas
        .iter()
        .map(|r| {
            let field = |k: &str| r.get(k).cloned().unwrap_or_default();
            let offset = r.get("slave-repl-offset").and_then(|o| o.parse::<u64>().ok());
            RedisReplica {
                addr: format!("{}:{}", field("ip"), field("port")),
                flags: field("flags"),
                link_up: field("master-link-status") == "ok",
                offset_lag: master_offset.zip(offset).map(|(m, o)| m.saturating_sub(o)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(master: Option<&str>) -> SentinelAnswer {
        SentinelAnswer {
            master: master.map(String::from),
            quorum: Ok("OK".into()),
            master_fields: HashMap::new(),
            replicas: vec![],
        }
    }

    #[test]
    fn majority_master_wins_and_ties_keep_order() {
        let (a, b, c) = (answer(Some("h:1")), answer(Some("h:2")), answer(Some("h:2")));
        assert_eq!(majority_master(&[&a, &b, &c]).as_deref(), Some("h:2"));
        assert_eq!(majority_master(&[&a, &b]).as_deref(), Some("h:1"));
        assert_eq!(majority_master(&[&answer(None)]), None);
    }

    #[test]
    fn replica_rows_compute_offset_lag() {
        let mut a = answer(Some("h:1"));
        a.replicas = vec![HashMap::from([
            ("ip".to_string(), "127.0.0.1".to_string()),
            ("port".to_string(), "7000".to_string()),
            ("flags".to_string(), "slave".to_string()),
            ("master-link-status".to_string(), "ok".to_string()),
            ("slave-repl-offset".to_string(), "900".to_string()),
        ])];
        let rows = replicas_of(&a, Some(1000));
        assert_eq!(rows[0].addr, "127.0.0.1:7000");
        assert!(rows[0].link_up);
        assert_eq!(rows[0].offset_lag, Some(100));
        assert_eq!(replicas_of(&a, None)[0].offset_lag, None);
    }
}
