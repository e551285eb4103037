//! Every problem in a `warroom.toml` in one run. serde stops at the first problem (an unknown
//! key, a wrong type, a missing key); here each one found is recorded, the entry at fault is
//! blanked out of the text (spaces, so every other position stays where it was) and the text
//! is read again, until it deserializes. The semantic checks then run on what is left, so an
//! unknown key no longer hides a bad value further down.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, SpannedDoc};

/// At most this many structural problems are collected from one file.
const MAX_PROBLEMS: usize = 64;

/// The structural problems of `text` (each with its position) and, when every entry at fault
/// could be taken out, the value read from the rest with the text it was read from.
pub struct Recovered<T> {
    /// Unknown keys, wrong types and missing keys, in the order serde met them.
    pub problems: Vec<ConfigError>,
    /// What the text minus the entries at fault deserializes to, and that text.
    pub rest: Option<(T, String)>,
}

/// Reads `text` as `T`, recording each problem and taking its entry out before reading again.
pub fn recover<T: DeserializeOwned>(text: &str, file: &Path) -> Recovered<T> {
    let mut problems = Vec::new();
    let mut current = text.to_string();
    while problems.len() < MAX_PROBLEMS {
        let err = match toml::from_str::<T>(&current) {
            Ok(value) => return Recovered { problems, rest: Some((value, current)) },
            Err(e) => e,
        };
        let Ok(doc) = SpannedDoc::parse(&current) else { break };
        problems.push(ConfigError::from_toml(file, text, &err));
        let Some(at) = err.span() else { break };
        let ranges = entry_at(&current, doc.root(), &at);
        if ranges.is_empty() {
            break;
        }
        let mut next = current.clone();
        for r in ranges {
            blank(&mut next, r);
        }
        if next == current {
            break;
        }
        current = next;
    }
    Recovered { problems, rest: None }
}

/// Replaces `range` of `text` with spaces, keeping line breaks (so positions do not move).
fn blank(text: &mut String, range: Range<usize>) {
    let (start, end) = (range.start.min(text.len()), range.end.min(text.len()));
    if start >= end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return;
    }
    let spaces: String =
        text[start..end].chars().map(|c| if c == '\n' || c == '\r' { c } else { ' ' }).collect();
    text.replace_range(start..end, &spaces);
}

/// The byte ranges to blank to take out the entry that `at` (an error's span) points to: a
/// key (unknown key), a value or array item (wrong type) or a table (missing key).
fn entry_at(text: &str, table: &DeTable<'_>, at: &Range<usize>) -> Vec<Range<usize>> {
    for (key, value) in table.iter() {
        if key.span() == *at {
            return entry_ranges(text, key.span(), value);
        }
        let inner = match value.get_ref() {
            DeValue::Table(t) => entry_at(text, t, at),
            DeValue::Array(items) => {
                let mut found = Vec::new();
                for item in items.iter() {
                    found = if item.span() == *at {
                        item_ranges(text, item)
                    } else if let DeValue::Table(t) = item.get_ref() {
                        entry_at(text, t, at)
                    } else {
                        Vec::new()
                    };
                    if !found.is_empty() {
                        break;
                    }
                }
                found
            }
            _ => Vec::new(),
        };
        if !inner.is_empty() {
            return inner;
        }
        if value.span() == *at {
            return entry_ranges(text, key.span(), value);
        }
    }
    Vec::new()
}

/// How a table value is written.
#[derive(PartialEq)]
enum Form {
    /// `[header]` or `[[header]]` followed by its entries.
    Header,
    /// `{ ... }`: its span covers its entries.
    Inline,
    /// Made by dotted keys (`a.b = 1`): only its entries are written.
    Dotted,
}

fn form(text: &str, value: &Spanned<DeValue<'_>>) -> Form {
    match text.get(value.span().start..).and_then(|t| t.chars().next()) {
        Some('[') => Form::Header,
        Some('{') => Form::Inline,
        _ => Form::Dotted,
    }
}

/// The ranges of a `key = value` entry: for a header table, the header and each of its
/// entries; for an array of header tables, each element; else from the key (with any dotted
/// prefix before it on its line) to the end of the value.
fn entry_ranges(text: &str, key: Range<usize>, value: &Spanned<DeValue<'_>>) -> Vec<Range<usize>> {
    match value.get_ref() {
        DeValue::Table(t) if form(text, value) != Form::Inline => {
            let mut out = if form(text, value) == Form::Header { vec![value.span()] } else { vec![] };
            for (k, v) in t.iter() {
                out.extend(entry_ranges(text, k.span(), v));
            }
            out
        }
        DeValue::Array(items)
            if items.iter().any(|i| i.get_ref().is_table() && form(text, i) == Form::Header) =>
        {
            items.iter().flat_map(|i| item_ranges(text, i)).collect()
        }
        _ => vec![with_comma(text, dotted_start(text, key.start)..value.span().end.max(key.end))],
    }
}

/// The ranges of one array item: a `[[header]]` element with its entries, else the item.
fn item_ranges(text: &str, item: &Spanned<DeValue<'_>>) -> Vec<Range<usize>> {
    match item.get_ref() {
        DeValue::Table(t) if form(text, item) == Form::Header => {
            let mut out = vec![item.span()];
            for (k, v) in t.iter() {
                out.extend(entry_ranges(text, k.span(), v));
            }
            out
        }
        _ => vec![with_comma(text, item.span())],
    }
}

/// `range` with the comma that separates it from its neighbour in an inline table or array
/// (the one after it, else the one before it), so that what is left still parses.
fn with_comma(text: &str, range: Range<usize>) -> Range<usize> {
    let after = text[range.end..].find(|c: char| c != ' ' && c != '\t').map(|i| range.end + i);
    if let Some(i) = after
        && text[i..].starts_with(',')
    {
        return range.start..i + 1;
    }
    let before = text[..range.start].rfind(|c: char| c != ' ' && c != '\t');
    match before {
        Some(i) if text[i..].starts_with(',') => i..range.end,
        _ => range,
    }
}

/// Where the key at `start` begins with its dotted prefix (`a.b.` in `a.b.c = 1`), when only
/// such a prefix stands between it and the start of its line.
fn dotted_start(text: &str, start: usize) -> usize {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..start];
    let dotted = prefix.trim_end().ends_with('.')
        && prefix.chars().all(|c| c.is_alphanumeric() || "_-.\"' \t".contains(c));
    if dotted { line_start + (prefix.len() - prefix.trim_start().len()) } else { start }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn problems(text: &str) -> (Vec<String>, bool) {
        let mut r: Recovered<Config> = recover(text, Path::new("w.toml"));
        r.problems.sort_by_key(|e| (e.line, e.column));
        (r.problems.iter().map(ToString::to_string).collect(), r.rest.is_some())
    }

    #[test]
    fn each_unknown_key_wrong_type_and_missing_key_is_reported() {
        let text = "[sentinel]\nmaster = \"m\"\naddrs = [\"a:1\", 5]\ncolour = 1\n\
                    [polling]\ninterval_ms = \"fast\"\n\
                    [[postgres.nodes]]\nname = \"a\"\n\
                    [[postgres.nodes]]\nname = \"b\"\ndsn = \"host=b\"\n\
                    [postgres.service]\ncontext = \"c\"\nnamespace = \"n\"\nname = \"s\"\nextra = true\n";
        let (p, rest) = problems(text);
        assert!(rest, "the rest deserializes: {p:#?}");
        assert_eq!(p.len(), 5, "{p:#?}");
        let want = [
            "w.toml:3:17: invalid type: integer `5`",
            "w.toml:4:1: unknown key `colour`",
            "w.toml:6:15: invalid type: string \"fast\"",
            "w.toml:7:1: missing key `dsn`",
            "w.toml:16:1: unknown key `extra`",
        ];
        for (got, want) in p.iter().zip(want) {
            assert!(got.starts_with(want), "{got} (wanted {want}): {p:#?}");
        }
    }

    #[test]
    fn inline_tables_and_a_clean_file() {
        let text = "[postgres]\nservice = { context = \"c\", bogus = 1, namespace = \"n\", name = \"s\" }\n";
        let (p, rest) = problems(text);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].starts_with("w.toml:2:28: unknown key `bogus`"), "{p:#?}");
        assert!(rest);
        let (p, rest) = problems("[polling]\ninterval_ms = 500\n");
        assert!(p.is_empty() && rest);
    }
}
