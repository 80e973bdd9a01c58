//! Against the real lab (`tests/lab/up.sh`): nginx, MariaDB, Redis, sshd and
//! Prometheus on loopback addresses, driven through the `opsdeck` binary and
//! the self-hosted provider. Skipped with a reason when the lab is not up,
//! unless OPSDECK_REQUIRE_LAB=1 (the README's test command) demands it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::e2e_tmux::{Tmux, binary, tmux_or_skip};

mod clock_skew;
mod fleet_lock;
mod nginx_edit;
mod promotion_faults;
mod service_probes;
mod ssh_alias;
mod stale_data;
mod tui_lock;

/// The lab is shared: one test at a time.
static LAB: Mutex<()> = Mutex::new(());

pub struct Lab {
    vars: BTreeMap<String, String>,
    data: tempfile::TempDir,
    _guard: MutexGuard<'static, ()>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The running lab, or `None` (printed reason) when it is not up.
pub fn lab_or_skip(test: &str) -> Option<Lab> {
    let guard = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let env_file = repo().join("tests/lab/lab.env");
    let text = std::fs::read_to_string(&env_file).ok();
    let vars: BTreeMap<String, String> = text
        .as_deref()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('\'').to_string(),
            )
        })
        .collect();
    let up = vars
        .get("LAB_LB_URL")
        .and_then(|u| u.strip_prefix("http://"))
        .is_some_and(|addr| {
            TcpStream::connect_timeout(&addr.parse().expect("lb addr"), Duration::from_secs(1))
                .is_ok()
        });
    if !up {
        if std::env::var_os("OPSDECK_REQUIRE_LAB").is_some() {
            panic!(
                "{test}: the lab is required (OPSDECK_REQUIRE_LAB is set) but not up: run tests/lab/up.sh"
            );
        }
        eprintln!("SKIPPED {test}: the lab is not up (tests/lab/up.sh starts it)");
        return None;
    }
    let lab = Lab {
        vars,
        data: tempfile::tempdir().expect("tempdir"),
        _guard: guard,
    };
    lab.reset();
    Some(lab)
}

impl Lab {
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no {key}"))
    }

    pub fn config(&self) -> PathBuf {
        repo().join("tests/lab/opsdeck.toml")
    }

    /// Runs `bash -c` on this machine (as the test user), panicking on failure.
    pub fn sh(&self, script: &str) -> String {
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .envs(&self.vars)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "`{script}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn opsdeck(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.opsdeck_with(&self.config(), args)
    }

    /// Runs the binary on another config (a variant of the lab's).
    pub fn opsdeck_with(&self, config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all = vec!["--config", config.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        let out = Command::new(binary())
            .args(&all)
            .env("XDG_DATA_HOME", self.data.path().join("data"))
            .env("XDG_STATE_HOME", self.data.path().join("state"))
            .env("XDG_CONFIG_HOME", self.data.path().join("config"))
            .env_remove("OPSDECK_READ_ONLY")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run opsdeck");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn status(&self) -> serde_json::Value {
        let (code, out, err) = self.opsdeck(&["status", "--json"]);
        assert!(code.is_some(), "{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json: {e}\n{out}\n{err}"))
    }

    /// The lab's config with `edit` applied, written under this test's data dir.
    pub fn config_variant(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(self.config()).expect("lab config");
        let path = self.data.path().join(name);
        std::fs::write(&path, edit(text)).expect("write config");
        path
    }

    /// The self-hosted provider on `config`, as the console builds it.
    pub fn provider(&self, config: &Path) -> opsdeck::providers::selfhosted::SelfHostedProvider {
        let cfg = opsdeck::config::Config::load(config).expect("config");
        let (name, env) = cfg.environment(None).expect("env");
        opsdeck::providers::selfhosted::SelfHostedProvider::new(
            &name,
            None,
            env.selfhosted().expect("selfhosted"),
        )
        .expect("provider")
    }

    /// Files an upstream edit may create next to the upstream file, left over.
    pub fn edit_leftovers(&self) -> Vec<String> {
        let dir = Path::new(self.var("LAB_UPSTREAM_FILE"))
            .parent()
            .expect("upstream dir")
            .to_path_buf();
        std::fs::read_dir(dir)
            .expect("upstream dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".opsdeck-new.") || n.starts_with(".opsdeck-prev."))
            .collect()
    }

    /// Puts the lab back as up.sh leaves it: every backend in the pool on v42.
    pub fn reset(&self) {
        self.sh(r#"set -e
for h in web-a1 web-a2 web-c1 web-c2; do
  v=$(echo "$h" | tr 'a-z-' 'A-Z_')
  eval cur=\$LAB_CURRENT_$v
  ln -sfn releases/v42 "$cur"
done
sed -i 's/ down;/;/' "$LAB_UPSTREAM_FILE"
$LAB_NGINX_TEST 2>/dev/null && $LAB_NGINX_RELOAD"#);
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.reset();
        }
    }
}

/// `GET /` through nginx: (status, body).
pub fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (addr, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let Ok(mut s) =
        TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_secs(3))
    else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: lab\r\n\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default();
    (status, body)
}

fn who_answers(lab: &Lab, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let (status, body) = get(lab.var("LAB_LB_URL"));
        assert_eq!(status, 200, "{body}");
        let host = body.split_whitespace().next().unwrap_or("?").to_string();
        *seen.entry(host).or_insert(0) += 1;
    }
    seen
}

/// Sends requests through nginx in the background until stopped; counts failures.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    failed: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let (s, n, f, url) = (stop.clone(), sent.clone(), failed.clone(), url.to_string());
        let thread = std::thread::spawn(move || {
            // Bounded: at most 10 minutes of requests, 25 a second.
            let deadline = Instant::now() + Duration::from_secs(600);
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                let (status, body) = get(&url);
                n.fetch_add(1, Ordering::SeqCst);
                if status != 200 {
                    f.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{status} {body}"));
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        Load {
            stop,
            sent,
            failed,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let failed = self
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        (self.sent.load(Ordering::SeqCst), failed)
    }
}

/// A test that fails while its load runs must not leave the loop sending
/// requests into the next test (a traffic test would see them).
impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the console on `config` in a fresh shell of `t` and waits for the fleet.
fn console(t: &Tmux, (width, height): (u16, u16), config: &Path, data: &Path) {
    t.start_shell(width, height);
    t.type_text(&format!(
        "XDG_DATA_HOME={d}/data XDG_STATE_HOME={d}/state {} --config {}",
        binary(),
        config.display(),
        d = data.display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
}

/// An AZ frozen (`az.sh down`) until this is dropped: thawed however the
/// test ends, so a failing test never leaves the lab frozen.
struct FrozenAz<'a> {
    lab: &'a Lab,
    az: &'static str,
}

fn freeze_az<'a>(lab: &'a Lab, az: &'static str) -> FrozenAz<'a> {
    lab.sh(&format!("$LAB_SCRIPTS/az.sh down {az} >/dev/null"));
    FrozenAz { lab, az }
}

impl Drop for FrozenAz<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("$LAB_SCRIPTS/az.sh up {} >/dev/null", self.az))
            .envs(&self.lab.vars)
            .status();
    }
}

fn mariadb(lab: &Lab, cnf_var: &str, sql: &str) -> String {
    lab.sh(&format!(
        "mariadb --defaults-file=\"${cnf_var}\" -N -B -e \"{sql}\""
    ))
}

fn host<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["azs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|az| az["hosts"].as_array().into_iter().flatten())
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {status}"))
}

fn node<'a>(status: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
    status[list]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}: {status}"))
}

#[test]
fn lab_status_shows_the_real_fleet() {
    let Some(lab) = lab_or_skip("lab_status_shows_the_real_fleet") else {
        return;
    };
    let s = lab.status();
    assert_eq!(s["environment"], "lab");
    assert_eq!(s["source"], "selfhosted (lab)");
    for b in ["web-a1", "web-a2", "web-c1", "web-c2"] {
        let h = host(&s, b);
        assert_eq!(h["health"], "ok", "{h}");
        assert_eq!(h["version"], "v42", "{h}");
        assert_eq!(h["target_state"], "active", "{h}");
    }
    assert_eq!(host(&s, "web-a1")["weight"], 3);
    assert_eq!(node(&s, "databases", "db-replica")["role"], "replica");
    assert!(node(&s, "databases", "db-replica")["lag_seconds"].is_number());
    assert!(node(&s, "databases", "db-primary")["lag_seconds"].is_null());
    assert_eq!(node(&s, "caches", "cache-replica")["role"], "replica");
    let versions: Vec<&str> = s["deploys"]
        .as_array()
        .expect("deploys")
        .iter()
        .filter_map(|d| d["version"].as_str())
        .collect();
    for v in ["v40", "v41", "v42"] {
        assert!(versions.contains(&v), "{versions:?}");
    }
}

#[test]
fn lab_drain_stops_traffic_and_undrain_brings_it_back() {
    let Some(lab) = lab_or_skip("lab_drain_stops_traffic_and_undrain_brings_it_back") else {
        return;
    };
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✔ succeeded (verified)"), "{out}");
    let seen = who_answers(&lab, 40);
    assert!(
        !seen.contains_key("web-a1"),
        "a drained backend got requests: {seen:?}"
    );
    assert!(
        lab.sh("cat $LAB_UPSTREAM_FILE")
            .lines()
            .any(|l| l.contains("127.0.1.11:8080") && l.contains(" down;"))
    );

    let (code, out, err) = lab.opsdeck(&["do", "undrain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let seen = who_answers(&lab, 40);
    assert!(
        seen.get("web-a1").copied().unwrap_or(0) >= 6,
        "web-a1 is back (weight 3 of 10): {seen:?}"
    );
}

#[test]
fn lab_a_change_that_fails_nginx_t_is_rolled_back() {
    let Some(lab) = lab_or_skip("lab_a_change_that_fails_nginx_t_is_rolled_back") else {
        return;
    };
    let before = lab.sh("cat $LAB_UPSTREAM_FILE");
    // Break nginx.conf so that any test fails; the running nginx keeps serving.
    lab.sh("cp $LAB_NGINX_CONF $LAB_NGINX_CONF.bak && echo 'this_is_not_a_directive on;' >> $LAB_NGINX_CONF");
    let result = lab.opsdeck(&["do", "drain-backend", "web-c1", "--yes"]);
    lab.sh("mv $LAB_NGINX_CONF.bak $LAB_NGINX_CONF");
    let (code, out, err) = result;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("nginx -t failed") && out.contains("this_is_not_a_directive"),
        "{out}"
    );
    assert_eq!(
        lab.sh("cat $LAB_UPSTREAM_FILE"),
        before,
        "the upstream file is restored"
    );
    let seen = who_answers(&lab, 20);
    assert!(seen.contains_key("web-c1"), "{seen:?}");
}

#[test]
fn lab_replication_lag_and_a_stopped_sql_thread_are_seen() {
    let Some(lab) = lab_or_skip("lab_replication_lag_and_a_stopped_sql_thread_are_seen") else {
        return;
    };
    // Hold a global read lock on the replica while the primary takes writes.
    let mut lock = Command::new("bash")
        .arg("-c")
        .arg("mariadb --defaults-file=\"$LAB_DB_REPLICA_ROOT_CNF\" -e 'FLUSH TABLES WITH READ LOCK; SELECT SLEEP(20)'")
        .envs(&lab.vars)
        .spawn()
        .expect("lock session");
    let start = Instant::now();
    let mut lag = 0.0;
    while start.elapsed() < Duration::from_secs(15) {
        mariadb(
            &lab,
            "LAB_DB_PRIMARY_ROOT_CNF",
            "INSERT INTO lab.t (v) VALUES ('lag')",
        );
        let s = lab.status();
        lag = node(&s, "databases", "db-replica")["lag_seconds"]
            .as_f64()
            .unwrap_or(0.0);
        if lag >= 2.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = lock.kill();
    let _ = lock.wait();
    assert!(
        lag >= 2.0,
        "lag under FLUSH TABLES WITH READ LOCK was seen: {lag}"
    );

    mariadb(&lab, "LAB_DB_REPLICA_ROOT_CNF", "STOP REPLICA SQL_THREAD");
    let s = lab.status();
    mariadb(&lab, "LAB_DB_REPLICA_ROOT_CNF", "START REPLICA SQL_THREAD");
    let r = node(&s, "databases", "db-replica");
    assert!(
        r["lag_seconds"].is_null(),
        "a stopped SQL thread is unknown lag, not 0: {r}"
    );
    assert_eq!(r["sql_thread"], "stopped");
}

fn switch_db(lab: &Lab, to: &str) {
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", to, "--yes"]);
    assert_eq!(code, Some(0), "promote {to}: {out}{err}");
    assert!(out.contains("✔ succeeded (verified)"), "{out}");
}

#[test]
fn lab_planned_db_promotion_keeps_every_row() {
    let Some(lab) = lab_or_skip("lab_planned_db_promotion_keeps_every_row") else {
        return;
    };
    let marker = format!("promo-{}", std::process::id());
    for _ in 0..20 {
        mariadb(
            &lab,
            "LAB_DB_PRIMARY_ROOT_CNF",
            &format!("INSERT INTO lab.t (v) VALUES ('{marker}')"),
        );
    }
    switch_db(&lab, "db-replica");
    let s = lab.status();
    assert_eq!(node(&s, "databases", "db-replica")["role"], "primary");
    assert_eq!(node(&s, "databases", "db-replica")["read_only"], false);
    assert_eq!(node(&s, "databases", "db-primary")["role"], "replica");
    // The new primary takes writes as the application, and has every row.
    let app = format!(
        "mariadb -h 127.0.2.21 -P 3308 -u $LAB_DB_APP_USER -p\"$(cat $LAB_DB_APP_PASSWORD_FILE)\" -N -B -e \"INSERT INTO lab.t (v) VALUES ('{marker}-after'); SELECT COUNT(*) FROM lab.t WHERE v = '{marker}'\""
    );
    let count = lab.sh(&app);
    assert_eq!(count.trim(), "20", "no row lost");
    // And back, so the lab is as it was.
    switch_db(&lab, "db-primary");
    let s = lab.status();
    assert_eq!(node(&s, "databases", "db-primary")["role"], "primary");
    assert_eq!(node(&s, "databases", "db-replica")["role"], "replica");
}

#[test]
fn lab_planned_cache_promotion_keeps_every_key() {
    let Some(lab) = lab_or_skip("lab_planned_cache_promotion_keeps_every_key") else {
        return;
    };
    let key = format!("opsdeck-test-{}", std::process::id());
    lab.sh(&format!(
        "redis-cli -h 127.0.1.31 -p 6380 SET {key} kept >/dev/null"
    ));
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "cache-replica", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let s = lab.status();
    assert_eq!(node(&s, "caches", "cache-replica")["role"], "primary");
    assert_eq!(node(&s, "caches", "cache-primary")["role"], "replica");
    assert_eq!(
        lab.sh(&format!("redis-cli -h 127.0.2.31 -p 6381 GET {key}"))
            .trim(),
        "kept"
    );
    lab.sh(&format!(
        "redis-cli -h 127.0.2.31 -p 6381 SET {key}-after ok >/dev/null"
    ));
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "cache-primary", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let s = lab.status();
    assert_eq!(node(&s, "caches", "cache-primary")["role"], "primary");
    assert_eq!(
        lab.sh(&format!("redis-cli -h 127.0.1.31 -p 6380 GET {key}-after"))
            .trim(),
        "ok"
    );
}

#[test]
fn lab_rollback_under_load_drops_no_request() {
    let Some(lab) = lab_or_skip("lab_rollback_under_load_drops_no_request") else {
        return;
    };
    let load = Load::start(lab.var("LAB_LB_URL"));
    std::thread::sleep(Duration::from_secs(1));
    let (code, out, err) =
        lab.opsdeck(&["do", "rollback-deploy", "web", "--version", "v40", "--yes"]);
    let (sent, failed) = load.finish();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(sent > 50, "the load ran: {sent}");
    assert!(
        failed.is_empty(),
        "{} of {sent} requests failed: {failed:?}",
        failed.len()
    );
    let s = lab.status();
    for b in ["web-a1", "web-a2", "web-c1", "web-c2"] {
        assert_eq!(host(&s, b)["version"], "v40", "{b}");
        assert_eq!(host(&s, b)["target_state"], "active", "{b}");
    }
}

#[test]
fn lab_the_broken_release_stops_after_the_first_backend() {
    let Some(lab) = lab_or_skip("lab_the_broken_release_stops_after_the_first_backend") else {
        return;
    };
    let (code, out, _) =
        lab.opsdeck(&["do", "rollback-deploy", "web", "--version", "v41", "--yes"]);
    assert_eq!(
        code,
        Some(3),
        "v41 is marked failed: the guard refuses\n{out}"
    );
    assert!(out.contains("refused by guard 'failed-version'"), "{out}");
    let load = Load::start(lab.var("LAB_LB_URL"));
    let (code, out, err) = lab.opsdeck(&[
        "do",
        "rollback-deploy",
        "web",
        "--version",
        "v41",
        "--yes",
        "--override-guard",
        "--confirm",
        "web",
    ]);
    let (sent, failed) = load.finish();
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("web-a1") && out.contains("not healthy on v41"),
        "{out}"
    );
    assert!(
        failed.is_empty(),
        "the pool stayed healthy: {} of {sent} failed: {failed:?}",
        failed.len()
    );
    let s = lab.status();
    assert_eq!(
        host(&s, "web-a1")["target_state"],
        "drained",
        "the broken backend stays out"
    );
    for b in ["web-a2", "web-c1", "web-c2"] {
        assert_eq!(host(&s, b)["version"], "v42", "{b} kept its version");
        assert_eq!(host(&s, b)["target_state"], "active");
    }
}

#[tokio::test]
async fn lab_a_line_appended_to_a_log_shows_in_under_a_second() {
    use opsdeck::core::Timestamp;
    use opsdeck::providers::ObserveProvider;
    let Some(lab) = lab_or_skip("lab_a_line_appended_to_a_log_shows_in_under_a_second") else {
        return;
    };
    let cfg = opsdeck::config::Config::load(&lab.config()).expect("config");
    let (name, env) = cfg.environment(None).expect("env");
    let provider = opsdeck::providers::selfhosted::SelfHostedProvider::new(
        &name,
        None,
        env.selfhosted().expect("selfhosted"),
    )
    .expect("provider");
    let now = Timestamp::from_millis(0);
    provider.logs(now).await.expect("start tails");
    // Give the tails a moment to attach before writing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    provider.logs(now).await.expect("drain");
    let marker = format!("opsdeck-marker-{}", std::process::id());
    let file = lab.var("LAB_APP_LOG_WEB_C2").to_string();
    let start = Instant::now();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            writeln!(
                f,
                "2026-11-22 03:00:00.000  WARN 1 --- [main] test : {marker}"
            )
        })
        .expect("append");
    let mut found = None;
    while start.elapsed() < Duration::from_secs(3) {
        if let Some(l) = provider
            .logs(now)
            .await
            .expect("logs")
            .into_iter()
            .find(|l| l.text.contains(&marker))
        {
            found = Some((l, start.elapsed()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (line, took) = found.expect("the appended line arrived");
    eprintln!("log line latency: {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(line.host, "web-c2");
    assert_eq!(line.level, opsdeck::core::fleet::LogLevel::Warn);
}

#[tokio::test]
async fn lab_unknown_and_changed_host_keys_are_refused() {
    use opsdeck::providers::ssh::{SshConfig, SshError, SshPool};
    let Some(lab) = lab_or_skip("lab_unknown_and_changed_host_keys_are_refused") else {
        return;
    };
    // Unknown: a known_hosts file without the host.
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").expect("write");
    let config_text = std::fs::read_to_string(lab.var("LAB_SSH_CONFIG"))
        .expect("ssh config")
        .replace(lab.var("LAB_KNOWN_HOSTS"), empty.to_str().expect("utf-8"));
    let cfg_path = dir.path().join("config");
    std::fs::write(&cfg_path, config_text).expect("write");
    let pool = SshPool::new(SshConfig::load(&cfg_path).expect("config"));
    let err = pool.get("web-c2").await.expect_err("unknown host refused");
    let expected = lab.sh(&format!(
        "ssh-keygen -lf {}/ssh/host_keys/web-c2.pub | awk '{{print $2}}'",
        lab.var("LAB_ROOT")
    ));
    match &err {
        SshError::UnknownHostKey { fingerprint, .. } => assert_eq!(fingerprint, expected.trim()),
        other => panic!("expected UnknownHostKey, got {other:?}"),
    }
    assert!(err.to_string().contains(expected.trim()), "{err}");
    // `opsdeck ssh-trust` records the key after the user compares it.
    let toml = std::fs::read_to_string(lab.config())
        .expect("lab config")
        .replace(lab.var("LAB_SSH_CONFIG"), cfg_path.to_str().expect("utf-8"));
    let toml_path = dir.path().join("opsdeck.toml");
    std::fs::write(&toml_path, toml).expect("write");
    let out = Command::new(binary())
        .args([
            "--config",
            toml_path.to_str().expect("utf-8"),
            "ssh-trust",
            "web-c2",
            "--yes",
        ])
        .output()
        .expect("ssh-trust");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(expected.trim()) && text.contains("added to"),
        "{text}"
    );
    let pool = SshPool::new(SshConfig::load(&cfg_path).expect("config"));
    assert!(pool.get("web-c2").await.is_ok(), "trusted now");

    // Changed: the host now presents another key than known_hosts records.
    lab.sh("$LAB_SCRIPTS/hostkey.sh swap web-c2 >/dev/null");
    let pool = SshPool::new(SshConfig::load(Path::new(lab.var("LAB_SSH_CONFIG"))).expect("config"));
    let result = pool.get("web-c2").await;
    lab.sh("$LAB_SCRIPTS/hostkey.sh restore web-c2 >/dev/null");
    let err = result.expect_err("changed key refused");
    assert!(matches!(err, SshError::ChangedHostKey { .. }), "{err:?}");
    assert!(
        err.to_string().contains(lab.var("LAB_KNOWN_HOSTS")),
        "names the known_hosts file: {err}"
    );
}

#[test]
fn lab_an_az_outage_shows_within_one_poll_and_the_console_stays_responsive() {
    let Some(lab) =
        lab_or_skip("lab_an_az_outage_shows_within_one_poll_and_the_console_stays_responsive")
    else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-az") else {
        return;
    };
    console(&t, (120, 36), &lab.config(), lab.data.path());
    // Cut az-c off the network (nftables drops every packet to 127.0.2.0/24).
    lab.sh("$LAB_SCRIPTS/az.sh cut az-c >/dev/null");
    let start = Instant::now();
    // One poll interval (2 s) plus the call timeout (2.5 s).
    let seen = std::panic::catch_unwind(|| t.wait_for("✖ web-c1", Duration::from_secs(6)));
    let took = start.elapsed();
    // Still responsive while az-c hangs: switch views and back.
    t.type_text("2");
    let responsive = std::panic::catch_unwind(|| t.wait_for("LATENCY", Duration::from_secs(2)));
    lab.sh("$LAB_SCRIPTS/az.sh heal az-c >/dev/null");
    t.type_text("q");
    let screen = seen.expect("the outage showed in the overview");
    assert!(screen.contains("db-replica"), "{screen}");
    eprintln!("AZ outage visible after {took:?}");
    responsive.expect("the console answered keys during the outage");
}

#[test]
fn lab_ssh_open_is_a_real_pty_session() {
    let Some(lab) = lab_or_skip("lab_ssh_open_is_a_real_pty_session") else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-ssh") else {
        return;
    };
    console(&t, (100, 30), &lab.config(), lab.data.path());
    t.type_text("s");
    t.wait_for("ssh-open web-a1", Duration::from_secs(5));
    t.type_text("y");
    // The console hands the terminal over; type only once the shell has it.
    t.wait_gone("1 Overview", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    t.type_text("echo $((6*7))-on-$LAB_HOST; stty size");
    t.keys(&["Enter"]);
    // `stty size` answers after the echo: wait for it, then check both.
    let screen = t.wait_for("30 100", Duration::from_secs(10));
    assert!(
        screen.contains("42-on-web-a1"),
        "the session runs on web-a1 with the terminal's size:\n{screen}"
    );
    t.type_text("exit");
    t.keys(&["Enter"]);
    t.wait_for("SSH session on web-a1 ended", Duration::from_secs(10));
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
}

#[test]
fn lab_a_frozen_az_costs_one_timeout_and_is_named() {
    let Some(lab) = lab_or_skip("lab_a_frozen_az_costs_one_timeout_and_is_named") else {
        return;
    };
    let frozen = freeze_az(&lab, "az-c");
    let start = Instant::now();
    let result = lab.opsdeck(&["status", "--json"]);
    let took = start.elapsed();
    drop(frozen);
    let (code, out, err) = result;
    // The config's per-call timeout is 2.5 s; the panels are polled at once.
    assert!(took < Duration::from_secs(5), "status took {took:?}");
    assert_eq!(code, Some(1), "a failed source fails status: {err}");
    assert!(err.contains("web-c"), "the error names the host: {err}");
    let s: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(host(&s, "web-c1")["health"], "down");
    assert_eq!(
        host(&s, "web-a1")["health"],
        "ok",
        "the other AZ is unaffected"
    );
    assert!(node(&s, "databases", "db-replica")["lag_seconds"].is_null());
    assert_eq!(node(&s, "databases", "db-primary")["role"], "primary");
}

#[test]
fn lab_an_unknown_host_key_is_asked_about_in_the_console() {
    let Some(lab) = lab_or_skip("lab_an_unknown_host_key_is_asked_about_in_the_console") else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-trust") else {
        return;
    };
    // A known_hosts that knows every host but web-a1.
    let dir = tempfile::tempdir().expect("tempdir");
    let known = dir.path().join("known_hosts");
    let all = std::fs::read_to_string(lab.var("LAB_KNOWN_HOSTS")).expect("known_hosts");
    let without: String = all
        .lines()
        .filter(|l| !l.starts_with("[127.0.1.11]:2222"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&known, without).expect("write");
    let ssh_config = dir.path().join("ssh_config");
    let text = std::fs::read_to_string(lab.var("LAB_SSH_CONFIG"))
        .expect("ssh config")
        .replace(lab.var("LAB_KNOWN_HOSTS"), known.to_str().expect("utf-8"));
    std::fs::write(&ssh_config, text).expect("write");
    let config = dir.path().join("opsdeck.toml");
    let toml = std::fs::read_to_string(lab.config())
        .expect("lab config")
        .replace(
            lab.var("LAB_SSH_CONFIG"),
            ssh_config.to_str().expect("utf-8"),
        );
    std::fs::write(&config, toml).expect("write");
    let fingerprint = lab.sh(&format!(
        "ssh-keygen -lf {}/ssh/host_keys/web-a1.pub | awk '{{print $2}}'",
        lab.var("LAB_ROOT")
    ));

    console(&t, (100, 30), &config, dir.path());
    t.type_text("s");
    t.wait_for("ssh-open web-a1", Duration::from_secs(5));
    t.type_text("y");
    let screen = t.wait_for("Unknown SSH host key", Duration::from_secs(10));
    assert!(
        screen.contains(fingerprint.trim()),
        "the dialog shows the fingerprint:\n{screen}"
    );
    t.type_text("web-a1");
    t.keys(&["Enter"]);
    t.wait_gone("1 Overview", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    t.type_text("echo $((6*7))-trusted");
    t.keys(&["Enter"]);
    t.wait_for("42-trusted", Duration::from_secs(10));
    t.type_text("exit");
    t.keys(&["Enter"]);
    t.wait_for("SSH session on web-a1 ended", Duration::from_secs(10));
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
    let recorded = std::fs::read_to_string(&known).expect("known_hosts");
    assert!(
        recorded.lines().any(|l| l.starts_with("[127.0.1.11]:2222")),
        "the key was recorded:\n{recorded}"
    );
}
