//! What Patroni (or a PostgreSQL operator) does on a real cluster: keep each database pod's
//! `role` label in step with what its server says. The runbook's repoint patches the Service
//! selector to `{role: primary, statefulset.kubernetes.io/pod-name: <pod>}` (as the failover
//! plan does), which only selects the promoted pod once something has relabelled it.
//!
//! A background task asks every node `pg_is_in_recovery()` every 200 ms and relabels its pod on
//! the Kubernetes test server when the answer changes the role; a node that does not answer
//! keeps its label (its pod is not there to relabel itself). Stopped on drop.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

use super::kube_server::KubeLab;

/// The labels of a database pod with `role`.
pub fn pod_labels<'a>(pod: &'a str, role: &'a str) -> [(&'a str, &'a str); 3] {
    [("app", "postgresql"), ("role", role), ("statefulset.kubernetes.io/pod-name", pod)]
}

/// A running labeller.
pub struct RoleLabeller {
    task: JoinHandle<()>,
}

/// One node to watch: its name (= pod name) and libpq DSN.
#[derive(Debug, Clone)]
pub struct Watched {
    /// Node and pod name.
    pub pod: String,
    /// Where the server answers.
    pub dsn: String,
}

/// `Some(role)` from the server itself, `None` when it does not answer within 500 ms.
async fn role_of(dsn: &str) -> Option<&'static str> {
    let mut cfg: tokio_postgres::Config = dsn.parse().ok()?;
    cfg.connect_timeout(Duration::from_millis(500)).application_name("role-labeller");
    let (client, conn) =
        tokio::time::timeout(Duration::from_millis(500), cfg.connect(NoTls)).await.ok()?.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let row =
        tokio::time::timeout(Duration::from_millis(500), client.query_one("SELECT pg_is_in_recovery()", &[]))
            .await
            .ok()?
            .ok()?;
    Some(if row.get::<_, bool>(0) { "replica" } else { "primary" })
}

impl RoleLabeller {
    /// Start watching `nodes`, whose pods live in `context`/`namespace` of `kube`.
    pub fn start(kube: Arc<KubeLab>, context: &str, namespace: &str, nodes: Vec<Watched>) -> RoleLabeller {
        let (context, namespace) = (context.to_string(), namespace.to_string());
        let task = tokio::spawn(async move {
            loop {
                for n in &nodes {
                    let Some(role) = role_of(&n.dsn).await else { continue };
                    let server = kube.server(&context);
                    let current = server.get("Pod", &namespace, &n.pod);
                    if current.as_ref().is_some_and(|p| role_label(p) != Some(role)) {
                        server.set_pod_labels(&namespace, &n.pod, &pod_labels(&n.pod, role));
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        RoleLabeller { task }
    }
}

impl Drop for RoleLabeller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `role` label of a pod as the test server stores it.
pub fn role_label(pod: &Value) -> Option<&str> {
    pod["metadata"]["labels"]["role"].as_str()
}
