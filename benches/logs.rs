//! The log path at benchmark rates: the demo fleet generating 50,000 lines a
//! second, the ring buffer taking them in, and the logs view drawing a
//! regex-filtered page over a full 100,000-line buffer.
//!
//! Run: `cargo bench --bench logs` (criterion prints the median of each).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use opsdeck::core::log_buffer::LogBuffer;
use opsdeck::core::state::{EnvInfo, State};
use opsdeck::core::view::ViewId;
use opsdeck::core::{Msg, Observation, Timestamp, update};
use opsdeck::keymap::Keymap;
use opsdeck::providers::ObserveProvider;
use opsdeck::providers::demo::{DemoConfig, DemoProvider, Scenario};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const START: Timestamp = Timestamp::from_millis(1_795_000_000_000);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// One second of logs at 50,000 lines/s from the demo fleet.
fn second_of_logs(
    rt: &tokio::runtime::Runtime,
    demo: &DemoProvider,
    at: Timestamp,
) -> Vec<opsdeck::core::fleet::LogLine> {
    rt.block_on(demo.logs(at)).expect("logs")
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let demo = DemoProvider::new(DemoConfig {
        seed: 1,
        scenario: Scenario::Default,
        log_rate: 50_000.0,
        start: START,
    });
    let _ = second_of_logs(&rt, &demo, START);
    let mut t = START;
    c.bench_function("demo: generate 1 s of logs at 50k lines/s", |b| {
        b.iter(|| {
            t = t.plus_millis(1000);
            black_box(second_of_logs(&rt, &demo, t).len())
        })
    });

    let lines = second_of_logs(&rt, &demo, t.plus_millis(1000));
    assert!(lines.len() > 40_000, "{} lines", lines.len());
    let mut full = LogBuffer::default();
    while full.len() < full.capacity() {
        full.extend(lines.iter().cloned());
    }
    c.bench_function("log buffer: ingest 50k lines into a full 100k ring", |b| {
        b.iter_batched(
            || (full.clone(), lines.clone()),
            |(mut buf, l)| {
                buf.extend(l);
                black_box(buf.dropped())
            },
            criterion::BatchSize::LargeInput,
        )
    });

    let env = EnvInfo {
        name: "bench".into(),
        region: None,
        source: "demo".into(),
        production: false,
    };
    let mut state = State::new(env, false, t);
    state.logs.buffer = full.clone();
    update(
        &mut state,
        Msg::Observed {
            at: t,
            observation: Observation::Logs(Vec::new()),
        },
    );
    state.view = ViewId::Logs;
    state.logs.filter.pattern = State::compile_pattern("ERROR|timeout").expect("regex");
    let theme = Theme::builtin();
    let keymap = Keymap::builtin();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    c.bench_function(
        "logs view: draw 200x50, regex filter over 100k lines",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|f| opsdeck::ui::draw(f, &state, &theme, &keymap))
                    .expect("draw");
            })
        },
    );
    state.logs.filter.pattern = None;
    c.bench_function("logs view: draw 200x50, no filter, 100k lines", |b| {
        b.iter(|| {
            terminal
                .draw(|f| opsdeck::ui::draw(f, &state, &theme, &keymap))
                .expect("draw");
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
