//! A REAL Kubernetes control plane for the tests, on loopback: one etcd, and per region context
//! (`us-east-1`, `us-west-2`) a kube-apiserver (TLS, token and client-certificate
//! authentication, `--authorization-mode=RBAC`) and a kube-controller-manager (Deployments,
//! ReplicaSets, EndpointSlices, ServiceAccounts). The binaries are the ones
//! `scripts/build-control-plane.sh` builds from the Kubernetes and etcd Go modules pinned under
//! `tests/control-plane/` (built on first use, then cached by version).
//!
//! There is no kubelet: [`kubelet::Kubelet`] plays its part (a Node, binding, pod status).
//! One kubeconfig names both contexts and a decoy `current-context`.
//!
//! [`ControlPlane::shared`] is one control plane per test binary (tests isolate themselves by
//! namespace: [`ControlPlane::namespace`]); [`ControlPlane::start`] a private one for tests that
//! restart or break it.
#![allow(dead_code)]

pub mod auth;
pub mod endpoints;
pub mod etcd;
pub mod kubelet;
pub mod objects;
pub mod outage;
pub mod pki;
pub mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use self::kubelet::Kubelet;
use self::pki::Pki;
use self::process::Proc;

/// The region contexts every control plane serves.
pub const CONTEXTS: [&str; 2] = ["us-east-1", "us-west-2"];
/// Name of the decoy current-context: it points at `us-west-2`'s API server, namespace `decoy`,
/// so code that ignores the explicit context reads or writes the wrong cluster.
pub const DECOY_CONTEXT: &str = "decoy-current";
/// The user every context of the main kubeconfig authenticates as (group `system:masters`).
pub const ADMIN_USER: &str = "warroom-admin";

/// Token users the API servers know (`--token-auth-file`): (token, user, groups).
pub const TOKEN_USERS: [(&str, &str, &str); 3] = [
    ("admin-token-0123456789abcdef", ADMIN_USER, "system:masters"),
    ("controller-manager-token-0123456789", "system:kube-controller-manager", "system:masters"),
    ("viewer-token-0123456789abcdef", "viewer", "warroom:viewers"),
];

/// One region's API server and controller manager.
pub struct Cluster {
    /// Context name (the region).
    pub context: String,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The API server process.
    pub apiserver: Proc,
    /// The controller manager process.
    pub controller_manager: Proc,
    /// The harness's kubelet for this cluster.
    pub kubelet: Kubelet,
    args: Vec<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A running control plane (see the module docs).
pub struct ControlPlane {
    /// The etcd both API servers store into (under different prefixes).
    pub etcd: etcd::Etcd,
    /// Clusters by context.
    pub clusters: BTreeMap<String, Cluster>,
    /// The kubeconfig naming every context (admin user) and the decoy current-context.
    pub kubeconfig: PathBuf,
    /// Certificates: the CA signs client certificates for tests ([`Pki::client_cert`]).
    pub pki: Pki,
    /// Everything on disk (configs, logs, etcd data).
    pub dir: tempfile::TempDir,
    bin: PathBuf,
}

/// Temp directories of control planes start with this, then the owning process id.
const DIR_PREFIX: &str = "warroom-cp-";

static SHARED_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_shared_dir() {
    if let Some(dir) = SHARED_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Remove control-plane directories left by test processes that are gone (killed before they
/// could clean up): `warroom-cp-<pid>-*` whose pid no longer runs.
fn sweep_stale_dirs() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(DIR_PREFIX).and_then(|r| r.split('-').next()?.parse::<i32>().ok())
        else {
            continue;
        };
        if !crate::support::lab::alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The directory holding `kube-apiserver`, `kube-controller-manager` and `etcd`, built by
/// `scripts/build-control-plane.sh` if not cached yet.
pub fn binaries() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(dir) = std::env::var_os("WARROOM_CONTROL_PLANE_BIN") {
            return PathBuf::from(dir);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-control-plane.sh");
        let out = std::process::Command::new(&script)
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(out.status.success(), "{} failed (see its output above)", script.display());
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// The harness runtime: the kubelets and start-up run here, on a thread that lives as long as
/// the test binary (each `#[tokio::test]` has its own runtime, which ends with the test).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("control-plane")
            .enable_all()
            .build()
            .expect("harness runtime")
    })
}

impl ControlPlane {
    /// The control plane of this test binary, started on first use.
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<ControlPlane> = OnceLock::new();
        SHARED.get_or_init(|| {
            let cp = ControlPlane::start();
            // A static is never dropped: remove its directory (etcd's WAL alone is 64 MB) when
            // the test binary exits; the processes die with it (see `process`).
            let _ = SHARED_DIR.set(cp.dir.path().to_path_buf());
            // SAFETY: registers a plain `extern "C" fn` with no captured state.
            unsafe { libc::atexit(remove_shared_dir) };
            cp
        })
    }

    /// A private control plane (torn down on drop). Blocks while it starts (~5 s).
    pub fn start() -> ControlPlane {
        ControlPlane::start_with(&[])
    }

    /// A private control plane whose API servers get `apiserver_args` too (e.g. a token
    /// webhook: [`auth::token_webhook_args`]).
    pub fn start_with(apiserver_args: &[String]) -> ControlPlane {
        // Run start-up on a plain thread: the caller may be inside a runtime.
        std::thread::scope(|s| s.spawn(|| runtime().block_on(ControlPlane::boot(apiserver_args))).join())
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    async fn boot(apiserver_args: &[String]) -> ControlPlane {
        let started = Instant::now();
        let bin = binaries();
        sweep_stale_dirs();
        let prefix = format!("{DIR_PREFIX}{}-", std::process::id());
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir().expect("tempdir");
        let pki = Pki::create(&dir.path().join("pki"));
        let tokens = dir.path().join("tokens.csv");
        let lines: Vec<String> = TOKEN_USERS.iter().map(|(t, u, g)| format!("{t},{u},{u},\"{g}\"")).collect();
        std::fs::write(&tokens, lines.join("\n") + "\n").expect("token file");
        let etcd = etcd::Etcd::start(&bin, dir.path()).await;
        let mut clusters = BTreeMap::new();
        for (i, context) in CONTEXTS.iter().enumerate() {
            let cluster =
                Cluster::start(&bin, dir.path(), &pki, &tokens, &etcd, (context, i), apiserver_args).await;
            clusters.insert(context.to_string(), cluster);
        }
        let kubeconfig = dir.path().join("kubeconfig");
        let cp = ControlPlane { etcd, clusters, kubeconfig, pki, dir, bin };
        cp.write_kubeconfig(&cp.kubeconfig, json!({ "token": TOKEN_USERS[0].0 }));
        eprintln!(
            "control plane: etcd + {} API servers + controller managers ready in {:?}",
            CONTEXTS.len(),
            started.elapsed()
        );
        cp
    }

    /// Write a kubeconfig naming every context and the decoy, whose one user is `user` (the
    /// `user` map of a kubeconfig: `{"token": ...}`, `{"exec": ...}`, client certificate...).
    pub fn write_kubeconfig(&self, path: &Path, user: Value) {
        let ca = self.pki.ca_cert.to_string_lossy();
        let mut clusters: Vec<Value> = self
            .clusters
            .values()
            .map(
                |c| json!({ "name": c.context, "cluster": { "server": c.url, "certificate-authority": ca } }),
            )
            .collect();
        let mut contexts: Vec<Value> = self
            .clusters
            .values()
            .map(|c| json!({ "name": c.context, "context": { "cluster": c.context, "user": "tester", "namespace": "default" } }))
            .collect();
        clusters.push(json!({ "name": DECOY_CONTEXT, "cluster": { "server": self.clusters["us-west-2"].url, "certificate-authority": ca } }));
        contexts.push(json!({ "name": DECOY_CONTEXT, "context": { "cluster": DECOY_CONTEXT, "user": "tester", "namespace": "decoy" } }));
        let kc = json!({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "current-context": DECOY_CONTEXT,
            "clusters": clusters, "contexts": contexts,
            "users": [{ "name": "tester", "user": user }],
        });
        std::fs::write(path, serde_json::to_vec_pretty(&kc).expect("json")).expect("write kubeconfig");
    }

    /// The cluster of a context.
    pub fn cluster(&self, context: &str) -> &Cluster {
        self.clusters.get(context).unwrap_or_else(|| panic!("no cluster {context}"))
    }

    /// An admin client for `context`, built on the caller's runtime.
    pub async fn client(&self, context: &str) -> kube::Client {
        client_from(&self.kubeconfig, context).await
    }

    /// Kill and start `context`'s API server again on the same port and flags (open watches
    /// break; its watch cache starts empty, so resuming from an old resourceVersion that etcd
    /// compacted meanwhile answers 410 Gone). Waits until it is ready.
    pub fn restart_apiserver(&mut self, context: &str) {
        let bin = self.bin.clone();
        let cluster = self.clusters.get_mut(context).expect("cluster");
        cluster.apiserver.kill();
        cluster.apiserver = Proc::start(
            &format!("kube-apiserver {context}"),
            &bin.join("kube-apiserver"),
            &cluster.args,
            &cluster.apiserver.log.with_extension("restarted.log"),
        );
        let url = cluster.url.clone();
        let log = cluster.apiserver.log.clone();
        let kubeconfig = self.kubeconfig.clone();
        let ctx = context.to_string();
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(wait_ready(&kubeconfig, &ctx, &url, &log))).join()
        })
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
}

impl Cluster {
    async fn start(
        bin: &Path,
        dir: &Path,
        pki: &Pki,
        tokens: &Path,
        etcd: &etcd::Etcd,
        (context, index): (&str, usize),
        extra: &[String],
    ) -> Cluster {
        let port = crate::support::lab::free_port();
        let url = format!("https://127.0.0.1:{port}");
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let mut args: Vec<String> = vec![
            format!("--etcd-servers={}", etcd.url),
            format!("--etcd-prefix=/{context}/registry"),
            format!("--secure-port={port}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            "--endpoint-reconciler-type=none".into(),
            format!("--tls-cert-file={}", s(&pki.serving_cert)),
            format!("--tls-private-key-file={}", s(&pki.serving_key)),
            format!("--client-ca-file={}", s(&pki.ca_cert)),
            format!("--token-auth-file={}", s(tokens)),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!("--service-account-key-file={}", s(&pki.sa_pub)),
            format!("--service-account-signing-key-file={}", s(&pki.sa_key)),
            format!("--service-cluster-ip-range=10.{}.0.0/16", 96 + index),
            "--profiling=false".into(),
            "--v=0".into(),
        ];
        args.extend(extra.iter().cloned());
        let apiserver = Proc::start(
            &format!("kube-apiserver {context}"),
            &bin.join("kube-apiserver"),
            &args,
            &dir.join(format!("kube-apiserver-{context}.log")),
        );
        // The controller manager's kubeconfig: the token user in system:masters.
        let kcm_kubeconfig = dir.join(format!("kcm-{context}.kubeconfig"));
        let kc = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{ "name": "c", "cluster": { "server": url, "certificate-authority": s(&pki.ca_cert) } }],
            "contexts": [{ "name": "c", "context": { "cluster": "c", "user": "u" } }],
            "users": [{ "name": "u", "user": { "token": TOKEN_USERS[1].0 } }],
        });
        std::fs::write(&kcm_kubeconfig, serde_json::to_vec(&kc).expect("json")).expect("kcm kubeconfig");
        let admin_kubeconfig = dir.join(format!("admin-{context}.kubeconfig"));
        let mut admin = kc.clone();
        admin["users"][0]["user"]["token"] = json!(TOKEN_USERS[0].0);
        std::fs::write(&admin_kubeconfig, serde_json::to_vec(&admin).expect("json"))
            .expect("admin kubeconfig");
        wait_ready(&admin_kubeconfig, "c", &url, &apiserver.log).await;
        let kcm_args: Vec<String> = vec![
            format!("--kubeconfig={}", s(&kcm_kubeconfig)),
            "--secure-port=0".into(),
            "--leader-elect=false".into(),
            // clusterrole-aggregation fills the built-in `view`, `edit` and `admin` roles.
            "--controllers=deployment,replicaset,endpoint,endpointslice,serviceaccount,clusterrole-aggregation".into(),
            "--kube-api-qps=200".into(),
            "--kube-api-burst=400".into(),
            "--concurrent-replicaset-syncs=10".into(),
            "--v=0".into(),
        ];
        let controller_manager = Proc::start(
            &format!("kube-controller-manager {context}"),
            &bin.join("kube-controller-manager"),
            &kcm_args,
            &dir.join(format!("kube-controller-manager-{context}.log")),
        );
        let client = client_from(&admin_kubeconfig, "c").await;
        let (kubelet, tasks) =
            Kubelet::start(client, &format!("node-{context}-a"), &format!("10.{}", index + 1)).await;
        Cluster { context: context.to_string(), url, apiserver, controller_manager, kubelet, args, tasks }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A client for `context` of the kubeconfig at `path`, on the caller's runtime.
pub async fn client_from(path: &Path, context: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(path).expect("read kubeconfig");
    let opts = kube::config::KubeConfigOptions { context: Some(context.into()), ..Default::default() };
    let cfg = kube::Config::from_custom_kubeconfig(kc, &opts).await.expect("kube config");
    kube::Client::try_from(cfg).expect("kube client")
}

/// Wait until the API server at `url` answers `/readyz` with `ok` (30 s).
async fn wait_ready(kubeconfig: &Path, context: &str, url: &str, log: &Path) {
    let client = client_from(kubeconfig, context).await;
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let req = http::Request::get("/readyz").body(Vec::new()).expect("request");
        let last = match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return,
            Ok(body) => body,
            Err(e) => e.to_string(),
        };
        if Instant::now() > end {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "kube-apiserver at {url} not ready after 30 s: {last}\n{}:\n{}",
                log.display(),
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
