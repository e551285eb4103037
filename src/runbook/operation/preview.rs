//! [`Operation::preview`]: exactly what an operation will do, and where, shown before
//! confirmation (the statements, the patch, the change batch) with its blast radius.

use super::{promote, repoint, rollback};
use crate::operation::assertion::Assertion;
use crate::operation::{Operation, Preview};
use crate::runbook::traffic;

impl Operation {
    /// Exactly what will be done, and where.
    pub fn preview(&self) -> Preview {
        match self {
            Operation::CheckPrimary => Preview {
                title: "Check which PostgreSQL node is primary".into(),
                target: "every configured PostgreSQL node".into(),
                lines: vec!["SELECT pg_is_in_recovery(); SHOW default_transaction_read_only;".into()],
                blast_radius: "none (read-only)".into(),
            },
            Operation::PromotePostgres { node, endpoint, max_lag_bytes, accept_data_loss } => {
                promote_preview(node, endpoint, *max_lag_bytes, *accept_data_loss)
            }
            Operation::ExecPromote {
                context,
                namespace,
                pod,
                container,
                data_dir,
                node,
                max_lag_bytes,
                accept_data_loss,
            } => promote::exec_preview(&promote::ExecPromoteTarget {
                context,
                namespace,
                pod,
                container: container.as_deref(),
                data_dir,
                node,
                max_lag_bytes: *max_lag_bytes,
                accept_data_loss: *accept_data_loss,
            }),
            Operation::FencePostgres { node, endpoint } => fence_preview(node, endpoint),
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                repoint_preview(context, namespace, service, pod)
            }
            Operation::LabelPod { context, namespace, pod, key, value } => {
                repoint::label_preview(context, namespace, pod, key, value)
            }
            Operation::SentinelFailover { master, sentinel, from_master } => Preview {
                title: format!("Sentinel failover of {master}"),
                target: format!("Sentinel {sentinel}"),
                lines: vec![format!("SENTINEL FAILOVER {master}")],
                blast_radius: format!(
                    "Redis master {} is demoted; clients reconnect through Sentinel",
                    from_master.as_deref().unwrap_or("(unknown)")
                ),
            },
            Operation::SetRoute53Weights { zone, record, endpoint, weights } => {
                traffic::set_weights_preview(zone, record, endpoint, weights)
            }
            Operation::ShiftTraffic { zone, record, endpoint, target, stages, hold_secs } => {
                traffic::shift_preview(zone, record, endpoint, target, stages, *hold_secs)
            }
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                scale_preview(context, namespace, deployment, *replicas)
            }
            Operation::RollbackDeployment { context, namespace, deployment } => {
                rollback::preview(context, namespace, deployment)
            }
            Operation::Assert { check } => assert_preview(check),
            Operation::VerifyWrites { node, endpoint, service, pod } => {
                verify_writes_preview(node, endpoint, service.as_deref(), pod.as_deref())
            }
            Operation::VerifyDns {
                zone,
                record,
                endpoint,
                weights,
                sync_timeout_secs,
                recheck_after_secs,
            } => {
                super::dns::preview(zone, record, endpoint, weights, *sync_timeout_secs, *recheck_after_secs)
            }
            Operation::Manual { instruction } => Preview {
                title: "Manual step".into(),
                target: "the operator".into(),
                lines: vec![instruction.clone()],
                blast_radius: "whatever the operator does".into(),
            },
        }
    }
}

fn promote_preview(node: &str, endpoint: &str, max_lag_bytes: u64, accept_data_loss: Option<u64>) -> Preview {
    Preview {
        title: format!("Promote {node} to primary"),
        target: format!("{node} at {endpoint}"),
        lines: vec![
            format!("SELECT pg_promote(wait => true, wait_seconds => 30);  -- on {node}"),
            promote::lag_guard_line(max_lag_bytes, accept_data_loss),
        ],
        blast_radius: "new timeline; every client must reconnect to the new primary".into(),
    }
}

fn fence_preview(node: &str, endpoint: &str) -> Preview {
    Preview {
        title: format!("Fence {node} (refuse writes)"),
        target: format!("{node} at {endpoint}"),
        lines: vec![
            "ALTER SYSTEM SET default_transaction_read_only = on;".into(),
            "SELECT pg_reload_conf();".into(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();".into(),
        ],
        blast_radius: format!("clients still connected to {node} are disconnected"),
    }
}

fn repoint_preview(context: &str, namespace: &str, service: &str, pod: &str) -> Preview {
    Preview {
        title: format!("Repoint Service {service} to {pod}"),
        target: format!("context {context}, namespace {namespace}"),
        lines: vec![
            format!(
                "PATCH /api/v1/namespaces/{namespace}/services/{service}  (application/merge-patch+json)"
            ),
            format!(
                "{{\"spec\":{{\"selector\":{{\"role\":\"primary\",\"statefulset.kubernetes.io/pod-name\":\"{pod}\"}}}}}}"
            ),
        ],
        blast_radius: format!("all database traffic through Service {service} moves to {pod}"),
    }
}

fn scale_preview(context: &str, namespace: &str, deployment: &str, replicas: u32) -> Preview {
    Preview {
        title: format!("Scale {deployment} to {replicas} in {context}"),
        target: format!("context {context}, namespace {namespace}"),
        lines: vec![format!(
            "PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale  {{\"spec\":{{\"replicas\":{replicas}}}}}"
        )],
        blast_radius: format!("more capacity in {context}; no traffic moves by itself"),
    }
}

fn assert_preview(check: &Assertion) -> Preview {
    Preview {
        title: check.title(),
        target: check.reads().into(),
        lines: vec![format!("assert {}: nothing is executed; holds when the panes show it", check.name())],
        blast_radius: "none (read-only)".into(),
    }
}

fn verify_writes_preview(node: &str, endpoint: &str, service: Option<&str>, pod: Option<&str>) -> Preview {
    let mut lines = Vec::new();
    if let (Some(svc), Some(pod)) = (service, pod) {
        lines.push(format!("Service {svc} endpoints must be exactly [{pod}]"));
    }
    lines.push(format!(
        "BEGIN; CREATE TEMP TABLE warroom_write_probe (x int) ON COMMIT DROP; COMMIT;  -- on {node}"
    ));
    Preview {
        title: format!("Verify writes through {node}"),
        target: format!("{node} at {endpoint}"),
        lines,
        blast_radius: "none (a temporary table dropped at commit)".into(),
    }
}
