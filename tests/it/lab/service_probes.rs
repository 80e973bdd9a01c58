//! The service as its users see it, on the real lab (issue 10): a frozen
//! nginx (master and workers SIGSTOPped) is "service down" and "lb down"
//! within 10 s while the other panels stay live, and it recovers by itself; a
//! backend failing its health check fails its own probe while the service
//! probe through the LB stays green; users' traffic stopping is a reported
//! drop that clears when it returns.

use std::time::{Duration, Instant};

use super::{Lab, Load, console, host, lab_or_skip};
use crate::e2e_tmux::tmux_or_skip;

/// nginx's master and workers, frozen; thawed (SIGCONT) however the test ends.
struct FrozenNginx {
    pids: Vec<u32>,
}

impl FrozenNginx {
    /// Stops the master the lab recorded and its workers (its children).
    fn freeze(lab: &Lab) -> FrozenNginx {
        let pid_file = format!("{}/lb.nginx.pid", lab.var("LAB_PIDS"));
        let master: u32 = std::fs::read_to_string(&pid_file)
            .expect("the lab records nginx's pid")
            .trim()
            .parse()
            .expect("a pid");
        // Signal only a process that is still the lab's nginx.
        let comm = std::fs::read_to_string(format!("/proc/{master}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "nginx",
            "pid {master} from {pid_file} is not nginx"
        );
        let workers = lab.sh(&format!("pgrep -P {master} || true"));
        let mut pids = vec![master];
        pids.extend(
            workers
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
        assert!(pids.len() >= 2, "nginx has workers: {pids:?}");
        let frozen = FrozenNginx { pids };
        frozen.signal("STOP");
        frozen
    }

    fn signal(&self, sig: &str) {
        let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
        let _ = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .args(&pids)
            .status();
    }
}

impl Drop for FrozenNginx {
    fn drop(&mut self) {
        self.signal("CONT");
    }
}

/// One line of the screen that contains `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen.lines().find(|l| l.contains(needle)).unwrap_or("")
}

#[test]
fn lab_a_frozen_nginx_is_service_down_and_lb_down_and_recovers_by_itself() {
    let name = "lab_a_frozen_nginx_is_service_down_and_lb_down_and_recovers_by_itself";
    let Some(lab) = lab_or_skip(name) else { return };
    let Some(t) = tmux_or_skip("lab_frozen_nginx") else {
        return;
    };
    console(&t, (120, 36), &lab.config(), lab.data.path());
    t.wait_for("SERVICE ● up", Duration::from_secs(20));

    let frozen = FrozenNginx::freeze(&lab);
    let started = Instant::now();
    let screen = t.wait_for("✖ lb down", Duration::from_secs(10));
    let within = started.elapsed();
    assert!(within <= Duration::from_secs(10), "took {within:?}");
    assert!(
        line_with(&screen, "SERVICE").contains("SERVICE ✖ down"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "✖ lb down").contains("✖ service down: http://127.0.0.10:8080/"),
        "the headline names the service down and the LB down: {screen}"
    );
    assert!(!screen.contains("all healthy"), "{screen}");

    // status --json names the failed probe and exits non-zero.
    let (code, out, err) = lab.opsdeck(&["status", "--json"]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    let s: serde_json::Value = serde_json::from_str(&out).expect("json");
    let probe = &s["service"]["probes"][0];
    assert_eq!(probe["url"], "http://127.0.0.10:8080/", "{s}");
    assert_eq!(probe["ok"], false, "{s}");
    assert!(
        probe["error"]
            .as_str()
            .is_some_and(|e| e.contains("http://127.0.0.10:8080/") && e.contains("timed out")),
        "{s}"
    );
    assert_eq!(s["service"]["status"], "down", "{s}");
    assert_eq!(s["service"]["load_balancer"]["health"], "down", "{s}");
    assert_eq!(host(&s, "lb")["health"], "down", "{s}");
    assert!(
        err.contains("service probe failed: GET http://127.0.0.10:8080/"),
        "{err}"
    );
    // The other panels stay live: no source failed, and their data is there.
    assert_eq!(s["errors"], serde_json::json!([]), "{s}");
    assert_eq!(host(&s, "web-a1")["health"], "ok", "{s}");
    assert!(
        s["databases"].as_array().is_some_and(|d| d.len() == 2),
        "{s}"
    );
    // On screen too, a few polls later: nothing failing, nothing stale.
    std::thread::sleep(Duration::from_secs(4));
    let screen = t.screen();
    assert!(!screen.contains("source failing"), "{screen}");
    assert!(!screen.contains("STALE"), "{screen}");
    assert!(screen.contains("web-c2"), "{screen}");

    // Thawed: it recovers by itself.
    drop(frozen);
    let screen = t.wait_for("SERVICE ● up", Duration::from_secs(15));
    t.wait_gone("✖ lb down", Duration::from_secs(5));
    assert!(
        line_with(&screen, "SERVICE").contains("last error"),
        "the last error stays on the service line: {screen}"
    );
    let (code, out, err) = lab.opsdeck(&["status", "--json"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
}

/// A release config file put back however the test ends.
struct Restore {
    path: String,
    text: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.text);
    }
}

#[test]
fn lab_a_backend_failing_its_health_check_fails_its_probe_while_the_service_stays_up() {
    let name = "lab_a_backend_failing_its_health_check_fails_its_probe_while_the_service_stays_up";
    let Some(lab) = lab_or_skip(name) else { return };
    let path = format!("{}/v42/config", lab.var("LAB_RELEASES_WEB_C2"));
    let text = std::fs::read_to_string(&path).expect("release config");
    let restore = Restore {
        path: path.clone(),
        text: text.clone(),
    };
    let sick: String = text
        .lines()
        .filter(|l| !l.starts_with("health"))
        .chain(["health=fail", "health_status=500"])
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, sick).expect("write release config");
    let (status, _) = super::get(&format!("{}/health", lab.var("LAB_WEB_C2_URL")));
    assert_eq!(status, 500, "web-c2's /health answers 500");

    let (code, out, err) = lab.opsdeck(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_ne!(host(&s, "web-c2")["health"], "ok", "{s}");
    for other in ["web-a1", "web-a2", "web-c1"] {
        assert_eq!(host(&s, other)["health"], "ok", "{other}: {s}");
    }
    assert_eq!(s["service"]["status"], "up", "{s}");
    assert_eq!(s["service"]["probes"][0]["ok"], true, "{s}");
    assert_eq!(s["service"]["load_balancer"]["health"], "ok", "{s}");
    assert!(
        s["verdict"]["problems"].as_array().is_some_and(|p| p
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.contains("web-c2")))
            && !p
                .iter()
                .any(|t| t.as_str().is_some_and(|t| t.contains("service")))),
        "{s}"
    );
    assert!(!err.contains("service probe failed"), "{err}");
    // A sick backend is not a failed source or a failed service.
    assert_eq!(code, Some(0), "{out}\n{err}");
    drop(restore);
}

#[test]
fn lab_traffic_stopping_is_reported_as_a_drop_and_clears_when_it_returns() {
    let name = "lab_traffic_stopping_is_reported_as_a_drop_and_clears_when_it_returns";
    let Some(lab) = lab_or_skip(name) else { return };
    let Some(t) = tmux_or_skip("lab_traffic_drop") else {
        return;
    };
    let url = lab.var("LAB_LB_URL").to_string();
    let load = Load::start(&url);
    console(&t, (120, 36), &lab.config(), lab.data.path());
    t.wait_for("SERVICE ● up", Duration::from_secs(20));
    // A baseline: more than the judgement's minimum span plus its recent window.
    std::thread::sleep(Duration::from_secs(40));
    let screen = t.screen();
    assert!(!screen.contains("traffic fell"), "steady traffic: {screen}");
    let (sent, failed) = load.finish();
    assert!(
        sent > 100 && failed.is_empty(),
        "{sent} sent, failed: {failed:?}"
    );

    let screen = t.wait_for("▼ traffic fell", Duration::from_secs(30));
    let headline = line_with(&screen, "▼ traffic fell");
    // Not always 100 %: the lab's nginx exporter reads /nginx_status every
    // 2 s, and those requests are real ones nginx counts (the console's own
    // probes and status reads are taken out).
    let pct: u32 = headline
        .split("▼ traffic fell ")
        .nth(1)
        .and_then(|r| r.split(" %").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a percentage: {headline}"));
    assert!(pct >= 90, "traffic fell to near zero: {screen}");
    assert!(headline.contains(" % in 15 s"), "{screen}");
    // The service itself is fine: only the traffic is gone.
    assert!(
        line_with(&screen, "SERVICE").contains("SERVICE ● up"),
        "{screen}"
    );

    let load = Load::start(&url);
    t.wait_gone("▼ traffic fell", Duration::from_secs(30));
    let screen = t.screen();
    let (_, failed) = load.finish();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(!screen.contains("traffic fell"), "{screen}");
    assert!(
        !screen.contains("traffic rose"),
        "coming back is not a spike: {screen}"
    );
}
