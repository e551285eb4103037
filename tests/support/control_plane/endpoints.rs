//! Waiting on what the endpoint controllers make of a Service. The harness runs both the
//! Endpoints and the EndpointSlice controller (as real clusters do), so a test that waits here
//! holds whichever object the code under test reads.

use std::time::Duration;

use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use super::ControlPlane;
use super::objects::eventually;

impl ControlPlane {
    /// Wait until Service `name` in `ns` has exactly the ready endpoint pods `pods` (any order)
    /// both in its core Endpoints and in its EndpointSlices.
    pub async fn wait_service_endpoints(&self, context: &str, ns: &str, name: &str, pods: &[&str]) {
        let client = self.client(context).await;
        let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), ns);
        let slices: Api<EndpointSlice> = Api::namespaced(client, ns);
        let mut want: Vec<String> = pods.iter().map(|p| (*p).to_string()).collect();
        want.sort();
        eventually(
            &format!("Service {ns}/{name} in {context} with ready endpoints {want:?}"),
            Duration::from_secs(30),
            || async {
                let mut core: Vec<String> = endpoints
                    .get_opt(name)
                    .await
                    .map_err(|e| e.to_string())?
                    .and_then(|e| e.subsets)
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|s| s.addresses.iter().flatten())
                    .filter_map(|a| a.target_ref.as_ref().and_then(|t| t.name.clone()))
                    .collect();
                core.sort();
                let list = slices
                    .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
                    .await
                    .map_err(|e| e.to_string())?;
                let mut sliced: Vec<String> = list
                    .items
                    .iter()
                    .flat_map(|s| s.endpoints.iter().flatten())
                    .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
                    .filter_map(|e| e.target_ref.as_ref().and_then(|t| t.name.clone()))
                    .collect();
                sliced.sort();
                if core == want && sliced == want {
                    Ok(())
                } else {
                    Err(format!("Endpoints {core:?}, EndpointSlices {sliced:?}"))
                }
            },
        )
        .await;
    }
}
