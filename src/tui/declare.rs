//! The live console's first screen when there is nothing to resume: the panes fill from the
//! sources as they answer, and a small prompt over them asks for the incident's title and
//! severity. Submitting returns them (the console then declares the incident); Esc, Ctrl-C, a
//! signal or a lost terminal return `None` and nothing is written.

use std::io;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use tokio::signal::unix::{SignalKind, signal};

use super::output::{QuietBackend, SizeSource};
use super::terminal::TerminalGuard;
use crate::app::{Action, State, update};
use crate::backends::Sources;
use crate::ui::declare::{DeclareForm, SEVERITIES};
use crate::ui::{self, UiContext};

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Keep asking.
    Continue,
    /// Declare with this title and severity.
    Declare(String, String),
    /// Leave without declaring.
    Leave,
}

/// Longest title accepted, in characters.
const MAX_TITLE: usize = 200;

/// Apply one key to the form.
pub fn on_key(form: &mut DeclareForm, key: KeyEvent) -> Outcome {
    if key.kind != KeyEventKind::Press {
        return Outcome::Continue;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    form.error = None;
    match key.code {
        KeyCode::Esc => return Outcome::Leave,
        KeyCode::Char('c' | 'd') if ctrl => return Outcome::Leave,
        KeyCode::Tab | KeyCode::BackTab => form.on_severity = !form.on_severity,
        KeyCode::Enter if !form.on_severity => {
            if form.title.trim().is_empty() {
                form.error = Some("a title is required (Esc leaves without declaring)".into());
            } else {
                form.on_severity = true;
            }
        }
        KeyCode::Enter => {
            let title = form.title.trim().to_string();
            if title.is_empty() {
                form.on_severity = false;
                form.error = Some("a title is required (Esc leaves without declaring)".into());
            } else {
                return Outcome::Declare(title, SEVERITIES[form.severity].to_string());
            }
        }
        KeyCode::Left | KeyCode::Up if form.on_severity => form.severity = form.severity.saturating_sub(1),
        KeyCode::Right | KeyCode::Down if form.on_severity => {
            form.severity = (form.severity + 1).min(SEVERITIES.len() - 1);
        }
        KeyCode::Char(c @ '1'..='4') if form.on_severity => form.severity = usize::from(c as u8 - b'1'),
        KeyCode::Backspace if !form.on_severity => {
            form.title.pop();
        }
        KeyCode::Char(c)
            if !form.on_severity && !ctrl && !c.is_control() && form.title.chars().count() < MAX_TITLE =>
        {
            form.title.push(c);
        }
        _ => {}
    }
    Outcome::Continue
}

/// Show `state`'s panes, fed by `sources`, with the declare prompt over them until the
/// operator declares (title, severity) or leaves (`None`).
pub async fn ask(
    mut state: State,
    sources: &Sources,
    ctx: &UiContext,
) -> color_eyre::Result<Option<(String, String)>> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(QuietBackend::new(io::stdout(), SizeSource::Terminal))?;
    terminal.clear()?;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let (mut kube, mut db, mut sentinel, mut traffic) =
        (sources.kube.clone(), sources.database.clone(), sources.sentinel.clone(), sources.traffic.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut form = DeclareForm::default();
    // The panes show what the sources hold now; the core's effects (observations) are dropped:
    // nothing is written before the incident exists.
    let apply = |state: &mut State, action: Action| drop(update(state, action, Utc::now()));
    apply(&mut state, Action::Kube(kube.borrow_and_update().clone()));
    apply(&mut state, Action::Database(db.borrow_and_update().clone()));
    apply(&mut state, Action::Sentinel(sentinel.borrow_and_update().clone()));
    apply(&mut state, Action::Traffic(traffic.borrow_and_update().clone()));
    let outcome = loop {
        if terminal
            .draw(|f| {
                ui::draw(f, &state, ctx);
                ui::declare::draw(f, f.area(), &ctx.theme, &form);
            })
            .is_err()
        {
            break Outcome::Leave;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => match on_key(&mut form, k) {
                    Outcome::Continue => {}
                    done => break done,
                },
                Some(Ok(Event::Paste(text))) if !form.on_severity => {
                    form.title.extend(text.chars().filter(|c| !c.is_control()).take(MAX_TITLE));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Outcome::Leave,
            },
            Ok(()) = kube.changed() => apply(&mut state, Action::Kube(kube.borrow_and_update().clone())),
            Ok(()) = db.changed() => apply(&mut state, Action::Database(db.borrow_and_update().clone())),
            Ok(()) = sentinel.changed() => {
                apply(&mut state, Action::Sentinel(sentinel.borrow_and_update().clone()));
            }
            Ok(()) = traffic.changed() => apply(&mut state, Action::Traffic(traffic.borrow_and_update().clone())),
            _ = tick.tick() => apply(&mut state, Action::Tick),
            _ = sigterm.recv() => break Outcome::Leave,
            _ = sighup.recv() => break Outcome::Leave,
        }
    };
    drop(events);
    drop(terminal);
    drop(guard);
    Ok(match outcome {
        Outcome::Declare(title, severity) => Some((title, severity)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(form: &mut DeclareForm, code: KeyCode) -> Outcome {
        on_key(form, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn type_in(form: &mut DeclareForm, text: &str) {
        for c in text.chars() {
            assert_eq!(press(form, KeyCode::Char(c)), Outcome::Continue);
        }
    }

    #[test]
    fn a_title_then_a_severity_declares() {
        let mut f = DeclareForm::default();
        type_in(&mut f, "API 500s in us-east-1x");
        press(&mut f, KeyCode::Backspace);
        assert_eq!(press(&mut f, KeyCode::Enter), Outcome::Continue);
        assert!(f.on_severity);
        // On the severity field, letters do not reach the title.
        type_in(&mut f, "q");
        assert_eq!(f.title, "API 500s in us-east-1");
        assert_eq!(SEVERITIES[f.severity], "SEV2", "the default");
        press(&mut f, KeyCode::Char('1'));
        assert_eq!(
            press(&mut f, KeyCode::Enter),
            Outcome::Declare("API 500s in us-east-1".into(), "SEV1".into())
        );
    }

    #[test]
    fn an_empty_title_is_refused_and_esc_or_ctrl_c_leave() {
        let mut f = DeclareForm::default();
        type_in(&mut f, "   ");
        assert_eq!(press(&mut f, KeyCode::Enter), Outcome::Continue);
        assert!(!f.on_severity && f.error.as_deref().is_some_and(|e| e.contains("title is required")));
        assert_eq!(press(&mut f, KeyCode::Esc), Outcome::Leave);
        let mut f = DeclareForm::default();
        assert_eq!(on_key(&mut f, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Outcome::Leave);
        assert!(f.title.is_empty(), "Ctrl-C is not typed");
    }

    #[test]
    fn severity_moves_within_its_range() {
        let mut f = DeclareForm { on_severity: true, ..DeclareForm::default() };
        for _ in 0..6 {
            press(&mut f, KeyCode::Right);
        }
        assert_eq!(SEVERITIES[f.severity], "SEV4");
        for _ in 0..6 {
            press(&mut f, KeyCode::Left);
        }
        assert_eq!(SEVERITIES[f.severity], "SEV1");
        press(&mut f, KeyCode::Tab);
        assert!(!f.on_severity, "Tab goes back to the title");
    }
}
