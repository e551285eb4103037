//! Themes: a `[palette]` of named colours and semantic slots, with `inherits`.
//!
//! INTERFACE STUB: the config work fills in parsing (TOML, palette references, inherits,
//! NO_COLOR, error positions). The UI only relies on [`Theme::style`] and [`Slot`].

use ratatui::style::{Color, Modifier, Style};

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

    /// Built-in dark default (replaced by the embedded `themes/default.toml` once parsing lands).
    pub fn fallback() -> Theme {
        let styles = Slot::ALL
            .iter()
            .map(|(s, _)| match s {
                Slot::Text => Style::default(),
                Slot::Dim => Style::default().fg(Color::DarkGray),
                Slot::Header => Style::default().add_modifier(Modifier::BOLD),
                Slot::BadgeDrill => Style::default().fg(Color::Black).bg(Color::Yellow),
                Slot::BadgeLive => Style::default().fg(Color::White).bg(Color::Red),
                Slot::BadgeReadOnly => Style::default().fg(Color::Black).bg(Color::Cyan),
                Slot::StatusHealthy => Style::default().fg(Color::Green),
                Slot::StatusDegraded => Style::default().fg(Color::Yellow),
                Slot::StatusDown => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                Slot::StatusStale => Style::default().fg(Color::Magenta),
                Slot::PaneBorder => Style::default().fg(Color::DarkGray),
                Slot::PaneBorderFocused => Style::default().fg(Color::Cyan),
                Slot::PaneTitle => Style::default().add_modifier(Modifier::BOLD),
                Slot::Selection => Style::default().add_modifier(Modifier::REVERSED),
                Slot::TableHeader => Style::default().add_modifier(Modifier::UNDERLINED),
                Slot::Confirm => Style::default().fg(Color::Cyan),
                Slot::ConfirmDanger => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                Slot::Alarm => Style::default().fg(Color::White).bg(Color::Red).add_modifier(Modifier::BOLD),
                Slot::Warning => Style::default().fg(Color::Yellow),
            })
            .collect();
        Theme { name: "default".into(), styles }
    }
}
