//! User scenario files on the command line: `drill --list` shows them beside the built-ins (a
//! broken one as an error line with file:line:col), `check` reports every problem of every
//! scenario file with its position and a non-zero exit, and `--scenario` takes a user id or
//! a path.

mod support {
    pub mod home;
}

use std::path::PathBuf;

use support::home::Home;

const GOOD: &str = r#"id = "primary-hangs"
title = "Primary hangs"
description = "postgresql-0 stops answering without failing."
runbooks = ["db-failover"]

[[fault]]
kind = "hang"
target = "postgresql-0"
at = "5s"
"#;

const CALM: &str = r#"id = "calm"
title = "Calm, our way"
description = "Our own calm estate."
"#;

const BAD: &str = r#"id = "broken"
title = "Broken"
description = "Two problems."
runbooks = ["no-such-runbook"]

[[fault]]
kind = "hang"
target = "postgresql-9"
at = "5s"
"#;

/// A home whose config dir holds the three scenario files; returns the dir.
fn scenarios(home: &Home) -> PathBuf {
    let dir = home.path().join("xdg-config/warroom/scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [("good.toml", GOOD), ("calm.toml", CALM), ("bad.toml", BAD)] {
        home.write(&format!("xdg-config/warroom/scenarios/{name}"), text);
    }
    dir
}

#[test]
fn list_shows_built_in_and_user_scenarios_and_a_broken_file_as_an_error_line() {
    let home = Home::new();
    let dir = scenarios(&home);
    let out = home.run(&["drill", "--list"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 9, "seven built-ins (one replaced), one new, one error: {out:?}");
    let calm = lines.iter().find(|l| l.starts_with("calm ")).unwrap();
    assert!(calm.contains("Calm, our way") && calm.contains("[user: calm.toml]"), "{calm}");
    let split = lines.iter().find(|l| l.starts_with("split-brain ")).unwrap();
    assert!(split.contains("[built-in]") && split.contains("two writable primaries"), "{split}");
    let new = lines.iter().find(|l| l.starts_with("primary-hangs ")).unwrap();
    assert!(new.contains("[user: good.toml]") && new.contains("stops answering"), "{new}");
    let bad = dir.join("bad.toml");
    assert_eq!(
        lines[8],
        format!(
            "error: {}:8:10: fault `hang` cannot target `postgresql-9`; did you mean `postgresql-0`?",
            bad.display()
        )
    );
}

#[test]
fn check_reports_every_problem_of_every_scenario_file_with_its_position() {
    let home = Home::new();
    let dir = scenarios(&home);
    let out = home.run(&["check"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let bad = dir.join("bad.toml");
    let problems: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with(bad.to_str().unwrap())).collect();
    assert_eq!(problems.len(), 2, "{out:?}");
    assert!(
        problems[0].starts_with(&format!("{}:8:10: fault `hang` cannot target", bad.display())),
        "{out:?}"
    );
    assert!(
        problems[1].starts_with(&format!("{}:4:13: unknown runbook `no-such-runbook`", bad.display())),
        "{out:?}"
    );
    assert!(out.stderr.contains("warroom check: 2 problem(s)"), "only the bad file: {out:?}");

    std::fs::remove_file(&bad).unwrap();
    let out = home.run(&["check"]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn scenario_takes_a_user_id_or_a_path() {
    let home = Home::new();
    let dir = scenarios(&home);
    for spec in ["primary-hangs".to_string(), dir.join("good.toml").display().to_string()] {
        let out = home.run(&["drill", "--status", "--json", "--at", "10s", "--scenario", &spec]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout.contains("10.0.0.10:5432 failed: timeout expired"),
            "{spec}: the hang shows: {out:?}"
        );
    }
    let out = home.run(&["drill", "--status", "--scenario", dir.join("bad.toml").to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("bad.toml:8:10:"), "{out:?}");
}
