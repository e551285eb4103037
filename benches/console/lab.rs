//! The estate the console is measured against: the Kubernetes API test server with N pods, a
//! `warroom.toml` in a temp home (`tests/support/home.rs`), pod churn, and a config whose every
//! backend is unreachable.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::home::Home;
use crate::kube_server::{KubeLab, KubeServer, ready_status};

/// The one kube context (and region) of the measured estate.
pub const CONTEXT: &str = "us-east-1";
/// The namespace the pods live in (the only one configured).
pub const NAMESPACE: &str = "default";

/// Name of pod `i`: 50 deployments' worth of pods, sorted like a real namespace.
pub fn pod_name(i: usize) -> String {
    format!("svc-{:02}-{:05}", i % 50, i)
}

/// Start one API test server holding `pods` Running, Ready pods in [`NAMESPACE`].
pub async fn start_cluster(pods: usize) -> KubeLab {
    let lab = KubeLab::start(&[CONTEXT]).await;
    let s = lab.server(CONTEXT);
    for i in 0..pods {
        let app = format!("svc-{:02}", i % 50);
        s.add_pod(NAMESPACE, &pod_name(i), &[("app", app.as_str())]);
    }
    lab
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("local addr").port()
}

/// `warroom.toml` watching the pods of [`CONTEXT`] / [`NAMESPACE`] through `kubeconfig`; no other
/// layer configured.
pub fn kube_config(home: &Home, kubeconfig: &Path) -> PathBuf {
    let text = format!(
        "[incident]\ndata_dir = \"{data}\"\n\n\
         [[regions]]\nname = \"{CONTEXT}\"\nrole = \"primary\"\nkube_context = \"{CONTEXT}\"\n\n\
         [kubernetes]\nkubeconfig = \"{kc}\"\nnamespaces = [\"{NAMESPACE}\"]\n",
        data = home.path().join("incidents").display(),
        kc = kubeconfig.display(),
    );
    home.write("warroom.toml", &text)
}

/// `warroom.toml` where every layer is configured and points at a closed loopback port:
/// Kubernetes (two contexts), PostgreSQL (two nodes), three Sentinels, Route 53, HTTP health.
pub fn unreachable_config(home: &Home) -> PathBuf {
    let kc = format!(
        r#"{{"apiVersion":"v1","kind":"Config","current-context":"us-east-1",
"clusters":[{{"name":"e","cluster":{{"server":"http://127.0.0.1:{p1}"}}}},{{"name":"w","cluster":{{"server":"http://127.0.0.1:{p2}"}}}}],
"contexts":[{{"name":"us-east-1","context":{{"cluster":"e","user":"u"}}}},{{"name":"us-west-2","context":{{"cluster":"w","user":"u"}}}}],
"users":[{{"name":"u","user":{{}}}}]}}"#,
        p1 = closed_port(),
        p2 = closed_port(),
    );
    let kubeconfig = home.write("kubeconfig", &kc);
    let region = |name: &str, role: &str| {
        let h = closed_port();
        format!(
            "[[regions]]\nname = \"{name}\"\nrole = \"{role}\"\nkube_context = \"{name}\"\n\
             health_live = \"http://127.0.0.1:{h}/health/live\"\nhealth_ready = \"http://127.0.0.1:{h}/health/ready\"\n\
             deployments = [\"api\"]\n\n"
        )
    };
    let node = |name: &str, region: &str| {
        format!(
            "[[postgres.nodes]]\nname = \"{name}\"\nregion = \"{region}\"\n\
             dsn = \"host=127.0.0.1 port={} user=postgres dbname=postgres\"\n\n",
            closed_port()
        )
    };
    let text = format!(
        "[incident]\ndata_dir = \"{data}\"\n\n{east}{west}\
         [kubernetes]\nkubeconfig = \"{kc}\"\nnamespaces = [\"default\", \"database\"]\n\n\
         [postgres]\nmax_lag_bytes = 0\n\n{n0}{n1}\
         [sentinel]\nmaster = \"mymaster\"\naddrs = [\"127.0.0.1:{s1}\", \"127.0.0.1:{s2}\", \"127.0.0.1:{s3}\"]\n\n\
         [route53]\nhosted_zone_id = \"Z0123456789\"\nrecord = \"api.example.com.\"\ntype = \"A\"\n\
         endpoint_url = \"http://127.0.0.1:{r53}\"\n",
        data = home.path().join("incidents").display(),
        east = region("us-east-1", "primary"),
        west = region("us-west-2", "secondary"),
        kc = kubeconfig.display(),
        n0 = node("postgresql-0", "us-east-1"),
        n1 = node("postgresql-1", "us-west-2"),
        s1 = closed_port(),
        s2 = closed_port(),
        s3 = closed_port(),
        r53 = closed_port(),
    );
    home.write("warroom.toml", &text)
}

/// Pod status churn: `per_s` MODIFIED events a second until `until`. Each event makes a random
/// pod not ready, or (once five are not ready) makes the oldest ready again, so a handful of pods
/// are unhealthy at any time and the unhealthy-first rows keep moving. Runs until `stop` is set;
/// returns the events sent and for how long.
pub fn churn(server: &KubeServer, pods: usize, per_s: u32, stop: &AtomicBool) -> (u64, Duration) {
    let mut down = std::collections::VecDeque::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let every = Duration::from_secs(1) / per_s;
    let start = Instant::now();
    let mut next = start;
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        if down.len() >= 5 {
            let i: usize = down.pop_front().unwrap_or(0);
            server.set_pod_status(NAMESPACE, &pod_name(i), ready_status(true));
            sent += 1;
        } else {
            let i = rng.usize(..pods);
            if !down.contains(&i) {
                server.set_pod_status(NAMESPACE, &pod_name(i), ready_status(false));
                down.push_back(i);
                sent += 1;
            }
        }
        next += every;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let took = start.elapsed();
    for i in down {
        server.set_pod_status(NAMESPACE, &pod_name(i), ready_status(true));
    }
    (sent, took)
}

/// LIST (not WATCH) requests for the watched pods the server has answered so far.
pub fn pod_lists(server: &KubeServer) -> usize {
    let prefix = format!("GET /api/v1/namespaces/{NAMESPACE}/pods");
    server.requests().iter().filter(|r| r.starts_with(&prefix) && !r.contains("watch=")).count()
}
