//! The test harness's real control plane itself (tests/support/control_plane): etcd, one
//! kube-apiserver + kube-controller-manager per region context, the harness kubelet. These
//! tests pin what every Kubernetes test relies on.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use support::control_plane::kubelet::Behaviour;
use support::control_plane::objects::{behaviour, eventually, unique_namespace};
use support::control_plane::{CONTEXTS, ControlPlane};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_get_pods_from_the_real_controllers_and_the_kubelet_makes_them_ready() {
    let cp = ControlPlane::shared();
    for context in CONTEXTS {
        let ns = unique_namespace("cp-deploy");
        cp.namespace(context, &ns).await;
        cp.deployment(context, &ns, "api", 3, &[]).await;
        let pods = cp.wait_pods_ready(context, &ns, "app=api", 3).await;
        for p in &pods {
            let spec = p.spec.as_ref().expect("spec");
            assert_eq!(spec.node_name.as_deref(), Some(cp.cluster(context).kubelet.node.as_str()));
            let owner = &p.metadata.owner_references.as_ref().expect("owned by a ReplicaSet")[0];
            assert_eq!(owner.kind, "ReplicaSet", "{context}: pods come from the ReplicaSet controller");
            assert!(p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some(), "{context}: pod has an IP");
        }
        cp.wait_deployment_available(context, &ns, "api", 3).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubelet_reports_crash_loops_with_growing_restarts_and_oom_kills() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("cp-crash");
    cp.namespace("us-east-1", &ns).await;
    cp.pod("us-east-1", &ns, "loop", &[behaviour("crash-loop")]).await;
    cp.pod("us-east-1", &ns, "oom", &[behaviour("oom")]).await;
    let pods: Api<Pod> = Api::namespaced(cp.client("us-east-1").await, &ns);
    for (name, last) in [("loop", "Error"), ("oom", "OOMKilled")] {
        eventually(&format!("{name} restarted twice"), Duration::from_secs(20), || async {
            let p = pods.get(name).await.map_err(|e| e.to_string())?;
            let cs = &p.status.and_then(|s| s.container_statuses).unwrap_or_default();
            let c = cs.first().ok_or("no container status")?;
            let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone());
            let terminated =
                c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.reason.clone());
            if c.restart_count >= 2
                && waiting.as_deref() == Some("CrashLoopBackOff")
                && terminated.as_deref() == Some(last)
            {
                Ok(())
            } else {
                Err(format!("restarts {} waiting {waiting:?} last {terminated:?}", c.restart_count))
            }
        })
        .await;
    }
    // A pod turned NotReady later keeps running but drops out of readiness.
    cp.pod("us-east-1", &ns, "flaky", &[]).await;
    cp.wait_pods_ready("us-east-1", &ns, "!kubelet.test.warroom/behaviour", 1).await;
    cp.cluster("us-east-1").kubelet.set(&ns, "flaky", Behaviour::NotReady).await;
    let p = pods.get("flaky").await.expect("flaky");
    assert!(!support::control_plane::objects::pod_ready(&p), "flaky is NotReady: {:?}", p.status);
    let list = pods.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_gets_endpoint_slices_from_the_real_controller() {
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    let cp = ControlPlane::shared();
    let ns = unique_namespace("cp-svc");
    cp.namespace("us-west-2", &ns).await;
    cp.pod("us-west-2", &ns, "db-0", &[("app", "db")]).await;
    cp.service("us-west-2", &ns, "postgresql", &[("app", "db")]).await;
    let ready = cp.wait_pods_ready("us-west-2", &ns, "app=db", 1).await;
    let ip = ready[0].status.as_ref().and_then(|s| s.pod_ip.clone()).expect("pod ip");
    let slices: Api<EndpointSlice> = Api::namespaced(cp.client("us-west-2").await, &ns);
    eventually("an EndpointSlice with db-0 ready", Duration::from_secs(20), || async {
        let list = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=postgresql"))
            .await
            .map_err(|e| e.to_string())?;
        let eps: Vec<_> = list.items.iter().flat_map(|s| s.endpoints.iter().flatten()).collect();
        match eps.as_slice() {
            [e] if e.addresses == vec![ip.clone()]
                && e.target_ref.as_ref().and_then(|t| t.name.as_deref()) == Some("db-0")
                && e.conditions.as_ref().and_then(|c| c.ready) == Some(true) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}
