//! How the command line ends: exit codes, errors a person caused ([`UserError`]: one line,
//! a hint, no report), internal errors (a color-eyre report, a backtrace only under
//! `RUST_BACKTRACE`) and a reader that closed the pipe (a quiet exit).
//!
//! The exit codes are a contract (README "Exit codes", docs/architecture.md section 7).

use std::fmt;
use std::io::{IsTerminal, Write};

use color_eyre::Report;

use crate::incident::log::LogError;

/// Exit codes every subcommand follows.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Problems found (`check`, `log verify`) or a step failed (`exec`).
    pub const PROBLEMS: i32 = 1;
    /// A usage or configuration error: one line on stderr.
    pub const USAGE: i32 = 2;
    /// Refused: a precheck, rule or missing decision stopped it; nothing was changed.
    pub const REFUSED: i32 = 3;
    /// `status`: a configured layer (or part of one) could not be read.
    pub const UNREADABLE: i32 = 4;
    /// Stdout was closed by its reader (`| head`): the exit a shell reports for SIGPIPE.
    pub const CLOSED_PIPE: i32 = 141;
    /// Interrupted (SIGINT / SIGTERM).
    pub const INTERRUPTED: i32 = 130;
}

/// A mistake the user can fix (unknown incident, bad flag value, missing or unreadable file):
/// printed as one line `warroom: MESSAGE` (plus `hint: HINT`), never as a crash report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Process exit code (see [`exit`]).
    pub code: i32,
    /// What is wrong, one line.
    pub message: String,
    /// What to do about it, one line.
    pub hint: Option<String>,
}

impl UserError {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> UserError {
        UserError { code: exit::USAGE, message: message.into(), hint: None }
    }

    /// Adds a hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> UserError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// The user-facing form of an incident log error, when the user can act on it (a bad or
/// unknown id, a drill/live mix-up, a file or directory they cannot read or that others may
/// write, a damaged log: exit 1, problems found); `None` for other failures (a report).
pub fn from_log_error(e: &LogError) -> Option<UserError> {
    match e {
        LogError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            Some(UserError::usage(e.to_string()).hint("check the file's owner and permissions"))
        }
        LogError::Insecure { .. } => Some(UserError::usage(e.to_string())),
        LogError::Corrupt { .. } | LogError::NotAnIncident { .. } => Some(UserError {
            code: exit::PROBLEMS,
            message: e.to_string(),
            hint: Some("`warroom log verify ID` checks the whole log".into()),
        }),
        LogError::BadId { .. } => {
            Some(UserError::usage(e.to_string()).hint("`warroom log list` lists the incidents"))
        }
        LogError::NotFound { .. } => {
            Some(UserError::usage(e.to_string()).hint("`warroom log list` lists the incidents"))
        }
        LogError::ModeMismatch { .. } => Some(UserError::usage(e.to_string())),
        _ => None,
    }
}

/// Whether stderr may be coloured: a terminal, and `NO_COLOR` unset or empty.
pub fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// True when `e` (or what caused it) is a write to a pipe its reader closed.
pub fn is_closed_pipe(e: &Report) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The user error `e` is (or wraps), if any.
pub fn user_error(e: &Report) -> Option<UserError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<UserError>()
            .cloned()
            .or_else(|| c.downcast_ref::<LogError>().and_then(from_log_error))
    })
}

/// Prints `u` on stderr (`warroom: ...`, `hint: ...`), coloured only when allowed.
pub fn print_user_error(u: &UserError) {
    let (red, cyan, reset) =
        if colour_on_stderr() { ("\x1b[1;31m", "\x1b[36m", "\x1b[0m") } else { ("", "", "") };
    let clean = |s: &str| crate::text::sanitize(&crate::text::redact(s)).replace('\n', " ");
    let mut err = std::io::stderr().lock();
    // Not eprintln!: after SSH drops, stderr is a dead tty and eprintln! would panic.
    let _ = writeln!(err, "{red}warroom:{reset} {}", clean(&u.message));
    if let Some(h) = &u.hint {
        let _ = writeln!(err, "{cyan}hint:{reset} {}", clean(h));
    }
}

/// Reports an error that ended a command and returns the exit code: quiet for a closed pipe,
/// one line for a [`UserError`], a color-eyre report for anything else (an internal error).
pub fn report(e: &Report) -> i32 {
    if is_closed_pipe(e) {
        return exit::CLOSED_PIPE;
    }
    if let Some(u) = user_error(e) {
        print_user_error(&u);
        return u.code;
    }
    let _ = writeln!(std::io::stderr(), "warroom: internal error: {e:?}");
    exit::PROBLEMS
}

/// Installs color-eyre for internal errors and panics: coloured only when allowed, no
/// "Backtrace omitted" advice, and a panic from printing to a closed stdout ends quietly.
pub fn install() {
    let theme =
        if colour_on_stderr() { color_eyre::config::Theme::dark() } else { color_eyre::config::Theme::new() };
    let builder = color_eyre::config::HookBuilder::default().theme(theme).display_env_section(false);
    let (panic_hook, eyre_hook) = builder.into_hooks();
    if eyre_hook.install().is_err() {
        return;
    }
    std::panic::set_hook(Box::new(move |info| {
        if is_print_to_closed_pipe(info) {
            std::process::exit(exit::CLOSED_PIPE);
        }
        let _ = writeln!(std::io::stderr(), "{}", panic_hook.panic_report(info));
    }));
}

/// A panic raised by `print!`/`println!` writing to a stdout whose reader is gone. std
/// reports it only as a message ("failed printing to stdout: Broken pipe"), so this is the one
/// place that reads one; the commands write through [`super::out`] and never get here.
fn is_print_to_closed_pipe(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let payload = info.payload();
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}

/// Turns a clap error into the exit it calls for: help and version print and exit 0; a usage
/// mistake prints one line `warroom: ...` (possible values included) and a hint, exit 2.
pub fn clap_exit(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return match super::out::write_str(&e.render().to_string()) {
            Ok(()) => exit::OK,
            Err(_) => exit::CLOSED_PIPE,
        };
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = write!(std::io::stderr(), "{}", e.render());
        return exit::USAGE;
    }
    let u = from_clap_text(&e.render().to_string());
    print_user_error(&u);
    u.code
}

/// One line and a hint from clap's rendered (plain) error text: its `error:` line with any
/// `[possible values: ...]`, its `tip:` lines as the hint (else "see --help").
pub fn from_clap_text(text: &str) -> UserError {
    let mut message = String::new();
    let mut tips = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("error: ") {
            message = m.to_string();
        } else if line.starts_with("[possible values:") {
            message = format!("{message} {line}");
        } else if let Some(t) = line.strip_prefix("tip: ") {
            tips.push(t.to_string());
        }
    }
    if message.is_empty() {
        message = text.lines().next().unwrap_or("invalid command line").to_string();
    }
    tips.push("see `warroom --help` (or `warroom COMMAND --help`)".to_string());
    UserError::usage(message).hint(tips.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_text_becomes_one_line_and_a_hint() {
        let text = "error: invalid value 'SEV9' for '--severity <SEVERITY>'\n  [possible values: SEV1, SEV2]\n\n  \
                    tip: a similar value exists: 'SEV2'\n\nFor more information, try '--help'.\n";
        let u = from_clap_text(text);
        assert_eq!(u.code, 2);
        assert_eq!(
            u.message,
            "invalid value 'SEV9' for '--severity <SEVERITY>' [possible values: SEV1, SEV2]"
        );
        let hint = u.hint.unwrap();
        assert!(hint.starts_with("a similar value exists: 'SEV2'; see `warroom --help`"), "{hint}");
    }

    #[test]
    fn user_and_pipe_errors_are_found_through_context() {
        use color_eyre::eyre::WrapErr as _;
        let e: Report = Err::<(), _>(LogError::BadId { id: "x".into() }).wrap_err("opening").unwrap_err();
        let u = user_error(&e).expect("a bad id is the user's");
        assert_eq!(u.code, exit::USAGE);
        assert!(u.message.contains("invalid incident id \"x\""), "{}", u.message);
        let e = Report::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_closed_pipe(&e) && user_error(&e).is_none());
        let e = Report::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(!is_closed_pipe(&e) && user_error(&e).is_none(), "an internal error stays one");
        let corrupt = LogError::Corrupt { path: "x.jsonl".into(), line: 3, column: 1, message: "bad".into() };
        assert_eq!(user_error(&Report::new(corrupt)).map(|u| u.code), Some(exit::PROBLEMS));
        let e = Report::new(UserError::usage("bad").hint("h"));
        assert_eq!(
            user_error(&e),
            Some(UserError { code: 2, message: "bad".into(), hint: Some("h".into()) })
        );
    }
}
