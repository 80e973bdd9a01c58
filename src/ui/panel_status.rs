//! How fresh one panel's data is, and the frame that says so: every panel
//! shows `waiting for data…` before its first observation, its source's error
//! on its bottom border while the source fails, and `STALE` with the data's age
//! when the data is old. A slow or dead source degrades only its own panel.

use ratatui::layout::Alignment;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::core::assess::{Freshness, freshness};
use crate::core::sanitize::sanitize;
use crate::core::state::{Panel, PanelError};
use crate::core::time::{Timestamp, format_age};
use crate::theme::{Role, Theme};

/// Freshness of one panel at `now`.
#[derive(Clone, Copy, Debug)]
pub struct PanelStatus<'p> {
    pub has_data: bool,
    pub age_ms: Option<i64>,
    pub stale: bool,
    /// The source's latest failure, when it is newer than the data.
    pub error: Option<&'p PanelError>,
}

impl<'p> PanelStatus<'p> {
    pub fn of<T>(panel: &'p Panel<T>, now: Timestamp) -> Self {
        let error = panel
            .error
            .as_ref()
            .filter(|e| panel.updated_at.is_none_or(|u| e.at >= u));
        PanelStatus {
            has_data: panel.data.is_some(),
            age_ms: panel.age_ms(now),
            // "Data too old" is `assess::freshness`, as for the guards.
            stale: matches!(freshness(panel, now), Freshness::Stale { .. }),
            error,
        }
    }

    /// Combines two sources shown in one panel: the worse of each.
    pub fn worst(self, other: PanelStatus<'p>) -> PanelStatus<'p> {
        PanelStatus {
            has_data: self.has_data && other.has_data,
            age_ms: match (self.age_ms, other.age_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            stale: self.stale || other.stale,
            error: self.error.or(other.error),
        }
    }

    /// `STALE 45s` for titles, when stale.
    pub fn stale_span(&self, theme: &Theme) -> Option<Span<'static>> {
        self.stale.then(|| {
            let age = self.age_ms.map(format_age).unwrap_or_else(|| "?".into());
            Span::styled(format!(" STALE {age} "), theme.style(Role::Stale))
        })
    }

    /// The error line for a bottom border: `✖ db-replica: timed out`.
    pub fn error_line(&self, theme: &Theme) -> Option<Line<'static>> {
        self.error.map(|e| {
            Line::from(Span::styled(
                format!(" ✖ {} ", sanitize(&e.text())),
                theme.style(Role::Error),
            ))
        })
    }

    /// A bordered block titled `title`, with staleness on the right of the top
    /// border and the source's error on the bottom border.
    pub fn block<'a>(&self, theme: &Theme, title: Line<'a>) -> Block<'a> {
        let border = if self.error.is_some() {
            Role::BorderError
        } else {
            Role::Border
        };
        let mut block = Block::bordered()
            .border_style(theme.style(border))
            .title(title.style(theme.style(Role::Title)));
        if let Some(stale) = self.stale_span(theme) {
            block = block.title_top(Line::from(stale).alignment(Alignment::Right));
        }
        if let Some(err) = self.error_line(theme) {
            block = block.title_bottom(err);
        }
        block
    }

    /// What a panel without data shows: its source's error, or that it waits.
    pub fn placeholder(&self, theme: &Theme) -> Paragraph<'static> {
        let lines = match self.error {
            Some(e) => vec![
                Line::from(Span::styled(
                    format!("✖ {}", sanitize(&e.text())),
                    theme.style(Role::Error),
                )),
                Line::from(Span::styled(
                    "no data received yet",
                    theme.style(Role::TextDim),
                )),
            ],
            None => vec![Line::from(Span::styled(
                "waiting for data…",
                theme.style(Role::Waiting),
            ))],
        };
        Paragraph::new(lines).wrap(Wrap { trim: true })
    }
}
