//! [`QuietBackend`]: a ratatui backend that writes nothing for frames that change nothing.
//!
//! It wraps ratatui's crossterm backend around an in-memory buffer. A frame whose diff is empty
//! (no cell changed, cursor unchanged) produces zero bytes; a frame with changes is written in
//! one `write`. Frames that change more than [`SYNC_MIN_CELLS`] cells, or clear the screen, are
//! wrapped in a synchronized update (`CSI ? 2026 h/l`) so terminals and tmux never show a
//! half-drawn screen; a frame of a few cells (the clock ticking, one age moving) is not: it is
//! one short write that cannot visibly tear, and the 16-byte wrapper would double its size.
//! It counts the bytes it wrote (for benchmarks).
//!
//! It is also the console's [`Output`]: the bell and the clipboard (OSC 52) are written through
//! the same writer, between frames, so their bytes never land inside a half-written frame.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

use crate::driver::Output;

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

/// Frames changing more cells than this are wrapped in a synchronized update.
pub const SYNC_MIN_CELLS: usize = 16;

/// Where the size of the screen comes from.
#[derive(Debug, Clone, Copy)]
pub enum SizeSource {
    /// Ask the real terminal.
    Terminal,
    /// A fixed size (tests and benchmarks).
    Fixed(u16, u16),
}

/// A backend that only writes when a visible cell (or the cursor) changed.
pub struct QuietBackend<W: Write> {
    inner: CrosstermBackend<Vec<u8>>,
    out: W,
    size: SizeSource,
    cursor_visible: Option<bool>,
    written: u64,
    /// Cells queued since the last flush.
    cells: usize,
    /// A clear was queued since the last flush (always synchronized).
    cleared: bool,
}

impl<W: Write> QuietBackend<W> {
    /// Wrap `out` (stdout, or a counting sink in tests).
    pub fn new(out: W, size: SizeSource) -> Self {
        QuietBackend {
            inner: CrosstermBackend::new(Vec::with_capacity(64 * 1024)),
            out,
            size,
            cursor_visible: None,
            written: 0,
            cells: 0,
            cleared: false,
        }
    }

    /// Total bytes written to `out` so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Change the fixed size (tests: simulate a resize).
    pub fn set_size(&mut self, size: SizeSource) {
        self.size = size;
    }

    /// The wrapped writer.
    pub fn out(&self) -> &W {
        &self.out
    }

    /// Write `bytes` after whatever frame is pending, and flush. Best effort: a terminal that
    /// is gone is noticed by the next draw.
    fn emit(&mut self, bytes: &[u8]) {
        if self.flush().is_err() {
            return;
        }
        if self.out.write_all(bytes).and_then(|()| self.out.flush()).is_ok() {
            self.written += bytes.len() as u64;
        }
    }
}

impl<W: Write> Output for QuietBackend<W> {
    fn bell(&mut self) {
        self.emit(b"\x07");
    }

    fn copy(&mut self, text: &str) {
        self.emit(osc52(text).as_bytes());
    }
}

/// OSC 52 clipboard sequence (works over SSH and inside tmux with `set-clipboard on`).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl<W: Write> Backend for QuietBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        let cells = &mut self.cells;
        self.inner.draw(content.inspect(|_| *cells += 1))
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(false) {
            self.cursor_visible = Some(false);
            self.inner.hide_cursor()?;
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(true) {
            self.cursor_visible = Some(true);
            self.inner.show_cursor()?;
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(Position::ORIGIN)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.cleared = true;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.cleared = true;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            SizeSource::Terminal => self.inner.size(),
            SizeSource::Fixed(w, h) => Ok(Size::new(w, h)),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        match self.size {
            SizeSource::Terminal => self.inner.window_size(),
            SizeSource::Fixed(w, h) => {
                Ok(WindowSize { columns_rows: Size::new(w, h), pixels: Size::new(0, 0) })
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let sync = self.cleared || self.cells > SYNC_MIN_CELLS;
        self.cells = 0;
        self.cleared = false;
        let buf = self.inner.writer_mut();
        if buf.is_empty() {
            return Ok(());
        }
        let frame = if sync {
            let mut frame = Vec::with_capacity(buf.len() + BEGIN_SYNC.len() + END_SYNC.len());
            frame.extend_from_slice(BEGIN_SYNC);
            frame.append(buf);
            frame.extend_from_slice(END_SYNC);
            frame
        } else {
            std::mem::take(buf)
        };
        self.out.write_all(&frame)?;
        self.out.flush()?;
        self.written += frame.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::widgets::Paragraph;

    use super::*;

    #[test]
    fn unchanged_frames_write_nothing() {
        let mut term = Terminal::new(QuietBackend::new(Vec::new(), SizeSource::Fixed(40, 5))).unwrap();
        term.draw(|f| f.render_widget(Paragraph::new("hello"), f.area())).unwrap();
        let first = term.backend().bytes_written();
        assert!(first > 5, "first frame is written");
        assert!(!contains(term.backend().out(), BEGIN_SYNC), "five cells on a blank screen: no wrapper");
        for _ in 0..10 {
            term.draw(|f| f.render_widget(Paragraph::new("hello"), f.area())).unwrap();
        }
        assert_eq!(term.backend().bytes_written(), first, "no-op frames write zero bytes");
        term.draw(|f| f.render_widget(Paragraph::new("hellO"), f.area())).unwrap();
        let delta = term.backend().bytes_written() - first;
        assert!(delta > 0 && delta < 64, "one changed cell costs a few bytes, got {delta}");
        let out = term.backend().out();
        let small = &out[first as usize..];
        assert!(contains(small, b"O"), "the changed cell is written");
        assert!(!contains(small, BEGIN_SYNC), "a one-cell frame is not wrapped");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn the_bell_and_the_clipboard_are_written_between_frames() {
        let mut term = Terminal::new(QuietBackend::new(Vec::new(), SizeSource::Fixed(40, 5))).unwrap();
        term.draw(|f| f.render_widget(Paragraph::new("hello"), f.area())).unwrap();
        let frame = term.backend().out().len();
        let out: &mut dyn Output = term.backend_mut();
        out.bell();
        out.copy("foobar");
        let written = term.backend().out()[frame..].to_vec();
        assert_eq!(written, b"\x07\x1b]52;c;Zm9vYmFy\x07", "{:?}", String::from_utf8_lossy(&written));
        assert_eq!(term.backend().bytes_written(), term.backend().out().len() as u64);
        // The next frame is unaffected: one changed cell is still a few bytes.
        term.draw(|f| f.render_widget(Paragraph::new("hellO"), f.area())).unwrap();
        let next = &term.backend().out()[frame + written.len()..];
        assert!(contains(next, b"O") && next.len() < 64, "{next:?}");
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// A `width`-cell line of `c`.
    fn line(c: char, width: usize) -> String {
        std::iter::repeat_n(c, width).collect()
    }

    #[test]
    fn big_frames_and_clears_are_synchronized_small_ones_not() {
        let mut term = Terminal::new(QuietBackend::new(Vec::new(), SizeSource::Fixed(40, 5))).unwrap();
        term.draw(|f| f.render_widget(Paragraph::new(line('a', 40)), f.area())).unwrap();
        let mut mark = term.backend().out().len();
        let mut frame = |term: &mut Terminal<QuietBackend<Vec<u8>>>, text: String, clear: bool| {
            if clear {
                term.clear().unwrap();
            }
            term.draw(|f| f.render_widget(Paragraph::new(text.clone()), f.area())).unwrap();
            let out = term.backend().out();
            let new = out[mark..].to_vec();
            mark = out.len();
            new
        };
        // Exactly SYNC_MIN_CELLS changed cells: plain; one more: synchronized.
        let few = format!("{}{}", line('b', SYNC_MIN_CELLS), line('a', 40 - SYNC_MIN_CELLS));
        let out = frame(&mut term, few, false);
        assert!(!out.is_empty() && !contains(&out, BEGIN_SYNC), "{} cells: no wrapper", SYNC_MIN_CELLS);
        let more = format!("{}{}", line('c', SYNC_MIN_CELLS + 1), line('a', 40 - SYNC_MIN_CELLS - 1));
        let out = frame(&mut term, more.clone(), false);
        assert!(
            out.starts_with(BEGIN_SYNC) && out.ends_with(END_SYNC),
            "{} cells: wrapped",
            SYNC_MIN_CELLS + 1
        );
        // A clear and repaint (resize) is always wrapped, even of a one-cell screen.
        let out = frame(&mut term, more, true);
        assert!(out.starts_with(BEGIN_SYNC) && out.ends_with(END_SYNC), "a repaint after clear is wrapped");
        // The counters reset after each frame: a following one-cell change is plain again.
        let one = format!("{}z{}", line('c', SYNC_MIN_CELLS + 1), line('a', 40 - SYNC_MIN_CELLS - 2));
        let out = frame(&mut term, one, false);
        assert!(
            !out.is_empty() && !contains(&out, BEGIN_SYNC),
            "a one-cell frame after a big one: no wrapper"
        );
    }
}
