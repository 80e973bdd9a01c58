//! The upstream edit on the lab's nginx is atomic: whatever fails (a reload
//! after a passing `nginx -t`, the SSH session cut off in the middle), the
//! live file is always exactly the old one or the new one, and the verdict
//! says which.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opsdeck::providers::selfhosted::nginx_upstream::set_down;

use super::{Lab, lab_or_skip, who_answers};

const C1: &str = "127.0.2.11:8080";

/// Reads the live file as fast as it can until stopped: every read must be
/// exactly `old` or `new`. Returns (reads, saw the new one, strangers).
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, bool, Vec<String>)>>,
}

impl Watcher {
    fn start(file: &str, old: &str, new: &str) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, file, old, new) = (
            stop.clone(),
            file.to_string(),
            old.to_string(),
            new.to_string(),
        );
        let thread = std::thread::spawn(move || {
            let (mut reads, mut saw_new, mut strangers) = (0, false, Vec::new());
            // Bounded: a minute at most.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                match std::fs::read_to_string(&file) {
                    Ok(t) if t == old => {}
                    Ok(t) if t == new => saw_new = true,
                    Ok(t) => strangers.push(t),
                    Err(e) => strangers.push(format!("unreadable: {e}")),
                }
                reads += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            (reads, saw_new, strangers)
        });
        Watcher {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, bool, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or((
            0,
            false,
            vec!["watcher died".into()],
        ))
    }
}

fn upstream_dir(lab: &Lab) -> &Path {
    Path::new(lab.var("LAB_UPSTREAM_FILE"))
        .parent()
        .expect("dir")
}

/// The lab config with the load balancer's `key` command replaced.
fn with_command(lab: &Lab, name: &str, key: &str, command: &str) -> std::path::PathBuf {
    let real = match key {
        "reload_command" => lab.var("LAB_NGINX_RELOAD"),
        _ => lab.var("LAB_NGINX_TEST"),
    }
    .to_string();
    let wrapped = command.replace("{real}", &real);
    lab.config_variant(name, |text| {
        text.lines()
            .map(|l| {
                if l.starts_with(&format!("{key} = ")) {
                    format!("{key} = {}", toml_string(&wrapped))
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// After an edit that did not finish: no read of `file` during it was
/// neither the old nor the new text, the old text is live again, nginx
/// accepts it and runs the old pool, and no temp file is left behind.
fn assert_old_file_live(lab: &Lab, file: &str, old: &str, reads: usize, strangers: &[String]) {
    assert!(
        strangers.is_empty(),
        "{} of {reads} reads were neither file: {strangers:?}",
        strangers.len()
    );
    assert_eq!(
        std::fs::read_to_string(file).expect("upstream"),
        old,
        "the old file is live"
    );
    lab.sh("$LAB_NGINX_TEST 2>/dev/null");
    assert!(
        lab.edit_leftovers().is_empty(),
        "{:?}",
        lab.edit_leftovers()
    );
    let seen = who_answers(lab, 20);
    assert!(
        seen.contains_key("web-c1"),
        "nginx runs the old pool: {seen:?}"
    );
}

#[test]
fn lab_a_reload_that_fails_after_a_passing_test_puts_the_old_file_back() {
    let Some(lab) =
        lab_or_skip("lab_a_reload_that_fails_after_a_passing_test_puts_the_old_file_back")
    else {
        return;
    };
    let mark = upstream_dir(&lab).join("test-reload-fails-once");
    std::fs::write(&mark, "").expect("mark");
    let config = with_command(
        &lab,
        "reload-fails.toml",
        "reload_command",
        &format!(
            "if [ -e {m} ]; then rm -f {m}; echo 'reload refused on purpose' >&2; exit 1; fi; {{real}}",
            m = mark.display()
        ),
    );
    let file = lab.var("LAB_UPSTREAM_FILE");
    let old = std::fs::read_to_string(file).expect("upstream");
    let new = set_down(&old, C1, true).expect("new text");
    let watcher = Watcher::start(file, &old, &new);
    let (code, out, err) = lab.opsdeck_with(&config, &["do", "drain-backend", "web-c1", "--yes"]);
    let (reads, saw_new, strangers) = watcher.finish();
    let _ = std::fs::remove_file(&mark);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("nginx reload failed after a passing nginx -t")
            && out.contains("reload refused on purpose")
            && out.contains("the previous upstream file is live again and nginx reloaded it"),
        "the verdict says which file is live: {out}"
    );
    assert!(saw_new || reads > 0, "the watcher read the file");
    assert_old_file_live(&lab, file, &old, reads, &strangers);
}

#[test]
fn lab_an_edit_cut_off_in_the_middle_leaves_exactly_one_file_live_and_says_which() {
    let Some(lab) = lab_or_skip(
        "lab_an_edit_cut_off_in_the_middle_leaves_exactly_one_file_live_and_says_which",
    ) else {
        return;
    };
    // The test command marks that the edit reached the middle (the new file
    // swapped in, untested) and then outlasts the call's deadline, so the
    // console cuts the session off there.
    let mark = upstream_dir(&lab).join("test-edit-reached-the-middle");
    let _ = std::fs::remove_file(&mark);
    let config = with_command(
        &lab,
        "slow-test.toml",
        "test_command",
        &format!("touch {}; sleep 5; {{real}}", mark.display()),
    );
    let config_text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("timeout_ms = 2500", "timeout_ms = 1500");
    std::fs::write(&config, config_text).expect("config");
    let file = lab.var("LAB_UPSTREAM_FILE");
    let old = std::fs::read_to_string(file).expect("upstream");
    let new = set_down(&old, C1, true).expect("new text");
    let watcher = Watcher::start(file, &old, &new);
    let (code, out, err) = lab.opsdeck_with(&config, &["do", "drain-backend", "web-c1", "--yes"]);
    let (reads, saw_new, strangers) = watcher.finish();
    assert!(mark.exists(), "the edit reached the middle: {out}{err}");
    let _ = std::fs::remove_file(&mark);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("the upstream edit did not finish")
            && out.contains("the live upstream file is the old one"),
        "the verdict says which file is live: {out}"
    );
    assert!(
        saw_new,
        "the new file was live in the middle ({reads} reads)"
    );
    assert_old_file_live(&lab, file, &old, reads, &strangers);
}

#[test]
fn lab_an_edit_computed_from_a_file_someone_changed_since_changes_nothing() {
    use opsdeck::providers::selfhosted::fleet_lock::FleetLock;
    use opsdeck::providers::selfhosted::upstream_edit::{EditOutcome, UpstreamEdit};
    let Some(lab) =
        lab_or_skip("lab_an_edit_computed_from_a_file_someone_changed_since_changes_nothing")
    else {
        return;
    };
    let file = lab.var("LAB_UPSTREAM_FILE");
    let live = std::fs::read_to_string(file).expect("upstream");
    // What a console read before another editor added a comment.
    let read_earlier = live.replace("# Drain:", "# (older) Drain:");
    assert_ne!(read_earlier, live);
    let new = set_down(&read_earlier, C1, true).expect("new text");
    let lock = FleetLock::new(None, file);
    let edit = UpstreamEdit {
        file,
        old: &read_earlier,
        new: &new,
        test_command: lab.var("LAB_NGINX_TEST"),
        reload_command: lab.var("LAB_NGINX_RELOAD"),
        lock: &lock,
        lock_held: false,
    };
    let out = std::process::Command::new("ssh")
        .args(["-F", lab.var("LAB_SSH_CONFIG"), "lb", &edit.script()])
        .output()
        .expect("ssh");
    let outcome = UpstreamEdit::outcome(
        out.status.code().map(|c| c as u32),
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    assert!(matches!(outcome, EditOutcome::Changed(_)), "{outcome:?}");
    assert_eq!(
        std::fs::read_to_string(file).expect("upstream"),
        live,
        "the other editor's file is untouched"
    );
    assert!(
        lab.edit_leftovers().is_empty(),
        "{:?}",
        lab.edit_leftovers()
    );
}
