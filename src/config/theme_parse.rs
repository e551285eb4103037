//! Parsing one theme file into a [`ThemeFile`]: palette colours checked, slot styles kept with
//! unresolved colour references (a child theme's palette may still redefine them).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, SpannedDoc, closest, one_of};
use super::theme::Slot;

/// What a colour may be written as (for messages).
pub const COLOUR_FORMS: &str = "`#rrggbb`, an index 0-255, or a colour name (black, red, green, yellow, blue, \
     magenta, cyan, gray, dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, \
     light-cyan, white, reset)";

/// Keys of a slot's style table.
pub const STYLE_KEYS: &[&str] =
    &["fg", "bg", "underline_color", "bold", "dim", "italic", "underlined", "reversed", "crossed_out"];

const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// A colour as written: a palette name or a colour, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorRef {
    /// The text written.
    pub text: String,
    /// Position (1-based line).
    pub line: usize,
    /// Position (1-based column).
    pub column: usize,
}

/// A slot's style before colour references are resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StyleSpec {
    /// Foreground.
    pub fg: Option<ColorRef>,
    /// Background.
    pub bg: Option<ColorRef>,
    /// Underline colour.
    pub underline: Option<ColorRef>,
    /// Modifiers switched on.
    pub modifiers: Modifier,
}

/// One parsed theme file.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeFile {
    /// Theme name (preset name or file stem).
    pub name: String,
    /// File (for messages).
    pub file: PathBuf,
    /// `inherits = "NAME"` with its position (line, column).
    pub inherits: Option<(String, usize, usize)>,
    /// `[palette]` entries.
    pub palette: Vec<(String, Color)>,
    /// Slots this file defines.
    pub slots: Vec<(Slot, StyleSpec)>,
    /// True for an embedded preset.
    pub preset: bool,
}

/// Parses a colour: `#rrggbb`, an index or a ratatui colour name.
pub fn parse_colour(text: &str) -> Option<Color> {
    Color::from_str(text).ok()
}

/// Parses a theme file, collecting every problem rather than stopping at the first.
struct Parser<'a> {
    file: &'a Path,
    text: &'a str,
    errors: std::cell::RefCell<Vec<ConfigError>>,
}

impl Parser<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.file, self.text, offset, message)
    }

    /// Records a problem and lets parsing go on.
    fn push(&self, e: ConfigError) {
        self.errors.borrow_mut().push(e);
    }

    fn colour_ref(&self, value: &Spanned<DeValue<'_>>, what: &str) -> Result<ColorRef, ConfigError> {
        let Some(text) = value.get_ref().as_str() else {
            return Err(self.err(
                value.span().start,
                format!("`{what}` must be a string: a [palette] name or {COLOUR_FORMS}"),
            ));
        };
        // Value spans include the quote; point inside it.
        let (line, column) = super::error::line_col(self.text, value.span().start);
        Ok(ColorRef { text: text.to_string(), line, column })
    }

    fn style(&self, slot: &str, value: &Spanned<DeValue<'_>>) -> Result<StyleSpec, ConfigError> {
        let table = match value.get_ref() {
            DeValue::String(_) => {
                return Ok(StyleSpec { fg: Some(self.colour_ref(value, "fg")?), ..Default::default() });
            }
            DeValue::Table(t) => t,
            other => {
                return Err(self.err(
                    value.span().start,
                    format!(
                        "slot `{slot}` is a {}: expected a colour string or a table like {{ fg = \"green\", bold = true }}",
                        other.type_str()
                    ),
                ));
            }
        };
        let mut spec = StyleSpec::default();
        let mut first: Option<ConfigError> = None;
        let mut fail = |e: ConfigError| match &first {
            None => first = Some(e),
            Some(_) => self.push(e),
        };
        for (key, v) in table.iter() {
            let colour = |what| self.colour_ref(v, what);
            match &**key.get_ref() {
                "fg" => colour("fg").map(|c| spec.fg = Some(c)).unwrap_or_else(&mut fail),
                "bg" => colour("bg").map(|c| spec.bg = Some(c)).unwrap_or_else(&mut fail),
                "underline_color" => {
                    colour("underline_color").map(|c| spec.underline = Some(c)).unwrap_or_else(&mut fail)
                }
                k => {
                    let Some((_, m)) = MODIFIERS.iter().find(|(n, _)| *n == k) else {
                        let near = closest(k, STYLE_KEYS.iter().copied());
                        let hint = if near.is_empty() {
                            format!("expected {}", one_of(STYLE_KEYS))
                        } else {
                            format!("did you mean {}? (expected {})", one_of(&near), one_of(STYLE_KEYS))
                        };
                        fail(self.err(
                            key.span().start,
                            format!("unknown style key `{k}` in slot `{slot}`: {hint}"),
                        ));
                        continue;
                    };
                    match v.get_ref().as_bool() {
                        Some(true) => spec.modifiers |= *m,
                        Some(false) => {}
                        None => fail(self.err(v.span().start, format!("`{k}` must be true or false"))),
                    }
                }
            }
        }
        // The first problem is returned (the slot is then skipped), the others recorded.
        match first {
            Some(e) => Err(e),
            None => Ok(spec),
        }
    }

    /// Slots from a table whose keys are slot names or namespaces of them (`[status]` + `healthy`);
    /// each problem is recorded and the slot skipped.
    fn slots(&self, prefix: &str, table: &DeTable<'_>, out: &mut Vec<(Slot, StyleSpec)>) {
        for (key, value) in table.iter() {
            let name = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            let slot = Slot::ALL.iter().find(|(_, k)| *k == name).map(|(s, _)| *s);
            let is_style_table = value
                .get_ref()
                .as_table()
                .is_some_and(|t| t.iter().all(|(k, _)| STYLE_KEYS.contains(&&**k.get_ref())));
            match (slot, value.get_ref()) {
                (Some(slot), DeValue::Table(_)) if is_style_table => match self.style(&name, value) {
                    Ok(spec) => out.push((slot, spec)),
                    Err(e) => self.push(e),
                },
                (_, DeValue::Table(t))
                    if Slot::ALL.iter().any(|(_, k)| k.starts_with(&format!("{name}."))) =>
                {
                    self.slots(&name, t, out);
                }
                (Some(slot), _) => match self.style(&name, value) {
                    Ok(spec) => out.push((slot, spec)),
                    Err(e) => self.push(e),
                },
                (None, _) => {
                    let hints = closest(&name, Slot::ALL.iter().map(|(_, k)| *k));
                    let hint = if hints.is_empty() {
                        format!("expected `inherits`, `palette` or a slot ({})", one_of(&slot_names()))
                    } else {
                        format!(
                            "did you mean {}? (slots are listed in docs/configuration.md)",
                            one_of(&hints)
                        )
                    };
                    self.push(self.err(key.span().start, format!("unknown theme slot `{name}`: {hint}")));
                }
            }
        }
    }
}

fn slot_names() -> Vec<&'static str> {
    Slot::ALL.iter().map(|(_, k)| *k).collect()
}

/// Parses one theme file. `name` is the theme's name (preset name or file stem). The error is
/// the first problem by position ([`parse_theme_file_all`] has them all).
pub fn parse_theme_file(text: &str, file: &Path, name: &str) -> Result<ThemeFile, ConfigError> {
    parse_theme_file_all(text, file, name).map_err(|mut all| all.swap_remove(0))
}

/// Parses one theme file; on error, every problem in it (at least one), sorted by position.
pub fn parse_theme_file_all(text: &str, file: &Path, name: &str) -> Result<ThemeFile, Vec<ConfigError>> {
    let doc = SpannedDoc::parse(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    let p = Parser { file, text, errors: std::cell::RefCell::new(Vec::new()) };
    let mut theme = ThemeFile {
        name: name.to_string(),
        file: file.to_path_buf(),
        inherits: None,
        palette: vec![],
        slots: vec![],
        preset: false,
    };
    let mut slot_table = DeTable::new();
    for (key, value) in doc.root().iter() {
        match &**key.get_ref() {
            "inherits" => {
                let Some(parent) = value.get_ref().as_str() else {
                    p.push(
                        p.err(value.span().start, "`inherits` must be a string: the name of another theme"),
                    );
                    continue;
                };
                let (line, column) = super::error::line_col(text, value.span().start);
                theme.inherits = Some((parent.to_string(), line, column));
            }
            "palette" => {
                let Some(table) = value.get_ref().as_table() else {
                    p.push(p.err(value.span().start, "`palette` must be a table of `name = \"colour\"`"));
                    continue;
                };
                for (k, v) in table.iter() {
                    let is_slot = Slot::ALL.iter().any(|(_, s)| **s == **k.get_ref());
                    if is_slot || v.get_ref().is_table() {
                        p.push(p.err(
                            k.span().start,
                            format!(
                                "`{}` is inside [palette]: put slots before the [palette] header (in TOML, \
                                 every key after a [section] header belongs to that section)",
                                k.get_ref()
                            ),
                        ));
                        continue;
                    }
                    let Some(colour) = v.get_ref().as_str().and_then(parse_colour) else {
                        p.push(p.err(
                            v.span().start,
                            format!(
                                "bad colour for palette entry `{}`: expected {COLOUR_FORMS}",
                                k.get_ref()
                            ),
                        ));
                        continue;
                    };
                    theme.palette.push((k.get_ref().to_string(), colour));
                }
            }
            _ => {
                slot_table.insert(key.clone(), value.clone());
            }
        }
    }
    let mut slots = Vec::new();
    p.slots("", &slot_table, &mut slots);
    theme.slots = slots;
    let mut errors = p.errors.into_inner();
    if errors.is_empty() {
        return Ok(theme);
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ThemeFile, ConfigError> {
        parse_theme_file(text, Path::new("t.toml"), "t")
    }

    #[test]
    fn slots_quoted_dotted_and_nested_forms() {
        let t = parse(
            "inherits = \"default\"\n\
             [status]\ndown = { fg = \"red\", reversed = true }\n\
             [confirm]\nfg = \"cyan\"\ndanger = { bg = \"red\" }\n",
        );
        // `[confirm]` mixing style keys and a sub-slot is ambiguous and rejected
        let err = t.unwrap_err();
        assert_eq!((err.line, err.column), (5, 1), "{err}");
        assert!(err.message.contains("confirm.fg"), "{err}");

        let t = parse(
            "inherits = \"default\"\n\
             \"status.healthy\" = { fg = \"good\", bold = true }\n\
             text = \"white\"\n\
             [status]\ndown = { fg = \"red\", reversed = true }\n\
             [palette]\ngood = \"#00ff00\"\n",
        )
        .unwrap();
        assert_eq!(t.inherits.as_ref().map(|i| i.0.as_str()), Some("default"));
        assert_eq!(t.palette, vec![("good".to_string(), Color::Rgb(0, 255, 0))]);
        let get = |s| t.slots.iter().find(|(x, _)| *x == s).map(|(_, spec)| spec.clone()).unwrap();
        assert_eq!(get(Slot::StatusHealthy).fg.unwrap().text, "good");
        assert_eq!(get(Slot::StatusHealthy).modifiers, Modifier::BOLD);
        assert_eq!(get(Slot::Text).fg.unwrap().text, "white");
        assert_eq!(get(Slot::StatusDown).modifiers, Modifier::REVERSED);
    }

    #[test]
    fn errors_point_at_the_fault() {
        let e = parse("[palette]\nx = \"#12345\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5));
        assert!(e.message.contains("#rrggbb"), "{e}");
        let e = parse("\"status.healty\" = { fg = \"red\" }\n").unwrap_err();
        assert!(e.message.contains("status.healthy"), "{e}");
        let e = parse("text = { fg = \"red\", blink = true }\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 22));
        assert!(e.message.contains("`bold`"), "{e}");
        let e = parse("[palette]\na = \"red\"\n\"status.down\" = { fg = \"a\" }\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.contains("before the [palette] header"), "{e}");
        let e = parse("text = { bold = 1 }\n").unwrap_err();
        assert!(e.message.contains("true or false"), "{e}");
    }
}
