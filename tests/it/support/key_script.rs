//! Keys typed into the real runtime as a user types them: each group after
//! its delay in (paused) seconds, 50 ms between keys.

use std::time::Duration;

use crossterm::event::Event;
use futures::channel::mpsc;
use opsdeck::core::key::parse_sequence;
use opsdeck::runtime::key_input::to_crossterm;

/// What the input does once the last key is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterKeys {
    /// The input ends, as when the terminal goes away.
    Close,
    /// The input stays open (an hour of paused time): a closed input
    /// mid-operation would be a hangup, not the quit path under test.
    StayOpen,
}

/// The input of a session that types `steps`, each `(delay, keys)`.
pub fn script(
    steps: &[(f64, &str)],
    after: AfterKeys,
) -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::unbounded();
    let steps: Vec<(Duration, String)> = steps
        .iter()
        .map(|(d, k)| (Duration::from_secs_f64(*d), (*k).to_string()))
        .collect();
    tokio::spawn(async move {
        for (delay, keys) in steps {
            tokio::time::sleep(delay).await;
            for key in parse_sequence(&keys).expect("valid keys") {
                if tx
                    .unbounded_send(Ok(Event::Key(to_crossterm(key))))
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if after == AfterKeys::StayOpen {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        drop(tx);
    });
    rx
}
