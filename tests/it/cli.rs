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
