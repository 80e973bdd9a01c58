//! Where a layered user file (keymap, theme) comes from: a file shipped in the
//! repository and compiled in, or a file on disk. Shared by the keymap and
//! theme loaders, which both resolve `--keymap/--theme NAME|FILE` and
//! `inherits = "NAME|PATH"` the same way.

use std::path::{Path, PathBuf};

/// The files shipped in one folder (`keymaps/`, `themes/`).
#[derive(Clone, Copy, Debug)]
pub struct Shipped {
    /// Folder in the repository, for labels (`themes`).
    pub folder: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// One layer's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Name and compiled-in text; `folder` for the label.
    Shipped {
        folder: &'static str,
        name: &'static str,
        text: &'static str,
    },
    File(PathBuf),
}

impl Shipped {
    pub fn names(&self) -> Vec<&'static str> {
        self.files.iter().map(|(n, _)| *n).collect()
    }

    pub fn get(&self, name: &str) -> Option<Source> {
        self.files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| Source::Shipped {
                folder: self.folder,
                name: n,
                text: t,
            })
    }

    /// `spec` names a shipped file, else a path (relative to `relative_to`).
    pub fn lookup(&self, spec: &str, relative_to: Option<&Path>) -> Source {
        if let Some(s) = self.get(spec) {
            return s;
        }
        let p = PathBuf::from(spec);
        match relative_to {
            Some(dir) if p.is_relative() => Source::File(dir.join(p)),
            _ => Source::File(p),
        }
    }
}

impl Source {
    /// `themes/default.toml` or the path as given.
    pub fn label(&self) -> String {
        match self {
            Source::Shipped { folder, name, .. } => format!("{folder}/{name}.toml"),
            Source::File(p) => p.display().to_string(),
        }
    }

    /// What identifies the source in an `inherits` chain, for loop detection.
    pub fn identity(&self) -> String {
        match self {
            Source::Shipped { .. } => self.label(),
            Source::File(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
        }
    }

    pub fn is_shipped(&self, wanted: &str) -> bool {
        matches!(self, Source::Shipped { name, .. } if *name == wanted)
    }

    pub fn exists(&self) -> bool {
        match self {
            Source::Shipped { .. } => true,
            Source::File(p) => p.exists(),
        }
    }

    /// The folder `inherits` paths are relative to.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            Source::File(p) => p.parent().map(Path::to_path_buf),
            Source::Shipped { .. } => None,
        }
    }

    /// The text, or the reason it cannot be read.
    pub fn read(&self) -> Result<String, String> {
        match self {
            Source::Shipped { text, .. } => Ok((*text).to_string()),
            Source::File(p) => std::fs::read_to_string(p).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: Shipped = Shipped {
        folder: "themes",
        files: &[("default", "x = 1")],
    };

    #[test]
    fn shipped_names_win_over_paths_and_paths_are_relative_to_the_file() {
        assert!(SHIPPED.lookup("default", None).is_shipped("default"));
        assert_eq!(
            SHIPPED.lookup("default", None).label(),
            "themes/default.toml"
        );
        assert_eq!(
            SHIPPED.lookup("mine.toml", Some(Path::new("/etc/opsdeck"))),
            Source::File(PathBuf::from("/etc/opsdeck/mine.toml"))
        );
        assert_eq!(
            SHIPPED.lookup("/abs.toml", Some(Path::new("/x"))),
            Source::File(PathBuf::from("/abs.toml"))
        );
        assert!(!Source::File(PathBuf::from("/nonexistent/x.toml")).exists());
    }
}
