//! The database Service's endpoints from its `discovery.k8s.io/v1` EndpointSlices (core v1
//! Endpoints is deprecated): every slice labelled `kubernetes.io/service-name=<svc>`, folded
//! into one list with the conditions read as the API documents them (`ready` and `serving`
//! nil mean true, `terminating` nil means false) and traffic decided as kube-proxy does: ready
//! endpoints get it; only when none is ready do serving, terminating ones get it.

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

use crate::backends::model::{EndpointState, ServiceEndpoint};

/// One endpoint of one slice, its conditions resolved (nil already read per the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEndpoint {
    /// The pod behind it (`targetRef` of kind Pod), else its first address.
    pub name: String,
    /// `conditions.ready` (nil: true).
    pub ready: bool,
    /// `conditions.serving` (nil: true).
    pub serving: bool,
    /// `conditions.terminating` (nil: false).
    pub terminating: bool,
}

/// The endpoints one slice lists. An endpoint names its pod; one that names none (a
/// hand-made slice) is named by its address, which matches no pod, so a Service routing
/// there is never taken for one routing to a known pod.
pub fn slice_endpoints(slice: &EndpointSlice) -> Vec<SliceEndpoint> {
    slice.endpoints.iter().flatten().filter_map(endpoint).collect()
}

fn endpoint(e: &Endpoint) -> Option<SliceEndpoint> {
    let pod = e.target_ref.as_ref().filter(|r| r.kind.as_deref().is_none_or(|k| k == "Pod"));
    let name = pod.and_then(|r| r.name.clone()).or_else(|| e.addresses.first().cloned())?;
    let c = e.conditions.as_ref();
    Some(SliceEndpoint {
        name,
        ready: c.and_then(|c| c.ready).unwrap_or(true),
        serving: c.and_then(|c| c.serving).unwrap_or(true),
        terminating: c.and_then(|c| c.terminating).unwrap_or(false),
    })
}

/// Every endpoint of the Service's slices, one per pod (sorted by name), and which of them
/// get traffic. A pod listed twice (slices overlap while the controller moves endpoints)
/// counts as ready or serving when any listing says so, and as terminating only when all
/// do: what might get traffic is counted as getting it, so no judgement takes a Service for
/// not routing to a pod it may route to.
pub fn service_endpoints<'a>(slices: impl IntoIterator<Item = &'a [SliceEndpoint]>) -> Vec<ServiceEndpoint> {
    let mut merged: std::collections::BTreeMap<&str, (bool, bool, bool)> = Default::default();
    for e in slices.into_iter().flatten() {
        let m = merged.entry(e.name.as_str()).or_insert((false, false, true));
        *m = (m.0 || e.ready, m.1 || e.serving, m.2 && e.terminating);
    }
    let state = |&(ready, serving, terminating): &(bool, bool, bool)| match () {
        () if ready => EndpointState::Ready,
        () if terminating && serving => EndpointState::ServingTerminating,
        () if terminating => EndpointState::Terminating,
        () => EndpointState::NotReady,
    };
    let any_ready = merged.values().any(|m| m.0);
    merged
        .iter()
        .map(|(name, m)| {
            let state = state(m);
            let traffic =
                state == EndpointState::Ready || (!any_ready && state == EndpointState::ServingTerminating);
            ServiceEndpoint { pod: (*name).to_string(), state, traffic }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn slice(endpoints: Value) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": "postgresql-abcde", "labels": {"kubernetes.io/service-name": "postgresql"}},
            "addressType": "IPv4", "endpoints": endpoints
        }))
        .expect("slice json")
    }

    fn ep(pod: &str, ip: &str, conditions: Value) -> Value {
        json!({"addresses": [ip], "conditions": conditions,
               "targetRef": {"kind": "Pod", "namespace": "database", "name": pod}})
    }

    fn all(slices: &[EndpointSlice]) -> Vec<ServiceEndpoint> {
        let per: Vec<Vec<SliceEndpoint>> = slices.iter().map(slice_endpoints).collect();
        service_endpoints(per.iter().map(Vec::as_slice))
    }

    fn summary(eps: &[ServiceEndpoint]) -> Vec<(&str, EndpointState, bool)> {
        eps.iter().map(|e| (e.pod.as_str(), e.state, e.traffic)).collect()
    }

    use EndpointState::{NotReady, Ready, ServingTerminating, Terminating};

    #[test]
    fn nil_conditions_mean_ready_serving_not_terminating() {
        let s = slice(json!([
            {"addresses": ["10.0.0.1"], "targetRef": {"kind": "Pod", "name": "pg-0"}},
            ep("pg-1", "10.0.0.2", json!({})),
            ep("pg-2", "10.0.0.3", json!({"serving": false})),
        ]));
        let e = slice_endpoints(&s);
        assert_eq!((e[0].ready, e[0].serving, e[0].terminating), (true, true, false));
        assert_eq!((e[1].ready, e[1].serving, e[1].terminating), (true, true, false));
        // ready nil is true whatever serving says (the API's rule, not ours).
        assert!(e[2].ready && !e[2].serving);
        assert_eq!(
            summary(&all(&[s])),
            [("pg-0", Ready, true), ("pg-1", Ready, true), ("pg-2", Ready, true)]
        );
    }

    #[test]
    fn not_ready_and_terminating_get_no_traffic_while_one_is_ready() {
        let s = slice(json!([
            ep("pg-0", "10.0.0.1", json!({"ready": true, "serving": true, "terminating": false})),
            ep("pg-1", "10.0.0.2", json!({"ready": false, "serving": false, "terminating": false})),
            ep("pg-2", "10.0.0.3", json!({"ready": false, "serving": true, "terminating": true})),
            ep("pg-3", "10.0.0.4", json!({"ready": false, "serving": false, "terminating": true})),
        ]));
        assert_eq!(
            summary(&all(&[s])),
            [
                ("pg-0", Ready, true),
                ("pg-1", NotReady, false),
                ("pg-2", ServingTerminating, false),
                ("pg-3", Terminating, false)
            ]
        );
    }

    #[test]
    fn serving_terminating_endpoints_get_traffic_when_none_is_ready() {
        let s = slice(json!([
            ep("pg-0", "10.0.0.1", json!({"ready": false, "serving": true, "terminating": true})),
            ep("pg-1", "10.0.0.2", json!({"ready": false, "serving": false, "terminating": true})),
            ep("pg-2", "10.0.0.3", json!({"ready": false})),
        ]));
        assert_eq!(
            summary(&all(&[s])),
            [("pg-0", ServingTerminating, true), ("pg-1", Terminating, false), ("pg-2", NotReady, false)]
        );
    }

    #[test]
    fn nothing_ready_or_serving_means_no_traffic() {
        let s = slice(json!([ep("pg-0", "10.0.0.1", json!({"ready": false, "serving": false}))]));
        assert_eq!(summary(&all(&[s])), [("pg-0", NotReady, false)]);
        assert!(all(&[slice(json!([]))]).is_empty());
        assert!(all(&[]).is_empty());
    }

    #[test]
    fn several_slices_are_one_list_and_duplicates_count_once() {
        let a = slice(json!([
            ep("pg-0", "10.0.0.1", json!({"ready": true})),
            ep("pg-1", "10.0.0.2", json!({"ready": false, "serving": false, "terminating": true})),
        ]));
        let b = slice(json!([
            ep("pg-2", "10.0.0.3", json!({"ready": true})),
            // pg-1 again, moved by the controller and ready in its new slice.
            ep("pg-1", "10.0.0.2", json!({"ready": true, "serving": true, "terminating": false})),
            ep("pg-0", "10.0.0.1", json!({"ready": true})),
        ]));
        assert_eq!(
            summary(&all(&[a.clone(), b.clone()])),
            [("pg-0", Ready, true), ("pg-1", Ready, true), ("pg-2", Ready, true)]
        );
        // The order of the slices does not matter.
        assert_eq!(all(&[b.clone(), a.clone()]), all(&[a, b]));
    }

    #[test]
    fn a_duplicate_is_terminating_only_when_every_listing_says_so() {
        let a = slice(json!([ep(
            "pg-0",
            "10.0.0.1",
            json!({"ready": false, "serving": true, "terminating": true})
        )]));
        let b = slice(json!([ep(
            "pg-0",
            "10.0.0.1",
            json!({"ready": false, "serving": false, "terminating": false})
        )]));
        // Serving in one listing, not terminating in the other: merged it is a not-ready endpoint.
        assert_eq!(summary(&all(&[a.clone(), b])), [("pg-0", NotReady, false)]);
        let c = slice(json!([ep(
            "pg-0",
            "10.0.0.1",
            json!({"ready": false, "serving": false, "terminating": true})
        )]));
        assert_eq!(summary(&all(&[a, c])), [("pg-0", ServingTerminating, true)]);
    }

    #[test]
    fn ready_wins_over_terminating() {
        // publishNotReadyAddresses: the controller marks a terminating endpoint ready; kube-proxy
        // sends it traffic, so do we.
        let s = slice(json!([ep(
            "pg-0",
            "10.0.0.1",
            json!({"ready": true, "serving": true, "terminating": true})
        )]));
        assert_eq!(summary(&all(&[s])), [("pg-0", Ready, true)]);
    }

    #[test]
    fn an_endpoint_without_a_pod_is_named_by_its_address() {
        let s = slice(json!([
            {"addresses": ["10.9.9.9"], "conditions": {"ready": true}},
            {"addresses": ["10.9.9.8"], "targetRef": {"kind": "Node", "name": "node-a"}},
            {"addresses": [], "conditions": {"ready": true}},
        ]));
        assert_eq!(summary(&all(&[s])), [("10.9.9.8", Ready, true), ("10.9.9.9", Ready, true)]);
    }
}
