//! Asking the operator a yes/no question on the terminal (`do` without
//! `--yes`, `ssh-trust`).

use std::io::{BufRead, IsTerminal, Write};

use crate::runtime::out;

/// Asks `question` and reads the answer: `None` when stdin is not a terminal
/// (nobody to ask, so the caller says what to pass instead), else whether the
/// answer was yes. Anything but `y`/`yes` is no.
pub fn ask_yes_no(question: &str) -> Option<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    out!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    Some(stdin.lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes"))
}
