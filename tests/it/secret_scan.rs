//! The webhook URL is a secret: with a canary token in it and nothing
//! listening, an operation's announcement fails on purpose, and the canary
//! must appear nowhere the binary writes (stdout, stderr, the audit log,
//! opsdeck.log, any file under its state and data directories).

use std::path::Path;
use std::process::Command;

use super::e2e_tmux::binary;

fn run(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(binary())
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        // Everything the log can say, said.
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .env_remove("OPSDECK_READ_ONLY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run opsdeck");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_containing(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle)) {
            found.push(p.display().to_string());
        }
    }
    found
}

fn dead_url(canary: &str) -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    format!("http://{addr}/api/webhooks/{canary}/hook?token={canary}")
}

fn scan(home: &Path, canary: &str, what: &str, (code, out, err): (Option<i32>, String, String)) {
    assert_eq!(code, Some(0), "{what}: {out}{err}");
    assert!(
        out.contains("note: webhook 127.0.0.1"),
        "{what}: the webhook failed on purpose and said so: {out}"
    );
    assert!(
        !out.contains(canary),
        "{what}: stdout has the canary:\n{out}"
    );
    assert!(
        !err.contains(canary),
        "{what}: stderr has the canary:\n{err}"
    );
    assert!(
        home.join("data/opsdeck/audit.jsonl").exists(),
        "{what}: the audit log was written"
    );
    assert!(
        files_containing(&home.join("state"), "webhook").len()
            + files_containing(&home.join("data"), "webhook").len()
            > 0,
        "{what}: the failure was recorded somewhere"
    );
    for dir in ["state", "data"] {
        let leaks = files_containing(&home.join(dir), canary);
        assert!(leaks.is_empty(), "{what}: the canary is in {leaks:?}");
    }
    let (_, audit, _) = run(home, &["audit"], &[]);
    assert!(
        !audit.contains(canary),
        "{what}: `opsdeck audit` shows it:\n{audit}"
    );
}

#[test]
fn a_failing_webhook_never_leaks_its_url_by_reference_or_inline() {
    let canary = format!("CANARY-{}-5ec7e7", std::process::id());

    // By reference: the URL lives in an environment variable.
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("config/opsdeck")).expect("config dir");
    std::fs::write(
        home.path().join("config/opsdeck/config.toml"),
        "[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\nwebhook_url = { env = \"OPSDECK_TEST_WEBHOOK\" }\n",
    )
    .expect("config");
    let url = dead_url(&canary);
    let result = run(
        home.path(),
        &["do", "drain-backend", "web-a1", "--yes"],
        &[("OPSDECK_TEST_WEBHOOK", &url)],
    );
    scan(home.path(), &canary, "by reference", result);
    let (code, out, _) = run(home.path(), &["check"], &[("OPSDECK_TEST_WEBHOOK", &url)]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        !out.contains("warning"),
        "a reference is not warned about: {out}"
    );
    // A reference to a variable that is not set is named, and nothing runs.
    let (code, out, err) = run(
        home.path(),
        &["do", "drain-backend", "web-a2", "--yes"],
        &[],
    );
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("OPSDECK_TEST_WEBHOOK is not set")
            || out.contains("OPSDECK_TEST_WEBHOOK is not set"),
        "{out}{err}"
    );

    // Inline: still works, `opsdeck check` warns, and nothing leaks either.
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("config/opsdeck")).expect("config dir");
    let url = dead_url(&canary);
    std::fs::write(
        home.path().join("config/opsdeck/config.toml"),
        format!("[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\nwebhook_url = \"{url}\"\n"),
    )
    .expect("config");
    let result = run(
        home.path(),
        &["do", "drain-backend", "web-c1", "--yes"],
        &[],
    );
    scan(home.path(), &canary, "inline", result);
    let (_, out, err) = run(home.path(), &["check"], &[]);
    assert!(
        out.contains("warning:") && out.contains("webhook_url is written inline"),
        "{out}{err}"
    );
    assert!(
        !out.contains(&canary) && !err.contains(&canary),
        "{out}{err}"
    );
}

#[test]
fn a_failing_webhook_never_shows_its_url_on_the_console() {
    use super::e2e_tmux::tmux_or_skip;
    use std::time::{Duration, Instant};
    let Some(t) = tmux_or_skip("secret-scan") else {
        return;
    };
    let canary = format!("CANARY-{}-7e1e", std::process::id());
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("config/opsdeck")).expect("config dir");
    std::fs::write(
        home.path().join("config/opsdeck/config.toml"),
        format!(
            "[environments.demo]\nprovider = \"demo\"\nscenario = \"calm\"\nwebhook_url = \"{}\"\n",
            dead_url(&canary)
        ),
    )
    .expect("config");
    t.start_shell(120, 40);
    // The command line itself must not carry the canary: it is in the config.
    t.type_text(&format!(
        "XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config {}",
        binary(),
        d = home.path().display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    t.type_text("d");
    t.wait_for("Confirm", Duration::from_secs(5));
    t.type_text("y");
    // Every screen until the verdict: the failure shows, the URL never does.
    let (mut saw_webhook, mut done) = (false, false);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) && !(done && saw_webhook) {
        let screen = t.screen();
        assert!(
            !screen.contains(&canary),
            "the console shows the canary:\n{screen}"
        );
        saw_webhook |= screen.contains("webhook 127.0.0.1");
        done |= screen.contains("verified");
        if done && !saw_webhook {
            // The note may sit in the operations panel.
            t.type_text("o");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = t.screen();
    t.type_text("q");
    assert!(done, "the drain finished:\n{screen}");
    assert!(saw_webhook, "the webhook's failure was shown:\n{screen}");
    for dir in ["state", "data"] {
        let leaks = files_containing(&home.path().join(dir), &canary);
        assert!(leaks.is_empty(), "the canary is in {leaks:?}");
    }
}
