//! Drain verification with the console's clock ±10 s off the load
//! balancer's (the hidden `--at` flag starts the console's clock there).
//! web-a1 answers slowly, so requests it took before the drain keep ending
//! (and being logged) after it: a verification that windows the access log on
//! the console's clock counts nothing and "verifies" while they still flow.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opsdeck::providers::selfhosted::access_log::parse_line;

use super::{Lab, Load, lab_or_skip};

const A1: &str = "127.0.1.11:8080";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Puts web-a1's release config back however the test ends.
struct SlowA1<'a>(&'a Lab);

impl SlowA1<'_> {
    fn new(lab: &Lab) -> SlowA1<'_> {
        lab.sh("sed -i 's/^delay_ms=.*/delay_ms=1500/' \"$LAB_RELEASES_WEB_A1/v42/config\"");
        SlowA1(lab)
    }
}

impl Drop for SlowA1<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg("-c")
            .arg("sed -i 's/^delay_ms=.*/delay_ms=20/' \"$LAB_RELEASES_WEB_A1/v42/config\"")
            .envs(&self.0.vars)
            .status();
    }
}

/// The newest access-log time (ms, on the log's clock) of a request web-a1 took.
fn last_request_to_a1(lab: &Lab) -> Option<i64> {
    std::fs::read_to_string(lab.var("LAB_ACCESS_LOG"))
        .expect("access log")
        .lines()
        .filter_map(parse_line)
        .filter(|e| e.upstream.iter().any(|u| u == A1))
        .map(|e| e.time.millis())
        .max()
}

fn drain_with_skew(lab: &Lab, skew_ms: i64) {
    let _slow = SlowA1::new(lab);
    // Several clients, so web-a1 has requests in flight when it is drained.
    let loads: Vec<Load> = (0..6).map(|_| Load::start(lab.var("LAB_LB_URL"))).collect();
    std::thread::sleep(Duration::from_secs(2));
    let at = (now_ms() + skew_ms).to_string();
    let (code, out, err) = lab.opsdeck(&["--at", &at, "do", "drain-backend", "web-a1", "--yes"]);
    let finished = now_ms();
    // Let the last slow requests end and be logged before reading the log.
    std::thread::sleep(Duration::from_secs(2));
    for load in loads {
        let _ = load.finish();
    }
    let last = last_request_to_a1(lab).expect("web-a1 took requests");
    match code {
        Some(0) => {
            assert!(out.contains("✔ succeeded (verified)"), "{out}");
            // The log has one-second resolution: the whole second of the
            // last request must be over before the drain says it is quiet.
            assert!(
                finished >= last + 1000,
                "skew {skew_ms} ms: verified at {finished} while web-a1 still took a request logged at {last}\n{out}"
            );
        }
        // Refusing to verify is fine too, if it says why.
        _ => assert!(
            out.contains("cannot") || out.contains("refuse"),
            "skew {skew_ms} ms: {out}{err}"
        ),
    }
}

#[test]
fn lab_drain_verification_holds_with_the_console_clock_10s_ahead() {
    let Some(lab) = lab_or_skip("lab_drain_verification_holds_with_the_console_clock_10s_ahead")
    else {
        return;
    };
    drain_with_skew(&lab, 10_000);
}

#[test]
fn lab_drain_verification_holds_with_the_console_clock_10s_behind() {
    let Some(lab) = lab_or_skip("lab_drain_verification_holds_with_the_console_clock_10s_behind")
    else {
        return;
    };
    drain_with_skew(&lab, -10_000);
}
