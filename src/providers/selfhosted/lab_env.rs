//! Test support: the variables of the real-server lab (`tests/lab/lab.env`,
//! written by `tests/lab/up.sh`). Tests that need the lab call [`LabEnv::load`]
//! and skip, with a printed reason, when the lab is not running.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub struct LabEnv {
    vars: BTreeMap<String, String>,
}

impl LabEnv {
    pub fn path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.env")
    }

    /// The lab's variables, or `None` (with a SKIPPED line for `test`) when the
    /// file is missing.
    pub fn load(test: &str) -> Option<LabEnv> {
        match std::fs::read_to_string(Self::path()) {
            Ok(text) => Some(LabEnv { vars: parse(&text) }),
            Err(_) => {
                skip(test);
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The contents of the file named by `key` (a `*_FILE` secret), trimmed.
    pub fn file(&self, key: &str) -> Option<String> {
        let path = self.get(key)?;
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The first of `keys` that is set.
    pub fn any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }
}

pub fn skip(test: &str) {
    println!("SKIPPED {test}: lab not running (tests/lab/up.sh)");
}

/// Whether something accepts TCP connections at `addr` within a second.
pub async fn answers(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// `KEY=value` lines, optionally `export`ed and quoted; `#` comments.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            &value[1..value.len() - 1]
        } else {
            value
        };
        vars.insert(key.trim().to_string(), value.to_string());
    }
    vars
}

/// Lab tests share one set of servers and some change it (stop a replica's
/// SQL thread, swap roles): each holds this lock so they run one at a time.
pub static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[cfg(test)]
mod tests {
    #[test]
    fn parses_shell_style_assignments() {
        let v = super::parse("# lab\nexport A=1\nB=\"two words\"\nC='x=y'\n\nbad line\n");
        assert_eq!(v.get("A").map(String::as_str), Some("1"));
        assert_eq!(v.get("B").map(String::as_str), Some("two words"));
        assert_eq!(v.get("C").map(String::as_str), Some("x=y"));
        assert_eq!(v.len(), 3);
    }
}
