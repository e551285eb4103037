//! [`QuietBackend`]: a ratatui backend that writes nothing for frames that change nothing.
//!
//! It wraps ratatui's crossterm backend around an in-memory buffer. A frame whose diff is empty
//! (no cell changed, cursor unchanged) produces zero bytes; a frame with changes is written in
//! one `write` wrapped in a synchronized update (`CSI ? 2026 h/l`) so terminals and tmux never
//! show a half-drawn screen. It counts the bytes it wrote (for benchmarks).

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

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
        self.inner.draw(content)
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
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
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
        let buf = self.inner.writer_mut();
        if buf.is_empty() {
            return Ok(());
        }
        let mut frame = Vec::with_capacity(buf.len() + BEGIN_SYNC.len() + END_SYNC.len());
        frame.extend_from_slice(BEGIN_SYNC);
        frame.append(buf);
        frame.extend_from_slice(END_SYNC);
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
        for _ in 0..10 {
            term.draw(|f| f.render_widget(Paragraph::new("hello"), f.area())).unwrap();
        }
        assert_eq!(term.backend().bytes_written(), first, "no-op frames write zero bytes");
        term.draw(|f| f.render_widget(Paragraph::new("hellO"), f.area())).unwrap();
        let delta = term.backend().bytes_written() - first;
        assert!(delta > 0 && delta < 80, "one changed cell costs a few bytes, got {delta}");
        let out = term.backend().out();
        assert!(out.starts_with(BEGIN_SYNC) && out.ends_with(END_SYNC), "frames are synchronized updates");
    }
}
