//! The loader the CLI calls: find and parse `warroom.toml`, pick the theme and keymap, resolve
//! paths. [`load`] never fails (broken user files fall back to presets and become warnings);
//! [`check`] reports every problem in the configuration's own files for `warroom check` (which
//! checks the runbook files beside it: configuration knows nothing of runbooks).

use std::path::{Path, PathBuf};

use super::error::{ConfigError, Seg, SelectError, SpannedDoc, read_file};
use super::keymap::Keymap;
use super::model::Config;
use super::paths::{Environment, Paths, find_config_file};
use super::theme::Theme;
use super::validate::validate;

/// Choices from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--theme NAME|PATH`.
    pub theme: Option<String>,
    /// `--keymap NAME|PATH`.
    pub keymap: Option<String>,
}

/// Everything configuration gives the app.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The parsed config; `None` when there is none or it is broken (see `warnings`).
    pub config: Option<Config>,
    /// The config file that was selected, even when it was missing or broken.
    pub config_path: Option<PathBuf>,
    /// Active theme (the no-colour theme when `NO_COLOR` is set).
    pub theme: Theme,
    /// Active keymap.
    pub keymap: Keymap,
    /// Resolved directories.
    pub paths: Paths,
    /// Problems with user files that were worked around; the TUI shows them.
    pub warnings: Vec<ConfigError>,
}

/// Parses `warroom.toml` text: syntax, keys and types, then semantic checks. The error is the
/// first problem (by position).
pub fn parse_config(text: &str, file: &Path) -> Result<Config, ConfigError> {
    parse_config_all(text, file).map_err(|errors| {
        errors.into_iter().next().unwrap_or_else(|| ConfigError::whole_file(file, "invalid configuration"))
    })
}

/// Like [`parse_config`] but returns every problem (at least one on error), sorted by
/// position: unknown keys, wrong types and missing keys (see [`super::recover`]), and the
/// semantic problems of everything else in the file.
pub fn parse_config_all(text: &str, file: &Path) -> Result<Config, Vec<ConfigError>> {
    let doc = SpannedDoc::parse(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    if let Ok(config) = toml::from_str::<Config>(text) {
        let errors = validate(&config, &doc, file, text);
        return if errors.is_empty() { Ok(config) } else { Err(errors) };
    }
    let recovered = super::recover::recover::<Config>(text, file);
    let mut errors = recovered.problems;
    if let Some((rest, rest_text)) = recovered.rest
        && let Ok(rest_doc) = SpannedDoc::parse(&rest_text)
    {
        // The rest keeps every position of the original (blanked entries are spaces).
        errors.extend(validate(&rest, &rest_doc, file, text));
    }
    errors.sort_by_key(|e| (e.line, e.column));
    errors.dedup();
    Err(errors)
}

/// Loads configuration from the real environment. See [`load_in`].
pub fn load(opts: &LoadOptions) -> Loaded {
    load_in(opts, &Environment::from_process())
}

/// Every problem with the selected config, theme and keymap and with every file in the user
/// theme and keymap dirs, from the real environment. Empty means all is well.
pub fn check(opts: &LoadOptions) -> Vec<ConfigError> {
    check_in(opts, &Environment::from_process())
}

/// The config file as read: path, text, and the parse outcome.
struct ConfigSource {
    path: PathBuf,
    text: String,
    result: Result<Config, Vec<ConfigError>>,
}

fn read_config(opts: &LoadOptions, env: &Environment) -> Option<ConfigSource> {
    let path = find_config_file(opts.config.as_deref(), env)?;
    if !path.is_file() {
        let message = "config file not found: write one (examples/warroom.toml is a commented example) \
                       or try `warroom drill`";
        return Some(ConfigSource {
            path: path.clone(),
            text: String::new(),
            result: Err(vec![ConfigError::whole_file(&path, message)]),
        });
    }
    let (text, result) = match read_file(&path) {
        Ok(text) => {
            let result = parse_config_all(&text, &path);
            (text, result)
        }
        Err(e) => (String::new(), Err(vec![e])),
    };
    Some(ConfigSource { path, text, result })
}

/// Where a theme or keymap choice came from, for resolving and for messages.
struct Choice<'a> {
    spec: &'a str,
    origin: PathBuf,
    /// Position of `[ui].KEY` in the config file, when chosen there.
    at: Option<(usize, usize)>,
    base_dir: Option<PathBuf>,
}

impl Choice<'_> {
    fn error(&self, e: SelectError) -> ConfigError {
        match (e, self.at) {
            (SelectError::NotFound(message), Some((line, column))) => {
                ConfigError { file: self.origin.clone(), line, column, message }
            }
            (e, _) => e.into_config_error(&self.origin),
        }
    }
}

/// The theme (`key = "theme"`) or keymap choice: the flag, else `[ui]`, else `None`.
fn choice<'a>(flag: Option<&'a str>, key: &str, src: Option<&'a ConfigSource>) -> Option<Choice<'a>> {
    if let Some(spec) = flag {
        return Some(Choice { spec, origin: PathBuf::from(format!("--{key}")), at: None, base_dir: None });
    }
    let src = src?;
    let ui = &src.result.as_ref().ok()?.ui;
    let spec = if key == "theme" { ui.theme.as_deref()? } else { ui.keymap.as_deref()? };
    let at = SpannedDoc::parse(&src.text)
        .ok()
        .map(|doc| super::error::line_col(&src.text, doc.locate(&[Seg::Key("ui"), Seg::Key(key)]).start));
    Some(Choice { spec, origin: src.path.clone(), at, base_dir: src.path.parent().map(Path::to_path_buf) })
}

fn select_theme(choice: &Choice<'_>, paths: &Paths) -> Result<Theme, ConfigError> {
    Theme::select(choice.spec, paths.themes_dir().as_deref(), choice.base_dir.as_deref())
        .map_err(|e| choice.error(e))
}

fn select_keymap(choice: &Choice<'_>, paths: &Paths) -> Result<Keymap, ConfigError> {
    Keymap::select(choice.spec, paths.keymaps_dir().as_deref(), choice.base_dir.as_deref())
        .map_err(|e| choice.error(e))
}

/// Loads configuration from `env`: a broken config means no config; a broken or unknown theme
/// or keymap means the preset of that name (or `default`); each is a warning.
pub fn load_in(opts: &LoadOptions, env: &Environment) -> Loaded {
    let mut warnings = Vec::new();
    let src = read_config(opts, env);
    let config = match &src {
        Some(ConfigSource { result: Ok(c), .. }) => Some(c.clone()),
        Some(ConfigSource { result: Err(errors), .. }) => {
            warnings.extend(errors.iter().cloned());
            None
        }
        None => None,
    };
    let config_path = src.as_ref().map(|s| s.path.clone());
    let paths = Paths::resolve(env, config.as_ref(), config_path.as_deref());

    let theme = if env.no_color {
        Theme::no_color()
    } else {
        match choice(opts.theme.as_deref(), "theme", src.as_ref()) {
            None => Theme::fallback(),
            Some(c) => select_theme(&c, &paths).unwrap_or_else(|e| {
                warnings.push(e);
                Theme::preset(c.spec).unwrap_or_else(Theme::fallback)
            }),
        }
    };
    let keymap = match choice(opts.keymap.as_deref(), "keymap", src.as_ref()) {
        None => Keymap::fallback(),
        Some(c) => select_keymap(&c, &paths).unwrap_or_else(|e| {
            warnings.push(e);
            Keymap::preset(c.spec).unwrap_or_else(Keymap::fallback)
        }),
    };
    Loaded { config, config_path, theme, keymap, paths, warnings }
}

/// `.toml` files directly in `dir` (sorted), for checking every user theme and keymap.
fn toml_files(dir: Option<&Path>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every problem, from `env` (see [`check`]). `NO_COLOR` does not skip checking the theme.
pub fn check_in(opts: &LoadOptions, env: &Environment) -> Vec<ConfigError> {
    let mut errors: Vec<ConfigError> = Vec::new();
    let src = read_config(opts, env);
    if let Some(ConfigSource { result: Err(e), .. }) = &src {
        errors.extend(e.iter().cloned());
    }
    let config = src.as_ref().and_then(|s| s.result.as_ref().ok());
    let paths = Paths::resolve(env, config, src.as_ref().map(|s| s.path.as_path()));

    // A broken file chosen by name or path is checked whole (every problem in it, not the
    // first); the user theme and keymap dirs are checked file by file below.
    let config_file = src.as_ref().map(|s| s.path.clone());
    // The problem is in a theme or keymap file (not a name in the config or on the flag).
    let in_own_file =
        |e: &ConfigError| e.line > 0 && e.file.is_file() && Some(&e.file) != config_file.as_ref();
    let themes_dir = paths.themes_dir();
    let whole_theme = |f: &Path| match read_file(f) {
        Ok(text) => Theme::check_toml(&text, f, themes_dir.as_deref()),
        Err(e) => vec![e],
    };
    if let Some(c) = choice(opts.theme.as_deref(), "theme", src.as_ref())
        && let Err(e) = select_theme(&c, &paths)
    {
        if in_own_file(&e) { errors.extend(whole_theme(&e.file)) } else { errors.push(e) }
    }
    for file in toml_files(themes_dir.as_deref()) {
        errors.extend(whole_theme(&file));
    }
    let keymaps_dir = paths.keymaps_dir();
    let whole_keymap = |f: &Path| match read_file(f) {
        Ok(text) => Keymap::check_toml(&text, f, keymaps_dir.as_deref()),
        Err(e) => vec![e],
    };
    if let Some(c) = choice(opts.keymap.as_deref(), "keymap", src.as_ref())
        && let Err(e) = select_keymap(&c, &paths)
    {
        if in_own_file(&e) { errors.extend(whole_keymap(&e.file)) } else { errors.push(e) }
    }
    for file in toml_files(keymaps_dir.as_deref()) {
        errors.extend(whole_keymap(&file));
    }
    let mut unique: Vec<ConfigError> = Vec::new();
    for e in errors {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    unique
}
