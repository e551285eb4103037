//! `warroom status --json` (the real binary) against the whole lab: PostgreSQL primary +
//! replica, Redis + 3 Sentinels, moto (Route 53), the REAL Kubernetes control plane (two
//! kube-apiservers with their controller managers; pods made by the Deployment controller, the
//! database Service's endpoints by the endpoint controllers, statuses by the harness kubelet)
//! and an HTTP health server. The JSON must report what the services themselves say, in the contract's
//! shape (docs/architecture.md, "Contracts"; docs/status.schema.json); a dead node or cluster is reported, not fatal.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::Value;

use support::control_plane::ControlPlane;
use support::control_plane::kubelet::Behaviour;
use support::control_plane::objects::{eventually, unique_namespace};
use support::http_fake::{FakeServer, Mode, Reply};
use support::lab::postgres::{NODES, PgLab};
use support::lab::redis::RedisLab;
use support::moto::{exclusive, seed_weighted};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const RECORD: &str = "api.example.com.";

use support::home::Home;

impl Home {
    /// The real binary with a clean environment rooted in this home.
    fn warroom(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.args(args)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }
}

/// Run to completion within 60 s; (exit code, stdout, stderr).
async fn run(mut cmd: tokio::process::Command) -> (Option<i32>, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("warroom finished within 60 s")
        .expect("spawn warroom");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every output is checked against the shipped schema (`docs/status.schema.json`).
fn assert_schema(v: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let errors: Vec<String> =
        validator.iter_errors(v).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
}

/// `status --json`, which must exit `code` (0 every configured layer answered, 4 something
/// configured could not be read, named in one line on stderr).
async fn status_json(home: &Home, config: &Path, code: i32) -> Value {
    let (got, out, err) =
        run(home.warroom(&["status", "--json", "--config", config.to_str().unwrap()])).await;
    assert_eq!(got, Some(code), "stdout: {out}\nstderr: {err}");
    match code {
        0 => assert!(err.is_empty(), "{err}"),
        _ => assert!(err.starts_with("warroom status: could not read ") && err.lines().count() == 1, "{err}"),
    }
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {out}"));
    assert_schema(&v);
    v
}

/// Everything the test started.
struct Estate {
    pg: PgLab,
    redis: RedisLab,
    kube: KubeCluster,
    zone: String,
    moto_endpoint: String,
    health: FakeServer,
}

/// The Kubernetes part of the estate on a private control plane (the test stops an API
/// server): the watched namespaces `app` and `db`, and what the test will look for.
struct KubeCluster {
    cp: ControlPlane,
    app: String,
    db: String,
    /// East's `api` pods (Ready), made by the Deployment and ReplicaSet controllers.
    east_api: Vec<String>,
    /// West's `api` pod the kubelet OOM-kills over and over.
    west_crashing: String,
}

async fn kube_lab() -> KubeCluster {
    let cp = ControlPlane::start();
    let (app, db, other) = (unique_namespace("app"), unique_namespace("database"), unique_namespace("sys"));
    for ctx in [EAST, WEST] {
        for ns in [&app, &db, &other] {
            cp.namespace(ctx, ns).await;
        }
    }
    cp.deployment(EAST, &app, "api", 2, &[]).await;
    // Not watched: must not be listed.
    cp.pod(EAST, &other, "coredns", &[("app", "dns")]).await;
    let pg = |n: &'static str, role: &'static str| {
        [("app", "postgresql"), ("role", role), ("statefulset.kubernetes.io/pod-name", n)]
    };
    cp.pod(EAST, &db, NODES[0], &pg(NODES[0], "primary")).await;
    cp.pod(EAST, &db, NODES[1], &pg(NODES[1], "replica")).await;
    cp.service(EAST, &db, "postgresql", &[("app", "postgresql"), ("role", "primary")]).await;
    cp.deployment(WEST, &app, "api", 2, &[]).await;
    let east_api = cp.wait_pods_ready(EAST, &app, "app=api", 2).await;
    let west_api = cp.wait_pods_ready(WEST, &app, "app=api", 2).await;
    let west_crashing = west_api[1].metadata.name.clone().expect("pod name");
    cp.cluster(WEST).kubelet.set(&app, &west_crashing, Behaviour::Oom).await;
    cp.wait_pods_ready(EAST, &db, "app=postgresql", 2).await;
    cp.wait_service_endpoints(EAST, &db, "postgresql", &[NODES[0]]).await;
    // The Deployment controller's view of west: 2 desired, 1 ready.
    let deployments: Api<Deployment> = Api::namespaced(cp.client(WEST).await, &app);
    eventually("west api with 1 of 2 ready", Duration::from_secs(30), || async {
        let st = deployments.get("api").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        if st.ready_replicas == Some(1) && st.replicas == Some(2) { Ok(()) } else { Err(format!("{st:?}")) }
    })
    .await;
    let east_api = east_api.iter().map(|p| p.metadata.name.clone().expect("name")).collect();
    KubeCluster { cp, app, db, east_api, west_crashing }
}

/// The restart count the API server holds for `ctx`/`ns`/`name`'s first container.
async fn restarts(cp: &ControlPlane, ctx: &str, ns: &str, name: &str) -> i64 {
    let pods: Api<Pod> = Api::namespaced(cp.client(ctx).await, ns);
    let p = pods.get(name).await.expect("pod");
    p.status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c.first().map(|c| c.restart_count))
        .map_or(0, i64::from)
}

/// West's readiness fails (503); everything else answers 200.
fn health_handler(seen: &support::http_fake::Seen) -> Reply {
    if seen.path.starts_with("/west/health/ready") {
        Reply::text(503, "not ready")
    } else {
        Reply::text(200, "ok")
    }
}

fn config_text(e: &Estate) -> String {
    let h = e.health.addr;
    let node = |i: usize| {
        let n = &e.pg.nodes[i];
        let region = if i == 0 { EAST } else { WEST };
        format!(
            "[[postgres.nodes]]\nname = \"{}\"\nregion = \"{region}\"\n\
             dsn = \"host=127.0.0.1 port={} user=postgres dbname=postgres\"\n\
             pod = {{ context = \"{EAST}\", namespace = \"{}\", name = \"{}\" }}\n\n",
            n.name, n.port, e.kube.db, n.name
        )
    };
    let sentinels: Vec<String> = e.redis.sentinels.iter().map(|s| format!("\"{}\"", s.addr())).collect();
    format!(
        r#"# status_live test estate
[incident]
data_dir = "incidents"

[[regions]]
name = "{EAST}"
role = "primary"
kube_context = "{EAST}"
health_live = "http://{h}/east/health/live"
health_ready = "http://{h}/east/health/ready"
deployments = ["api"]

[[regions]]
name = "{WEST}"
role = "secondary"
kube_context = "{WEST}"
health_live = "http://{h}/west/health/live"
health_ready = "http://{h}/west/health/ready"
deployments = ["api"]

[kubernetes]
kubeconfig = "{kubeconfig}"
namespaces = ["{app}", "{db}"]

[postgres]
max_lag_bytes = 0
service = {{ context = "{EAST}", namespace = "{db}", name = "postgresql" }}

{nodes}[sentinel]
master = "mymaster"
addrs = [{sentinels}]

[route53]
hosted_zone_id = "{zone}"
record = "{RECORD}"
type = "A"
endpoint_url = "{moto}"

[polling]
interval_ms = 500
timeout_ms = 2000
"#,
        kubeconfig = e.kube.cp.kubeconfig.display(),
        app = e.kube.app,
        db = e.kube.db,
        nodes = node(0) + &node(1),
        sentinels = sentinels.join(", "),
        zone = e.zone,
        moto = e.moto_endpoint,
    )
}

fn pod<'a>(k: &'a Value, ctx: &str, ns: &str, name: &str) -> &'a Value {
    k["pods"]
        .as_array()
        .expect("pods array")
        .iter()
        .find(|p| p["context"] == ctx && p["namespace"] == ns && p["name"] == name)
        .unwrap_or_else(|| panic!("no pod {ctx}/{ns}/{name} in {k:#}"))
}

fn context<'a>(k: &'a Value, ctx: &str) -> &'a Value {
    k["contexts"]
        .as_array()
        .expect("contexts array")
        .iter()
        .find(|c| c["context"] == ctx)
        .unwrap_or_else(|| panic!("no context {ctx} in {k:#}"))
}

fn region<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["regions"]
        .as_array()
        .expect("regions array")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no region {name} in {t:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_reports_the_truth_of_every_layer_and_survives_failures() {
    let (_moto_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[(EAST, 70, "192.0.2.1"), (WEST, 30, "192.0.2.2")]).await;
    // One after the other: labs pick free ports by binding port 0 and closing it again, so two
    // labs starting at once could be handed the same port.
    let kube = kube_lab().await;
    let pg = PgLab::start().await;
    let redis = RedisLab::start().await;
    let health = FakeServer::start(Mode::Answer(Arc::new(health_handler))).await;
    let mut estate = Estate {
        pg,
        redis,
        kube,
        zone: seeded.zone_id.clone(),
        moto_endpoint: moto.endpoint.clone(),
        health,
    };
    let home = Home::new();
    let config = home.write("warroom.toml", &config_text(&estate));

    let restarts_before = restarts(&estate.kube.cp, WEST, &estate.kube.app, &estate.kube.west_crashing).await;
    let v = status_json(&home, &config, 0).await;
    assert_eq!(v["mode"], "live");
    assert!(v["taken_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{v:#}");
    for layer in ["postgres", "sentinel", "kubernetes", "traffic"] {
        assert_eq!(v[layer]["freshness"], "fresh", "{layer}: {:#}", v[layer]);
    }

    // PostgreSQL, compared with what the servers say about themselves.
    let pgj = &v["postgres"];
    assert_eq!(pgj["split_brain"], false);
    assert_eq!(pgj["primary"], NODES[0]);
    let nodes = pgj["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);
    for (i, n) in nodes.iter().enumerate() {
        let in_recovery = estate.pg.in_recovery(NODES[i]).await;
        assert_eq!(n["name"], NODES[i]);
        assert_eq!(n["role"], if in_recovery { "replica" } else { "primary" }, "{n:#}");
        assert_eq!(n["timeline"], 1, "{n:#}");
        assert!(n["error"].is_null(), "{n:#}");
    }
    assert_eq!(nodes[0]["role"], "primary");
    assert!(nodes[1]["replay_lag_bytes"].is_u64(), "{:#}", nodes[1]);

    // Sentinel: the master every Sentinel reports.
    let s = &v["sentinel"];
    let truth = estate.redis.sentinel_master(0).await.expect("sentinel 0 answers");
    assert_eq!(truth, estate.redis.servers[0].addr());
    assert_eq!(s["master"], truth.as_str());
    assert_eq!(s["agreed"], true);
    let sentinels = s["sentinels"].as_array().expect("sentinels");
    assert_eq!(sentinels.len(), 3);
    for (i, x) in sentinels.iter().enumerate() {
        assert_eq!(x["addr"], estate.redis.sentinels[i].addr().as_str());
        assert_eq!(x["master"], estate.redis.sentinel_master(i).await.expect("sentinel answers").as_str());
    }

    // Kubernetes: pods with ready/phase/restarts/reason, the database Service, both contexts.
    let k = &v["kubernetes"];
    let (app, db) = (estate.kube.app.clone(), estate.kube.db.clone());
    let api1 = pod(k, EAST, &app, &estate.kube.east_api[0]);
    assert_eq!(
        (&api1["ready"], &api1["phase"], &api1["restarts"]),
        (&"1/1".into(), &"Running".into(), &0.into())
    );
    assert!(api1["reason"].is_null());
    let crash = pod(k, WEST, &app, &estate.kube.west_crashing);
    assert_eq!(crash["ready"], "0/1");
    assert_eq!(crash["phase"], "Running");
    // A real crash loop's restarts keep growing: the figure shown lies between what the API
    // server held before and after the status was taken.
    let after = restarts(&estate.kube.cp, WEST, &app, &estate.kube.west_crashing).await;
    let shown = crash["restarts"].as_i64().expect("restarts");
    assert!((restarts_before..=after).contains(&shown), "{restarts_before} <= {shown} <= {after}");
    assert!(shown >= 1, "{crash:#}");
    assert_eq!(crash["reason"], "CrashLoopBackOff");
    pod(k, EAST, &db, NODES[0]);
    assert_eq!(k["pods"].as_array().unwrap().len(), 6, "only the watched namespaces: {k:#}");
    assert_eq!(k["db_service"]["endpoint_pods"], serde_json::json!([NODES[0]]));
    let dep = k["deployments"].as_array().unwrap().iter().find(|d| d["context"] == WEST).expect("west api");
    assert_eq!((&dep["desired"], &dep["ready"]), (&2.into(), &1.into()));
    for ctx in [EAST, WEST] {
        assert!(context(k, ctx)["error"].is_null(), "{k:#}");
    }

    // Traffic: Route 53 weights and shares, health checks, HTTP probes.
    let t = &v["traffic"];
    assert_eq!(t["record"], RECORD);
    assert!(t["control_plane_error"].is_null(), "{t:#}");
    let (e, w) = (region(t, EAST), region(t, WEST));
    assert_eq!((&e["weight"], &w["weight"]), (&70.into(), &30.into()));
    assert!(
        (e["share"].as_f64().unwrap() - 0.7).abs() < 1e-9
            && (w["share"].as_f64().unwrap() - 0.3).abs() < 1e-9
    );
    assert_eq!((&e["health_check"], &w["health_check"]), (&"healthy".into(), &"healthy".into()));
    assert_eq!((&e["live"]["status"], &e["ready"]["status"]), (&200.into(), &200.into()));
    assert_eq!((&w["live"]["status"], &w["ready"]["status"]), (&200.into(), &503.into()));

    // The primary dies and one cluster's API server goes away: both reported, and the exit
    // is 4 (a configured node and context could not be read: status is a health check).
    estate.pg.kill9(NODES[0]);
    estate.kube.cp.clusters.get_mut(WEST).expect("west").apiserver.kill();
    let v = status_json(&home, &config, 4).await;
    let pgj = &v["postgres"];
    assert_eq!(pgj["freshness"], "fresh", "{pgj:#}");
    assert_eq!(pgj["nodes"][0]["role"], "down", "{pgj:#}");
    assert!(pgj["nodes"][0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{pgj:#}");
    assert_eq!(pgj["nodes"][1]["role"], "replica");
    assert!(pgj["primary"].is_null());
    let k = &v["kubernetes"];
    assert_eq!(k["freshness"], "fresh", "the live context still answers: {k:#}");
    assert!(context(k, EAST)["error"].is_null(), "{k:#}");
    let west_error =
        context(k, WEST)["error"].as_str().unwrap_or_else(|| panic!("no error for {WEST}: {k:#}"));
    assert!(!west_error.is_empty());
    pod(k, EAST, &app, &estate.kube.east_api[0]);
    assert_eq!(v["sentinel"]["freshness"], "fresh");
    assert_eq!(v["traffic"]["freshness"], "fresh");
    // Nothing the operator did not configure leaks (no password was configured; none invented).
    assert!(!v.to_string().contains("password"), "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_exits_2_naming_file_line_and_column() {
    let home = Home::new();
    let bad = home.write("bad.toml", "[postgres]\nmax_lag_bytes = \"lots\"\n");
    let (code, out, err) = run(home.warroom(&["status", "--json", "--config", bad.to_str().unwrap()])).await;
    assert_eq!(code, Some(2), "stdout: {out}\nstderr: {err}");
    assert!(out.is_empty(), "no JSON on a bad config: {out}");
    let prefix = format!("{}:2:", bad.display());
    let at = err.find(&prefix).unwrap_or_else(|| panic!("no {prefix}<column> in: {err}"));
    let column: String = err[at + prefix.len()..].chars().take_while(char::is_ascii_digit).collect();
    assert!(column.parse::<u32>().is_ok_and(|c| c > 0), "column missing: {err}");
    assert!(err.contains("expected u64"), "says what was expected: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_status_json_has_the_contract_shape() {
    let home = Home::new();
    let (code, out, err) = run(home.warroom(&["drill", "--status", "--json", "--scenario", "calm"])).await;
    assert_eq!(code, Some(0), "stderr: {err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_schema(&v);
    assert_eq!(v["mode"], "drill");
    assert!(v["taken_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    for layer in ["postgres", "sentinel", "kubernetes", "traffic"] {
        assert_eq!(v[layer]["freshness"], "fresh", "{layer}: {:#}", v[layer]);
    }
    let pg = &v["postgres"];
    assert_eq!(pg["split_brain"], false);
    let roles: Vec<&str> =
        pg["nodes"].as_array().unwrap().iter().map(|n| n["role"].as_str().unwrap()).collect();
    assert_eq!(roles.iter().filter(|r| **r == "primary").count(), 1, "calm: one primary: {roles:?}");
    assert!(roles.iter().all(|r| ["primary", "replica"].contains(r)), "{roles:?}");
    for n in pg["nodes"].as_array().unwrap() {
        assert!(
            n["name"].is_string() && n["timeline"].is_u64() && n.get("replay_lag_bytes").is_some(),
            "{n:#}"
        );
    }
    let s = &v["sentinel"];
    assert_eq!(s["agreed"], true);
    assert!(s["master"].is_string());
    for x in s["sentinels"].as_array().unwrap() {
        assert_eq!(x["master"], s["master"], "{s:#}");
        assert!(x["addr"].is_string());
    }
    let pods = v["kubernetes"]["pods"].as_array().unwrap();
    assert!(!pods.is_empty());
    for p in pods {
        for key in ["context", "namespace", "name", "ready", "phase"] {
            assert!(p[key].is_string(), "{key}: {p:#}");
        }
        assert!(p["restarts"].is_u64() && p.get("reason").is_some(), "{p:#}");
    }
    let regions = v["traffic"]["regions"].as_array().unwrap();
    assert!(!regions.is_empty());
    let total: f64 = regions.iter().map(|r| r["share"].as_f64().unwrap_or(0.0)).sum();
    assert!((total - 1.0).abs() < 1e-9, "shares add up to 1: {regions:#?}");
    for r in regions {
        assert!(r["name"].is_string() && r["weight"].is_u64() && r["health_check"].is_string(), "{r:#}");
    }
}
