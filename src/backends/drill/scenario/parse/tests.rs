use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// Every problem of a bad fixture as `line:col: message`.
fn problems(name: &str, runbooks: Option<&[&str]>) -> Vec<String> {
    let (path, text) = fixture(name);
    let errors = parse(&text, &path, &Known { runbooks, checklist: None }).expect_err("a bad fixture");
    for e in &errors {
        assert_eq!(e.file, path);
    }
    errors.iter().map(|e| format!("{}:{}: {}", e.line, e.column, e.message)).collect()
}

fn assert_starts(found: &[String], expected: &[&str]) {
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (f, e) in found.iter().zip(expected) {
        assert!(f.starts_with(e), "expected {e:?}, got {f:?}\nall: {found:#?}");
    }
}

#[test]
fn every_trigger_mistake_is_reported_at_its_value() {
    assert_starts(
        &problems("bad-triggers.toml", None),
        &[
            "7:8: fault `node-crash` has no trigger",
            "15:12: fault `hang` has two triggers (`at` and `after-op`)",
            "21:9: `delay` goes with",
            "26:15: after-fault `third` names no earlier fault",
            "31:14: unknown region `us-west-3`; did you mean `us-west-2`?",
            "32:17: `oom` does not clear with time",
        ],
    );
}

#[test]
fn every_target_and_name_mistake_is_reported_at_its_value() {
    let runbooks = ["db-failover", "rollback"];
    assert_starts(
        &problems("bad-targets.toml", Some(&runbooks)),
        &[
            "1:6: id `Bad_Targets` must be kebab-case",
            "7:8: estate.pods must be between 21 (the base estate) and 20000, got 12",
            "12:10: `postgresql-0` is the primary at the start: `replica-lag` needs a replica",
            "16:6: fault id `dup` is used twice",
            "18:10: fault `route53-pending` takes no target",
            "22:8: fault `sentinel-partition` needs a target (a Sentinel)",
            "27:10: fault `node-crash` cannot target `postgresql-9`; did you mean `postgresql-0`?",
            "28:10: `region` goes with a deployment target",
            "33:10: fault `crashloop-rollout` cannot target `batch`",
            "34:10: unknown region `mars-1`",
            "38:11: objectives.promote `redis-1` is not a PostgreSQL node",
            "39:39: forbidden target `postgresql-7` is not in the drill estate",
            "4:28: unknown runbook `db-failovr`; did you mean `db-failover`?",
        ],
    );
    // Without the runbook catalogue (the backends layer), runbooks are not judged.
    assert_eq!(problems("bad-targets.toml", None).len(), 12);
}

#[test]
fn misspelt_kinds_are_all_reported_with_a_suggestion() {
    assert_starts(
        &problems("bad-kind.toml", None),
        &[
            "6:8: unknown fault kind `node-crsh`; did you mean `node-crash`?",
            "11:8: unknown fault kind `region-los`; did you mean `region-loss`?",
        ],
    );
}

#[test]
fn a_type_error_keeps_serdes_position() {
    assert_starts(&problems("bad-type.toml", None), &["8:6: invalid duration \"soon\""]);
}

#[test]
fn a_good_file_parses_with_every_trigger() {
    let text = r#"
id = "mixed"
title = "Mixed"
description = "All triggers"
[estate]
pods = 500
seed = 9
[[fault]]
id = "a"
kind = "node-crash"
target = "redis-0"
at = "5s"
returns-after = 60
[[fault]]
kind = "oom"
target = "batch"
region = "eu-central-1"
after-fault = "a"
delay = "10s"
[[fault]]
kind = "route53-throttled"
after-op = "set-weights"
[[fault]]
kind = "health-check-flapping"
target = "us-west-2"
traffic-to = "us-west-2"
"#;
    let def = parse(text, Path::new("mixed.toml"), &Known { runbooks: Some(&[]), checklist: None }).unwrap();
    assert_eq!(def.faults.len(), 4);
    assert_eq!(def.faults[0].returns_after, Some(std::time::Duration::from_secs(60)));
    assert_eq!(def.estate.pods, Some(500));
    assert_eq!(BASE_PODS, 21);
}
