//! Rollback and ssh-open on an AWS fleet: moto seeded with the SSH lab's
//! loopback addresses as the instances' private IPs (`seed.py --lab-ips`),
//! so the backends' SSH is served by the lab's real sshds, reached through
//! the lab's `lb` sshd as the bastion. An nftables rule (a table of this
//! test's own, removed afterwards) rejects this machine's root user's
//! connections to the backends' sshd port: only the bastion's sshd (the lab
//! user) can reach them, so a session that works went through ProxyJump.
//!
//! Needs both moto and the lab; skipped with a reason otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{AwsLab, Recorded, aws_or_skip, host, summary};
use crate::e2e_tmux::tmux_or_skip;
use crate::lab::{Lab, lab_or_skip};

const BACKENDS: [&str; 4] = ["web-a1", "web-a2", "web-c1", "web-c2"];
const NFT_TABLE: &str = "opsdeck_it_aws_ssh";

/// Both labs, moto seeded with the lab's addresses; `None` (reason printed)
/// when either is not running.
fn labs(test: &str) -> Option<(AwsLab, Lab)> {
    let mut aws = aws_or_skip(test)?;
    let lab = lab_or_skip(test)?;
    aws.seed(&["--lab-ips", "--dereg-delay", "1"]);
    Some((aws, lab))
}

/// Only the bastion reaches the backends' sshd while this lives.
struct OnlyViaBastion;

fn only_via_bastion() -> OnlyViaBastion {
    let _ = Command::new("nft")
        .args(["delete", "table", "inet", NFT_TABLE])
        .output();
    let script = format!(
        "add table inet {NFT_TABLE}\n\
         add chain inet {NFT_TABLE} out {{ type filter hook output priority 0; }}\n\
         add rule inet {NFT_TABLE} out ip daddr {{ 127.0.1.11, 127.0.1.12, 127.0.2.11, 127.0.2.12 }} tcp dport 2222 meta skuid 0 counter reject with tcp reset\n"
    );
    let out = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .expect("nft");
    assert!(out.status.success(), "nft: {out:?}");
    // The rule holds: a direct connection as this user is refused.
    assert!(
        std::net::TcpStream::connect_timeout(
            &"127.0.1.11:2222".parse().expect("addr"),
            Duration::from_secs(2)
        )
        .is_err(),
        "the direct path to web-a1's sshd is still open"
    );
    OnlyViaBastion
}

impl Drop for OnlyViaBastion {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", NFT_TABLE])
            .output();
    }
}

/// The seeded config with SSH through the lab's `lb` sshd and the lab's
/// release directories; `ssh_extra` goes into `[aws.ssh]`.
fn config(aws: &AwsLab, lab: &Lab, name: &str, ssh_config: &Path, ssh_extra: &str) -> PathBuf {
    let root = lab.var("LAB_ROOT").to_string();
    aws.config_variant(name, |t| {
        format!(
            "{t}[environments.prod.aws.ssh]\nbastion = \"lb\"\nconfig = \"{}\"\nport = 2222\n{ssh_extra}\n\
             [environments.prod.aws.deploys]\nreleases_dir = \"{root}/hosts/{{host}}/app/releases\"\n\
             health_check = \"curl -fsS -m 2 -o /dev/null http://{{private_ip}}:8080/health\"\n\
             [environments.prod.guards]\nhealth_timeout_seconds = 5\n",
            ssh_config.display()
        )
    })
}

fn current(lab: &Lab, backend: &str) -> String {
    let key = format!("LAB_CURRENT_{}", backend.to_uppercase().replace('-', "_"));
    let target = std::fs::read_link(lab.var(&key)).expect("current symlink");
    target
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// (action, backend) of every ELB register/deregister, in order.
fn pool_changes(aws: &AwsLab, rec: &[Recorded]) -> Vec<(String, String)> {
    rec.iter()
        .filter(|r| r.action == "DeregisterTargets" || r.action == "RegisterTargets")
        .map(|r| {
            let name = BACKENDS
                .iter()
                .find(|b| {
                    let id = aws.var(&format!(
                        "INSTANCE_ID_{}",
                        b.to_uppercase().replace('-', "_")
                    ));
                    r.body.contains(&format!("Targets.member.1.Id={id}"))
                })
                .map_or("?", |b| b);
            (r.action.clone(), name.to_string())
        })
        .collect()
}

#[test]
fn aws_rollback_goes_az_by_az_backend_by_backend_over_ssh_through_the_bastion() {
    let Some((aws, lab)) =
        labs("aws_rollback_goes_az_by_az_backend_by_backend_over_ssh_through_the_bastion")
    else {
        return;
    };
    let cfg = config(
        &aws,
        &lab,
        "rollback.toml",
        Path::new(lab.var("LAB_SSH_CONFIG")),
        "",
    );
    let _fence = only_via_bastion();
    // The history and the running version come from the release directories.
    let (_, status, err, _) = aws.status_with(&cfg);
    for b in BACKENDS {
        assert_eq!(host(&status, b)["version"], "v42", "{b}: {err}");
    }
    aws.reset_recorder();
    let (code, out, err) = aws.opsdeck_with(
        &cfg,
        &["do", "rollback-deploy", "web", "--version", "v40", "--yes"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✔ succeeded (verified)"), "{out}");
    let rec = aws.recording();
    let d = |b: &str| ("DeregisterTargets".to_string(), b.to_string());
    let r = |b: &str| ("RegisterTargets".to_string(), b.to_string());
    assert_eq!(
        pool_changes(&aws, &rec),
        vec![
            d("web-a1"),
            r("web-a1"),
            d("web-a2"),
            r("web-a2"),
            d("web-c1"),
            r("web-c1"),
            d("web-c2"),
            r("web-c2")
        ],
        "one AZ at a time, one backend at a time: {:?}",
        summary(&rec)
    );
    for b in BACKENDS {
        assert_eq!(current(&lab, b), "v40", "{b}'s current symlink");
    }
    let (_, status, _, _) = aws.status_with(&cfg);
    for b in BACKENDS {
        assert_eq!(host(&status, b)["version"], "v40", "{b}");
        assert_eq!(host(&status, b)["target_state"], "active", "{b}");
    }
}

#[test]
fn aws_a_broken_release_stops_at_the_first_backend_which_stays_deregistered() {
    let Some((aws, lab)) =
        labs("aws_a_broken_release_stops_at_the_first_backend_which_stays_deregistered")
    else {
        return;
    };
    let cfg = config(
        &aws,
        &lab,
        "broken.toml",
        Path::new(lab.var("LAB_SSH_CONFIG")),
        "",
    );
    let _fence = only_via_bastion();
    // v41 has a FAILED marker: refused by the guard unless overridden.
    let (code, out, _) = aws.opsdeck_with(
        &cfg,
        &["do", "rollback-deploy", "web", "--version", "v41", "--yes"],
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("refused by guard 'failed-version'"), "{out}");
    aws.reset_recorder();
    let (code, out, err) = aws.opsdeck_with(
        &cfg,
        &[
            "do",
            "rollback-deploy",
            "web",
            "--version",
            "v41",
            "--yes",
            "--override-guard",
            "--confirm",
            "web",
        ],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("web-a1") && out.contains("not healthy on v41"),
        "the verdict names the backend and why: {out}"
    );
    let rec = aws.recording();
    assert_eq!(
        pool_changes(&aws, &rec),
        vec![("DeregisterTargets".to_string(), "web-a1".to_string())],
        "only web-a1 left the pool, and it was not put back: {:?}",
        summary(&rec)
    );
    assert_eq!(current(&lab, "web-a1"), "v41");
    for b in ["web-a2", "web-c1", "web-c2"] {
        assert_eq!(current(&lab, b), "v42", "{b} kept its version");
    }
    let (_, status, _, _) = aws.status_with(&cfg);
    assert_eq!(host(&status, "web-a1")["target_state"], "drained");
    // Out of the pool, judged by the health check on the instance.
    assert_eq!(host(&status, "web-a1")["health"], "down");
    assert_eq!(host(&status, "web-a2")["target_state"], "active");
}

#[test]
fn aws_rollback_without_ssh_config_is_refused_and_sends_nothing() {
    let Some(aws) = aws_or_skip("aws_rollback_without_ssh_config_is_refused_and_sends_nothing")
    else {
        return;
    };
    // No [aws.deploys]: refused with what to configure, before any change.
    let (code, out, err) =
        aws.opsdeck(&["do", "rollback-deploy", "web", "--version", "v40", "--yes"]);
    let text = format!("{out}{err}");
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("[environments.prod.aws.deploys]")
            && text.contains("[environments.prod.aws.ssh]")
            && text.contains("nothing was sent"),
        "{text}"
    );
    let writes: Vec<Recorded> = aws.recording().into_iter().filter(|r| !r.reads()).collect();
    assert!(writes.is_empty(), "refused, yet sent {writes:?}");
    // [aws.deploys] without [aws.ssh]: the config is refused, naming the key.
    aws.reset_recorder();
    let cfg = aws.config_variant("no-ssh.toml", |t| {
        format!("{t}[environments.prod.aws.deploys]\nreleases_dir = \"/srv/app/releases\"\nhealth_check = \"true\"\n")
    });
    let (code, out, err) = aws.opsdeck_with(&cfg, &["do", "rollback-deploy", "web", "--yes"]);
    let text = format!("{out}{err}");
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("environments.prod.aws.deploys needs [environments.prod.aws.ssh]")
            && text.contains("no-ssh.toml"),
        "{text}"
    );
    assert!(aws.recording().is_empty(), "nothing reached AWS");
}

#[test]
fn aws_ssh_open_goes_through_the_bastion_to_the_private_ip_not_the_name() {
    let Some((aws, lab)) =
        labs("aws_ssh_open_goes_through_the_bastion_to_the_private_ip_not_the_name")
    else {
        return;
    };
    let Some(t) = tmux_or_skip("aws-ssh-open") else {
        return;
    };
    // A decoy: the instance's Name is also a Host of the ssh config, pointing
    // at web-c2's sshd. The instance is web-a1 = i-… = 127.0.1.11.
    let real = std::fs::read_to_string(lab.var("LAB_SSH_CONFIG")).expect("ssh config");
    let ssh_config =
        std::env::temp_dir().join(format!("opsdeck-it-aws-ssh-{}", std::process::id()));
    std::fs::write(
        &ssh_config,
        format!("Host web-a1\n  HostName 127.0.2.12\n  Port 2222\n\n{real}"),
    )
    .expect("write");
    let cfg = config(&aws, &lab, "ssh-open.toml", &ssh_config, "");
    let _fence = only_via_bastion();
    aws.console(&t, &cfg, "");
    t.type_text(":");
    std::thread::sleep(Duration::from_millis(100));
    t.type_text("ssh-open web-a1");
    t.keys(&["Enter"]);
    t.wait_for("ssh-open web-a1", Duration::from_secs(5));
    t.type_text("y");
    t.wait_gone("1 Overview", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    t.type_text("echo on-$LAB_HOST-at-$(echo $SSH_CONNECTION | cut -d' ' -f3)-$(hostname)");
    t.keys(&["Enter"]);
    let screen = t.wait_for("-at-127.", Duration::from_secs(10));
    let _ = std::fs::remove_file(&ssh_config);
    assert!(
        screen.contains("on-web-a1-at-127.0.1.11-"),
        "the session runs on web-a1's private IP, not the decoy:\n{screen}"
    );
    assert!(!screen.contains("on-web-c2"), "{screen}");
    t.type_text("exit");
    t.keys(&["Enter"]);
    t.wait_for("SSH session on web-a1 ended", Duration::from_secs(10));
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
}

#[test]
fn aws_an_unknown_instance_host_key_is_refused_with_its_fingerprint() {
    let Some((aws, lab)) = labs("aws_an_unknown_instance_host_key_is_refused_with_its_fingerprint")
    else {
        return;
    };
    // known_hosts for the instances that knows none of them (the bastion's
    // own comes from the ssh config, and is known).
    let known = std::env::temp_dir().join(format!("opsdeck-it-aws-kh-{}", std::process::id()));
    std::fs::write(&known, "").expect("write");
    let cfg = config(
        &aws,
        &lab,
        "unknown-key.toml",
        Path::new(lab.var("LAB_SSH_CONFIG")),
        &format!("known_hosts = \"{}\"", known.display()),
    );
    let fingerprint = lab.sh(&format!(
        "ssh-keygen -lf {}/ssh/host_keys/web-a1.pub | cut -d' ' -f2",
        lab.var("LAB_ROOT")
    ));
    let (_, status, err, _) = aws.status_with(&cfg);
    let errors = status["errors"].to_string();
    assert!(
        errors.contains(&format!("unknown host key {}", fingerprint.trim())),
        "web-a1's key is refused, named by its fingerprint: {errors}\n{err}"
    );
    assert!(
        host(&status, "web-a1")["version"].is_null(),
        "unknown, not guessed"
    );
    assert_eq!(
        std::fs::read_to_string(&known).expect("read"),
        "",
        "nothing was trusted silently"
    );
    // Rollback cannot read the history: refused before any change.
    aws.reset_recorder();
    let (code, out, err) = aws.opsdeck_with(
        &cfg,
        &["do", "rollback-deploy", "web", "--version", "v40", "--yes"],
    );
    assert_ne!(code, Some(0), "{out}{err}");
    let writes: Vec<Recorded> = aws.recording().into_iter().filter(|r| !r.reads()).collect();
    assert!(writes.is_empty(), "{writes:?}");
    let _ = std::fs::remove_file(&known);
}
