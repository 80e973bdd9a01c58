//! A secret that may be written inline (kept working, but `opsdeck check`
//! warns) or, preferably, given by reference like every other secret:
//! `{ env = "VAR" }` or `{ file = "PATH" }`. Its `Debug` never shows the value.

use serde::Deserialize;

use super::selfhosted_config::SecretRef;

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum SecretValue {
    /// Written in the config file itself.
    Inline(String),
    ByRef(SecretRef),
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretValue::Inline(_) => f.write_str("SecretValue::Inline(<redacted>)"),
            SecretValue::ByRef(r) => write!(f, "SecretValue::ByRef({r:?})"),
        }
    }
}

impl SecretValue {
    /// The secret. Errors name the variable or file, never the value.
    pub fn read(&self) -> Result<String, String> {
        match self {
            SecretValue::Inline(v) => Ok(v.clone()),
            SecretValue::ByRef(r) => r.read(),
        }
    }

    pub fn is_inline(&self) -> bool {
        matches!(self, SecretValue::Inline(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        s: SecretValue,
    }

    #[test]
    fn inline_env_and_file_forms_are_read() {
        let t: T = toml::from_str("s = \"https://hooks.example/T0K3N\"").expect("inline");
        assert!(t.s.is_inline());
        assert_eq!(t.s.read().expect("read"), "https://hooks.example/T0K3N");
        assert!(
            !format!("{:?}", t.s).contains("T0K3N"),
            "Debug never shows the value"
        );
        let t: T = toml::from_str("s = { env = \"OPSDECK_TEST_UNSET_VAR_1\" }").expect("env");
        assert!(!t.s.is_inline());
        let err = t.s.read().expect_err("unset");
        assert!(err.contains("OPSDECK_TEST_UNSET_VAR_1"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hook");
        std::fs::write(&path, "https://hooks.example/FILE\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let t: T =
            toml::from_str(&format!("s = {{ file = \"{}\" }}", path.display())).expect("file");
        assert_eq!(t.s.read().expect("read"), "https://hooks.example/FILE");
    }
}
