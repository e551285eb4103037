//! Driving the real binary in a private tmux server, as a person would: `send-keys` to type,
//! `capture-pane -p` to read the screen.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server on a private socket running one command; killed on drop.
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Start `cmd` (no shell involved) in a detached session of `width` x `height`.
    pub fn start(width: u16, height: u16, cmd: &[&str], env: &[(&str, &Path)]) -> Tmux {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("tmux.sock");
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&socket).args(["-f", "/dev/null", "new-session", "-d", "-x"]);
        c.arg(width.to_string()).arg("-y").arg(height.to_string());
        for (k, v) in env {
            c.arg("-e").arg(format!("{k}={}", v.display()));
        }
        c.args(["-e", "TERM=xterm-256color"]);
        c.args(cmd);
        let out = c.output().expect("tmux is installed (scripts/install-test-deps.sh installs it)");
        assert!(out.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&out.stderr));
        let t = Tmux { socket, _dir: dir };
        t.run(&["set-option", "-g", "remain-on-exit", "on"]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen as text.
    pub fn capture(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    /// The screen and the pane's history above it. A pane that has died keeps what it printed
    /// only there: tmux 3.3 scrolls the screen into the history when it writes "Pane is dead",
    /// so a short message from a command that exits at once is no longer on the screen.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn capture_with_history(&self) -> String {
        self.run(&["capture-pane", "-p", "-S", "-"])
    }

    /// The visible screen with its SGR escape sequences (`capture-pane -e`): colours and
    /// attributes, to be read with `support::ansi`.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn capture_escapes(&self) -> String {
        self.run(&["capture-pane", "-e", "-p"])
    }

    /// Send keys (tmux key names: `Enter`, `Down`, `Escape`, or literal text with `-l`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Type literal text.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-l", text]);
    }

    /// Resize the window.
    pub fn resize(&self, width: u16, height: u16) {
        self.run(&["resize-window", "-x", &width.to_string(), "-y", &height.to_string()]);
    }

    /// Wait until the screen satisfies `pred`; panics with the last screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A tmux format evaluated for the pane (`#{alternate_on}`, `#{cursor_flag}`...).
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn display(&self, format: &str) -> String {
        self.run(&["display-message", "-p", format]).trim().to_string()
    }

    /// Select the item of the open actions menu whose line contains `what`.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn choose_action(&self, what: &str) {
        let screen =
            self.wait_for("the actions menu", Duration::from_secs(5), |s| s.contains("Proposed operations"));
        // Menu lines read "  2. Promote postgresql-1 to primary   [HIGH]": the number before `what`.
        let n: usize = screen
            .lines()
            .find_map(|l| {
                let before = &l[..l.find(what)?];
                let digits: String = before
                    .trim_end()
                    .strip_suffix('.')?
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.chars().rev().collect::<String>().parse().ok()
            })
            .unwrap_or_else(|| panic!("no '{what}' in the actions menu:\n{screen}"));
        for _ in 1..n {
            self.keys(&["Down"]);
        }
        self.keys(&["Enter"]);
    }

    /// `tmux kill-session`: the session (and the pty the command runs on) goes away.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn kill_session(&self) {
        self.run(&["kill-session"]);
    }

    /// Whether the command in the pane has exited.
    pub fn pane_dead(&self) -> bool {
        self.run(&["display-message", "-p", "#{pane_dead}"]).trim() == "1"
    }

    /// PID of the command in the pane.
    pub fn pane_pid(&self) -> u32 {
        self.run(&["display-message", "-p", "#{pane_pid}"]).trim().parse().expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").output();
    }
}

/// The one incident log (`*.jsonl`) under `<data>/incidents` (commander lock files live beside it).
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn incident_log_file(data: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(data.join("incidents"))
        .expect("incidents dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("one incident log")
}
