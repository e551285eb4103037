//! The pieces of a Deployment rollback that the preview, the prechecks and the Kubernetes
//! backend share: the revision annotation, the previous revision, the patch, pod ownership.

use serde_json::{Value, json};

/// The annotation the Deployment controller numbers revisions with.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller adds to each ReplicaSet's template.
pub const HASH_LABEL: &str = "pod-template-hash";

/// The strategic merge patch a rollback sends: the whole `spec.template` replaced by
/// `template` (the previous ReplicaSet's, `pod-template-hash` removed).
pub fn rollback_patch(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(HASH_LABEL);
    }
    if let Some(t) = template.as_object_mut() {
        t.insert("$patch".into(), json!("replace"));
    }
    json!({ "spec": { "template": template } })
}

/// The previous revision among `revisions` (ReplicaSet name, revision) below `current`: the
/// highest one lower than it, as `kubectl rollout undo` picks it.
pub fn previous_revision(revisions: &[(String, u64)], current: u64) -> Option<&(String, u64)> {
    revisions.iter().filter(|(_, r)| *r < current).max_by_key(|(_, r)| *r)
}

/// Whether `pod` is one of `deployment`'s pods (`<deployment>-<template hash>-<suffix>`).
pub fn owned_by(pod: &str, deployment: &str) -> bool {
    pod.strip_prefix(deployment)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| rest.split('-').count() == 2 && rest.split('-').all(|p| !p.is_empty()))
}
