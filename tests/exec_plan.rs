//! `warroom plan` and `warroom exec` (the real binary) against the drill estate: previews with
//! the exact calls, parameter origins and not-applicable reasons; usage errors; exec end to end
//! through the real pipeline and incident log, with its exit-code contract (0 completed, 1 failed
//! at a step, 2 usage, 3 refused) and nothing executed when refused or read-only.

mod support {
    pub mod home;
}

use std::time::Duration;

use serde_json::Value;

use support::home::Home;

impl Home {
    /// Every incident log in the data dir: (id, entries).
    fn logs(&self) -> Vec<(String, Vec<Value>)> {
        let dir = self.data_dir().join("incidents");
        let Ok(rd) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut out: Vec<(String, Vec<Value>)> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|p| {
                let id = p.file_stem().unwrap().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&p).expect("read log");
                let entries = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| serde_json::from_str(l).expect("log line is JSON"))
                    .collect();
                (id, entries)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The only incident log.
    fn only_log(&self) -> (String, Vec<Value>) {
        let mut logs = self.logs();
        assert_eq!(logs.len(), 1, "one incident: {:?}", logs.iter().map(|l| &l.0).collect::<Vec<_>>());
        logs.remove(0)
    }
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["kind"].as_str().unwrap_or_default().to_string()).collect()
}

/// Entries of `kind` for the runbook step `key` (step ids come from `step-previewed` / skipped).
fn step_ids(entries: &[Value], key: &str) -> Vec<u64> {
    let started = entries.iter().find(|e| e["kind"] == "runbook-started").expect("runbook-started");
    started["details"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["key"] == key)
        .filter_map(|s| s["step"].as_u64())
        .collect()
}

fn step_kinds(entries: &[Value], key: &str) -> Vec<String> {
    let ids = step_ids(entries, key);
    entries
        .iter()
        .filter(|e| e["details"]["step"].as_u64().is_some_and(|s| ids.contains(&s)))
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn plan(home: &Home, args: &[&str]) -> String {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    let out = home.run(&all);
    assert_eq!(out.code, Some(0), "plan {args:?}\nstdout: {}\nstderr: {}", out.stdout, out.stderr);
    out.stdout
}

fn contains_all(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

#[test]
fn plan_previews_every_builtin_with_exact_calls_and_parameter_origins() {
    let home = Home::new();
    let db = plan(&home, &["db-failover", "--drill", "primary-db-down"]);
    contains_all(
        &db,
        &[
            "Runbook db-failover: Database failover",
            "Estate: drill primary-db-down",
            "Layers: postgres fresh, sentinel fresh, kubernetes fresh, traffic fresh",
            "candidate = postgresql-1  [healthiest-replica: ",
            "old_primary = postgresql-0  [failed-primary: the node that is down]",
            "1. confirm-down",
            "2. promote  Promote postgresql-1 to primary",
            "risk: HIGH: type postgresql-1 (--confirm postgresql-1)",
            "| SELECT pg_promote(wait => true, wait_seconds => 30);  -- on postgresql-1",
            "gate: primary-down (holds now: ",
            "gate: node-writable:postgresql-0 (NOT met now: postgresql-0 is unreachable",
            "| PATCH /api/v1/namespaces/database/services/postgresql  (application/merge-patch+json)",
            r#"| {"spec":{"selector":{"role":"primary","statefulset.kubernetes.io/pod-name":"postgresql-1"}}}"#,
            "why: Plan, Promote Replica",
            "4. label  Label pod postgresql-1 role=primary",
            "gate: pod-not-labelled-primary:postgresql-1 (holds now: postgresql-1 is labelled role=replica)",
            "| PATCH /api/v1/namespaces/database/pods/postgresql-1  (application/merge-patch+json)",
            r#"| {"metadata":{"labels":{"role":"primary"}}}"#,
            "6. verify-writes",
            "risk: low: y (--yes-low-risk)",
        ],
    );
    let redis = plan(&home, &["redis-failover", "--drill", "calm"]);
    contains_all(&redis, &["| SENTINEL FAILOVER mymaster", "risk: HIGH: type mymaster (--confirm mymaster)"]);
    let dns = plan(&home, &["dns-failover", "--drill", "calm"]);
    contains_all(
        &dns,
        &[
            "target = us-west-2  [secondary-region: role = secondary]",
            "| ChangeResourceRecordSets  HostedZoneId=ZDRILL0000001",
            "|   UPSERT api.example.com. SetIdentifier=us-east-1 Weight=0",
            "|   UPSERT api.example.com. SetIdentifier=us-west-2 Weight=100",
            "|   UPSERT api.example.com. SetIdentifier=eu-central-1 Weight=0",
            "risk: HIGH: type us-west-2 (--confirm us-west-2)",
        ],
    );
    let dns_east = plan(&home, &["dns-failover", "--drill", "calm", "--param", "target=eu-central-1"]);
    contains_all(
        &dns_east,
        &[
            "target = eu-central-1  [--param]",
            "|   UPSERT api.example.com. SetIdentifier=eu-central-1 Weight=100",
        ],
    );
    let region = plan(&home, &["region-failover", "--drill", "region-outage"]);
    contains_all(
        &region,
        &["scale/api", "scale/worker", "/deployments/api/scale", "SENTINEL FAILOVER mymaster", "UPSERT"],
    );
    let restore = plan(&home, &["restore-primary", "--drill", "calm"]);
    contains_all(
        &restore,
        &[
            "manual: done by hand, ticked with a note (--note TEXT)",
            "NOT met now: postgresql-0 is the writable primary",
        ],
    );
    assert!(home.logs().is_empty(), "plan declares no incident and writes no log");
}

#[test]
fn plan_json_has_previews_params_and_risks() {
    let home = Home::new();
    let out = plan(&home, &["db-failover", "--drill", "primary-db-down", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(v["runbook"]["id"], "db-failover");
    assert_eq!(v["layers"]["postgres"]["freshness"], "fresh");
    assert_eq!(v["params"][0]["name"], "candidate");
    assert!(v["params"][0]["origin"].as_str().unwrap().starts_with("healthiest-replica"), "{v:#}");
    let steps = v["steps"].as_array().expect("steps");
    let keys: Vec<&str> = steps.iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["confirm-down", "promote", "fence", "label", "repoint", "verify-writes"]);
    let promote = &steps[1];
    assert_eq!(promote["risk"], "high");
    assert_eq!(promote["confirm_word"], "postgresql-1");
    assert_eq!(promote["gate"]["holds_now"], true);
    assert!(promote["preview"]["lines"][0].as_str().unwrap().contains("pg_promote"), "{promote:#}");
    assert_eq!(steps[2]["gate"]["holds_now"], false);
    assert_eq!(steps[0]["risk"], "low");
    assert!(steps[0]["confirm_word"].is_null());
}

#[test]
fn plan_on_a_partial_live_config_shows_failed_layers_and_not_applicable_steps() {
    let home = Home::new();
    let cfg = home.write(
        "warroom.toml",
        "[postgres]\nmax_lag_bytes = 0\n\n[[postgres.nodes]]\nname = \"pg-a\"\n\
         dsn = \"host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=1\"\n\n\
         [[postgres.nodes]]\nname = \"pg-b\"\n\
         dsn = \"host=127.0.0.1 port=2 user=postgres dbname=postgres connect_timeout=1\"\n",
    );
    let c = cfg.to_str().unwrap();
    let out = plan(
        &home,
        &["db-failover", "--config", c, "--param", "candidate=pg-b", "--param", "old_primary=pg-a"],
    );
    contains_all(
        &out,
        &[
            "Estate: live (",
            "postgres FAILED (no PostgreSQL node answered",
            "sentinel NOT_CONFIGURED",
            "candidate = pg-b  [--param]",
            "4. label",
            "5. repoint",
            "not applicable: Kubernetes is not configured",
            "target: pg-b at 127.0.0.1:2",
        ],
    );
    // Without overrides the parameters cannot be derived from a dead estate: exit 3.
    let out = home.run(&["plan", "db-failover", "--config", c]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("parameter candidate: no database data yet"), "{}", out.stderr);
}

#[test]
fn plan_and_exec_usage_errors_exit_2_and_list_what_exists() {
    let home = Home::new();
    let out = home.run(&["plan", "db-failovr", "--drill", "calm"]);
    assert_eq!(out.code, Some(2));
    contains_all(&out.stderr, &["no runbook \"db-failovr\"", "db-failover, redis-failover, dns-failover"]);
    let out = home.run(&["plan", "db-failover", "--drill", "calm", "--param", "nope=1"]);
    assert_eq!(out.code, Some(2));
    contains_all(&out.stderr, &["--param nope", "it has: candidate, old_primary"]);
    let out = home.run(&["plan", "db-failover", "--drill", "calm", "--param", "candidate=pg-9"]);
    assert_eq!(out.code, Some(2));
    contains_all(&out.stderr, &["\"pg-9\" is not a configured PostgreSQL node", "postgresql-0"]);
    let out = home.run(&["plan", "db-failover", "--drill", "calm", "--param", "candidate"]);
    assert_eq!(out.code, Some(2), "clap rejects a --param without '='");
    assert!(out.stderr.contains("NAME=VALUE"), "{}", out.stderr);
    let out = home.run(&["plan", "db-failover", "--drill", "meteor"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("meteor"), "{}", out.stderr);
    let out = home.run(&["plan", "db-failover"]);
    assert_eq!(out.code, Some(2), "no config");
    assert!(out.stderr.contains("no configuration found"), "{}", out.stderr);
    let out = home.run(&["exec", "db-failover", "--drill", "calm", "--step", "promot"]);
    assert_eq!(out.code, Some(2));
    contains_all(
        &out.stderr,
        &["no step \"promot\"", "confirm-down, promote, fence, label, repoint, verify-writes"],
    );
    let out =
        home.run(&["exec", "db-failover", "--drill", "calm", "--param", "candidate=pg-9", "--yes-low-risk"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("\"pg-9\" is not a configured PostgreSQL node"), "{}", out.stderr);
    let out = home.run(&["exec", "db-failover", "--drill", "calm", "--param", "nope=1"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    // No runbook state to derive from: exit 3.
    let out = home.run(&["plan", "restore-primary", "--drill", "primary-db-down"]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("no single writable primary"), "{}", out.stderr);
    assert!(home.logs().is_empty(), "usage errors declare nothing");
    // Exec on the same: refused (3) before anything executes.
    let out = home.run(&[
        "exec",
        "restore-primary",
        "--drill",
        "primary-db-down",
        "--note",
        "fixed",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no single writable primary"), "{}", out.stderr);
    assert!(home.logs().iter().all(|(_, e)| !kinds(e).iter().any(|k| k == "step-executing")));
}

#[test]
fn exec_db_failover_runs_every_step_through_the_logged_pipeline() {
    let home = Home::new();
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--confirm",
        "postgresql-1",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(0), "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    let (id, entries) = home.only_log();
    assert!(id.ends_with("-DRILL"), "{id}");
    contains_all(
        &out.stdout,
        &[
            &format!("incident {id}"),
            "step-executing   DRILL step #2 executing: Promote postgresql-1 to primary",
            "step-skipped     DRILL step #3 (fence) skipped: not applicable: gate node-writable:postgresql-0",
            "RESULT: completed (exit 0)",
        ],
    );
    let k = kinds(&entries);
    assert_eq!(k.first().map(String::as_str), Some("declared"));
    for kind in [
        "commander",
        "runbook-started",
        "step-previewed",
        "step-confirmed",
        "step-executing",
        "step-result",
        "step-verified",
        "step-skipped",
        "runbook-finished",
    ] {
        assert!(k.iter().any(|x| x == kind), "no {kind} in {k:?}");
    }
    for key in ["confirm-down", "promote", "repoint", "verify-writes"] {
        assert_eq!(
            step_kinds(&entries, key),
            ["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"],
            "{key}"
        );
    }
    assert_eq!(step_kinds(&entries, "fence"), ["step-skipped"]);
    // The drill estate relabels the promoted pod by itself a moment after the promotion (as
    // Patroni would): the label step is either not applicable by then, or runs in full.
    let label = step_kinds(&entries, "label");
    let labelled = label != ["step-skipped"];
    if labelled {
        assert_eq!(
            label,
            ["step-previewed", "step-confirmed", "step-executing", "step-result", "step-verified"]
        );
    }
    let typed: Vec<&str> = entries
        .iter()
        .filter(|e| e["kind"] == "step-confirmed")
        .filter_map(|e| e["details"]["typed"].as_str())
        .collect();
    let expected = if labelled { 3 } else { 2 };
    assert_eq!(typed, vec!["postgresql-1"; expected], "promote, repoint (and label when it ran) were typed");
    let finished = entries.iter().find(|e| e["kind"] == "runbook-finished").expect("finished");
    assert_eq!(finished["details"]["outcome"], "completed");
    let verify = home.run(&["log", "verify", &id]);
    assert_eq!(verify.code, Some(0), "{}\n{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("hash chain intact"), "{}", verify.stdout);
}

#[test]
fn exec_without_the_confirm_word_is_refused_before_anything_mutates() {
    let home = Home::new();
    // No flags at all: refused at the first (low-risk) step before an incident is declared.
    let out = home.run(&["exec", "db-failover", "--drill", "primary-db-down"]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("step confirm-down is low risk: it needs --yes-low-risk"), "{}", out.stderr);
    assert!(out.stderr.contains("no incident was declared"), "{}", out.stderr);
    assert!(home.logs().is_empty(), "a refused exec declares nothing");

    // Low risk confirmed, promote not: refused before anything ran, the assertion included
    // (a script must not get half a failover), and still nothing declared.
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--yes-low-risk",
        "--confirm",
        "postgresql-2",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("step promote needs --confirm postgresql-1"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert!(out.stdout.contains("RESULT: REFUSED"), "{}", out.stdout);
    assert!(home.logs().is_empty(), "a refused exec declares nothing");
}

#[test]
fn exec_confirm_down_against_a_healthy_primary_fails_at_once_with_the_reason() {
    let home = Home::new();
    let started = std::time::Instant::now();
    let out =
        home.run(&["exec", "db-failover", "--drill", "calm", "--yes-low-risk", "--confirm", "postgresql-1"]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    contains_all(
        &out.stderr,
        &[
            "step confirm-down: precheck failed: primary down: the primary is not down: postgresql-0 answers as a writable primary",
        ],
    );
    // The verify timeout of an assertion is far longer; the refusal comes from the first snapshots.
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert!(home.logs().is_empty(), "refused before declaring");
}

#[test]
fn exec_lag_guard_refusal_exits_3_and_declares_nothing() {
    let home = Home::new();
    // replica-lag: postgresql-1's replay stalls, then (at 60 s) the primary dies. At 70 s the
    // primary is down, so only the lag guard stands between postgresql-1 and a promotion.
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "replica-lag",
        "--at",
        "70s",
        "--param",
        "candidate=postgresql-1",
        "--confirm",
        "postgresql-1",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    contains_all(
        &out.stderr,
        &["step promote: precheck failed: lag within limit: lag ", "no incident was declared"],
    );
    assert!(!out.stderr.contains("old primary down or fenced"), "only the lag guard fails: {}", out.stderr);
    assert!(home.logs().is_empty(), "refused before declaring");
}

#[test]
fn exec_drill_records_the_drill_result_like_the_console() {
    let home = Home::new();
    // At 20x the old primary returns writable ~7 s after the fault (a split brain the runbook
    // does not fence): mitigation must settle before that, so the settle period is 2 s here.
    let cfg = home.write("settle.toml", "[drill]\nsettle_secs = 2\n");
    let out = home.run(&[
        "--config",
        cfg.to_str().expect("utf-8 path"),
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--speed",
        "20",
        "--confirm",
        "postgresql-1",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("no drill result"), "{}", out.stdout);
    let (_, entries) = home.only_log();
    let results: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "drill-result").collect();
    assert_eq!(results.len(), 1, "exactly one drill result: {:?}", kinds(&entries));
    let r = &results[0]["details"];
    assert_eq!(r["fault"], "primary-db-down", "{r:#}");
    // exec's estate starts past the fault, yet the switch is measured from the primary of
    // before the fault (never "no PostgreSQL primary switch" after a promotion).
    assert_eq!(r["postgres"]["old_primary"], "postgresql-0", "{r:#}");
    assert_eq!(r["postgres"]["new_primary"], "postgresql-1", "{r:#}");
    assert!(r["data_loss_bytes"].is_u64(), "{r:#}");
    let ts =
        |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp")).expect("rfc3339");
    let (fault, mitigated) = (ts(&r["fault_injected_at"]), ts(&r["mitigated_at"]));
    let first_step = entries.iter().find(|e| e["kind"] == "step-executing").expect("a step executed");
    assert!(fault <= ts(&first_step["ts"]), "the fault struck before exec acted: {r:#}");
    assert!(mitigated > fault, "{r:#}");
    let rto = r["rto_secs"].as_f64().expect("rto");
    assert!(
        (rto - (mitigated - fault).num_milliseconds() as f64 / 1000.0).abs() < 0.01,
        "RTO is mitigated minus fault: {r:#}"
    );
    let finished = entries.iter().position(|e| e["kind"] == "runbook-finished").expect("finished");
    let result = entries.iter().position(|e| e["kind"] == "drill-result").expect("result");
    assert!(result > finished, "measured after the last verify");
    assert!(out.stdout.contains("drill-result"), "printed like every entry: {}", out.stdout);
}

#[test]
fn exec_drill_says_why_no_result_was_recorded_when_the_estate_did_not_recover() {
    let home = Home::new();
    // A runbook that completes without touching the fault: the primary stays down.
    user_runbook(
        &home,
        "look-only",
        r#"id = "look-only"
title = "Look only"
description = "Confirm the Sentinels agree; fix nothing."

[[steps]]
id = "sentinels"
op = "assert"
args = { check = "sentinel-agreed" }
why = "test"
"#,
    );
    let started = std::time::Instant::now();
    let out = home.run(&[
        "exec",
        "look-only",
        "--drill",
        "primary-db-down",
        "--yes-low-risk",
        "--result-wait",
        "2s",
    ]);
    assert_eq!(out.code, Some(0), "the runbook completed: {}\n{}", out.stdout, out.stderr);
    contains_all(
        &out.stdout,
        &[
            "waiting for the drill result (at most 2 s)",
            "no drill result: not within 2 s: the estate is still failing: ",
        ],
    );
    assert!(out.stdout.contains("postgresql"), "names what is still wrong: {}", out.stdout);
    assert!(started.elapsed() < Duration::from_secs(30), "bounded: {:?}", started.elapsed());
    let (_, entries) = home.only_log();
    assert!(!kinds(&entries).iter().any(|k| k == "drill-result"));
}

#[test]
fn exec_read_only_is_refused_and_executes_nothing() {
    let home = Home::new();
    let out = home.run(&[
        "--read-only",
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--confirm",
        "postgresql-1",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("--read-only"), "{}", out.stderr);
    assert!(
        home.logs().iter().all(|(_, e)| !kinds(e).iter().any(|k| k == "step-executing")),
        "nothing executed"
    );
}

#[test]
fn exec_step_runs_only_that_step() {
    let home = Home::new();
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--step",
        "promote",
        "--confirm",
        "postgresql-1",
    ]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let (_, entries) = home.only_log();
    let executing: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "step-executing").collect();
    assert_eq!(executing.len(), 1, "{executing:#?}");
    assert_eq!(executing[0]["details"]["op"]["op"], "promote-postgres");
    for key in ["confirm-down", "fence", "label", "repoint", "verify-writes"] {
        let skipped = entries
            .iter()
            .find(|e| e["kind"] == "step-skipped" && e["details"]["key"] == key)
            .unwrap_or_else(|| panic!("{key} not skipped"));
        assert_eq!(skipped["details"]["reason"], "not selected (--step promote)");
    }
}

/// A user runbook in the temp home's config dir (`$XDG_CONFIG_HOME/warroom/runbooks`).
fn user_runbook(home: &Home, id: &str, text: &str) {
    let dir = home.path().join("xdg-config/warroom/runbooks");
    std::fs::create_dir_all(&dir).expect("runbooks dir");
    std::fs::write(dir.join(format!("{id}.toml")), text).expect("write runbook");
}

#[test]
fn exec_precheck_refusal_first_exits_3_and_a_failure_after_a_mutation_exits_1() {
    let home = Home::new();
    // postgresql-0 is the node that is down: its promotion fails its precheck. Only a
    // read-only assertion comes before it, so this is a refusal, known before declaring.
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--param",
        "candidate=postgresql-0",
        "--confirm",
        "postgresql-0",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("step promote: precheck failed: target reachable"), "{}", out.stderr);
    assert!(home.logs().is_empty(), "refused before declaring");

    // A precheck that fails after something changed the estate is a failure midway (exit 1):
    // repointing the Service to a replica once postgresql-1 was promoted. (A second promotion
    // would be skipped by the safety rule promote-with-writable-primary, see safety_rules.rs.)
    user_runbook(
        &home,
        "two-promotions",
        r#"id = "two-promotions"
title = "Two promotions"
description = "Promote postgresql-1, then repoint the Service to postgresql-2 (refused: a replica)."

[[steps]]
id = "first"
op = "promote"
args = { node = "postgresql-1" }
why = "test"

[[steps]]
id = "second"
op = "repoint-service"
args = { node = "postgresql-2" }
why = "test"

[[steps]]
id = "after"
op = "verify-writes"
args = { node = "postgresql-1" }
why = "test"
"#,
    );
    let out = home.run(&[
        "exec",
        "two-promotions",
        "--drill",
        "primary-db-down",
        "--confirm",
        "postgresql-1",
        "--confirm",
        "postgresql-2",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    contains_all(
        &out.stdout,
        &[
            "RESULT: FAILED at step second: ",
            "pod exists: no pod postgresql-2 in us-east-1/database",
            "nothing after it ran",
        ],
    );
    let (_, entries) = home.only_log();
    assert!(step_kinds(&entries, "first").iter().any(|k| k == "step-verified"), "the first promotion ran");
    assert!(step_kinds(&entries, "second").iter().all(|k| k != "step-executing"));
    assert!(
        step_kinds(&entries, "after").iter().all(|k| k != "step-executing"),
        "nothing after the failure ran"
    );
}

#[test]
fn exec_refuses_while_someone_else_holds_the_commander_lock() {
    let home = Home::new();
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--step",
        "confirm-down",
        "--yes-low-risk",
    ]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let (id, before) = home.only_log();
    let lock = warroom::incident::commander::FileLock::new(
        &home.data_dir().join("incidents"),
        &id,
        Duration::from_secs(60),
    )
    .expect("lock");
    lock.acquire_blocking("alice@console", false).expect("alice takes the lock");
    let out = home.run(&[
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--incident",
        &id,
        "--yes-low-risk",
        "--confirm",
        "postgresql-1",
    ]);
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("alice@console holds the commander lock"), "{}", out.stderr);
    let (_, after) = home.only_log();
    assert_eq!(
        kinds(&after).iter().filter(|k| *k == "step-executing").count(),
        kinds(&before).iter().filter(|k| *k == "step-executing").count(),
        "nothing executed under someone else's lock"
    );
}

#[test]
fn exec_sigterm_stops_after_the_logged_result_and_exits_130() {
    use std::io::BufRead as _;
    let home = Home::new();
    // us-east-1 is lost in region-outage: the first step (an assertion that it is healthy)
    // executes, then waits for a postcondition that will not come.
    let mut child = home
        .command(&[
            "exec",
            "dns-failover",
            "--drill",
            "region-outage",
            "--param",
            "target=us-east-1",
            "--confirm",
            "us-east-1",
            "--yes-low-risk",
        ])
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|l: &String| l.contains("step-result")) {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => {
                let _ = child.kill();
                panic!("no step-result within 30 s: {seen:#?}");
            }
        }
    }
    // SAFETY: kill(2) on the child we spawned and still own.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() >= end {
            let _ = child.kill();
            panic!("exec did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    seen.extend(rx.try_iter());
    let text = seen.join("\n");
    assert!(text.contains("RESULT: INTERRUPTED"), "{text}");
    let (_, entries) = home.only_log();
    let k = kinds(&entries);
    assert_eq!(
        k.iter().filter(|x| *x == "step-executing").count(),
        k.iter().filter(|x| *x == "step-result" || *x == "step-failed").count(),
        "every execution has its logged outcome: {k:?}"
    );
    assert!(
        step_kinds(&entries, "set-weights").iter().all(|x| x != "step-executing"),
        "nothing after it ran"
    );
    let finished = entries.iter().find(|e| e["kind"] == "runbook-finished").expect("finished");
    assert_eq!(finished["details"]["outcome"], "aborted");
}
