//! Tests of the SSH layer against a real OpenSSH server on 127.0.0.1 (see
//! `test_sshd`). Each test starts its own server and skips, saying why, if
//! sshd cannot run here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ssh_config::SshConfig;
use super::ssh_connection::SshConnection;
use super::ssh_error::SshError;
use super::ssh_pool::SshPool;
use super::ssh_target::StrictHostKeyChecking;
use super::test_sshd::TestSshd;

macro_rules! sshd_or_skip {
    () => {
        match TestSshd::start() {
            Ok(server) => server,
            Err(reason) => {
                eprintln!("skipped: {reason}");
                return;
            }
        }
    };
}

async fn connect(server: &TestSshd) -> SshConnection {
    SshConnection::connect(&server.target("lab"))
        .await
        .expect("connects to the test sshd")
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_returns_stdout_stderr_and_status() {
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let out = conn
        .exec("echo out; echo err >&2; exit 3", Duration::from_secs(5))
        .await
        .expect("exec");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.status, Some(3));
    let ok = conn
        .exec("printf 'a\\nb'", Duration::from_secs(5))
        .await
        .expect("exec");
    assert!(ok.success());
    assert_eq!(ok.stdout, "a\nb");
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_times_out_instead_of_hanging() {
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let started = Instant::now();
    let err = conn
        .exec("sleep 10", Duration::from_secs(1))
        .await
        .expect_err("must time out");
    let took = started.elapsed();
    assert!(
        matches!(&err, SshError::Timeout { host, after_ms: 1000, .. } if host == "lab"),
        "{err:?}"
    );
    eprintln!("exec timeout of 1 s returned after {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(err.to_string().contains("sleep 10"), "{err}");
    // The connection is still good afterwards.
    let out = conn
        .exec("echo still here", Duration::from_secs(5))
        .await
        .expect("exec");
    assert_eq!(out.stdout, "still here\n");
}

/// Waits for the next line, at most `within`.
async fn next_line(
    rx: &mut tokio::sync::mpsc::Receiver<String>,
    within: Duration,
) -> Option<String> {
    tokio::time::timeout(within, rx.recv()).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_lines_delivers_an_appended_line_within_a_second() {
    let server = sshd_or_skip!();
    let log = server.shared_file("app.log", "ready\n").expect("log file");
    let conn = connect(&server).await;
    let mut rx = conn
        .stream_lines(&format!("tail -n +1 -F {}", log.display()))
        .await
        .expect("stream");
    // `ready` proves tail has the file open before we append.
    assert_eq!(
        next_line(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some("ready")
    );
    let mut latencies = Vec::new();
    for i in 0..3 {
        let line = format!("GET /health 200 #{i}");
        let appended = Instant::now();
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("open log");
            writeln!(f, "{line}").expect("append");
        }
        let got = next_line(&mut rx, Duration::from_secs(3)).await;
        let latency = appended.elapsed();
        assert_eq!(got.as_deref(), Some(line.as_str()));
        latencies.push(latency);
    }
    eprintln!("tail -F latency (append -> line received): {latencies:?}");
    for l in &latencies {
        assert!(*l < Duration::from_secs(1), "latency {l:?}");
    }
    // Dropping the receiver stops the remote tail; the connection lives on.
    drop(rx);
    let out = conn
        .exec("echo ok", Duration::from_secs(5))
        .await
        .expect("exec");
    assert_eq!(out.stdout, "ok\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_closes_when_the_command_ends() {
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let mut rx = conn
        .stream_lines("printf 'a\\r\\nb\\nc'")
        .await
        .expect("stream");
    let mut lines = Vec::new();
    while let Some(l) = next_line(&mut rx, Duration::from_secs(5)).await {
        lines.push(l);
    }
    assert_eq!(lines, vec!["a", "b", "c"]);
}

fn pool_config(server: &TestSshd) -> SshConfig {
    let text = format!(
        "Host lab\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {key}\n  \
         UserKnownHostsFile {kh}\n  ServerAliveInterval 5\n  ConnectTimeout 5\n\
         Host lab-behind-jump\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
         IdentityFile {key}\n  UserKnownHostsFile {kh}\n  ProxyJump {user}@127.0.0.1:{port}\n\
         Host 127.0.0.1\n  IdentityFile {key}\n  UserKnownHostsFile {kh}\n",
        port = server.port,
        user = server.user,
        key = server.client_key.display(),
        kh = server.known_hosts.display(),
    );
    SshConfig::parse(&text, std::path::Path::new("test-config")).expect("config parses")
}

#[tokio::test(flavor = "multi_thread")]
async fn pool_shares_one_connection_between_exec_and_stream() {
    let server = sshd_or_skip!();
    let log = server
        .shared_file("shared.log", "ready\n")
        .expect("log file");
    let pool = SshPool::new(pool_config(&server));
    let (a, b) = tokio::join!(pool.get("lab"), pool.get("lab"));
    let (a, b) = (a.expect("get"), b.expect("get"));
    assert!(Arc::ptr_eq(&a, &b), "one connection per host");

    let mut rx = a
        .stream_lines(&format!("tail -n +1 -F {}", log.display()))
        .await
        .expect("stream");
    assert_eq!(
        next_line(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some("ready")
    );
    // While the stream runs, exec on the same connection.
    let c = pool.get("lab").await.expect("get");
    assert!(Arc::ptr_eq(&a, &c));
    let command = format!("echo from-exec >> {}; echo done", log.display());
    let out = c
        .exec(&command, Duration::from_secs(5))
        .await
        .expect("exec during stream");
    assert_eq!(out.stdout, "done\n");
    assert_eq!(
        next_line(&mut rx, Duration::from_secs(3)).await.as_deref(),
        Some("from-exec")
    );

    // After a drop, the next get reconnects; the old stream has ended.
    a.close().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while !a.is_closed() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(a.is_closed());
    assert_eq!(
        next_line(&mut rx, Duration::from_secs(3)).await,
        None,
        "stream closed with the connection"
    );
    let d = pool.get("lab").await.expect("reconnects");
    assert!(!Arc::ptr_eq(&a, &d));
    assert_eq!(
        d.exec("echo again", Duration::from_secs(5))
            .await
            .expect("exec")
            .stdout,
        "again\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_host_key_is_refused_with_the_ssh_keygen_fingerprint() {
    let server = sshd_or_skip!();
    let expected = server.fingerprint_by_ssh_keygen().expect("ssh-keygen -lf");
    let mut target = server.target("lab");
    let empty = server.dir.path().join("empty_known_hosts");
    target.known_hosts = vec![empty.clone()];
    let err = SshConnection::connect(&target)
        .await
        .expect_err("unknown key refused");
    let SshError::UnknownHostKey {
        host,
        fingerprint,
        presented,
    } = &err
    else {
        panic!("expected UnknownHostKey, got {err:?}");
    };
    assert_eq!(host, "lab");
    assert_eq!(fingerprint, &expected);
    assert_eq!(presented.host_port, format!("[127.0.0.1]:{}", server.port));
    assert_eq!(presented.known_hosts, empty);
    let text = err.to_string();
    assert!(text.contains("can't be established"), "{text}");
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("opsdeck ssh-trust lab"), "{text}");

    // The user says yes: trust, then the same target connects.
    presented.trust().expect("trust");
    let conn = SshConnection::connect(&target).await.expect("trusted now");
    assert_eq!(
        conn.exec("echo in", Duration::from_secs(5))
            .await
            .expect("exec")
            .stdout,
        "in\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_new_records_the_key() {
    let server = sshd_or_skip!();
    let mut target = server.target("lab");
    let file = server.dir.path().join("kh_accept_new");
    target.known_hosts = vec![file.clone()];
    target.strict_host_key_checking = StrictHostKeyChecking::AcceptNew;
    SshConnection::connect(&target)
        .await
        .expect("accept-new connects");
    let text = std::fs::read_to_string(&file).expect("recorded");
    assert!(
        text.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", server.port)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_host_key_is_refused_naming_file_and_line() {
    let server = sshd_or_skip!();
    let expected_got = server.fingerprint_by_ssh_keygen().expect("ssh-keygen -lf");
    // Another key, recorded for this host:port on line 3.
    let other = server.dir.path().join("other_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).expect("pub");
    let other_fields: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    let kh = server.dir.path().join("kh_changed");
    std::fs::write(
        &kh,
        format!(
            "# fleet keys\nweb-a1 {k}\n[127.0.0.1]:{port} {k}\n",
            k = other_fields.join(" "),
            port = server.port
        ),
    )
    .expect("write known_hosts");
    let mut target = server.target("lab");
    target.known_hosts = vec![kh.clone()];
    // Even `no` refuses a changed key.
    target.strict_host_key_checking = StrictHostKeyChecking::No;
    let err = SshConnection::connect(&target)
        .await
        .expect_err("changed key refused");
    match &err {
        SshError::ChangedHostKey {
            host,
            expected_fingerprint,
            got_fingerprint,
            file,
            line,
        } => {
            assert_eq!(host, "lab");
            assert_eq!(file, &kh);
            assert_eq!(*line, 3);
            assert_eq!(got_fingerprint, &expected_got);
            assert_ne!(expected_fingerprint, got_fingerprint);
        }
        other => panic!("expected ChangedHostKey, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("{}:3", kh.display())), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pty_session_runs_a_shell() {
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let mut pty = conn.open_pty("xterm-256color", 100, 30).await.expect("pty");
    pty.write(b"echo $((6*7))\n").await.expect("write");
    pty.resize(120, 40).await.expect("resize");
    pty.write(b"stty size\n").await.expect("write");
    pty.write(b"exit\n").await.expect("write");
    let mut output = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = pty.read().await {
            output.extend_from_slice(&chunk);
        }
    })
    .await;
    assert!(
        collected.is_ok(),
        "session did not end: {}",
        String::from_utf8_lossy(&output)
    );
    let text = String::from_utf8_lossy(&output);
    // The echo of the typed line shows `$((6*7))`; the answer follows
    // (after a prompt, if the shell printed one first).
    assert!(
        text.lines()
            .any(|l| l.trim_end().ends_with("42") && !l.contains("6*7")),
        "{text}"
    );
    assert!(
        text.contains("40 120"),
        "window change reached the PTY: {text}"
    );
    assert_eq!(pty.exit_status(), Some(0));
    assert!(pty.ended());
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_jump_through_a_bastion() {
    let server = sshd_or_skip!();
    // The server jumps to itself: the inner connection runs inside a
    // direct-tcpip channel of the outer one.
    let mut target = server.target("behind");
    target.proxy_jump = Some(Box::new(server.target("bastion")));
    let conn = SshConnection::connect(&target)
        .await
        .expect("connects via jump");
    let out = conn
        .exec(
            "echo via-jump; echo $SSH_CONNECTION",
            Duration::from_secs(5),
        )
        .await
        .expect("exec");
    assert!(out.stdout.starts_with("via-jump\n"), "{}", out.stdout);

    // The same through the config and the pool; the bastion connection is
    // pooled too.
    let pool = SshPool::new(pool_config(&server));
    let behind = pool.get("lab-behind-jump").await.expect("get via jump");
    assert_eq!(
        behind.target().proxy_jump.as_ref().map(|j| j.port),
        Some(server.port)
    );
    let out = behind
        .exec("echo pooled", Duration::from_secs(5))
        .await
        .expect("exec");
    assert_eq!(out.stdout, "pooled\n");
    let again = pool.get("lab-behind-jump").await.expect("get");
    assert!(Arc::ptr_eq(&behind, &again));
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_failures_say_what_was_tried() {
    let server = sshd_or_skip!();
    let d = server.dir.path();
    for (name, pass) in [("stranger", ""), ("locked", "s3cret")] {
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", pass, "-f"])
            .arg(d.join(name))
            .status()
            .expect("ssh-keygen");
        assert!(status.success());
    }
    let mut target = server.target("lab");
    target.identity_files = vec![d.join("missing"), d.join("stranger"), d.join("locked")];
    // A developer's ssh-agent, if any, is tried first and rejected too.
    let err = SshConnection::connect(&target)
        .await
        .expect_err("no accepted key");
    let SshError::Auth { host, user, detail } = &err else {
        panic!("expected Auth, got {err:?}");
    };
    assert_eq!(host, "lab");
    assert_eq!(user, &server.user);
    assert!(detail.contains("stranger: rejected"), "{detail}");
    assert!(
        detail.contains("locked: encrypted with a passphrase"),
        "{detail}"
    );
    assert!(detail.contains("ssh-add"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_a_closed_port_fails_naming_the_host() {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let target = super::ssh_target::SshTarget::new("dead", "127.0.0.1", port, "nobody");
    let err = SshConnection::connect(&target)
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(&err, SshError::Connect { host, .. } if host == "dead"),
        "{err:?}"
    );
}

/// The child half of `run_interactive_in_a_real_terminal`: runs only inside
/// the tmux pane that test starts (the variable names the server).
#[tokio::test(flavor = "multi_thread")]
async fn interactive_child() {
    let Ok(spec) = std::env::var("OPSDECK_SSH_INTERACTIVE_CHILD") else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [port, user, key, known_hosts] = parts.as_slice() else {
        panic!("bad spec {spec}");
    };
    let mut target =
        super::ssh_target::SshTarget::new("lab", "127.0.0.1", port.parse().expect("port"), user);
    target.identity_files = vec![key.into()];
    target.known_hosts = vec![known_hosts.into()];
    let conn = SshConnection::connect(&target).await.expect("connect");
    // Deliberately the wrong size: run_interactive sends the real one.
    let pty = conn.open_pty("xterm", 20, 5).await.expect("pty");
    let status = super::interactive::run_interactive(pty)
        .await
        .expect("interactive");
    let raw = crossterm::terminal::is_raw_mode_enabled().unwrap_or(true);
    println!("\nINTERACTIVE-EXIT {status:?} RAW {raw}");
}

/// `run_interactive` with a real terminal: a tmux pane (on a private tmux
/// server) runs `interactive_child`; keys typed into the pane reach the
/// remote shell, its output reaches the pane, a window resize reaches the
/// remote PTY, and the exit status comes back with raw mode off.
#[tokio::test(flavor = "multi_thread")]
async fn run_interactive_in_a_real_terminal() {
    let server = sshd_or_skip!();
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let socket = format!("opsdeck-ssh-test-{}", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    let spec = format!(
        "{}|{}|{}|{}",
        server.port,
        server.user,
        server.client_key.display(),
        server.known_hosts.display()
    );
    let command = format!(
        "env OPSDECK_SSH_INTERACTIVE_CHILD='{spec}' {} --exact providers::ssh::sshd_tests::interactive_child --nocapture --test-threads 1",
        exe.display()
    );
    tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    tmux(&["set-option", "-g", "remain-on-exit", "on"]);
    let screen = || tmux(&["capture-pane", "-p", "-t", "t", "-S", "-100"]);
    let wait_until = |done: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = screen();
            if done(&s) {
                return Ok(s);
            }
            if Instant::now() > deadline {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let wait_for = |needle: &str| wait_until(&|s: &str| s.contains(needle));
    let result = (|| {
        // capture-pane trims the space after the `$` prompt.
        wait_until(&|s: &str| s.lines().any(|l| l.trim_end().ends_with('$')))
            .map_err(|s| format!("no prompt:\n{s}"))?;
        tmux(&["send-keys", "-t", "t", "stty size", "Enter"]);
        wait_for("30 100").map_err(|s| format!("initial size not sent:\n{s}"))?;
        tmux(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
        std::thread::sleep(Duration::from_millis(300));
        tmux(&["send-keys", "-t", "t", "stty size", "Enter"]);
        wait_for("40 120").map_err(|s| format!("resize not forwarded:\n{s}"))?;
        tmux(&["send-keys", "-t", "t", "echo $((6*7))", "Enter"]);
        wait_for("\n42").map_err(|s| format!("no 42:\n{s}"))?;
        tmux(&["send-keys", "-t", "t", "exit 3", "Enter"]);
        wait_for("INTERACTIVE-EXIT").map_err(|s| format!("did not end:\n{s}"))
    })();
    tmux(&["kill-server"]);
    let screen = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        screen.contains("INTERACTIVE-EXIT Some(3) RAW false"),
        "{screen}"
    );
}

/// Every process under `pid` (children, grandchildren, ...), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(next) = frontier.pop() {
        for (p, pp) in &parent_of {
            if *pp == next {
                out.push(*p);
                frontier.push(*p);
            }
        }
    }
    out
}

fn signal_all(pids: &[u32], sig: &str) {
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status();
    }
}

/// A peer that stops answering (its session processes frozen with
/// SIGSTOP) is noticed by keepalives: the stream closes and the
/// connection reports closed, so the pool reconnects.
#[tokio::test(flavor = "multi_thread")]
async fn keepalive_notices_a_frozen_peer() {
    let server = sshd_or_skip!();
    let log = server
        .shared_file("frozen.log", "ready\n")
        .expect("log file");
    let mut target = server.target("lab");
    target.keepalive_secs = 1;
    target.keepalive_max = 2;
    let conn = SshConnection::connect(&target).await.expect("connect");
    let mut rx = conn
        .stream_lines(&format!("tail -n +1 -F {}", log.display()))
        .await
        .expect("stream");
    assert_eq!(
        next_line(&mut rx, Duration::from_secs(5)).await.as_deref(),
        Some("ready")
    );
    // Freeze this connection's sshd processes, not the listener.
    let frozen = descendants(server.pid());
    assert!(!frozen.is_empty(), "no session processes under sshd");
    signal_all(&frozen, "STOP");
    let started = Instant::now();
    let ended = next_line(&mut rx, Duration::from_secs(10)).await;
    let took = started.elapsed();
    signal_all(&frozen, "CONT");
    assert_eq!(ended, None, "the stream ends");
    eprintln!("frozen peer noticed after {took:?} (keepalive 1 s x 2)");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(conn.is_closed());
}

/// A command held open: it says it is ready, gets heartbeats on stdin, ends
/// when released; a command that ends first is reported as ended.
#[tokio::test(flavor = "multi_thread")]
async fn held_command_gets_heartbeats_and_ends_when_released() {
    use super::held_command::HoldStart;
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let script = "echo READY; n=0; \
                  while b=$(timeout 3 head -c 5) && [ -n \"$b\" ]; do n=$((n+1)); done; \
                  echo beats=$n";
    let held = match conn
        .hold(
            script,
            "READY",
            Duration::from_millis(200),
            Duration::from_secs(5),
        )
        .await
        .expect("hold")
    {
        HoldStart::Held(h) => h,
        HoldStart::Ended(out) => panic!("ended before ready: {out:?}"),
    };
    assert!(held.started_output.contains("READY"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!held.has_ended(), "heartbeats keep it running");
    let out = held
        .release(Duration::from_secs(5))
        .await
        .expect("released");
    assert_eq!(out.status, Some(0), "{out:?}");
    let beats: u32 = out
        .stdout
        .trim()
        .strip_prefix("beats=")
        .and_then(|n| n.parse().ok())
        .expect("beats=N");
    assert!(beats >= 3, "heartbeats arrived: {beats}");

    match conn
        .hold(
            "echo nope >&2; exit 3",
            "READY",
            Duration::from_secs(1),
            Duration::from_secs(5),
        )
        .await
        .expect("runs")
    {
        HoldStart::Ended(out) => {
            assert_eq!(out.status, Some(3));
            assert_eq!(out.stderr, "nope\n");
        }
        HoldStart::Held(_) => panic!("it never said READY"),
    }
}

/// Without heartbeats (a console that hangs or drops the handle), the held
/// command lets go on its own after its timeout.
#[tokio::test(flavor = "multi_thread")]
async fn held_command_lets_go_when_heartbeats_stop() {
    use super::held_command::HoldStart;
    let server = sshd_or_skip!();
    let conn = connect(&server).await;
    let mark = std::env::temp_dir().join(format!(
        "opsdeck-held-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let _ = std::fs::remove_file(&mark);
    let script = format!(
        "echo READY; while b=$(timeout 2 head -c 5) && [ -n \"$b\" ]; do :; done; echo gone > {}",
        mark.display()
    );
    let held = match conn
        // A heartbeat far slower than the remote timeout.
        .hold(
            &script,
            "READY",
            Duration::from_secs(60),
            Duration::from_secs(5),
        )
        .await
        .expect("hold")
    {
        HoldStart::Held(h) => h,
        HoldStart::Ended(out) => panic!("ended before ready: {out:?}"),
    };
    let start = Instant::now();
    while !held.has_ended() && start.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(held.has_ended(), "it let go after missing heartbeats");
    assert!(mark.exists(), "and ran its clean-up");
    let _ = std::fs::remove_file(&mark);
    let err = held
        .release(Duration::from_secs(2))
        .await
        .expect_err("a lost hold is reported on release");
    assert!(err.to_string().contains("already ended"), "{err}");
}
