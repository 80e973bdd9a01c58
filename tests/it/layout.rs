//! The source tree keeps the architecture's one-way dependencies (README,
//! "Layout"): `cli` → `runtime` → `ui`, `providers` → `core`, with `keymap`,
//! `theme` and `config` beside `core`. A path into a module a folder must not
//! know about fails here, naming the file and line.

use std::path::{Path, PathBuf};

/// What each folder of `src/` must not name.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "core",
        &[
            "ui",
            "runtime",
            "providers",
            "cli",
            "keymap",
            "theme",
            "config",
            "runbook",
        ],
    ),
    ("ui", &["runtime", "providers", "cli"]),
    ("runtime", &["cli"]),
    ("providers", &["ui", "runtime", "cli"]),
    ("keymap", &["ui", "runtime", "providers", "cli"]),
    ("theme", &["ui", "runtime", "providers", "cli"]),
    ("config", &["ui", "runtime", "providers", "cli"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn violations() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (folder, forbidden) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
        assert!(!files.is_empty(), "src/{folder} has no Rust files");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for module in *forbidden {
                    let path = format!("crate::{module}");
                    let hits = code.match_indices(&path).any(|(at, _)| {
                        // `crate::ui` but not `crate::uix`.
                        !code[at + path.len()..]
                            .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    if hits {
                        found.push(format!(
                            "{}:{}: src/{folder} names {module}: {}",
                            file.strip_prefix(&src).unwrap_or(&file).display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn dependencies_point_one_way() {
    let found = violations();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// `mod.rs` files only declare and re-export.
#[test]
fn mod_files_only_declare() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = Vec::new();
    for file in files.iter().filter(|f| f.ends_with("mod.rs")) {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let t = t.strip_prefix("pub ").unwrap_or(t);
            if ["fn ", "struct ", "enum ", "impl ", "impl<", "trait "]
                .iter()
                .any(|k| t.starts_with(k))
            {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
