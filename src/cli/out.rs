//! Writing command output to stdout without panicking when the reader closes the pipe
//! (`warroom log show ID | head`). SIGPIPE stays ignored process-wide (network sockets rely on
//! it): a closed stdout is an `io::ErrorKind::BrokenPipe` error that the caller returns with
//! `?`, and `main` turns into a quiet exit ([`super::error::exit::CLOSED_PIPE`]).

use std::io::{self, Write};

/// Writes `text` to stdout and flushes it.
pub fn write_str(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `text` and a newline to stdout and flushes it.
pub fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}
