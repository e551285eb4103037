//! The estate on the real control plane: N bare pods created through the API across the two
//! region contexts (bound to the harness kubelet's Node at creation, `spec.nodeName`, so the
//! kubelet only reports their status), the console's `warroom.toml`, a status-patch storm, the
//! probe of the watch-to-pane figure and the API server's own count of pod LISTs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::control_plane::kubelet::Behaviour;
use crate::support::control_plane::{CONTEXTS, ControlPlane};
use crate::support::home::Home;

/// The namespace every bench pod lives in (in both contexts).
pub const NAMESPACE: &str = "bench";
/// Creates (and storm patches) in flight per context.
const IN_FLIGHT: usize = 48;

/// Name of pod `i` (50 services' worth of pods, like a real namespace).
pub fn pod_name(i: usize) -> String {
    format!("svc-{:02}-{:05}", i % 50, i)
}

/// The context pod `i` lives in: even pods in the first, odd in the second.
pub fn context_of(i: usize) -> &'static str {
    CONTEXTS[i % 2]
}

/// Admin clients by context, in [`CONTEXTS`] order (built on the caller's runtime).
pub async fn clients(cp: &ControlPlane) -> Vec<kube::Client> {
    let mut out = Vec::new();
    for ctx in CONTEXTS {
        out.push(cp.client(ctx).await);
    }
    out
}

/// Create the namespace in both contexts and `pods` bare pods through the API (parallel
/// creates). Returns how long the creates took.
pub async fn create_pods(cp: &ControlPlane, clients: &[kube::Client], pods: usize) -> Duration {
    for ctx in CONTEXTS {
        cp.namespace(ctx, NAMESPACE).await;
    }
    let t0 = Instant::now();
    let per_context = clients.iter().enumerate().map(|(c, client)| {
        let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        let node = cp.cluster(CONTEXTS[c]).kubelet.node.clone();
        async move {
            futures::stream::iter((c..pods).step_by(CONTEXTS.len()))
                .map(|i| {
                    let (api, node) = (api.clone(), node.clone());
                    async move {
                        let svc = format!("svc-{:02}", i % 50);
                        let pod: Pod = serde_json::from_value(json!({
                            "metadata": { "name": pod_name(i), "labels": { "app": svc } },
                            "spec": {
                                "nodeName": node,
                                "containers": [{ "name": "main", "image": format!("example/{svc}:1") }],
                            },
                        }))
                        .expect("pod json");
                        create_retrying(&api, &pod).await;
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<()>>()
                .await;
        }
    });
    futures::future::join_all(per_context).await;
    t0.elapsed()
}

/// Create `pod`; a 429 or a dropped connection is retried (the API server sheds load).
async fn create_retrying(api: &Api<Pod>, pod: &Pod) {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    for attempt in 0.. {
        match api.create(&PostParams::default(), pod).await {
            Ok(_) => return,
            Err(kube::Error::Api(e)) if e.code == 409 => return,
            Err(e) if attempt < 20 => {
                eprintln!("create {name}: {e} (retrying)");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("create pod {name}: {e}"),
        }
    }
}

/// Pods in [`NAMESPACE`] of every context, and how many of them are Ready (paginated LISTs).
pub async fn count_ready(clients: &[kube::Client]) -> (usize, usize) {
    let (mut all, mut ready) = (0, 0);
    for client in clients {
        let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        let mut lp = ListParams::default().limit(5_000);
        loop {
            let page = api.list(&lp).await.expect("list pods");
            all += page.items.len();
            ready +=
                page.items.iter().filter(|p| crate::support::control_plane::objects::pod_ready(p)).count();
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
    }
    (all, ready)
}

/// Wait until all `pods` are Ready (the harness kubelet reported them), printing progress.
pub async fn wait_all_ready(clients: &[kube::Client], pods: usize, within: Duration) -> Duration {
    let t0 = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let (all, ready) = count_ready(clients).await;
        if all == pods && ready == pods {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < within, "only {ready} of {pods} pods Ready after {within:?} ({all} exist)");
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {ready} of {pods} pods Ready ({all} exist) after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(if pods > 10_000 { 3 } else { 1 })).await;
    }
}

/// `warroom.toml` watching [`NAMESPACE`] in both region contexts through `kubeconfig`.
pub fn console_config(home: &Home, kubeconfig: &Path) -> PathBuf {
    let region = |name: &str, role: &str| {
        format!("[[regions]]\nname = \"{name}\"\nrole = \"{role}\"\nkube_context = \"{name}\"\n\n")
    };
    let text = format!(
        "[incident]\ndata_dir = \"{data}\"\n\n{east}{west}\
         [kubernetes]\nkubeconfig = \"{kc}\"\nnamespaces = [\"{NAMESPACE}\"]\n",
        data = home.path().join("incidents").display(),
        east = region(CONTEXTS[0], "primary"),
        west = region(CONTEXTS[1], "secondary"),
        kc = kubeconfig.display(),
    );
    home.write("warroom.toml", &text)
}

/// Status of a running, not-ready container waiting with `reason` (what the kubelet's
/// `NotReady` also reports in phase, readiness and restarts, so it leaves the patch alone).
fn waiting_status(reason: &str) -> serde_json::Value {
    json!({ "status": { "containerStatuses": [{
        "name": "main", "image": "example/app:1", "imageID": "", "ready": false, "started": false,
        "restartCount": 0, "state": { "waiting": { "reason": reason, "message": "bench" } },
    }] } })
}

/// Patch pod `i`'s status to a waiting `reason` (it must be `NotReady` for the kubelet).
pub async fn patch_reason(clients: &[kube::Client], i: usize, reason: &str) -> Result<(), kube::Error> {
    let c = CONTEXTS.iter().position(|c| *c == context_of(i)).unwrap_or(0);
    let api: Api<Pod> = Api::namespaced(clients[c].clone(), NAMESPACE);
    api.patch_status(&pod_name(i), &PatchParams::default(), &Patch::Merge(&waiting_status(reason))).await?;
    Ok(())
}

/// Tell the harness kubelet how pods `idx` behave from now on (it writes their status).
pub async fn set_behaviour(cp: &ControlPlane, idx: &[usize], b: Behaviour) {
    futures::stream::iter(idx.iter().copied())
        .map(|i| async move { cp.cluster(context_of(i)).kubelet.set(NAMESPACE, &pod_name(i), b).await })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
}

/// A rollout storm: `per_s` status patches a second over the (not-ready) pods `pool`, each
/// giving a pod another waiting reason (`Rollout0`..`Rollout9`), until `stop`. Returns the
/// patches done and the time taken.
pub async fn storm(
    clients: &[kube::Client],
    pool: &[usize],
    per_s: u32,
    stop: &AtomicBool,
) -> (u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_s);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let ticks = futures::stream::unfold((0usize, &mut tick), |(n, tick)| async move {
        tick.tick().await;
        (!stop.load(Ordering::Relaxed)).then_some((n, (n + 1, tick)))
    });
    ticks
        .map(|n| {
            let done = done.clone();
            async move {
                let i = pool[n % pool.len()];
                if patch_reason(clients, i, &format!("Rollout{}", n / pool.len() % 10)).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .buffer_unordered(IN_FLIGHT * 2)
        .collect::<Vec<()>>()
        .await;
    (done.load(Ordering::Relaxed), t0.elapsed())
}

/// LIST requests for pods in a namespace the API server of `context` answered since it started
/// (its `apiserver_request_total`, read from `/metrics` as the admin).
pub async fn namespaced_pod_lists(client: &kube::Client) -> u64 {
    let req = http::Request::get("/metrics").body(Vec::new()).expect("request");
    let text = client.request_text(req).await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter(|l| {
            l.contains("verb=\"LIST\"")
                && l.contains("resource=\"pods\"")
                && l.contains("scope=\"namespace\"")
                && l.contains("subresource=\"\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
