//! Errors for people, from the real binary: each user mistake is one line `warroom: ...` (and a
//! `hint:`), with the exit code of the README's table, never a crash report; colour only on a
//! terminal without `NO_COLOR`; a reader that closes the pipe ends it quietly; `status` is a
//! health check (4 when a configured layer could not be read, 0 when all answer).

mod support {
    pub mod home;
}

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::home::{Home, Out};

/// What every user error must never show.
fn assert_one_line_user_error(args: &[&str], out: &Out, code: i32, wanted: &str) {
    assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty() && lines.len() <= 2, "one line and at most a hint: {args:?}: {out:?}");
    assert!(lines[0].starts_with("warroom: ") && lines[0].contains(wanted), "{args:?}: {out:?}");
    if let Some(hint) = lines.get(1) {
        assert!(hint.starts_with("hint: "), "{args:?}: {out:?}");
    }
    for bad in ["Location:", "Backtrace", "BACKTRACE", "src/", "\x1b["] {
        assert!(!out.stderr.contains(bad), "{bad:?} in {args:?}: {out:?}");
    }
}

#[test]
fn each_user_mistake_is_one_line_with_the_exit_code_of_the_table() {
    let home = Home::new();
    let missing = home.path().join("missing.toml");
    let unreadable = home.write("unreadable.toml", "[polling]\n");
    std::fs::create_dir_all(home.path().join("dir.toml")).unwrap();
    let dir_as_config = home.path().join("dir.toml");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["log", "show", "INC-20260101-000000"], 2, "no incident INC-20260101-000000"),
        (vec!["log", "show", "nope"], 2, "invalid incident id \"nope\""),
        (vec!["log", "export", "INC-20260101-000000"], 2, "no incident"),
        (vec!["log", "verify", "../../etc/passwd"], 2, "invalid incident id"),
        (
            vec!["log", "append", "INC-20260101-000000", "--details", "[1]"],
            2,
            "--details: expected a JSON object",
        ),
        (vec!["--severity", "SEV9"], 2, "invalid value 'SEV9'"),
        (vec!["drill", "--speed", "fast"], 2, "invalid value 'fast' for '--speed"),
        (vec!["log", "export", "INC-20260101-000000", "--format", "pdf"], 2, "invalid value 'pdf'"),
        (vec!["frobnicate"], 2, "unrecognized subcommand 'frobnicate'"),
        (vec!["status", "--config", missing.to_str().unwrap()], 2, "config file not found"),
        (vec!["status", "--config", dir_as_config.to_str().unwrap()], 2, "dir.toml"),
        (vec!["status"], 2, "no configuration found"),
        (vec!["--incident", "INC-20260101-000000"], 2, "no configuration found"),
    ];
    for (args, code, wanted) in &cases {
        assert_one_line_user_error(args, &home.run(args), *code, wanted);
    }
    // An unreadable file (not when run as root, who reads everything).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&unreadable).is_err() {
        let args = ["status", "--config", unreadable.to_str().unwrap()];
        assert_one_line_user_error(&args, &home.run(&args), 2, "cannot read");
    }
    // No configuration names the paths it looked in, and the way forward.
    let out = home.run(&["status"]);
    let looked = home.path().join("xdg-config/warroom/warroom.toml");
    assert!(out.stderr.contains(&looked.display().to_string()), "{out:?}");
    assert!(out.stderr.contains("hint: ") && out.stderr.contains("warroom drill"), "{out:?}");
    // A usage hint comes from clap's own suggestion.
    let out = home.run(&["--severity", "SEV9"]);
    assert!(out.stderr.contains("hint: a similar value exists: 'SEV4'"), "{out:?}");
}

#[test]
fn no_color_keeps_errors_plain_even_where_colour_is_allowed() {
    let home = Home::new();
    let mut cmd = home.command(&["log", "show", "nope"]);
    cmd.env("NO_COLOR", "1");
    let out = Out::from(cmd.output().expect("run"));
    assert_one_line_user_error(&["log", "show", "nope"], &out, 2, "invalid incident id");
}

/// Runs the binary on a pseudo-terminal (stdout and stderr a tty); returns what it printed and
/// its exit code.
fn on_pty(home: &Home, args: &[&str], extra_env: &[(&str, &str)]) -> (String, u32) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pair = native_pty_system()
        .openpty(PtySize { rows: 24, cols: 200, pixel_width: 0, pixel_height: 0 })
        .expect("a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.args(args);
    cmd.env_clear();
    for (k, v) in home.env() {
        cmd.env(k, v);
    }
    cmd.env("USER", "warroom-tester");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = pair.slave.spawn_command(cmd).expect("spawn on the pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        // The read ends with EIO (or 0) once the child has exited and the pty is closed.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(bytes);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "warroom {args:?} did not exit on the pty");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(pair.master);
    let bytes = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    (String::from_utf8_lossy(&bytes).into_owned(), status.exit_code())
}

#[test]
fn on_a_terminal_errors_are_coloured_unless_no_color_is_set() {
    let home = Home::new();
    let (text, code) = on_pty(&home, &["log", "show", "nope"], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("warroom:") && text.contains("invalid incident id"), "{text:?}");
    assert!(text.contains("\x1b["), "a terminal gets colour: {text:?}");
    assert!(!text.contains("Location:") && !text.contains("Backtrace"), "{text:?}");

    let (text, code) = on_pty(&home, &["log", "show", "nope"], &[("NO_COLOR", "1")]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("warroom: invalid incident id"), "{text:?}");
    assert!(!text.contains("\x1b["), "NO_COLOR: no escape at all: {text:?}");
}

/// Spawns the binary with stdout a pipe, reads `lines` lines (0: none), closes the pipe and
/// waits: (exit code, stderr).
fn closed_after(home: &Home, args: &[&str], lines: usize) -> (Option<i32>, String) {
    let mut child = home.command(args).stdout(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a line");
        assert!(!line.is_empty(), "{args:?} printed fewer than {lines} line(s)");
    }
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "{args:?} did not end after its reader went away");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_reader_that_closes_the_pipe_ends_the_command_quietly() {
    let home = Home::new();
    // An incident whose log is far larger than a pipe's buffer, so the writes meet the
    // closed pipe after the first line was read.
    let (_log, meta) = warroom::incident::log::IncidentLog::declare(
        &home.data_dir(),
        "Drill: pipe",
        "SEV3",
        true,
        "tester@host",
        chrono::Utc::now(),
    )
    .expect("declare");
    let long = "x".repeat(600);
    let out = home.run(&["log", "append", &meta.id, "--summary", &long, "--count", "300"]);
    assert_eq!(out.code, Some(0), "{out:?}");

    let id = meta.id.as_str();
    let cases: Vec<(Vec<&str>, usize)> = vec![
        (vec!["log", "show", id], 1),
        (vec!["log", "export", id], 1),
        (vec!["log", "export", id, "--format", "json"], 1),
        (vec!["drill", "--list"], 0),
        (vec!["drill", "--status", "--scenario", "calm"], 0),
        (vec!["plan", "db-failover", "--drill", "primary-db-down"], 0),
        (vec!["log", "list"], 0),
    ];
    for (args, lines) in &cases {
        let (code, stderr) = closed_after(&home, args, *lines);
        assert_eq!(code, Some(141), "{args:?}: a closed stdout ends with 141 (as SIGPIPE would): {stderr}");
        assert!(stderr.is_empty(), "{args:?}: nothing on stderr: {stderr}");
    }
}

/// A tiny HTTP server answering 200 to every request, on a thread; returns its port.
fn health_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::Write;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            });
        }
    });
    port
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

#[test]
fn status_is_a_health_check_4_when_a_layer_cannot_be_read_0_when_all_answer() {
    let home = Home::new();
    let up = health_server();
    let config = |live: u16, ready: u16| {
        format!(
            "[[regions]]\nname = \"east\"\nrole = \"primary\"\n\
             health_live = \"http://127.0.0.1:{live}/health/live\"\n\
             health_ready = \"http://127.0.0.1:{ready}/health/ready\"\n"
        )
    };
    let ok = home.write("ok.toml", &config(up, up));
    for json in [false, true] {
        let mut args = vec!["status", "--config", ok.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = home.run(&args);
        assert_eq!(out.code, Some(0), "every configured layer answered: {out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
        // `status | head` with the reader gone before it prints: quiet.
        let (code, stderr) = closed_after(&home, &args, 0);
        assert_eq!((code, stderr.as_str()), (Some(141), ""), "{args:?}");
    }

    let down = closed_port();
    let bad = home.write("bad.toml", &config(up, down));
    for json in [false, true] {
        let mut args = vec!["status", "--config", bad.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = home.run(&args);
        assert_eq!(out.code, Some(4), "a probe with no answer: {out:?}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{out:?}");
        assert!(lines[0].starts_with("warroom status: could not read traffic east ready probe"), "{out:?}");
        if json {
            let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("the snapshot is printed");
            assert_eq!(v["traffic"]["regions"][0]["live"]["status"], 200, "{v:#}");
        } else {
            assert!(out.stdout.contains("Traffic"), "the snapshot is printed: {out:?}");
        }
    }
}
