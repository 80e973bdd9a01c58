//! ELBv2 hangs in the middle of a drain: a proxy on loopback passes the
//! ELBv2 calls to moto, then stops answering (accepts and holds every
//! connection, forwards nothing more). The drain ends with a clear verdict
//! naming the hung service, and the target's state as last seen.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{aws_or_skip, summary};

/// Forwards to `upstream` until `hang` is set; from then on it accepts and
/// never answers, and stops passing bytes on open connections.
fn proxy(upstream: String, hang: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            if hang.load(Ordering::SeqCst) {
                held.push(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                let hang = hang.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        while hang.load(Ordering::SeqCst) {
                            // Hung: hold what came, say nothing.
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    port
}

#[test]
fn aws_a_hung_elbv2_during_a_drain_ends_with_a_verdict_and_the_last_seen_state() {
    let Some(mut lab) =
        aws_or_skip("aws_a_hung_elbv2_during_a_drain_ends_with_a_verdict_and_the_last_seen_state")
    else {
        return;
    };
    lab.seed(&["--dereg-delay", "60"]);
    let hang = Arc::new(AtomicBool::new(false));
    let upstream = lab.moto_url().trim_start_matches("http://").to_string();
    let port = proxy(upstream, hang.clone());
    let config = lab.config_with_aws_line(
        "elbv2-proxy.toml",
        &format!("endpoints = {{ elbv2 = \"http://127.0.0.1:{port}\" }}"),
    );
    let child = lab
        .command(&config, &["do", "drain-backend", "web-a1", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("drain");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !lab
        .recording()
        .iter()
        .any(|r| r.action == "DeregisterTargets")
    {
        assert!(Instant::now() < deadline, "the drain never deregistered");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Draining now (60 s delay): ELBv2 stops answering.
    std::thread::sleep(Duration::from_millis(1500));
    hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let out = child.wait_with_output().expect("drain ends");
    let took = started.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the drain fails, verdict given:\n{text}"
    );
    assert!(
        text.contains("aws elbv2"),
        "names the hung service:\n{text}"
    );
    assert!(
        text.contains("last seen draining"),
        "the state as last seen:\n{text}"
    );
    // Bounded by the observation's own timeout, not the 60 s delay.
    assert!(took < Duration::from_secs(30), "ended in {took:?}");
    let rec = lab.recording();
    let deregs = rec
        .iter()
        .filter(|r| r.action == "DeregisterTargets")
        .count();
    assert_eq!(deregs, 1, "{:?}", summary(&rec));
}
