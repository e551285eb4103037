//! A temp "home" for running the real binary: it never reads the user's config, AWS profile or
//! kubeconfig, and writes its incidents and app log under the temp dir.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run of the binary that may not finish is killed after this long (a hang fails the test).
const RUN_DEADLINE: Duration = Duration::from_secs(90);

/// What a run of the binary returned.
pub struct Out {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A temp directory used as `$HOME`, XDG dirs and the incident data dir.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("temp home") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `name` inside the home; returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// `WARROOM_DATA_DIR`: where incidents go.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// The whole environment of the binary (use after `env_clear()`): `PATH`, `HOME`, the XDG
    /// dirs and `WARROOM_DATA_DIR` inside this home, and static credentials for the AWS
    /// emulator with no profile files and no instance metadata.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let h = self.path();
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", h.into()),
            ("XDG_CONFIG_HOME", h.join("xdg-config").into()),
            ("XDG_DATA_HOME", h.join("xdg-data").into()),
            ("XDG_STATE_HOME", h.join("xdg-state").into()),
            ("XDG_CACHE_HOME", h.join("xdg-cache").into()),
            ("KUBECACHEDIR", h.join("kubecache").into()),
            ("WARROOM_DATA_DIR", self.data_dir().into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_CONFIG_FILE", h.join("aws-config").into()),
            ("AWS_SHARED_CREDENTIALS_FILE", h.join("aws-credentials").into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// The binary with a clean environment rooted in this home ([`Home::env`]), no stdin,
    /// stdout and stderr piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.args(args)
            .env_clear()
            .envs(self.env())
            .env("USER", "warroom-tester")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Run the binary to completion (killed, and the test failed, after 90 s).
    pub fn run(&self, args: &[&str]) -> Out {
        let mut child = self.command(args).spawn().expect("spawn warroom");
        let end = Instant::now() + RUN_DEADLINE;
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() >= end {
                let _ = child.kill();
                panic!("warroom {args:?} did not finish within {RUN_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Out::from(child.wait_with_output().expect("output"))
    }
}
