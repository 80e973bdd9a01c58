//! The promotion fault matrix on the lab's real servers: a planned
//! switchover of MariaDB and of Redis, stopped by SIGTERM to `opsdeck do
//! promote-replica` or by freezing the replica's AZ, at the points where the
//! fault can be made real and on time:
//!
//! - MariaDB, SIGTERM during catch-up: the primary was already made
//!   read-only and the replica cannot catch up (its SQL thread waits behind
//!   `FLUSH TABLES WITH READ LOCK`). The wind-down must give the primary its
//!   writes back and leave the replica a read-only replica. Also cancelled
//!   by the operator with Esc in the console (a real terminal under tmux),
//!   which goes through the reducer's cancel instead of the signal path.
//! - MariaDB and Redis, SIGTERM at the step boundary after the promotion and
//!   the rejoin (the post-promote hook runs; it cannot be stopped part-way,
//!   so the cancel lands before the verification). The wind-down must NOT
//!   give the old primary its writes back.
//! - MariaDB and Redis, the replica's AZ frozen (`az.sh down az-c`) after the
//!   promotion: the verification's observation times out, the operation
//!   fails, and its result must say the replica is unreachable and the old
//!   primary read-only.
//!
//! The promote call itself is one quick statement batch (MariaDB) or one
//! `FAILOVER` (Redis), too short to hit from outside; cancels and timeouts
//! inside it are the in-process matrix's (tests/it/operation_faults.rs).
//!
//! After each case the servers are asked directly (mysql / redis-cli):
//! never two writable primaries, and the audit log's result states the
//! topology the servers show. Each case starts from and restores the lab's
//! topology (db-primary and cache-primary primaries).

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use opsdeck::core::operation::Verdict;
use opsdeck::runtime::audit_log::AuditRecord;

use super::{Lab, binary, console, freeze_az, lab_or_skip, mariadb, tmux_or_skip};

/// Each node of one kind with its phrase ("writable primary", ...).
type Seen = Vec<(&'static str, String)>;

/// One MariaDB server as it answers.
#[derive(Debug)]
struct DbSeen {
    read_only: bool,
    /// The port it replicates from, if it replicates.
    source_port: Option<String>,
}

const DB: [(&str, &str, &str); 2] = [
    ("db-primary", "LAB_DB_PRIMARY_ROOT_CNF", "3307"),
    ("db-replica", "LAB_DB_REPLICA_ROOT_CNF", "3308"),
];
const CACHE: [(&str, &str, &str); 2] = [
    ("cache-primary", "127.0.1.31", "6380"),
    ("cache-replica", "127.0.2.31", "6381"),
];

fn db_seen(lab: &Lab, cnf: &str) -> DbSeen {
    let ro = lab.sh(&format!(
        "timeout 5 mariadb --defaults-file=\"${cnf}\" -N -B -e 'SELECT @@GLOBAL.read_only'"
    ));
    let status = lab.sh(&format!(
        "timeout 5 mariadb --defaults-file=\"${cnf}\" -e 'SHOW SLAVE STATUS\\G'"
    ));
    let source_port = status
        .lines()
        .find_map(|l| l.trim().strip_prefix("Master_Port:"))
        .map(|p| p.trim().to_string());
    DbSeen {
        read_only: ro.trim() == "1",
        source_port,
    }
}

/// The node a port belongs to.
fn name_of(port: &str, nodes: &[(&'static str, &str, &str)]) -> &'static str {
    nodes
        .iter()
        .find(|n| n.2 == port)
        .map_or("another server", |n| n.0)
}

/// Each database as the servers show it, in the verdict's words.
fn db_topology(lab: &Lab) -> Vec<(&'static str, String)> {
    db_topology_of(lab, &["db-primary", "db-replica"])
}

fn db_topology_of(lab: &Lab, names: &[&str]) -> Vec<(&'static str, String)> {
    DB.iter()
        .filter(|n| names.contains(&n.0))
        .map(|(name, cnf, _)| {
            let s = db_seen(lab, cnf);
            let source = s.source_port.as_deref().map(|p| name_of(p, &DB));
            (*name, phrase(!s.read_only, source))
        })
        .collect()
}

/// Each cache as the servers show it: a master is writable, a replica
/// follows its master.
fn cache_topology(lab: &Lab) -> Vec<(&'static str, String)> {
    cache_topology_of(lab, &["cache-primary", "cache-replica"])
}

fn cache_topology_of(lab: &Lab, names: &[&str]) -> Vec<(&'static str, String)> {
    CACHE
        .iter()
        .filter(|n| names.contains(&n.0))
        .map(|(name, host, port)| {
            let info = lab.sh(&format!(
                "timeout 5 redis-cli -h {host} -p {port} INFO replication"
            ));
            let field = |k: &str| {
                info.lines()
                    .find_map(|l| l.trim().strip_prefix(&format!("{k}:")))
                    .map(|v| v.trim().to_string())
            };
            let master = field("role").as_deref() == Some("master");
            let source = field("master_port").map(|p| name_of(&p, &CACHE));
            (*name, phrase(master, if master { None } else { source }))
        })
        .collect()
}

/// The wording of `core::assess::node_view::node_phrase`.
fn phrase(writable: bool, source: Option<&str>) -> String {
    match (writable, source) {
        (true, None) => "writable primary".to_string(),
        (true, Some(s)) => format!("writable, follows {s}"),
        (false, None) => "read-only, follows nobody".to_string(),
        (false, Some(s)) => format!("read-only, follows {s}"),
    }
}

fn writable(topology: &[(&str, String)]) -> Vec<String> {
    topology
        .iter()
        .filter(|(_, p)| p.starts_with("writable"))
        .map(|(n, _)| n.to_string())
        .collect()
}

/// The lab's starting topology, asserted before each case.
fn assert_start(lab: &Lab) {
    let db = db_topology(lab);
    assert_eq!(
        db,
        vec![
            ("db-primary", "writable primary".to_string()),
            ("db-replica", "read-only, follows db-primary".to_string()),
        ],
        "the lab starts with db-primary as primary"
    );
    let cache = cache_topology(lab);
    assert_eq!(
        cache,
        vec![
            ("cache-primary", "writable primary".to_string()),
            (
                "cache-replica",
                "read-only, follows cache-primary".to_string()
            ),
        ],
        "the lab starts with cache-primary as primary"
    );
}

/// Puts the lab back at its starting topology if a case (this one or an
/// earlier, failed one) left it switched: switches back with opsdeck itself,
/// as an operator would, then asserts the start.
fn restore_start(lab: &Lab) {
    let start_db = [
        ("db-primary", "writable primary".to_string()),
        ("db-replica", "read-only, follows db-primary".to_string()),
    ];
    if db_topology(lab) != start_db {
        let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "db-primary", "--yes"]);
        assert_eq!(code, Some(0), "switch back to db-primary: {out}{err}");
    }
    let start_cache = [
        ("cache-primary", "writable primary".to_string()),
        (
            "cache-replica",
            "read-only, follows cache-primary".to_string(),
        ),
    ];
    if cache_topology(lab) != start_cache {
        let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "cache-primary", "--yes"]);
        assert_eq!(code, Some(0), "switch back to cache-primary: {out}{err}");
    }
    assert_start(lab);
}

/// `opsdeck do promote-replica NODE --yes` in the background.
fn promote(lab: &Lab, config: &std::path::Path, node: &str) -> Child {
    Command::new(binary())
        .args(["--config", config.to_str().expect("utf-8")])
        .args(["do", "promote-replica", node, "--yes"])
        .env("XDG_DATA_HOME", lab.data.path().join("data"))
        .env("XDG_STATE_HOME", lab.data.path().join("state"))
        .env("XDG_CONFIG_HOME", lab.data.path().join("config"))
        .env_remove("OPSDECK_READ_ONLY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("opsdeck do promote-replica")
}

/// Sends SIGTERM to a child this test started.
fn sigterm(child: &Child) {
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "SIGTERM sent");
}

/// Waits for the child, killing it if it outlives `timeout` (then fails).
fn finish(mut child: Child, timeout: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "opsdeck do did not end within {timeout:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("output");
    (
        status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    )
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Result records in this test's audit log so far.
fn results(lab: &Lab) -> Vec<AuditRecord> {
    let path = lab.data.path().join("data/opsdeck/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("audit record"))
        .filter(|r: &AuditRecord| r.phase == "result")
        .collect()
}

/// The one result record written after the first `before` (those of the
/// switch-backs that restored the lab before the case).
fn result(lab: &Lab, before: usize) -> AuditRecord {
    let all = results(lab);
    let new: Vec<&AuditRecord> = all.iter().skip(before).collect();
    assert_eq!(new.len(), 1, "one result record for the case: {new:#?}");
    new[0].clone()
}

/// The verdict's text and the part after "topology left: ".
fn topology_left(verdict: &str) -> &str {
    verdict
        .split_once("topology left: ")
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("the result states the topology it left: {verdict}"))
}

/// Asserts the result's topology names each node as `expected` says.
fn assert_states(verdict: &str, expected: &[(&str, String)]) {
    let left = topology_left(verdict);
    for (name, p) in expected {
        assert!(
            left.contains(&format!("{name}: {p}")),
            "the result says {name} is {p:?} as the servers do: {left}"
        );
    }
}

/// A config whose post-promote hook marks that it started and then runs
/// for `secs`: a window after the promotion and the rejoin.
fn with_hook(lab: &Lab, secs: u32) -> (PathBuf, PathBuf) {
    let marker = lab.data.path().join("hook-started");
    let config = lab.config_variant("hooked.toml", |t| {
        t.replacen(
            "timeout_ms = 2500\n",
            &format!(
                "timeout_ms = 2500\npost_promote_hook = \"touch {} && sleep {secs}\"\n",
                marker.display()
            ),
            1,
        )
    });
    assert!(
        std::fs::read_to_string(&config)
            .expect("config")
            .contains("post_promote_hook"),
        "the hook is in the config"
    );
    (config, marker)
}

/// A database switchover cancelled before its promotion: the servers show
/// the primary writable again with the replica following it, and the
/// result (after `before` results) says so in the same words.
fn assert_cancelled_before_promotion(lab: &Lab, before: usize) {
    let servers = db_topology(lab);
    assert_eq!(
        servers,
        vec![
            ("db-primary", "writable primary".to_string()),
            ("db-replica", "read-only, follows db-primary".to_string()),
        ],
        "the switchover did not happen and the primary has its writes back"
    );
    let r = result(lab, before);
    let Some(Verdict::Cancelled(left)) = &r.outcome else {
        panic!("cancelled: {r:?}");
    };
    assert!(left.contains("db-primary made writable again"), "{left}");
    assert_states(left, &servers);
}

/// Holds `FLUSH TABLES WITH READ LOCK` on the replica: its SQL thread
/// cannot apply anything until the holding session is killed (on drop, by
/// its connection id, so the lock is gone when this returns).
struct ReplicaReadLock<'a> {
    lab: &'a Lab,
    client: Child,
}

impl<'a> ReplicaReadLock<'a> {
    fn hold(lab: &'a Lab) -> Self {
        let client = Command::new("bash")
            .arg("-c")
            .arg("exec mariadb --defaults-file=\"$LAB_DB_REPLICA_ROOT_CNF\" -e 'FLUSH TABLES WITH READ LOCK; SELECT SLEEP(60) AS opsdeck_ftwrl'")
            .envs(&lab.vars)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lock session");
        wait_until("the read lock is held", Duration::from_secs(10), || {
            !mariadb(
                lab,
                "LAB_DB_REPLICA_ROOT_CNF",
                "SELECT id FROM information_schema.processlist WHERE info LIKE '%opsdeck_ftwrl%' AND info NOT LIKE '%processlist%'",
            )
            .trim()
            .is_empty()
        });
        ReplicaReadLock { lab, client }
    }
}

impl Drop for ReplicaReadLock<'_> {
    fn drop(&mut self) {
        let ids = mariadb(
            self.lab,
            "LAB_DB_REPLICA_ROOT_CNF",
            "SELECT id FROM information_schema.processlist WHERE info LIKE '%opsdeck_ftwrl%' AND info NOT LIKE '%processlist%'",
        );
        for id in ids.split_whitespace() {
            let _ = Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "mariadb --defaults-file=\"$LAB_DB_REPLICA_ROOT_CNF\" -e 'KILL {id}'"
                ))
                .envs(&self.lab.vars)
                .status();
        }
        let _ = self.client.kill();
        let _ = self.client.wait();
    }
}

#[test]
fn lab_db_switchover_cancelled_during_catch_up_gives_the_primary_its_writes_back() {
    let Some(lab) = lab_or_skip(
        "lab_db_switchover_cancelled_during_catch_up_gives_the_primary_its_writes_back",
    ) else {
        return;
    };
    restore_start(&lab);
    let lock = ReplicaReadLock::hold(&lab);
    // A write the replica receives but cannot apply: it is behind, by a
    // second or two only, so the lag guard lets the switchover start.
    mariadb(
        &lab,
        "LAB_DB_PRIMARY_ROOT_CNF",
        "INSERT INTO lab.t (v) VALUES ('catch-up-cancel')",
    );
    let before = results(&lab).len();
    let child = promote(&lab, &lab.config(), "db-replica");
    // The first step made the primary read-only; the catch-up wait runs.
    wait_until("db-primary made read-only", Duration::from_secs(20), || {
        db_seen(&lab, "LAB_DB_PRIMARY_ROOT_CNF").read_only
    });
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&child);
    let (code, out) = finish(child, Duration::from_secs(40));
    drop(lock);

    assert_eq!(code, Some(143), "SIGTERM: exit 128+15: {out}");
    assert_cancelled_before_promotion(&lab, before);
    // The replica applies what it held back once the lock is gone.
    wait_until("the replica caught up", Duration::from_secs(15), || {
        mariadb(
            &lab,
            "LAB_DB_REPLICA_ROOT_CNF",
            "SELECT COUNT(*) FROM lab.t WHERE v = 'catch-up-cancel'",
        )
        .trim()
            != "0"
    });
    assert_start(&lab);
}

/// SIGTERM while the post-promote hook runs (after Promote and Rejoin).
fn cancel_after_promotion(lab: &Lab, replica: &str, primary: &str, kind: fn(&Lab) -> Seen) {
    restore_start(lab);
    let (config, marker) = with_hook(lab, 3);
    let before = results(lab).len();
    let child = promote(lab, &config, replica);
    wait_until(
        "the post-promote hook started",
        Duration::from_secs(30),
        || marker.exists(),
    );
    sigterm(&child);
    let (code, out) = finish(child, Duration::from_secs(40));
    assert_eq!(code, Some(143), "SIGTERM: exit 128+15: {out}");
    let servers = kind(lab);
    // Both kinds list the old primary first, then the replica.
    assert_eq!(
        servers,
        vec![
            (
                name_static(primary),
                format!("read-only, follows {replica}")
            ),
            (name_static(replica), "writable primary".to_string()),
        ],
        "the promotion stands; the old primary was not given its writes back"
    );
    assert_eq!(writable(&servers), vec![replica.to_string()]);
    let r = result(lab, before);
    let Some(Verdict::Cancelled(left)) = &r.outcome else {
        panic!("cancelled: {r:?}");
    };
    assert!(
        !left.contains(&format!("{primary} made writable again")),
        "{left}"
    );
    assert_states(left, &servers);
    restore_start(lab);
}

fn name_static(n: &str) -> &'static str {
    DB.iter()
        .chain(CACHE.iter())
        .find(|x| x.0 == n)
        .map(|x| x.0)
        .expect("a lab node")
}

#[test]
fn lab_db_switchover_cancelled_after_the_promotion_keeps_one_writable_primary() {
    let Some(lab) =
        lab_or_skip("lab_db_switchover_cancelled_after_the_promotion_keeps_one_writable_primary")
    else {
        return;
    };
    cancel_after_promotion(&lab, "db-replica", "db-primary", db_topology);
}

#[test]
fn lab_cache_switchover_cancelled_after_the_promotion_keeps_one_writable_primary() {
    let Some(lab) = lab_or_skip(
        "lab_cache_switchover_cancelled_after_the_promotion_keeps_one_writable_primary",
    ) else {
        return;
    };
    cancel_after_promotion(&lab, "cache-replica", "cache-primary", cache_topology);
}

/// Freezes az-c while the post-promote hook runs: the verification cannot
/// observe the new primary and times out.
fn freeze_after_promotion(
    lab: &Lab,
    replica: &str,
    primary: &str,
    kind: fn(&Lab) -> Seen,
    only: fn(&Lab, &[&str]) -> Seen,
) {
    restore_start(lab);
    let (config, marker) = with_hook(lab, 1);
    let before = results(lab).len();
    let child = promote(lab, &config, replica);
    wait_until(
        "the post-promote hook started",
        Duration::from_secs(30),
        || marker.exists(),
    );
    let frozen = freeze_az(lab, "az-c");
    let (code, out) = finish(child, Duration::from_secs(60));
    // What the old primary shows while the replica is still frozen (the
    // frozen one is not asked: it would not answer).
    let during = only(lab, &[primary]);
    drop(frozen);
    assert_eq!(code, Some(1), "the verification failed: {out}");
    let r = result(lab, before);
    let Some(Verdict::Failed(why)) = &r.outcome else {
        panic!("failed: {r:?}");
    };
    assert!(why.contains(&format!("{replica}: unreachable")), "{why}");
    assert_states(why, &during);
    assert_eq!(
        during,
        vec![(
            name_static(primary),
            format!("read-only, follows {replica}")
        )],
        "the old primary stays out of the way while the replica cannot be seen"
    );
    // Once thawed the servers show the one primary the promotion made.
    let start = Instant::now();
    let servers = loop {
        let s = kind(lab);
        if writable(&s) == vec![replica.to_string()] || start.elapsed() > Duration::from_secs(10) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        writable(&servers),
        vec![replica.to_string()],
        "exactly one writable primary: {servers:?}"
    );
    restore_start(lab);
}

#[test]
fn lab_db_switchover_whose_replica_az_freezes_after_the_promotion_fails_naming_it() {
    let Some(lab) = lab_or_skip(
        "lab_db_switchover_whose_replica_az_freezes_after_the_promotion_fails_naming_it",
    ) else {
        return;
    };
    freeze_after_promotion(
        &lab,
        "db-replica",
        "db-primary",
        db_topology,
        db_topology_of,
    );
}

#[test]
fn lab_cache_switchover_whose_replica_az_freezes_after_the_promotion_fails_naming_it() {
    let Some(lab) = lab_or_skip(
        "lab_cache_switchover_whose_replica_az_freezes_after_the_promotion_fails_naming_it",
    ) else {
        return;
    };
    freeze_after_promotion(
        &lab,
        "cache-replica",
        "cache-primary",
        cache_topology,
        cache_topology_of,
    );
}

#[test]
fn lab_db_switchover_cancelled_with_esc_in_the_console_during_catch_up_gives_the_primary_its_writes_back()
 {
    let Some(lab) = lab_or_skip(
        "lab_db_switchover_cancelled_with_esc_in_the_console_during_catch_up_gives_the_primary_its_writes_back",
    ) else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-promote-esc") else {
        return;
    };
    restore_start(&lab);
    console(&t, (120, 36), &lab.config(), lab.data.path());
    t.wait_for("db replica    lag 0", Duration::from_secs(10));
    let lock = ReplicaReadLock::hold(&lab);
    mariadb(
        &lab,
        "LAB_DB_PRIMARY_ROOT_CNF",
        "INSERT INTO lab.t (v) VALUES ('catch-up-esc')",
    );
    let before = results(&lab).len();
    t.type_text("P");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    wait_until("db-primary made read-only", Duration::from_secs(20), || {
        db_seen(&lab, "LAB_DB_PRIMARY_ROOT_CNF").read_only
    });
    std::thread::sleep(Duration::from_millis(500));
    // Esc with the operations panel open cancels the running operation.
    t.keys(&["Escape"]);
    wait_until("the operation's result", Duration::from_secs(30), || {
        results(&lab).len() > before
    });
    drop(lock);
    assert_cancelled_before_promotion(&lab, before);
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
    wait_until("the replica caught up", Duration::from_secs(15), || {
        mariadb(
            &lab,
            "LAB_DB_REPLICA_ROOT_CNF",
            "SELECT COUNT(*) FROM lab.t WHERE v = 'catch-up-esc'",
        )
        .trim()
            != "0"
    });
    assert_start(&lab);
}
