//! A console program in a pseudo-terminal: every byte it writes is counted and fed to a VT100
//! screen model (so the bench can wait for text to appear, as a person reading the screen would),
//! and terminal queries (cursor position, device attributes) are answered like a terminal does.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// Answers the queries a terminal answers; replies are written back by the reader thread.
#[derive(Default)]
struct Replies {
    pending: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, c, first) {
            // DSR cursor position report.
            (None, 'n', 6) => {
                let (row, col) = screen.cursor_position();
                self.pending.extend_from_slice(format!("\x1b[{};{}R", row + 1, col + 1).as_bytes());
            }
            // DSR status: "terminal OK".
            (None, 'n', 5) => self.pending.extend_from_slice(b"\x1b[0n"),
            // Primary device attributes: a VT220-class terminal (no kitty keyboard protocol).
            (None | Some(b'?'), 'c', 0) => self.pending.extend_from_slice(b"\x1b[?62;22c"),
            _ => {}
        }
    }
}

/// What the reader thread shares with the bench.
struct Screen {
    parser: vt100::Parser<Replies>,
    bytes: u64,
    /// When the last chunk arrived.
    last_chunk: Instant,
    closed: bool,
}

/// A program running in a pty of a fixed size.
pub struct PtyConsole {
    shared: Arc<(Mutex<Screen>, Condvar)>,
    child: Box<dyn Child + Send + Sync>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    /// When the program was spawned.
    pub spawned_at: Instant,
}

impl PtyConsole {
    /// Spawn `program args` (no shell) in a `cols` x `rows` pty with exactly `env` (plus
    /// `TERM=xterm-256color`).
    pub fn spawn(
        program: &Path,
        args: &[&str],
        env: &[(&str, std::ffi::OsString)],
        cols: u16,
        rows: u16,
    ) -> Result<PtyConsole, String> {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| format!("openpty: {e}"))?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut reader = pair.master.try_clone_reader().map_err(|e| format!("pty reader: {e}"))?;
        let writer = Arc::new(Mutex::new(pair.master.take_writer().map_err(|e| format!("pty writer: {e}"))?));
        let spawned_at = Instant::now();
        let child = pair.slave.spawn_command(cmd).map_err(|e| format!("spawn {}: {e}", program.display()))?;
        drop(pair.slave);
        let size = |n: u16| NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN);
        let shared = Arc::new((
            Mutex::new(Screen {
                parser: vt100::Parser::new_with_callbacks(size(rows), size(cols), 0, Replies::default()),
                bytes: 0,
                last_chunk: spawned_at,
                closed: false,
            }),
            Condvar::new(),
        ));
        let (sh, wr) = (shared.clone(), writer.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let now = Instant::now();
                let mut s = sh.0.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    s.closed = true;
                    sh.1.notify_all();
                    return;
                }
                s.parser.process(&buf[..n]);
                s.bytes += n as u64;
                s.last_chunk = now;
                let reply = std::mem::take(&mut s.parser.callbacks_mut().pending);
                drop(s);
                if !reply.is_empty() {
                    let mut w = wr.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = w.write_all(&reply).and_then(|()| w.flush());
                }
                sh.1.notify_all();
            }
        });
        Ok(PtyConsole { shared, child, writer, _master: pair.master, spawned_at })
    }

    fn lock(&self) -> MutexGuard<'_, Screen> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Process id of the program.
    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap_or(0)
    }

    /// Bytes the program has written to the terminal so far.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// The screen as text.
    pub fn contents(&self) -> String {
        self.lock().parser.screen().contents()
    }

    /// Type bytes (keys) into the terminal.
    pub fn send(&self, keys: &[u8]) {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.write_all(keys).and_then(|()| w.flush());
    }

    /// Wait until the screen satisfies `pred`; returns when the output chunk that made it so
    /// arrived, or `None` after `timeout` (or when the program closed the terminal).
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        let mut seen = u64::MAX;
        loop {
            if s.bytes != seen {
                seen = s.bytes;
                if pred(&s.parser.screen().contents()) {
                    return Some(s.last_chunk);
                }
            }
            let now = Instant::now();
            if s.closed || now >= deadline {
                return None;
            }
            s = self.shared.1.wait_timeout(s, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Whether the program has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for PtyConsole {
    fn drop(&mut self) {
        let pid = self.pid();
        if pid != 0 && !self.exited() {
            // SIGKILL the program we spawned (by its pid), then reap it.
            // SAFETY: kill(2) with a pid we own and a constant signal has no memory effects.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}
