//! [`SentinelOperator`]: `SENTINEL FAILOVER` with the guards a 3 a.m. operator needs.
//!
//! Refused when: a Sentinel flags a failover in progress; a replica still reports
//! `role:master` (the stale old master of a recent failover, which a second failover could
//! promote); this operator requested a failover of the same master less than Sentinel's
//! failover-timeout ago; or the Sentinel answers `INPROG`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, join_all};
use tokio::sync::Mutex;

use super::conn::{Endpoint, connect, describe, human, is_inprog, password};
use super::observe::ask;
use crate::backends::Operate;
use crate::config::model::SentinelConfig;
use crate::operation::Operation;

/// Guard window used when Sentinel does not report its failover-timeout.
const DEFAULT_WINDOW: Duration = Duration::from_secs(180);

/// Carries out `SentinelFailover` through a configured Sentinel.
pub struct SentinelOperator {
    master: String,
    sentinels: Vec<Endpoint>,
    password_env: Option<String>,
    timeout: Duration,
    /// Last accepted request: when, through which Sentinel, and the guard window.
    last: Mutex<Option<(Instant, String, Duration)>>,
}

impl SentinelOperator {
    /// An operator for `cfg`; `timeout` bounds each Sentinel round trip.
    pub fn new(cfg: &SentinelConfig, timeout: Duration) -> SentinelOperator {
        SentinelOperator {
            master: cfg.master.clone(),
            sentinels: cfg.addrs.iter().map(|a| Endpoint::new(a)).collect(),
            password_env: cfg.password_env.clone(),
            timeout,
            last: Mutex::new(None),
        }
    }

    async fn failover(&self, master: &str, via: &str) -> Result<String, String> {
        if master != self.master {
            return Err(format!("refused: {master} is not the configured Sentinel master ({})", self.master));
        }
        let target = self
            .sentinels
            .iter()
            .find(|s| s.label == via)
            .ok_or_else(|| format!("refused: {via} is not a configured Sentinel"))?;
        let addr = target.addr.as_ref().map_err(Clone::clone)?;
        // Held for the whole call: two concurrent requests cannot both pass the guard.
        let mut last = self.last.lock().await;
        if let Some((at, through, window)) = last.as_ref() {
            let ago = at.elapsed();
            if ago < *window {
                return Err(format!(
                    "refused: a failover of {master} was requested through {through} {} ago; wait until \
                     Sentinel's failover-timeout ({}) has passed (a second failover now could promote the \
                     stale old master)",
                    human(ago),
                    human(*window)
                ));
            }
        }
        let pw = password(self.password_env.as_deref())?;
        let pw = pw.as_deref();
        // Fresh look through every Sentinel: only the leader flags a running failover.
        let answers = join_all(self.sentinels.iter().map(|s| async move {
            let addr = s.addr.as_ref().ok()?;
            tokio::time::timeout(self.timeout, ask(addr, pw, master, self.timeout)).await.ok()?.ok()
        }))
        .await;
        let mut window = None;
        for (s, a) in self.sentinels.iter().zip(&answers) {
            let Some(a) = a else { continue };
            let flags = a.master_fields.get("flags").map(String::as_str).unwrap_or("");
            if flags.split(',').any(|f| f == "failover_in_progress") {
                return Err(format!(
                    "refused: Sentinel {} reports a failover of {master} in progress (flags {flags}); wait for \
                     +failover-end",
                    s.label
                ));
            }
            if let Some(stale) = a.replicas.iter().find(|r| field(r, "role-reported") == "master") {
                return Err(format!(
                    "refused: replica {}:{} still reports role master (stale old master of a recent \
                     failover); Sentinel has not reconfigured it yet, retry in a few seconds",
                    field(stale, "ip"),
                    field(stale, "port")
                ));
            }
            let ms = a.master_fields.get("failover-timeout").and_then(|v| v.parse::<u64>().ok());
            window = window.max(ms.map(Duration::from_millis));
        }
        let before = answers.iter().flatten().find_map(|a| a.master.clone());
        let started = Instant::now();
        let mut c = connect(addr, pw, self.timeout).await.map_err(|e| format!("{via}: {e}"))?;
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("FAILOVER").arg(master);
        let reply = cmd.query_async::<String>(&mut c);
        match tokio::time::timeout(self.timeout, reply).await {
            Err(_) => Err(format!("{via}: no answer to SENTINEL FAILOVER within {}", human(self.timeout))),
            Ok(Err(e)) if is_inprog(&e) => Err(format!(
                "refused by {via}: a failover of {master} is already in progress ({})",
                describe(&e, pw)
            )),
            Ok(Err(e)) => Err(format!("{via}: SENTINEL FAILOVER {master} failed: {}", describe(&e, pw))),
            Ok(Ok(_)) => {
                *last = Some((Instant::now(), via.to_string(), window.unwrap_or(DEFAULT_WINDOW)));
                Ok(format!(
                    "SENTINEL FAILOVER {master} accepted by {via} in {} (master was {})",
                    human(started.elapsed()),
                    before.as_deref().unwrap_or("unknown")
                ))
            }
        }
    }
}

fn field<'a>(m: &'a HashMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

impl Operate for SentinelOperator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            match op {
                Operation::SentinelFailover { master, sentinel, .. } => {
                    self.failover(&master, &sentinel).await
                }
                other => Err(format!("not a Sentinel operation: {}", other.name())),
            }
        })
    }
}
