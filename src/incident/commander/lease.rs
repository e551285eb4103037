//! The Kubernetes lock: a `coordination.k8s.io/v1` Lease `warroom-<incident id lowercased>` in
//! an explicit context and namespace. Writes replace the Lease with the resourceVersion that was
//! read (optimistic concurrency): a 409 Conflict means another console won the race, so the
//! Lease is read again and its holder reported.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use super::{CommanderLock, Holder, LockState};

/// The commander lock as a Kubernetes Lease.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    context: String,
    namespace: String,
    name: String,
    ttl: Duration,
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

fn micro(t: DateTime<Utc>) -> MicroTime {
    MicroTime(Timestamp::from_microsecond(t.timestamp_micros()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn chrono_time(t: &MicroTime) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.0.as_microsecond()).unwrap_or_default()
}

/// The holder a Lease records (`None` when it has no holder identity).
pub fn holder_of(lease: &Lease) -> Option<Holder> {
    let spec = lease.spec.as_ref()?;
    let identity = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let acquired_at = spec.acquire_time.as_ref().map(chrono_time).unwrap_or_default();
    let renewed_at = spec.renew_time.as_ref().map(chrono_time).unwrap_or(acquired_at);
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(0).max(0));
    Some(Holder {
        identity,
        acquired_at,
        renewed_at,
        expires_at: renewed_at + chrono::Duration::seconds(secs),
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
        LeaseLock {
            api: Api::namespaced(client, namespace),
            context: context.to_string(),
            namespace: namespace.to_string(),
            name: lease_name(incident_id),
            ttl,
        }
    }

    /// The Lease name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, what: &str, e: kube::Error) -> String {
        format!("{}: {what}: {e}", self.describe())
    }

    fn duration_secs(&self) -> i32 {
        i32::try_from(self.ttl.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    async fn read(&self) -> Result<Option<Lease>, String> {
        self.api.get_opt(&self.name).await.map_err(|e| self.err("get", e))
    }

    async fn classify_now(&self, me: &str) -> Result<LockState, String> {
        let lease = self.read().await?;
        Ok(LockState::classify(lease.as_ref().and_then(holder_of), me, Utc::now()))
    }

    /// Replace `lease` (carrying the resourceVersion read) with `spec`; a Conflict re-reads.
    async fn write(&self, mut lease: Lease, spec: LeaseSpec, me: &str) -> Result<LockState, String> {
        lease.spec = Some(spec);
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(written) => Ok(LockState::classify(holder_of(&written), me, Utc::now())),
            Err(kube::Error::Api(s)) if s.is_conflict() => {
                tracing::info!("{}: conflict on replace: another console won", self.describe());
                self.classify_now(me).await
            }
            Err(e) => Err(self.err("replace", e)),
        }
    }

    async fn acquire_async(&self, me: &str, force: bool) -> Result<LockState, String> {
        let now = Utc::now();
        let Some(lease) = self.read().await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(
                        [("app.kubernetes.io/managed-by".to_string(), "warroom".to_string())].into(),
                    ),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.to_string()),
                    lease_duration_seconds: Some(self.duration_secs()),
                    acquire_time: Some(micro(now)),
                    renew_time: Some(micro(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => Ok(LockState::classify(holder_of(&created), me, Utc::now())),
                Err(kube::Error::Api(s)) if s.is_already_exists() || s.is_conflict() => {
                    self.classify_now(me).await
                }
                Err(e) => Err(self.err("create", e)),
            };
        };
        let current = LockState::classify(holder_of(&lease), me, now);
        if let LockState::Theirs(h) = &current
            && !force
        {
            return Ok(LockState::Theirs(h.clone()));
        }
        let old = lease.spec.clone().unwrap_or_default();
        let mut spec = old.clone();
        spec.holder_identity = Some(me.to_string());
        spec.lease_duration_seconds = Some(self.duration_secs());
        spec.renew_time = Some(micro(now));
        match current {
            LockState::Mine(h) if !h.expired(now) => {}
            _ => {
                spec.acquire_time = Some(micro(now));
                spec.lease_transitions = Some(old.lease_transitions.unwrap_or(0).saturating_add(1));
            }
        }
        self.write(lease, spec, me).await
    }

    async fn renew_async(&self, me: &str) -> Result<LockState, String> {
        let Some(lease) = self.read().await? else { return Ok(LockState::Free) };
        match LockState::classify(holder_of(&lease), me, Utc::now()) {
            LockState::Mine(_) => {
                let mut spec = lease.spec.clone().unwrap_or_default();
                spec.renew_time = Some(micro(Utc::now()));
                spec.lease_duration_seconds = Some(self.duration_secs());
                self.write(lease, spec, me).await
            }
            other => Ok(other),
        }
    }

    async fn release_async(&self, me: &str) -> Result<LockState, String> {
        let Some(lease) = self.read().await? else { return Ok(LockState::Free) };
        match LockState::classify(holder_of(&lease), me, Utc::now()) {
            LockState::Mine(_) => {
                let mut spec = lease.spec.clone().unwrap_or_default();
                spec.holder_identity = None;
                spec.renew_time = Some(micro(Utc::now()));
                self.write(lease, spec, me).await
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
