//! `opsdeck snapshot`: one frame of a view rendered as plain text.

use std::process::ExitCode;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::core::Msg;
use crate::core::view::ViewId;
use crate::runtime::{App, out};

use super::session::{LaunchError, Session, prime};
use super::view_arg::view_arg;

/// Observes every source once and prints one frame of `view`.
pub async fn run(
    session: &mut Session,
    view: &str,
    width: u16,
    height: u16,
) -> Result<ExitCode, LaunchError> {
    let view = view_arg(view)?;
    prime(session).await;
    let text = render_text(&mut session.app, view, width, height)?;
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// One frame of `view` rendered as plain text, `width`×`height` cells.
pub fn render_text(
    app: &mut App,
    view: ViewId,
    width: u16,
    height: u16,
) -> std::io::Result<String> {
    app.dispatch(Msg::ShowView(view));
    app.dispatch(Msg::Resize { width, height });
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).map_err(std::io::Error::other)?;
    terminal
        .draw(|f| crate::ui::draw(f, &app.state, &app.theme, &app.keymap))
        .map_err(std::io::Error::other)?;
    Ok(buffer_to_text(terminal.backend().buffer()))
}

/// The characters of a buffer, one line per row, trailing spaces trimmed.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in area.left()..area.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            // Wide characters occupy the following cell too.
            skip = unicode_width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(s: &str) -> usize {
    use ratatui::text::Span;
    Span::raw(s).width()
}
