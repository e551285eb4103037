//! The commander lock as a Kubernetes Lease `warroom-<incident id lowercased>` in an explicit
//! context and namespace. Writes replace the Lease with the resourceVersion that was read
//! (optimistic concurrency, [`crate::backends::kube::lease`]): a Conflict means another console
//! won the race, so the Lease is read again and its holder reported.
//!
//! Clocks across hosts: the skew against the API server's clock is measured (once a minute)
//! and a lease is taken over only once it has expired by more than the bound (see [`super::skew`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::backends::kube::lease::{LeaseClient, LeaseError, LeaseRecord, StoredLease};
use crate::backends::kube::server_clock;

use super::skew::{self, ClockBound};
use super::{CommanderLock, Holder, LockState};

/// How long a skew measurement is used before it is taken again.
const REMEASURE: Duration = Duration::from_secs(60);

/// The commander lock as a Kubernetes Lease.
#[derive(Clone)]
pub struct LeaseLock {
    client: LeaseClient,
    kube: kube::Client,
    context: String,
    namespace: String,
    name: String,
    ttl: Duration,
    /// Added to the system clock: a test's skewed host (zero otherwise).
    offset: chrono::Duration,
    /// The last skew measurement and when it was taken.
    clock: Arc<Mutex<Option<(Instant, ClockBound)>>>,
}

impl std::fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The Lease name for an incident: `warroom-<id lowercased>` (a valid DNS subdomain for ids
/// made of letters, digits and `-`).
pub fn lease_name(incident_id: &str) -> String {
    format!("warroom-{}", incident_id.to_ascii_lowercase())
}

/// The holder a Lease records (`None` when it has no holder identity).
pub fn holder_of(record: &LeaseRecord) -> Option<Holder> {
    let identity = record.holder.clone()?;
    let acquired_at = record.acquired_at.unwrap_or_default();
    let renewed_at = record.renewed_at.unwrap_or(acquired_at);
    let secs = i64::from(record.duration_secs.unwrap_or(0).max(0));
    Some(Holder {
        identity,
        acquired_at,
        renewed_at,
        expires_at: renewed_at + chrono::Duration::seconds(secs),
        clock: None,
    })
}

impl LeaseLock {
    /// The Lease of `incident_id` in `namespace`, through `client` (built for `context`).
    pub fn new(
        client: kube::Client,
        context: &str,
        namespace: &str,
        incident_id: &str,
        ttl: Duration,
    ) -> LeaseLock {
        let name = lease_name(incident_id);
        LeaseLock {
            client: LeaseClient::new(client.clone(), namespace, &name),
            kube: client,
            context: context.to_string(),
            namespace: namespace.to_string(),
            name,
            ttl,
            offset: chrono::Duration::zero(),
            clock: Arc::default(),
        }
    }

    /// This lock on a host whose clock is `offset` away from the system clock (tests of clock
    /// skew: every time it writes and every comparison it makes use the skewed clock).
    pub fn with_clock_offset(mut self, offset: chrono::Duration) -> LeaseLock {
        self.offset = offset;
        self
    }

    /// Our clock (the system clock plus the test offset).
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// How far our clock may be from the API server's: measured with `GET /version` at most
    /// once a minute; a failed measurement keeps the last good one, else waits a default margin.
    pub async fn clock_bound(&self) -> ClockBound {
        let cached = self.clock.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, bound)) = &cached
            && at.elapsed() < REMEASURE
        {
            return bound.clone();
        }
        let offset = self.offset;
        let bound = match server_clock::measure(&self.kube, || Utc::now() + offset).await {
            Ok(s) => ClockBound::measured(s.skew, s.bound()),
            Err(e) => match cached {
                Some((_, last)) => return last,
                None => ClockBound::unknown(&e),
            },
        };
        if bound.skew.is_some() {
            *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), bound.clone()));
        }
        bound
    }

    /// Classify a Lease for `me` now, with the clock bound.
    async fn classify(&self, record: Option<&LeaseRecord>, me: &str) -> LockState {
        let bound = self.clock_bound().await;
        skew::classify(record.and_then(holder_of), me, self.now(), &bound)
    }

    /// The Lease name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, e: LeaseError) -> String {
        format!("{}: {e}", self.describe())
    }

    fn duration_secs(&self) -> i32 {
        i32::try_from(self.ttl.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    async fn read(&self) -> Result<Option<StoredLease>, String> {
        self.client.read().await.map_err(|e| self.err(e))
    }

    async fn classify_now(&self, me: &str) -> Result<LockState, String> {
        let lease = self.read().await?;
        Ok(self.classify(lease.as_ref().map(|l| &l.record), me).await)
    }

    /// What a write returned, as seen by `me`; a Conflict (another console won) re-reads.
    async fn outcome(&self, written: Result<StoredLease, LeaseError>, me: &str) -> Result<LockState, String> {
        match written {
            Ok(lease) => Ok(self.classify(Some(&lease.record), me).await),
            Err(LeaseError::Conflict) => {
                tracing::info!("{}: conflict on write: another console won", self.describe());
                self.classify_now(me).await
            }
            Err(e) => Err(self.err(e)),
        }
    }

    /// Replace `lease` (carrying the resourceVersion read) with `record`.
    async fn write(&self, lease: &StoredLease, record: LeaseRecord, me: &str) -> Result<LockState, String> {
        self.outcome(self.client.replace(lease, &record).await, me).await
    }

    async fn acquire_async(&self, me: &str, force: bool) -> Result<LockState, String> {
        let now = self.now();
        let Some(lease) = self.read().await? else {
            let record = LeaseRecord {
                holder: Some(me.to_string()),
                acquired_at: Some(now),
                renewed_at: Some(now),
                duration_secs: Some(self.duration_secs()),
                transitions: Some(0),
            };
            return self.outcome(self.client.create(&record).await, me).await;
        };
        let current = self.classify(Some(&lease.record), me).await;
        if let LockState::Theirs(h) = &current
            && !force
        {
            if skew::waiting(h) {
                tracing::info!("{}: {}", self.describe(), h.clock.as_deref().unwrap_or_default());
            }
            return Ok(LockState::Theirs(h.clone()));
        }
        let old = &lease.record;
        let mut record = LeaseRecord {
            holder: Some(me.to_string()),
            duration_secs: Some(self.duration_secs()),
            renewed_at: Some(now),
            ..old.clone()
        };
        match current {
            LockState::Mine(h) if !h.expired(now) => {}
            _ => {
                record.acquired_at = Some(now);
                record.transitions = Some(old.transitions.unwrap_or(0).saturating_add(1));
            }
        }
        self.write(&lease, record, me).await
    }

    async fn renew_async(&self, me: &str) -> Result<LockState, String> {
        let Some(lease) = self.read().await? else { return Ok(LockState::Free) };
        match self.classify(Some(&lease.record), me).await {
            LockState::Mine(_) => {
                let record = LeaseRecord {
                    renewed_at: Some(self.now()),
                    duration_secs: Some(self.duration_secs()),
                    ..lease.record.clone()
                };
                self.write(&lease, record, me).await
            }
            other => Ok(other),
        }
    }

    async fn release_async(&self, me: &str) -> Result<LockState, String> {
        let Some(lease) = self.read().await? else { return Ok(LockState::Free) };
        match self.classify(Some(&lease.record), me).await {
            LockState::Mine(_) => {
                let record =
                    LeaseRecord { holder: None, renewed_at: Some(self.now()), ..lease.record.clone() };
                self.write(&lease, record, me).await
            }
            other => Ok(other),
        }
    }
}

impl CommanderLock for LeaseLock {
    fn describe(&self) -> String {
        format!("Lease {}/{}/{}", self.context, self.namespace, self.name)
    }

    fn ttl(&self) -> Duration {
        self.ttl
    }

    fn poll_interval(&self) -> Duration {
        // One GET per look: twice a second keeps a takeover under a second with API latency.
        Duration::from_millis(500)
    }

    fn status<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        Box::pin(self.classify_now(me))
    }

    fn acquire<'a>(&'a self, me: &'a str, force: bool) -> BoxFuture<'a, Result<LockState, String>> {
        Box::pin(self.acquire_async(me, force))
    }

    fn renew<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        Box::pin(self.renew_async(me))
    }

    fn release<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        Box::pin(self.release_async(me))
    }
}
