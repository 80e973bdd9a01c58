//! Guards refuse data they cannot trust (issue 9, defect 5), on the lab:
//!
//! - `opsdeck do` is a fresh process: with the replica's AZ frozen it has no
//!   old data, it observes the replica as unreachable, and the promotion is
//!   refused because the replica's lag is unknown.
//! - A console that saw the fleet and then stopped looking (suspended, as a
//!   laptop whose lid closed) holds replication data older than the panel's
//!   stale limit: a promotion asked for at once on resume, before a poll
//!   could bring fresh data, is refused by the stale-data guard, naming the
//!   data's age. The replica's AZ is frozen too, so no poll can come back
//!   within the test's look.
//! - A console that keeps looking while the replica's AZ is frozen past the
//!   stale limit: the replication source answers (the primary does), but
//!   the replica has not, and the refusal says for how long.

use std::process::Command;
use std::time::Duration;

use super::{binary, console, freeze_az, lab_or_skip, node, tmux_or_skip};

/// Resumes a process this test stopped, however the test ends.
struct Stopped(u32);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

#[test]
fn lab_do_promote_with_the_replica_az_frozen_is_refused_as_lag_unknown() {
    let Some(lab) =
        lab_or_skip("lab_do_promote_with_the_replica_az_frozen_is_refused_as_lag_unknown")
    else {
        return;
    };
    let frozen = freeze_az(&lab, "az-c");
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "db-replica", "--yes"]);
    drop(frozen);
    assert_eq!(code, Some(3), "refused: {out}{err}");
    assert!(
        out.contains("refused by guard 'replica-lag'") && out.contains("lag is unknown"),
        "{out}"
    );
    let s = lab.status();
    assert_eq!(node(&s, "databases", "db-primary")["role"], "primary");
    assert_eq!(node(&s, "databases", "db-primary")["read_only"], false);
}

#[test]
fn lab_a_promotion_on_data_older_than_its_stale_limit_is_refused_naming_the_age() {
    let Some(lab) =
        lab_or_skip("lab_a_promotion_on_data_older_than_its_stale_limit_is_refused_naming_the_age")
    else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-stale") else {
        return;
    };
    // A config at a path of this test's own, so its console's pid is found
    // by that path and no other process is ever signalled.
    let config = lab.config_variant("stale.toml", |t| t);
    // Without job control the shell leaves a stopped console in the
    // foreground, so it reads the terminal again when it is resumed.
    t.start_shell(120, 36);
    t.type_text("set +m");
    t.keys(&["Enter"]);
    t.type_text(&format!(
        "XDG_DATA_HOME={d}/data XDG_STATE_HOME={d}/state {} --config {}",
        binary(),
        config.display(),
        d = lab.data.path().display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("web-c2", Duration::from_secs(20));
    // The replica's lag is known (fresh) before the console stops.
    t.wait_for("db replica    lag 0", Duration::from_secs(10));
    let pid: u32 = lab
        .sh(&format!("pgrep -f -- '--config {}$'", config.display()))
        .trim()
        .parse()
        .expect("the console's pid");
    lab.sh(&format!("kill -STOP {pid}"));
    let stopped = Stopped(pid);
    let frozen = freeze_az(&lab, "az-c");
    // The replication panel's stale limit is at least 10 s (3 polls).
    std::thread::sleep(Duration::from_secs(12));
    // Typed while the console is stopped: read first thing on resume.
    t.type_text("P");
    drop(stopped);
    let screen = t.wait_for("s old (limit", Duration::from_secs(5));
    drop(frozen);
    assert!(
        screen.contains("stale-data") && screen.contains("replication data is"),
        "the refusal names the guard and the data's age:\n{screen}"
    );
    let age: u64 = screen
        .split("replication data is ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("an age in seconds");
    assert!(
        age >= 12,
        "the age counts the time stopped: {age} s\n{screen}"
    );
    t.keys(&["Escape"]);
    t.type_text("q");
    t.wait_for("E2E$ ", Duration::from_secs(10));
    // Nothing changed: the primary is still the primary.
    let s = lab.status();
    assert_eq!(node(&s, "databases", "db-primary")["role"], "primary");
    assert_eq!(node(&s, "databases", "db-primary")["read_only"], false);
}

#[test]
fn lab_a_replica_silent_past_the_stale_limit_in_a_running_console_is_refused_naming_how_long() {
    let Some(lab) = lab_or_skip(
        "lab_a_replica_silent_past_the_stale_limit_in_a_running_console_is_refused_naming_how_long",
    ) else {
        return;
    };
    let Some(t) = tmux_or_skip("lab-stale") else {
        return;
    };
    let config = lab.config();
    console(&t, (160, 40), &config, lab.data.path());
    // The console has heard from the replica before its AZ goes silent.
    t.wait_for("db-replica", Duration::from_secs(10));
    let frozen = freeze_az(&lab, "az-c");
    std::thread::sleep(Duration::from_secs(13));
    // `P` promotes the database replica from the overview.
    t.type_text("P");
    let screen = t.wait_for("has not answered for", Duration::from_secs(10));
    drop(frozen);
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    let age: i64 = flat
        .split("db-replica has not answered for ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the refusal names the age in seconds:\n{screen}"));
    assert!(
        (10..=40).contains(&age),
        "frozen ~13 s before the promote: {age} s\n{screen}"
    );
    assert!(
        flat.contains("stale limit"),
        "past the stale limit, and it says so:\n{screen}"
    );
    // Esc cancels; nothing was sent and the primary is still the primary.
    t.keys(&["Escape"]);
    t.wait_for("nothing was sent", Duration::from_secs(5));
    t.type_text("q");
    let s = lab.status();
    assert_eq!(node(&s, "databases", "db-primary")["role"], "primary");
}
