//! The DNS verification after a Route 53 change: ask every authoritative server (several
//! times for a weighted record), re-ask the ones that do not agree yet until they do or the
//! sync timeout passes, and later re-check once for drift.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::time::Instant;

use super::judge::{Expected, ServerState, judge, seen_values};
use super::probe::{Reply, query};

/// One authoritative server to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameServer {
    /// As configured or delegated (`ns1.example.net`, `127.0.0.1:5301`).
    pub name: String,
    /// Where queries go.
    pub addr: SocketAddr,
}

impl NameServer {
    /// `ns1.example.net (192.0.2.53:53)`, or the address alone when that is the name.
    pub fn label(&self) -> String {
        if self.name == self.addr.to_string() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.addr)
        }
    }
}

/// Resolve name server entries with the system resolver: one address per entry, IPv4 when the
/// name has one (as a resolver would; an IPv6-only path would otherwise fail every check on a
/// host without IPv6). The same address given twice is asked once.
pub async fn resolve(entries: &[String]) -> Result<Vec<NameServer>, String> {
    let mut out: Vec<NameServer> = Vec::new();
    for entry in entries {
        let (host, port) =
            crate::config::validate::name_server(entry).map_err(|e| format!("name server {e}"))?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve name server {host}: {e}"))?
            .collect();
        let Some(addr) = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied() else {
            return Err(format!("name server {host} has no address"));
        };
        if !out.iter().any(|n| n.addr == addr) {
            out.push(NameServer { name: entry.trim().to_string(), addr });
        }
    }
    if out.is_empty() {
        return Err("no name server to ask".into());
    }
    Ok(out)
}

/// What one server answered in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResult {
    /// The server.
    pub server: NameServer,
    /// Its state against the expected answer.
    pub state: ServerState,
    /// Every value seen (normalized).
    pub values: BTreeSet<String>,
    /// Largest TTL seen.
    pub ttl: Option<u32>,
    /// Time of each query of the round.
    pub query_times: Vec<Duration>,
}

impl ServerResult {
    /// Whether it agrees.
    pub fn in_sync(&self) -> bool {
        self.state == ServerState::InSync
    }
}

/// How the servers are asked.
#[derive(Debug, Clone)]
pub struct DnsCheck {
    /// Record name (absolute).
    pub name: String,
    /// Record type.
    pub rtype: RecordType,
    /// Timeout of one query.
    pub query_timeout: Duration,
    /// Queries per server and round for a weighted record (Route 53 answers one weighted set
    /// per query); a plain record is asked once.
    pub samples: u32,
    /// Pause between two rounds for the servers that do not agree yet.
    pub retry_interval: Duration,
}

/// Queries per server and round for a weighted record.
pub const DEFAULT_SAMPLES: u32 = 16;

impl DnsCheck {
    /// Ask one server (`samples` times for a weighted record, stopping at the first failure or
    /// disagreeing answer).
    pub async fn ask(&self, server: &NameServer, expected: &Expected) -> ServerResult {
        let n = if expected.weighted { self.samples.max(1) } else { 1 };
        let mut replies: Vec<Reply> = Vec::new();
        let mut error = None;
        for _ in 0..n {
            match query(server.addr, &self.name, self.rtype, self.query_timeout).await {
                Ok(r) => {
                    let stop = !r.is_noerror() || !expected.agrees(&seen_values(std::slice::from_ref(&r)));
                    replies.push(r);
                    if stop {
                        break;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        ServerResult {
            server: server.clone(),
            state: judge(expected, &replies, error.as_deref()),
            values: seen_values(&replies),
            ttl: replies.iter().filter_map(|r| r.ttl).max(),
            query_times: replies.iter().map(|r| r.took).collect(),
        }
    }

    /// Ask every server at once.
    pub async fn ask_all(&self, servers: &[NameServer], expected: &Expected) -> Vec<ServerResult> {
        futures::future::join_all(servers.iter().map(|s| self.ask(s, expected))).await
    }

    /// Ask every server, then re-ask those that do not agree every `retry_interval` until all
    /// agree or `limit` passes. Each server's last result is kept, with when it first agreed.
    pub async fn until_in_sync(
        &self,
        servers: &[NameServer],
        expected: &Expected,
        limit: Duration,
    ) -> SyncReport {
        let start = Instant::now();
        let mut results = self.ask_all(servers, expected).await;
        let mut synced_after: Vec<Option<Duration>> =
            results.iter().map(|r| r.in_sync().then_some(Duration::ZERO)).collect();
        let mut rounds = 1;
        while synced_after.iter().any(Option::is_none) && start.elapsed() + self.retry_interval < limit {
            tokio::time::sleep(self.retry_interval).await;
            rounds += 1;
            let pending: Vec<usize> = (0..servers.len()).filter(|i| synced_after[*i].is_none()).collect();
            let again =
                futures::future::join_all(pending.iter().map(|i| self.ask(&servers[*i], expected))).await;
            for (i, r) in pending.into_iter().zip(again) {
                if r.in_sync() {
                    synced_after[i] = Some(start.elapsed());
                }
                results[i] = r;
            }
        }
        SyncReport { expected: expected.clone(), results, synced_after, rounds, elapsed: start.elapsed() }
    }
}

/// The outcome of [`DnsCheck::until_in_sync`].
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// What every server had to answer.
    pub expected: Expected,
    /// Each server's last result.
    pub results: Vec<ServerResult>,
    /// When each server first agreed (zero: in the first round; `None`: never within the limit).
    pub synced_after: Vec<Option<Duration>>,
    /// Rounds asked.
    pub rounds: u32,
    /// Time the whole check took.
    pub elapsed: Duration,
}

impl SyncReport {
    /// Every server agrees.
    pub fn all_in_sync(&self) -> bool {
        self.results.iter().all(ServerResult::in_sync)
    }

    /// Largest TTL any server answered with.
    pub fn max_ttl(&self) -> Option<u32> {
        self.results.iter().filter_map(|r| r.ttl).max()
    }

    /// One line per server: `ns1 (127.0.0.1:5301): in sync after 0.0 s, answers 192.0.2.10
    /// (us-west-2), TTL 60 s, 3 ms`.
    pub fn lines(&self) -> Vec<String> {
        self.results
            .iter()
            .zip(&self.synced_after)
            .map(|(r, after)| {
                let median =
                    median(&r.query_times).map(|d| format!(", {} ms", d.as_millis())).unwrap_or_default();
                let ttl = r.ttl.map(|t| format!(", TTL {t} s")).unwrap_or_default();
                match (&r.state, after) {
                    (ServerState::InSync, Some(a)) => {
                        let lag = if !a.is_zero() {
                            format!("in sync after lagging {:.1} s", a.as_secs_f64())
                        } else {
                            "in sync".to_string()
                        };
                        format!(
                            "{}: {lag}, answers {}{ttl}{median}",
                            r.server.label(),
                            self.expected.label(&r.values)
                        )
                    }
                    (ServerState::InSync, None) => format!("{}: in sync{ttl}{median}", r.server.label()),
                    (ServerState::Disagrees(what), _) => format!(
                        "{}: lagging, never caught up in {:.0} s: still {what}",
                        r.server.label(),
                        self.elapsed.as_secs_f64()
                    ),
                    (ServerState::Unreachable(e), _) => format!("{}: unreachable: {e}", r.server.label()),
                }
            })
            .collect()
    }

    /// The step's result: `Ok(summary)` only when every server agrees, else which did not.
    pub fn verdict(&self) -> Result<String, String> {
        let lines = self.lines().join("; ");
        let n = self.results.len();
        if self.all_in_sync() {
            let ttl = self
                .max_ttl()
                .map(|t| format!("; resolvers may serve the old answer for up to {t} s more (max TTL)"))
                .unwrap_or_default();
            return Ok(format!("all {n} name servers answer {}: {lines}{ttl}", self.expected.describe()));
        }
        let bad: Vec<String> = self
            .results
            .iter()
            .filter(|r| !r.in_sync())
            .map(|r| format!("{} {}", r.server.label(), r.state.word()))
            .collect();
        Err(format!(
            "{} of {n} name servers do not answer {} after {:.1} s ({}): {lines}",
            bad.len(),
            self.expected.describe(),
            self.elapsed.as_secs_f64(),
            bad.join(", ")
        ))
    }

    /// The drift re-check's result: every server must still agree; one that does not is drift.
    pub fn drift_verdict(&self, after: Duration) -> Result<String, String> {
        let n = self.results.len();
        let drifted: Vec<String> = self
            .results
            .iter()
            .filter(|r| !r.in_sync())
            .map(|r| match &r.state {
                ServerState::Disagrees(what) => format!("{} now {what}", r.server.label()),
                other => format!("{} {}", r.server.label(), describe_state(other)),
            })
            .collect();
        if drifted.is_empty() {
            Ok(format!(
                "no drift {} s after the change: all {n} name servers still answer {}",
                after.as_secs(),
                self.expected.describe()
            ))
        } else {
            Err(format!(
                "DRIFT {} s after the change: {} (expected {}); {}",
                after.as_secs(),
                drifted.join("; "),
                self.expected.describe(),
                self.lines().join("; ")
            ))
        }
    }
}

fn describe_state(s: &ServerState) -> String {
    match s {
        ServerState::InSync => "in sync".into(),
        ServerState::Disagrees(w) => w.clone(),
        ServerState::Unreachable(e) => format!("unreachable: {e}"),
    }
}

/// The median of some durations.
pub fn median(times: &[Duration]) -> Option<Duration> {
    let mut t = times.to_vec();
    t.sort();
    t.get(t.len() / 2).copied()
}
