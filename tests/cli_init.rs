//! `warroom init` (the real binary) against the real control plane and moto: it finds the
//! PostgreSQL and Redis Sentinel pods and Services and the Route 53 weighted records, writes a
//! config that `check` passes and `status` runs on, never writes a secret, refuses to overwrite,
//! and asks the region of each context on a terminal. Completions and the man page generate.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::control_plane::objects::unique_namespace;
use support::control_plane::{ControlPlane, TOKEN_USERS};
use support::home::Home;
use support::moto::{exclusive, seed_weighted};
use support::tmux::Tmux;
use warroom::config::load::parse_config_all;

/// Secrets planted in the estate: none may reach the written file.
const PG_PASSWORD: &str = "pg-literal-s3cret-4711";
const SECRET_DATA: &str = "secret-object-pw-0815";
const REDIS_PASSWORD: &str = "redis-auth-pass-9931";

fn pg_pod(name: &str, ns: &str, password_from_secret: bool) -> Value {
    let password = if password_from_secret {
        json!({ "name": "POSTGRES_PASSWORD", "valueFrom": { "secretKeyRef": { "name": "pg-auth", "key": "password" } } })
    } else {
        json!({ "name": "POSTGRES_PASSWORD", "value": PG_PASSWORD })
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": ns,
                      "labels": { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "orders" } },
        "spec": {
            "hostname": name, "subdomain": "postgresql-hl",
            "containers": [{ "name": "postgresql", "image": "docker.io/bitnami/postgresql:16.4.0",
                "ports": [{ "name": "tcp-postgresql", "containerPort": 5432 }],
                "env": [ { "name": "POSTGRESQL_USERNAME", "value": "orders_app" }, password,
                         { "name": "POSTGRESQL_DATABASE", "value": "orders" },
                         { "name": "PGDATA", "value": "/bitnami/postgresql/data" } ] }]
        }
    })
}

fn pg_service(name: &str, ns: &str, headless: bool) -> Value {
    let mut spec = json!({ "selector": { "app.kubernetes.io/name": "postgresql" },
                           "ports": [{ "name": "tcp-postgresql", "port": 5432, "targetPort": 5432 }] });
    if headless {
        spec["clusterIP"] = json!("None");
    }
    json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": name, "namespace": ns }, "spec": spec })
}

fn redis_node(name: &str, ns: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": ns, "labels": { "app.kubernetes.io/name": "redis" } },
        "spec": {
            "containers": [
                { "name": "redis", "image": "docker.io/bitnami/redis:7.4", "ports": [{ "containerPort": 6379 }],
                  "env": [{ "name": "REDIS_PASSWORD", "value": REDIS_PASSWORD }] },
                { "name": "sentinel", "image": "docker.io/bitnami/redis-sentinel:7.4",
                  "ports": [{ "containerPort": 26379 }] }],
            "volumes": [{ "name": "config", "configMap": { "name": "redis-sentinel-conf" } }]
        }
    })
}

fn sentinel_conf(ns: &str) -> Value {
    let conf = format!(
        "port 26379\nsentinel monitor orders-cache 10.0.0.5 6379 2\nsentinel auth-pass orders-cache {REDIS_PASSWORD}\n"
    );
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "redis-sentinel-conf", "namespace": ns },
            "data": { "sentinel.conf": conf } })
}

fn pod_ip(pods: &[k8s_openapi::api::core::v1::Pod]) -> String {
    pods[0].status.as_ref().and_then(|s| s.pod_ip.clone()).expect("pod ip")
}

fn assert_no_secret(text: &str) {
    for secret in [PG_PASSWORD, SECRET_DATA, REDIS_PASSWORD, TOKEN_USERS[0].0, "testing"] {
        assert!(!text.contains(secret), "the output holds the secret {secret:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_finds_the_estate_and_check_and_status_run_on_what_it_wrote() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("init");
    for ctx in ["us-east-1", "us-west-2"] {
        cp.namespace(ctx, &ns).await;
    }
    cp.apply(
        "us-east-1",
        &ns,
        json!({ "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "pg-auth", "namespace": ns }, "stringData": { "password": SECRET_DATA } }),
    )
    .await;
    cp.apply("us-east-1", &ns, pg_pod("postgresql-0", &ns, false)).await;
    cp.apply("us-west-2", &ns, pg_pod("postgresql-1", &ns, true)).await;
    cp.apply("us-east-1", &ns, pg_service("postgresql", &ns, false)).await;
    cp.apply("us-east-1", &ns, pg_service("postgresql-hl", &ns, true)).await;
    cp.apply("us-east-1", &ns, sentinel_conf(&ns)).await;
    cp.apply("us-east-1", &ns, redis_node("redis-node-0", &ns)).await;
    cp.deployment("us-east-1", &ns, "web", 1, &[]).await;
    let east_ip = pod_ip(&cp.wait_pods_ready("us-east-1", &ns, "app.kubernetes.io/name=postgresql", 1).await);
    let west_ip = pod_ip(&cp.wait_pods_ready("us-west-2", &ns, "app.kubernetes.io/name=postgresql", 1).await);
    let redis_ip = pod_ip(&cp.wait_pods_ready("us-east-1", &ns, "app.kubernetes.io/name=redis", 1).await);

    let (_moto_guard, moto) = exclusive().await;
    let seeded = seed_weighted(
        moto,
        "api.example.com.",
        &[("us-east-1", 70, "192.0.2.1"), ("us-west-2", 30, "192.0.2.2"), ("eu-central-1", 0, "192.0.2.3")],
    )
    .await;

    let home = Home::new();
    let out = home.path().join("conf/warroom.toml");
    let kubeconfig = cp.kubeconfig.to_string_lossy().into_owned();
    let out_s = out.to_string_lossy().into_owned();
    let args = [
        "init",
        "--kubeconfig",
        &kubeconfig,
        "--region",
        "us-east-1=us-east-1",
        "--region",
        "us-west-2=us-west-2",
        "--namespace",
        &ns,
        "--record",
        "api.example.com",
        "--route53-endpoint",
        &moto.endpoint,
        "--output",
        &out_s,
    ];
    let run = tokio::task::block_in_place(|| home.run(&args));
    assert_eq!(run.code, Some(0), "{run:?}");
    let text = std::fs::read_to_string(&out).expect("written");
    assert_no_secret(&text);
    assert_no_secret(&run.stdout);
    assert_no_secret(&run.stderr);

    let cfg = parse_config_all(&text, &out).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let regions: Vec<(&str, &str, Option<&str>)> =
        cfg.regions.iter().map(|r| (r.name.as_str(), r.role.as_str(), r.kube_context.as_deref())).collect();
    assert_eq!(
        regions,
        [("us-east-1", "primary", Some("us-east-1")), ("us-west-2", "secondary", Some("us-west-2"))]
    );
    assert!(text.contains("# kube contexts not used: decoy-current"), "{text}");
    for (i, r) in cfg.regions.iter().enumerate() {
        assert_eq!(r.set_identifier.as_deref(), Some(r.name.as_str()));
        assert_eq!(r.health_check_id.as_deref(), Some(seeded.health_checks[i].as_str()), "{}", r.name);
    }
    assert!(text.contains("# not matched to a region: set identifier eu-central-1 (weight 0)"), "{text}");
    let r53 = cfg.route53.as_ref().expect("[route53]");
    assert_eq!(
        (r53.hosted_zone_id.as_str(), r53.record.as_str(), r53.record_type.as_str()),
        (seeded.zone_id.as_str(), "api.example.com.", "A")
    );
    assert_eq!(r53.endpoint_url.as_deref(), Some(moto.endpoint.as_str()));
    assert_eq!(cfg.kubernetes.as_ref().unwrap().namespaces, std::slice::from_ref(&ns));

    let pg = cfg.postgres.as_ref().expect("[postgres]");
    let svc = pg.service.as_ref().expect("service");
    assert_eq!(
        (svc.context.as_str(), svc.name.as_str()),
        ("us-east-1", "postgresql"),
        "ClusterIP, not headless"
    );
    assert!(text.contains("also found: Service us-east-1/"), "{text}");
    let nodes: Vec<(&str, &str, &str)> =
        pg.nodes.iter().map(|n| (n.name.as_str(), n.region.as_str(), n.dsn.as_str())).collect();
    let east_dsn = format!("host={east_ip} port=5432 user=orders_app dbname=orders connect_timeout=2");
    let west_dsn = format!("host={west_ip} port=5432 user=orders_app dbname=orders connect_timeout=2");
    assert_eq!(
        nodes,
        [("postgresql-0", "us-east-1", east_dsn.as_str()), ("postgresql-1", "us-west-2", west_dsn.as_str())]
    );
    for n in &pg.nodes {
        assert_eq!(n.password_env.as_deref(), Some("WARROOM_PG_PASSWORD"));
        assert_eq!(n.data_dir.as_deref(), Some("/bitnami/postgresql/data"));
        assert_eq!(n.pod.as_ref().map(|p| p.namespace.as_str()), Some(ns.as_str()));
    }
    assert!(
        text.contains(&format!("stable name in the cluster: postgresql-0.postgresql-hl.{ns}.svc")),
        "{text}"
    );
    let sentinel = cfg.sentinel.as_ref().expect("[sentinel]");
    assert_eq!(sentinel.master, "orders-cache");
    assert_eq!(sentinel.addrs, [format!("{redis_ip}:26379")]);
    assert_eq!(sentinel.password_env.as_deref(), Some("WARROOM_REDIS_PASSWORD"));

    // `check` passes on it, and `status` reads it and asks every layer it names.
    let check = home.run(&["check", "--config", &out_s]);
    assert_eq!(check.code, Some(0), "{check:?}\n{text}");
    let status = tokio::task::block_in_place(|| home.run(&["status", "--json", "--config", &out_s]));
    let v: Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {status:?}"));
    for layer in ["postgres", "sentinel", "kubernetes", "traffic"] {
        let freshness = v[layer]["freshness"].as_str().unwrap_or_default();
        assert!(!freshness.is_empty() && freshness != "not_configured", "{layer}: {freshness}\n{status:?}");
    }
    let pods: Vec<&str> =
        v["kubernetes"]["pods"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert!(pods.contains(&"postgresql-0") && pods.contains(&"postgresql-1"), "{pods:?}\n{status:?}");
    let regions: Vec<&str> =
        v["traffic"]["regions"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    assert!(regions.starts_with(&["us-east-1", "us-west-2"]), "{regions:?}\n{status:?}");
    assert_no_secret(&status.stdout);

    // A second run does not overwrite the file without --force.
    std::fs::write(&out, "# edited by hand\n").unwrap();
    let again = tokio::task::block_in_place(|| home.run(&args));
    assert_eq!(again.code, Some(2), "{again:?}");
    assert!(again.stderr.contains("exists") && again.stderr.contains("--force"), "{again:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# edited by hand\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_init_asks_the_region_of_each_context() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("init-tty");
    cp.namespace("us-west-2", &ns).await;
    cp.apply("us-west-2", &ns, pg_pod("db-west-0", &ns, false)).await;
    cp.wait_pods_ready("us-west-2", &ns, "app.kubernetes.io/name=postgresql", 1).await;
    let home = Home::new();
    let out = home.path().join("warroom.toml");
    let bin = env!("CARGO_BIN_EXE_warroom");
    let kubeconfig = cp.kubeconfig.to_string_lossy().into_owned();
    let out_s = out.to_string_lossy().into_owned();
    let cmd = [bin, "init", "--kubeconfig", kubeconfig.as_str(), "--output", out_s.as_str()];
    let tmux = Tmux::start(120, 30, &cmd, &[("HOME", home.path())]);
    let answer = |question: &str, text: &str| {
        tmux.wait_for(question, Duration::from_secs(20), |s| {
            s.lines().any(|l| l.contains(question) && l.trim_end().ends_with(':'))
        });
        if !text.is_empty() {
            tmux.type_text(text);
        }
        tmux.keys(&["Enter"]);
    };
    answer("Region of kube context `us-east-1`", "primary-east");
    answer("Region of kube context `us-west-2`", "primary-east");
    tmux.wait_for("the duplicate refused", Duration::from_secs(10), |s| s.contains("already taken"));
    // The refused answer is asked again: the last question on the screen is us-west-2's.
    tmux.wait_for("us-west-2 asked again", Duration::from_secs(10), |s| {
        s.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.contains("`us-west-2`"))
    });
    tmux.type_text("backup-west");
    tmux.keys(&["Enter"]);
    answer("Region of kube context `decoy-current`", "");
    answer("Namespaces to search", &ns);
    answer("Route 53 record", "");
    tokio::task::block_in_place(|| {
        tmux.wait_for("init to finish", Duration::from_secs(30), |s| s.contains("warroom init: wrote"))
    });
    let text = std::fs::read_to_string(&out).expect("written");
    let cfg = parse_config_all(&text, Path::new(&out)).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let regions: Vec<(&str, Option<&str>)> =
        cfg.regions.iter().map(|r| (r.name.as_str(), r.kube_context.as_deref())).collect();
    assert_eq!(regions, [("primary-east", Some("us-east-1")), ("backup-west", Some("us-west-2"))]);
    assert!(text.contains("# kube contexts not used: decoy-current"), "{text}");
    let nodes: Vec<(&str, &str)> = cfg
        .postgres
        .as_ref()
        .expect("[postgres]")
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.region.as_str()))
        .collect();
    assert_eq!(nodes, [("db-west-0", "backup-west")]);
    assert!(text.contains("no record given"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn completions_generate_for_each_shell() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = home.run(&["completions", shell]);
        assert_eq!(out.code, Some(0), "{out:?}");
        for sub in ["drill", "status", "exec", "replay", "init", "manpage"] {
            assert!(out.stdout.contains(sub), "{shell} completions lack {sub}");
        }
        if shell == "bash" {
            let file = home.write("warroom.bash", &out.stdout);
            let parsed = std::process::Command::new("bash").arg("-n").arg(&file).output().expect("bash");
            assert!(parsed.status.success(), "bash -n: {}", String::from_utf8_lossy(&parsed.stderr));
        }
    }
    assert!(home.run(&["completions", "fish"]).stdout.contains("complete -c warroom"));
    assert!(home.run(&["completions", "zsh"]).stdout.starts_with("#compdef warroom"));
    let bad = home.run(&["completions", "tcsh"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[test]
fn the_man_page_renders() {
    let home = Home::new();
    let out = home.run(&["manpage"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(".TH warroom 1"), "{}", out.stdout);
    let page = home.write("warroom.1", &out.stdout);
    // `man -l` renders it where man is installed (the .TH check above stands where it is not).
    match std::process::Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(&page)
        .env("MANWIDTH", "100")
        .output()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("man: {e}"),
        Ok(man) => {
            let text = String::from_utf8_lossy(&man.stdout);
            assert!(man.status.success(), "man -l failed: {}", String::from_utf8_lossy(&man.stderr));
            assert!(
                text.contains("SUBCOMMANDS") && text.contains("init") && text.contains("completions"),
                "{text}"
            );
        }
    }
    let dir = home.path().join("man");
    let listed = home.run(&["manpage", "--dir", &dir.to_string_lossy()]);
    assert_eq!(listed.code, Some(0), "{listed:?}");
    for page in ["warroom.1", "warroom-init.1", "warroom-status.1", "warroom-completions.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_init_cannot_read_or_find_is_written_as_comments_and_the_file_stays_valid() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("init-forbidden");
    cp.namespace("us-east-1", &ns).await;
    cp.apply("us-east-1", &ns, pg_pod("postgresql-0", &ns, false)).await;
    let home = Home::new();
    // The viewer has no binding: every list is forbidden.
    let kubeconfig = home.path().join("viewer-kubeconfig");
    cp.write_kubeconfig(&kubeconfig, json!({ "token": TOKEN_USERS[2].0 }));
    let (_moto_guard, moto) = exclusive().await;
    let out = home.path().join("warroom.toml");
    let (kc, out_s) = (kubeconfig.to_string_lossy().into_owned(), out.to_string_lossy().into_owned());
    let args = [
        "init",
        "--kubeconfig",
        &kc,
        "--region",
        "us-east-1=east",
        "--namespace",
        &ns,
        "--record",
        "api.nowhere.test",
        "--route53-endpoint",
        &moto.endpoint,
        "--output",
        &out_s,
    ];
    let run = tokio::task::block_in_place(|| home.run(&args));
    assert_eq!(run.code, Some(0), "{run:?}");
    let text = std::fs::read_to_string(&out).expect("written");
    let line = text
        .lines()
        .find(|l| l.contains("cannot list pods in us-east-1/"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("# could not read:") && line.contains("forbidden"), "{line}");
    assert!(text.contains(&format!("# not found: PostgreSQL pods in us-east-1/{ns}")), "{text}");
    assert!(text.contains("# not found: no hosted zone whose name api.nowhere.test. ends with"), "{text}");
    assert!(text.contains("# not found: Redis Sentinel pods"), "{text}");
    for secret in [TOKEN_USERS[2].0, PG_PASSWORD] {
        assert!(!text.contains(secret), "{text}");
    }
    let cfg = parse_config_all(&text, &out).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert!(cfg.postgres.is_none() && cfg.sentinel.is_none() && cfg.route53.is_none());
    let check = home.run(&["check", "--config", &out_s]);
    assert_eq!(check.code, Some(0), "{check:?}");

    // Usage errors are one line and write nothing.
    let other = home.path().join("other.toml");
    let other_s = other.to_string_lossy().into_owned();
    for (bad, says) in [
        (vec!["init", "--kubeconfig", &kc, "--output", &other_s], "--region CONTEXT=REGION"),
        (
            vec!["init", "--kubeconfig", &kc, "--region", "nope=east", "--output", &other_s],
            "no context `nope`",
        ),
        (
            vec!["init", "--kubeconfig", "/nonexistent/kubeconfig", "--region", "a=b", "--output", &other_s],
            "cannot read the kubeconfig",
        ),
    ] {
        let r = home.run(&bad);
        assert_eq!(r.code, Some(2), "{bad:?}: {r:?}");
        assert!(r.stderr.contains(says) && r.stderr.trim().lines().count() == 1, "{bad:?}: {r:?}");
        assert!(!other.exists(), "{bad:?} wrote a file");
    }
}
