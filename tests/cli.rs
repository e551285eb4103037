//! The command line of the real binary: help texts, `check`, the no-config message, drill
//! scenario listing, and `warroom log` on a drill incident. Every run has a temp HOME and XDG
//! dirs so the user's own files are never read.

mod support {
    pub mod home;
}

use std::path::{Path, PathBuf};

use chrono::Utc;
use warroom::incident::log::IncidentLog;

use support::home::Home;

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/warroom.toml")
}

#[test]
fn help_lists_every_subcommand_and_each_has_its_own_help() {
    let home = Home::new();
    let top = home.run(&["--help"]);
    assert_eq!(top.code, Some(0), "{top:?}");
    for sub in ["drill", "status", "check", "log", "replay"] {
        assert!(top.stdout.lines().any(|l| l.trim_start().starts_with(sub)), "{sub} missing: {top:?}");
    }
    assert!(top.stdout.contains("--config"), "{top:?}");

    let cases: &[(&[&str], &[&str])] = &[
        (&["drill", "--help"], &["--scenario", "--list", "--status", "--at", "--json", "--speed", "--seed"]),
        (&["status", "--help"], &["--json", "--config"]),
        (&["check", "--help"], &["--config"]),
        (&["log", "--help"], &["list", "show", "verify", "append", "export"]),
        (&["log", "export", "--help"], &["--format", "markdown", "json"]),
        (&["log", "append", "--help"], &["--kind", "--summary", "--details", "--count"]),
        (&["replay", "--help"], &["ID", "--speed", "--from", "--console"]),
        (
            &["init", "--help"],
            &["--region", "--namespace", "--record", "--output", "--force", "--kubeconfig"],
        ),
        (&["completions", "--help"], &["bash", "zsh", "fish"]),
        (&["manpage", "--help"], &["--dir"]),
    ];
    for (args, wanted) in cases {
        let out = home.run(args);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        assert!(out.stdout.starts_with(|c: char| c.is_alphabetic()), "{args:?}: {out:?}");
        for w in *wanted {
            assert!(out.stdout.contains(w), "{args:?} help lacks {w}: {out:?}");
        }
    }
    let version = home.run(&["--version"]);
    assert_eq!(version.code, Some(0));
    assert!(version.stdout.starts_with("warroom "), "{version:?}");
}

#[test]
fn replay_refuses_bad_arguments_in_one_line() {
    let home = Home::new();
    for (args, wanted) in [
        (&["replay", "INC-1", "--speed", "100"][..], "--speed must be between 0.25 and 64, got 100"),
        (&["replay", "INC-1", "--speed", "0.1"][..], "--speed must be between 0.25 and 64, got 0.1"),
        (&["replay", "INC-1", "--from", "12"][..], "expected T+mm:ss or T+h:mm:ss"),
        (&["replay", "INC-NONE"][..], "INC-NONE"),
    ] {
        let out = home.run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
        assert!(
            out.stderr.starts_with("warroom replay: ") && out.stderr.contains(wanted),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn check_names_file_line_and_column_of_a_bad_config() {
    let home = Home::new();
    let bad = home
        .write("bad.toml", "[sentinel]\nmaster = \"mymaster\"\naddrs = [\"127.0.0.1:26379\"]\ncolour = 1\n");
    let out = home.run(&["check", "--config", bad.to_str().unwrap()]);
    assert_ne!(out.code, Some(0), "{out:?}");
    let prefix = format!("{}:4:1:", bad.display());
    assert!(out.stderr.contains(&prefix), "expected {prefix}: {out:?}");
    assert!(out.stderr.contains("colour"), "names the unknown key: {out:?}");

    let syntax = home.write("syntax.toml", "[postgres]\nmax_lag_bytes = = 3\n");
    let out = home.run(&["check", "--config", syntax.to_str().unwrap()]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains(&format!("{}:2:", syntax.display())), "{out:?}");
}

#[test]
fn check_accepts_the_shipped_example() {
    let home = Home::new();
    let out = home.run(&["check", "--config", example_config().to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn check_names_file_line_and_column_of_a_broken_runbook() {
    let home = Home::new();
    let dir = home.path().join("xdg-config/warroom/runbooks");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n[[steps]]\nid = \"a\"\nop = \"promte\"\nwhy = \"w\"\n")
        .unwrap();
    let out = home.run(&["check", "--config", example_config().to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let at = format!("{}:6:6: unknown variant `promte`", bad.display());
    assert!(out.stderr.contains(&at), "expected {at}: {out:?}");
    assert!(out.stderr.contains("warroom check: 1 problem(s)"), "{out:?}");
}

#[test]
fn no_config_explains_how_to_write_one_and_points_to_drill() {
    let home = Home::new();
    let out = home.run(&[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("no configuration found"), "{out:?}");
    assert!(out.stderr.contains("examples/warroom.toml"), "{out:?}");
    assert!(out.stderr.contains("--config"), "{out:?}");
    assert!(out.stderr.contains("warroom drill"), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing drawn without a config: {out:?}");
    let status = home.run(&["status"]);
    assert_eq!(status.code, Some(2), "{status:?}");
    assert!(status.stderr.contains("warroom drill"), "{status:?}");
}

#[test]
fn drill_lists_scenarios_and_rejects_unknown_ones() {
    let home = Home::new();
    let list = home.run(&["drill", "--list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let names: Vec<&str> = list.stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for s in ["calm", "primary-db-down", "redis-master-down", "region-outage", "crashloop", "split-brain"] {
        assert!(names.contains(&s), "{s} not listed: {list:?}");
    }
    assert!(
        list.stdout.lines().all(|l| l.split_whitespace().count() > 1),
        "each has a description: {list:?}"
    );

    let nope = home.run(&["drill", "--scenario", "nope"]);
    assert_eq!(nope.code, Some(2), "{nope:?}");
    assert!(nope.stderr.contains("\"nope\""), "{nope:?}");
    for s in &names {
        assert!(nope.stderr.contains(s), "{s} not listed in the error: {nope:?}");
    }
}

#[test]
fn log_list_show_verify_export_on_a_drill_incident() {
    let home = Home::new();
    let empty = home.run(&["log", "list"]);
    assert_eq!(empty.code, Some(0), "{empty:?}");
    assert!(empty.stdout.contains("no incidents"), "{empty:?}");

    let (_log, meta) = IncidentLog::declare(
        &home.data_dir(),
        "Drill: primary db down",
        "SEV2",
        true,
        "drill@host",
        Utc::now(),
    )
    .expect("declare a drill incident");
    let id = meta.id.clone();
    let appended = home.run(&[
        "log",
        "append",
        &id,
        "--kind",
        "note",
        "--summary",
        "promoted postgresql-1 after the primary died",
        "--details",
        r#"{"node":"postgresql-1"}"#,
    ]);
    assert_eq!(appended.code, Some(0), "{appended:?}");
    assert!(appended.stdout.contains(&id), "{appended:?}");
    let more = home.run(&["log", "append", &id, "--summary", "checkpoint", "--count", "3"]);
    assert_eq!(more.code, Some(0), "{more:?}");
    // Scripts may append any kind: one this build does not know is written as given.
    let odd =
        home.run(&["log", "append", &id, "--kind", "pager-escalated", "--summary", "paged the DBA lead"]);
    assert_eq!(odd.code, Some(0), "{odd:?}");
    let bad = home.run(&["log", "append", &id, "--details", "[1]"]);
    assert_ne!(bad.code, Some(0), "{bad:?}");
    assert!(bad.stderr.contains("expected a JSON object"), "{bad:?}");

    let list = home.run(&["log", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not listed: {list:?}"));
    assert!(row.contains("SEV2") && row.contains("open") && row.contains("DRILL"), "{row}");
    assert!(row.ends_with("Drill: primary db down"), "{row}");

    let show = home.run(&["log", "show", &id]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(show.stdout.lines().next().is_some_and(|l| l.contains(&id) && l.contains("[DRILL]")), "{show:?}");
    assert!(show.stdout.contains("note  promoted postgresql-1 after the primary died"), "{show:?}");
    for i in 1..=3 {
        assert!(show.stdout.contains(&format!("checkpoint #{i}")), "{show:?}");
    }
    assert!(show.stdout.contains("pager-escalated  paged the DBA lead"), "{show:?}");

    let verify = home.run(&["log", "verify", &id]);
    assert_eq!(verify.code, Some(0), "{verify:?}");
    assert!(verify.stdout.starts_with("OK: 6 entries, hash chain intact"), "{verify:?}");

    let md = home.run(&["log", "export", &id, "--format", "md"]);
    assert_eq!(md.code, Some(0), "{md:?}");
    assert!(md.stdout.starts_with('#'), "a Markdown document: {md:?}");
    assert!(md.stdout.contains("Drill: primary db down"), "{md:?}");
    assert!(md.stdout.contains("promoted postgresql-1 after the primary died"), "{md:?}");
    assert!(md.stdout.contains("| `pager-escalated` | paged the DBA lead |"), "{md:?}");

    let unknown = home.run(&["log", "show", "INC-19990101-000000"]);
    assert_ne!(unknown.code, Some(0), "{unknown:?}");

    // Editing an entry breaks the chain: verify says so and exits 1.
    let path = std::fs::read_dir(home.data_dir().join("incidents"))
        .expect("incidents dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains(&id))
        .expect("log file");
    let text = std::fs::read_to_string(&path).expect("read log");
    std::fs::write(&path, text.replace("after the primary died", "after the primary DIED")).expect("tamper");
    let tampered = home.run(&["log", "verify", &id]);
    assert_eq!(tampered.code, Some(1), "{tampered:?}");
    assert!(tampered.stdout.contains("TAMPERED"), "{tampered:?}");
}

/// Every file in the incidents dir with its bytes (locks included).
fn incidents_dir_state(home: &Home) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(home.data_dir().join("incidents"))
        .expect("incidents dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn drill_and_live_never_mix_each_refusal_is_one_line_exit_2_and_writes_nothing() {
    let home = Home::new();
    let (_live, live) =
        IncidentLog::declare(&home.data_dir(), "Primary down", "SEV1", false, "oncall@host", Utc::now())
            .expect("declare a live incident");
    let (_drill, drill) =
        IncidentLog::declare(&home.data_dir(), "Drill: x", "SEV2", true, "trainer@host", Utc::now())
            .expect("declare a drill incident");
    let before = incidents_dir_state(&home);
    let config = example_config();
    let config = config.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["drill", "--incident", &live.id],
            "is a live incident: a drill never joins or writes to a live incident",
        ),
        (vec!["drill", "--incident", &live.id, "--scenario", "split-brain"], "is a live incident"),
        (
            vec!["--config", config, "--incident", &drill.id],
            "is a drill incident: a live console or exec never joins a drill",
        ),
        (
            vec!["exec", "db-failover", "--config", config, "--incident", &drill.id, "--yes-low-risk"],
            "is a drill incident",
        ),
        (
            vec![
                "exec",
                "db-failover",
                "--drill",
                "primary-db-down",
                "--incident",
                &live.id,
                "--yes-low-risk",
                "--confirm",
                "postgresql-1",
            ],
            "is a live incident: a drill never joins",
        ),
    ];
    for (args, wanted) in cases {
        let out = home.run(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(wanted), "{args:?}: {out:?}");
        assert!(out.stderr.contains("nothing was written"), "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {args:?}: {out:?}");
        assert_eq!(incidents_dir_state(&home), before, "no entry, no lock file: {args:?}");
    }
    // The log itself refuses too (the guard under every console and exec).
    let err = IncidentLog::open_as(
        &home.data_dir(),
        &live.id,
        "drill@host",
        warroom::incident::log::LogMode::Drill,
    )
    .err()
    .expect("a drill writer is refused");
    assert!(err.to_string().contains("is a live incident"), "{err}");
    assert_eq!(incidents_dir_state(&home), before);
}
