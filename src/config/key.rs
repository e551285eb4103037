//! [`Key`]: one key with modifiers, in a canonical text form shared by keymap files and
//! terminal events, so that a parsed binding and a typed key compare equal.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Named (multi-letter) keys, canonical spelling first, then accepted aliases.
const NAMED: &[(&str, &[&str])] = &[
    ("enter", &["return"]),
    ("esc", &["escape"]),
    ("tab", &[]),
    ("backtab", &[]),
    ("space", &[]),
    ("backspace", &[]),
    ("delete", &["del"]),
    ("insert", &["ins"]),
    ("up", &[]),
    ("down", &[]),
    ("left", &[]),
    ("right", &[]),
    ("pgup", &["pageup"]),
    ("pgdn", &["pagedown"]),
    ("home", &[]),
    ("end", &[]),
];

/// What a key may be written as (for messages).
pub const KEY_FORMS: &str = "a single character (`q`, `?`, `G`), a named key (enter, esc, tab, backtab, space, \
     backspace, delete, insert, up, down, left, right, pgup, pgdn, home, end, f1..f12), optionally \
     prefixed by `ctrl-`, `alt-` or `shift-` (e.g. `ctrl-c`, `shift-tab`)";

/// One key with modifiers, e.g. `ctrl-c`, `enter`, `G`, `backtab`.
///
/// The string is canonical: modifiers in the order `ctrl-`, `alt-`, `shift-`; a shifted
/// character is the character itself (`G`, never `shift-g`); `shift-tab` is `backtab`; a space is
/// `space`. Build keys with [`Key::parse`] or [`Key::from_event`] so they compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(pub String);

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Base key and modifiers, before canonical formatting.
fn compose(ctrl: bool, alt: bool, mut shift: bool, base: Base) -> Key {
    let base = match base {
        Base::Char(c) => {
            let c = if shift { c.to_uppercase().next().unwrap_or(c) } else { c };
            shift = false;
            if c == ' ' { "space".to_string() } else { c.to_string() }
        }
        Base::Named("tab") if shift => {
            shift = false;
            "backtab".to_string()
        }
        Base::Named("backtab") => {
            shift = false;
            "backtab".to_string()
        }
        Base::Named(n) => n.to_string(),
        Base::F(n) => format!("f{n}"),
    };
    let mut s = String::new();
    for (on, prefix) in [(ctrl, "ctrl-"), (alt, "alt-"), (shift, "shift-")] {
        if on {
            s.push_str(prefix);
        }
    }
    s.push_str(&base);
    Key(s)
}

enum Base {
    Char(char),
    Named(&'static str),
    F(u8),
}

impl Key {
    /// Parses a key as written in a keymap (`q`, `G`, `enter`, `ctrl-c`, `alt-x`, `shift-tab`,
    /// `f5`). Modifier and named-key spelling is case-insensitive; a single character is not.
    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = || format!("invalid key `{text}`: expected {KEY_FORMS}");
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        let mut rest = text;
        while rest.chars().count() > 1 {
            let lower = rest.to_ascii_lowercase();
            let flag = if lower.starts_with("ctrl-") {
                &mut ctrl
            } else if lower.starts_with("alt-") {
                &mut alt
            } else if lower.starts_with("shift-") {
                &mut shift
            } else {
                break;
            };
            if *flag {
                return Err(format!("invalid key `{text}`: a modifier is repeated"));
            }
            *flag = true;
            rest = &rest[lower.find('-').map_or(0, |i| i + 1)..];
        }
        let mut chars = rest.chars();
        let base = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad()),
            (Some(c), None) if c.is_control() => return Err(bad()),
            (Some(c), None) => Base::Char(c),
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some((name, _)) =
                    NAMED.iter().find(|(n, aliases)| *n == lower || aliases.contains(&&*lower))
                {
                    if *name == "space" { Base::Char(' ') } else { Base::Named(name) }
                } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if !(1..=12).contains(&n) {
                        return Err(bad());
                    }
                    Base::F(n)
                } else {
                    return Err(bad());
                }
            }
        };
        Ok(compose(ctrl, alt, shift, base))
    }

    /// The key of a terminal event, normalized like [`Key::parse`]. `None` for key releases
    /// and keys warroom never binds (media keys, lone modifiers...).
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let base = match event.code {
            KeyCode::Char(c) if !c.is_control() => Base::Char(c),
            KeyCode::Enter => Base::Named("enter"),
            KeyCode::Esc => Base::Named("esc"),
            KeyCode::Tab => Base::Named("tab"),
            KeyCode::BackTab => Base::Named("backtab"),
            KeyCode::Backspace => Base::Named("backspace"),
            KeyCode::Delete => Base::Named("delete"),
            KeyCode::Insert => Base::Named("insert"),
            KeyCode::Up => Base::Named("up"),
            KeyCode::Down => Base::Named("down"),
            KeyCode::Left => Base::Named("left"),
            KeyCode::Right => Base::Named("right"),
            KeyCode::PageUp => Base::Named("pgup"),
            KeyCode::PageDown => Base::Named("pgdn"),
            KeyCode::Home => Base::Named("home"),
            KeyCode::End => Base::Named("end"),
            KeyCode::F(n) if (1..=12).contains(&n) => Base::F(n),
            _ => return None,
        };
        let m = event.modifiers;
        Some(compose(
            m.contains(KeyModifiers::CONTROL),
            m.contains(KeyModifiers::ALT),
            m.contains(KeyModifiers::SHIFT),
            base,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> Key {
        Key::from_event(&KeyEvent::new(code, mods)).unwrap()
    }

    #[test]
    fn parse_canonical_forms() {
        let k = |s| Key::parse(s).unwrap().0;
        assert_eq!(k("q"), "q");
        assert_eq!(k("G"), "G");
        assert_eq!(k("?"), "?");
        assert_eq!(k("-"), "-");
        assert_eq!(k("ctrl--"), "ctrl--");
        assert_eq!(k("Enter"), "enter");
        assert_eq!(k("return"), "enter");
        assert_eq!(k("PageUp"), "pgup");
        assert_eq!(k("space"), "space");
        assert_eq!(k(" "), "space");
        assert_eq!(k("shift-tab"), "backtab");
        assert_eq!(k("backtab"), "backtab");
        assert_eq!(k("shift-g"), "G");
        assert_eq!(k("alt-ctrl-x"), "ctrl-alt-x");
        assert_eq!(k("CTRL-c"), "ctrl-c");
        assert_eq!(k("shift-up"), "shift-up");
        assert_eq!(k("f12"), "f12");
    }

    #[test]
    fn parse_rejects_bad_keys() {
        for bad in ["", "ctrl-", "enterr", "f13", "f0", "ctrl-ctrl-c", "\t", "meta-x", "gg"] {
            let e = Key::parse(bad).unwrap_err();
            assert!(e.contains("invalid key"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn events_normalize_like_the_parser() {
        let none = KeyModifiers::NONE;
        assert_eq!(ev(KeyCode::Char('q'), none), Key::parse("q").unwrap());
        assert_eq!(ev(KeyCode::Char('G'), KeyModifiers::SHIFT), Key::parse("G").unwrap());
        assert_eq!(ev(KeyCode::Char('g'), KeyModifiers::SHIFT), Key::parse("G").unwrap());
        assert_eq!(ev(KeyCode::Char('c'), KeyModifiers::CONTROL), Key::parse("ctrl-c").unwrap());
        assert_eq!(ev(KeyCode::BackTab, KeyModifiers::SHIFT), Key::parse("shift-tab").unwrap());
        assert_eq!(ev(KeyCode::Tab, KeyModifiers::SHIFT), Key::parse("backtab").unwrap());
        assert_eq!(ev(KeyCode::Char(' '), none), Key::parse("space").unwrap());
        assert_eq!(ev(KeyCode::PageDown, none), Key::parse("pgdn").unwrap());
        assert_eq!(ev(KeyCode::F(5), none), Key::parse("f5").unwrap());
        assert_eq!(
            ev(KeyCode::Char('x'), KeyModifiers::ALT | KeyModifiers::CONTROL),
            Key::parse("alt-ctrl-x").unwrap()
        );
        let mut release = KeyEvent::new(KeyCode::Char('q'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(Key::from_event(&release), None);
        assert_eq!(Key::from_event(&KeyEvent::new(KeyCode::CapsLock, none)), None);
    }
}
