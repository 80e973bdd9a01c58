//! Guards refuse stale data: with the replica's AZ frozen past the
//! replication panel's stale limit, a promotion is refused and the refusal
//! says how old the data is. (The stale-data guard itself is issue 9,
//! defect 5; this is its lab test.)

use std::time::Duration;

use super::{Lab, lab_or_skip};

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
    lab.sh("$LAB_SCRIPTS/az.sh down az-c >/dev/null");
    let frozen = Frozen(&lab);
    // The replication panel's stale limit is at least 10 s (3 polls).
    std::thread::sleep(Duration::from_secs(12));
    let (code, out, err) = lab.opsdeck(&["do", "promote-replica", "db-replica", "--yes"]);
    drop(frozen);
    assert_eq!(code, Some(3), "refused: {out}{err}");
    let refusal = out
        .lines()
        .find(|l| l.contains("refused"))
        .unwrap_or_default()
        .to_string();
    let names_age = refusal.contains(" old")
        && refusal
            .split(|c: char| !c.is_ascii_digit())
            .any(|d| !d.is_empty());
    assert!(
        names_age,
        "the refusal says how old the replica's data is: {refusal}\n{out}"
    );
    // Nothing changed: the primary is still the primary.
    let s = lab.status();
    assert_eq!(
        super::node(&s, "databases", "db-primary")["role"],
        "primary"
    );
}
