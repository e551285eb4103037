//! One full operator session against the real lab, in tmux, as a person would run it at 3 a.m.:
//! the live console (PostgreSQL primary + replica, Redis + 3 Sentinels, Route 53 on moto, the
//! REAL Kubernetes control plane holding the database pods and Service: the runbook's label and
//! repoint steps go through a real kube-apiserver, and the endpoint controllers move the
//! Service's endpoints) declared with `--new`;
//! `kill -9` of the PostgreSQL primary; the Database pane turns red; `b` opens the runbook
//! picker, `db-failover` runs step by step (typing the node's name where the dialog asks); the
//! panes turn healthy; then `warroom log export --format md` must tell the story: the runbook's
//! steps, the typed confirmations and the verified results.
//!
//! Timings are printed as `FIGURE` lines (kill -> pane red, each step confirm -> done, total).
//! A second test scales a Deployment through the real driver and runner (headless) and checks
//! the real controllers made and the harness kubelet readied the pods.

#[allow(dead_code)] // each test binary uses a part of the shared support code
mod support {
    pub mod ansi;
    pub mod control_plane;
    pub mod headless;
    pub mod http_fake;
    pub mod lab;
    pub mod moto;
    pub mod screen;
    pub mod tmux;
}

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::Api;
use support::ansi::{self, GREEN, RED};
use support::control_plane::ControlPlane;
use support::control_plane::objects::{pod_ready, unique_namespace};
use support::headless::Headless;
use support::lab::postgres::{NODES, PgLab};
use support::lab::redis::RedisLab;
use support::moto::{exclusive, seed_weighted};
use support::screen::{confirm_word, dialog_step, line_with, start_runbook, step_row, wait_screen};
use support::tmux::Tmux;
use warroom::app::{Action, StepStatus};
use warroom::command::Command;
use warroom::config::Config;
use warroom::config::model::{KubernetesConfig, PollingConfig, RegionConfig};
use warroom::operation::{Operation, Risk};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

/// Labels of a database pod (the plan's selector: `role` and the StatefulSet pod name).
fn pod_labels<'a>(pod: &'a str, role: &'a str) -> [(&'a str, &'a str); 3] {
    [("app", "postgresql"), ("role", role), ("statefulset.kubernetes.io/pod-name", pod)]
}
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const RECORD: &str = "api.example.com.";
const SERVICE: &str = "postgresql";
/// The step keys of the built-in `db-failover` runbook, in order.
const KEYS: [&str; 6] = ["confirm-down", "promote", "fence", "label", "repoint", "verify-writes"];

/// Everything the session runs against.
struct Lab {
    pg: PgLab,
    redis: RedisLab,
    kube: KubeEstate,
    zone: String,
    moto: String,
}

/// The Kubernetes side on the shared real control plane, in namespaces of this test.
struct KubeEstate {
    cp: &'static ControlPlane,
    /// The database pods' and Service's namespace.
    db: String,
    /// The api Deployments' namespace.
    app: String,
}

/// The Kubernetes side: the database pods (the Service selects the primary by its `role`
/// label, as the failover plan's selector does; the endpoint controllers fill its endpoints
/// once the harness kubelet reports the pods Ready) and an api Deployment per region.
async fn kube_lab() -> KubeEstate {
    // Started off this task: the other labs start meanwhile.
    let cp = tokio::task::spawn_blocking(ControlPlane::shared).await.expect("control plane");
    let (db, app) = (unique_namespace("database"), unique_namespace("app"));
    for ctx in [EAST, WEST] {
        cp.namespace(ctx, &db).await;
        cp.namespace(ctx, &app).await;
        cp.deployment(ctx, &app, "api", 1, &[]).await;
    }
    cp.pod(EAST, &db, NODES[0], &pod_labels(NODES[0], "primary")).await;
    cp.pod(EAST, &db, NODES[1], &pod_labels(NODES[1], "replica")).await;
    cp.service(EAST, &db, SERVICE, &[("app", "postgresql"), ("role", "primary")]).await;
    cp.wait_pods_ready(EAST, &db, "app=postgresql", 2).await;
    cp.wait_service_endpoints(EAST, &db, SERVICE, &[NODES[0]]).await;
    for ctx in [EAST, WEST] {
        cp.wait_deployment_available(ctx, &app, "api", 1).await;
    }
    KubeEstate { cp, db, app }
}

fn config_text(lab: &Lab) -> String {
    let node = |i: usize| {
        let n = &lab.pg.nodes[i];
        format!(
            "[[postgres.nodes]]\nname = \"{}\"\nregion = \"{}\"\n\
             dsn = \"host=127.0.0.1 port={} user=postgres dbname=postgres\"\n\
             pod = {{ context = \"{EAST}\", namespace = \"{}\", name = \"{}\" }}\n\n",
            n.name,
            if i == 0 { EAST } else { WEST },
            n.port,
            lab.kube.db,
            n.name
        )
    };
    let sentinels: Vec<String> = lab.redis.sentinels.iter().map(|s| format!("\"{}\"", s.addr())).collect();
    format!(
        r#"# operator_session test estate
[[regions]]
name = "{EAST}"
role = "primary"
kube_context = "{EAST}"
deployments = ["api"]

[[regions]]
name = "{WEST}"
role = "secondary"
kube_context = "{WEST}"
deployments = ["api"]

[kubernetes]
kubeconfig = "{kubeconfig}"
namespaces = ["{app}", "{db}"]

[postgres]
max_lag_bytes = 1048576
service = {{ context = "{EAST}", namespace = "{db}", name = "{SERVICE}" }}

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
timeout_ms = 1500
verify_timeout_ms = 20000
"#,
        kubeconfig = lab.kube.cp.kubeconfig.display(),
        app = lab.kube.app,
        db = lab.kube.db,
        nodes = node(0) + &node(1),
        sentinels = sentinels.join(", "),
        zone = lab.zone,
        moto = lab.moto,
    )
}

/// The environment of the console and the CLI: a temp home, the data dir, test credentials for
/// the emulator only, colours on.
fn env_of(home: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("HOME", home.to_path_buf()),
        ("XDG_CONFIG_HOME", home.join("config")),
        ("XDG_STATE_HOME", home.join("state")),
        ("WARROOM_DATA_DIR", home.join("data")),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_CONFIG_FILE", home.join("aws-config")),
        ("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials")),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("NO_COLOR", PathBuf::new()),
    ]
}

/// The one incident's id (the `.jsonl` log's stem).
fn incident_id(data: &Path) -> String {
    std::fs::read_dir(data.join("incidents"))
        .expect("incidents dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .expect("one incident log")
}

/// The Database pane's row of `node`: from the name to the pane's border, when a role follows
/// the name (error lines read `✗ name: ...`, log lines `... name went down`).
fn node_row<'a>(screen: &'a str, node: &str) -> Option<&'a str> {
    const ROLES: [&str; 5] = ["● ", "✗ DOWN", "⊘ ", "!! ", "? unknown"];
    screen.lines().find_map(|l| {
        let at = l.match_indices(node).map(|(i, _)| i).find(|i| {
            let rest = l[i + node.len()..].trim_start();
            ROLES.iter().any(|r| rest.starts_with(r))
        })?;
        let row = &l[at..];
        Some(row.find('│').map_or(row, |end| &row[..end]))
    })
}

/// The foreground colour of `cell` in `node`'s row, from the screen with escape sequences.
fn cell_colour(escaped: &str, node: &str, cell: &str) -> Option<ansi::Fg> {
    let line = escaped.lines().find(|l| node_row(&ansi::plain(l), node).is_some())?;
    ansi::fg_after(line, node, cell)
}

/// What happened to one runbook step on screen.
struct Done {
    id: u64,
    key: String,
    typed: Option<String>,
    took: Duration,
}

/// Answer the open confirm dialog as the operator would (type the asked name, or `y`), then
/// wait for the step's row to say done.
async fn confirm_and_wait(t: &Tmux, screen: &str) -> Done {
    let id = dialog_step(screen).expect("a confirm dialog is open");
    assert!(screen.contains("why: "), "a runbook step's dialog shows why:\n{screen}");
    let typed = confirm_word(screen);
    match &typed {
        Some(word) => {
            assert!(screen.contains("HIGH RISK"), "{screen}");
            t.type_text(word);
            t.keys(&["Enter"]);
        }
        None => {
            assert!(screen.contains("y confirm"), "a low-risk dialog offers y:\n{screen}");
            t.keys(&["y"]);
        }
    }
    let (after, took) = wait_screen(t, &format!("step #{id} to finish"), Duration::from_secs(40), |s| {
        step_row(s, id, &KEYS).is_some_and(|(_, rest)| !rest.starts_with(['?', '…', '○', '◇']))
    })
    .await;
    let (key, rest) = step_row(&after, id, &KEYS).expect("row");
    assert!(rest.starts_with("✓ done"), "step #{id} ({key}) did not finish done: {rest}\n{after}");
    Done { id, key, typed, took }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_fails_the_database_over_in_tmux_and_exports_the_post_mortem() {
    let t_lab = Instant::now();
    let (_moto_guard, moto) = exclusive().await;
    let seeded = seed_weighted(moto, RECORD, &[(EAST, 100, "192.0.2.1"), (WEST, 0, "192.0.2.2")]).await;
    // Ports come from a per-process counter (lab::free_port) or the kernel: safe to start at once.
    let (pg, redis, kube) = tokio::join!(PgLab::start(), RedisLab::start(), kube_lab());
    let lab = Lab { pg, redis, kube, zone: seeded.zone_id, moto: moto.endpoint.clone() };
    eprintln!(
        "FIGURE lab start (moto, PostgreSQL pair, Redis + 3 Sentinels, real control plane): {:?}",
        t_lab.elapsed()
    );
    // No labeller runs in this lab (no Patroni): the runbook's `label` step relabels the pod.

    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("warroom.toml");
    std::fs::write(&config, config_text(&lab)).expect("write config");
    let env = env_of(home.path());
    let env_refs: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let cmd =
        [BIN, "--config", config.to_str().unwrap(), "--new", "Primary database down", "--severity", "SEV1"];
    let t = Tmux::start(160, 48, &cmd, &env_refs);

    let (screen, _) = wait_screen(&t, "the healthy estate", Duration::from_secs(30), |s| {
        node_row(s, NODES[0]).is_some_and(|r| r.contains("● primary") && r.contains("◀ svc"))
            && node_row(s, NODES[1]).is_some_and(|r| r.contains("● replica"))
            && line_with(s, &["Service postgresql", "postgresql-0 (primary)"]).is_some()
            && s.contains("mymaster")
    })
    .await;
    assert!(screen.contains("LIVE"), "the header says LIVE:\n{screen}");
    assert!(screen.contains("Primary database down"), "the declared title is shown:\n{screen}");

    // A glance at 80x24 (an SSH session in a small terminal), then back.
    t.resize(80, 24);
    // The compact layout draws pane titles without boxes; tmux alone would only cut the old one.
    let (small, _) = wait_screen(&t, "the compact layout", Duration::from_secs(10), |s| {
        !s.contains('┌')
            && ["Pods", "Database", "Sentinel", "Traffic"].iter().all(|p| s.contains(p))
            && node_row(s, NODES[0]).is_some_and(|r| r.contains("● primary"))
    })
    .await;
    assert!(small.lines().all(|l| l.chars().count() <= 80), "{small}");
    t.resize(160, 48);
    wait_screen(&t, "the full layout again", Duration::from_secs(10), |s| {
        s.lines().any(|l| l.chars().count() > 100) && s.contains("Steps") && node_row(s, NODES[0]).is_some()
    })
    .await;

    // The primary crashes.
    lab.pg.kill9(NODES[0]);
    let killed = Instant::now();
    let (down, to_red) = wait_screen(&t, "the primary shown DOWN", Duration::from_secs(10), |s| {
        node_row(s, NODES[0]).is_some_and(|r| r.contains("✗ DOWN"))
    })
    .await;
    let row = node_row(&down, NODES[0]).unwrap();
    assert!(row.contains("◀ svc"), "the Service still points at the dead primary: {row}");
    assert!(down.contains("✗ no writable primary"), "{down}");
    let escaped = t.capture_escapes();
    assert_eq!(cell_colour(&escaped, NODES[0], "✗ DOWN"), Some(RED), "the DOWN cell is red:\n{escaped:?}");
    eprintln!("FIGURE kill -9 -> Database pane shows the primary DOWN in red: {to_red:?}");

    // The runbook, step by step.
    start_runbook(&t, "b", "db-failover").await;
    let mut done: Vec<Done> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the runbook did not finish within 120 s");
        let (screen, _) =
            wait_screen(&t, "a confirm dialog or the runbook's end", Duration::from_secs(30), |s| {
                dialog_step(s).is_some() || s.contains("db-failover completed")
            })
            .await;
        if dialog_step(&screen).is_none() {
            break;
        }
        done.push(confirm_and_wait(&t, &screen).await);
        t.keys(&["N"]);
    }
    let finished = t.capture();
    let keys: Vec<&str> = done.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["confirm-down", "promote", "label", "repoint", "verify-writes"], "{finished}");
    let typed: Vec<Option<&str>> = done.iter().map(|d| d.typed.as_deref()).collect();
    assert_eq!(
        typed,
        [None, Some(NODES[1]), Some(NODES[1]), Some(NODES[1]), None],
        "names typed for promote, label and repoint"
    );
    // The old primary is down: fencing it is not applicable and was skipped, with the reason.
    let fence_id = done[1].id + 1;
    let (_, fence) =
        step_row(&finished, fence_id, &KEYS).unwrap_or_else(|| panic!("no fence row:\n{finished}"));
    assert!(fence.starts_with("↷ skipped"), "{fence}");

    // The panes are healthy: the new primary, the Service on it.
    let (healthy, _) = wait_screen(&t, "the healthy panes", Duration::from_secs(15), |s| {
        node_row(s, NODES[1]).is_some_and(|r| r.contains("● primary") && r.contains("◀ svc"))
            && line_with(s, &["● Service postgresql", "postgresql-1 (primary)"]).is_some()
            && !s.contains("no writable primary")
    })
    .await;
    assert!(!node_row(&healthy, NODES[0]).unwrap().contains("◀ svc"), "{healthy}");
    let escaped = t.capture_escapes();
    assert_eq!(cell_colour(&escaped, NODES[1], "● primary"), Some(GREEN), "the new primary is green");
    eprintln!("FIGURE total: kill -9 -> runbook done and panes healthy: {:?}", killed.elapsed());
    for d in &done {
        eprintln!(
            "FIGURE   step #{} {}: confirm -> done on screen {:?} (typed {:?})",
            d.id, d.key, d.took, d.typed
        );
    }

    // Ground truth, read from the services themselves.
    assert!(!lab.pg.in_recovery(NODES[1]).await, "postgresql-1 left recovery");
    let client = lab.kube.cp.client(EAST).await;
    let pod = Api::<Pod>::namespaced(client.clone(), &lab.kube.db).get(NODES[1]).await.expect("pod");
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("role").map(String::as_str), Some("primary"), "{pod:#?}");
    let svc = Api::<Service>::namespaced(client, &lab.kube.db).get(SERVICE).await.expect("service");
    let selector = svc.spec.and_then(|s| s.selector).unwrap_or_default();
    assert_eq!(selector.get("statefulset.kubernetes.io/pod-name").map(String::as_str), Some(NODES[1]));
    // And the real endpoint controllers moved the Service's endpoints to the new primary.
    lab.kube.cp.wait_service_endpoints(EAST, &lab.kube.db, SERVICE, &[NODES[1]]).await;

    // The last `N` found the runbook finished: keys typed right after it are dropped until Esc.
    t.keys(&["Escape"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.keys(&["q"]);
    wait_screen(&t, "the console to exit", Duration::from_secs(10), |_| t.pane_dead()).await;

    // The post-mortem.
    let data = home.path().join("data");
    let id = incident_id(&data);
    let out = std::process::Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "log", "export", &id, "--format", "md"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .expect("run warroom log export");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "export failed: {}\n{md}", String::from_utf8_lossy(&out.stderr));
    check_post_mortem(&md, &done, fence_id);
}

/// The `### Step N:` section of the export.
fn step_section(md: &str, id: u64) -> &str {
    let at =
        md.find(&format!("### Step {id}:")).unwrap_or_else(|| panic!("no section for step #{id}:\n{md}"));
    let section = &md[at..];
    let end = [section[1..].find("\n### "), section[1..].find("\n## ")].into_iter().flatten().min();
    &section[..end.map_or(section.len(), |e| e + 1)]
}

/// The exported Markdown has the runbook, every step with its confirmation (the typed name),
/// its verified result, the skipped fence with its reason, and the recovery report.
fn check_post_mortem(md: &str, done: &[Done], fence_id: u64) {
    assert!(md.contains("Primary database down"), "{md}");
    assert!(md.contains("runbook db-failover started"), "{md}");
    assert!(md.contains("runbook db-failover completed"), "{md}");
    let fence = step_section(md, fence_id);
    assert!(fence.starts_with(&format!("### Step {fence_id}: Fence postgresql-0")), "{fence}");
    assert!(fence.contains("- Outcome: **skipped"), "{fence}");
    assert!(fence.contains("not applicable: gate node-writable:postgresql-0 not met"), "{fence}");
    for d in done {
        let section = step_section(md, d.id);
        assert!(section.contains("- Outcome: **verified"), "step #{} ({}) verified:\n{section}", d.id, d.key);
        for kind in ["`step-confirmed`", "`step-executing`", "`step-verified`"] {
            assert!(section.contains(kind), "step #{} ({}) lacks {kind}:\n{section}", d.id, d.key);
        }
        if let Some(word) = &d.typed {
            assert!(section.contains(&format!("typed {word}")), "the typed name is recorded:\n{section}");
        }
    }
    let promote = step_section(md, done[1].id);
    assert!(promote.contains("SELECT pg_promote(wait => true"), "the exact call:\n{promote}");
    assert!(md.contains("timeline 2"), "the promotion's verified result names the new timeline:\n{md}");
    assert!(md.contains("write probe committed on postgresql-1"), "verify-writes result:\n{md}");
    if md.contains("## Recovery report") {
        let report = &md[md.find("## Recovery report").unwrap()..];
        assert!(report.contains("- RTO"), "{report}");
        assert!(report.contains("postgresql-0"), "{report}");
    }
}

/// `api`'s row in the console's Kubernetes view: (desired, ready).
fn api_row(h: &Headless, ns: &str) -> Option<(u32, u32)> {
    let k = h.state.domain.observed.kube.value.as_ref()?;
    let d = k.deployments.iter().find(|d| d.context == EAST && d.namespace == ns && d.name == "api")?;
    Some((d.desired, d.ready))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scale_step_through_the_runner_gets_its_pods_from_the_real_controllers() {
    let cp = ControlPlane::shared();
    let app = unique_namespace("scale");
    cp.namespace(EAST, &app).await;
    cp.deployment(EAST, &app, "api", 1, &[]).await;
    cp.wait_deployment_available(EAST, &app, "api", 1).await;
    let cfg = Config {
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(cp.kubeconfig.to_string_lossy().into_owned()),
            namespaces: vec![app.clone()],
        }),
        regions: vec![RegionConfig {
            name: EAST.into(),
            role: "primary".into(),
            kube_context: Some(EAST.into()),
            deployments: vec!["api".into()],
            ..RegionConfig::default()
        }],
        polling: PollingConfig {
            interval_ms: 300,
            timeout_ms: 1500,
            verify_timeout_ms: 30_000,
            ..PollingConfig::default()
        },
        ..Config::default()
    };
    let mut h = Headless::start(cfg).await;
    h.until("api seen at 1/1", Duration::from_secs(15), |s| {
        s.domain.observed.kube.value.as_ref().is_some_and(|k| {
            k.deployments
                .iter()
                .any(|d| d.namespace == app && d.name == "api" && d.desired == 1 && d.ready == 1)
        })
    })
    .await;

    let op = Operation::ScaleDeployment {
        context: EAST.into(),
        namespace: app.clone(),
        deployment: "api".into(),
        replicas: 3,
    };
    let id = h.propose(op.clone(), "more capacity for the failover");
    if h.step_run(id).risk() == Risk::High {
        h.type_confirm(&op.confirm_word());
    } else {
        h.apply(Action::Command(Command::ConfirmYes));
    }
    // The runner patches the scale subresource; the ReplicaSet controller creates two pods,
    // the harness kubelet makes them Ready, the Deployment controller counts them, and the
    // console's verification sees 3/3.
    h.until("the scale step verified", Duration::from_secs(40), |s| {
        s.domain.step(id).is_some_and(|r| !matches!(r.status, StepStatus::Executing | StepStatus::Verifying))
    })
    .await;
    assert_eq!(h.status(id), StepStatus::Done, "step #{id}: {:?}", h.step_run(id));
    // The runner writes asynchronously: wait for the verified entry before reading the log.
    h.until_logged(id, "step-verified", Duration::from_secs(5)).await;
    let kinds = h.step_kinds(id);
    for k in ["step-confirmed", "step-executing", "step-verified"] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing: {kinds:?}");
    }
    assert_eq!(api_row(&h, &app), Some((3, 3)));

    // Ground truth from the API server: three Ready pods owned by the Deployment's ReplicaSet.
    cp.wait_deployment_available(EAST, &app, "api", 3).await;
    let pods = cp.wait_pods_ready(EAST, &app, "app=api", 3).await;
    for p in &pods {
        let owner = &p.metadata.owner_references.as_ref().expect("owned")[0];
        assert_eq!(owner.kind, "ReplicaSet", "{p:?}");
        assert!(pod_ready(p));
    }
}
