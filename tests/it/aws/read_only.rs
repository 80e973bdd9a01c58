//! Read-only: nothing that could change the fleet reaches the server, however
//! hard the console is driven.

use std::time::Duration;

use super::super::e2e_tmux::tmux_or_skip;
use super::{Recorded, aws_or_skip, summary};

/// One key of `opsdeck keys` ("<esc>", "S-tab", "C-r", "g", …) as tmux names
/// it: `Ok(name)` for send-keys, `Err(text)` for a literal character.
fn tmux_key(key: &str) -> Result<String, String> {
    let named = match key {
        "<esc>" => "Escape",
        "<tab>" => "Tab",
        "S-tab" => "BTab",
        "<enter>" => "Enter",
        "<space>" => "Space",
        "<up>" => "Up",
        "<down>" => "Down",
        "<left>" => "Left",
        "<right>" => "Right",
        "<home>" => "Home",
        "<end>" => "End",
        "<pageup>" => "PPage",
        "<pagedown>" => "NPage",
        "<backspace>" => "BSpace",
        k if k.starts_with("C-") || k.starts_with("M-") => k,
        k if k.chars().count() == 1 => return Err(k.to_string()),
        k => panic!("a key this test cannot press: {k:?}"),
    };
    Ok(named.to_string())
}

/// The bindings of `opsdeck keys --format json`: (section, action, key sequences).
fn bindings(keys_json: &str) -> Vec<(String, String, Vec<Vec<String>>)> {
    let v: serde_json::Value = serde_json::from_str(keys_json).expect("keys json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|b| {
            let seqs = b["keys"]
                .as_str()
                .unwrap_or("")
                .split(", ")
                .filter(|s| !s.is_empty())
                .map(|s| s.split(' ').map(str::to_string).collect())
                .collect();
            (
                b["section"].as_str().unwrap_or("").to_string(),
                b["action"].as_str().unwrap_or("").to_string(),
                seqs,
            )
        })
        .collect()
}

#[test]
fn aws_read_only_console_sends_nothing_that_writes() {
    let Some(lab) = aws_or_skip("aws_read_only_console_sends_nothing_that_writes") else {
        return;
    };
    let Some(t) = tmux_or_skip("aws-read-only") else {
        return;
    };
    let config = lab.config();
    let (code, keys_json, err) = lab.opsdeck(&["--read-only", "keys", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let all = bindings(&keys_json);
    let actions: Vec<String> = {
        let mut a: Vec<String> = all.iter().map(|(_, a, _)| a.clone()).collect();
        a.dedup();
        a
    };
    for must in [
        "drain-backend",
        "undrain-backend",
        "promote-replica",
        "failover-replica",
        "rollback-deploy",
    ] {
        assert!(actions.iter().any(|a| a == must), "{must} in {actions:?}");
    }

    lab.reset_recorder();
    lab.console(&t, &config, "--read-only");
    assert!(
        t.screen().contains("aws (prod) · 123456789012"),
        "the status bar names the account:\n{}",
        t.screen()
    );
    // Each key on its own read: an ESC followed at once by a key would be
    // taken for Alt+key.
    let settle = || std::thread::sleep(Duration::from_millis(40));
    let press = |seq: &[String]| {
        for k in seq {
            match tmux_key(k) {
                Ok(name) => t.keys(&[&name]),
                Err(text) => t.type_text(&text),
            }
            settle();
        }
        std::thread::sleep(Duration::from_millis(80));
        // Answer whatever dialog opened: confirm, press the focused button,
        // then close what is left.
        for k in ["y", "Enter", "Escape", "Escape"] {
            t.keys(&[k]);
            settle();
        }
    };
    let alive = |what: &str| {
        let screen = t.screen();
        assert!(
            screen.contains("1 Overview") && screen.contains("5 Logs"),
            "the console is still up after {what}:\n{screen}"
        );
    };
    let mut pressed = 0;
    for (view_key, view) in [
        ("1", "overview"),
        ("2", "instances"),
        ("3", "replication"),
        ("4", "deploys"),
        ("5", "logs"),
    ] {
        for (section, action, seqs) in &all {
            let here = section == "global"
                || section == view
                || section == "dialog"
                || section == "runbook";
            if !here || action == "quit" {
                continue;
            }
            for seq in seqs {
                // C-c quits (and cancels dialogs); q is the quit key.
                if seq.iter().any(|k| k == "C-c" || k == "q") {
                    continue;
                }
                t.type_text(view_key);
                // Select a row first, so actions have a target (a replica, a backend).
                t.type_text("j");
                press(seq);
                pressed += 1;
                alive(&format!("{action} ({seq:?}) in {view}"));
            }
        }
    }
    // The palette: every action by name, the mutating ones with a target.
    let targets = [
        ("drain-backend", "drain-backend web-a1"),
        ("undrain-backend", "undrain-backend web-a1"),
        ("promote-replica", "promote-replica prod-db-replica"),
        ("ssh-open", "ssh-open web-a1"),
        ("show-logs", "logs web-a1"),
    ];
    let mut commands: Vec<String> = actions
        .iter()
        .filter(|a| *a != "quit")
        .map(|a| {
            targets
                .iter()
                .find(|(n, _)| n == a)
                .map_or(a.clone(), |(_, c)| c.to_string())
        })
        .collect();
    commands.extend(
        [
            "promote-replica prod-redis-002",
            "rollback-deploy",
            "overview",
            "instances",
            "replication",
            "deploys",
            "logs",
        ]
        .map(str::to_string),
    );
    let mut refused = Vec::new();
    for cmd in &commands {
        t.type_text("1");
        settle();
        t.type_text(":");
        settle();
        t.type_text(cmd);
        settle();
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(150));
        if t.screen().contains("not sent (this session is read-only)") {
            refused.push(cmd.split(' ').next().unwrap_or("").to_string());
        }
        press(&[]);
        pressed += 1;
        alive(&format!("palette `{cmd}`"));
    }
    // (rollback-deploy stops earlier: AWS has no deploy history to roll back to.)
    for op in ["drain-backend", "undrain-backend", "promote-replica"] {
        assert!(
            refused.iter().any(|r| r == op),
            "the palette ran {op} and the session refused it: refused {refused:?}"
        );
    }
    // Still live after all that: the hosts panel (every 10 s) polls again.
    let describes = |rec: &[Recorded]| {
        rec.iter()
            .filter(|r| r.action == "DescribeInstances")
            .count()
    };
    let before = describes(&lab.recording());
    std::thread::sleep(Duration::from_secs(11));
    let after = describes(&lab.recording());
    assert!(
        after > before,
        "the console stopped polling: {before} → {after}"
    );
    t.type_text("q");
    std::thread::sleep(Duration::from_millis(500));
    if !t.screen().contains("E2E$") {
        t.type_text("y");
    }
    t.wait_for("E2E$", Duration::from_secs(10));

    let rec = lab.recording();
    let counts = summary(&rec);
    eprintln!("pressed {pressed} keys/commands; recorded {counts:?}");
    assert!(pressed > 50, "{pressed}");
    assert!(
        rec.iter()
            .any(|r| r.service == "ec2" && r.action == "DescribeInstances"),
        "the session polled (so this recording can show a write): {counts:?}"
    );
    let writes: Vec<&Recorded> = rec.iter().filter(|r| !r.reads()).collect();
    assert!(
        writes.is_empty(),
        "a read-only session sent {} request(s) that are not Describe/Get/List/Filter: {writes:?}",
        writes.len()
    );
}

#[test]
fn aws_do_refuses_and_sends_nothing() {
    let Some(lab) = aws_or_skip("aws_do_refuses_and_sends_nothing") else {
        return;
    };
    // A read-only session has no write client: refused, exit 3, before
    // anything is sent.
    for args in [
        &["--read-only", "do", "drain-backend", "web-a1", "--yes"][..],
        &["--read-only", "do", "undrain-backend", "web-a1", "--yes"][..],
        &[
            "--read-only",
            "do",
            "promote-replica",
            "prod-db-replica",
            "--yes",
        ][..],
        &[
            "--read-only",
            "do",
            "promote-replica",
            "prod-redis-002",
            "--yes",
        ][..],
        &[
            "--read-only",
            "do",
            "failover-replica",
            "prod-db-replica",
            "--yes",
            "--confirm",
            "prod-db-replica",
        ][..],
    ] {
        lab.reset_recorder();
        let (code, out, err) = lab.opsdeck(args);
        assert_eq!(code, Some(3), "{args:?} is refused\n{out}{err}");
        assert!(
            format!("{out}{err}").contains("nothing was sent"),
            "{args:?}: {out}{err}"
        );
        let rec = lab.recording();
        let writes: Vec<&Recorded> = rec.iter().filter(|r| !r.reads()).collect();
        assert!(writes.is_empty(), "{args:?} sent {writes:?}");
        assert!(!rec.is_empty(), "{args:?} observed the fleet first");
    }
    // `drain` is no operation at all: a usage error (exit 2) before anything is read.
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck(&["do", "drain", "web-a1", "--yes"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("drain-backend"), "names the operations: {err}");
    let rec = lab.recording();
    assert!(rec.iter().all(Recorded::reads), "{rec:?}");
}
