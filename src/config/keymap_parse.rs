//! Parsing one keymap file into a [`KeymapFile`], every problem placed on the value at fault.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeValue;

use crate::command::Command;

use super::error::{ConfigError, SpannedDoc, closest, line_col, one_of};
use super::key::Key;
use super::keymap::{KeyLayer, is_prefix};

/// The `run` value that removes a binding inherited from the base keymap.
pub const UNBIND: &str = "unbind";

/// Keys of a keymap entry.
const ENTRY_KEYS: &[&str] = &["on", "run", "desc"];

/// One `{ on, run, desc }` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapEntry {
    /// Key sequence.
    pub keys: Vec<Key>,
    /// Command, `None` for `run = "unbind"`.
    pub command: Option<Command>,
    /// Description for help (default: the command's description).
    pub desc: Option<String>,
}

/// One parsed keymap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapFile {
    /// Keymap name (preset name or file stem).
    pub name: String,
    /// File (for messages).
    pub file: PathBuf,
    /// True for an embedded preset.
    pub preset: bool,
    /// `inherits = "NAME"` with its position (line, column).
    pub inherits: Option<(String, usize, usize)>,
    /// Entries per layer, in file order.
    pub layers: Vec<(KeyLayer, Vec<KeymapEntry>)>,
}

struct Parser<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.file, self.text, offset, message)
    }

    fn keys(&self, value: &Spanned<DeValue<'_>>) -> Result<Vec<Key>, ConfigError> {
        let one = |v: &Spanned<DeValue<'_>>| -> Result<Key, ConfigError> {
            let Some(s) = v.get_ref().as_str() else {
                return Err(self.err(
                    v.span().start,
                    "`on` must be a key string like \"q\" or a list like [\"g\", \"g\"]",
                ));
            };
            Key::parse(s).map_err(|m| self.err(v.span().start, m))
        };
        match value.get_ref() {
            DeValue::Array(items) if items.is_empty() => {
                Err(self.err(value.span().start, "`on` is empty: expected at least one key"))
            }
            DeValue::Array(items) => items.iter().map(one).collect(),
            _ => Ok(vec![one(value)?]),
        }
    }

    fn command(&self, value: &Spanned<DeValue<'_>>) -> Result<Option<Command>, ConfigError> {
        let Some(name) = value.get_ref().as_str() else {
            return Err(self.err(value.span().start, "`run` must be an action name string, e.g. \"quit\""));
        };
        if name == UNBIND {
            return Ok(None);
        }
        if let Some(c) = Command::from_name(name) {
            return Ok(Some(c));
        }
        let names = Command::ALL.iter().map(|c| c.name());
        let near = closest(name, names.clone());
        let hint = if near.is_empty() {
            format!("expected one of {} (or `{UNBIND}`)", names.collect::<Vec<_>>().join(", "))
        } else {
            format!("did you mean {}? (every action is listed in docs/configuration.md)", one_of(&near))
        };
        Err(self.err(value.span().start, format!("unknown action `{name}`: {hint}")))
    }

    /// One entry; on error, each of its problems (an unknown key, bad keys, an unknown action).
    fn entry(
        &self,
        layer: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(KeymapEntry, usize), Vec<ConfigError>> {
        let Some(table) = value.get_ref().as_table() else {
            return Err(vec![self.err(
                value.span().start,
                format!("entries of `{layer}` must be tables like {{ on = \"q\", run = \"quit\" }}"),
            )]);
        };
        let mut errors = Vec::new();
        for (k, _) in table.iter() {
            if !ENTRY_KEYS.contains(&&**k.get_ref()) {
                let near = closest(k.get_ref(), ENTRY_KEYS.iter().copied());
                let hint = if near.is_empty() {
                    format!("expected {}", one_of(ENTRY_KEYS))
                } else {
                    format!("did you mean {}? (expected {})", one_of(&near), one_of(ENTRY_KEYS))
                };
                errors.push(
                    self.err(
                        k.span().start,
                        format!("unknown key `{}` in a keymap entry: {hint}", k.get_ref()),
                    ),
                );
            }
        }
        let (Some(on), Some(run)) = (table.get("on"), table.get("run")) else {
            errors.push(
                self.err(value.span().start, "keymap entry needs both `on` (keys) and `run` (an action)"),
            );
            return Err(errors);
        };
        let desc = match table.get("desc").map(|d| (d, d.get_ref().as_str())) {
            None => None,
            Some((_, Some(text))) => Some(text.to_string()),
            Some((d, None)) => {
                errors.push(self.err(d.span().start, "`desc` must be a string"));
                None
            }
        };
        let keys = self.keys(on).map_err(|e| errors.push(e));
        let command = self.command(run).map_err(|e| errors.push(e));
        match (keys, command) {
            (Ok(keys), Ok(command)) if errors.is_empty() => {
                Ok((KeymapEntry { keys, command, desc }, on.span().start))
            }
            _ => Err(errors),
        }
    }
}

/// Parses one keymap file. `name` is the keymap's name (preset name or file stem). The error
/// is the first problem by position ([`parse_keymap_file_all`] has them all).
pub fn parse_keymap_file(
    text: &str,
    file: &Path,
    name: &str,
    preset: bool,
) -> Result<KeymapFile, ConfigError> {
    parse_keymap_file_all(text, file, name, preset).map_err(|mut all| all.swap_remove(0))
}

/// Parses one keymap file; on error, every problem in it (at least one), sorted by position.
pub fn parse_keymap_file_all(
    text: &str,
    file: &Path,
    name: &str,
    preset: bool,
) -> Result<KeymapFile, Vec<ConfigError>> {
    let doc = SpannedDoc::parse(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    let mut errors: Vec<ConfigError> = Vec::new();
    let p = Parser { file, text };
    let mut out = KeymapFile {
        name: name.to_string(),
        file: file.to_path_buf(),
        preset,
        inherits: None,
        layers: Vec::new(),
    };
    for (key, value) in doc.root().iter() {
        let key_name: &str = key.get_ref();
        if key_name == "inherits" {
            let Some(parent) = value.get_ref().as_str() else {
                errors.push(
                    p.err(value.span().start, "`inherits` must be a string: the name of another keymap"),
                );
                continue;
            };
            let (line, column) = line_col(text, value.span().start);
            out.inherits = Some((parent.to_string(), line, column));
            continue;
        }
        let Some((layer, _)) = KeyLayer::ALL.iter().find(|(_, n)| *n == key_name) else {
            let mut allowed = vec!["inherits"];
            allowed.extend(KeyLayer::ALL.iter().map(|(_, n)| *n));
            let near = closest(key_name, allowed.iter().copied());
            let hint = if near.is_empty() {
                format!("expected {}", one_of(&allowed))
            } else {
                format!("did you mean {}? (expected {})", one_of(&near), one_of(&allowed))
            };
            errors.push(p.err(key.span().start, format!("unknown keymap section `{key_name}`: {hint}")));
            continue;
        };
        let Some(items) = value.get_ref().as_array() else {
            errors.push(p.err(
                value.span().start,
                format!("`{key_name}` must be a list of entries: {key_name} = [ {{ on = \"q\", run = \"quit\" }} ]"),
            ));
            continue;
        };
        let mut entries: Vec<KeymapEntry> = Vec::new();
        for item in items.iter() {
            let (entry, at) = match p.entry(key_name, item) {
                Ok(found) => found,
                Err(e) => {
                    errors.extend(e);
                    continue;
                }
            };
            if let Some(prev) = entries.iter().find(|e| {
                e.keys == entry.keys || is_prefix(&e.keys, &entry.keys) || is_prefix(&entry.keys, &e.keys)
            }) {
                let keys = |k: &[Key]| k.iter().map(|k| k.0.as_str()).collect::<Vec<_>>().join(" ");
                let message = if prev.keys == entry.keys {
                    format!("`{}` is bound twice in `{key_name}`", keys(&entry.keys))
                } else {
                    format!(
                        "`{}` and `{}` conflict in `{key_name}`: a key cannot be both a binding and the start of a chord",
                        keys(&prev.keys),
                        keys(&entry.keys)
                    )
                };
                errors.push(p.err(at, message));
                continue;
            }
            entries.push(entry);
        }
        out.layers.push((*layer, entries));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    }
    out.layers.sort_by_key(|(l, _)| *l);
    Ok(out)
}
