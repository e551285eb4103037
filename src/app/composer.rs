//! The multi-line text buffer of the status-update composer: lines and a cursor, changed one
//! [`TextEdit`] at a time.
//!
//! Pure data in the core (no terminal types), so a recording replays an edit session exactly
//! through [`crate::app::update`]. Newlines are real line breaks, never glyphs; pasted text is
//! split into lines and stripped of other control characters.

use crate::app::action::TextEdit;

/// The key that posts from the composer (Enter breaks the line), as its border names it.
pub const POST_KEY: &str = "Ctrl-S";

/// The text being composed and where the cursor is (`row` is a line index, `col` a character
/// index within that line; both always valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composer {
    lines: Vec<String>,
    row: usize,
    col: usize,
}

impl Default for Composer {
    fn default() -> Self {
        Composer { lines: vec![String::new()], row: 0, col: 0 }
    }
}

/// What an edit asks of the dialog around the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The buffer was edited (or the key did nothing): keep composing.
    Editing,
    /// Post the text.
    Submit,
    /// Close without posting.
    Cancel,
}

impl Composer {
    /// A buffer holding `text` with the cursor at its very end.
    pub fn new(text: &str) -> Composer {
        let mut c = Composer::default();
        c.insert_text(text);
        c
    }

    /// The lines (at least one).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The cursor as (line, character column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// The whole text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Apply one edit. `Submit` posts; `Newline` breaks the line.
    pub fn apply(&mut self, edit: &TextEdit) -> Outcome {
        match edit {
            TextEdit::Submit => return Outcome::Submit,
            TextEdit::Cancel => return Outcome::Cancel,
            // A redacted recording replays pasted line breaks as characters.
            TextEdit::Char('\n') => self.newline(),
            TextEdit::Char(c) if !c.is_control() => self.insert_char(*c),
            TextEdit::Char(_) => {}
            TextEdit::Paste(text) => self.insert_text(text),
            TextEdit::Newline => self.newline(),
            TextEdit::Backspace => self.backspace(),
            TextEdit::Delete => self.delete(),
            TextEdit::DeleteWord => self.delete_word(),
            TextEdit::Move(m) => self.move_cursor(*m),
        }
        Outcome::Editing
    }

    fn line(&self) -> &String {
        &self.lines[self.row]
    }

    fn line_len(&self) -> usize {
        self.line().chars().count()
    }

    /// Byte offset of character column `col` in the cursor's line.
    fn byte(&self, col: usize) -> usize {
        self.line().char_indices().nth(col).map_or(self.line().len(), |(i, _)| i)
    }

    fn insert_char(&mut self, c: char) {
        let at = self.byte(self.col);
        self.lines[self.row].insert(at, c);
        self.col += 1;
    }

    /// Insert `text` at the cursor: `\n` (and `\r\n`, `\r`) break lines, a tab becomes a space,
    /// other control characters are dropped.
    fn insert_text(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for c in text.chars() {
            match c {
                '\n' => self.newline(),
                '\t' => self.insert_char(' '),
                c if c.is_control() => {}
                c => self.insert_char(c),
            }
        }
    }

    fn newline(&mut self) {
        let at = self.byte(self.col);
        let rest = self.lines[self.row].split_off(at);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
    }

    /// Delete the character before the cursor; at a line start, join with the line above.
    fn backspace(&mut self) {
        if self.col > 0 {
            let at = self.byte(self.col - 1);
            self.lines[self.row].remove(at);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.line_len();
            self.lines[self.row].push_str(&line);
        }
    }

    /// Delete the character under the cursor; at a line end, join the next line.
    fn delete(&mut self) {
        if self.col < self.line_len() {
            let at = self.byte(self.col);
            self.lines[self.row].remove(at);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }

    /// Delete the word before the cursor (Ctrl-W); at a line start, join with the line above.
    fn delete_word(&mut self) {
        if self.col == 0 {
            return self.backspace();
        }
        let start = word_left(self.line(), self.col);
        let (a, b) = (self.byte(start), self.byte(self.col));
        self.lines[self.row].replace_range(a..b, "");
        self.col = start;
    }

    fn move_cursor(&mut self, m: Motion) {
        match m {
            Motion::Left if self.col > 0 => self.col -= 1,
            Motion::Left if self.row > 0 => {
                self.row -= 1;
                self.col = self.line_len();
            }
            Motion::Right if self.col < self.line_len() => self.col += 1,
            Motion::Right if self.row + 1 < self.lines.len() => {
                self.row += 1;
                self.col = 0;
            }
            Motion::Left | Motion::Right => {}
            Motion::Up if self.row > 0 => {
                self.row -= 1;
                self.col = self.col.min(self.line_len());
            }
            Motion::Up => self.col = 0,
            Motion::Down if self.row + 1 < self.lines.len() => {
                self.row += 1;
                self.col = self.col.min(self.line_len());
            }
            Motion::Down => self.col = self.line_len(),
            Motion::Home => self.col = 0,
            Motion::End => self.col = self.line_len(),
            Motion::WordLeft if self.col == 0 => self.move_cursor(Motion::Left),
            Motion::WordLeft => self.col = word_left(self.line(), self.col),
            Motion::WordRight if self.col == self.line_len() => self.move_cursor(Motion::Right),
            Motion::WordRight => self.col = word_right(self.line(), self.col),
        }
    }
}

/// A cursor motion in the composer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Motion {
    /// One character left (to the end of the line above at a line start).
    Left,
    /// One character right (to the start of the next line at a line end).
    Right,
    /// One line up, same column where the line is long enough.
    Up,
    /// One line down, same column where the line is long enough.
    Down,
    /// Start of the line.
    Home,
    /// End of the line.
    End,
    /// Start of the word before the cursor.
    WordLeft,
    /// End of the word after the cursor.
    WordRight,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Column of the start of the word before `col` (skipping non-word characters first).
fn word_left(line: &str, col: usize) -> usize {
    let chars: Vec<char> = line.chars().collect();
    let mut i = col.min(chars.len());
    while i > 0 && !is_word(chars[i - 1]) {
        i -= 1;
    }
    while i > 0 && is_word(chars[i - 1]) {
        i -= 1;
    }
    i
}

/// Column of the end of the word after `col` (skipping non-word characters first).
fn word_right(line: &str, col: usize) -> usize {
    let chars: Vec<char> = line.chars().collect();
    let mut i = col.min(chars.len());
    while i < chars.len() && !is_word(chars[i]) {
        i += 1;
    }
    while i < chars.len() && is_word(chars[i]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, row: usize, col: usize) -> Composer {
        let mut c = Composer::new(text);
        c.row = row;
        c.col = col;
        c
    }

    fn ed(c: &mut Composer, edits: &[TextEdit]) {
        for e in edits {
            assert_eq!(c.apply(e), Outcome::Editing, "{e:?}");
        }
    }

    #[test]
    fn new_puts_the_cursor_at_the_end_and_keeps_real_lines() {
        let c = Composer::new("a\nbé\n");
        assert_eq!(c.lines(), ["a", "bé", ""]);
        assert_eq!(c.cursor(), (2, 0));
        assert_eq!(c.text(), "a\nbé\n");
        assert!(!c.text().contains('␊'));
        let c = Composer::new("héllo");
        assert_eq!(c.cursor(), (0, 5));
    }

    #[test]
    fn typing_inserts_at_the_cursor_not_at_the_end() {
        let mut c = at("hllo\nworld", 0, 1);
        ed(&mut c, &[TextEdit::Char('e')]);
        assert_eq!(c.lines(), ["hello", "world"]);
        assert_eq!(c.cursor(), (0, 2));
        ed(&mut c, &[TextEdit::Char('\u{1b}')]);
        assert_eq!(c.lines(), ["hello", "world"], "a control character is not typed");
    }

    #[test]
    fn newline_splits_the_line_at_the_cursor() {
        let mut c = at("helloworld", 0, 5);
        ed(&mut c, &[TextEdit::Newline]);
        assert_eq!(c.lines(), ["hello", "world"]);
        assert_eq!(c.cursor(), (1, 0));
    }

    #[test]
    fn backspace_deletes_before_and_joins_at_a_line_start() {
        let mut c = at("ab\ncd", 1, 1);
        ed(&mut c, &[TextEdit::Backspace]);
        assert_eq!((c.lines(), c.cursor()), (&["ab".to_string(), "d".into()][..], (1, 0)));
        ed(&mut c, &[TextEdit::Backspace]);
        assert_eq!((c.lines(), c.cursor()), (&["abd".to_string()][..], (0, 2)));
        let mut c = at("ab", 0, 0);
        ed(&mut c, &[TextEdit::Backspace]);
        assert_eq!((c.lines(), c.cursor()), (&["ab".to_string()][..], (0, 0)));
    }

    #[test]
    fn delete_removes_under_the_cursor_and_joins_at_a_line_end() {
        let mut c = at("ab\ncd", 0, 1);
        ed(&mut c, &[TextEdit::Delete]);
        assert_eq!((c.lines(), c.cursor()), (&["a".to_string(), "cd".into()][..], (0, 1)));
        ed(&mut c, &[TextEdit::Delete]);
        assert_eq!((c.lines(), c.cursor()), (&["acd".to_string()][..], (0, 1)));
        let mut c = at("ab", 0, 2);
        ed(&mut c, &[TextEdit::Delete]);
        assert_eq!(c.lines(), ["ab"]);
    }

    #[test]
    fn arrows_wrap_between_lines_and_keep_the_column_in_range() {
        let mut c = at("abcd\nx\nlonger", 0, 3);
        ed(&mut c, &[TextEdit::Move(Motion::Down)]);
        assert_eq!(c.cursor(), (1, 1), "clamped to the short line");
        ed(&mut c, &[TextEdit::Move(Motion::Down)]);
        assert_eq!(c.cursor(), (2, 1));
        ed(&mut c, &[TextEdit::Move(Motion::Down)]);
        assert_eq!(c.cursor(), (2, 6), "down on the last line goes to its end");
        ed(&mut c, &[TextEdit::Move(Motion::Right)]);
        assert_eq!(c.cursor(), (2, 6), "right at the very end stays");
        ed(&mut c, &[TextEdit::Move(Motion::Home), TextEdit::Move(Motion::Left)]);
        assert_eq!(c.cursor(), (1, 1), "left at a line start goes to the end of the line above");
        ed(&mut c, &[TextEdit::Move(Motion::Right)]);
        assert_eq!(c.cursor(), (2, 0), "right at a line end goes to the next line");
        ed(&mut c, &[TextEdit::Move(Motion::Up), TextEdit::Move(Motion::Up), TextEdit::Move(Motion::End)]);
        assert_eq!(c.cursor(), (0, 4));
        ed(&mut c, &[TextEdit::Move(Motion::Up)]);
        assert_eq!(c.cursor(), (0, 0), "up on the first line goes to its start");
        ed(&mut c, &[TextEdit::Move(Motion::Left)]);
        assert_eq!(c.cursor(), (0, 0));
    }

    #[test]
    fn word_motions_skip_punctuation_then_a_word() {
        let mut c = at("db: pg-1 is down", 0, 16);
        ed(&mut c, &[TextEdit::Move(Motion::WordLeft)]);
        assert_eq!(c.cursor(), (0, 12));
        ed(&mut c, &[TextEdit::Move(Motion::WordLeft), TextEdit::Move(Motion::WordLeft)]);
        assert_eq!(c.cursor(), (0, 7), "'-' separates words");
        ed(&mut c, &[TextEdit::Move(Motion::WordRight)]);
        assert_eq!(c.cursor(), (0, 8));
        ed(&mut c, &[TextEdit::Move(Motion::Home), TextEdit::Move(Motion::WordRight)]);
        assert_eq!(c.cursor(), (0, 2));
        let mut c = at("ab\ncd", 1, 0);
        ed(&mut c, &[TextEdit::Move(Motion::WordLeft)]);
        assert_eq!(c.cursor(), (0, 2), "word-left at a line start crosses the break");
        ed(&mut c, &[TextEdit::Move(Motion::WordRight)]);
        assert_eq!(c.cursor(), (1, 0), "word-right at a line end crosses the break");
    }

    #[test]
    fn delete_word_removes_the_word_before_the_cursor() {
        let mut c = at("primary is down  now", 0, 15);
        ed(&mut c, &[TextEdit::DeleteWord]);
        assert_eq!((c.lines(), c.cursor()), (&["primary is   now".to_string()][..], (0, 11)));
        ed(&mut c, &[TextEdit::DeleteWord]);
        assert_eq!((c.lines(), c.cursor()), (&["primary   now".to_string()][..], (0, 8)));
        let mut c = at("ab\ncd", 1, 0);
        ed(&mut c, &[TextEdit::DeleteWord]);
        assert_eq!((c.lines(), c.cursor()), (&["abcd".to_string()][..], (0, 2)));
    }

    #[test]
    fn paste_splits_lines_and_strips_control_characters() {
        let mut c = at("[]", 0, 1);
        ed(&mut c, &[TextEdit::Paste("one\r\ntwo\u{1b}[2J\tthree\u{7}\rfour".into())]);
        assert_eq!(c.lines(), ["[one", "two[2J three", "four]"]);
        assert_eq!(c.cursor(), (2, 4));
    }

    #[test]
    fn submit_and_cancel_leave_the_text_alone() {
        let mut c = Composer::new("x");
        assert_eq!(c.apply(&TextEdit::Submit), Outcome::Submit);
        assert_eq!(c.apply(&TextEdit::Cancel), Outcome::Cancel);
        assert_eq!(c.text(), "x");
    }
}
