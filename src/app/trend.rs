//! Trends: a bounded history per replica of replay lag (bytes and seconds) and per region of
//! traffic share and health, sampled from the snapshots the core receives (so a replay
//! reproduces it).
//!
//! Every series is a fixed ring of [`BUCKETS`] time buckets of [`BUCKET_SECS`] each: memory is
//! the same after a minute or a 12-hour incident, and does not grow with the pod count (series
//! are per configured node and region). Only fresh data is sampled: a bucket without a fresh
//! value stays a gap, so stale data never draws as a flat line. The console also logs a
//! low-rate `trend-sample` entry per series ([`SampleLog`]) so the post-mortem can chart it.

mod log;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::backends::Observed;
use crate::backends::model::{HealthState, PgRole};

pub use log::{SAMPLE_GAP_SECS, SampleLog};

/// Seconds one bucket covers.
pub const BUCKET_SECS: i64 = 10;
/// Buckets per series: 90 of 10 s = the last 15 minutes.
pub const BUCKETS: usize = 90;
/// The span the trends cover, as the panes label it.
pub const SPAN_LABEL: &str = "last 15 min";
/// At most this many series per kind (nodes or regions renamed over a long incident cannot grow
/// the history without bound): the oldest-named extra series are not kept.
pub const MAX_SERIES: usize = 64;

/// How several samples in one bucket combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// The largest (lag: the worst).
    Max,
    /// The smallest (health: the worst).
    Min,
}

/// One series: a ring of buckets, the newest last, each `None` (no fresh data) or a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    fold: Fold,
    /// Bucket index (`unix seconds / BUCKET_SECS`) of the last ring element.
    newest: i64,
    ring: VecDeque<Option<f64>>,
}

impl Series {
    /// An empty series.
    pub fn new(fold: Fold) -> Series {
        Series { fold, newest: 0, ring: VecDeque::with_capacity(BUCKETS) }
    }

    /// Record `value` observed at `at`. Skipped buckets become gaps; a value older than the ring
    /// is dropped.
    pub fn record(&mut self, at: DateTime<Utc>, value: f64) {
        let idx = at.timestamp().div_euclid(BUCKET_SECS);
        if self.ring.is_empty() {
            self.ring.push_back(Some(value));
            self.newest = idx;
            return;
        }
        if idx > self.newest {
            let skipped = (idx - self.newest - 1).min(BUCKETS as i64) as usize;
            for _ in 0..skipped {
                self.push(None);
            }
            self.push(Some(value));
            self.newest = idx;
            return;
        }
        let back = (self.newest - idx) as usize;
        if back >= self.ring.len() {
            return;
        }
        let pos = self.ring.len() - 1 - back;
        let fold = self.fold;
        let slot = &mut self.ring[pos];
        *slot = Some(match (*slot, fold) {
            (None, _) => value,
            (Some(v), Fold::Max) => v.max(value),
            (Some(v), Fold::Min) => v.min(value),
        });
    }

    /// Append a bucket, dropping the oldest first when full (the ring never reallocates).
    fn push(&mut self, v: Option<f64>) {
        if self.ring.len() >= BUCKETS {
            self.ring.pop_front();
        }
        self.ring.push_back(v);
    }

    /// The last [`BUCKETS`] buckets ending with the bucket of `now`, oldest first: a bucket after
    /// the newest sample (data went stale or the source stopped) is a gap.
    pub fn window(&self, now: DateTime<Utc>) -> Vec<Option<f64>> {
        let now_idx = now.timestamp().div_euclid(BUCKET_SECS);
        let oldest_kept = self.newest - self.ring.len() as i64 + 1;
        (0..BUCKETS as i64)
            .map(|k| now_idx - (BUCKETS as i64 - 1) + k)
            .map(|b| {
                if self.ring.is_empty() || b < oldest_kept || b > self.newest {
                    None
                } else {
                    self.ring[(b - oldest_kept) as usize]
                }
            })
            .collect()
    }

    /// The window squeezed into `cells` columns (each the fold of its buckets; a gap only when
    /// all its buckets are): the whole span stays covered however narrow the column.
    pub fn cells(&self, now: DateTime<Utc>, cells: usize) -> Vec<Option<f64>> {
        let window = self.window(now);
        if cells == 0 {
            return Vec::new();
        }
        if cells >= BUCKETS {
            return window;
        }
        let per = BUCKETS.div_ceil(cells);
        let used = BUCKETS.div_ceil(per);
        // Align groups to the newest bucket: the first group may be shorter.
        let first = BUCKETS - (used - 1) * per;
        let mut out = Vec::with_capacity(used);
        let mut start = 0;
        for g in 0..used {
            let len = if g == 0 { first } else { per };
            out.push(fold_all(self.fold, &window[start..start + len]));
            start += len;
        }
        out
    }

    /// Heap bytes this series holds (its ring).
    pub fn heap_bytes(&self) -> usize {
        self.ring.capacity() * std::mem::size_of::<Option<f64>>()
    }
}

fn fold_all(fold: Fold, values: &[Option<f64>]) -> Option<f64> {
    values.iter().flatten().copied().reduce(|a, b| match fold {
        Fold::Max => a.max(b),
        Fold::Min => a.min(b),
    })
}

/// Health as a trend value: healthy 1, unknown 0.5, unhealthy 0 (folded to the worst).
pub fn health_value(h: HealthState) -> f64 {
    match h {
        HealthState::Healthy => 1.0,
        HealthState::Unknown => 0.5,
        HealthState::Unhealthy => 0.0,
    }
}

/// Every trend the console keeps, keyed by node or region name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trends {
    /// Replay lag in bytes per replica.
    pub lag_bytes: BTreeMap<String, Series>,
    /// Replay lag in seconds per replica.
    pub lag_secs: BTreeMap<String, Series>,
    /// Traffic share (percent of the total weight) per region (the largest in a bucket).
    pub share: BTreeMap<String, Series>,
    /// Health-check state per region ([`health_value`]).
    pub health: BTreeMap<String, Series>,
    /// What was last logged per series (the `trend-sample` entries).
    pub logged: SampleLog,
}

fn record(map: &mut BTreeMap<String, Series>, fold: Fold, name: &str, at: DateTime<Utc>, v: f64) {
    if let Some(s) = map.get_mut(name) {
        s.record(at, v);
    } else if map.len() < MAX_SERIES {
        let mut s = Series::new(fold);
        s.record(at, v);
        map.insert(name.to_string(), s);
    }
}

impl Trends {
    /// Sample the database and traffic snapshots of `observed`: only fresh values, at the time
    /// they were fetched. A replica that is down, erroring or without a figure adds nothing (a
    /// gap). Pods are not sampled: the cost does not grow with the estate.
    pub fn sample(&mut self, observed: &Observed) {
        let db = &observed.database;
        if let (Some(v), Some(at)) = (db.fresh_value(), db.fetched_at) {
            for n in v.nodes.iter().filter(|n| n.role == PgRole::Replica && n.error.is_none()) {
                if let Some(b) = n.replay_lag_bytes {
                    record(&mut self.lag_bytes, Fold::Max, &n.name, at, b as f64);
                }
                if let Some(s) = n.replay_lag_seconds {
                    record(&mut self.lag_secs, Fold::Max, &n.name, at, s);
                }
            }
        }
        let t = &observed.traffic;
        if let (Some(v), Some(at)) = (t.fresh_value(), t.fetched_at) {
            for r in &v.regions {
                if let Some(share) = v.share(&r.name) {
                    record(&mut self.share, Fold::Max, &r.name, at, share * 100.0);
                }
                record(&mut self.health, Fold::Min, &r.name, at, health_value(r.health_check));
            }
        }
    }

    /// Heap bytes of the whole history (rings and names).
    pub fn heap_bytes(&self) -> usize {
        [&self.lag_bytes, &self.lag_secs, &self.share, &self.health]
            .iter()
            .flat_map(|m| m.iter())
            .map(|(k, s)| k.capacity() + s.heap_bytes() + std::mem::size_of::<Series>())
            .sum::<usize>()
            + self.logged.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
