//! Pure conversions from Kubernetes objects to the compact rows the panes show. Only
//! displayed fields are kept, so 5,000 watched pods stay small in memory.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::backends::model::{DeploymentRow, PodRow};

/// Whether a pod's labels are kept (only pods that a Service selector may pick need them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepLabels {
    /// Keep every label (pods behind the database Service).
    All,
    /// Keep none.
    None,
}

/// The reason to show for a pod: pod-level reason (Evicted...), `Terminating`, a container's
/// waiting reason (CrashLoopBackOff, ImagePullBackOff...), its current termination reason, or
/// (for a container that is not ready) its last termination reason (OOMKilled, Error).
pub fn pod_reason(pod: &Pod) -> Option<String> {
    if pod.metadata.deletion_timestamp.is_some() {
        return Some("Terminating".into());
    }
    let status = pod.status.as_ref()?;
    if let Some(r) = status.reason.as_ref().filter(|r| !r.is_empty()) {
        return Some(r.clone());
    }
    let containers: &[ContainerStatus] = status.container_statuses.as_deref().unwrap_or_default();
    let state_reason = |c: &ContainerStatus| {
        let st = c.state.as_ref()?;
        st.waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .or_else(|| st.terminated.as_ref().and_then(|t| t.reason.clone()))
    };
    let last_reason = |c: &ContainerStatus| {
        (!c.ready).then(|| c.last_state.as_ref()?.terminated.as_ref()?.reason.clone()).flatten()
    };
    // A bad reason anywhere wins over a benign one elsewhere (e.g. ContainerCreating).
    let reasons: Vec<String> = containers.iter().filter_map(state_reason).collect();
    reasons
        .iter()
        .find(|r| crate::backends::model::BAD_REASONS.contains(&r.as_str()))
        .or(reasons.first())
        .cloned()
        .or_else(|| containers.iter().find_map(last_reason))
}

/// A pod as one row of the Pods pane.
pub fn pod_row(context: &str, pod: &Pod, keep: KeepLabels) -> PodRow {
    let meta = &pod.metadata;
    let status = pod.status.as_ref();
    let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let statuses: &[ContainerStatus] =
        status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let ready = statuses.iter().filter(|c| c.ready).count();
    let restarts: i64 = statuses.iter().map(|c| i64::from(c.restart_count.max(0))).sum();
    let labels = match keep {
        KeepLabels::All => meta.labels.clone().unwrap_or_default(),
        KeepLabels::None => BTreeMap::new(),
    };
    PodRow {
        context: context.to_string(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        ready: u16::try_from(ready).unwrap_or(u16::MAX),
        containers: u16::try_from(containers).unwrap_or(u16::MAX),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into()),
        restarts: u32::try_from(restarts).unwrap_or(u32::MAX),
        reason: pod_reason(pod),
        started_at: status.and_then(|s| s.start_time.as_ref()).map(|t| chrono_time(&t.0)),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        labels,
    }
}

fn chrono_time(t: &k8s_openapi::jiff::Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0).unsigned_abs())
        .unwrap_or_default()
}

/// A deployment's replica counts.
pub fn deployment_row(context: &str, d: &Deployment) -> DeploymentRow {
    let to_u32 = |v: Option<i32>| u32::try_from(v.unwrap_or(0).max(0)).unwrap_or(0);
    let status = d.status.as_ref();
    DeploymentRow {
        context: context.to_string(),
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        desired: to_u32(Some(d.spec.replicas.unwrap_or(1))),
        ready: to_u32(status.and_then(|s| s.ready_replicas)),
        available: to_u32(status.and_then(|s| s.available_replicas)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("pod json")
    }

    #[test]
    fn crashloop_wins_and_restarts_sum() {
        let p = pod(json!({
            "metadata": {"name": "api-1", "namespace": "default", "labels": {"app": "api"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "startTime": "2026-11-26T11:00:00Z", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "image": "", "imageID": "",
                 "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 5, "image": "", "imageID": "",
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
            ]}
        }));
        let r = pod_row("ctx", &p, KeepLabels::None);
        assert_eq!((r.ready, r.containers, r.restarts), (1, 2, 7));
        assert_eq!(r.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(r.node.as_deref(), Some("n1"));
        assert!(r.labels.is_empty());
        assert_eq!(r.started_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-26T11:00:00+00:00"));
        assert!(r.is_unhealthy());
    }

    #[test]
    fn last_termination_reason_only_when_not_ready() {
        let mk = |ready: bool| {
            pod(json!({
                "metadata": {"name": "db-0", "namespace": "database", "labels": {"role": "primary"}},
                "spec": {"containers": [{"name": "pg"}]},
                "status": {"phase": "Running", "containerStatuses": [
                    {"name": "pg", "ready": ready, "restartCount": 1, "image": "", "imageID": "",
                     "state": {"running": {}},
                     "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
                ]}
            }))
        };
        assert_eq!(pod_reason(&mk(false)).as_deref(), Some("OOMKilled"));
        assert_eq!(pod_reason(&mk(true)), None);
        let r = pod_row("c", &mk(true), KeepLabels::All);
        assert_eq!(r.labels.get("role").map(String::as_str), Some("primary"));
    }

    #[test]
    fn evicted_and_terminating() {
        let p = pod(json!({"metadata": {"name": "x"}, "status": {"phase": "Failed", "reason": "Evicted"}}));
        assert_eq!(pod_reason(&p).as_deref(), Some("Evicted"));
        let p = pod(json!({"metadata": {"name": "x", "deletionTimestamp": "2026-11-26T11:00:00Z"},
                            "status": {"phase": "Running"}}));
        assert_eq!(pod_reason(&p).as_deref(), Some("Terminating"));
    }

    #[test]
    fn deployment_defaults_to_one_replica() {
        let d: Deployment =
            serde_json::from_value(json!({"metadata": {"name": "api", "namespace": "default"}, "spec": {
                "selector": {}, "template": {}}, "status": {"readyReplicas": 1}}))
            .expect("deployment json");
        let r = deployment_row("c", &d);
        assert_eq!((r.desired, r.ready, r.available), (1, 1, 0));
    }
}
