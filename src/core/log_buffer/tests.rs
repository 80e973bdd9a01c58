use super::*;

fn line(host: &str, level: LogLevel, text: &str) -> LogLine {
    LogLine {
        at: Timestamp::from_secs(1),
        host: host.into(),
        az: "az-a".into(),
        level,
        text: text.into(),
    }
}

fn texts(buf: &LogBuffer) -> Vec<String> {
    buf.iter().map(|l| l.text.to_string()).collect()
}

#[test]
fn lines_come_back_as_stored_with_shared_names() {
    let mut buf = LogBuffer::default();
    buf.push(line("web-a1", LogLevel::Info, "hello"));
    buf.push_parts(
        Timestamp::from_millis(2_500),
        "web-c1",
        "az-c",
        LogLevel::Warn,
        "",
    );
    buf.push(line("web-a1", LogLevel::Error, "ünïcödé ✔ boom"));
    let got: Vec<_> = buf
        .iter()
        .map(|l| (l.seq, l.at.millis(), l.host, l.az, l.level, l.text))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 1_000, "web-a1", "az-a", LogLevel::Info, "hello"),
            (1, 2_500, "web-c1", "az-c", LogLevel::Warn, ""),
            (
                2,
                1_000,
                "web-a1",
                "az-a",
                LogLevel::Error,
                "ünïcödé ✔ boom"
            ),
        ]
    );
    assert_eq!(buf.len(), 3);
    assert_eq!(buf.last_seq(), Some(2));
    assert_eq!(buf.hosts.len(), 2);
    let back: Vec<_> = buf.iter().rev().map(|l| l.seq).collect();
    assert_eq!(back, vec![2, 1, 0]);
}

#[test]
fn bytes_kept_stay_within_the_budget_and_drops_are_exact() {
    let budget = 256 * 1024;
    let mut buf = LogBuffer::with_budget(budget);
    let total = 20_000u64;
    for i in 0..total {
        buf.push(line(
            "h",
            LogLevel::Info,
            &format!("line {i:06} {}", "x".repeat(100)),
        ));
        assert!(
            buf.used_bytes() <= budget,
            "{} > {budget}",
            buf.used_bytes()
        );
    }
    // Every line is either kept or counted as dropped, and the kept ones are
    // the newest, contiguous.
    assert!(buf.dropped() > 0);
    assert_eq!(buf.len() as u64 + buf.dropped(), total);
    let kept = texts(&buf);
    let first = total - kept.len() as u64;
    assert!(
        kept[0].starts_with(&format!("line {first:06} ")),
        "{}",
        kept[0]
    );
    assert!(kept.last().is_some_and(|t| t.starts_with("line 019999 ")));
    // Most of the budget holds lines, not slack.
    let text: usize = kept.iter().map(String::len).sum();
    assert!(text > budget / 2, "{text} bytes of text in {budget}");
}

#[test]
fn the_budget_holds_under_64_kib_lines() {
    let budget = 4 * 1024 * 1024;
    let mut buf = LogBuffer::with_budget(budget);
    let big = "y".repeat(MAX_LINE_BYTES);
    for i in 0..500 {
        buf.push(line("h", LogLevel::Info, &big));
        assert!(buf.used_bytes() <= budget, "line {i}: {}", buf.used_bytes());
    }
    assert_eq!(buf.truncated(), 0);
    assert_eq!(buf.len() as u64 + buf.dropped(), 500);
    assert!(
        buf.len() >= 40,
        "{} lines of 64 KiB kept in 4 MiB",
        buf.len()
    );
    assert!(buf.iter().all(|l| l.text.len() == MAX_LINE_BYTES));
    // Longer lines are cut to the limit and marked.
    buf.push(line("h", LogLevel::Info, &"z".repeat(10 * MAX_LINE_BYTES)));
    let last = buf.iter().next_back().expect("a line");
    assert_eq!(last.text.len(), MAX_LINE_BYTES - 3 + '…'.len_utf8());
    assert!(last.text.ends_with("z…"));
    assert_eq!(buf.truncated(), 1);
    assert!(buf.used_bytes() <= budget);
}

#[test]
fn lines_of_escapes_are_cut_after_sanitizing() {
    let mut buf = LogBuffer::with_budget(4 * 1024 * 1024);
    // Each ESC becomes a three-byte symbol: 64 KiB in is 192 KiB sanitized.
    buf.push(line("h", LogLevel::Info, &"\x1b".repeat(MAX_LINE_BYTES)));
    let stored = buf.iter().next().expect("a line");
    assert!(stored.text.len() <= MAX_LINE_BYTES);
    assert!(!stored.text.contains('\x1b'));
    assert!(stored.text.starts_with("␛␛"));
    assert_eq!(buf.truncated(), 1);
}

#[test]
fn a_smaller_budget_evicts_at_once() {
    let mut buf = LogBuffer::with_budget(8 * 1024 * 1024);
    for i in 0..40_000 {
        buf.push(line(
            "h",
            LogLevel::Info,
            &format!("{i} {}", "a".repeat(150)),
        ));
    }
    assert_eq!(buf.dropped(), 0);
    let before = buf.len();
    buf.set_budget(1024 * 1024);
    assert_eq!(buf.budget(), 1024 * 1024);
    assert!(buf.used_bytes() <= 1024 * 1024);
    assert!(buf.len() < before);
    assert_eq!(buf.len() as u64 + buf.dropped(), 40_000);
    assert_eq!(buf.last_seq(), Some(39_999));
    buf.set_budget(1);
    assert_eq!(buf.budget(), MIN_LOG_BUDGET);
}

#[test]
fn a_batch_counts_what_its_source_dropped() {
    let mut batch: LogBatch = (0..3)
        .map(|i| line("h", LogLevel::Info, &format!("l{i}")))
        .collect();
    batch.dropped = 1_234;
    let mut buf = LogBuffer::default();
    buf.extend_batch(&batch);
    assert_eq!(texts(&buf), vec!["l0", "l1", "l2"]);
    assert_eq!(buf.dropped(), 1_234);
}

#[test]
fn hostile_lines_are_stored_inert() {
    let mut buf = LogBuffer::default();
    buf.push(line(
        "h\x1b[1m",
        LogLevel::Info,
        "\x1b]52;c;ZXZpbA==\x07 \x1b[?1049l\u{202e}",
    ));
    buf.push_parts(
        Timestamp::from_secs(1),
        "h2",
        "az\x07",
        LogLevel::Info,
        "\r\x08\u{9b}2J",
    );
    for stored in buf.iter() {
        for s in [stored.text, stored.host, stored.az] {
            assert!(
                !s.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{s:?}"
            );
        }
    }
    let first = buf.iter().next().expect("a line");
    assert_eq!(first.host, "h␛[1m");
    assert_eq!(first.text, "␛]52;c;ZXZpbA==␇ ␛[?1049l\u{fffd}");
    // A filter names the host as shown.
    let f = LogFilter {
        host: Some("h␛[1m".into()),
        ..LogFilter::default()
    };
    assert_eq!(buf.tail_matching(&f, None, 10).len(), 1);
}

#[test]
fn stack_trace_continuations_inherit_level() {
    let mut buf = LogBuffer::default();
    buf.push(line("h", LogLevel::Error, "ERROR boom"));
    buf.push(line("g", LogLevel::Warn, "WARN elsewhere"));
    buf.push(line(
        "h",
        LogLevel::None,
        "\tat com.example.Foo.bar(Foo.java:42)",
    ));
    buf.push(line("h", LogLevel::None, "10.0.0.1 GET / 200"));
    let levels: Vec<_> = buf.iter().map(|l| l.level).collect();
    assert_eq!(
        levels,
        vec![
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Error,
            LogLevel::None
        ]
    );
}

#[test]
fn filter_and_tail() {
    let mut buf = LogBuffer::default();
    buf.push(line("web-a1", LogLevel::Info, "hello"));
    buf.push(line("web-c1", LogLevel::Warn, "slow query"));
    buf.push(line("web-a1", LogLevel::Error, "timeout talking to db"));
    let seqs = |f: &LogFilter, until, n| -> Vec<u64> {
        buf.tail_matching(f, until, n)
            .iter()
            .map(|l| l.seq)
            .collect()
    };
    let f = LogFilter {
        pattern: Regex::new("slow|timeout").ok(),
        ..LogFilter::default()
    };
    assert_eq!(seqs(&f, None, 10), vec![1, 2]);
    assert_eq!(seqs(&f, None, 1), vec![2]);
    assert_eq!(seqs(&f, Some(1), 10), vec![1]);
    // The pattern also matches the host name.
    let f = LogFilter {
        pattern: Regex::new("c1$").ok(),
        ..LogFilter::default()
    };
    assert_eq!(seqs(&f, None, 10), vec![1]);
    let f = LogFilter {
        host: Some("web-a1".into()),
        min_level: Some(LogLevel::Warn),
        ..LogFilter::default()
    };
    assert_eq!(seqs(&f, None, 10), vec![2]);
    let f = LogFilter {
        host: Some("nobody".into()),
        ..LogFilter::default()
    };
    assert!(seqs(&f, None, 10).is_empty());
    let f = LogFilter {
        az: Some("az-a".into()),
        ..LogFilter::default()
    };
    assert_eq!(seqs(&f, None, 10), vec![0, 1, 2]);
    assert_eq!(seqs(&LogFilter::default(), Some(1), 10), vec![0, 1]);
}

const PAD: &str = "some padding so that text, not records, fills a chunk";

/// Navigation by sequence number across many chunks and after eviction.
#[test]
fn seq_navigation_spans_chunks_and_eviction() {
    let mut buf = LogBuffer::with_budget(MIN_LOG_BUDGET);
    for i in 0..5_000u64 {
        let host = if i % 3 == 0 { "web-a1" } else { "web-c1" };
        buf.push(line(host, LogLevel::Info, &format!("n={i} {PAD}")));
    }
    assert!(buf.chunks.len() > 2, "{} chunks", buf.chunks.len());
    let first = 5_000 - buf.len() as u64;
    assert!((1..4_400).contains(&first), "{first}");
    assert_eq!(buf.iter().next().map(|l| l.seq), Some(first));
    let all = LogFilter::default();
    assert_eq!(buf.seq_before(&all, 4_999, 10), Some(4_989));
    assert_eq!(buf.seq_before(&all, 4_999, usize::MAX), Some(first));
    assert_eq!(buf.seq_after(&all, 4_700, 10), Some(4_710));
    // From before the oldest kept line: counted from the oldest.
    assert_eq!(buf.seq_after(&all, 0, 1), Some(first));
    assert_eq!(buf.seq_after(&all, 4_990, 9), None, "reaches the newest");
    assert_eq!(buf.seq_from_oldest(&all, 0), Some(first));
    assert_eq!(buf.seq_from_oldest(&all, 5), Some(first + 5));
    assert_eq!(buf.seq_from_oldest(&all, 5_000), None);
    let a1 = LogFilter {
        host: Some("web-a1".into()),
        ..LogFilter::default()
    };
    assert_eq!(buf.seq_before(&a1, 4_999, 1), Some(4_995));
    assert_eq!(buf.seq_after(&a1, 4_700, 2), Some(4_704));
    // Each line's text is its own, at every chunk boundary.
    for l in buf.iter() {
        assert_eq!(l.text, format!("n={} {PAD}", l.seq));
    }
    let page = buf.tail_matching(&a1, Some(4_500), 4);
    let seqs: Vec<_> = page.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, vec![4_491, 4_494, 4_497, 4_500]);
    // Before the oldest kept line: clamped to what is there.
    assert_eq!(buf.tail_matching(&all, Some(first - 1), 4).len(), 0);
}

#[test]
fn a_clone_counts_its_own_memory() {
    let mut buf = LogBuffer::with_budget(MIN_LOG_BUDGET);
    for i in 0..100 {
        buf.push(line("h", LogLevel::Info, &format!("{i}")));
    }
    let mut copy = buf.clone();
    assert!(copy.used_bytes() <= buf.used_bytes());
    for i in 100..3_000 {
        copy.push(line("h", LogLevel::Info, &format!("{i}")));
        assert!(copy.used_bytes() <= MIN_LOG_BUDGET);
    }
    assert_eq!(copy.last_seq(), Some(2_999));
    assert_eq!(buf.last_seq(), Some(99));
}
