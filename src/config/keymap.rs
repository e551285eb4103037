//! Keymaps as data: one array per layer, entries `{ on = "x" | ["g","p"], run = "action", desc = "..." }`.
//!
//! Presets (`default`, `vim`) are embedded. A user keymap overrides only the bindings it names
//! (same layer and same keys replace; new keys add; `run = "unbind"` removes). The UI relies on
//! [`Keymap::bindings`] and [`Keymap::key_for`]; the event loop on [`Key::from_event`] and
//! [`Keymap::lookup`].

use std::path::{Path, PathBuf};

use crate::command::Command;

use super::error::{ConfigError, SelectError, is_path_spec, one_of, read_file};
use super::key::Key;
use super::keymap_parse::{KeymapFile, parse_keymap_file, parse_keymap_file_all};

/// A keymap layer, active depending on focus and modal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyLayer {
    /// Always active unless a modal captures keys.
    Global,
    /// Any live pane (tables).
    Pane,
    /// Steps pane focused.
    Steps,
    /// Checklist pane focused.
    Checklist,
    /// Actions menu open.
    Actions,
    /// Confirm dialog open.
    Confirm,
    /// Help overlay open.
    Help,
}

impl KeyLayer {
    /// Every layer with its TOML section name.
    pub const ALL: &'static [(KeyLayer, &'static str)] = &[
        (KeyLayer::Global, "global"),
        (KeyLayer::Pane, "pane"),
        (KeyLayer::Steps, "steps"),
        (KeyLayer::Checklist, "checklist"),
        (KeyLayer::Actions, "actions"),
        (KeyLayer::Confirm, "confirm"),
        (KeyLayer::Help, "help"),
    ];
}

/// One binding: a key sequence to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Key sequence (one key, or a chord of several).
    pub keys: Vec<Key>,
    /// Command.
    pub command: Command,
    /// Description for help.
    pub desc: String,
}

impl Binding {
    /// Keys as shown in help, e.g. `g p`.
    pub fn keys_text(&self) -> String {
        self.keys.iter().map(|k| k.0.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// Result of looking up keys typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeymapResult {
    /// A command matched.
    Matched(Command),
    /// The keys are a prefix of a chord: wait for more.
    Pending,
    /// Nothing matched.
    NotFound,
}

/// A resolved keymap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keymap {
    /// Keymap name.
    pub name: String,
    /// Bindings per layer.
    pub layers: Vec<(KeyLayer, Vec<Binding>)>,
}

impl Keymap {
    /// Bindings of one layer (for the help overlay).
    pub fn bindings(&self, layer: KeyLayer) -> &[Binding] {
        self.layers.iter().find(|(l, _)| *l == layer).map_or(&[], |(_, b)| b.as_slice())
    }

    /// The first key sequence bound to `command` in `layer` (for footer hints).
    pub fn key_for(&self, layer: KeyLayer, command: Command) -> Option<String> {
        self.bindings(layer).iter().find(|b| b.command == command).map(Binding::keys_text)
    }

    /// Whether any binding of any layer uses `key`.
    pub fn binds(&self, key: &Key) -> bool {
        self.layers.iter().flat_map(|(_, b)| b).any(|b| b.keys.contains(key))
    }

    /// Look up the keys typed so far in the active layers, most specific first. A layer that
    /// matches exactly or holds a chord starting with `typed` decides (`Matched` / `Pending`);
    /// only otherwise is the next layer asked, so a chord in a specific layer is not cut short
    /// by a single key of a more general one.
    pub fn lookup(&self, active: &[KeyLayer], typed: &[Key]) -> KeymapResult {
        if typed.is_empty() {
            return KeymapResult::NotFound;
        }
        for layer in active {
            let mut pending = false;
            for b in self.bindings(*layer) {
                if b.keys == typed {
                    return KeymapResult::Matched(b.command);
                }
                if b.keys.len() > typed.len() && b.keys[..typed.len()] == *typed {
                    pending = true;
                }
            }
            if pending {
                return KeymapResult::Pending;
            }
        }
        KeymapResult::NotFound
    }

    /// An embedded preset by name (`default`, `vim`).
    pub fn preset(name: &str) -> Option<Keymap> {
        let file = preset_file(name)?.ok()?;
        resolve(file, None).ok()
    }

    /// Names of the embedded presets.
    pub fn preset_names() -> Vec<&'static str> {
        PRESETS.iter().map(|(n, _)| *n).collect()
    }

    /// The embedded `default` preset (empty if it could not be parsed; a test guards against it).
    pub fn fallback() -> Keymap {
        Keymap::preset("default").unwrap_or_default()
    }

    /// Resolves a keymap chosen by name or path. A name uses `user_dir/NAME.toml` merged over
    /// the preset of that name (or its `inherits`, or `default`), else the preset; a path (with
    /// `/` or ending in `.toml`, relative to `base_dir` when given) is merged over its
    /// `inherits` or `default`.
    pub fn select(
        spec: &str,
        user_dir: Option<&Path>,
        base_dir: Option<&Path>,
    ) -> Result<Keymap, SelectError> {
        let file = if is_path_spec(spec) {
            let path = match base_dir {
                Some(base) if Path::new(spec).is_relative() => base.join(spec),
                _ => PathBuf::from(spec),
            };
            if !path.is_file() {
                return Err(SelectError::NotFound(format!("keymap file `{}` not found", path.display())));
            }
            user_file(&path)
        } else {
            match lookup_file(spec, user_dir, &[]) {
                Some(found) => found,
                None => {
                    let known = known_names(user_dir);
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(SelectError::NotFound(format!(
                        "unknown keymap `{spec}`: expected {} or a path to a .toml file",
                        one_of(&known)
                    )));
                }
            }
        };
        file.and_then(|f| resolve(f, user_dir)).map_err(SelectError::Invalid)
    }

    /// Parses a keymap file's text and merges it over its base (for `warroom check` and tests).
    pub fn from_toml(text: &str, file: &Path, user_dir: Option<&Path>) -> Result<Keymap, ConfigError> {
        resolve(parse_keymap_file(text, file, &stem(file), false)?, user_dir)
    }

    /// Every problem of a keymap file's text (for `warroom check`): each in the file itself,
    /// or, when it parses, the one in resolving its `inherits`.
    pub fn check_toml(text: &str, file: &Path, user_dir: Option<&Path>) -> Vec<ConfigError> {
        match parse_keymap_file_all(text, file, &stem(file), false) {
            Err(all) => all,
            Ok(parsed) => resolve(parsed, user_dir).err().into_iter().collect(),
        }
    }

    /// Applies `file`'s entries over this keymap: same layer and keys replace, new keys add
    /// (dropping bindings they would shadow as chord prefixes), `unbind` removes.
    pub fn merge(&mut self, file: &KeymapFile) {
        for (layer, entries) in &file.layers {
            let idx = match self.layers.iter().position(|(l, _)| l == layer) {
                Some(i) => i,
                None => {
                    self.layers.push((*layer, Vec::new()));
                    self.layers.sort_by_key(|(l, _)| *l);
                    self.layers.iter().position(|(l, _)| l == layer).unwrap_or(0)
                }
            };
            let bindings = &mut self.layers[idx].1;
            for e in entries {
                let new = e.command.map(|command| Binding {
                    keys: e.keys.clone(),
                    command,
                    desc: e.desc.clone().unwrap_or_else(|| command.description().to_string()),
                });
                if let Some(pos) = bindings.iter().position(|b| b.keys == e.keys) {
                    match new {
                        Some(b) => bindings[pos] = b,
                        None => {
                            bindings.remove(pos);
                        }
                    }
                } else {
                    bindings.retain(|b| !is_prefix(&b.keys, &e.keys) && !is_prefix(&e.keys, &b.keys));
                    bindings.extend(new);
                }
            }
        }
        self.name.clone_from(&file.name);
    }
}

/// Embedded preset keymaps: (name, TOML text).
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// True when `a` is a strict prefix of `b`.
pub(crate) fn is_prefix(a: &[Key], b: &[Key]) -> bool {
    a.len() < b.len() && b[..a.len()] == *a
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(|| "keymap".into(), |s| s.to_string_lossy().into_owned())
}

fn preset_file(name: &str) -> Option<Result<KeymapFile, ConfigError>> {
    let (name, text) = PRESETS.iter().find(|(n, _)| *n == name)?;
    Some(parse_keymap_file(text, &PathBuf::from(format!("keymaps/{name}.toml")), name, true))
}

fn user_file(path: &Path) -> Result<KeymapFile, ConfigError> {
    parse_keymap_file(&read_file(path)?, path, &stem(path), false)
}

/// A keymap file by name: the user file (unless already used), else the preset (unless used).
fn lookup_file(
    name: &str,
    user_dir: Option<&Path>,
    used: &[PathBuf],
) -> Option<Result<KeymapFile, ConfigError>> {
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        if path.is_file() && !used.contains(&path) {
            return Some(user_file(&path));
        }
    }
    let preset = PathBuf::from(format!("keymaps/{name}.toml"));
    if used.contains(&preset) {
        return None;
    }
    preset_file(name)
}

fn known_names(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = PRESETS.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for p in entries.flatten().map(|e| e.path()) {
            if p.extension().is_some_and(|x| x == "toml") && !names.contains(&stem(&p)) {
                names.push(stem(&p));
            }
        }
    }
    names
}

/// Builds the keymap of `leaf`: its base chain (explicit `inherits`; else, for a user file, the
/// preset of the same name or `default`; a preset without `inherits` is a root), then each
/// file merged over the previous one.
fn resolve(leaf: KeymapFile, user_dir: Option<&Path>) -> Result<Keymap, ConfigError> {
    let mut used = vec![leaf.file.clone()];
    let mut chain = vec![leaf];
    loop {
        let cur = &chain[chain.len() - 1];
        let parent = match &cur.inherits {
            Some((name, line, column)) => match lookup_file(name, user_dir, &used) {
                Some(found) => found?,
                None => {
                    let known = known_names(user_dir);
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    let message = if known.contains(&name.as_str()) {
                        format!("`inherits = \"{name}\"` makes a cycle: a keymap cannot inherit from itself")
                    } else {
                        format!("unknown keymap `{name}` in `inherits`: expected {}", one_of(&known))
                    };
                    return Err(ConfigError {
                        file: cur.file.clone(),
                        line: *line,
                        column: *column,
                        message,
                    });
                }
            },
            None if cur.preset => break,
            None => {
                let base = if preset_file(&cur.name).is_some() { cur.name.clone() } else { "default".into() };
                match lookup_file(&base, None, &used) {
                    Some(found) => found?,
                    None => break,
                }
            }
        };
        used.push(parent.file.clone());
        chain.push(parent);
    }
    let mut keymap = Keymap::default();
    for file in chain.iter().rev() {
        keymap.merge(file);
    }
    Ok(keymap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Vec<Key> {
        s.split(' ').map(|k| Key::parse(k).unwrap()).collect()
    }

    #[test]
    fn select_by_name_path_and_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("mine.toml"),
            "inherits = \"vim\"\nglobal = [ { on = \"Q\", run = \"quit\" } ]\n",
        )
        .unwrap();
        let by_name = Keymap::select("mine", Some(dir), None).unwrap();
        assert_eq!(by_name.name, "mine");
        assert_eq!(by_name.lookup(&[KeyLayer::Global], &k("Q")), KeymapResult::Matched(Command::Quit));
        assert_eq!(by_name.lookup(&[KeyLayer::Pane], &k("g g")), KeymapResult::Matched(Command::ScrollTop));
        let by_path = Keymap::select("mine.toml", None, Some(dir)).unwrap();
        assert_eq!(by_path, by_name);
        match Keymap::select("emacs", Some(dir), None) {
            Err(SelectError::NotFound(m)) => assert!(m.contains("`default`, `vim` or `mine`"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Keymap::select("nope.toml", None, Some(dir)), Err(SelectError::NotFound(_))));
    }

    #[test]
    fn inherits_cycles_and_self_overrides() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // a user `vim.toml` without inherits builds on the vim preset, not on itself
        std::fs::write(dir.join("vim.toml"), "help = [ { on = \"x\", run = \"close\" } ]\n").unwrap();
        let vim = Keymap::select("vim", Some(dir), None).unwrap();
        assert_eq!(vim.lookup(&[KeyLayer::Help], &k("x")), KeymapResult::Matched(Command::Close));
        assert_eq!(vim.lookup(&[KeyLayer::Global], &k("h")), KeymapResult::Matched(Command::FocusPrev));
        std::fs::write(dir.join("a.toml"), "inherits = \"b\"\n").unwrap();
        std::fs::write(dir.join("b.toml"), "\n\ninherits = \"a\"\n").unwrap();
        match Keymap::select("a", Some(dir), None) {
            Err(SelectError::Invalid(e)) => {
                assert_eq!((e.line, e.column), (3, 12));
                assert!(e.message.contains("cycle"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_typed_keys_match_nothing() {
        let km = Keymap::fallback();
        assert_eq!(km.lookup(&[KeyLayer::Global], &[]), KeymapResult::NotFound);
        assert_eq!(km.lookup(&[], &k("q")), KeymapResult::NotFound);
    }
}
