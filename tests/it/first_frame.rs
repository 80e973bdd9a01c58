//! The first frame comes first: the console draws as soon as the terminal is
//! ready, every panel saying it waits for data, and keys pressed while
//! sources have not answered are kept.

use std::time::Duration;

use crate::e2e_tmux::{binary, tmux_or_skip};

fn state_dir(test: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("opsdeck-ff-{}-{test}", std::process::id()))
}

/// Keys typed before the demo's history replay ends (50,000 log lines a
/// second) are not lost: the view switch typed at once is on screen.
#[test]
fn keys_typed_at_start_are_kept_while_the_demo_replays_its_history() {
    let Some(t) = tmux_or_skip("ff_keys") else {
        return;
    };
    t.start_shell(160, 40);
    let state = state_dir("keys");
    // The command and the key in one write: `2` reaches the terminal before
    // the console has read anything.
    t.type_text(&format!(
        "XDG_STATE_HOME={} XDG_CONFIG_HOME=/nonexistent {} --seed 5 --scenario calm --log-rate 50000",
        state.display(),
        binary()
    ));
    t.keys(&["Enter"]);
    t.type_text("2");
    let screen = t.wait_for("LATENCY", Duration::from_secs(60));
    assert!(screen.contains("db-replica"), "{screen}");
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(state);
}

/// A source that accepts connections and never answers: the console is on
/// screen (status bar, views, panels saying they wait) while every call to it
/// is still open, answers keys, and quits at once.
#[cfg(feature = "aws")]
#[test]
fn the_console_draws_and_answers_keys_while_its_only_source_hangs() {
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let Some(t) = tmux_or_skip("ff_hung") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(Mutex::new(Vec::new()));
    {
        let accepted = accepted.clone();
        let held = held.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                // Read the request so the client is not refused, answer nothing.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                held.lock().expect("held").push(stream);
            }
        });
    }
    let state = state_dir("hung");
    std::fs::create_dir_all(&state).expect("state dir");
    let config = state.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"default_environment = "hung"
[environments.hung]
provider = "aws"
region = "eu-west-1"
azs = ["eu-west-1a", "eu-west-1c"]
[environments.hung.aws]
endpoint_url = "http://127.0.0.1:{port}"
max_attempts = 1
timeout_ms = 120000
[environments.hung.aws.instances]
tags = {{ Environment = "hung" }}
[environments.hung.aws.alb]
target_groups = ["hung-web"]
[environments.hung.aws.rds]
instances = ["hung-db", "hung-db-replica"]
"#
        ),
    )
    .expect("write config");
    t.start_shell(160, 40);
    t.type_text(&format!(
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
         XDG_STATE_HOME={s} XDG_CONFIG_HOME={s} {bin} --config {c}; echo EXIT=$((40+2))-$?",
        s = state.display(),
        bin = binary(),
        c = config.display()
    ));
    t.keys(&["Enter"]);
    let screen = t.wait_for("waiting for data", Duration::from_secs(20));
    assert!(
        screen.contains("aws"),
        "the status bar names the source:\n{screen}"
    );
    assert!(
        !screen.contains("timed out") && !screen.contains("timeout"),
        "no call has ended yet, so nothing may say it timed out:\n{screen}"
    );
    assert!(
        accepted.load(Ordering::SeqCst) > 0,
        "the console asked the source (and is still waiting):\n{screen}"
    );
    // Keys work while every call hangs: views switch and help opens.
    t.type_text("2");
    t.wait_for("waiting for data", Duration::from_secs(5));
    t.type_text("?");
    let screen = t.wait_for(" Help: ", Duration::from_secs(5));
    assert!(screen.contains("Replication"), "{screen}");
    t.keys(&["Escape"]);
    t.wait_gone(" Help: ", Duration::from_secs(5));
    // Quitting does not wait for the hung calls (each may take two minutes).
    t.type_text("q");
    let screen = t.wait_for("EXIT=42-", Duration::from_secs(10));
    assert!(screen.contains("EXIT=42-0"), "{screen}");
    drop(held);
    let _ = std::fs::remove_dir_all(state);
}
