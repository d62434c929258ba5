//! Every input path a run was given is checked before anything slow starts (signing in, a live
//! collection that costs minutes and Graph quota): a typo in `--onprem` is an error in the first
//! second, naming the flag, the path and the OS error once, with every bad path listed together.
//!
//! It owns only that check (can the path be opened as what it must be); reading and parsing
//! stay with each input's own module.

use std::path::{Path, PathBuf};

/// What an input path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Directory,
}

/// One input to check: where it came from (`--onprem`, `tenant contoso: baseline`), the path and
/// what it must be.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub source: String,
    pub path: PathBuf,
    pub kind: Kind,
}

impl Input {
    pub(crate) fn file(source: impl Into<String>, path: &Path) -> Self {
        Input {
            source: source.into(),
            path: path.to_owned(),
            kind: Kind::File,
        }
    }

    pub(crate) fn directory(source: impl Into<String>, path: &Path) -> Self {
        Input {
            source: source.into(),
            path: path.to_owned(),
            kind: Kind::Directory,
        }
    }

    /// Why this input cannot be read, or `None`.
    fn problem(&self) -> Option<String> {
        let result = match self.kind {
            Kind::File => std::fs::File::open(&self.path).and_then(|f| {
                if f.metadata()?.is_dir() {
                    Err(std::io::Error::other("is a directory, not a file"))
                } else {
                    Ok(())
                }
            }),
            Kind::Directory => std::fs::read_dir(&self.path).map(drop),
        };
        result.err().map(|e| {
            format!(
                "{} {}: {e}",
                self.source,
                crate::preview::quoted(&self.path.display().to_string())
            )
        })
    }
}

/// Checks every input; the error lists each one that cannot be read.
pub(crate) fn check_readable(inputs: &[Input]) -> anyhow::Result<()> {
    let problems: Vec<String> = inputs.iter().filter_map(Input::problem).collect();
    match problems.as_slice() {
        [] => Ok(()),
        [one] => anyhow::bail!("cannot read {one} (nothing was collected or audited)"),
        many => anyhow::bail!(
            "cannot read {} inputs (nothing was collected or audited):\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unreadable_input_is_named_with_its_os_error_once() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("ad.json");
        std::fs::write(&good, "[]").unwrap();
        assert!(check_readable(&[Input::file("--onprem", &good)]).is_ok());
        let missing = dir.path().join("ad.jsn");
        let error = check_readable(&[
            Input::file("--onprem", &good),
            Input::file("--onprem", &missing),
            Input::file("--baseline", dir.path()),
            Input::directory("--rules-dir", &good),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("cannot read 3 inputs"), "{error}");
        assert!(
            error.contains("--onprem '") && error.contains("ad.jsn'"),
            "{error}"
        );
        assert_eq!(
            error.matches("No such file or directory").count(),
            1,
            "{error}"
        );
        assert!(error.contains("--baseline") && error.contains("is a directory"));
        assert!(error.contains("--rules-dir"), "{error}");
    }
}
