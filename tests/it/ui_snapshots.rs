//! Render snapshots of every view at 80×24 and 140×40, the overlays, and
//! assertions on the styles that carry meaning and on hostile log text.

use insta::assert_snapshot;
use opsdeck::core::key::parse_sequence;
use opsdeck::core::log_buffer::LogFilter;
use opsdeck::core::state::{
    EnvInfo, InputPurpose, MessageLevel, ObjectRef, Overlay, SortColumn, State, StatusMessage,
    TextInput,
};
use opsdeck::core::view::ViewId;
use opsdeck::theme::{Role, Theme};
use ratatui::buffer::Buffer;

use crate::support::{NOW, buffer_text, fixture, render, screen};

fn view(v: ViewId) -> State {
    let mut s = fixture();
    s.view = v;
    s
}

#[test]
fn overview_80x24() {
    assert_snapshot!(screen(&view(ViewId::Overview), 80, 24));
}

#[test]
fn overview_140x40() {
    let mut s = view(ViewId::Overview);
    s.overview_selected = 2;
    assert_snapshot!(screen(&s, 140, 40));
}

#[test]
fn instances_80x24() {
    let mut s = view(ViewId::Instances);
    s.instances.selected = 1;
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn instances_140x40_filtered_sorted() {
    let mut s = view(ViewId::Instances);
    s.read_only = true;
    s.instances.filter = "web".into();
    s.instances.sort = SortColumn::Latency;
    s.instances.descending = true;
    assert_snapshot!(screen(&s, 140, 40));
}

#[test]
fn replication_80x24() {
    let mut s = view(ViewId::Replication);
    s.replication_selected = 1;
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn replication_140x40() {
    assert_snapshot!(screen(&view(ViewId::Replication), 140, 40));
}

#[test]
fn deploys_80x24() {
    let mut s = view(ViewId::Deploys);
    s.deploys_selected = 1;
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn deploys_140x40() {
    assert_snapshot!(screen(&view(ViewId::Deploys), 140, 40));
}

#[test]
fn logs_80x24() {
    assert_snapshot!(screen(&view(ViewId::Logs), 80, 24));
}

#[test]
fn logs_140x40() {
    assert_snapshot!(screen(&view(ViewId::Logs), 140, 40));
}

#[test]
fn logs_80x24_paused_wrapped_filtered() {
    let mut s = view(ViewId::Logs);
    s.logs.follow = false;
    s.logs.anchor = s.logs.buffer.last_seq().map(|q| q - 2);
    s.logs.wrap = true;
    s.logs.timestamps = false;
    s.logs.filter = LogFilter {
        host: Some("web-c1".into()),
        ..LogFilter::default()
    };
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn help_overlay_80x24() {
    let mut s = view(ViewId::Logs);
    s.overlay = Some(Overlay::Help);
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn help_overlay_140x40() {
    let mut s = view(ViewId::Instances);
    s.overlay = Some(Overlay::Help);
    assert_snapshot!(screen(&s, 140, 40));
}

#[test]
fn details_db_replica_80x24() {
    let mut s = view(ViewId::Replication);
    s.overlay = Some(Overlay::Details(ObjectRef::Database("db-replica".into())));
    assert_snapshot!(screen(&s, 80, 24));
}

#[test]
fn details_host_and_gone_object() {
    let mut s = view(ViewId::Overview);
    s.overlay = Some(Overlay::Details(ObjectRef::Host("web-a2".into())));
    let host = screen(&s, 80, 24);
    s.overlay = Some(Overlay::Details(ObjectRef::Cache("cache-old".into())));
    let gone = screen(&s, 80, 24);
    assert!(gone.contains("is gone"), "{gone}");
    assert_snapshot!("details_host_80x24", host);
    assert_snapshot!("details_gone_80x24", gone);
}

#[test]
fn which_key_and_input() {
    let mut s = view(ViewId::Logs);
    s.pending_keys = parse_sequence("g").expect("key");
    let which = screen(&s, 80, 24);
    assert!(which.contains("move-top"), "{which}");
    assert_snapshot!("which_key_80x24", which);

    let mut s = view(ViewId::Logs);
    s.input = Some(TextInput {
        purpose: InputPurpose::LogsFilter,
        text: "time(out".into(),
        error: Some("unclosed group".into()),
        original: String::new(),
    });
    s.message = Some(StatusMessage {
        text: "drained web-a2".into(),
        level: MessageLevel::Info,
        at: NOW,
    });
    assert_snapshot!("input_with_error_80x24", screen(&s, 80, 24));
}

#[test]
fn no_data_yet_says_waiting() {
    let env = EnvInfo {
        name: "demo".into(),
        region: None,
        source: "demo (built-in)".into(),
        production: false,
    };
    for v in ViewId::ALL {
        let mut s = State::new(env.clone(), true, NOW);
        s.view = v;
        let text = screen(&s, 80, 24);
        assert!(text.contains("waiting for data…"), "{v:?}:\n{text}");
        if v == ViewId::Overview {
            assert_snapshot!("overview_waiting_80x24", text);
        }
    }
}

/// Finds the cell holding `symbol` on the row that shows `name`, left of it.
fn symbol_cell_fg(buf: &Buffer, name: &str, symbol: &str) -> Option<ratatui::style::Color> {
    let text = buffer_text(buf);
    for (y, line) in text.lines().enumerate() {
        let Some(byte) = line.find(name) else {
            continue;
        };
        let name_col = line[..byte].chars().count() as u16;
        for x in 0..name_col {
            let cell = &buf[(x, y as u16)];
            if cell.symbol() == symbol {
                return cell.fg.into();
            }
        }
    }
    None
}

#[test]
fn problem_health_symbols_carry_their_role_colour() {
    let theme = Theme::builtin();
    for (w, h) in [(80, 24), (140, 40)] {
        let buf = render(&view(ViewId::Overview), w, h);
        assert_eq!(
            symbol_cell_fg(&buf, "web-a2", "✖"),
            theme.style(Role::HealthDown).fg,
            "down backend at {w}x{h}"
        );
        assert_eq!(
            symbol_cell_fg(&buf, "web-c1", "▲"),
            theme.style(Role::HealthDegraded).fg,
            "degraded backend at {w}x{h}"
        );
        assert_ne!(
            theme.style(Role::HealthDown).fg,
            theme.style(Role::HealthOk).fg
        );
    }
}

#[test]
fn hostile_log_line_is_inert() {
    for (w, h) in [(80, 24), (140, 40)] {
        for wrap in [false, true] {
            let mut s = view(ViewId::Logs);
            s.logs.wrap = wrap;
            let buf = render(&s, w, h);
            for cell in buf.content() {
                assert!(
                    !cell.symbol().chars().any(|c| c.is_control()),
                    "control character {:?} in the buffer",
                    cell.symbol()
                );
            }
            let text = buffer_text(&buf);
            assert!(!text.contains('\x1b'));
            assert!(text.contains("␛[31m"), "{text}");
        }
    }
}

#[test]
fn unknown_lag_is_never_zero() {
    let text = screen(&view(ViewId::Replication), 80, 24);
    assert!(text.contains("? unknown"), "{text}");
    let overview = screen(&view(ViewId::Overview), 80, 24);
    assert!(overview.contains("lag ?"), "{overview}");
}

#[test]
fn failing_source_is_named_with_its_error() {
    for v in ViewId::ALL {
        let text = screen(&view(v), 80, 24);
        assert!(
            text.contains("✖ replication: db-replica: timed out after 2000 ms"),
            "{v:?}:\n{text}"
        );
    }
    let text = screen(&view(ViewId::Replication), 80, 24);
    assert!(text.contains("STALE 45s"), "{text}");
}

#[test]
fn no_color_theme_renders_without_colour() {
    let buf = crate::support::render_with(&view(ViewId::Overview), &Theme::no_color(), 80, 24);
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}
