//! The binary's headless commands, run as a user would.

use std::process::Command;

use super::e2e_tmux::binary;

fn opsdeck(args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-opsdeck-test")
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("opsdeck-cli-test-state"),
        )
        .env_remove("OPSDECK_READ_ONLY")
        .output()
        .expect("run opsdeck")
}

#[test]
fn status_json_has_the_documented_keys() {
    let out = opsdeck(&["status", "--json", "--seed", "5", "--at", "1795000000000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["environment"], "demo");
    assert!(v["source"].as_str().is_some_and(|s| s.contains("demo")));
    let azs = v["azs"].as_array().expect("azs");
    assert_eq!(azs.len(), 2);
    assert_eq!(azs[0]["name"], "ap-northeast-2a");
    let host = &azs[0]["hosts"][0];
    for key in ["name", "role", "state", "health", "version"] {
        assert!(host.get(key).is_some(), "host has {key}: {host}");
    }
    for list in ["databases", "caches"] {
        let items = v[list].as_array().expect(list);
        assert_eq!(items.len(), 2, "{list}");
        for item in items {
            for key in ["name", "role", "az", "lag_seconds"] {
                assert!(item.get(key).is_some(), "{list} item has {key}: {item}");
            }
        }
        let primary = items
            .iter()
            .find(|i| i["role"] == "primary")
            .expect("primary");
        assert!(
            primary["lag_seconds"].is_null(),
            "a primary has no lag: {primary}"
        );
    }
    let deploys = v["deploys"].as_array().expect("deploys");
    assert!(deploys.len() >= 10);
    for key in ["version", "at", "by", "outcome"] {
        assert!(deploys[0].get(key).is_some(), "deploy has {key}");
    }
    assert!(v["alerts"].is_array());
    // Headless: polls answered, nothing drawn or written to a terminal.
    let d = &v["diagnostics"];
    assert!(d["polls"].as_u64().is_some_and(|n| n >= 6), "{d}");
    assert_eq!(
        (d["frames"].as_u64(), d["terminal_bytes"].as_u64()),
        (Some(0), Some(0)),
        "{d}"
    );
}

#[test]
fn status_text_and_read_only_badge() {
    let out = opsdeck(&["status", "--read-only", "--scenario", "calm"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("READ-ONLY") && text.contains("web-c2") && text.contains("db-replica"),
        "{text}"
    );
}

#[test]
fn snapshot_renders_each_view_at_the_asked_size() {
    for view in ["overview", "instances", "replication", "deploys", "logs"] {
        let out = opsdeck(&[
            "snapshot",
            "--view",
            view,
            "--width",
            "80",
            "--height",
            "24",
            "--scenario",
            "calm",
        ]);
        assert!(
            out.status.success(),
            "{view}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().count(), 24, "{view}");
        assert!(
            text.lines().all(|l| l.chars().count() <= 80),
            "{view}:\n{text}"
        );
        assert!(!text.contains('\u{1b}'), "plain text, no escapes");
    }
}

#[test]
fn bad_input_is_named() {
    let out = opsdeck(&["snapshot", "--view", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown view 'nope'"));

    let out = opsdeck(&["--scenario", "chaos", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario 'chaos'"));

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[environments.prod]\nprovider = \"demo\"\nregoin = \"x\"\n",
    )
    .expect("write");
    let out = opsdeck(&["--config", cfg.to_str().expect("utf-8"), "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:1: unknown field `regoin`", cfg.display())),
        "{err}"
    );
}

/// Runs opsdeck with its own config, state and data directories.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("config/opsdeck")).expect("config dir");
        Self { dir }
    }

    fn config_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("config/opsdeck")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(args)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env_remove("OPSDECK_READ_ONLY")
            .stdin(std::process::Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.command(args).output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn audit_file(&self) -> std::path::PathBuf {
        self.dir.path().join("data/opsdeck/audit.jsonl")
    }
}

#[test]
fn do_exit_codes_success_refusal_read_only_and_failure() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.config_dir().join("config.toml"),
        "[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\n[environments.demo.guards]\nhealth_timeout_seconds = 6\n",
    )
    .expect("config");

    let (code, out, err) = sb.run(&["do", "drain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✔ succeeded (verified)"), "{out}");
    assert!(
        out.contains("wait for web-a1's in-flight requests"),
        "{out}"
    );

    let (code, out, _) = sb.run(&[
        "do",
        "rollback-deploy",
        "web",
        "--version",
        "v1.42.2",
        "--yes",
    ]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("refused by guard 'failed-version'"), "{out}");

    let (code, out, _) = sb.run(&["--read-only", "do", "drain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("refused: read-only session; nothing was sent"),
        "{out}"
    );

    let (code, out, _) = sb.run(&["do", "drain-backend", "web-a1"]);
    assert_eq!(
        code,
        Some(1),
        "no --yes and no terminal: not confirmed\n{out}"
    );

    let (code, out, _) = sb.run(&[
        "do",
        "rollback-deploy",
        "web",
        "--version",
        "v1.42.2",
        "--yes",
        "--override-guard",
        "--confirm",
        "web",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("✖ failed") && out.contains("web-a1"), "{out}");

    let (code, out, _) = sb.run(&["audit"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("drain-backend") && out.contains("succeeded"),
        "{out}"
    );
    assert!(
        out.contains("rollback-deploy")
            && out.contains("FAILED")
            && out.contains("[override: failed-version]"),
        "{out}"
    );
    // Refusals and read-only attempts send nothing and record nothing.
    let actions: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    assert_eq!(actions, ["drain-backend", "rollback-deploy"], "{out}");
    assert!(
        !out.contains("unknown    "),
        "the OS user is recorded: {out}"
    );

    let (code, out, _) = sb.run(&["audit", "--json", "--since", "1h"]);
    assert_eq!(code, Some(0));
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let phases: Vec<&str> = records
        .iter()
        .filter_map(|r| r["phase"].as_str())
        .filter(|p| *p != "step")
        .collect();
    assert_eq!(
        phases,
        ["intent", "result", "intent", "result"],
        "intent + result for each of two operations (plus a step record per fleet change)"
    );
    assert!(records.iter().any(|r| r["phase"] == "step"));
    for key in [
        "time",
        "user",
        "environment",
        "action",
        "target",
        "parameters",
        "guard_overrides",
        "steps",
        "outcome",
    ] {
        assert!(records[1].get(key).is_some(), "record has {key}");
    }
}

#[test]
fn a_kill_mid_operation_leaves_the_record_of_intent() {
    let sb = Sandbox::new();
    let mut child = sb
        .command(&[
            "--scenario",
            "calm",
            "do",
            "rollback-deploy",
            "web",
            "--yes",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    while !sb.audit_file().exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no intent record appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("kill");
    let _ = child.wait();
    let text = std::fs::read_to_string(sb.audit_file()).expect("audit");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("whole line"))
        .collect();
    // The intent, then a record per fleet change that had started; no result.
    assert_eq!(records[0]["phase"], "intent", "{text}");
    assert!(records[1..].iter().all(|r| r["phase"] == "step"), "{text}");
    assert_eq!(records[0]["action"], "rollback-deploy");
    let (_, out, _) = sb.run(&["audit"]);
    assert!(out.contains("INCOMPLETE"), "{out}");
}

#[test]
fn a_remapped_drain_key_shows_in_keys_help_and_runbooks() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.config_dir().join("keymap.toml"),
        "[overview]\n\"d\" = \"noop\"\n\"X\" = \"drain-backend\"\n[instances]\n\"d\" = \"noop\"\n\"X\" = \"drain-backend\"\n",
    )
    .expect("keymap");
    std::fs::create_dir_all(sb.config_dir().join("runbooks")).expect("runbooks");
    std::fs::write(
        sb.config_dir().join("runbooks/drain.md"),
        "# Drain\n\n1. Select the backend and {{drain-backend}}.\n",
    )
    .expect("runbook");

    let (code, out, _) = sb.run(&["keys", "--view", "overview"]);
    assert_eq!(code, Some(0));
    let line = out
        .lines()
        .find(|l| l.contains("drain-backend"))
        .expect("listed");
    assert!(line.contains(" X ") && !line.contains(" d "), "{line}");

    let (code, out, _) = sb.run(&["runbook", "drain"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("press `X`"), "{out}");

    let (code, out, _) = sb.run(&["keys", "--format", "json"]);
    assert_eq!(code, Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("json");
    assert!(
        rows.iter()
            .any(|r| r["action"] == "drain-backend" && r["keys"] == "X" && r["mutates"] == true)
    );

    let (code, out, _) = sb.run(&["keys", "--format", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("| overview | `X` | `drain-backend` |"),
        "{out}"
    );

    let (code, out, _) = sb.run(&["check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_reports_broken_lines_and_exits_2() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.config_dir().join("keymap.toml"),
        "[global]\n\"q\" = \"quit\"\n\"z\" = \"zap-everything\"\n",
    )
    .expect("keymap");
    std::fs::create_dir_all(sb.config_dir().join("runbooks")).expect("runbooks");
    std::fs::write(
        sb.config_dir().join("runbooks/x.md"),
        "# X\n\n- {{promote-replica}} then {{drain-all}}\n",
    )
    .expect("runbook");
    let (code, out, _) = sb.run(&["check"]);
    assert_eq!(code, Some(2), "{out}");
    let keymap = sb.config_dir().join("keymap.toml");
    assert!(
        out.contains(&format!(
            "{}:3:7: unknown action 'zap-everything'",
            keymap.display()
        )),
        "{out}"
    );
    let rb = sb.config_dir().join("runbooks/x.md");
    assert!(
        out.contains(&format!(
            "{}:3:28: unknown action 'drain-all'",
            rb.display()
        )),
        "{out}"
    );
    assert!(out.contains("2 problem(s)"), "{out}");
    // The console still starts: status works with the defaults in place.
    let (code, _, _) = sb.run(&["status"]);
    assert_eq!(code, Some(0));
}

#[test]
fn the_shipped_runbook_prints_with_keys() {
    let sb = Sandbox::new();
    let (code, out, _) = sb.run(&["runbook", "database-failover"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("# Database failover"), "{out}");
    assert!(
        out.contains("press `P`") && out.contains("press `y`"),
        "{out}"
    );
    let (code, _, err) = sb.run(&["runbook", "nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no runbook named 'nope'"), "{err}");
}

/// A one-shot HTTP server on loopback that records request bodies.
fn webhook_sink() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers, then the body by Content-Length.
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        let _ = tx.send(body.to_string());
                        break;
                    }
                }
            }
            let _ = s.write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, rx)
}

#[test]
fn webhooks_announce_operations_and_a_dead_one_never_blocks_them() {
    let sb = Sandbox::new();
    let (url, bodies) = webhook_sink();
    std::fs::write(
        sb.config_dir().join("config.toml"),
        format!("[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\nwebhook_url = \"{url}\"\n"),
    )
    .expect("config");
    let (code, out, err) = sb.run(&["do", "drain-backend", "web-a1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let start: serde_json::Value = serde_json::from_str(
        &bodies
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("start"),
    )
    .expect("json");
    let end: serde_json::Value = serde_json::from_str(
        &bodies
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("end"),
    )
    .expect("json");
    assert!(
        start["content"]
            .as_str()
            .is_some_and(|c| c.contains("drain-backend web-a1") && c.contains("started")),
        "{start}"
    );
    assert_eq!(
        start["content"], start["text"],
        "Discord and Slack read the same text"
    );
    assert!(
        end["text"]
            .as_str()
            .is_some_and(|c| c.contains("succeeded")),
        "{end}"
    );

    // Nothing listens on this port: the webhook fails, the drain does not.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    std::fs::write(
        sb.config_dir().join("config.toml"),
        format!("[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\nwebhook_url = \"{dead}\"\n"),
    )
    .expect("config");
    let (code, out, err) = sb.run(&["do", "drain-backend", "web-c1", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("note: webhook 127.0.0.1"), "{out}");
    let (_, audit, _) = sb.run(&["audit"]);
    assert!(audit.contains("note: webhook 127.0.0.1"), "{audit}");
}

/// `opsdeck do` decides as the console's dialog does (`core::ops::decide`):
/// overriding a guard takes both the flag and the target's exact name.
#[test]
fn do_overrides_a_guard_only_with_the_flag_and_the_exact_name() {
    let sb = Sandbox::new();
    let base = [
        "--scenario",
        "calm",
        "do",
        "rollback-deploy",
        "web",
        "--version",
        "v1.42.2",
        "--yes",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        sb.run(&args)
    };
    let (code, out, _) = run(&["--confirm", "web"]);
    assert_eq!(code, Some(3), "the name alone does not override: {out}");
    assert!(out.contains("refused by guard 'failed-version'"), "{out}");
    assert!(
        out.contains("to override: --override-guard --confirm web"),
        "{out}"
    );
    let (code, out, _) = run(&["--override-guard", "--confirm", "wbe"]);
    assert_eq!(code, Some(3), "a mistyped name does not override: {out}");
    let (code, out, _) = run(&["--override-guard"]);
    assert_eq!(code, Some(3), "the flag alone does not override: {out}");
    assert!(
        !sb.audit_file().exists(),
        "refusals send and record nothing"
    );
}
