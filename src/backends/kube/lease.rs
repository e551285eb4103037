//! A `coordination.k8s.io/v1` Lease through the Kubernetes API, typed: [`LeaseClient::read`],
//! [`LeaseClient::create`], and [`LeaseClient::replace`] with the resourceVersion that was read
//! (optimistic concurrency). Someone else's write in between is [`LeaseError::Conflict`]; what
//! to make of a Lease (who holds it, whether that is us) is the caller's business.

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// What a Lease records, as plain values (`None`: the field is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `holderIdentity` (an empty identity reads as `None`).
    pub holder: Option<String>,
    /// `acquireTime`.
    pub acquired_at: Option<DateTime<Utc>>,
    /// `renewTime`.
    pub renewed_at: Option<DateTime<Utc>>,
    /// `leaseDurationSeconds`.
    pub duration_secs: Option<i32>,
    /// `leaseTransitions`.
    pub transitions: Option<i32>,
}

/// A Lease as read or written: its record, and the object itself (carrying the resourceVersion
/// a [`LeaseClient::replace`] must match, and any field the record does not name).
#[derive(Debug, Clone)]
pub struct StoredLease {
    /// What it records.
    pub record: LeaseRecord,
    lease: Lease,
}

/// Why a Lease call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else created or replaced the Lease since it was read: read it again.
    #[error("conflict: the Lease changed since it was read")]
    Conflict,
    /// Any other API or transport failure (`what` is `get`, `create` or `replace`).
    #[error("{what}: {message}")]
    Api {
        /// The call that failed.
        what: &'static str,
        /// The error.
        message: String,
    },
}

/// One named Lease in one namespace, through a client built for an explicit context.
#[derive(Clone)]
pub struct LeaseClient {
    api: Api<Lease>,
    namespace: String,
    name: String,
}

impl LeaseClient {
    /// The Lease `name` in `namespace`, through `client`.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> LeaseClient {
        LeaseClient {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The Lease, or `None` when there is none.
    pub async fn read(&self) -> Result<Option<StoredLease>, LeaseError> {
        let lease = self.api.get_opt(&self.name).await.map_err(|e| api_error("get", e))?;
        Ok(lease.map(StoredLease::from))
    }

    /// Creates the Lease with `record` (labelled as managed by warroom). It already existing is
    /// a [`LeaseError::Conflict`].
    pub async fn create(&self, record: &LeaseRecord) -> Result<StoredLease, LeaseError> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some([("app.kubernetes.io/managed-by".to_string(), "warroom".to_string())].into()),
                ..Default::default()
            },
            spec: Some(record.apply_to(LeaseSpec::default())),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(created) => Ok(created.into()),
            Err(kube::Error::Api(s)) if s.is_already_exists() || s.is_conflict() => Err(LeaseError::Conflict),
            Err(e) => Err(api_error("create", e)),
        }
    }

    /// Replaces `read` (matching its resourceVersion) with `record`; the fields the record does
    /// not name are kept. A write by someone else since `read` is a [`LeaseError::Conflict`].
    pub async fn replace(&self, read: &StoredLease, record: &LeaseRecord) -> Result<StoredLease, LeaseError> {
        let mut lease = read.lease.clone();
        lease.spec = Some(record.apply_to(lease.spec.unwrap_or_default()));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(written) => Ok(written.into()),
            Err(kube::Error::Api(s)) if s.is_conflict() => Err(LeaseError::Conflict),
            Err(e) => Err(api_error("replace", e)),
        }
    }
}

fn api_error(what: &'static str, e: kube::Error) -> LeaseError {
    LeaseError::Api { what, message: e.to_string() }
}

impl From<Lease> for StoredLease {
    fn from(lease: Lease) -> StoredLease {
        let spec = lease.spec.clone().unwrap_or_default();
        let record = LeaseRecord {
            holder: spec.holder_identity.filter(|h| !h.is_empty()),
            acquired_at: spec.acquire_time.as_ref().map(chrono_time),
            renewed_at: spec.renew_time.as_ref().map(chrono_time),
            duration_secs: spec.lease_duration_seconds,
            transitions: spec.lease_transitions,
        };
        StoredLease { record, lease }
    }
}

impl LeaseRecord {
    /// `spec` with this record's fields written over it.
    fn apply_to(&self, mut spec: LeaseSpec) -> LeaseSpec {
        spec.holder_identity = self.holder.clone();
        spec.acquire_time = self.acquired_at.map(micro);
        spec.renew_time = self.renewed_at.map(micro);
        spec.lease_duration_seconds = self.duration_secs;
        spec.lease_transitions = self.transitions;
        spec
    }
}

fn micro(t: DateTime<Utc>) -> MicroTime {
    MicroTime(Timestamp::from_microsecond(t.timestamp_micros()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn chrono_time(t: &MicroTime) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.0.as_microsecond()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_record_survives_the_spec_and_keeps_fields_it_does_not_name() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap() + chrono::Duration::microseconds(7);
        let record = LeaseRecord {
            holder: Some("alice@host#1".into()),
            acquired_at: Some(t),
            renewed_at: Some(t + chrono::Duration::seconds(5)),
            duration_secs: Some(30),
            transitions: Some(2),
        };
        let base = LeaseSpec { preferred_holder: Some("bob".into()), ..LeaseSpec::default() };
        let spec = record.apply_to(base);
        assert_eq!(spec.preferred_holder.as_deref(), Some("bob"));
        let back = StoredLease::from(Lease { metadata: ObjectMeta::default(), spec: Some(spec) });
        assert_eq!(back.record, record);
    }

    #[test]
    fn an_empty_holder_or_no_spec_reads_as_none() {
        let empty = LeaseSpec { holder_identity: Some(String::new()), ..LeaseSpec::default() };
        let read = StoredLease::from(Lease { metadata: ObjectMeta::default(), spec: Some(empty) });
        assert_eq!(read.record.holder, None);
        let bare = StoredLease::from(Lease { metadata: ObjectMeta::default(), spec: None });
        assert_eq!(bare.record, LeaseRecord::default());
    }
}
