//! Stopping a context's API server for a while (an outage), then starting it again on the same
//! port and flags: unlike `restart_apiserver`, the test acts while it is down.

use super::process::Proc;
use super::{ControlPlane, runtime, wait_ready};

impl ControlPlane {
    /// Kill `context`'s API server (connections are refused until [`Self::start_apiserver`]).
    pub fn stop_apiserver(&mut self, context: &str) {
        self.clusters.get_mut(context).expect("cluster").apiserver.kill();
    }

    /// Start `context`'s API server again after [`Self::stop_apiserver`]; waits until ready.
    pub fn start_apiserver(&mut self, context: &str) {
        let bin = self.bin.clone();
        let cluster = self.clusters.get_mut(context).expect("cluster");
        cluster.apiserver = Proc::start(
            &format!("kube-apiserver {context}"),
            &bin.join("kube-apiserver"),
            &cluster.args,
            &cluster.apiserver.log.with_extension("after-outage.log"),
        );
        let (url, log, kubeconfig, ctx) = (
            cluster.url.clone(),
            cluster.apiserver.log.clone(),
            self.kubeconfig.clone(),
            context.to_string(),
        );
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(wait_ready(&kubeconfig, &ctx, &url, &log))).join()
        })
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
}
