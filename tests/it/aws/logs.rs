//! CloudWatch Logs: host, AZ and level on every line, the hostile line
//! sanitized, and no line twice across polls.

use std::time::Duration;

use super::super::e2e_tmux::tmux_or_skip;
use super::{AwsLab, aws_or_skip};

/// The seeded lines of stream `host` (seed.py), without the hostile one.
fn seeded(host: &str) -> Vec<(String, &'static str)> {
    [
        ("started release v42 on port 8080", "INFO"),
        ("GET /health 200 3ms", "INFO"),
        ("slow upstream db response 850ms", "WARN"),
        ("GET /api/orders 200 41ms", "INFO"),
        ("GET /api/checkout 502 upstream connect error", "ERROR"),
        ("GET /health 200 2ms", "INFO"),
    ]
    .into_iter()
    .map(|(text, level)| (format!("{host} {text}"), level))
    .collect()
}

/// (stream, host, AZ) of every seeded stream.
fn streams(lab: &AwsLab) -> Vec<(String, &'static str, &'static str)> {
    let mut s: Vec<(String, &str, &str)> = [
        ("web-a1", "ap-northeast-2a"),
        ("web-a2", "ap-northeast-2a"),
        ("web-c1", "ap-northeast-2c"),
        ("web-c2", "ap-northeast-2c"),
    ]
    .into_iter()
    .map(|(h, az)| (h.to_string(), h, az))
    .collect();
    // The stream named by an instance id is web-c2's.
    let by_id = lab.var("LOG_STREAM_BY_ID");
    assert_eq!(by_id, lab.var("INSTANCE_ID_WEB_C2"));
    s.push((by_id.to_string(), "web-c2", "ap-northeast-2c"));
    s
}

#[test]
fn aws_logs_snapshot_shows_levels_and_sanitizes() {
    let Some(lab) = aws_or_skip("aws_logs_snapshot_shows_levels_and_sanitizes") else {
        return;
    };
    let (code, out, err) = lab.opsdeck(&[
        "snapshot", "--view", "logs", "--width", "200", "--height", "45",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !out.contains('\x1b') && !out.contains('\x07'),
        "raw ESC/BEL in the frame:\n{out:?}"
    );
    assert!(
        out.contains("· 31 lines ·"),
        "5 streams × 6 + the hostile line:\n{out}"
    );
    for (stream, host, az) in streams(&lab) {
        for (text, level) in seeded(&stream) {
            let lines: Vec<&str> = out.lines().filter(|l| l.contains(&text)).collect();
            assert_eq!(lines.len(), 1, "{text:?} once:\n{out}");
            let prefix = format!("{host} {az} {level}");
            assert!(
                lines[0].contains(&prefix),
                "{text:?} shows host, AZ and level ({prefix}): {}",
                lines[0]
            );
        }
    }
    let hostile = out
        .lines()
        .find(|l| l.contains("hostile input"))
        .unwrap_or_else(|| panic!("the hostile line:\n{out}"));
    assert!(
        hostile.contains("web-a1 ap-northeast-2a ERROR"),
        "{hostile}"
    );
    assert!(
        hostile.contains("]0;pwned") && hostile.contains("[2J") && hostile.contains("end"),
        "shown, made harmless: {hostile}"
    );
}

#[test]
fn aws_logs_in_the_console_each_line_once_across_polls() {
    let Some(lab) = aws_or_skip("aws_logs_in_the_console_each_line_once_across_polls") else {
        return;
    };
    let Some(t) = tmux_or_skip("aws-logs") else {
        return;
    };
    lab.console(&t, &lab.config(), "--read-only");
    t.type_text("5");
    t.wait_for("hostile input", Duration::from_secs(10));
    // AWS logs poll every 2 s: let several polls pass.
    std::thread::sleep(Duration::from_secs(7));
    let screen = t.screen();
    assert!(
        !screen.contains('\x1b') && !screen.contains('\x07'),
        "{screen:?}"
    );
    assert!(screen.contains("· 31 lines ·"), "no line twice:\n{screen}");
    for (stream, _, _) in streams(&lab) {
        for (text, _) in seeded(&stream) {
            let n = screen.matches(&text).count();
            assert_eq!(n, 1, "{text:?} appears {n} times:\n{screen}");
        }
    }
    // The escape sequences were shown, not obeyed: the terminal did not take
    // "pwned" as its title, nor clear the screen.
    let hostile = screen
        .lines()
        .find(|l| l.contains("hostile input"))
        .expect("hostile line");
    assert!(hostile.contains("]0;pwned"), "{hostile}");
    assert!(screen.contains("web-c2 started release"), "{screen}");
    t.type_text("q");
    std::thread::sleep(Duration::from_millis(500));
    if !t.screen().contains("E2E$") {
        t.type_text("y");
    }
    t.wait_for("E2E$", Duration::from_secs(10));
}
