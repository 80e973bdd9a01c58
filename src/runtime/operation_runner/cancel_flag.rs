//! `CancelFlag`: how the console (or a signal) asks a running operation to
//! stop at its next safe point.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set to stop an operation at its next safe point. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
