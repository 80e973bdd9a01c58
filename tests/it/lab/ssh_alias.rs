//! `ssh-open` connects to the host's configured `ssh` alias, never to its
//! display name: here the display name is also a `Host` in the SSH config,
//! a decoy that points at another lab host's sshd.

use std::time::Duration;

use super::{console, lab_or_skip, tmux_or_skip};

#[test]
fn lab_ssh_open_goes_to_the_configured_alias_not_a_decoy_named_like_the_host() {
    let Some(lab) =
        lab_or_skip("lab_ssh_open_goes_to_the_configured_alias_not_a_decoy_named_like_the_host")
    else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-ssh-alias") else {
        return;
    };
    // The decoy: `Host app-east-1` is web-c2's sshd.
    let ssh_config = lab.data.path().join("ssh_config");
    let real = std::fs::read_to_string(lab.var("LAB_SSH_CONFIG")).expect("ssh config");
    std::fs::write(
        &ssh_config,
        format!("Host app-east-1\n  HostName 127.0.2.12\n  Port 2222\n\n{real}"),
    )
    .expect("write");
    // web-a1 is shown as app-east-1; its alias stays web-a1.
    let config = lab.config_variant("alias.toml", |text| {
        text.replace("name = \"web-a1\"", "name = \"app-east-1\"")
            .replace(
                lab.var("LAB_SSH_CONFIG"),
                ssh_config.to_str().expect("utf-8"),
            )
    });
    console(&t, (100, 30), &config, lab.data.path());
    t.type_text("s");
    t.wait_for("ssh-open app-east-1", Duration::from_secs(5));
    t.type_text("y");
    t.wait_gone("1 Overview", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    // The sshd's own address names the machine: every lab host has one.
    t.type_text("echo on-$LAB_HOST-at-$(echo $SSH_CONNECTION | cut -d' ' -f3)");
    t.keys(&["Enter"]);
    let screen = t.wait_for("-at-127.", Duration::from_secs(10));
    assert!(
        screen.contains("on-web-a1-at-127.0.1.11"),
        "the session runs on the configured host (web-a1, 127.0.1.11), not the decoy:\n{screen}"
    );
    assert!(!screen.contains("on-web-c2"), "{screen}");
    t.type_text("exit");
    t.keys(&["Enter"]);
    t.wait_for("SSH session on app-east-1 ended", Duration::from_secs(10));
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
}
