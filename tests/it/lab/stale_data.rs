//! Guards refuse stale data: in a running console, with the replica's AZ
//! frozen past the replication panel's stale limit (10 s), a promotion is
//! refused and the refusal says how long the replica has not answered.
//! (`opsdeck do` observes afresh when it starts, so it has no old data to
//! refuse: it says the replica never answered, which the reducer tests
//! cover.)

use std::time::Duration;

use super::{Lab, console, lab_or_skip, tmux_or_skip};

/// Thaws az-c however the test ends.
struct Frozen<'a>(&'a Lab);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg("-c")
            .arg("$LAB_SCRIPTS/az.sh up az-c >/dev/null")
            .envs(&self.0.vars)
            .status();
    }
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
    let config = lab.config();
    console(&t, (160, 40), &config, lab.data.path());
    // The console has heard from the replica before its AZ goes silent.
    t.wait_for("db-replica", Duration::from_secs(10));
    lab.sh("$LAB_SCRIPTS/az.sh down az-c >/dev/null");
    let frozen = Frozen(&lab);
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
    assert_eq!(
        super::node(&s, "databases", "db-primary")["role"],
        "primary"
    );
}
