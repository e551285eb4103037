//! Terminal setup and teardown: raw mode + alternate screen, restored by a drop guard, by the
//! panic hook, and on SIGTERM/SIGHUP (the event loop exits through the guard).

use std::io::{self, Write};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use crossterm::{cursor, execute};

/// Restores the terminal when dropped (normal exit, `?`, or unwinding).
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen, and install the panic hook.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste, cursor::Hide) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        Ok(TerminalGuard { _private: () })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Best-effort restore; errors are ignored (after SIGHUP the tty may be gone).
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// While the console runs, a panic is reported without touching a terminal that is still in
/// use and without printing untrusted text raw:
/// - on a background thread (a source's observe, caught and shown in its pane by the poller; or
///   a task, whose failure its owner reports) the terminal is left alone and the message goes to
///   the app's log only;
/// - on the main thread (the console itself dies) the terminal is restored first, then one
///   line is printed.
///
/// Either way the message is stripped of control sequences and redacted: a panic text can carry
/// a backend's error message, which can echo a DSN.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current();
        if let Some(line) = panic_report(&payload, &at, thread.name()) {
            restore();
            let _ = writeln!(io::stderr(), "{line}");
        }
    }));
}

/// Log a panic (cleaned) and return the line to print after restoring the terminal, only when
/// the console itself (the main thread) is dying.
fn panic_report(payload: &str, at: &str, thread: Option<&str>) -> Option<String> {
    let text = crate::text::clean(payload, 2000);
    let name = thread.unwrap_or("unnamed");
    tracing::error!(thread = name, at = %at, "panic: {text}");
    (name == "main").then(|| {
        format!("warroom: internal error: {text} ({at}). The incident log is intact; please report this.")
    })
}

#[cfg(test)]
mod tests {
    use super::panic_report;

    #[test]
    fn a_background_panic_leaves_the_terminal_alone_and_the_report_is_clean() {
        let hostile = "connect postgres://app:hunter2@db/x failed \u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J";
        assert_eq!(panic_report(hostile, "src/x.rs:1", Some("tokio-runtime-worker")), None);
        let line = panic_report(hostile, "src/x.rs:1", Some("main")).expect("main thread reports");
        assert!(!line.contains("hunter2"), "{line}");
        assert!(!line.contains('\u{1b}') && !line.contains('\u{7}'), "{line:?}");
        assert!(line.starts_with("warroom: internal error: connect postgres://"), "{line}");
    }
}
