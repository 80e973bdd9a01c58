//! Sparklines of a `Series`, newest sample at the right edge. Unknown samples
//! are drawn as a full-height hatched column in the `spark.unknown` role, so a
//! gap in knowledge never looks like a zero.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::widgets::{Block, RenderDirection, Sparkline, SparklineBar};

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

pub fn draw(frame: &mut Frame, area: Rect, block: Block<'_>, spec: &SparkSpec<'_>, theme: &Theme) {
    let inner = block.inner(area);
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
