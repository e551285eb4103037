//! Themes: a `[palette]` of named colours and semantic slots, with `inherits`.
//!
//! Presets are embedded; user themes in `<config dir>/themes/NAME.toml` override presets of the
//! same name. A theme without `inherits` inherits the embedded `default`, so every slot ends up
//! defined. Colour references are resolved after inheritance, against the merged palette, so a
//! child theme can recolour its parent by redefining palette names. The UI only relies on
//! [`Theme::style`] and [`Slot`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

use super::error::{ConfigError, SelectError, is_path_spec, one_of, read_file};
use super::theme_parse::{
    COLOUR_FORMS, ColorRef, StyleSpec, ThemeFile, parse_colour, parse_theme_file, parse_theme_file_all,
};

/// A semantic place that gets a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Default text.
    Text,
    /// Secondary text (ages, hints).
    Dim,
    /// Header bar.
    Header,
    /// DRILL badge.
    BadgeDrill,
    /// LIVE badge.
    BadgeLive,
    /// READ-ONLY badge.
    BadgeReadOnly,
    /// Healthy / fresh / done.
    StatusHealthy,
    /// Degraded / warning / pending.
    StatusDegraded,
    /// Down / failed / alarm.
    StatusDown,
    /// Stale data.
    StatusStale,
    /// Pane border.
    PaneBorder,
    /// Focused pane border.
    PaneBorderFocused,
    /// Pane title.
    PaneTitle,
    /// Selected row.
    Selection,
    /// Table header row.
    TableHeader,
    /// Confirm dialog border/title for low risk.
    Confirm,
    /// Confirm dialog for high risk.
    ConfirmDanger,
    /// Alarm banner (split brain, disagreement).
    Alarm,
    /// Warnings (bad user files).
    Warning,
}

impl Slot {
    /// Every slot with its TOML key.
    pub const ALL: &'static [(Slot, &'static str)] = &[
        (Slot::Text, "text"),
        (Slot::Dim, "dim"),
        (Slot::Header, "header"),
        (Slot::BadgeDrill, "badge.drill"),
        (Slot::BadgeLive, "badge.live"),
        (Slot::BadgeReadOnly, "badge.read_only"),
        (Slot::StatusHealthy, "status.healthy"),
        (Slot::StatusDegraded, "status.degraded"),
        (Slot::StatusDown, "status.down"),
        (Slot::StatusStale, "status.stale"),
        (Slot::PaneBorder, "pane.border"),
        (Slot::PaneBorderFocused, "pane.border_focused"),
        (Slot::PaneTitle, "pane.title"),
        (Slot::Selection, "selection"),
        (Slot::TableHeader, "table.header"),
        (Slot::Confirm, "confirm"),
        (Slot::ConfirmDanger, "confirm.danger"),
        (Slot::Alarm, "alarm"),
        (Slot::Warning, "warning"),
    ];

    /// The TOML key of a slot.
    pub fn key(self) -> &'static str {
        Slot::ALL.iter().find(|(s, _)| *s == self).map_or("?", |(_, k)| k)
    }
}

/// Embedded preset themes: (name, TOML text).
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// A resolved theme: a style per slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Style per slot, indexed like [`Slot::ALL`].
    pub styles: Vec<Style>,
}

impl Theme {
    /// The style of a slot.
    pub fn style(&self, slot: Slot) -> Style {
        let i = Slot::ALL.iter().position(|(s, _)| *s == slot).unwrap_or(0);
        self.styles.get(i).copied().unwrap_or_default()
    }

    /// An embedded preset by name (`default`, `light`, `high-contrast`, `mono`).
    pub fn preset(name: &str) -> Option<Theme> {
        let file = preset_file(name)?.ok()?;
        resolve_chain(file, None).ok()
    }

    /// Names of the embedded presets.
    pub fn preset_names() -> Vec<&'static str> {
        PRESETS.iter().map(|(n, _)| *n).collect()
    }

    /// The theme used when `NO_COLOR` is set: the `mono` preset with every colour removed.
    pub fn no_color() -> Theme {
        let mut theme = Theme::preset("mono").unwrap_or_else(Theme::fallback).without_colours();
        theme.name = "no-color".into();
        theme
    }

    /// This theme with every colour removed (modifiers kept).
    pub fn without_colours(&self) -> Theme {
        let styles =
            self.styles.iter().map(|s| Style { fg: None, bg: None, underline_color: None, ..*s }).collect();
        Theme { name: self.name.clone(), styles }
    }

    /// The embedded `default` preset (or, should it ever fail to parse, built-in styles).
    pub fn fallback() -> Theme {
        Theme::preset("default").unwrap_or_else(builtin_default)
    }

    /// Resolves a theme chosen by name or path. Names look in `user_dir` (`NAME.toml`) first,
    /// then the presets; a path (containing `/` or ending in `.toml`) is read, relative to
    /// `base_dir` when given and relative.
    pub fn select(
        spec: &str,
        user_dir: Option<&Path>,
        base_dir: Option<&Path>,
    ) -> Result<Theme, SelectError> {
        let file = if is_path_spec(spec) {
            let path = match base_dir {
                Some(base) if Path::new(spec).is_relative() => base.join(spec),
                _ => PathBuf::from(spec),
            };
            if !path.is_file() {
                return Err(SelectError::NotFound(format!("theme file `{}` not found", path.display())));
            }
            user_file(&path)?
        } else {
            match lookup(spec, user_dir, &[]) {
                Some(found) => found?,
                None => {
                    let known = known_names(user_dir);
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(SelectError::NotFound(format!(
                        "unknown theme `{spec}`: expected {} or a path to a .toml file",
                        one_of(&known)
                    )));
                }
            }
        };
        resolve_chain(file, user_dir).map_err(SelectError::Invalid)
    }

    /// Parses and resolves a theme file's text (for `warroom check` and tests).
    pub fn from_toml(text: &str, file: &Path, user_dir: Option<&Path>) -> Result<Theme, ConfigError> {
        let name = file.file_stem().map_or_else(|| "theme".into(), |s| s.to_string_lossy().into_owned());
        resolve_chain(parse_theme_file(text, file, &name)?, user_dir)
    }

    /// Every problem of a theme file's text (for `warroom check`): each in the file itself,
    /// or, when it parses, each in resolving it (its `inherits`, colour references).
    pub fn check_toml(text: &str, file: &Path, user_dir: Option<&Path>) -> Vec<ConfigError> {
        let name = file.file_stem().map_or_else(|| "theme".into(), |s| s.to_string_lossy().into_owned());
        match parse_theme_file_all(text, file, &name) {
            Err(all) => all,
            Ok(parsed) => resolve_chain_all(parsed, user_dir).err().unwrap_or_default(),
        }
    }
}

/// Where a theme file came from (for inheritance cycles and self-overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Preset(String),
    User(PathBuf),
}

fn preset_file(name: &str) -> Option<Result<ThemeFile, ConfigError>> {
    let (name, text) = PRESETS.iter().find(|(n, _)| *n == name)?;
    let parsed = parse_theme_file(text, &PathBuf::from(format!("themes/{name}.toml")), name);
    Some(parsed.map(|f| ThemeFile { preset: true, ..f }))
}

fn user_file(path: &Path) -> Result<ThemeFile, ConfigError> {
    let text = read_file(path)?;
    let name = path.file_stem().map_or_else(|| "theme".into(), |s| s.to_string_lossy().into_owned());
    parse_theme_file(&text, path, &name)
}

fn origin_of(file: &ThemeFile) -> Origin {
    if file.preset { Origin::Preset(file.name.clone()) } else { Origin::User(file.file.clone()) }
}

/// A theme by name: the user file (unless already in the chain), else the preset (unless
/// already in the chain). `None` when neither exists.
fn lookup(name: &str, user_dir: Option<&Path>, visited: &[Origin]) -> Option<Result<ThemeFile, ConfigError>> {
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        if path.is_file() && !visited.contains(&Origin::User(path.clone())) {
            return Some(user_file(&path));
        }
    }
    if visited.contains(&Origin::Preset(name.to_string())) {
        return None;
    }
    preset_file(name)
}

fn known_names(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = PRESETS.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml")
                && let Some(stem) = p.file_stem()
            {
                let stem = stem.to_string_lossy().into_owned();
                if !names.contains(&stem) {
                    names.push(stem);
                }
            }
        }
    }
    names
}

/// [`resolve_chain_all`], its first problem.
fn resolve_chain(leaf: ThemeFile, user_dir: Option<&Path>) -> Result<Theme, ConfigError> {
    resolve_chain_all(leaf, user_dir).map_err(|mut all| all.swap_remove(0))
}

/// Follows `inherits` (explicit, or implicitly the `default` preset) up to the root, merges
/// palettes and slots root-first, and resolves colours. On error: every unknown colour, or
/// the one problem of the inheritance chain.
fn resolve_chain_all(leaf: ThemeFile, user_dir: Option<&Path>) -> Result<Theme, Vec<ConfigError>> {
    let mut visited = vec![origin_of(&leaf)];
    let mut chain = vec![leaf];
    loop {
        let cur = chain.last().expect("chain starts non-empty");
        let parent = match &cur.inherits {
            Some((name, line, column)) => match lookup(name, user_dir, &visited) {
                Some(found) => found.map_err(|e| vec![e])?,
                None => {
                    let known = known_names(user_dir);
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    let cycle = known.contains(&name.as_str());
                    let message = if cycle {
                        format!("`inherits = \"{name}\"` makes a cycle: a theme cannot inherit from itself")
                    } else {
                        format!("unknown theme `{name}` in `inherits`: expected {}", one_of(&known))
                    };
                    return Err(vec![ConfigError {
                        file: cur.file.clone(),
                        line: *line,
                        column: *column,
                        message,
                    }]);
                }
            },
            None if visited.contains(&Origin::Preset("default".into())) => break,
            None => preset_file("default").expect("default preset is embedded").map_err(|e| vec![e])?,
        };
        visited.push(origin_of(&parent));
        chain.push(parent);
    }
    let mut palette: HashMap<&str, Color> = HashMap::new();
    let mut slots: HashMap<Slot, (&StyleSpec, &Path)> = HashMap::new();
    for file in chain.iter().rev() {
        palette.extend(file.palette.iter().map(|(n, c)| (n.as_str(), *c)));
        slots.extend(file.slots.iter().map(|(s, spec)| (*s, (spec, file.file.as_path()))));
    }
    let leaf = &chain[0];
    let mut styles = Vec::with_capacity(Slot::ALL.len());
    let mut errors = Vec::new();
    for (slot, key) in Slot::ALL {
        let Some((spec, file)) = slots.get(slot) else {
            let root = chain.last().map_or(leaf.file.as_path(), |f| f.file.as_path());
            errors.push(ConfigError::whole_file(root, format!("slot `{key}` is not defined")));
            continue;
        };
        let colour = |r: &Option<ColorRef>| -> Result<Option<Color>, ConfigError> {
            let Some(r) = r else { return Ok(None) };
            if let Some(c) = palette.get(r.text.as_str()).copied().or_else(|| parse_colour(&r.text)) {
                return Ok(Some(c));
            }
            let mut names: Vec<&str> = palette.keys().copied().collect();
            names.sort_unstable();
            Err(ConfigError {
                file: file.to_path_buf(),
                line: r.line,
                column: r.column,
                message: format!(
                    "unknown colour `{}`: expected a [palette] name ({}) or {COLOUR_FORMS}",
                    r.text,
                    names.join(", ")
                ),
            })
        };
        let mut resolved = |r: &Option<ColorRef>| {
            colour(r).unwrap_or_else(|e| {
                errors.push(e);
                None
            })
        };
        styles.push(Style {
            fg: resolved(&spec.fg),
            bg: resolved(&spec.bg),
            underline_color: resolved(&spec.underline),
            add_modifier: spec.modifiers,
            sub_modifier: Modifier::empty(),
        });
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        return Err(errors);
    }
    Ok(Theme { name: leaf.name.clone(), styles })
}

/// Last-resort styles if the embedded default could not be parsed (a test guards against it).
fn builtin_default() -> Theme {
    let styles = Slot::ALL
        .iter()
        .map(|(s, _)| match s {
            Slot::Dim | Slot::PaneBorder => Style::default().fg(Color::DarkGray),
            Slot::Header | Slot::PaneTitle => Style::default().add_modifier(Modifier::BOLD),
            Slot::BadgeDrill => Style::default().fg(Color::Black).bg(Color::Yellow),
            Slot::BadgeLive | Slot::Alarm => Style::default().fg(Color::White).bg(Color::Red),
            Slot::BadgeReadOnly => Style::default().fg(Color::Black).bg(Color::Cyan),
            Slot::StatusHealthy => Style::default().fg(Color::Green),
            Slot::StatusDegraded | Slot::Warning => Style::default().fg(Color::Yellow),
            Slot::StatusDown | Slot::ConfirmDanger => {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            }
            Slot::StatusStale => Style::default().fg(Color::Magenta),
            Slot::PaneBorderFocused | Slot::Confirm => Style::default().fg(Color::Cyan),
            Slot::Selection => Style::default().add_modifier(Modifier::REVERSED),
            Slot::TableHeader => Style::default().add_modifier(Modifier::UNDERLINED),
            Slot::Text => Style::default(),
        })
        .collect();
    Theme { name: "default".into(), styles }
}
