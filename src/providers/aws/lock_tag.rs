//! The fleet-wide operation lock on AWS, with no configuration beyond the
//! target groups: a tag on the first configured target group names the
//! holder. Taking it writes the tag, waits, reads it back and yields if
//! another holder's value won. (A tag is last-writer-wins, not a
//! compare-and-swap: two consoles writing within the settle time are told
//! apart by the read-back, which both see once the writes have settled.)

use crate::core::Timestamp;
use crate::core::lock::LockHolder;

/// The tag's key.
pub const LOCK_TAG: &str = "opsdeck:lock";

/// Characters a tag value may hold: letters, digits, spaces and `_.:/=+-@`.
fn tag_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `v1 operator machine pid started-ms environment operation…` (≤ 256 chars).
pub fn encode(h: &LockHolder) -> String {
    let word = |s: &str| tag_safe(s).replace(' ', "_");
    let text = format!(
        "v1 {} {} {} {} {} {}",
        word(&h.operator),
        word(&h.machine),
        h.pid,
        h.started_at.millis(),
        word(&h.environment),
        tag_safe(&h.operation)
    );
    text.chars().take(256).collect()
}

/// The holder a tag value names; `None` for a value this version cannot read.
pub fn decode(value: &str) -> Option<LockHolder> {
    let mut parts = value.splitn(7, ' ');
    if parts.next()? != "v1" {
        return None;
    }
    Some(LockHolder {
        operator: parts.next()?.to_string(),
        machine: parts.next()?.to_string(),
        pid: parts.next()?.parse().ok()?,
        started_at: Timestamp::from_millis(parts.next()?.parse().ok()?),
        environment: parts.next()?.to_string(),
        operation: parts.next().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_round_trips_through_a_tag_value() {
        let h = LockHolder {
            operator: "alice".into(),
            machine: "laptop-1".into(),
            pid: 4242,
            operation: "drain-backend web-a1".into(),
            environment: "prod".into(),
            started_at: Timestamp::from_millis(1_796_000_000_000),
        };
        let v = encode(&h);
        assert_eq!(
            v,
            "v1 alice laptop-1 4242 1796000000000 prod drain-backend web-a1"
        );
        assert_eq!(decode(&v), Some(h.clone()));
        // Characters a tag cannot hold are replaced; the value stays readable.
        let odd = LockHolder {
            operator: "bob smith".into(),
            machine: "büro{1}".into(),
            ..h
        };
        let back = decode(&encode(&odd)).expect("readable");
        assert_eq!(
            (back.operator.as_str(), back.machine.as_str()),
            ("bob_smith", "b_ro_1_")
        );
        assert_eq!(decode("someone else's tag"), None);
    }
}
