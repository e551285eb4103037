//! The two-person rule on one host (log-based), with the real binary: `warroom exec` confirms a
//! high-risk step as commander and waits; another person decides with `warroom approve` from
//! another process (its own identity through `--operator`). Approval executes the step;
//! rejection and the approval timeout refuse it (exit 3) without executing; the commander
//! cannot approve their own step; a digest that is not the step's is refused; a decided step
//! cannot be decided again. A second console (the real binary in tmux, joining the drill as
//! another operator) approves with `A` after seeing the exact preview.

mod support {
    pub mod home;
    #[allow(dead_code)]
    pub mod tmux;
}

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use support::home::{Home, Out};

const CONFIG: &str = "[approvals]\nhigh_risk = 2\n";

fn home() -> Home {
    let home = Home::new();
    let dir = home.path().join("xdg-config/warroom");
    std::fs::create_dir_all(&dir).expect("config dir");
    home.write("xdg-config/warroom/warroom.toml", CONFIG);
    home
}

/// The only incident log: (id, entries), or `None` before exec declared it.
fn log(home: &Home) -> Option<(String, Vec<Value>)> {
    let dir = home.data_dir().join("incidents");
    let path = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))?;
    let id = path.file_stem()?.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).ok()?;
    let entries = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    Some((id, entries))
}

/// `exec db-failover --step promote` on the primary-db-down drill, in the background.
fn exec(home: &Home, extra: &[&str]) -> Child {
    let mut args = vec![
        "exec",
        "db-failover",
        "--drill",
        "primary-db-down",
        "--step",
        "promote",
        "--confirm",
        "postgresql-1",
    ];
    args.extend_from_slice(extra);
    home.command(&args).spawn().expect("spawn exec")
}

/// Poll until the promote step waits for approval: (incident, step id, digest).
fn awaiting(home: &Home) -> (String, u64, String) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((id, entries)) = log(home)
            && let Some(c) = entries
                .iter()
                .find(|e| e["kind"] == "step-confirmed" && e["details"]["approvals_needed"] == 1)
        {
            let step = c["details"]["step"].as_u64().expect("step id");
            return (id, step, c["details"]["digest"].as_str().expect("digest").to_string());
        }
        assert!(Instant::now() < end, "exec never waited for approval: {:?}", log(home));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for the background exec to finish (at most 90 s).
fn finish(child: Child) -> Out {
    let mut child = child;
    let end = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("exec did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Out::from(child.wait_with_output().expect("output"))
}

fn of_step(entries: &[Value], step: u64, kind: &str) -> Vec<Value> {
    entries.iter().filter(|e| e["kind"] == kind && e["details"]["step"] == step).cloned().collect()
}

#[test]
fn exec_waits_and_executes_after_warroom_approve_from_another_process() {
    let home = home();
    let child = exec(&home, &[]);
    let (incident, step, digest) = awaiting(&home);
    let (_, entries) = log(&home).expect("log");
    assert!(of_step(&entries, step, "step-executing").is_empty(), "nothing executes before approval");

    // The commander (exec's own identity) cannot approve it.
    let own = home.run(&["approve", &incident, &step.to_string(), "--yes"]);
    assert_eq!(own.code, Some(3), "{own:?}");
    assert!(own.stderr.contains("confirmed it as commander: another person must approve"), "{own:?}");
    assert_eq!(own.stderr.lines().count(), 1, "one line: {own:?}");
    // A digest that is not the step's: refused.
    let stale = "0".repeat(64);
    let wrong = home.run(&[
        "approve",
        &incident,
        &step.to_string(),
        "--yes",
        "--operator",
        "bob@ops2",
        "--digest",
        &stale,
    ]);
    assert_eq!(wrong.code, Some(3), "{wrong:?}");
    assert!(wrong.stderr.contains("digest changed"), "{wrong:?}");
    // Without a terminal and without --yes: usage error, nothing written.
    let asked = home.run(&["approve", &incident, &step.to_string(), "--operator", "bob@ops2"]);
    assert_eq!(asked.code, Some(2), "{asked:?}");
    assert!(asked.stderr.contains("pass --yes"), "{asked:?}");

    // bob approves with the digest he was shown: the step executes.
    let ok = home.run(&[
        "approve",
        &incident,
        &step.to_string(),
        "--yes",
        "--operator",
        "bob@ops2",
        "--digest",
        &digest,
    ]);
    assert_eq!(ok.code, Some(0), "{ok:?}");
    assert!(ok.stdout.contains("Promote") || ok.stdout.contains("promote"), "shows the preview: {ok:?}");
    assert!(ok.stdout.contains(&format!("digest: {digest}")), "{ok:?}");
    let out = finish(child);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("waits for 1 approval(s)") && out.stdout.contains(&digest), "{out:?}");

    let (_, entries) = log(&home).expect("log");
    let approved = of_step(&entries, step, "step-approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["operator"], "bob@ops2");
    assert_eq!(approved[0]["details"]["digest"], digest.as_str());
    let seq = |kind: &str| of_step(&entries, step, kind)[0]["seq"].as_u64().unwrap();
    assert!(seq("step-confirmed") < seq("step-approved") && seq("step-approved") < seq("step-executing"));
    assert_eq!(of_step(&entries, step, "step-verified").len(), 1, "executed and verified");

    // Decided and done: a second decision is refused.
    let again = home.run(&["approve", &incident, &step.to_string(), "--yes", "--operator", "carol@ops3"]);
    assert_eq!(again.code, Some(3), "{again:?}");
    assert!(again.stderr.contains("is not awaiting approval"), "{again:?}");
}

#[test]
fn a_rejection_refuses_the_step_with_the_reason_and_executes_nothing() {
    let home = home();
    let child = exec(&home, &[]);
    let (incident, step, _) = awaiting(&home);
    let no_reason =
        home.run(&["approve", &incident, &step.to_string(), "--reject", "--yes", "--operator", "bob@ops2"]);
    assert_eq!(no_reason.code, Some(2), "{no_reason:?}");
    let out = home.run(&[
        "approve",
        &incident,
        &step.to_string(),
        "--reject",
        "--reason",
        "pg-1 is behind",
        "--yes",
        "--operator",
        "bob@ops2",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = finish(child);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stdout.contains("rejected by bob@ops2: pg-1 is behind"), "{out:?}");
    let (_, entries) = log(&home).expect("log");
    assert!(of_step(&entries, step, "step-executing").is_empty(), "a rejected step never executes");
    let failed = of_step(&entries, step, "step-failed");
    assert_eq!(failed[0]["details"]["stage"], "approval");
    assert_eq!(failed[0]["details"]["reason"], "rejected by bob@ops2: pg-1 is behind");
}

#[test]
fn without_approval_exec_fails_the_step_at_its_approval_timeout() {
    let home = home();
    let started = Instant::now();
    let child = exec(&home, &["--approval-timeout", "2"]);
    let (_, step, _) = awaiting(&home);
    let out = finish(child);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stdout.contains("approval timed out"), "{out:?}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    let (_, entries) = log(&home).expect("log");
    assert!(of_step(&entries, step, "step-executing").is_empty(), "never executed without approval");
    let failed = of_step(&entries, step, "step-failed");
    assert!(failed[0]["details"]["reason"].as_str().unwrap().starts_with("approval timed out"), "{failed:?}");
}

#[test]
fn approval_from_another_console_executes_the_step() {
    let home = home();
    let child = exec(&home, &[]);
    let (incident, step, digest) = awaiting(&home);
    let h = home.path();
    let (cfg, state, data) = (h.join("xdg-config"), h.join("xdg-state"), home.data_dir());
    let bin = env!("CARGO_BIN_EXE_warroom");
    let env: [(&str, &std::path::Path); 5] = [
        ("HOME", h),
        ("XDG_CONFIG_HOME", &cfg),
        ("XDG_STATE_HOME", &state),
        ("WARROOM_DATA_DIR", &data),
        ("USER", std::path::Path::new("bob")),
    ];
    let console = support::tmux::Tmux::start(
        140,
        45,
        &[bin, "drill", "--incident", &incident, "--operator", "bob@ops2"],
        &env,
    );
    console.wait_for("the step awaiting approval", Duration::from_secs(30), |s| {
        s.contains("awaiting approval 0/1 (expires in") && s.contains("approval?")
    });
    // Steps pane, the promote step (second row), approve: the exact preview and digest first.
    console.keys(&["5", "j", "A"]);
    let dialog =
        console.wait_for("the approval dialog", Duration::from_secs(10), |s| s.contains("Approve step"));
    let title = format!("Approve step #{step}");
    for needle in [title.as_str(), "SELECT pg_promote", &digest[..40]] {
        assert!(dialog.contains(needle), "{needle} not shown:\n{dialog}");
    }
    let (_, entries) = log(&home).expect("log");
    assert!(of_step(&entries, step, "step-approved").is_empty(), "nothing is written before y");
    console.keys(&["y"]);
    let out = finish(child);
    assert_eq!(out.code, Some(0), "{out:?}");
    let (_, entries) = log(&home).expect("log");
    let approved = of_step(&entries, step, "step-approved");
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["operator"], "bob@ops2");
    assert_eq!(of_step(&entries, step, "step-verified").len(), 1, "executed and verified after the approval");
    console.wait_for("the step done on the approver's console", Duration::from_secs(10), |s| {
        s.lines().any(|l| l.contains(&format!("#{step} promote")) && l.contains("done"))
    });
}
