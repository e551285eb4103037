//! Turning terminal key events into [`Action`]s through the active keymap layers.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::composer::Motion;
use crate::app::{Action, Modal, PaneId, State, TextEdit};
use crate::command::Command;
use crate::config::Keymap;
use crate::config::key::Key;
use crate::config::keymap::{KeyLayer, KeymapResult};
use crate::operation::Risk;

/// Keys typed so far of a multi-key chord.
#[derive(Debug, Default)]
pub struct ChordBuffer {
    typed: Vec<Key>,
}

impl ChordBuffer {
    /// Whether a chord is pending (shown in the footer by the caller if wanted).
    pub fn pending(&self) -> bool {
        !self.typed.is_empty()
    }
}

/// The layers active for the current state, most specific first.
pub fn active_layers(state: &State) -> Vec<KeyLayer> {
    match &state.view.modal {
        Some(Modal::Help | Modal::Verdict) => vec![KeyLayer::Help],
        Some(Modal::Actions { .. } | Modal::Runbooks { .. } | Modal::Inject { .. }) => {
            vec![KeyLayer::Actions]
        }
        Some(
            Modal::Confirm { .. }
            | Modal::TakeCommand { .. }
            | Modal::ConfirmKey { .. }
            | Modal::NotifyPreview { .. },
        ) => {
            vec![KeyLayer::Confirm]
        }
        Some(Modal::Prompt { .. } | Modal::Composer { .. }) => vec![],
        None => {
            let mut v = Vec::with_capacity(3);
            match state.view.focus {
                PaneId::Steps => v.push(KeyLayer::Steps),
                PaneId::Checklist => v.push(KeyLayer::Checklist),
                _ => {}
            }
            v.push(KeyLayer::Pane);
            v.push(KeyLayer::Global);
            v
        }
    }
}

/// Map one key event to an action (or nothing, while a chord is pending).
pub fn key_to_action(
    ev: &KeyEvent,
    state: &State,
    keymap: &Keymap,
    chord: &mut ChordBuffer,
) -> Option<Action> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    // Ctrl-C always quits, whatever the keymap says: the operator must never be trapped.
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) && !state.wants_text() {
        chord.typed.clear();
        return Some(Action::Command(Command::Quit));
    }
    if state.wants_text() {
        chord.typed.clear();
        return text_edit(ev, state).map(Action::Text);
    }
    // A dialog was expected and did not open: what was typed for it (a pod name, Enter) is
    // dropped by the core, never read as commands; Esc ends it. Other keys navigate as usual.
    if state.view.modal.is_none() && state.view.swallow.is_some() {
        let edit = match ev.code {
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => Some(TextEdit::Char(c)),
            KeyCode::Enter => Some(TextEdit::Submit),
            KeyCode::Backspace => Some(TextEdit::Backspace),
            KeyCode::Esc => Some(TextEdit::Cancel),
            _ => None,
        };
        if let Some(edit) = edit {
            chord.typed.clear();
            return Some(Action::Text(edit));
        }
    }
    // A low-risk confirmation takes no text: Enter confirms as well as `y`.
    if let Some(Modal::Confirm { step, .. }) = &state.view.modal
        && ev.code == KeyCode::Enter
        && state.domain.step(*step).is_some_and(|s| s.risk() == Risk::Low)
    {
        return Some(Action::Command(Command::ConfirmYes));
    }
    let key = Key::from_event(ev)?;
    let layers = active_layers(state);
    chord.typed.push(key.clone());
    match keymap.lookup(&layers, &chord.typed) {
        KeymapResult::Matched(c) => {
            chord.typed.clear();
            Some(Action::Command(c))
        }
        KeymapResult::Pending => None,
        KeymapResult::NotFound => {
            let retry = chord.typed.len() > 1;
            chord.typed.clear();
            if retry {
                chord.typed.push(key.clone());
                match keymap.lookup(&layers, &chord.typed) {
                    KeymapResult::Matched(c) => {
                        chord.typed.clear();
                        return Some(Action::Command(c));
                    }
                    KeymapResult::Pending => return None,
                    KeymapResult::NotFound => chord.typed.clear(),
                }
            }
            None
        }
    }
}

/// An Alt-modified key that no binding uses, read as what it almost always is: Esc followed by
/// the key. A terminal sends Alt-x as ESC x, and an Esc typed just before x arrives as the same
/// two bytes when both land in one read (a slow SSH link, a busy host, tmux `send-keys`);
/// without this, the Esc that was meant to close a dialog and the key after it are both lost.
/// `None` when the key is not Alt-modified or the keymap binds it.
pub fn split_meta(ev: &KeyEvent, keymap: &Keymap) -> Option<[KeyEvent; 2]> {
    let mods = ev.modifiers;
    if !mods.contains(KeyModifiers::ALT) || mods.contains(KeyModifiers::CONTROL) {
        return None;
    }
    // Alt-arrows and the like arrive as one CSI sequence: never an Esc typed before them.
    if matches!(
        ev.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down | KeyCode::Home | KeyCode::End
    ) {
        return None;
    }
    if Key::from_event(ev).is_some_and(|k| keymap.binds(&k)) {
        return None;
    }
    let esc = KeyEvent::new_with_kind(KeyCode::Esc, KeyModifiers::NONE, ev.kind);
    let key = KeyEvent::new_with_kind(ev.code, mods - KeyModifiers::ALT, ev.kind);
    Some([esc, key])
}

fn text_edit(ev: &KeyEvent, state: &State) -> Option<TextEdit> {
    if matches!(state.view.modal, Some(Modal::Composer { .. })) {
        return composer_edit(ev);
    }
    match ev.code {
        KeyCode::Enter => Some(TextEdit::Submit),
        KeyCode::Esc => Some(TextEdit::Cancel),
        KeyCode::Backspace => Some(TextEdit::Backspace),
        KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => Some(TextEdit::Char(c)),
        _ => None,
    }
}

/// Keys of the multi-line composer: Enter breaks the line and Ctrl-S posts ([`crate::app::composer::POST_KEY`]);
/// arrows, Home/End (and Ctrl-A/Ctrl-E), Ctrl- or Alt-arrows by word, Ctrl-W deletes a word.
fn composer_edit(ev: &KeyEvent) -> Option<TextEdit> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let word = ctrl || ev.modifiers.contains(KeyModifiers::ALT);
    Some(match ev.code {
        KeyCode::Char('s' | 'S') if ctrl => TextEdit::Submit,
        KeyCode::Char('w' | 'W') if ctrl => TextEdit::DeleteWord,
        KeyCode::Char('a' | 'A') if ctrl => TextEdit::Move(Motion::Home),
        KeyCode::Char('e' | 'E') if ctrl => TextEdit::Move(Motion::End),
        KeyCode::Char(_) if ctrl => return None,
        KeyCode::Char(c) => TextEdit::Char(c),
        KeyCode::Enter => TextEdit::Newline,
        KeyCode::Esc => TextEdit::Cancel,
        KeyCode::Backspace => TextEdit::Backspace,
        KeyCode::Delete => TextEdit::Delete,
        KeyCode::Left if word => TextEdit::Move(Motion::WordLeft),
        KeyCode::Right if word => TextEdit::Move(Motion::WordRight),
        KeyCode::Left => TextEdit::Move(Motion::Left),
        KeyCode::Right => TextEdit::Move(Motion::Right),
        KeyCode::Up => TextEdit::Move(Motion::Up),
        KeyCode::Down => TextEdit::Move(Motion::Down),
        KeyCode::Home => TextEdit::Move(Motion::Home),
        KeyCode::End => TextEdit::Move(Motion::End),
        KeyCode::Tab => TextEdit::Char(' '),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
