//! Promotion on the AWS lab: an RDS read replica (PromoteReadReplica, with
//! the minutes RDS takes modelled by the test server as a `modifying`
//! window) and an ElastiCache primary change (TestFailover with automatic
//! failover on, ModifyReplicationGroup's PrimaryClusterId with it off),
//! counted with moto's recorder and verified by the topology read back.

use super::{Recorded, aws_or_skip, node, summary};

fn calls<'a>(rec: &'a [Recorded], action: &str) -> Vec<&'a Recorded> {
    rec.iter().filter(|r| r.action == action).collect()
}

/// The writes a run sent, without the fleet lock's own tag calls.
fn writes_besides_the_lock(rec: &[Recorded]) -> Vec<&Recorded> {
    rec.iter()
        .filter(|r| !r.reads() && r.action != "AddTags" && r.action != "RemoveTags")
        .collect()
}

#[test]
fn aws_rds_promote_sends_one_call_shows_progress_and_reads_the_new_topology() {
    let Some(mut lab) =
        aws_or_skip("aws_rds_promote_sends_one_call_shows_progress_and_reads_the_new_topology")
    else {
        return;
    };
    // The replica stays `modifying` for 4 s after the call, as RDS does for
    // minutes.
    lab.seed(&["--rds-promote-seconds", "4"]);
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "prod-db-replica", "--yes"]);
    assert_eq!(code, Some(0), "promote succeeds\n{out}{err}");
    // The plan: no read-only step, no catch-up wait, no rejoin.
    let steps: Vec<&str> = out.lines().filter(|l| l.contains("▶")).collect();
    assert_eq!(
        steps,
        vec![
            "  ▶ 1. promote prod-db-replica",
            "  ▶ 2. verify prod-db-replica is the writable primary"
        ],
        "{out}"
    );
    // The dialog's statement: downtime, and the loss implied by the last
    // ReplicaLag sample with its age.
    assert!(
        out.contains("Expected downtime: RDS reboots the replica"),
        "{out}"
    );
    assert!(out.contains("as sampled"), "{out}");
    assert!(out.contains("prod-db STAYS WRITABLE"), "{out}");
    // Progress while RDS works on it.
    assert!(
        out.contains("… prod-db-replica is replica (modifying)"),
        "progress names the status: {out}"
    );
    // The verdict reads the new topology, and says the old primary is still
    // writable (RDS leaves it standalone) instead of calling it a split brain.
    assert!(
        out.contains("topology now: prod-db-replica: writable primary; prod-db: writable primary"),
        "{out}"
    );
    assert!(out.contains("prod-db is still a writable primary"), "{out}");
    let rec = lab.recording();
    let promote = calls(&rec, "PromoteReadReplica");
    assert_eq!(
        promote.len(),
        1,
        "one PromoteReadReplica: {:?}",
        summary(&rec)
    );
    assert!(
        promote[0]
            .body
            .contains("DBInstanceIdentifier=prod-db-replica"),
        "{}",
        promote[0].body
    );
    assert_eq!(
        writes_besides_the_lock(&rec).len(),
        1,
        "nothing else changed: {:?}",
        summary(&rec)
    );
    let (_, status, _, _) = lab.status_with(&lab.config());
    assert_eq!(
        node(&status, "databases", "prod-db-replica")["role"],
        "primary"
    );

    // Promoting it again: it is a primary now, refused before anything is sent.
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "prod-db-replica", "--yes"]);
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(
        format!("{out}{err}").contains("already a primary"),
        "{out}{err}"
    );
    assert!(
        lab.recording().iter().all(Recorded::reads),
        "{:?}",
        summary(&lab.recording())
    );
}

#[test]
fn aws_forced_failover_needs_the_typed_name_then_promotes_once() {
    let Some(mut lab) = aws_or_skip("aws_forced_failover_needs_the_typed_name_then_promotes_once")
    else {
        return;
    };
    lab.seed(&[]);
    // The API still calls prod-db available: only failover-replica forces
    // an emergency, and without the typed name it is refused, nothing sent.
    let (code, out, err) = lab.opsdeck(&["do", "failover-replica", "prod-db-replica", "--yes"]);
    assert_eq!(code, Some(3), "refused without the typed name\n{out}{err}");
    let rec = lab.recording();
    assert!(
        rec.iter().all(Recorded::reads),
        "a refusal sends nothing: {:?}",
        summary(&rec)
    );
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&[
        "do",
        "failover-replica",
        "prod-db-replica",
        "--yes",
        "--confirm",
        "prod-db-replica",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("EMERGENCY failover (forced)"), "{out}");
    assert!(
        out.contains("prod-db still looks available, and is treated as lost"),
        "{out}"
    );
    let rec = lab.recording();
    assert_eq!(
        calls(&rec, "PromoteReadReplica").len(),
        1,
        "{:?}",
        summary(&rec)
    );
    assert_eq!(
        writes_besides_the_lock(&rec).len(),
        1,
        "{:?}",
        summary(&rec)
    );
}

#[test]
fn aws_elasticache_primary_change_swaps_roles_and_the_verdict_reads_them() {
    let Some(mut lab) =
        aws_or_skip("aws_elasticache_primary_change_swaps_roles_and_the_verdict_reads_them")
    else {
        return;
    };
    let swapped = "topology now: prod-redis-002: writable primary; prod-redis-001: read-only, follows prod-redis-002";
    // Automatic failover on: a TestFailover of the group's node group.
    lab.seed(&[]);
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "prod-redis-002", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(swapped), "{out}");
    assert!(
        out.contains("the service makes prod-redis-001 its replica"),
        "{out}"
    );
    let rec = lab.recording();
    let failover = calls(&rec, "TestFailover");
    assert_eq!(failover.len(), 1, "{:?}", summary(&rec));
    assert!(
        failover[0].body.contains("ReplicationGroupId=prod-redis")
            && failover[0].body.contains("NodeGroupId=0001"),
        "{}",
        failover[0].body
    );
    assert_eq!(
        writes_besides_the_lock(&rec).len(),
        1,
        "{:?}",
        summary(&rec)
    );
    let (_, status, _, _) = lab.status_with(&lab.config());
    assert_eq!(node(&status, "caches", "prod-redis-002")["role"], "primary");
    assert_eq!(node(&status, "caches", "prod-redis-001")["role"], "replica");

    // Automatic failover off: the primary is chosen with PrimaryClusterId.
    lab.seed(&["--cache-auto-failover", "off"]);
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "prod-redis-002", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(swapped), "{out}");
    let rec = lab.recording();
    let modify = calls(&rec, "ModifyReplicationGroup");
    assert_eq!(modify.len(), 1, "{:?}", summary(&rec));
    assert!(
        modify[0].body.contains("PrimaryClusterId=prod-redis-002")
            && modify[0].body.contains("ApplyImmediately=true"),
        "{}",
        modify[0].body
    );
    assert!(calls(&rec, "TestFailover").is_empty());
    assert_eq!(
        writes_besides_the_lock(&rec).len(),
        1,
        "{:?}",
        summary(&rec)
    );
}

#[test]
fn aws_interrupting_an_accepted_rds_promotion_says_it_goes_on_and_records_the_result() {
    let Some(mut lab) = aws_or_skip(
        "aws_interrupting_an_accepted_rds_promotion_says_it_goes_on_and_records_the_result",
    ) else {
        return;
    };
    lab.seed(&["--rds-promote-seconds", "6"]);
    let child = lab
        .command(
            &lab.config(),
            &["do", "promote-replica", "prod-db-replica", "--yes"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("opsdeck do");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while calls(&lab.recording(), "PromoteReadReplica").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the promotion was never sent"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Ctrl-C while RDS works on it: a promotion RDS accepted cannot be
    // called back, and the verdict must not pretend otherwise.
    let st = std::process::Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(st.success());
    let out = child.wait_with_output().expect("opsdeck ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("accepted the promotion of prod-db-replica and it cannot be called back"),
        "{text}"
    );
    assert!(text.contains("prod-db stays writable"), "{text}");
    // Every exit path leaves a result in the audit log.
    let (code, audit, err) = lab.opsdeck(&["audit", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let results: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["phase"] == "result")
        .collect();
    assert_eq!(results.len(), 1, "{audit}");
    assert!(
        results[0]["outcome"]
            .to_string()
            .contains("cannot be called back"),
        "{audit}"
    );
    // And it does go on: RDS finishes the promotion.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let (_, status, _, _) = lab.status_with(&lab.config());
    assert_eq!(
        node(&status, "databases", "prod-db-replica")["role"],
        "primary"
    );
}
