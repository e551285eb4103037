//! `exec-promote` end to end: kube-rs exec over WebSocket against the Kubernetes API test
//! server, whose pod `postgresql-1` runs the REAL `pg_ctl promote` on a real streaming
//! replica. Also: non-zero exits and API errors become `Err`, and an exec for a context that
//! is not configured never reaches any server.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use support::kube_server::exec::{ExecRequest, ExecResult};
use support::kube_server::{DECOY_CONTEXT, KubeLab, KubeServer, ready_status};
use support::lab::postgres::{PG_BIN, PgLab};
use support::lab::{is_root, wait_until};
use warroom::backends::kube::{KubeClients, KubeOperator};
use warroom::backends::live::LiveOperator;
use warroom::backends::model::{DatabaseView, PgRole};
use warroom::backends::postgres::{PgTimeouts, PostgresObserver};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::{Operation, Verify};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const NS: &str = "database";
const TIMEOUTS: PgTimeouts =
    PgTimeouts { connect_timeout: Duration::from_secs(2), statement_timeout: Duration::from_secs(2) };

fn observed(db: DatabaseView) -> Observed {
    Observed { database: Arc::new(Snapshot::fresh(db, Utc::now())), ..Observed::default() }
}

/// A Running, Ready database pod whose one container is `postgres`.
fn add_db_pod(server: &KubeServer, name: &str) {
    let mut status = ready_status(true);
    status["containerStatuses"][0]["name"] = json!("postgres");
    server.create(
        "Pod",
        NS,
        json!({
            "metadata": { "name": name, "labels": { "app": "postgresql" } },
            "spec": { "nodeName": "node-1", "containers": [{ "name": "postgres", "image": "postgres:15" }] },
            "status": status
        }),
    );
}

/// What the container would do: run argv[0] from the PostgreSQL bin dir, as `postgres`.
fn run_in_container(req: &ExecRequest) -> ExecResult {
    let Some((tool, args)) = req.command.split_first() else {
        return ExecResult { exit_code: 126, ..ExecResult::default() };
    };
    let bin = Path::new(PG_BIN).join(tool);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    match cmd.args(args).current_dir("/tmp").output() {
        Ok(out) => ExecResult {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.status.code().unwrap_or(128),
            ..ExecResult::default()
        },
        Err(e) => ExecResult {
            stderr: format!("exec: {tool:?}: {e}").into_bytes(),
            exit_code: 127,
            ..ExecResult::default()
        },
    }
}

fn exec_promote(context: &str, pod: &str, container: Option<&str>, data_dir: &str) -> Operation {
    Operation::ExecPromote {
        context: context.into(),
        namespace: NS.into(),
        pod: pod.into(),
        container: container.map(str::to_string),
        data_dir: data_dir.into(),
        node: pod.into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    }
}

async fn operator(kube: &KubeLab, contexts: &[&str]) -> KubeOperator {
    let path = kube.kubeconfig.to_string_lossy().to_string();
    let contexts: Vec<String> = contexts.iter().map(|c| c.to_string()).collect();
    KubeOperator::new(KubeClients::from_kubeconfig(Some(&path), &contexts).await.expect("clients"))
}

fn exec_requests(server: &KubeServer) -> Vec<String> {
    server.requests().into_iter().filter(|r| r.contains("/exec")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_pg_ctl_promote_through_pod_exec_promotes_the_replica() {
    let pg = PgLab::start().await;
    let kube = KubeLab::start(&[EAST, WEST]).await;
    let (east, west) = (kube.server(EAST), kube.server(WEST));
    for name in ["postgresql-0", "postgresql-1"] {
        add_db_pod(east, name);
        east.on_exec(NS, name, run_in_container);
        // A same-named pod in the other cluster must never be the one that runs it.
        add_db_pod(west, name);
        west.on_exec(NS, name, |_| panic!("exec reached the us-west-2 cluster"));
    }
    let op_kube = operator(&kube, &[EAST, WEST]).await;
    let observer = PostgresObserver::new(&pg.config(), TIMEOUTS);
    let replica_dir = pg.node("postgresql-1").data.to_string_lossy().to_string();
    let primary_dir = pg.node("postgresql-0").data.to_string_lossy().to_string();
    let op = exec_promote(EAST, "postgresql-1", Some("postgres"), &replica_dir);

    // While the old primary is writable, the prechecks (those of the SQL promote) refuse.
    let before = observed(observer.observe().await.expect("observe"));
    let guard = op.precheck(&before).into_iter().find(|c| c.name == "old primary down or fenced");
    assert!(guard.as_ref().is_some_and(|c| !c.ok && c.detail.contains("postgresql-0")), "{guard:?}");
    assert!(matches!(op.verify(&before), Verify::NotYet(_)));

    // A real non-zero exit: pg_ctl refuses to promote a server that is not a standby.
    let err = op_kube
        .execute(&exec_promote(EAST, "postgresql-0", None, &primary_dir))
        .await
        .expect_err("promoting the primary fails");
    assert!(err.contains("exit code 1") && err.contains("not in standby mode"), "{err}");
    assert!(!pg.in_recovery("postgresql-0").await, "nothing changed");

    // The primary dies; now every precheck passes.
    pg.kill9("postgresql-0");
    let down = wait_until("postgresql-0 observed down", Duration::from_secs(10), || async {
        let v = observer.observe().await?;
        match v.node("postgresql-0").map(|n| n.role) {
            Some(PgRole::Down) => Ok(observed(v)),
            other => Err(format!("postgresql-0 is {other:?}")),
        }
    })
    .await;
    let checks = op.precheck(&down);
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");

    let summary = op_kube.execute(&op).await.expect("pg_ctl promote through exec");
    assert!(summary.contains("server promoted") && summary.contains("exited 0"), "{summary}");
    assert!(!pg.in_recovery("postgresql-1").await, "ground truth: the replica left recovery");

    let verified = wait_until("verify holds", Duration::from_secs(10), || async {
        match op.verify(&observed(observer.observe().await?)) {
            Verify::Holds(m) => Ok(m),
            Verify::NotYet(m) => Err(m),
        }
    })
    .await;
    assert!(verified.contains("postgresql-1 is primary and accepts writes"), "{verified}");

    let execs = east.execs();
    assert_eq!(execs.len(), 2, "{execs:#?}");
    assert_eq!(execs[1].command, ["pg_ctl", "promote", "-D", replica_dir.as_str()]);
    assert_eq!((execs[1].pod.as_str(), execs[1].container.as_str()), ("postgresql-1", "postgres"));
    assert_eq!(execs[1].protocol, "v5.channel.k8s.io");
    assert!(west.execs().is_empty() && exec_requests(west).is_empty(), "{:?}", west.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_zero_exit_and_api_errors_are_errors_with_cleaned_output() {
    let kube = KubeLab::start(&[EAST]).await;
    let east = kube.server(EAST);
    add_db_pod(east, "postgresql-1");
    east.on_exec(NS, "postgresql-1", |_| ExecResult {
        stdout: b"waiting for server to promote....".to_vec(),
        stderr: b"pg_ctl: could not send promote signal\x1b[2J\n dsn password=s3cret\n".to_vec(),
        exit_code: 3,
        ..ExecResult::default()
    });
    add_db_pod(east, "postgresql-2");
    let op_kube = operator(&kube, &[EAST]).await;
    let dir = "/var/lib/postgresql/data";

    let err = op_kube.execute(&exec_promote(EAST, "postgresql-1", None, dir)).await.expect_err("exit 3");
    assert!(err.contains("command terminated with exit code 3"), "{err}");
    assert!(err.contains("could not send promote signal␛[2J | dsn password=***"), "{err}");
    assert!(!err.contains('\x1b') && !err.contains("s3cret"), "{err:?}");
    assert!(err.contains("pod database/postgresql-1 in us-east-1"), "{err}");

    let err = op_kube.execute(&exec_promote(EAST, "nope", None, dir)).await.expect_err("no pod");
    assert!(err.contains("pods \"nope\" not found") && err.contains("404"), "{err}");
    let err = op_kube
        .execute(&exec_promote(EAST, "postgresql-1", Some("sidecar"), dir))
        .await
        .expect_err("container");
    assert!(err.contains("container sidecar is not valid for pod postgresql-1"), "{err}");
    // A status error that is not an exit code (no process behind postgresql-2).
    let err = op_kube.execute(&exec_promote(EAST, "postgresql-2", None, dir)).await.expect_err("no process");
    assert!(err.contains("(InternalError)"), "{err}");
    assert_eq!(east.execs().len(), 2, "only the upgraded execs reached a process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_for_an_unconfigured_context_reaches_no_server() {
    let kube = KubeLab::start(&[EAST, WEST]).await;
    for ctx in [EAST, WEST] {
        add_db_pod(kube.server(ctx), "postgresql-1");
        kube.server(ctx).on_exec(NS, "postgresql-1", |_| panic!("exec must not run"));
    }
    // Only us-east-1 is configured; the kubeconfig's current-context is a decoy on EAST's server.
    let op_kube = operator(&kube, &[EAST]).await;
    for ctx in [WEST, DECOY_CONTEXT, "eu-central-1"] {
        let err = op_kube
            .execute(&exec_promote(ctx, "postgresql-1", None, "/var/lib/postgresql/data"))
            .await
            .expect_err("unconfigured context");
        assert!(err.contains(&format!("{ctx:?} is not configured")), "{err}");
    }
    let err = LiveOperator::default()
        .execute(&exec_promote(EAST, "postgresql-1", None, "/var/lib/postgresql/data"))
        .await
        .expect_err("no Kubernetes in the live estate");
    assert!(err.contains("Kubernetes is not configured"), "{err}");
    for ctx in [EAST, WEST] {
        let s = kube.server(ctx);
        assert!(s.execs().is_empty() && exec_requests(s).is_empty(), "{ctx}: {:?}", s.requests());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_lost_mid_exec_is_an_error_not_a_hang() {
    let kube = KubeLab::start(&[EAST]).await;
    let east = kube.server(EAST);
    add_db_pod(east, "postgresql-1");
    east.on_exec(NS, "postgresql-1", |_| ExecResult {
        stdout: b"waiting for server to promote...".to_vec(),
        drop_connection: true,
        ..ExecResult::default()
    });
    let op_kube = operator(&kube, &[EAST]).await;
    let run = op_kube.execute(&exec_promote(EAST, "postgresql-1", None, "/var/lib/postgresql/data"));
    let err = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("returns within 10 s")
        .expect_err("no exit status");
    assert!(err.contains("without an exit status") || err.contains("before an exit status"), "{err}");
    assert_eq!(east.execs().len(), 1);
}
