//! `Progress`: where an operation reports its steps, notes and verdict.
//! Reporting never waits: a stalled terminal (Ctrl-S) must not stall an
//! operation, least of all while a primary is read-only. The sink is called
//! synchronously and must not block (an unbounded channel's `send` does not).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::Msg;

/// A non-blocking sink for an operation's messages. Clones share the sink.
#[derive(Clone)]
pub struct Progress {
    sink: Arc<dyn Fn(Msg) + Send + Sync>,
}

impl Progress {
    /// Messages go to `f`, which must return without waiting.
    pub fn new(f: impl Fn(Msg) + Send + Sync + 'static) -> Self {
        Self { sink: Arc::new(f) }
    }

    /// Messages go to an unbounded channel: nothing is dropped, nothing
    /// waits. A closed receiver (the console quit) is not the runner's
    /// problem: the operation still winds down and writes its audit result.
    pub fn channel(tx: mpsc::UnboundedSender<Msg>) -> Self {
        Self::new(move |msg| {
            let _ = tx.send(msg);
        })
    }

    pub fn send(&self, msg: Msg) {
        (self.sink)(msg);
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}
