//! Every way a kubeconfig user authenticates, against the real API server
//! (tests/support/control_plane): a bearer token inline and in a `tokenFile`, a client
//! certificate, and an exec credential plugin (tests/fixtures/exec-credential-plugin.sh, as
//! `aws eks get-token` does) whose token expires during the session (a token webhook served
//! by the test makes the API server refuse expired tokens), and a plugin that fails, whose
//! stderr reaches the pane cleaned and redacted. Who the API server says we are comes from a
//! SelfSubjectReview ([`warroom::backends::kube::access::whoami`]).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::control_plane::auth::{
    EXPIRING_USER, expiring_token, expiring_token_review, token_webhook_args,
};
use support::control_plane::objects::{eventually, unique_namespace};
use support::control_plane::{CONTEXTS, ControlPlane, TOKEN_USERS};
use support::http_fake::{FakeServer, Mode};
use warroom::backends::kube::access::{check_access, whoami};
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver};
use warroom::config::model::{Config, KubernetesConfig};
use warroom::operation::Operation;
use warroom::runbook::operation::access_checks;

fn plugin() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec-credential-plugin.sh")
        .to_string_lossy()
        .into()
}

/// The `exec` user map running the fixture plugin (argv only, no shell).
fn exec_user(count: &Path, lifetime_secs: u32) -> Value {
    json!({ "exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": plugin(),
        "args": [count.to_string_lossy(), lifetime_secs.to_string()],
    } })
}

fn runs(count: &Path) -> u32 {
    std::fs::read_to_string(count).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

async fn clients_for(cp: &ControlPlane, dir: &Path, name: &str, user: Value) -> Result<KubeClients, String> {
    let path: PathBuf = dir.join(format!("{name}.kubeconfig"));
    cp.write_kubeconfig(&path, user);
    let contexts: Vec<String> = CONTEXTS.iter().map(|c| c.to_string()).collect();
    KubeClients::from_kubeconfig(Some(&path.to_string_lossy()), &contexts).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_token_files_and_client_certificates_authenticate_as_their_users() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    // As `echo TOKEN > file` writes it (client-go trims it; kube-rs alone would not), and bare.
    std::fs::write(&token_file, format!("{}\n", TOKEN_USERS[2].0)).expect("token file");
    let bare_token_file = dir.path().join("bare-token");
    std::fs::write(&bare_token_file, TOKEN_USERS[2].0).expect("token file");
    let (cert, key) = cp.pki.client_cert("cert-oncall", &["warroom:oncall"]);
    let users = [
        ("token", json!({ "token": TOKEN_USERS[2].0 }), "viewer"),
        ("token-file", json!({ "tokenFile": token_file }), "viewer"),
        ("bare-token-file", json!({ "tokenFile": bare_token_file }), "viewer"),
        ("cert", json!({ "client-certificate": cert, "client-key": key }), "cert-oncall"),
    ];
    let ns = unique_namespace("auth");
    for context in CONTEXTS {
        cp.namespace(context, &ns).await;
    }
    for (name, user, expected) in users {
        let clients = clients_for(cp, dir.path(), name, user).await.expect("clients");
        for context in CONTEXTS {
            let who = whoami(clients.get(context).expect("client")).await;
            assert_eq!(who.as_deref(), Ok(expected), "{name} in {context}");
        }
        // The permission precheck names that user.
        let op = Operation::ScaleDeployment {
            context: "us-west-2".into(),
            namespace: ns.clone(),
            deployment: "api".into(),
            replicas: 1,
        };
        let checks =
            access_checks(&op.access_requests(), Some(&check_access(&clients, &op.access_requests()).await));
        assert!(
            checks[0].detail.starts_with(&format!("you ({expected}) may not patch deployments/scale")),
            "{checks:?}"
        );
    }
    // A client-certificate user granted `view` sees the panes.
    cp.grant("us-east-1", &ns, "cert-oncall", "view").await;
    cp.deployment("us-east-1", &ns, "api", 1, &[]).await;
    let clients =
        clients_for(cp, dir.path(), "cert", json!({ "client-certificate": cert, "client-key": key }))
            .await
            .expect("clients");
    let spec = KubeObserveSpec {
        contexts: vec!["us-east-1".into()],
        namespaces: vec![ns.clone()],
        ..KubeObserveSpec::default()
    };
    let observer = KubeObserver::start(&clients, spec);
    eventually("the certificate user's pods", Duration::from_secs(20), || async {
        let v = observer.view()?;
        if v.pods.len() == 1 && v.deployments.len() == 1 { Ok(()) } else { Err(format!("{v:?}")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_plugin_token_that_expires_during_the_session_is_renewed_by_running_the_plugin_again() {
    let webhook = FakeServer::start(Mode::Answer(Arc::new(expiring_token_review))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cp = ControlPlane::start_with(&token_webhook_args(dir.path(), &format!("http://{}", webhook.addr)));
    // The API server really refuses an expired token (and accepts a valid one).
    let past = chrono::Utc::now().timestamp() - 1;
    let expired = clients_for(&cp, dir.path(), "expired", json!({ "token": expiring_token(past, 0) })).await;
    let err = whoami(expired.expect("clients").get("us-east-1").expect("client")).await.expect_err("expired");
    assert!(err.contains("401"), "{err}");
    let count = dir.path().join("runs");
    let clients = clients_for(&cp, dir.path(), "exec", exec_user(&count, 3)).await.expect("clients");
    let first_runs = runs(&count);
    assert!(first_runs >= 1, "the plugin gave the first token");
    let client = clients.get("us-east-1").expect("client").clone();
    assert_eq!(whoami(&client).await.as_deref(), Ok(EXPIRING_USER));
    // Past the first token's expiry (and the webhook's 1 s cache).
    let deadline = chrono::Utc::now().timestamp() + 3 + 2;
    eventually("the first token expired", Duration::from_secs(10), || async {
        if chrono::Utc::now().timestamp() > deadline { Ok(()) } else { Err("not yet".to_string()) }
    })
    .await;
    let before = runs(&count);
    for _ in 0..3 {
        assert_eq!(whoami(&client).await.as_deref(), Ok(EXPIRING_USER), "requests after expiry succeed");
    }
    assert!(runs(&count) > before, "the plugin ran again: {before} -> {}", runs(&count));
    let seen = webhook.seen.lock().expect("seen").len();
    assert!(seen >= 2, "the API server asked the webhook: {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_exec_plugin_shows_its_stderr_cleaned_and_redacted_in_the_pane() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |msg: &str| {
        assert!(msg.contains("exec credential plugin") && msg.contains("exit status: 1"), "{msg}");
        assert!(msg.contains("An error occurred (ExpiredToken)") && msg.contains("aws sso login"), "{msg}");
        assert!(!msg.contains("sk-live") && msg.contains("token=***"), "redacted: {msg}");
        assert!(
            !msg.contains('\u{1b}') && !msg.contains('\n') && !msg.contains("Output {"),
            "clean: {msg:?}"
        );
    };
    // Failing from the first run: the clients cannot be built; the pane says why.
    let count = dir.path().join("runs-now.txt");
    let path = dir.path().join("failing.kubeconfig");
    std::fs::write(format!("{}.fail", count.display()), "").expect("fail marker");
    cp.write_kubeconfig(&path, exec_user(&count, 3600));
    let cfg = Config {
        regions: vec![warroom::config::model::RegionConfig {
            kube_context: Some("us-east-1".into()),
            ..support::region("us-east-1", "primary")
        }],
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(path.to_string_lossy().into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let estate = warroom::backends::live::build(&Arc::new(cfg)).await;
    let snap = estate.sources.kube.borrow().clone();
    let error = snap.freshness.error().expect("the Kubernetes pane fails").to_string();
    check(&error);
    // Failing later in the session (the token expired, the cloud login too): the context's
    // error in the pane.
    let count = dir.path().join("runs-later.txt");
    let clients = clients_for(cp, dir.path(), "later", exec_user(&count, 1)).await.expect("first runs work");
    std::fs::write(format!("{}.fail", count.display()), "").expect("fail marker");
    let spec = KubeObserveSpec { contexts: vec!["us-east-1".into()], ..KubeObserveSpec::default() };
    let observer = KubeObserver::start(&clients, spec);
    let error = eventually("the refresh failure in the pane", Duration::from_secs(20), || async {
        let shown = match observer.view() {
            Err(e) => e,
            Ok(v) => v.contexts.iter().find_map(|c| c.error.clone()).unwrap_or_default(),
        };
        if shown.contains("exec credential plugin") { Ok(shown) } else { Err(shown) }
    })
    .await;
    check(&error);
}
