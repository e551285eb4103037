//! PostgreSQL data loss across a failover, from the observations.
//!
//! Every writable primary's last LSN is remembered (split brain included), and each node's
//! *fork LSN*: where its current timeline branched off, as the node reports it
//! ([`PgNodeStatus::fork_lsn`], the timeline history switchpoint) or else the last LSN it was
//! seen to have received as a replica before it became writable (a lower bound: WAL received
//! between that poll and the promotion is not seen, at most one poll interval of writes).
//!
//! Once a single writable primary *S* remains, every other node that was writable since the
//! start (the primary before the fault included) is a *loser* *L*: what it wrote after the
//! two histories forked is lost. The fork is the one of the node that branched: the one on
//! the higher timeline, or, timelines unknown or equal, *S* when it was not the primary before
//! the start, else *L*. Loss = last LSN seen writable on *L* minus that fork LSN, floored at 0.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::PgSwitch;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};

/// Where a fork LSN came from.
pub const FORK_REPORTED: &str = "timeline history (reported by the node)";
/// The fallback source of a fork LSN.
pub const FORK_AS_REPLICA: &str = "last LSN received as a replica before promotion (lower bound)";

/// What the tracker remembers about PostgreSQL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PgTrack {
    /// The single writable primary last seen before the start.
    before: Option<String>,
    /// Nodes seen writable since the start.
    writers: BTreeSet<String>,
    last_writable_lsn: BTreeMap<String, u64>,
    replica_lsn: BTreeMap<String, u64>,
    last_role: BTreeMap<String, PgRole>,
    fork: BTreeMap<String, (u64, &'static str)>,
    timeline: BTreeMap<String, u32>,
}

impl PgTrack {
    /// Feed one fresh snapshot; `started`: the measurement has started.
    pub fn observe(&mut self, db: &DatabaseView, started: bool) {
        for n in &db.nodes {
            self.node(n, started);
        }
        if !started && let Some(p) = db.primary() {
            self.before = Some(p.name.clone());
        }
    }

    fn node(&mut self, n: &PgNodeStatus, started: bool) {
        if let Some(tl) = n.timeline {
            self.timeline.insert(n.name.clone(), tl);
        }
        let was = self.last_role.insert(n.name.clone(), n.role);
        if let Some(f) = n.fork_lsn {
            self.fork.insert(n.name.clone(), (f, FORK_REPORTED));
        }
        match (n.role, n.lsn) {
            (PgRole::Replica, Some(lsn)) => {
                self.replica_lsn.insert(n.name.clone(), lsn);
            }
            (PgRole::Primary, lsn) if !n.read_only => {
                if let Some(lsn) = lsn {
                    self.last_writable_lsn.insert(n.name.clone(), lsn);
                }
                if was == Some(PgRole::Replica)
                    && n.fork_lsn.is_none()
                    && let Some(r) = self.replica_lsn.get(&n.name)
                {
                    self.fork.insert(n.name.clone(), (*r, FORK_AS_REPLICA));
                }
                if started {
                    self.writers.insert(n.name.clone());
                }
            }
            _ => {}
        }
    }

    /// The loss across the switch to `survivor`, if another node wrote since the start: the
    /// switch with the largest loss, and the total loss (`None` when a figure is unknown).
    pub fn switch(&self, survivor: &str, at: DateTime<Utc>) -> Option<(PgSwitch, Option<u64>)> {
        let mut losers: BTreeSet<&String> = self.writers.iter().collect();
        losers.extend(self.before.iter());
        losers.retain(|l| *l != survivor);
        let mut total = Some(0u64);
        let mut worst: Option<(PgSwitch, u64)> = None;
        for l in losers {
            let (fork, source) = match self.fork_between(l, survivor) {
                Some((f, s)) => (Some(f), Some(s)),
                None => (None, None),
            };
            let old_lsn = self.last_writable_lsn.get(l).copied();
            let loss = old_lsn.zip(fork).map(|(o, f)| o.saturating_sub(f));
            total = total.zip(loss).map(|(a, b)| a + b);
            let sw = PgSwitch {
                old_primary: l.clone(),
                old_lsn,
                new_primary: survivor.to_string(),
                new_lsn: fork,
                fork_source: source.map(str::to_string),
                at,
            };
            if worst.as_ref().is_none_or(|(_, w)| loss.unwrap_or(0) >= *w) {
                worst = Some((sw, loss.unwrap_or(0)));
            }
        }
        worst.map(|(sw, _)| (sw, total))
    }

    fn fork_between(&self, loser: &str, survivor: &str) -> Option<(u64, &'static str)> {
        let tl = |n: &str| self.timeline.get(n).copied();
        let branched = match (tl(loser), tl(survivor)) {
            (Some(a), Some(b)) if a > b => loser,
            (Some(a), Some(b)) if b > a => survivor,
            _ if self.before.as_deref() != Some(survivor) => survivor,
            _ => loser,
        };
        self.fork.get(branched).copied()
    }
}
