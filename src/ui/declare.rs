//! The live console's first screen: the panes as they are, and over them a small prompt that
//! declares the incident (a title, then a severity). Nothing is written before it is submitted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::config::Theme;
use crate::config::theme::Slot;

use super::layout::centered;
use crate::text::sanitize;

/// The severities a live incident can be declared with, most severe first.
pub const SEVERITIES: [&str; 4] = ["SEV1", "SEV2", "SEV3", "SEV4"];

/// What the declare prompt holds: the title typed so far, the chosen severity, which field
/// takes keys, and a one-line problem to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareForm {
    /// The title typed so far.
    pub title: String,
    /// Index into [`SEVERITIES`].
    pub severity: usize,
    /// The severity field has the keys (after Enter on the title).
    pub on_severity: bool,
    /// A problem with the input ("a title is required").
    pub error: Option<String>,
}

impl Default for DeclareForm {
    /// Empty title, SEV2, the title field.
    fn default() -> DeclareForm {
        DeclareForm { title: String::new(), severity: 1, on_severity: false, error: None }
    }
}

/// Draw the declare prompt over `area` (the panes are drawn first, underneath).
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, form: &DeclareForm) {
    let w = area.width.saturating_sub(4).min(72);
    let rect = centered(area, w, 7);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Declare an incident ", theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let room = usize::from(inner.width).saturating_sub(11);
    let shown = sanitize(&form.title);
    let mut start = 0;
    while shown[start..].width() > room {
        start += shown[start..].chars().next().map_or(1, char::len_utf8);
    }
    let field = |on: bool| theme.style(if on { Slot::Confirm } else { Slot::Dim });
    let mut title =
        vec![Span::styled("Title:    ", field(!form.on_severity)), Span::raw(shown[start..].to_string())];
    if !form.on_severity {
        title.push(Span::styled("█", theme.style(Slot::Text)));
    }
    let mut sev = vec![Span::styled("Severity: ", field(form.on_severity))];
    for (i, s) in SEVERITIES.iter().enumerate() {
        let style = if i == form.severity { theme.style(Slot::Selection) } else { theme.style(Slot::Dim) };
        sev.push(Span::styled(format!(" {s} "), style));
    }
    let help = if form.on_severity {
        "1-4 or left/right: severity · Enter declare · Tab title · Esc leave"
    } else {
        "Enter next · Esc leave (nothing is written)"
    };
    let mut lines = vec![Line::from(title), Line::from(sev), Line::raw("")];
    match &form.error {
        Some(e) => lines.push(Line::styled(sanitize(e).into_owned(), theme.style(Slot::StatusDown))),
        None => lines.push(Line::raw("")),
    }
    lines.push(Line::styled(help, theme.style(Slot::Dim)));
    frame.render_widget(Paragraph::new(lines), inner);
    // The footer's console keys do not work yet: say what does.
    if area.height > 0 {
        let footer = Rect { y: area.y + area.height - 1, height: 1, ..area };
        frame.render_widget(Clear, footer);
        let text = "declaring an incident: keys go to the prompt · Esc leaves, nothing is written";
        frame.render_widget(Paragraph::new(Line::styled(text, theme.style(Slot::Dim))), footer);
    }
}
