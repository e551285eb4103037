//! `status --json` keeps its shape in every state: the output of `drill --status --json` for
//! every scenario, and the JSON of layers that failed, are pending, stale or not configured,
//! are validated against the shipped `docs/status.schema.json` (draft 2020-12). `drill
//! --status --at` shows the estate that far into the drill, faults included.

mod support {
    pub mod home;
}

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use serde_json::Value;
use warroom::app::Mode;
use warroom::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use warroom::backends::{Freshness, Observed, Snapshot};
use warroom::cli::status::json::status_json_for;

use support::home::Home;

fn schema() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.schema.json");
    let text = std::fs::read_to_string(&path).expect("docs/status.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid draft 2020-12 schema")
}

fn assert_valid(v: &Value, what: &str) {
    let errors: Vec<String> =
        schema().iter_errors(v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{v:#}");
}

fn drill_status(home: &Home, scenario: &str, at: Option<&str>) -> Value {
    let mut args = vec!["drill", "--status", "--json", "--scenario", scenario];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    let out = home.run(&args);
    assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out:?}"))
}

fn node<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["postgres"]["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).expect(name)
}

fn scenarios(home: &Home) -> Vec<String> {
    let list = home.run(&["drill", "--list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    list.stdout.lines().filter_map(|l| l.split_whitespace().next().map(str::to_string)).collect()
}

#[test]
fn every_scenario_validates_and_shows_its_fault_at_the_default_time() {
    let home = Home::new();
    let names = scenarios(&home);
    assert!(names.len() >= 7, "{names:?}");
    let calm = drill_status(&home, "calm", None);
    let calm_master = calm["sentinel"]["master"].as_str().expect("calm has a master").to_string();
    for s in &names {
        let v = drill_status(&home, s, None);
        assert_valid(&v, s);
        let pg = &v["postgres"];
        // The console's judgement: the verdict and the runbook recommended first.
        let judged = (
            v["verdict"].as_str().expect("verdict"),
            v["recommended"].as_array().expect("recommended").first().and_then(|r| r["runbook"].as_str()),
        );
        let expected = match s.as_str() {
            "calm" => ("healthy", None),
            "primary-db-down" => ("failing", Some("db-failover")),
            "redis-master-down" => ("degraded", Some("redis-verify")),
            "region-outage" => ("failing", Some("region-failover")),
            "crashloop" => ("degraded", Some("rollback")),
            "split-brain" => ("failing", Some("fence-stray-primary")),
            // At 30 s the lagging replica is the only fault: degraded, nothing to run yet.
            "replica-lag" => ("degraded", None),
            other => panic!("scenario {other} has no expectation here: add one"),
        };
        assert_eq!(judged, expected, "{s}: reasons {:#} recommended {:#}", v["reasons"], v["recommended"]);
        assert_eq!(v["reasons"].as_array().is_some_and(Vec::is_empty), judged.0 == "healthy", "{s}");
        let region = |name: &str| {
            v["traffic"]["regions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .cloned()
                .expect(name)
        };
        match s.as_str() {
            "calm" => {
                assert_eq!(pg["primary"], "postgresql-0", "{pg:#}");
                assert_eq!(v["sentinel"]["agreed"], true);
                for r in v["traffic"]["regions"].as_array().unwrap() {
                    assert_eq!(r["health_check"], "healthy", "{r:#}");
                }
            }
            "primary-db-down" => {
                assert_eq!(node(&v, "postgresql-0")["role"], "down", "{pg:#}");
                assert!(node(&v, "postgresql-0")["error"].as_str().is_some_and(|e| !e.is_empty()));
                assert!(pg["primary"].is_null(), "{pg:#}");
            }
            "redis-master-down" => {
                // Sentinel fails over by itself within the 30 s: the master moved.
                assert_ne!(v["sentinel"]["master"], calm_master.as_str(), "{:#}", v["sentinel"]);
            }
            "region-outage" => {
                assert_eq!(region("us-east-1")["health_check"], "unhealthy");
                assert_eq!(node(&v, "postgresql-0")["role"], "down");
            }
            "crashloop" => {
                let crashing = v["kubernetes"]["pods"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["reason"] == "CrashLoopBackOff")
                    .count();
                assert!(crashing > 0, "{:#}", v["kubernetes"]["pods"]);
            }
            "split-brain" => assert_eq!(pg["split_brain"], true, "{pg:#}"),
            "replica-lag" => {
                let lag = node(&v, "postgresql-1")["replay_lag_bytes"].as_u64().expect("lag");
                assert!(lag > 1 << 20, "postgresql-1's replay stalled: {lag} B");
            }
            other => panic!("scenario {other} has no expectation here: add one"),
        }
    }
}

#[test]
fn at_chooses_how_far_the_drill_ran_faults_included() {
    let home = Home::new();
    // Before the fault (5 s) the primary is up; after it, down; later still, down.
    let before = drill_status(&home, "primary-db-down", Some("2s"));
    assert_valid(&before, "primary-db-down at 2s");
    assert_eq!(before["postgres"]["primary"], "postgresql-0");
    let after = drill_status(&home, "primary-db-down", Some("6s"));
    assert_valid(&after, "primary-db-down at 6s");
    assert_eq!(node(&after, "postgresql-0")["role"], "down");
    // replica-lag's second fault: the primary dies at 60 s.
    let early = drill_status(&home, "replica-lag", Some("30s"));
    assert_eq!(node(&early, "postgresql-0")["role"], "primary");
    let late = drill_status(&home, "replica-lag", Some("1m10s"));
    assert_valid(&late, "replica-lag at 1m10s");
    assert_eq!(node(&late, "postgresql-0")["role"], "down");
    let bad = home.run(&["drill", "--status", "--scenario", "calm", "--at", "soon"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("expected a duration"), "{bad:?}");
    let without_status = home.run(&["drill", "--scenario", "calm", "--at", "30s"]);
    assert_eq!(without_status.code, Some(2), "--at needs --status: {without_status:?}");
}

/// The drill estate's configuration: three nodes, three Sentinels, three regions.
fn config() -> warroom::config::Config {
    warroom::backends::drill::DrillEstate::new("calm", 1.0, 1).expect("estate").config()
}

fn failed<T>(error: &str) -> Arc<Snapshot<T>> {
    Arc::new(Snapshot { value: None, fetched_at: None, freshness: Freshness::Failed { error: error.into() } })
}

#[test]
fn every_postgres_node_down_keeps_the_nodes_with_their_errors() {
    let cfg = config();
    let names: Vec<String> = cfg.postgres.as_ref().unwrap().nodes.iter().map(|n| n.name.clone()).collect();
    let why: Vec<String> = names.iter().map(|n| format!("{n}: connection refused (os error 111)")).collect();
    let o = Observed {
        database: failed(&format!("no PostgreSQL node answered: {}", why.join("; "))),
        sentinel: failed(
            "no Sentinel answered: 10.0.1.20:26379: timeout after 2 s; 10.0.1.21:26379: timeout after 2 s; 10.1.1.22:26379: connection refused",
        ),
        kube: failed(
            "us-east-1: API server did not answer within 2000 ms; us-west-2: 401 Unauthorized; eu-central-1: dns error",
        ),
        traffic: failed("Route 53: throttled"),
    };
    let v = status_json_for(&o, Some(&cfg), Mode::Live, Utc::now());
    assert_valid(&v, "every layer failed");
    let pg = &v["postgres"];
    assert_eq!(pg["freshness"], "failed");
    let nodes = pg["nodes"].as_array().expect("nodes stay");
    assert_eq!(nodes.len(), names.len(), "{pg:#}");
    for (n, name) in nodes.iter().zip(&names) {
        assert_eq!(n["name"], name.as_str());
        assert_eq!(n["role"], "down", "{n:#}");
        assert_eq!(n["error"], "connection refused (os error 111)", "its own error, not the list: {n:#}");
    }
    assert!(pg["primary"].is_null() && pg["split_brain"].is_null(), "unknown, not false: {pg:#}");
    let sentinels = v["sentinel"]["sentinels"].as_array().expect("sentinels stay");
    assert_eq!(sentinels.len(), 3);
    assert_eq!(sentinels[0]["error"], "timeout after 2 s");
    assert_eq!(sentinels[2]["error"], "connection refused");
    let contexts = v["kubernetes"]["contexts"].as_array().expect("contexts stay");
    assert!(contexts.iter().any(|c| c["error"] == "401 Unauthorized"), "{contexts:#?}");
    assert!(v["kubernetes"]["pods"].as_array().is_some_and(Vec::is_empty));
    let regions = v["traffic"]["regions"].as_array().expect("regions stay");
    assert_eq!(regions.len(), cfg.regions.len());
    assert!(regions.iter().all(|r| r["health_check"] == "unknown" && r["weight"].is_null()), "{regions:#?}");
}

#[test]
fn pending_stale_breaker_open_and_not_configured_layers_keep_their_keys() {
    let cfg = config();
    let at = Utc::now() - ChronoDuration::seconds(40);
    let last = DatabaseView {
        nodes: ["postgresql-0", "postgresql-1"]
            .iter()
            .enumerate()
            .map(|(i, n)| PgNodeStatus {
                name: n.to_string(),
                role: if i == 0 { PgRole::Primary } else { PgRole::Replica },
                timeline: Some(1),
                ..Default::default()
            })
            .collect(),
    };
    let stale = Observed {
        database: Arc::new(Snapshot {
            value: Some(last.clone()),
            fetched_at: Some(at),
            freshness: Freshness::Stale {
                since: at,
                error: "no PostgreSQL node answered: postgresql-0: timeout after 2 s; postgresql-1: timeout after 2 s"
                    .into(),
            },
        }),
        ..Observed::default()
    };
    let v = status_json_for(&stale, Some(&cfg), Mode::Live, Utc::now());
    assert_valid(&v, "stale postgres");
    for n in v["postgres"]["nodes"].as_array().unwrap() {
        assert_eq!(n["role"], "down", "a stale role is not reported as current: {n:#}");
        assert_eq!(n["error"], "timeout after 2 s");
        assert_eq!(n["timeline"], 1, "the last values stay: {n:#}");
    }
    assert!(v["postgres"]["primary"].is_null());

    let broken = Observed {
        database: Arc::new(Snapshot {
            value: Some(last),
            fetched_at: Some(at),
            freshness: Freshness::BreakerOpen { retry_at: Utc::now(), error: "poll timed out".into() },
        }),
        ..Observed::default()
    };
    let v = status_json_for(&broken, Some(&cfg), Mode::Live, Utc::now());
    assert_valid(&v, "breaker open");
    for n in v["postgres"]["nodes"].as_array().unwrap() {
        assert_eq!((&n["role"], &n["error"]), (&"unknown".into(), &"poll timed out".into()), "{n:#}");
    }

    // Observed::default(): every layer pending. Then nothing configured at all.
    let v = status_json_for(&Observed::default(), Some(&cfg), Mode::Drill, Utc::now());
    assert_valid(&v, "pending");
    assert!(v["postgres"]["nodes"].as_array().unwrap().iter().all(|n| n["role"] == "unknown"));
    let none = Observed {
        kube: Arc::new(Snapshot::not_configured()),
        database: Arc::new(Snapshot::not_configured()),
        sentinel: Arc::new(Snapshot::not_configured()),
        traffic: Arc::new(Snapshot::not_configured()),
    };
    let v = status_json_for(&none, None, Mode::Live, Utc::now());
    assert_valid(&v, "not configured");
    for layer in ["postgres", "sentinel", "kubernetes", "traffic"] {
        assert_eq!(v[layer]["freshness"], "not_configured");
    }
    assert_eq!(v["verdict"], "unknown", "nothing configured: nothing can be called healthy");
}

#[test]
fn the_schema_rejects_a_layer_that_lost_its_rows_and_accepts_the_verdict_keys() {
    let home = Home::new();
    let mut v = drill_status(&home, "calm", Some("1s"));
    assert_valid(&v, "calm");
    v["verdict"] = "healthy".into();
    v["reasons"] = serde_json::json!([]);
    v["recommended"] = serde_json::json!([{ "runbook": "db-failover", "reason": "the primary is down" }]);
    assert_valid(&v, "with verdict, reasons and recommended");
    let mut bad = v.clone();
    bad["verdict"] = "fine".into();
    assert!(!schema().is_valid(&bad), "verdict is an enum");
    let mut missing = v.clone();
    missing.as_object_mut().unwrap().remove("recommended");
    assert!(!schema().is_valid(&missing), "the judgement keys are part of the contract");
    let mut lost = v.clone();
    lost["postgres"].as_object_mut().unwrap().remove("nodes");
    assert!(!schema().is_valid(&lost), "a postgres layer without nodes is not the contract");
    let mut down = v;
    down["postgres"]["nodes"][0]["role"] = "down".into();
    down["postgres"]["nodes"][0]["error"] = Value::Null;
    assert!(!schema().is_valid(&down), "a down node says why");
}

#[test]
fn live_status_with_every_postgres_node_down_names_each_node_and_why() {
    let home = Home::new();
    // Two nodes on ports nothing listens on: both refuse at once, the layer fails as a whole.
    let closed = |_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ports: Vec<u16> = (0..2).map(closed).collect();
    let cfg = home.write(
        "warroom.toml",
        &format!(
            "[postgres]\n\n[[postgres.nodes]]\nname = \"pg-a\"\nregion = \"r1\"\n\
             dsn = \"host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=2\"\n\n\
             [[postgres.nodes]]\nname = \"pg-b\"\nregion = \"r2\"\n\
             dsn = \"host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=2\"\n",
            ports[0], ports[1]
        ),
    );
    let out = home.run(&["status", "--json", "--config", cfg.to_str().unwrap()]);
    // Exit 4: a configured layer could not be read (one line naming it); the JSON is printed.
    assert_eq!(out.code, Some(4), "{out:?}");
    assert!(out.stderr.starts_with("warroom status: could not read postgres (failed"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_valid(&v, "live, every node down");
    let pg = &v["postgres"];
    assert_eq!(pg["freshness"], "failed", "{pg:#}");
    let nodes = pg["nodes"].as_array().expect("nodes stay when every node is down");
    assert_eq!(nodes.iter().map(|n| n["name"].as_str().unwrap()).collect::<Vec<_>>(), ["pg-a", "pg-b"]);
    for n in nodes {
        assert_eq!(n["role"], "down", "{n:#}");
        let e = n["error"].as_str().expect("why");
        assert!(!e.is_empty() && !e.contains("pg-a:") && !e.contains("pg-b:"), "its own error only: {n:#}");
    }
    for layer in ["sentinel", "kubernetes", "traffic"] {
        assert_eq!(v[layer]["freshness"], "not_configured", "{:#}", v[layer]);
    }
}
