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

    fn entry(&self, layer: &str, value: &Spanned<DeValue<'_>>) -> Result<(KeymapEntry, usize), ConfigError> {
        let Some(table) = value.get_ref().as_table() else {
            return Err(self.err(
                value.span().start,
                format!("entries of `{layer}` must be tables like {{ on = \"q\", run = \"quit\" }}"),
            ));
        };
        for (k, _) in table.iter() {
            if !ENTRY_KEYS.contains(&&**k.get_ref()) {
                return Err(self.err(
                    k.span().start,
                    format!(
                        "unknown key `{}` in a keymap entry: expected {}",
                        k.get_ref(),
                        one_of(ENTRY_KEYS)
                    ),
                ));
            }
        }
        let (Some(on), Some(run)) = (table.get("on"), table.get("run")) else {
            return Err(
                self.err(value.span().start, "keymap entry needs both `on` (keys) and `run` (an action)")
            );
        };
        let desc = match table.get("desc") {
            None => None,
            Some(d) => Some(
                d.get_ref()
                    .as_str()
                    .ok_or_else(|| self.err(d.span().start, "`desc` must be a string"))?
                    .to_string(),
            ),
        };
        let entry = KeymapEntry { keys: self.keys(on)?, command: self.command(run)?, desc };
        Ok((entry, on.span().start))
    }
}

/// Parses one keymap file. `name` is the keymap's name (preset name or file stem).
pub fn parse_keymap_file(
    text: &str,
    file: &Path,
    name: &str,
    preset: bool,
) -> Result<KeymapFile, ConfigError> {
    let doc = SpannedDoc::parse(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
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
                return Err(
                    p.err(value.span().start, "`inherits` must be a string: the name of another keymap")
                );
            };
            let (line, column) = line_col(text, value.span().start);
            out.inherits = Some((parent.to_string(), line, column));
            continue;
        }
        let Some((layer, _)) = KeyLayer::ALL.iter().find(|(_, n)| *n == key_name) else {
            let mut allowed = vec!["inherits"];
            allowed.extend(KeyLayer::ALL.iter().map(|(_, n)| *n));
            return Err(p.err(
                key.span().start,
                format!("unknown keymap section `{key_name}`: expected {}", one_of(&allowed)),
            ));
        };
        let Some(items) = value.get_ref().as_array() else {
            return Err(p.err(
                value.span().start,
                format!("`{key_name}` must be a list of entries: {key_name} = [ {{ on = \"q\", run = \"quit\" }} ]"),
            ));
        };
        let mut entries: Vec<KeymapEntry> = Vec::new();
        for item in items.iter() {
            let (entry, at) = p.entry(key_name, item)?;
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
                return Err(p.err(at, message));
            }
            entries.push(entry);
        }
        out.layers.push((*layer, entries));
    }
    out.layers.sort_by_key(|(l, _)| *l);
    Ok(out)
}
