//! The database Service's endpoints from EndpointSlices the test writes itself, against the
//! REAL API server (tests/support/control_plane): what the observer counts as getting traffic
//! and what it shows apart, condition by condition, as the API server stores the slices.

mod support;

use support::kube_view::wait_until;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver};
use warroom::backends::model::{EndpointState, KubeView, ServiceView};
use warroom::backends::{Observed, Snapshot};
use warroom::config::model::ObjectRef;
use warroom::operation::{Operation, Verify};

use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;

const EAST: &str = "us-east-1";
const DEADLINE: Duration = Duration::from_secs(30);

fn svc(v: &KubeView) -> &ServiceView {
    v.db_service.as_ref().expect("database Service observed")
}

fn states(s: &ServiceView) -> Vec<(&str, EndpointState, bool)> {
    s.endpoints.iter().map(|e| (e.pod.as_str(), e.state, e.traffic)).collect()
}

fn observed(v: KubeView) -> Observed {
    Observed { kube: Arc::new(Snapshot::fresh(v, chrono::Utc::now())), ..Observed::default() }
}

/// A selector-less Service whose EndpointSlices the test writes (as a database operator or
/// a mesh would): two slices, a pod listed in both, nil conditions, not-ready and terminating
/// endpoints. The real API server stores them as written; only endpoints that get traffic
/// count, the rest are shown with their state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_made_slices_count_only_endpoints_that_get_traffic() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("kb-slices");
    cp.namespace(EAST, &ns).await;
    cp.apply(
        EAST,
        &ns,
        json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "postgresql", "namespace": ns },
                "spec": { "ports": [{ "name": "postgres", "port": 5432 }] } }),
    )
    .await;
    let ep = |pod: &str, ip: &str, conditions: serde_json::Value| {
        json!({ "addresses": [ip], "conditions": conditions,
                "targetRef": { "kind": "Pod", "namespace": ns, "name": pod } })
    };
    let slice = |name: &str, endpoints: serde_json::Value| {
        json!({ "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": { "name": name, "namespace": ns,
                              "labels": { "kubernetes.io/service-name": "postgresql",
                                          "endpointslice.kubernetes.io/managed-by": "warroom-test" } },
                "addressType": "IPv4", "endpoints": endpoints,
                "ports": [{ "name": "postgres", "port": 5432, "protocol": "TCP" }] })
    };
    cp.apply(
        EAST,
        &ns,
        slice(
            "postgresql-a",
            json!([
                ep("pg-0", "10.1.0.10", json!({ "ready": true, "serving": true, "terminating": false })),
                ep("pg-1", "10.1.0.11", json!({ "ready": false, "serving": false, "terminating": false })),
            ]),
        ),
    )
    .await;
    cp.apply(
        EAST,
        &ns,
        slice(
            "postgresql-b",
            json!([
                ep("pg-2", "10.1.0.12", json!({ "ready": false, "serving": true, "terminating": true })),
                ep("pg-0", "10.1.0.10", json!({ "ready": true })),
                ep("pg-3", "10.1.0.13", json!({})),
            ]),
        ),
    )
    .await;
    // A slice of another Service in the same namespace is not ours.
    let mut other = slice("other-a", json!([ep("x-0", "10.1.0.20", json!({}))]));
    other["metadata"]["labels"]["kubernetes.io/service-name"] = json!("other");
    cp.apply(EAST, &ns, other).await;

    let spec = KubeObserveSpec {
        contexts: vec![EAST.into()],
        namespaces: vec![ns.clone()],
        db_service: Some(ObjectRef {
            context: EAST.into(),
            namespace: ns.clone(),
            name: "postgresql".into(),
        }),
        ..KubeObserveSpec::default()
    };
    let path = cp.kubeconfig.to_string_lossy().to_string();
    let clients = KubeClients::from_kubeconfig(Some(&path), &[EAST.into()]).await.expect("clients");
    let obs = KubeObserver::start(&clients, spec);
    use EndpointState::{NotReady, Ready, ServingTerminating};
    let v = wait_until(&obs, DEADLINE, "both slices read", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoints.len() == 4)
    })
    .await;
    let s = svc(&v);
    assert!(s.selector.is_empty(), "a selector-less Service");
    assert_eq!(s.endpoint_pods, ["pg-0", "pg-3"], "ready (pg-0 listed twice, pg-3 with nil conditions)");
    assert_eq!(
        states(s),
        [
            ("pg-0", Ready, true),
            ("pg-1", NotReady, false),
            ("pg-2", ServingTerminating, false),
            ("pg-3", Ready, true)
        ]
    );
    assert!(!s.draining());

    // Nothing ready any more: traffic falls back to the serving terminating endpoints.
    let slices: Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
        Api::namespaced(cp.client(EAST).await, &ns);
    let not_ready = json!({ "ready": false, "serving": true, "terminating": true });
    let patch = |endpoints| json!({ "endpoints": endpoints });
    slices
        .patch(
            "postgresql-a",
            &PatchParams::default(),
            &Patch::Merge(&patch(json!([ep("pg-0", "10.1.0.10", not_ready.clone())]))),
        )
        .await
        .expect("patch slice a");
    slices
        .patch(
            "postgresql-b",
            &PatchParams::default(),
            &Patch::Merge(&patch(json!([
                ep("pg-2", "10.1.0.12", not_ready.clone()),
                ep("pg-0", "10.1.0.10", not_ready.clone()),
                ep("pg-3", "10.1.0.13", json!({ "ready": false, "serving": false, "terminating": false })),
            ]))),
        )
        .await
        .expect("patch slice b");
    let v = wait_until(&obs, DEADLINE, "traffic only to terminating endpoints", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoint_pods == ["pg-0", "pg-2"])
    })
    .await;
    let s = svc(&v);
    assert!(s.draining(), "{:?}", s.endpoints);
    assert_eq!(
        states(s),
        [("pg-0", ServingTerminating, true), ("pg-2", ServingTerminating, true), ("pg-3", NotReady, false)]
    );

    // A deleted slice takes its endpoints along.
    slices.delete("postgresql-b", &DeleteParams::default()).await.expect("delete slice b");
    let v = wait_until(&obs, DEADLINE, "slice b gone", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoints.len() == 1)
    })
    .await;
    assert_eq!(states(svc(&v)), [("pg-0", ServingTerminating, true)]);
    // The Service routes only to pg-0, but pg-0 is terminating: no repoint to it holds.
    let repoint = Operation::PatchServiceSelector {
        context: EAST.into(),
        namespace: ns.clone(),
        service: "postgresql".into(),
        pod: "pg-0".into(),
    };
    assert_eq!(svc(&v).endpoint_pods, ["pg-0"]);
    assert!(
        matches!(repoint.verify(&observed(v)), Verify::NotYet(m) if m.contains("terminating")),
        "terminating endpoints verify nothing"
    );
    slices.delete("postgresql-a", &DeleteParams::default()).await.expect("delete slice a");
    let v = wait_until(&obs, DEADLINE, "no slice left", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoints.is_empty())
    })
    .await;
    assert!(svc(&v).endpoint_pods.is_empty());
}
