//! The fleet lock between a console and `opsdeck do` on the lab: a drain
//! started in the console (a real terminal under tmux) holds the lock on the
//! load balancer for as long as it runs; `opsdeck do` on another backend is
//! refused naming it, a second, read-only console shows it on its status
//! line, and once the console's drain ends the lock is free again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::super::e2e_tmux::{Tmux, binary, tmux_or_skip};
use super::{Lab, lab_or_skip};

fn holder_file(lab: &Lab) -> PathBuf {
    Path::new(lab.var("LAB_UPSTREAM_FILE"))
        .parent()
        .expect("dir")
        .join(".opsdeck.lock.holder")
}

/// Keeps web-a1's requests showing in nginx's access log after it is
/// drained, the way long requests that are still finishing do: lines in
/// nginx's own format and on its clock, appended every 100 ms. While it
/// runs the drain's in-flight wait cannot end, so the drain holds the lock
/// as long as the test wants. Stopped (the shell killed by its pid) on drop.
struct LingeringTraffic(Child);

impl LingeringTraffic {
    fn start(lab: &Lab, addr: &str) -> Self {
        let script = format!(
            "while :; do printf '%s\\n' \"127.0.0.1 - - [$(date '+%d/%b/%Y:%H:%M:%S %z')] \\\"GET /long HTTP/1.0\\\" 200 11 \\\"-\\\" \\\"-\\\" upstream={addr} upstream_status=200 request_time=1.000 upstream_time=1.000\" >> \"$LAB_ACCESS_LOG\"; sleep 0.1; done"
        );
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .envs(&lab.vars)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("traffic feeder");
        LingeringTraffic(child)
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for LingeringTraffic {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the console on `config` with `extra` arguments in a fresh shell.
fn console_with(t: &Tmux, config: &Path, data: &Path, extra: &str) {
    t.start_shell(120, 36);
    t.type_text(&format!(
        "XDG_DATA_HOME={d}/data XDG_STATE_HOME={d}/state {} --config {} {extra}",
        binary(),
        config.display(),
        d = data.display()
    ));
    t.keys(&["Enter"]);
    // web-c2's row with its weight: the hosts panel has answered (its name
    // alone can show earlier, in a probe's headline, since the first frame
    // comes before the sources answer).
    t.wait_for("web-c2        w2", Duration::from_secs(20));
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn lab_a_console_drain_holds_the_lock_do_is_refused_naming_it_and_a_read_only_console_shows_it() {
    let Some(lab) = lab_or_skip(
        "lab_a_console_drain_holds_the_lock_do_is_refused_naming_it_and_a_read_only_console_shows_it",
    ) else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-tui-lock") else {
        return;
    };
    let Some(ro) = tmux_or_skip("lab-tui-lock-ro") else {
        return;
    };
    // A long drain wait: the drain ends when web-a1's traffic does, not at
    // the lab's 10 s timeout.
    let config = lab.config_variant("long-drain.toml", |t| {
        t.replace("drain_timeout_seconds = 10", "drain_timeout_seconds = 90")
    });
    let holder = holder_file(&lab);
    let mut traffic = LingeringTraffic::start(&lab, "127.0.1.11:8080");

    console_with(&t, &config, lab.data.path(), "");
    // The first backend (web-a1) is selected: drain it and confirm.
    t.type_text("d");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    wait_until(
        "the console's drain took the lock",
        Duration::from_secs(15),
        || holder.exists(),
    );
    let screen = t.wait_for("in-flight", Duration::from_secs(10));
    assert!(screen.contains("web-a1"), "{screen}");

    // `opsdeck do` on another backend (in the other AZ, so no guard objects), from the same machine.
    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-c1", "--yes"]);
    assert_eq!(
        code,
        Some(3),
        "refused while the console drains: {out}{err}"
    );
    assert!(
        out.contains("the fleet is locked by") && out.contains("drain-backend web-a1"),
        "the refusal names the holder and its operation: {out}"
    );
    assert!(out.contains("nothing was changed"), "{out}");
    let text = lab.sh("cat $LAB_UPSTREAM_FILE");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("127.0.2.11:8080") && l.contains(" down;")),
        "web-c1 was not drained: {text}"
    );

    // A read-only console started meanwhile shows who operates on what.
    console_with(&ro, &config, lab.data.path(), "--read-only");
    let screen = ro.wait_for("🔒", Duration::from_secs(10));
    let line = screen
        .lines()
        .find(|l| l.contains("🔒"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("drain-backend web-a1") && line.contains('@'),
        "the status line names the holder and its operation: {line}\n{screen}"
    );
    // The drain is still waiting: nothing ended it behind the test's back.
    assert!(holder.exists(), "still held");

    // The traffic ends: the drain's wait ends, it verifies, and lets go.
    traffic.stop();
    let screen = t.wait_for("✔ succeeded", Duration::from_secs(40));
    assert!(screen.contains("drain-backend web-a1"), "{screen}");
    wait_until("the lock was released", Duration::from_secs(10), || {
        !holder.exists()
    });
    ro.wait_gone("🔒", Duration::from_secs(10));

    let (code, out, err) = lab.opsdeck(&["do", "drain-backend", "web-c1", "--yes"]);
    assert_eq!(code, Some(0), "the lock is free again: {out}{err}");
    let text = lab.sh("cat $LAB_UPSTREAM_FILE");
    let downs: Vec<&str> = text.lines().filter(|l| l.contains(" down;")).collect();
    assert_eq!(downs.len(), 2, "web-a1 and web-c1 drained: {text}");
    ro.type_text("q");
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
}
