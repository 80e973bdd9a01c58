//! Operating the AWS lab: drain and undrain through the ALB (counted with
//! moto's recorder, verified by DescribeTargetHealth with the target group's
//! real deregistration delay), the last-healthy guard, and the fleet lock as
//! a target group tag seen by a second operator.

use std::time::{Duration, Instant};

use super::{Recorded, aws_or_skip, host, summary};

fn count<'a>(rec: &'a [Recorded], action: &str) -> Vec<&'a Recorded> {
    rec.iter().filter(|r| r.action == action).collect()
}

fn target_state(status: &serde_json::Value, backend: &str) -> String {
    status["load_balancer"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["backend"] == backend)
        .and_then(|t| t["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

#[test]
fn aws_drain_and_undrain_send_one_call_each_for_that_target() {
    let Some(mut lab) = aws_or_skip("aws_drain_and_undrain_send_one_call_each_for_that_target")
    else {
        return;
    };
    lab.seed(&["--dereg-delay", "5"]);
    let id = lab.var("INSTANCE_ID_WEB_A1").to_string();
    let started = Instant::now();
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-a1", "--yes"]);
    let took = started.elapsed();
    assert_eq!(code, Some(0), "drain succeeds\n{out}{err}");
    // The wait is the target group's own delay (5 s) plus slack, not a
    // fixed 30 s, and the verdict is the ALB's: drained after about 5 s.
    assert!(
        out.contains("(≤ 35s)"),
        "the countdown follows the real delay: {out}"
    );
    assert!(out.contains("drained after"), "{out}");
    assert!(
        took >= Duration::from_secs(4),
        "drained before the delay ran out? {took:?}"
    );
    let rec = lab.recording();
    let dereg = count(&rec, "DeregisterTargets");
    assert_eq!(dereg.len(), 1, "one DeregisterTargets: {:?}", summary(&rec));
    assert!(
        dereg[0].body.contains(&format!("Targets.member.1.Id={id}"))
            && !dereg[0].body.contains("Targets.member.2"),
        "exactly web-a1's instance: {}",
        dereg[0].body
    );
    assert_eq!(count(&rec, "RegisterTargets").len(), 0);
    // The fleet lock: written, then given back.
    assert_eq!(count(&rec, "AddTags").len(), 1, "{:?}", summary(&rec));
    assert_eq!(count(&rec, "RemoveTags").len(), 1, "{:?}", summary(&rec));
    let (_, status, _, _) = lab.status_with(&lab.config());
    assert_eq!(target_state(&status, "web-a1"), "drained");
    assert_eq!(target_state(&status, "web-a2"), "active");

    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&["do", "undrain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "undrain succeeds\n{out}{err}");
    let rec = lab.recording();
    let reg = count(&rec, "RegisterTargets");
    assert_eq!(reg.len(), 1, "one RegisterTargets: {:?}", summary(&rec));
    assert!(
        reg[0].body.contains(&format!("Targets.member.1.Id={id}")),
        "{}",
        reg[0].body
    );
    assert_eq!(count(&rec, "DeregisterTargets").len(), 0);
    let (_, status, _, _) = lab.status_with(&lab.config());
    assert_eq!(target_state(&status, "web-a1"), "active");
    assert_eq!(host(&status, "web-a1")["health"], "ok");
}

#[test]
fn aws_drain_of_the_last_healthy_target_of_an_az_is_refused_and_sends_nothing() {
    let Some(mut lab) =
        aws_or_skip("aws_drain_of_the_last_healthy_target_of_an_az_is_refused_and_sends_nothing")
    else {
        return;
    };
    lab.seed(&["--dereg-delay", "0"]);
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-a2", "--yes"]);
    assert_eq!(code, Some(3), "refused by a guard\n{out}{err}");
    assert!(
        format!("{out}{err}").contains("last healthy backend in ap-northeast-2a"),
        "{out}{err}"
    );
    let rec = lab.recording();
    let writes: Vec<&Recorded> = rec.iter().filter(|r| !r.reads()).collect();
    assert!(
        writes.is_empty(),
        "a refused guard sends nothing: {writes:?}"
    );
    assert!(!rec.is_empty(), "it observed the fleet to decide");
}

#[test]
fn aws_fleet_lock_refuses_a_second_operator_and_is_given_back() {
    let Some(mut lab) = aws_or_skip("aws_fleet_lock_refuses_a_second_operator_and_is_given_back")
    else {
        return;
    };
    lab.seed(&["--dereg-delay", "8"]);
    let first = lab
        .command(&lab.config(), &["do", "drain-backend", "web-a1", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("first operator");
    // Until the first operator's lock tag is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&lab.recording(), "DeregisterTargets").is_empty() {
        assert!(Instant::now() < deadline, "the first drain never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-c1", "--yes"]);
    let text = format!("{out}{err}");
    assert_eq!(code, Some(3), "the second operator is refused\n{text}");
    assert!(
        text.contains("drain-backend web-a1"),
        "names the holder's operation: {text}"
    );
    let deregs = count(&lab.recording(), "DeregisterTargets").len();
    assert_eq!(deregs, 1, "only the first operator deregistered anything");
    let out = first.wait_with_output().expect("first operator ends");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Given back: the second operator can go now.
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-c1", "--yes"]);
    assert_eq!(
        code,
        Some(0),
        "after the first ends the lock is free\n{out}{err}"
    );
}
