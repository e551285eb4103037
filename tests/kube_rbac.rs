//! RBAC through the real API server (tests/support/control_plane): a user who may only view
//! sees every pane; every mutating Kubernetes step asks the API server (SelfSubjectAccessReview)
//! for exactly its verb, resource, subresource, namespace and name before confirmation; an
//! API server that cannot be asked is never taken as "allowed"; a permission revoked between
//! the precheck and the execution is one clean line in the step result.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::DeleteParams;
use serde_json::json;
use support::control_plane::objects::{eventually, unique_namespace};
use support::control_plane::{CONTEXTS, ControlPlane, TOKEN_USERS};
use warroom::backends::Operate;
use warroom::backends::kube::access::check_access;
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver, KubeOperator};
use warroom::config::model::ObjectRef;
use warroom::operation::Operation;
use warroom::operation::access::AccessAnswer;
use warroom::runbook::operation::access_checks;

const VIEWER: &str = "viewer";

/// Clients of both contexts authenticating as the `viewer` token user.
async fn viewer_clients(cp: &ControlPlane, dir: &tempfile::TempDir) -> KubeClients {
    let path: PathBuf = dir.path().join("viewer.kubeconfig");
    cp.write_kubeconfig(&path, json!({ "token": TOKEN_USERS[2].0 }));
    let contexts: Vec<String> = CONTEXTS.iter().map(|c| c.to_string()).collect();
    KubeClients::from_kubeconfig(Some(&path.to_string_lossy()), &contexts).await.expect("viewer clients")
}

/// Every Kubernetes mutation the console can propose, in `context`/`ns`.
fn mutations(context: &str, ns: &str) -> Vec<Operation> {
    vec![
        Operation::PatchServiceSelector {
            context: context.into(),
            namespace: ns.into(),
            service: "postgresql".into(),
            pod: "postgresql-1".into(),
        },
        Operation::LabelPod {
            context: context.into(),
            namespace: ns.into(),
            pod: "postgresql-1".into(),
            key: "role".into(),
            value: "primary".into(),
        },
        Operation::ScaleDeployment {
            context: context.into(),
            namespace: ns.into(),
            deployment: "api".into(),
            replicas: 2,
        },
        Operation::RollbackDeployment {
            context: context.into(),
            namespace: ns.into(),
            deployment: "api".into(),
        },
        Operation::ExecPromote {
            context: context.into(),
            namespace: ns.into(),
            pod: "postgresql-1".into(),
            container: None,
            data_dir: "/var/lib/postgresql/data".into(),
            node: "postgresql-1".into(),
            max_lag_bytes: 0,
            accept_data_loss: None,
        },
    ]
}

/// The permission prechecks of `op` as the viewer's clients see them now.
async fn permission(clients: &KubeClients, op: &Operation) -> Vec<warroom::operation::Check> {
    let requests = op.access_requests();
    let answers = check_access(clients, &requests).await;
    access_checks(&requests, Some(&answers))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_may_do_no_mutation_and_the_precheck_names_the_user_and_the_permission() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = unique_namespace("rbac-view");
    for context in CONTEXTS {
        cp.namespace(context, &ns).await;
        cp.grant(context, &ns, VIEWER, "view").await;
    }
    let clients = viewer_clients(cp, &dir).await;
    let op = &mutations("us-east-1", &ns)[0];
    let checks = permission(&clients, op).await;
    assert_eq!(checks.len(), 1);
    assert!(!checks[0].ok, "{checks:?}");
    assert!(
        checks[0]
            .detail
            .starts_with(&format!("you ({VIEWER}) may not patch services in {ns} (postgresql in us-east-1)")),
        "the user comes from the API server's SelfSubjectReview, not the kubeconfig (`tester`): {checks:?}"
    );
    for context in CONTEXTS {
        for op in mutations(context, &ns) {
            let checks = permission(&clients, &op).await;
            // `view` may get deployments (the rollback's read) but nothing mutating.
            let denied: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
            assert!(!denied.is_empty(), "{context} {}: {checks:?}", op.name());
            for c in denied {
                assert!(c.detail.starts_with(&format!("you ({VIEWER}) may not ")), "{c:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_is_for_exactly_this_context_verb_subresource_and_name() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = unique_namespace("rbac-exact");
    for context in CONTEXTS {
        cp.namespace(context, &ns).await;
    }
    let clients = viewer_clients(cp, &dir).await;
    // us-east-1: `edit` lets the viewer do every mutation the console proposes.
    cp.grant("us-east-1", &ns, VIEWER, "edit").await;
    for op in mutations("us-east-1", &ns) {
        eventually(&format!("{} allowed in us-east-1", op.name()), Duration::from_secs(10), || async {
            let checks = permission(&clients, &op).await;
            match checks.iter().find(|c| !c.ok) {
                None => Ok(()),
                Some(c) => Err(c.detail.clone()),
            }
        })
        .await;
    }
    // us-west-2: a Role that may patch only the Service `other`, and Deployments but not
    // their scale subresource.
    cp.apply(
        "us-west-2",
        &ns,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": { "name": "narrow", "namespace": ns },
            "rules": [
                { "apiGroups": [""], "resources": ["services"], "resourceNames": ["other"], "verbs": ["patch"] },
                { "apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"] },
            ],
        }),
    )
    .await;
    cp.apply(
        "us-west-2",
        &ns,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": "narrow", "namespace": ns },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "narrow" },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": VIEWER }],
        }),
    )
    .await;
    let other = Operation::PatchServiceSelector {
        context: "us-west-2".into(),
        namespace: ns.clone(),
        service: "other".into(),
        pod: "postgresql-1".into(),
    };
    eventually("patch services/other allowed in us-west-2", Duration::from_secs(10), || async {
        let c = &permission(&clients, &other).await[0];
        if c.ok { Ok(()) } else { Err(c.detail.clone()) }
    })
    .await;
    let [repoint, _, scale, ..] = &mutations("us-west-2", &ns)[..] else { unreachable!() };
    let c = &permission(&clients, repoint).await[0];
    assert!(!c.ok, "the Role names only `other`, not `postgresql`: {c:?}");
    let c = &permission(&clients, scale).await[0];
    assert!(!c.ok && c.detail.contains("may not patch deployments/scale"), "{c:?}");
    let patch_deployment = &permission(&clients, &mutations("us-west-2", &ns)[3]).await;
    let shown: Vec<(&str, bool)> = patch_deployment.iter().map(|c| (c.detail.as_str(), c.ok)).collect();
    assert_eq!(
        shown.iter().map(|(_, ok)| *ok).collect::<Vec<_>>(),
        [true, false, true],
        "rollback: get and patch deployments allowed, list replicasets not: {shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_that_cannot_be_asked_is_never_an_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dead.kubeconfig");
    let port = support::lab::free_port();
    std::fs::write(
        &path,
        json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "us-east-1",
            "clusters": [{ "name": "c", "cluster": { "server": format!("https://127.0.0.1:{port}"), "insecure-skip-tls-verify": true } }],
            "contexts": [{ "name": "us-east-1", "context": { "cluster": "c", "user": "oncall" } }],
            "users": [{ "name": "oncall", "user": { "token": "t" } }],
        })
        .to_string(),
    )
    .expect("kubeconfig");
    let clients = KubeClients::from_kubeconfig(Some(&path.to_string_lossy()), &["us-east-1".into()])
        .await
        .expect("clients");
    let op = &mutations("us-east-1", "database")[0];
    let answers = check_access(&clients, &op.access_requests()).await;
    assert!(matches!(&answers[..], [AccessAnswer::Unknown { .. }]), "{answers:?}");
    let c = &access_checks(&op.access_requests(), Some(&answers))[0];
    assert!(
        !c.ok && c.detail.starts_with("could not check whether you may patch services in database"),
        "{c:?}"
    );
    // The operator's trait method answers the same (this is what the runner calls).
    let answers = Operate::check_access(&KubeOperator::new(clients), &op.access_requests()).await;
    assert!(matches!(&answers[..], [AccessAnswer::Unknown { .. }]), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_revoked_after_the_precheck_is_one_clean_line_in_the_result() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = unique_namespace("rbac-revoke");
    cp.namespace("us-east-1", &ns).await;
    cp.deployment("us-east-1", &ns, "api", 1, &[]).await;
    cp.service("us-east-1", &ns, "postgresql", &[("app", "api")]).await;
    cp.grant("us-east-1", &ns, VIEWER, "edit").await;
    let clients = viewer_clients(cp, &dir).await;
    let operator = KubeOperator::new(clients.clone());
    let ops = mutations("us-east-1", &ns);
    let (repoint, scale) = (&ops[0], &ops[2]);
    for op in [repoint, scale] {
        eventually("the precheck passes", Duration::from_secs(10), || async {
            let c = &permission(&clients, op).await[0];
            if c.ok { Ok(()) } else { Err(c.detail.clone()) }
        })
        .await;
    }
    // Between the precheck and the execution, the binding goes.
    let bindings: Api<RoleBinding> = Api::namespaced(cp.client("us-east-1").await, &ns);
    bindings.delete(&format!("{VIEWER}-edit"), &DeleteParams::default()).await.expect("delete binding");
    eventually("the API server knows", Duration::from_secs(10), || async {
        let c = &permission(&clients, scale).await[0];
        if c.ok { Err("still allowed".to_string()) } else { Ok(()) }
    })
    .await;
    for op in [repoint, scale] {
        let err = operator.execute(op).await.expect_err("forbidden");
        assert!(
            !err.contains('\n') && !err.contains('{') && !err.contains("Status"),
            "one clean line: {err}"
        );
        assert!(err.contains("forbidden") && err.contains(&format!("User \"{VIEWER}\"")), "{err}");
        assert!(err.ends_with("(403 Forbidden)"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_every_pane_and_an_ungranted_context_fails_alone_and_cleanly() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = unique_namespace("rbac-panes");
    for context in CONTEXTS {
        cp.namespace(context, &ns).await;
        cp.deployment(context, &ns, "api", 2, &[]).await;
    }
    cp.service("us-east-1", &ns, "postgresql", &[("app", "api")]).await;
    cp.wait_pods_ready("us-east-1", &ns, "app=api", 2).await;
    // view in us-east-1 only: us-west-2 refuses the viewer everything.
    cp.grant("us-east-1", &ns, VIEWER, "view").await;
    let clients = viewer_clients(cp, &dir).await;
    let spec = KubeObserveSpec {
        contexts: CONTEXTS.iter().map(|c| c.to_string()).collect(),
        namespaces: vec![ns.clone()],
        db_service: Some(ObjectRef {
            context: "us-east-1".into(),
            namespace: ns.clone(),
            name: "postgresql".into(),
        }),
        backoff_min: Duration::from_millis(100),
        ..KubeObserveSpec::default()
    };
    let observer = KubeObserver::start(&clients, spec);
    let view = eventually("the viewer's panes", Duration::from_secs(20), || async {
        let v = observer.view()?;
        let east_pods = v.pods.iter().filter(|p| p.context == "us-east-1" && p.ready == 1).count();
        let endpoints = v.db_service.as_ref().map_or(0, |s| s.endpoint_pods.len());
        let west = v.contexts.iter().find(|c| c.context == "us-west-2").and_then(|c| c.error.clone());
        match (
            east_pods,
            v.deployments.iter().any(|d| d.context == "us-east-1" && d.name == "api"),
            endpoints,
            west,
        ) {
            (2, true, 2, Some(_)) => Ok(v),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let east = view.contexts.iter().find(|c| c.context == "us-east-1").expect("east");
    assert_eq!(east.error, None, "{east:?}");
    let west =
        view.contexts.iter().find(|c| c.context == "us-west-2").and_then(|c| c.error.clone()).expect("west");
    assert!(west.contains("forbidden") && west.contains("(403 Forbidden)"), "{west}");
    assert!(
        !west.contains('\n') && !west.contains("Status {") && !west.contains("ErrorResponse"),
        "clean: {west}"
    );
    // Granting view there heals that part alone.
    cp.grant("us-west-2", &ns, VIEWER, "view").await;
    eventually("us-west-2 with view", Duration::from_secs(40), || async {
        let v = observer.view()?;
        let west = v.contexts.iter().find(|c| c.context == "us-west-2").and_then(|c| c.error.clone());
        let pods = v.pods.iter().filter(|p| p.context == "us-west-2").count();
        if west.is_none() && pods == 2 { Ok(()) } else { Err(format!("{west:?}, {pods} pods")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_console_fails_a_scale_before_confirmation_and_a_retry_after_the_grant_runs_it() {
    use support::headless::Headless;
    use warroom::app::state::{Modal, Mode};
    use warroom::app::step::{Stage, StepStatus};
    use warroom::app::{Action, Domain};
    use warroom::command::Command;
    use warroom::config::model::{Config, KubernetesConfig, RegionConfig};

    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = unique_namespace("rbac-console");
    cp.namespace("us-east-1", &ns).await;
    cp.deployment("us-east-1", &ns, "api", 1, &[]).await;
    cp.grant("us-east-1", &ns, VIEWER, "view").await;
    let path = dir.path().join("viewer.kubeconfig");
    cp.write_kubeconfig(&path, json!({ "token": TOKEN_USERS[2].0 }));
    let cfg = Config {
        regions: vec![RegionConfig {
            kube_context: Some("us-east-1".into()),
            ..support::region("us-east-1", "primary")
        }],
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(path.to_string_lossy().into()),
            namespaces: vec![ns.clone()],
        }),
        ..Default::default()
    };
    let reviews = Domain::reviews_access(Mode::Live, &cfg);
    assert!(reviews, "a live console with Kubernetes asks");
    let mut h = Headless::start(cfg).await;
    h.state.domain.access_reviews = reviews;
    h.until("the Deployment on screen", Duration::from_secs(20), |s| {
        s.domain.observed.kube.fresh_value().is_some_and(|k| k.deployments.iter().any(|d| d.name == "api"))
    })
    .await;
    let op = Operation::ScaleDeployment {
        context: "us-east-1".into(),
        namespace: ns.clone(),
        deployment: "api".into(),
        replicas: 2,
    };
    let id = h.propose(op, "test: scale as the viewer");
    h.until("the precheck's verdict", Duration::from_secs(15), |s| {
        matches!(s.domain.step(id).map(|st| &st.status), Some(StepStatus::Failed { .. }))
    })
    .await;
    let Some(StepStatus::Failed { stage: Stage::Precheck, reason }) =
        h.state.domain.step(id).map(|s| s.status.clone())
    else {
        panic!("{:?}", h.state.domain.step(id))
    };
    assert!(
        reason.starts_with(&format!("permission: you ({VIEWER}) may not patch deployments/scale in {ns}")),
        "{reason}"
    );
    assert!(h.state.view.modal.is_none(), "never offered for confirmation");
    assert!(!h.out.effects.iter().any(|e| matches!(e, warroom::app::Effect::Execute { .. })));
    // Granted edit, a retry asks the API server again and the step runs.
    cp.grant("us-east-1", &ns, VIEWER, "edit").await;
    eventually("edit is in force", Duration::from_secs(10), || async {
        let clients = viewer_clients(cp, &dir).await;
        let op = &mutations("us-east-1", &ns)[2];
        let c = &permission(&clients, op).await[0];
        if c.ok { Ok(()) } else { Err(c.detail.clone()) }
    })
    .await;
    h.apply(Action::Command(Command::StepRetry));
    h.until(
        "the confirmation",
        Duration::from_secs(15),
        |s| matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == id),
    )
    .await;
    h.apply(Action::Command(Command::ConfirmYes));
    h.until("scaled and verified", Duration::from_secs(30), |s| {
        s.domain.step(id).is_some_and(|st| st.status == StepStatus::Done)
    })
    .await;
}
