//! Snapshots as deltas against the previous snapshot of the same layer. The header (when
//! it was fetched, its freshness) is always recorded. Kubernetes pods are keyed by
//! (context, namespace, name): a delta lists the removed keys and the added or changed rows
//! only. The small layers record "same" or the whole value. A keyframe (the whole value)
//! comes first, every `keyframe_every` snapshots of a layer, and whenever the delta would
//! be bigger than the value.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::FreshRec;
use crate::backends::Snapshot;
use crate::backends::model::{ContextHealth, DeploymentRow, KubeView, PodRow, ServiceView};

/// What every snapshot record carries: its age and freshness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// `fetched_at`, as nanoseconds before the record's time (`None`: never fetched).
    #[serde(rename = "a")]
    pub age_ns: Option<i64>,
    /// Freshness.
    #[serde(rename = "f")]
    pub fresh: FreshRec,
}

/// A small layer's value: unchanged, absent, or whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Val<T> {
    /// The previous value of this layer.
    Same,
    /// No value.
    None,
    /// The whole value.
    Key(T),
}

/// A database, Sentinel or traffic snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRec<T> {
    /// Header.
    pub h: Head,
    /// Value.
    pub v: Val<T>,
}

/// A Kubernetes snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeRec {
    /// Header.
    pub h: Head,
    /// Value.
    pub v: KubeVal,
}

/// A Kubernetes value: unchanged, absent, whole, or changed rows only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KubeVal {
    /// The previous value.
    Same,
    /// No value.
    None,
    /// The whole value (a keyframe).
    Key(KubeView),
    /// What changed since the previous value.
    Delta(KubePatch),
}

/// The changes to a [`KubeView`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubePatch {
    /// Pods removed: (context, namespace, name), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<(String, String, String)>,
    /// Pods added or changed, whole, sorted by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodRow>,
    /// The deployments, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployments: Option<Vec<DeploymentRow>>,
    /// The database Service, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svc: Option<SvcRec>,
    /// Context health, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<ContextHealth>>,
}

impl KubePatch {
    fn is_empty(&self) -> bool {
        self.gone.is_empty()
            && self.pods.is_empty()
            && self.deployments.is_none()
            && self.svc.is_none()
            && self.contexts.is_none()
    }
}

/// The database Service changed: gone, or its new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SvcRec {
    /// No Service any more.
    Gone,
    /// The new value.
    Set(ServiceView),
}

/// One layer's encoder state: the previous snapshot and snapshots since the last keyframe.
#[derive(Debug)]
pub struct EncLayer<T> {
    prev: Option<Arc<Snapshot<T>>>,
    since_key: u32,
}

impl<T> Default for EncLayer<T> {
    fn default() -> Self {
        EncLayer { prev: None, since_key: 0 }
    }
}

fn head<T>(s: &Snapshot<T>, ts: DateTime<Utc>) -> Head {
    Head {
        age_ns: s.fetched_at.map(|f| (ts - f).num_nanoseconds().unwrap_or(i64::MAX)),
        fresh: (&s.freshness).into(),
    }
}

fn fetched_at(h: &Head, ts: DateTime<Utc>) -> Option<DateTime<Utc>> {
    h.age_ns.map(|ns| ts - chrono::Duration::nanoseconds(ns))
}

impl<T: Clone + PartialEq> EncLayer<T> {
    /// Encode a small layer's snapshot.
    pub fn small(&mut self, s: &Arc<Snapshot<T>>, ts: DateTime<Utc>) -> LayerRec<T> {
        let same = self.prev.as_ref().is_some_and(|p| p.value.is_some() && p.value == s.value);
        let v = match &s.value {
            _ if same => Val::Same,
            None => Val::None,
            Some(v) => Val::Key(v.clone()),
        };
        self.prev = Some(s.clone());
        LayerRec { h: head(s, ts), v }
    }
}

impl EncLayer<KubeView> {
    /// Encode a Kubernetes snapshot (a keyframe when `every` snapshots passed since the last).
    pub fn kube(&mut self, s: &Arc<Snapshot<KubeView>>, ts: DateTime<Utc>, every: u32) -> KubeRec {
        let prev = self.prev.as_ref().and_then(|p| p.value.as_ref());
        let v = match (&s.value, prev) {
            (None, _) => KubeVal::None,
            (Some(cur), Some(old)) if self.since_key + 1 < every => match patch(old, cur) {
                Some(p) if p.is_empty() => KubeVal::Same,
                Some(p) => KubeVal::Delta(p),
                None => KubeVal::Key(cur.clone()),
            },
            (Some(cur), _) => KubeVal::Key(cur.clone()),
        };
        self.since_key = if matches!(v, KubeVal::Key(_)) { 0 } else { self.since_key + 1 };
        self.prev = Some(s.clone());
        KubeRec { h: head(s, ts), v }
    }
}

type Key<'a> = (&'a str, &'a str, &'a str);

fn key(p: &PodRow) -> Key<'_> {
    (&p.context, &p.namespace, &p.name)
}

fn owned((c, n, p): Key<'_>) -> (String, String, String) {
    (c.to_string(), n.to_string(), p.to_string())
}

/// The delta from `old` to `new`; `None` when a keyframe is better (the delta is bigger than
/// half the value, or a pod list is not sorted by key).
fn patch(old: &KubeView, new: &KubeView) -> Option<KubePatch> {
    let mut p = KubePatch::default();
    if !Arc::ptr_eq(&old.pods, &new.pods) {
        diff_pods(&old.pods, &new.pods, &mut p)?;
        if p.gone.len() + p.pods.len() > new.pods.len() / 2 + 1 {
            return None;
        }
    }
    if old.deployments != new.deployments {
        p.deployments = Some(new.deployments.clone());
    }
    if old.db_service != new.db_service {
        p.svc = Some(new.db_service.clone().map_or(SvcRec::Gone, SvcRec::Set));
    }
    if old.contexts != new.contexts {
        p.contexts = Some(new.contexts.clone());
    }
    Some(p)
}

/// Merge-walk two key-sorted pod lists; `None` when one is not sorted.
fn diff_pods<'a>(old: &'a [PodRow], new: &'a [PodRow], p: &mut KubePatch) -> Option<()> {
    fn sorted<'k>(last: &mut Option<Key<'k>>, k: Key<'k>) -> bool {
        let ok = last.is_none_or(|l| l < k);
        *last = Some(k);
        ok
    }
    let (mut i, mut j) = (0, 0);
    let (mut last_old, mut last_new): (Option<Key<'a>>, Option<Key<'a>>) = (None, None);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => key(o).cmp(&key(n)),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                if !sorted(&mut last_old, key(&old[i])) {
                    return None;
                }
                p.gone.push(owned(key(&old[i])));
                i += 1;
            }
            Ordering::Greater => {
                if !sorted(&mut last_new, key(&new[j])) {
                    return None;
                }
                p.pods.push(new[j].clone());
                j += 1;
            }
            Ordering::Equal => {
                if !sorted(&mut last_old, key(&old[i])) || !sorted(&mut last_new, key(&new[j])) {
                    return None;
                }
                if old[i] != new[j] {
                    p.pods.push(new[j].clone());
                }
                i += 1;
                j += 1;
            }
        }
    }
    Some(())
}

/// One layer's decoder state: the previous decoded snapshot.
#[derive(Debug)]
pub struct DecLayer<T> {
    prev: Option<Arc<Snapshot<T>>>,
}

impl<T> Default for DecLayer<T> {
    fn default() -> Self {
        DecLayer { prev: None }
    }
}

impl<T: Clone> DecLayer<T> {
    /// Decode a small layer's snapshot.
    pub fn small(&mut self, r: LayerRec<T>, ts: DateTime<Utc>) -> Result<Arc<Snapshot<T>>, String> {
        let value = match r.v {
            Val::Same => Some(self.prev_value()?.clone()),
            Val::None => None,
            Val::Key(v) => Some(v),
        };
        Ok(self.keep(Snapshot { value, fetched_at: fetched_at(&r.h, ts), freshness: r.h.fresh.into() }))
    }

    fn prev_value(&self) -> Result<&T, String> {
        self.prev
            .as_ref()
            .and_then(|p| p.value.as_ref())
            .ok_or_else(|| "a delta without a keyframe before it".into())
    }

    fn keep(&mut self, s: Snapshot<T>) -> Arc<Snapshot<T>> {
        let s = Arc::new(s);
        self.prev = Some(s.clone());
        s
    }
}

impl DecLayer<KubeView> {
    /// Decode a Kubernetes snapshot.
    pub fn kube(&mut self, r: KubeRec, ts: DateTime<Utc>) -> Result<Arc<Snapshot<KubeView>>, String> {
        let value = match r.v {
            KubeVal::Same => Some(self.prev_value()?.clone()),
            KubeVal::None => None,
            KubeVal::Key(v) => Some(v),
            KubeVal::Delta(p) => Some(apply(self.prev_value()?, p)),
        };
        Ok(self.keep(Snapshot { value, fetched_at: fetched_at(&r.h, ts), freshness: r.h.fresh.into() }))
    }
}

/// `old` with `p` applied: pods merged by key (the list stays sorted).
fn apply(old: &KubeView, p: KubePatch) -> KubeView {
    let pods = if p.gone.is_empty() && p.pods.is_empty() {
        old.pods.clone()
    } else {
        let mut out = Vec::with_capacity(old.pods.len() + p.pods.len());
        let mut gone = p.gone.iter().peekable();
        let mut ups = p.pods.into_iter().peekable();
        for o in old.pods.iter() {
            while let Some(n) = ups.next_if(|n| key(n) < key(o)) {
                out.push(n);
            }
            if let Some(n) = ups.next_if(|n| key(n) == key(o)) {
                out.push(n);
                continue;
            }
            while gone.next_if(|g| (g.0.as_str(), g.1.as_str(), g.2.as_str()) < key(o)).is_some() {}
            if gone.next_if(|g| (g.0.as_str(), g.1.as_str(), g.2.as_str()) == key(o)).is_none() {
                out.push(o.clone());
            }
        }
        out.extend(ups);
        Arc::new(out)
    };
    KubeView {
        pods,
        deployments: p.deployments.unwrap_or_else(|| old.deployments.clone()),
        db_service: match p.svc {
            None => old.db_service.clone(),
            Some(SvcRec::Gone) => None,
            Some(SvcRec::Set(s)) => Some(s),
        },
        contexts: p.contexts.unwrap_or_else(|| old.contexts.clone()),
    }
}
