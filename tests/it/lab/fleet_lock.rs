//! The fleet-wide operation lock on the lab's load balancer: two operators
//! at once, a console that dies while holding it, and a stale lock.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::core::Timestamp;
use opsdeck::core::lock::LockHolder;
use opsdeck::providers::{LockError, ObserveProvider, OperateProvider};

use super::{Load, binary, lab_or_skip};

const A1: &str = "127.0.1.11:8080";
const A2: &str = "127.0.1.12:8080";

fn holder_file(lab: &super::Lab) -> std::path::PathBuf {
    Path::new(lab.var("LAB_UPSTREAM_FILE"))
        .parent()
        .expect("dir")
        .join(".opsdeck.lock.holder")
}

#[test]
fn lab_two_operators_draining_one_az_at_once_exactly_one_wins_each_round() {
    let Some(lab) =
        lab_or_skip("lab_two_operators_draining_one_az_at_once_exactly_one_wins_each_round")
    else {
        return;
    };
    let load = Load::start(lab.var("LAB_LB_URL"));
    for round in 0..20 {
        let (a1, a2) = std::thread::scope(|s| {
            let a1 = s.spawn(|| lab.opsdeck(&["do", "drain-backend", "web-a1", "--yes"]));
            let a2 = s.spawn(|| lab.opsdeck(&["do", "drain-backend", "web-a2", "--yes"]));
            (a1.join().expect("web-a1"), a2.join().expect("web-a2"))
        });
        let results = [("web-a1", A1, a1), ("web-a2", A2, a2)];
        let winners: Vec<_> = results.iter().filter(|r| r.2.0 == Some(0)).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one drain succeeds: {results:#?}"
        );
        let (winner, winner_addr, (_, won, _)) = winners[0];
        assert!(
            won.contains("✔ succeeded (verified)"),
            "round {round}: {won}"
        );
        let (loser, _, (code, out, err)) =
            results.iter().find(|r| r.0 != *winner).expect("a loser");
        assert_eq!(
            *code,
            Some(3),
            "round {round}: {loser} is refused: {out}{err}"
        );
        assert!(
            out.contains("the fleet is locked by")
                && out.contains(&format!("drain-backend {winner}")),
            "round {round}: the refusal names the holder and its operation: {out}"
        );
        assert!(out.contains("nothing was changed"), "round {round}: {out}");
        // The pool file is valid and has exactly the winner's `down` line.
        lab.sh("$LAB_NGINX_TEST 2>/dev/null");
        let text = lab.sh("cat $LAB_UPSTREAM_FILE");
        let downs: Vec<&str> = text.lines().filter(|l| l.contains(" down;")).collect();
        assert_eq!(downs.len(), 1, "round {round}: {text}");
        assert!(downs[0].contains(winner_addr), "round {round}: {text}");
        assert!(
            lab.edit_leftovers().is_empty(),
            "round {round}: {:?}",
            lab.edit_leftovers()
        );
        assert!(
            !holder_file(&lab).exists(),
            "round {round}: the winner released the lock"
        );
        lab.reset();
    }
    let (sent, failed) = load.finish();
    assert!(
        failed.is_empty(),
        "{} of {sent} requests failed: {failed:?}",
        failed.len()
    );
}

#[test]
fn lab_a_console_killed_while_holding_the_lock_lets_it_go() {
    let Some(lab) = lab_or_skip("lab_a_console_killed_while_holding_the_lock_lets_it_go") else {
        return;
    };
    let config = lab.config();
    let mut child = Command::new(binary())
        .args(["--config", config.to_str().expect("utf-8")])
        .args(["do", "drain-backend", "web-c1", "--yes"])
        .env("XDG_DATA_HOME", lab.data.path().join("data"))
        .env("XDG_STATE_HOME", lab.data.path().join("state"))
        .env_remove("OPSDECK_READ_ONLY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("opsdeck do");
    let holder = holder_file(&lab);
    let start = Instant::now();
    while !holder.exists() && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(holder.exists(), "the operation took the lock");
    let text = std::fs::read_to_string(&holder).expect("holder");
    let h: LockHolder = serde_json::from_str(text.trim()).expect("holder JSON");
    assert_eq!(h.pid, child.id());
    assert_eq!(h.operation, "drain-backend web-c1");
    assert_eq!(h.environment, "lab");
    let _ = child.kill();
    let _ = child.wait();
    // The holding command sees its stdin close and lets go, removing its
    // holder file: no stale lock is left for the next operator.
    let start = Instant::now();
    while holder.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = start.elapsed();
    assert!(!holder.exists(), "the lock was let go after the kill");
    eprintln!("lock let go {took:?} after the console was killed");
    let (code, out, err) = lab.opsdeck(&["do", "undrain-backend", "web-c1", "--yes"]);
    assert_eq!(code, Some(0), "the next operator gets the lock: {out}{err}");
}

fn alice(pid: u32) -> LockHolder {
    LockHolder {
        operator: "alice".into(),
        machine: "laptop".into(),
        pid,
        operation: "drain-backend web-a1".into(),
        environment: "lab".into(),
        started_at: Timestamp::from_millis(1_795_000_000_000 + i64::from(pid)),
    }
}

#[tokio::test]
async fn lab_every_console_sees_the_holder_and_a_stale_lock_is_broken_only_if_unchanged() {
    let Some(lab) = lab_or_skip(
        "lab_every_console_sees_the_holder_and_a_stale_lock_is_broken_only_if_unchanged",
    ) else {
        return;
    };
    let now = Timestamp::from_millis(1_795_000_060_000);
    let first = lab.provider(&lab.config());
    let second = lab.provider(&lab.config());
    assert_eq!(second.lock_holder(now).await.expect("probe"), None);
    first.acquire_lock(&alice(1), now).await.expect("free");
    assert_eq!(
        second.lock_holder(now).await.expect("probe"),
        Some(alice(1)),
        "another console sees who operates"
    );
    match second.acquire_lock(&alice(2), now).await {
        Err(LockError::Held(h)) => assert!(h.same_as(&alice(1)), "{h:?}"),
        other => panic!("expected Held, got {other:?}"),
    }
    first.release_lock(&alice(1), now).await.expect("release");
    assert_eq!(second.lock_holder(now).await.expect("probe"), None);
    assert!(!holder_file(&lab).exists());

    // A holder file whose flock nobody holds: its command was killed on the
    // host (a reboot), maybe half-way through an operation.
    let json = serde_json::to_string(&alice(3)).expect("json");
    std::fs::write(holder_file(&lab), format!("{json}\n")).expect("write");
    let seen = second
        .lock_holder(now)
        .await
        .expect("probe")
        .expect("a holder");
    assert!(
        seen.same_as(&alice(3)) && seen.operation.contains("STALE"),
        "{seen:?}"
    );
    match second.acquire_lock(&alice(2), now).await {
        Err(LockError::Unavailable(e)) => {
            let e = e.to_string();
            assert!(
                e.contains("stale lock") && e.contains("alice@laptop (pid 3)"),
                "{e}"
            );
        }
        other => panic!("a stale lock blocks until broken: {other:?}"),
    }
    let err = second
        .break_lock(&alice(4), now)
        .await
        .expect_err("not that holder's");
    assert!(err.to_string().contains("no longer"), "{err}");
    assert!(holder_file(&lab).exists());
    second.break_lock(&alice(3), now).await.expect("broken");
    assert!(!holder_file(&lab).exists());
    second.acquire_lock(&alice(2), now).await.expect("free now");
    // A held lock is not stale: breaking it is refused.
    let err = first
        .break_lock(&alice(2), now)
        .await
        .expect_err("held, not stale");
    assert!(err.to_string().contains("not stale"), "{err}");
    second.release_lock(&alice(2), now).await.expect("release");
    assert!(!holder_file(&lab).exists());
}
