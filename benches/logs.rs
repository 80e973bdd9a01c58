//! The log path at benchmark rates: the demo fleet generating 50,000 lines a
//! second, the log store taking them in (sanitize and store), a filter over
//! 100,000 stored lines, and the logs view drawing a page of them.
//!
//! Run: `cargo bench --no-default-features --bench logs` (criterion prints the
//! median of each). Lines per second of the store: 50,000 / its median.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use opsdeck::core::log_batch::LogBatch;
use opsdeck::core::log_buffer::{LogBuffer, LogFilter};
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

/// One second of logs at 50,000 lines/s from the demo fleet, in four polls.
fn second_of_logs(rt: &tokio::runtime::Runtime, demo: &DemoProvider, at: Timestamp) -> LogBatch {
    let mut batch = LogBatch::new();
    for q in (1..=4).rev() {
        let part = rt
            .block_on(demo.log_batch(at.plus_millis(-250 * (q - 1))))
            .expect("logs");
        batch.append(&part);
    }
    batch
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
    assert_eq!(lines.dropped, 0);
    // 100,000 lines kept (about 20 MB of the default 32 MiB budget).
    let mut full = LogBuffer::default();
    while full.len() < 100_000 {
        full.extend_batch(&lines);
    }
    assert_eq!(full.dropped(), 0);
    // A store at its budget: taking lines in also evicts.
    let mut at_budget = LogBuffer::with_budget(16 * 1024 * 1024);
    for _ in 0..4 {
        at_budget.extend_batch(&lines);
    }
    assert!(at_budget.dropped() > 0);
    c.bench_function(
        "log store: sanitize and store 50k lines into a store at its budget",
        |b| {
            b.iter_batched(
                || at_budget.clone(),
                |mut buf| {
                    buf.extend_batch(&lines);
                    black_box(buf.dropped())
                },
                criterion::BatchSize::LargeInput,
            )
        },
    );

    let rare = LogFilter {
        pattern: State::compile_pattern("NoSuchThing|nothing here").expect("regex"),
        ..LogFilter::default()
    };
    c.bench_function(
        "log store: filter 100k lines, a regex matching none (a keystroke)",
        |b| b.iter(|| black_box(full.tail_matching(&rare, None, 50).len())),
    );

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
            observation: Observation::Logs(LogBatch::new()),
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
