//! Shared test harness: a hand-made fleet at a fixed clock, and rendering to
//! text through ratatui's `TestBackend`; keys typed into the runtime
//! (`key_script`) and a fault-injecting provider (`fault_provider`).

pub mod fault_provider;
pub mod key_script;

use opsdeck::core::Timestamp;
use opsdeck::core::fleet::{
    Alert, CacheNode, DbNode, Deploy, DeployOutcome, DeploysObservation, Health, Host, HostRole,
    HostState, HostsObservation, LogLevel, LogLine, ReplicaRole, ReplicationObservation,
    RunningVersion, Severity, Target, TargetState, ThreadState,
};
use opsdeck::core::series::Series;
use opsdeck::core::state::{EnvInfo, HISTORY_WINDOW_MS, PanelError, State};
use opsdeck::keymap::Keymap;
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// 2026-11-22 02:19:07 UTC.
pub const NOW: Timestamp = Timestamp::from_millis(1_795_313_947_000);

pub const AZ_A: &str = "ap-northeast-2a";
pub const AZ_C: &str = "ap-northeast-2c";

fn ago(secs: i64) -> Timestamp {
    NOW.plus_millis(-secs * 1000)
}

// Positional fields keep the fleet table below readable, one host a line.
#[allow(clippy::too_many_arguments)]
fn host(
    name: &str,
    az: &str,
    role: HostRole,
    health: Health,
    latency: Option<f64>,
    cpu: Option<f64>,
    version: Option<&str>,
    ip: &str,
) -> Host {
    Host {
        checks: None,
        id: None,
        instance_type: None,
        name: name.into(),
        az: az.into(),
        role,
        state: HostState::Running,
        health,
        latency_ms: latency,
        cpu_pct: cpu,
        version: version.map(Into::into),
        address: Some(ip.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn target(
    backend: &str,
    az: &str,
    weight: u32,
    state: TargetState,
    health: Health,
    rps: f64,
    err: f64,
    in_flight: u32,
) -> Target {
    Target {
        drain_ends_at: None,
        reason: None,
        backend: backend.into(),
        az: az.into(),
        weight,
        state,
        health,
        requests_per_sec: Some(rps),
        error_rate: Some(err),
        in_flight: Some(in_flight),
    }
}

pub fn hosts() -> HostsObservation {
    use HostRole::*;
    let mut web_a2 = host(
        "web-a2",
        AZ_A,
        Backend,
        Health::Down,
        None,
        Some(0.0),
        Some("1.4.2"),
        "10.0.1.12",
    );
    web_a2.state = HostState::Unreachable;
    HostsObservation {
        faults: Vec::new(),
        azs: vec![AZ_A.into(), AZ_C.into()],
        hosts: vec![
            host(
                "lb",
                AZ_A,
                LoadBalancer,
                Health::Ok,
                Some(1.0),
                Some(12.0),
                None,
                "10.0.1.10",
            ),
            host(
                "web-a1",
                AZ_A,
                Backend,
                Health::Ok,
                Some(14.0),
                Some(38.0),
                Some("1.4.2"),
                "10.0.1.11",
            ),
            web_a2,
            host(
                "web-c1",
                AZ_C,
                Backend,
                Health::Degraded,
                Some(850.0),
                Some(92.0),
                Some("1.4.2"),
                "10.0.2.11",
            ),
            host(
                "web-c2",
                AZ_C,
                Backend,
                Health::Ok,
                Some(18.0),
                Some(41.0),
                Some("1.4.1"),
                "10.0.2.12",
            ),
            host(
                "db-primary",
                AZ_A,
                DbPrimary,
                Health::Ok,
                Some(2.0),
                Some(55.0),
                None,
                "10.0.1.21",
            ),
            host(
                "db-replica",
                AZ_C,
                DbReplica,
                Health::Ok,
                Some(3.0),
                Some(23.0),
                None,
                "10.0.2.21",
            ),
            host(
                "cache-primary",
                AZ_A,
                CachePrimary,
                Health::Ok,
                Some(1.0),
                Some(9.0),
                None,
                "10.0.1.31",
            ),
            host(
                "cache-replica",
                AZ_C,
                CacheReplica,
                Health::Ok,
                Some(1.0),
                Some(7.0),
                None,
                "10.0.2.31",
            ),
        ],
        load_balancer: Some(opsdeck::core::fleet::LoadBalancer {
            az_traffic: Vec::new(),
            name: "lb".into(),
            kind: "nginx".into(),
            targets: vec![
                target(
                    "web-a1",
                    AZ_A,
                    3,
                    TargetState::Active,
                    Health::Ok,
                    182.4,
                    0.002,
                    7,
                ),
                target(
                    "web-a2",
                    AZ_A,
                    2,
                    TargetState::Drained,
                    Health::Down,
                    0.0,
                    0.0,
                    0,
                ),
                target(
                    "web-c1",
                    AZ_C,
                    3,
                    TargetState::Active,
                    Health::Degraded,
                    161.0,
                    0.031,
                    19,
                ),
                target(
                    "web-c2",
                    AZ_C,
                    2,
                    TargetState::Active,
                    Health::Ok,
                    108.7,
                    0.001,
                    4,
                ),
            ],
        }),
    }
}

pub fn replication() -> ReplicationObservation {
    ReplicationObservation { faults: Vec::new(),
        databases: vec![
            DbNode {
                status: None,
                lag_sampled_at: None,
                name: "db-primary".into(),
                az: AZ_A.into(),
                role: ReplicaRole::Primary,
                reachable: true,
                read_only: false,
                lag_seconds: None,
                io_thread: ThreadState::Unknown,
                sql_thread: ThreadState::Unknown,
                source: None,
                gtid_executed: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-48213".into()),
                gtid_received: None,
                last_error: None,
            },
            DbNode {
                status: None,
                lag_sampled_at: None,
                name: "db-replica".into(),
                az: AZ_C.into(),
                role: ReplicaRole::Replica,
                reachable: true,
                read_only: true,
                lag_seconds: None,
                io_thread: ThreadState::Connecting,
                sql_thread: ThreadState::Running,
                source: Some("db-primary".into()),
                gtid_executed: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-47998".into()),
                gtid_received: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-48020".into()),
                last_error: Some("error reconnecting to source 'repl@10.0.1.21:3306' - retry-time: 60 retries: 3".into()),
            },
        ],
        caches: vec![
            CacheNode {
                lag_sampled_at: None,
                name: "cache-primary".into(),
                az: AZ_A.into(),
                role: ReplicaRole::Primary,
                reachable: true,
                link_up: None,
                offset: Some(918_273_645),
                lag_bytes: None,
                lag_seconds: None,
                source: None,
            },
            CacheNode {
                lag_sampled_at: None,
                name: "cache-replica".into(),
                az: AZ_C.into(),
                role: ReplicaRole::Replica,
                reachable: true,
                link_up: Some(true),
                offset: Some(918_272_109),
                lag_bytes: Some(1536),
                lag_seconds: Some(0.4),
                source: Some("cache-primary".into()),
            },
        ],
    }
}

pub fn deploys() -> DeploysObservation {
    let d = |version: &str, hours_ago: f64, by: &str, outcome: DeployOutcome| Deploy {
        service: "shop-web".into(),
        version: version.into(),
        artifact: format!("registry.example.com/shop/web:{version}"),
        at: NOW.plus_millis(-(hours_ago * 3_600_000.0) as i64),
        by: by.into(),
        outcome,
    };
    use DeployOutcome::*;
    DeploysObservation {
        service: "shop-web".into(),
        history: vec![
            d("1.4.2", 0.7, "ci-bot", Succeeded),
            d("1.4.2", 1.2, "alice", Failed),
            d("1.4.1", 26.0, "ci-bot", Succeeded),
            d("1.4.0", 50.0, "bob", RolledBack),
            d("1.3.9", 74.0, "ci-bot", Succeeded),
            d("1.3.8", 98.5, "ci-bot", Succeeded),
            d("1.3.7", 170.0, "alice", Succeeded),
            d("1.3.6", 194.0, "ci-bot", Succeeded),
            d("1.3.5", 266.0, "ci-bot", Succeeded),
            d("1.3.4", 290.0, "bob", Succeeded),
            d("1.3.3", 362.0, "ci-bot", Succeeded),
            d("1.3.2", 386.0, "ci-bot", Succeeded),
        ],
        running: vec![
            RunningVersion {
                backend: "web-a1".into(),
                az: AZ_A.into(),
                version: Some("1.4.2".into()),
            },
            RunningVersion {
                backend: "web-a2".into(),
                az: AZ_A.into(),
                version: Some("1.4.2".into()),
            },
            RunningVersion {
                backend: "web-c1".into(),
                az: AZ_C.into(),
                version: Some("1.4.2".into()),
            },
            RunningVersion {
                backend: "web-c2".into(),
                az: AZ_C.into(),
                version: Some("1.4.1".into()),
            },
        ],
    }
}

pub fn alerts() -> Vec<Alert> {
    vec![
        Alert {
            name: "HighErrorRate".into(),
            severity: Severity::Warning,
            target: "web-c1".into(),
            since: ago(4 * 60),
            summary: "5xx above 2% for 3 minutes".into(),
        },
        Alert {
            name: "BackendDown".into(),
            severity: Severity::Critical,
            target: "web-a2".into(),
            since: ago(12 * 60),
            summary: "health check failing on /actuator/health".into(),
        },
        Alert {
            name: "ReplicaLagUnknown".into(),
            severity: Severity::Warning,
            target: "db-replica".into(),
            since: ago(2 * 60),
            summary: "Seconds_Behind_Master is NULL".into(),
        },
    ]
}

const HOSTILE: &str = "GET /search?q=\x1b[31mred\x1b[0m\x1b]0;pwned title\x07 200 12ms";

fn log_lines() -> Vec<LogLine> {
    let hosts = [
        ("web-a1", AZ_A),
        ("web-a2", AZ_A),
        ("web-c1", AZ_C),
        ("web-c2", AZ_C),
    ];
    let mut out = Vec::new();
    let start = ago(60);
    for i in 0..44usize {
        let (host, az) = hosts[i % hosts.len()];
        let at = start.plus_millis(i as i64 * 1234);
        let (level, text) = match i % 11 {
            3 => (
                LogLevel::Warn,
                format!(
                    "2026-11-22 02:18:{:02}.{:03}  WARN 4242 --- [nio-8080-exec-{}] c.e.shop.web.CartApi : slow request GET /cart took 1{:03} ms",
                    i % 60,
                    i * 7 % 1000,
                    i % 9,
                    i * 13 % 1000
                ),
            ),
            7 => (
                LogLevel::Debug,
                format!(
                    "2026-11-22 02:18:{:02}.{:03} DEBUG 4242 --- [scheduling-1] c.e.shop.web.Cache : refreshed 12 keys",
                    i % 60,
                    i * 7 % 1000
                ),
            ),
            9 => (
                LogLevel::None,
                format!(
                    "10.0.0.{} - - [22/Nov/2026:02:18:{:02} +0000] \"GET /health HTTP/1.1\" 200 15",
                    i,
                    i % 60
                ),
            ),
            _ => (
                LogLevel::Info,
                format!(
                    "2026-11-22 02:18:{:02}.{:03}  INFO 4242 --- [nio-8080-exec-{}] c.e.shop.web.OrderApi : order {} placed",
                    i % 60,
                    i * 7 % 1000,
                    i % 9,
                    10_000 + i
                ),
            ),
        };
        out.push(LogLine {
            at,
            host: host.into(),
            az: az.into(),
            level,
            text,
        });
    }
    let at = ago(6);
    out.push(LogLine { at, host: "web-c1".into(), az: AZ_C.into(), level: LogLevel::Error, text: "2026-11-22 02:19:01.004 ERROR 4242 --- [nio-8080-exec-3] c.e.shop.web.OrderApi : request failed: could not get JDBC connection".into() });
    for t in [
        "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection",
        "\tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)",
        "\tat com.example.shop.web.OrderRepository.save(OrderRepository.java:42)",
        "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
        "\t... 41 common frames omitted",
    ] {
        out.push(LogLine {
            at: at.plus_millis(1),
            host: "web-c1".into(),
            az: AZ_C.into(),
            level: LogLevel::None,
            text: t.into(),
        });
    }
    out.push(LogLine {
        at: ago(3),
        host: "web-a1".into(),
        az: AZ_A.into(),
        level: LogLevel::None,
        text: HOSTILE.into(),
    });
    out.push(LogLine { at: ago(2), host: "web-c2".into(), az: AZ_C.into(), level: LogLevel::Warn, text: "2026-11-22 02:19:05.120  WARN 4242 --- [main] c.e.shop.web.Health : db replica lag unknown, reads go to primary".into() });
    out
}

/// The fleet every snapshot shows: web-a2 down and drained, web-c1 degraded,
/// web-c2 on an older version, the replica's lag unknown and its source timing
/// out (stale data), three alerts, and about fifty log lines including a hostile
/// one and a stack trace.
pub fn fixture() -> State {
    let env = EnvInfo {
        name: "prod".into(),
        region: Some("ap-northeast-2".into()),
        source: "ssh".into(),
        production: true,
    };
    let mut s = State::new(env, false, NOW);
    s.hosts.data = Some(hosts());
    s.hosts.updated_at = Some(ago(3));
    s.replication.data = Some(replication());
    s.replication.updated_at = Some(ago(45));
    s.replication.error = Some(PanelError {
        at: ago(2),
        source: "db-replica".into(),
        message: "timed out after 2000 ms".into(),
    });
    s.deploys.data = Some(deploys());
    s.deploys.updated_at = Some(ago(20));
    s.alerts.data = Some(alerts());
    s.alerts.updated_at = Some(ago(5));
    s.log_source.data = Some(());
    s.log_source.updated_at = Some(ago(1));

    // 10 minutes of lag every 5 s: low, climbing, one unknown sample, then
    // unknown since the IO thread started reconnecting.
    let db = s
        .history
        .db_lag
        .entry("db-replica".into())
        .or_insert_with(|| Series::new(HISTORY_WINDOW_MS));
    for i in 0..120i64 {
        let t = ago(600 - i * 5);
        let v = match i {
            40 => None,
            _ if i >= 114 => None,
            _ if i < 70 => Some(0.2 + (i % 5) as f64 * 0.1),
            _ => Some((i - 70) as f64 * 0.6),
        };
        db.push(t, v);
    }
    let cache = s
        .history
        .cache_lag
        .entry("cache-replica".into())
        .or_insert_with(|| Series::new(HISTORY_WINDOW_MS));
    for i in 0..120i64 {
        cache.push(ago(600 - i * 5), Some(0.1 + (i % 7) as f64 * 0.1));
    }
    for i in 0..120i64 {
        let v = if i < 90 {
            0.002 + (i % 3) as f64 * 0.001
        } else {
            0.01 + (i - 90) as f64 * 0.0007
        };
        s.history.error_rate.push(ago(600 - i * 5), Some(v));
        s.history.rps.push(ago(600 - i * 5), Some(450.0));
    }
    for line in log_lines() {
        s.logs.buffer.push(line);
    }
    s
}

/// Renders the whole console at `w`×`h` with the built-in theme and keymap.
pub fn render(state: &State, w: u16, h: u16) -> Buffer {
    render_with(state, &Theme::builtin(), w, h)
}

pub fn render_with(state: &State, theme: &Theme, w: u16, h: u16) -> Buffer {
    let keymap = Keymap::builtin();
    let mut state = state.clone();
    state.width = w;
    state.height = h;
    let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    if let Err(e) = terminal.draw(|f| opsdeck::ui::draw(f, &state, theme, &keymap)) {
        panic!("draw: {e}");
    }
    terminal.backend().buffer().clone()
}

/// The characters of a buffer, one line per row, trailing spaces trimmed.
pub fn buffer_text(buf: &Buffer) -> String {
    opsdeck::cli::snapshot::buffer_to_text(buf)
}

/// Renders and returns the text, for snapshots.
pub fn screen(state: &State, w: u16, h: u16) -> String {
    buffer_text(&render(state, w, h))
}
