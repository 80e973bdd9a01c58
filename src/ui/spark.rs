//! Sparklines of a `Series`, newest sample at the right edge. Unknown samples
//! are drawn as a full-height hatched column in the `spark.unknown` role, so a
//! gap in knowledge never looks like a zero.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, RenderDirection, Sparkline, SparklineBar};

use super::fleet_summary::lag_style;
use super::format::{lag, lag_short};
use crate::core::assess::Limits;
use crate::core::sanitize::sanitize;
use crate::core::series::Series;
use crate::theme::{Role, Theme};

/// How one series is drawn.
pub struct SparkSpec<'a> {
    pub series: &'a Series,
    /// Multiplies values before they become bar heights (bars are integers).
    pub scale: f64,
    /// The value drawn full height at least; larger values raise it.
    pub floor_max: f64,
    pub style: Style,
    /// Values above this use `high_style`.
    pub high: Option<(f64, Style)>,
}

/// Draws `spec` in `block`; an empty series says it is waiting for data.
pub fn draw(frame: &mut Frame, area: Rect, block: Block<'_>, spec: &SparkSpec<'_>, theme: &Theme) {
    let inner = block.inner(area);
    if spec.series.is_empty() {
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new(Span::styled(
                "waiting for data…",
                theme.style(Role::Waiting),
            )),
            inner,
        );
        return;
    }
    let n = usize::from(inner.width);
    let data: Vec<SparklineBar> = spec
        .series
        .tail(n)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|(_, v)| match v {
            Some(v) => {
                let bar = SparklineBar::from(Some((v.max(0.0) * spec.scale).round() as u64));
                match spec.high {
                    Some((limit, style)) if *v > limit => bar.style(Some(style)),
                    _ => bar,
                }
            }
            None => SparklineBar::from(None::<u64>),
        })
        .collect();
    let observed = spec.series.max().unwrap_or(0.0);
    let max = (observed.max(spec.floor_max) * spec.scale).round().max(1.0) as u64;
    let spark = Sparkline::default()
        .block(block)
        .data(data)
        .max(max)
        .direction(RenderDirection::RightToLeft)
        .style(spec.style)
        .absent_value_symbol(symbols::shade::LIGHT)
        .absent_value_style(theme.style(Role::SparkUnknown));
    frame.render_widget(spark, area);
}

/// One replica's lag: now and max in the title, unknown samples marked in
/// the bottom border.
pub fn draw_lag(
    frame: &mut Frame,
    area: Rect,
    name: &str,
    series: &Series,
    theme: &Theme,
    limits: &Limits,
) {
    let now = series.last().flatten();
    let mut title = vec![
        Span::styled(
            format!(" {} lag ", sanitize(name)),
            theme.style(Role::Title),
        ),
        Span::styled(lag(now), lag_style(theme, now, limits)),
    ];
    if let Some(max) = series.max() {
        title.push(Span::styled(
            format!(" max {}", lag_short(Some(max))),
            theme.style(Role::TextDim),
        ));
    }
    title.push(Span::raw(" "));
    let mut block = Block::bordered()
        .border_style(theme.style(Role::Border))
        .title(Line::from(title));
    if series.points().any(|(_, v)| v.is_none()) {
        block = block.title_bottom(Line::from(Span::styled(
            " ░ unknown ",
            theme.style(Role::SparkUnknown),
        )));
    }
    let spec = SparkSpec {
        series,
        scale: 10.0,
        floor_max: limits.lag_high_seconds,
        style: theme.style(Role::SparkLag),
        high: Some((limits.lag_high_seconds, theme.style(Role::LagHigh))),
    };
    draw(frame, area, block, &spec, theme);
}
