//! Keymaps as data: one section per layer, entries `{ on = "x" | ["g","p"], run = "action", desc = "..." }`.
//!
//! INTERFACE STUB: the config work fills in parsing, chords and error positions. The UI relies
//! on [`Keymap::bindings`] and [`Keymap::key_for`]; the event loop on [`Keymap::lookup`].

use crate::app::Command;

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

/// One key (with modifiers) as written in a keymap, e.g. `ctrl-c`, `enter`, `g`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(pub String);

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

    /// Look up the keys typed so far in the active layers (most specific first).
    pub fn lookup(&self, active: &[KeyLayer], typed: &[Key]) -> KeymapResult {
        let mut pending = false;
        for layer in active {
            for b in self.bindings(*layer) {
                if b.keys == typed {
                    return KeymapResult::Matched(b.command);
                }
                if b.keys.len() > typed.len() && b.keys[..typed.len()] == *typed {
                    pending = true;
                }
            }
        }
        if pending { KeymapResult::Pending } else { KeymapResult::NotFound }
    }
}

impl Key {
    /// Normalize a terminal key event to the keymap syntax (`q`, `G`, `ctrl-c`, `enter`, `backtab`).
    pub fn from_event(ev: &crossterm::event::KeyEvent) -> Option<Key> {
        use crossterm::event::{KeyCode, KeyModifiers};
        let base = match ev.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Up => "up".into(),
            KeyCode::Down => "down".into(),
            KeyCode::Left => "left".into(),
            KeyCode::Right => "right".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::F(n) => format!("f{n}"),
            _ => return None,
        };
        let mut name = String::new();
        if ev.modifiers.contains(KeyModifiers::CONTROL) {
            name.push_str("ctrl-");
        }
        if ev.modifiers.contains(KeyModifiers::ALT) {
            name.push_str("alt-");
        }
        name.push_str(&base);
        Some(Key(name))
    }
}
