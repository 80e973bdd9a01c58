//! What the operator has given towards running an operation: the name typed
//! and whether guards are to be overridden.

/// What the operator has given so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confirmation<'a> {
    /// The name typed (dialog field, `--confirm NAME`).
    pub typed: Option<&'a str>,
    /// The operator asks to override refusing guards. In the dialog, typing
    /// the name is itself that act; `opsdeck do` needs `--override-guard` too.
    pub override_guards: bool,
}

impl<'a> Confirmation<'a> {
    /// Nothing given yet: what the dialog is opened with.
    pub fn none() -> Self {
        Self::default()
    }

    /// The dialog's typed field at confirm time.
    pub fn typed_in_dialog(typed: &'a str) -> Self {
        Self {
            typed: Some(typed),
            override_guards: true,
        }
    }
}
