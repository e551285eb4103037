//! Server processes of a test control plane: spawned from one thread that lives as long as the
//! test binary, with `PR_SET_PDEATHSIG`, so they die with the test binary even when a shared
//! control plane is never dropped (Linux sends the signal when the spawning THREAD exits, hence
//! the dedicated thread). Output goes to a log file the panic messages point at.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;

type Request = (Command, mpsc::Sender<std::io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<Request>> {
    static SPAWNER: std::sync::OnceLock<Mutex<mpsc::Sender<Request>>> = std::sync::OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("control-plane-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The channel lives in a static: this loop never ends while the binary runs.
            })
            .expect("spawn the spawner thread");
        Mutex::new(tx)
    })
}

/// One server process, killed (SIGKILL) and reaped on drop.
pub struct Proc {
    /// What it is (`etcd`, `kube-apiserver us-east-1`...), for messages.
    pub name: String,
    child: Child,
    /// Its stdout+stderr.
    pub log: PathBuf,
}

impl Proc {
    /// Start `bin args...` with its output in `log`.
    pub fn start(name: &str, bin: &Path, args: &[String], log: &Path) -> Proc {
        let out = std::fs::File::create(log).expect("create process log");
        let err = out.try_clone().expect("clone log handle");
        let mut cmd = Command::new(bin);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: prctl(2) is async-signal-safe; it only sets this child's parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        spawner().lock().unwrap_or_else(|e| e.into_inner()).send((cmd, tx)).expect("spawner thread alive");
        let child = rx
            .recv()
            .expect("spawner reply")
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", bin.display()));
        Proc { name: name.to_string(), child, log: log.to_path_buf() }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Panic with the tail of its log if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.tail(30)
            );
        }
    }

    /// The last `n` lines of its log.
    pub fn tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}
