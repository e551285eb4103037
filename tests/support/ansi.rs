//! Colours on a captured screen: `tmux capture-pane -e -p` keeps the SGR escape sequences, and
//! [`fg_at`] tells which foreground colour is in effect where some text is drawn.

/// A foreground colour as set by SGR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fg {
    /// The terminal's default (`39`, `0` or nothing set).
    Default,
    /// One of the 16 ANSI colours: 0-7 (`30`-`37`) and 8-15 (bright, `90`-`97`).
    Ansi(u8),
    /// A 256-colour palette index above 15 (`38;5;N`).
    Indexed(u8),
    /// True colour (`38;2;R;G;B`).
    Rgb(u8, u8, u8),
}

/// ANSI red (`31`).
pub const RED: Fg = Fg::Ansi(1);
/// ANSI green (`32`).
pub const GREEN: Fg = Fg::Ansi(2);

/// Apply one SGR parameter list (the text between `ESC [` and `m`) to `fg`.
fn apply_sgr(params: &str, fg: &mut Fg) {
    let nums: Vec<u32> = params.split([';', ':']).map(|p| p.parse().unwrap_or(0)).collect();
    let mut i = 0;
    while i < nums.len() {
        match nums[i] {
            0 | 39 => *fg = Fg::Default,
            n @ 30..=37 => *fg = Fg::Ansi((n - 30) as u8),
            n @ 90..=97 => *fg = Fg::Ansi((n - 90 + 8) as u8),
            38 => match nums.get(i + 1) {
                // The first 16 palette entries are the ANSI colours (crossterm writes red as
                // `38;5;1`).
                Some(5) => {
                    let n = nums.get(i + 2).copied().unwrap_or(0) as u8;
                    *fg = if n < 16 { Fg::Ansi(n) } else { Fg::Indexed(n) };
                    i += 2;
                }
                Some(2) => {
                    let c = |k: usize| nums.get(i + k).copied().unwrap_or(0) as u8;
                    *fg = Fg::Rgb(c(2), c(3), c(4));
                    i += 4;
                }
                _ => {}
            },
            // Background (48;5;N / 48;2;R;G;B): skip its arguments.
            48 => match nums.get(i + 1) {
                Some(5) => i += 2,
                Some(2) => i += 4,
                _ => {}
            },
            _ => {}
        }
        i += 1;
    }
}

/// The visible characters of one captured line, each with the foreground colour it is drawn in.
pub fn styled_chars(line: &str) -> Vec<(char, Fg)> {
    let mut out = Vec::new();
    let mut fg = Fg::Default;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push((c, fg));
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                let mut params = String::new();
                for p in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&p) {
                        if p == 'm' {
                            apply_sgr(&params, &mut fg);
                        }
                        break;
                    }
                    params.push(p);
                }
            }
            // OSC / other string sequences end with BEL or ST; two-byte escapes take one char.
            Some(']') => {
                while let Some(p) = chars.next() {
                    if p == '\u{7}' || (p == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

/// The line without its escape sequences.
pub fn plain(line: &str) -> String {
    styled_chars(line).into_iter().map(|(c, _)| c).collect()
}

/// The foreground colour in effect at the first character of `needle` on `line` (a line of
/// `capture-pane -e -p`); `None` when the line does not contain `needle`.
pub fn fg_at(line: &str, needle: &str) -> Option<Fg> {
    fg_after(line, "", needle)
}

/// Like [`fg_at`], for the first `needle` at or after the first `anchor` (e.g. the cell of a
/// row that starts with a node's name, when other panes share the screen line).
pub fn fg_after(line: &str, anchor: &str, needle: &str) -> Option<Fg> {
    let styled = styled_chars(line);
    let text: Vec<char> = styled.iter().map(|(c, _)| *c).collect();
    let find = |from: usize, what: &str| {
        let want: Vec<char> = what.chars().collect();
        (from..=text.len().checked_sub(want.len())?).find(|&i| text[i..i + want.len()] == want[..])
    };
    let start = find(0, anchor)?;
    find(start, needle).filter(|_| !needle.is_empty()).map(|i| styled[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_sgr_sequences() {
        let line =
            "\u{1b}[1m\u{1b}[31m✗ DOWN\u{1b}[39m  x \u{1b}[38;5;2m● ok\u{1b}[0m tail \u{1b}[38;5;196mz";
        assert_eq!(plain(line), "✗ DOWN  x ● ok tail z");
        assert_eq!(fg_at(line, "✗ DOWN"), Some(RED));
        assert_eq!(fg_at(line, "x"), Some(Fg::Default));
        assert_eq!(fg_at(line, "● ok"), Some(GREEN));
        assert_eq!(fg_at(line, "tail"), Some(Fg::Default));
        assert_eq!(fg_at(line, "z"), Some(Fg::Indexed(196)));
        assert_eq!(fg_at(line, "absent"), None);
        assert_eq!(fg_after(line, "x", "●"), Some(GREEN));
        assert_eq!(fg_after(line, "tail", "●"), None);
    }
}
