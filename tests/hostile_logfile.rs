//! Log file safety end to end with the real binary: an incident log that is group/world
//! writable or a symlink, and an incidents directory that is group/world writable or a
//! symlink, are refused by `warroom log ...` and by the console start path (in tmux), and the
//! message says which path and why. Nothing is written through the refused path.

#[allow(dead_code)]
#[path = "support/tmux.rs"]
mod tmux;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chrono::Utc;
use warroom::incident::log::IncidentLog;

/// A data dir holding one declared incident; returns (tempdir, data dir, id, log path).
fn declared() -> (tempfile::TempDir, PathBuf, String, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (log, meta) =
        IncidentLog::declare(&data, "db down", "SEV1", false, "alice@h", Utc::now()).expect("declare");
    let path = log.path().to_path_buf();
    (dir, data, meta.id, path)
}

fn warroom(home: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("WARROOM_CONFIG")
        .output()
        .expect("run warroom")
}

/// Asserts `out` failed and its stderr names `path`, says it refuses it, and gives `reason`.
fn assert_refused(what: &str, out: &Output, path: &Path, reason: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: accepted; stdout {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains(&path.display().to_string()), "{what}: path not named: {err}");
    assert!(err.contains("refusing to use it"), "{what}: no refusal: {err}");
    assert!(err.contains(reason), "{what}: reason {reason:?} not given: {err}");
}

/// The `log` subcommands that write to an existing log.
fn log_commands(id: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![s(&["log", "append", id, "--summary", "x"])]
}

#[test]
fn a_group_or_world_writable_log_file_is_refused() {
    for mode in [0o620, 0o602, 0o666] {
        let (home, data, id, path) = declared();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let before = std::fs::read(&path).expect("read");
        for args in log_commands(&id) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = warroom(home.path(), &data, &args);
            assert_refused(&format!("{args:?} mode {mode:o}"), &out, &path, "group/world-writable");
            assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{mode:o}")), "mode not shown");
        }
        assert_eq!(std::fs::read(&path).expect("read"), before, "written despite the refusal");
    }
}

#[test]
fn a_symlinked_log_file_is_refused_and_its_target_untouched() {
    let (home, data, id, path) = declared();
    let real = home.path().join("elsewhere.jsonl");
    std::fs::rename(&path, &real).expect("move");
    symlink(&real, &path).expect("symlink");
    let before = std::fs::read(&real).expect("read");
    for args in log_commands(&id) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&format!("{args:?}"), &warroom(home.path(), &data, &args), &path, "symlink");
    }
    assert_eq!(std::fs::read(&real).expect("read"), before);
}

#[test]
fn an_unsafe_incidents_directory_is_refused_for_new_and_existing_incidents() {
    // World-writable directory.
    let (home, data, id, _) = declared();
    let dir = data.join("incidents");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = warroom(home.path(), &data, &["log", "append", &id, "--summary", "x"]);
    assert_refused("append, 0777 dir", &out, &dir, "group/world-writable");

    // Symlinked directory.
    let (home, data, id, _) = declared();
    let dir = data.join("incidents");
    let real = home.path().join("real-incidents");
    std::fs::rename(&dir, &real).expect("move");
    symlink(&real, &dir).expect("symlink");
    let out = warroom(home.path(), &data, &["log", "append", &id, "--summary", "x"]);
    assert_refused("append, symlinked dir", &out, &dir, "symlink");
}

/// Runs the console in tmux and returns what it printed when it exited.
fn console_refusal(home: &Path, data: &Path, args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_warroom");
    // An empty config: every layer "not configured", the console starts (no services needed).
    let empty = home.join("empty.toml");
    std::fs::write(&empty, "").expect("write config");
    let empty = empty.to_string_lossy().into_owned();
    let mut cmd = vec![bin, "--config", &empty];
    cmd.extend_from_slice(args);
    let (config, state) = (home.join("config"), home.join("state"));
    // As an operator runs it: no backtrace pushing the message off the screen.
    let env: [(&str, &Path); 5] = [
        ("WARROOM_DATA_DIR", data),
        ("HOME", home),
        ("XDG_CONFIG_HOME", &config),
        ("XDG_STATE_HOME", &state),
        ("RUST_BACKTRACE", Path::new("0")),
    ];
    let t = tmux::Tmux::start(250, 30, &cmd, &env);
    let screen = t.wait_for("the console to refuse and exit", Duration::from_secs(20), |s| {
        s.contains("refusing to use it") || s.contains("Pane is dead")
    });
    // The refusal is one line and the console exits at once: read it from the history too.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !t.pane_dead() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(t.pane_dead(), "the console kept running on an unsafe log:\n{screen}");
    t.capture_with_history().lines().map(str::trim_end).collect::<Vec<_>>().join("")
}

#[test]
fn the_console_refuses_an_unsafe_log_and_says_why() {
    // Resuming a world-writable log.
    let (home, data, id, path) = declared();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let text = console_refusal(home.path(), &data, &["--incident", &id]);
    assert!(text.contains("refusing to use it") && text.contains("group/world-writable"), "{text}");
    assert!(text.contains(&id), "{text}");

    // Resuming a symlinked log.
    let (home, data, id, path) = declared();
    let real = home.path().join("elsewhere.jsonl");
    std::fs::rename(&path, &real).expect("move");
    symlink(&real, &path).expect("symlink");
    let before = std::fs::read(&real).expect("read");
    let text = console_refusal(home.path(), &data, &["--incident", &id]);
    assert!(text.contains("refusing to use it") && text.contains("symlink"), "{text}");
    assert_eq!(std::fs::read(&real).expect("read"), before);

    // Declaring a new incident in a symlinked incidents directory.
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    std::fs::create_dir_all(home.path().join("real")).expect("mkdir");
    std::fs::create_dir_all(&data).expect("mkdir");
    symlink(home.path().join("real"), data.join("incidents")).expect("symlink");
    let text = console_refusal(home.path(), &data, &["--new", "db down"]);
    assert!(text.contains("refusing to use it") && text.contains("symlink"), "{text}");
    assert_eq!(std::fs::read_dir(home.path().join("real")).expect("ls").count(), 0, "a log was created");
}
