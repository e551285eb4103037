//! Live start, as a person sees it: with nothing to resume, the console shows its panes at once
//! and a small prompt over them declares the incident; Esc leaves without writing anything.
//! The real binary in tmux, with a configuration of one unreachable HTTP health endpoint.

mod support {
    #[allow(dead_code)] // this test uses part of the tmux driver
    pub mod tmux;
}

use std::path::Path;
use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

/// A configuration whose only layer is an HTTP health check nobody answers.
fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("warroom.toml");
    let toml = "[[regions]]\nname = \"us-east-1\"\nhealth_live = \"http://127.0.0.1:9/health/live\"\n";
    std::fs::write(&path, toml).expect("write config");
    path
}

fn console(dir: &Path, data: &Path) -> Tmux {
    let cfg = config(dir);
    let cfg = cfg.to_str().expect("utf-8 path");
    Tmux::start(100, 30, &[BIN, "--config", cfg], &[("WARROOM_DATA_DIR", data), ("HOME", dir)])
}

/// Files under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn wait_for_prompt_over_panes(t: &Tmux) -> String {
    t.wait_for("the panes with the declare prompt over them", Duration::from_secs(20), |s| {
        s.contains("Declare an incident")
            && s.contains("Traffic")
            && s.contains("Pods")
            && s.contains("Steps")
    })
}

#[test]
fn typing_a_title_and_a_severity_declares_the_incident_over_the_panes() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let t = console(home.path(), &data);
    let screen = wait_for_prompt_over_panes(&t);
    assert!(screen.contains("LIVE"), "the live header is drawn:\n{screen}");
    assert!(screen.contains("Title:"), "{screen}");
    assert!(files(&data).iter().all(|f| f.extension().is_none_or(|x| x != "jsonl")), "nothing logged yet");
    t.type_text("API 500s in us-east-1");
    t.keys(&["Enter"]);
    t.wait_for("the severity field", Duration::from_secs(5), |s| s.contains("Enter declare"));
    t.keys(&["1"]);
    t.keys(&["Enter"]);
    let screen = t.wait_for("the declared incident in the header", Duration::from_secs(20), |s| {
        s.lines().next().is_some_and(|h| h.contains("SEV1 API 500s in us-east-1"))
            && !s.contains("Declare an")
    });
    assert!(screen.contains("LIVE"), "{screen}");
    let log = support::tmux::incident_log_file(&data);
    let text = std::fs::read_to_string(&log).expect("the incident log");
    let first = text.lines().next().expect("a declared entry");
    assert!(first.contains("\"declared\"") && first.contains("API 500s in us-east-1"), "{first}");
    assert!(first.contains("SEV1"), "{first}");
    t.keys(&["q"]);
    t.wait_for("the console to exit", Duration::from_secs(10), |_| t.pane_dead());
}

#[test]
fn esc_leaves_without_writing_anything() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let t = console(home.path(), &data);
    wait_for_prompt_over_panes(&t);
    t.type_text("not really");
    t.wait_for("the typed title", Duration::from_secs(5), |s| s.contains("Title:    not really"));
    t.keys(&["Escape"]);
    t.wait_for("the console to leave", Duration::from_secs(10), |_| t.pane_dead());
    assert_eq!(t.display("#{pane_dead_status}").trim(), "2", "leaving without declaring exits 2");
    let incident_files: Vec<_> = files(&data)
        .into_iter()
        .filter(|f| {
            let name = f.to_string_lossy();
            name.contains("INC-") || name.ends_with(".jsonl") || name.contains(".rec")
        })
        .collect();
    assert!(incident_files.is_empty(), "nothing of an incident is written: {incident_files:?}");
}
