//! Outputs are replaced whole or not at all. A run writes its files into a staging folder inside
//! the target folder (same file system, so every move is a `rename`), then swaps them in one entry
//! at a time: the completion marker and `findings.json` leave first, `findings.json` comes back
//! last and the marker after it. A reader (a person, `--baseline`, the scripts of
//! docs/scheduling.md) therefore sees the previous run, the new run, or a folder without
//! `findings.json` and without the marker (an interrupted swap), never a new `findings.json`
//! beside the previous run's CSVs.
//!
//! `rename` replaces a symbolic link planted in the target folder instead of writing through it,
//! so a `findings.json -> ~/.bashrc` link is swapped out, never followed. Files are created only
//! inside a folder this module has just created itself.
//!
//! It owns the staging folder's name, the order of the swap and the marker; it must not know what
//! the files contain, and it never touches an entry of the target folder it was not told it owns
//! (a live run's `OUT/cloud` snapshot, `OUT/<tenant>/` folders, a user's own files).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Written last into a report folder: its presence says every file of the run is in place.
pub(crate) const COMPLETE_MARKER: &str = "run-complete.json";

/// The prefix of staging folders; one left behind by a killed run is removed by the next run.
const STAGING_PREFIX: &str = ".entra-audit-staging-";

/// A staging folder inside `target`, removed when dropped unless committed.
#[derive(Debug)]
pub(crate) struct Staging {
    target: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates `target` when needed, removes staging folders a killed run left behind, and
    /// creates a fresh staging folder (never an existing one: `create_dir` refuses a planted
    /// folder or link of the same name).
    pub(crate) fn begin(target: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(target)
            .with_context(|| format!("cannot create the output directory {}", target.display()))?;
        remove_abandoned_staging(target);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = target.join(format!("{STAGING_PREFIX}{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot create the staging folder {}", dir.display()))?;
        Ok(Staging {
            target: target.to_owned(),
            dir,
            committed: false,
        })
    }

    /// Where the run writes its files.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// The final path of a file written at `staged` (inside [`Staging::path`]).
    pub(crate) fn final_path(&self, staged: &Path) -> PathBuf {
        staged
            .strip_prefix(&self.dir)
            .map_or_else(|_| staged.to_owned(), |rest| self.target.join(rest))
    }

    /// Swaps the staged entries into the target folder. `owned` names every entry of the target
    /// this kind of run writes (a stale one the new run did not write is removed too); `last` is
    /// the entry that goes in last (the run's record, `findings.json`). Then writes the marker.
    pub(crate) fn commit(mut self, owned: &[&str], last: &str) -> anyhow::Result<()> {
        let old = self.dir.join(".previous");
        std::fs::create_dir(&old).with_context(|| format!("cannot create {}", old.display()))?;
        // The folder is "incomplete" from here until the marker is back.
        for name in [COMPLETE_MARKER, last] {
            move_aside(&self.target.join(name), &old.join(name))?;
        }
        for name in owned
            .iter()
            .filter(|n| **n != last && **n != COMPLETE_MARKER)
        {
            move_aside(&self.target.join(name), &old.join(name))?;
            move_in(&self.dir.join(name), &self.target.join(name))?;
        }
        move_in(&self.dir.join(last), &self.target.join(last))?;
        let marker = serde_json::json!({
            "tool": format!("entra-audit {}", crate::VERSION),
            "completed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "record": last,
        });
        let staged_marker = self.dir.join(COMPLETE_MARKER);
        write_new(&staged_marker, format!("{marker:#}\n").as_bytes())?;
        move_in(&staged_marker, &self.target.join(COMPLETE_MARKER))?;
        self.committed = true;
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Moves an entry of the target out of the way (a link is moved, not followed); nothing when
/// absent.
fn move_aside(from: &Path, to: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(from) {
        Ok(_) => std::fs::rename(from, to)
            .with_context(|| format!("cannot move {} aside", from.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", from.display())),
    }
}

/// Moves a staged entry into place; nothing when the run did not write it.
fn move_in(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(from).is_err() {
        return Ok(());
    }
    std::fs::rename(from, to)
        .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
}

/// Creates `path` (failing when anything, a link included, is already there), writes `bytes`
/// and flushes them to disk.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces one file whole: writes a temporary file beside it and renames it over `path` (which
/// replaces a link at `path` instead of writing through it).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    write_new(&temp, bytes)?;
    std::fs::rename(&temp, path).with_context(|| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot move {} to {}", temp.display(), path.display())
    })
}

/// Removes the staging folders of runs that are no longer running (on Linux, where `/proc` says
/// so; elsewhere those older than a day).
fn remove_abandoned_staging(target: &Path) {
    let Ok(entries) = std::fs::read_dir(target) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(STAGING_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        let abandoned = if Path::new("/proc/self").exists() {
            pid.parse::<u32>().is_ok_and(|pid| {
                pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists()
            })
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_hours(24))
        };
        // A link of that name is only unlinked: remove_dir_all does not follow it.
        if abandoned && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(staging: &Staging, name: &str, text: &str) {
        let path = staging.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_commit_replaces_owned_entries_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("rules")).unwrap();
        std::fs::create_dir_all(out.join("cloud")).unwrap();
        std::fs::write(out.join("rules/stale.csv"), "old").unwrap();
        std::fs::write(out.join("findings.json"), "old").unwrap();
        std::fs::write(out.join("cloud/users.json"), "snapshot").unwrap();
        let staging = Staging::begin(&out).unwrap();
        staged(&staging, "findings.json", "new");
        staged(&staging, "rules/a.csv", "new rule");
        staging
            .commit(&["findings.json", "rules", "report.html"], "findings.json")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("findings.json")).unwrap(),
            "new"
        );
        assert!(out.join("rules/a.csv").exists());
        assert!(!out.join("rules/stale.csv").exists(), "stale entries go");
        assert_eq!(
            std::fs::read_to_string(out.join("cloud/users.json")).unwrap(),
            "snapshot",
            "entries the run does not own stay"
        );
        assert!(out.join(COMPLETE_MARKER).exists());
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(STAGING_PREFIX))
            .collect();
        assert!(leftovers.is_empty(), "the staging folder is removed");
    }

    #[test]
    fn an_abandoned_run_leaves_the_previous_files_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("findings.json"), "old").unwrap();
        {
            let staging = Staging::begin(&out).unwrap();
            staged(&staging, "findings.json", "half");
            // dropped without commit: an error in the middle of writing
        }
        assert_eq!(
            std::fs::read_to_string(out.join("findings.json")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_killed_runs_staging_folder_is_removed_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // pid 4294967295 cannot be running; this process's own folder is left alone.
        let dead = out.join(format!("{STAGING_PREFIX}4294967295-1"));
        let mine = out.join(format!("{STAGING_PREFIX}{}-1", std::process::id()));
        std::fs::create_dir_all(dead.join("rules")).unwrap();
        std::fs::create_dir_all(&mine).unwrap();
        let staging = Staging::begin(&out).unwrap();
        assert!(!dead.exists(), "the killed run's staging folder stays");
        assert!(mine.exists());
        drop(staging);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, out.join("findings.json")).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("index.html")).unwrap();
        let staging = Staging::begin(&out).unwrap();
        staged(&staging, "findings.json", "new");
        staging.commit(&["findings.json"], "findings.json").unwrap();
        write_file(&out.join("index.html"), b"index").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!out.join("findings.json").is_symlink());
        assert!(!out.join("index.html").is_symlink());
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "index"
        );
    }
}
