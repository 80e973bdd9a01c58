//! A hung endpoint (accepts, never answers) and a dead port, set per service:
//! `status` returns within its bound naming the service, the other parts stay,
//! and the console stays responsive with only that panel degraded.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::super::e2e_tmux::tmux_or_skip;
use super::{AwsLab, aws_or_skip, error_sources, find_node, host, hosts, node};

/// Accepts connections on 127.0.0.1 and never answers; the accepted sockets
/// stay open until this is dropped.
struct HungEndpoint {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HungEndpoint {
    fn start() -> HungEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            // Bounded: at most 10 minutes.
            let deadline = Instant::now() + Duration::from_secs(600);
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((sock, _)) => held.push(sock),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HungEndpoint {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HungEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback port nothing listens on (bound, noted, closed).
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

const SERVICES: [&str; 6] = ["ec2", "elbv2", "rds", "elasticache", "cloudwatch", "logs"];

/// The lab's config with `svc` pointed at `url`.
fn config_for(lab: &AwsLab, kind: &str, svc: &str, url: &str) -> PathBuf {
    lab.config_with_aws_line(
        &format!("{kind}-{svc}.toml"),
        &format!("endpoints = {{ {svc} = \"{url}\" }}"),
    )
}

/// What must still be there when only `svc` fails.
fn the_rest_stays(svc: &str, s: &serde_json::Value) {
    let replica_lag = || {
        let r = node(s, "databases", "prod-db-replica");
        assert_eq!(r["role"], "replica", "{svc}: {r}");
        r["lag_seconds"].clone()
    };
    let cache_replica = || {
        let c = node(s, "caches", "prod-redis-002");
        assert_eq!(c["role"], "replica", "{svc}: {c}");
    };
    let backends_present = || {
        for b in ["web-a1", "web-a2", "web-c1", "web-c2"] {
            let _ = host(s, b);
        }
    };
    match svc {
        "ec2" => {
            assert!(replica_lag().is_number(), "{svc}: RDS and its lag stay");
            cache_replica();
        }
        "elbv2" => {
            backends_present();
            assert!(replica_lag().is_number());
            cache_replica();
        }
        "rds" => {
            cache_replica();
            backends_present();
            assert!(
                find_node(s, "databases", "prod-db-replica").is_none(),
                "{svc}: no RDS data to show: {s}"
            );
        }
        "elasticache" => {
            assert!(
                replica_lag().is_number(),
                "a hung ElastiCache must not hide the RDS lag: {s}"
            );
            backends_present();
        }
        "cloudwatch" => {
            backends_present();
            assert_eq!(
                s["load_balancer"]["targets"].as_array().map(Vec::len),
                Some(4),
                "{s}"
            );
            assert!(
                hosts(s).iter().all(|h| h["cpu_pct"].is_null()),
                "no CPU without CloudWatch (never invented): {s}"
            );
            assert!(replica_lag().is_null(), "lag unknown, not 0");
            cache_replica();
        }
        "logs" => {
            backends_present();
            assert!(replica_lag().is_number());
            cache_replica();
            assert_eq!(s["alerts"].as_array().map(Vec::len), Some(1), "{s}");
        }
        other => panic!("{other}"),
    }
}

/// `status --json` with `svc` at `url`: bounded, exit 1, names the service,
/// keeps the rest. Returns how long it took.
fn check_one(lab: &AwsLab, kind: &str, svc: &str, url: &str, bound: Duration) -> Duration {
    let config = config_for(lab, kind, svc, url);
    let (code, s, err, took) = lab.status_with(&config);
    eprintln!("{kind} {svc}: status took {took:?}");
    assert!(
        took < bound,
        "{kind} {svc}: status took {took:?} (bound {bound:?})"
    );
    assert_eq!(
        code,
        Some(1),
        "{kind} {svc}: a failed source fails status\n{err}"
    );
    let want = format!("aws {svc}");
    assert!(
        error_sources(&s).contains(&want),
        "{kind} {svc}: errors name {want}: {}",
        s["errors"]
    );
    assert!(err.contains(&want), "{kind} {svc}: stderr names it: {err}");
    the_rest_stays(svc, &s);
    took
}

#[test]
fn aws_a_hung_endpoint_per_service_costs_one_bounded_wait_and_degrades_only_its_part() {
    let Some(lab) = aws_or_skip(
        "aws_a_hung_endpoint_per_service_costs_one_bounded_wait_and_degrades_only_its_part",
    ) else {
        return;
    };
    let hung = HungEndpoint::start();
    let url = hung.url();
    // The six cases only read moto: run them at once.
    let results: Vec<std::thread::Result<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = SERVICES
            .iter()
            .map(|svc| {
                let (lab, url) = (&lab, url.as_str());
                scope.spawn(move || check_one(lab, "hung", svc, url, Duration::from_secs(6)))
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    drop(hung);
    let failed: Vec<&str> = SERVICES
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_err())
        .map(|(s, _)| *s)
        .collect();
    assert!(
        failed.is_empty(),
        "failed for {failed:?} (see the panics above)"
    );
    // A hung STS: the identity is not known (no account in the source),
    // nothing else depends on it.
    let hung = HungEndpoint::start();
    let config = config_for(&lab, "hung", "sts", &hung.url());
    let (code, s, err, took) = lab.status_with(&config);
    drop(hung);
    eprintln!("hung sts: status took {took:?}");
    assert!(took < Duration::from_secs(6), "hung sts: {took:?}");
    assert_eq!(code, Some(0), "{err}\n{}", s["errors"]);
    let _ = host(&s, "web-a1");
    assert!(node(&s, "databases", "prod-db-replica")["lag_seconds"].is_number());
    assert!(
        !s["source"].as_str().unwrap_or("").contains("123456789012"),
        "{}",
        s["source"]
    );
    for (svc, r) in SERVICES.iter().zip(results) {
        let took = r.expect("checked");
        // It did wait for the hung endpoint (a timeout, not a refusal).
        assert!(took > Duration::from_millis(1500), "{svc}: {took:?}");
    }
}

#[test]
fn aws_a_dead_port_per_service_fails_fast_and_degrades_only_its_part() {
    let Some(lab) =
        aws_or_skip("aws_a_dead_port_per_service_fails_fast_and_degrades_only_its_part")
    else {
        return;
    };
    let url = format!("http://127.0.0.1:{}", dead_port());
    for svc in ["elasticache", "rds", "cloudwatch"] {
        check_one(&lab, "dead", svc, &url, Duration::from_secs(6));
    }
}

#[test]
fn aws_console_stays_responsive_with_a_hung_elasticache() {
    let Some(lab) = aws_or_skip("aws_console_stays_responsive_with_a_hung_elasticache") else {
        return;
    };
    let Some(t) = tmux_or_skip("aws-hung-cache") else {
        return;
    };
    let hung = HungEndpoint::start();
    let config = config_for(&lab, "hung", "elasticache", &hung.url());
    lab.console(&t, &config, "--read-only");
    // The cache part's error shows, while the RDS replica stays.
    let screen = t.wait_for("aws elasticache", Duration::from_secs(15));
    assert!(screen.contains("prod-db-replica"), "{screen}");
    assert!(screen.contains("web-a1"), "{screen}");
    for (key, needle) in [
        ("3", "Database (2)"),
        ("2", "Instances (5)"),
        ("1", "Alerts"),
    ] {
        let start = Instant::now();
        t.type_text(key);
        let screen = t.wait_for(needle, Duration::from_secs(2));
        eprintln!("view {key} after {:?}", start.elapsed());
        if key == "3" {
            assert!(
                screen.contains("prod-db-replica") && screen.contains("aws elasticache"),
                "the replication view: RDS rows and the cache error\n{screen}"
            );
        }
    }
    t.type_text("q");
    std::thread::sleep(Duration::from_millis(500));
    if !t.screen().contains("E2E$") {
        t.type_text("y");
    }
    t.wait_for("E2E$", Duration::from_secs(10));
    drop(hung);
}
