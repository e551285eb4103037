//! Two live consoles on two "hosts" (separate data dirs and operator identities) sharing one
//! incident through a REAL API server (`[war_room]`): the second joins from an empty data dir,
//! and each shows the other's note.

mod support;

use std::path::Path;
use std::time::Duration;

use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn console(home: &Path, config: &Path, who: &str, extra: &[&str]) -> Tmux {
    let mut cmd = vec![BIN, "--config", config.to_str().unwrap()];
    cmd.extend_from_slice(extra);
    // The operator identity is `$USER@host`: two users stand for two people.
    Tmux::start(
        160,
        45,
        &cmd,
        &[("WARROOM_DATA_DIR", &home.join("data")), ("HOME", home), ("USER", Path::new(who))],
    )
}

fn note(t: &Tmux, text: &str) {
    t.keys(&["n"]);
    t.wait_for("the note prompt", Duration::from_secs(5), |s| s.contains("Note for the incident log"));
    t.type_text(text);
    t.keys(&["Enter"]);
}

#[test]
fn two_consoles_on_two_hosts_show_each_others_notes() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("wr-tmux");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(cp.namespace("us-east-1", &ns));
    let (a_home, b_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = a_home.path().join("warroom.toml");
    let toml = format!(
        "[war_room]\ncontext = \"us-east-1\"\nnamespace = \"{ns}\"\nkubeconfig = \"{}\"\n",
        cp.kubeconfig.display()
    );
    std::fs::write(&config, toml).unwrap();

    let a = console(a_home.path(), &config, "ana", &["--new", "API down", "--severity", "SEV1"]);
    a.wait_for("console a to hold command", Duration::from_secs(20), |s| s.contains("COMMANDER: you"));
    let log = support::tmux::incident_log_file(&a_home.path().join("data"));
    let id = log.file_stem().unwrap().to_string_lossy().into_owned();

    let b = console(b_home.path(), &config, "bo", &["--incident", &id]);
    b.wait_for("console b to join the incident", Duration::from_secs(20), |s| s.contains(&id));
    assert!(b_home.path().join("data/incidents").join(format!("{id}.jsonl")).exists(), "rebuilt locally");

    note(&a, "hello from ana");
    b.wait_for("b to show a's note", Duration::from_secs(5), |s| s.contains("hello from ana"));
    note(&b, "bo here too");
    a.wait_for("a to show b's note", Duration::from_secs(5), |s| s.contains("bo here too"));
    let a_file = std::fs::read(&log).unwrap();
    let b_file = std::fs::read(b_home.path().join("data/incidents").join(format!("{id}.jsonl"))).unwrap();
    let text = String::from_utf8_lossy(&a_file);
    assert!(text.contains("hello from ana") && text.contains("bo here too"), "{text}");
    assert!(b_file.starts_with(&a_file[..a_file.len().min(b_file.len())]), "one chain on both hosts");
}
