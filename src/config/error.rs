//! [`ConfigError`]: a problem in a file the user edits, with its position, and the helpers that
//! turn byte offsets and TOML paths into positions.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A problem in a configuration file. Displays as `FILE:LINE:COLUMN: message`
/// (or `FILE: message` when the problem has no position, e.g. an unreadable file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (embedded presets use their path in the source tree, e.g. `themes/default.toml`).
    pub file: PathBuf,
    /// 1-based line, 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters, 0 when the problem concerns the whole file.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error at byte `offset` of `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(text, offset);
        ConfigError { file: file.to_path_buf(), line, column, message: message.into() }
    }

    /// An error about the whole file (no position).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError { file: file.to_path_buf(), line: 0, column: 0, message: message.into() }
    }

    /// Converts a `toml` parse or deserialize error, keeping its position.
    pub(crate) fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
        // serde says "field"; in a TOML file the user wrote a key.
        let message = err.message().trim().replacen("unknown field", "unknown key", 1).replacen(
            "missing field",
            "missing key",
            1,
        );
        let message = with_suggestion(message);
        match err.span() {
            Some(span) => ConfigError::at(file, text, span.start, message),
            None => ConfigError::whole_file(file, message),
        }
    }
}

/// serde's "unknown key `x`, expected one of `a`, `b`" (or "unknown variant") with a "did you
/// mean" added when one of the expected names is close to `x`.
fn with_suggestion(message: String) -> String {
    let Some(rest) = ["unknown key `", "unknown variant `"].iter().find_map(|p| message.strip_prefix(p))
    else {
        return message;
    };
    let Some((name, tail)) = rest.split_once('`') else { return message };
    let Some((_, expected)) = tail.split_once("expected") else { return message };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let near = closest(name, names.iter().copied());
    if near.is_empty() || near.contains(&name) {
        return message;
    }
    format!("{message}; did you mean {}?", one_of(&near))
}

/// 1-based line and column (in characters) of byte `offset` in `text`. Offsets past the end
/// (or inside a multi-byte character) are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Why a theme or keymap chosen by name or path could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// No preset, user file or path of that name; the message lists what exists.
    NotFound(String),
    /// The file was found but is broken.
    Invalid(ConfigError),
}

impl SelectError {
    /// As a [`ConfigError`]; `NotFound` is attributed to `origin` (e.g. `--theme`).
    pub fn into_config_error(self, origin: &Path) -> ConfigError {
        match self {
            SelectError::NotFound(m) => ConfigError::whole_file(origin, m),
            SelectError::Invalid(e) => e,
        }
    }
}

impl From<ConfigError> for SelectError {
    fn from(e: ConfigError) -> SelectError {
        SelectError::Invalid(e)
    }
}

/// True when a theme/keymap choice names a file rather than a preset.
pub fn is_path_spec(spec: &str) -> bool {
    spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml")
}

/// Reads a user file; a missing or unreadable file is a [`ConfigError`] for that file.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::whole_file(path, format!("cannot read: {e}")))
}

/// One step of a path into a TOML document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A key of a table.
    Key(&'a str),
    /// An index of an array.
    Index(usize),
}

/// A parsed TOML document that keeps the span of every key and value, used to put a position
/// on problems found after deserializing.
pub struct SpannedDoc<'i> {
    root: Spanned<DeTable<'i>>,
}

impl<'i> SpannedDoc<'i> {
    /// Parses `text`; the error is the TOML syntax error.
    pub fn parse(text: &'i str) -> Result<SpannedDoc<'i>, toml::de::Error> {
        Ok(SpannedDoc { root: DeTable::parse(text)? })
    }

    /// The root table.
    pub fn root(&self) -> &DeTable<'i> {
        self.root.get_ref()
    }

    /// The value at exactly `path`.
    pub fn value(&self, path: &[Seg<'_>]) -> Option<&Spanned<DeValue<'i>>> {
        let (first, rest) = path.split_first()?;
        let Seg::Key(k) = first else { return None };
        let mut cur = self.root.get_ref().get(*k)?;
        for seg in rest {
            cur = match (seg, cur.get_ref()) {
                (Seg::Key(k), DeValue::Table(t)) => t.get(*k)?,
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Span of the value at `path`, or of the deepest part of the path that exists.
    pub fn locate(&self, path: &[Seg<'_>]) -> Range<usize> {
        (0..=path.len())
            .rev()
            .find_map(
                |n| if n == 0 { Some(self.root.span()) } else { self.value(&path[..n]).map(Spanned::span) },
            )
            .unwrap_or(0..0)
    }

    /// Span of the key at the end of `path` (for "unknown key" style problems).
    pub fn locate_key(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        let (Seg::Key(name), parent) = path.split_last()? else { return None };
        let table =
            if parent.is_empty() { self.root.get_ref() } else { self.value(parent)?.get_ref().as_table()? };
        table.get_key_value(*name).map(|(k, _)| k.span())
    }
}

/// `"a", "b" or "c"`: a list of names for messages.
pub fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Up to three of `candidates` closest to `input` (for "did you mean" hints).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(s, _)| *s > 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // `=` after "bé " : byte 10 (é is two bytes), char column 4
        assert_eq!(line_col(text, 10), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
        // inside the two bytes of é: clamped back to its start
        assert_eq!(line_col(text, 8), (2, 2));
    }

    #[test]
    fn display_with_and_without_position() {
        let e = ConfigError::at(Path::new("w.toml"), "x\ny", 2, "bad");
        assert_eq!(e.to_string(), "w.toml:2:1: bad");
        let e = ConfigError::whole_file(Path::new("w.toml"), "missing");
        assert_eq!(e.to_string(), "w.toml: missing");
    }

    #[test]
    fn locate_finds_nested_values_and_keys() {
        let text = "[[postgres.nodes]]\nname = \"a\"\n[[postgres.nodes]]\nname = \"b\"\n";
        let doc = SpannedDoc::parse(text).unwrap();
        let span = doc.locate(&[Seg::Key("postgres"), Seg::Key("nodes"), Seg::Index(1), Seg::Key("name")]);
        assert_eq!(&text[span], "\"b\"");
        // a missing tail falls back to the deepest existing part: here the entry's header
        let span = doc.locate(&[Seg::Key("postgres"), Seg::Key("nodes"), Seg::Index(1), Seg::Key("dsn")]);
        assert_eq!((span.start, &text[span.clone()]), (30, "[[postgres.nodes]]"));
        let key = doc.locate_key(&[Seg::Key("postgres"), Seg::Key("nodes")]).unwrap();
        assert_eq!(&text[key], "nodes");
    }

    #[test]
    fn unknown_keys_and_variants_get_a_did_you_mean() {
        let m = with_suggestion("unknown key `pasword_env`, expected one of `master`, `password_env`".into());
        assert!(m.ends_with("; did you mean `password_env`?"), "{m}");
        let m = with_suggestion("unknown variant `promte`, expected `promote` or `fence`".into());
        assert!(m.ends_with("; did you mean `promote`?"), "{m}");
        let far = "unknown key `zzzz`, expected `master` or `addrs`";
        assert_eq!(with_suggestion(far.into()), far);
        assert_eq!(with_suggestion("invalid type: integer `5`".into()), "invalid type: integer `5`");
    }

    #[test]
    fn closest_ranks_similar_names() {
        let names = ["focus-next", "focus-prev", "quit", "zoom"];
        assert_eq!(closest("focus-nxt", names)[0], "focus-next");
        assert!(closest("zzzzzzzz", names).is_empty());
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
