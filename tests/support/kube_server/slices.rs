//! The EndpointSlice controller's part: a Service with a selector gets one
//! `discovery.k8s.io/v1` EndpointSlice (`<service>-warroom`, labelled
//! `kubernetes.io/service-name`) listing the pods it selects, with their conditions as the real
//! controller sets them: `serving` = the pod's Ready condition, `terminating` = a deletion
//! timestamp, `ready` = serving and not terminating. Pods without an IP are left out, as the
//! real controller does.

use serde_json::{Value, json};

/// Name of the one slice the test server keeps per Service.
pub fn slice_name(service: &str) -> String {
    format!("{service}-warroom")
}

fn pod_serving(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// One endpoint per selected pod with an IP.
pub fn endpoints(ns: &str, pods: &[&Value]) -> Value {
    let eps: Vec<Value> = pods
        .iter()
        .filter_map(|p| {
            let ip = p.pointer("/status/podIP").and_then(Value::as_str)?;
            let serving = pod_serving(p);
            let terminating = p.pointer("/metadata/deletionTimestamp").is_some();
            Some(json!({
                "addresses": [ip],
                "conditions": { "ready": serving && !terminating, "serving": serving, "terminating": terminating },
                "nodeName": p.pointer("/spec/nodeName").cloned().unwrap_or(Value::Null),
                "targetRef": { "kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"] }
            }))
        })
        .collect();
    json!(eps)
}

/// A new slice for `svc` (its endpoints and ports are filled by the caller).
pub fn new_slice(svc: &Value, endpoints: Value, ports: Value) -> Value {
    let name = svc["metadata"]["name"].as_str().unwrap_or_default();
    json!({
        "metadata": {
            "name": slice_name(name),
            "labels": {
                "kubernetes.io/service-name": name,
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
            },
            "ownerReferences": [{ "apiVersion": "v1", "kind": "Service", "name": name,
                                  "uid": svc["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true }]
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports
    })
}
