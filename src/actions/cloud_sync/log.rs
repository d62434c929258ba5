//! The action log: one JSON object per line, appended for every write request sent to Graph
//! (time, tenant, service principal, job, action, method, URL, body, response status,
//! `request-id` when Graph returned one, the `client-request-id` sent, attempts, error). The file
//! is opened (and created) before anything is sent, so a log that cannot be written stops the
//! action instead of leaving it unrecorded. It owns the file format; it must never record a
//! token or a secret (it is only given the request line and body, which carry neither).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

/// One sent request and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    /// RFC 3339, UTC, when the answer arrived.
    pub time: String,
    /// The tenant as given on the command line (id or domain).
    pub tenant: String,
    pub service_principal_id: String,
    pub job: String,
    /// `start`, `pause` or `restart`.
    pub action: String,
    pub method: String,
    pub url: String,
    /// The JSON body sent, or null when none was.
    pub body: Option<Value>,
    /// The final HTTP status, or null when no answer came (transport failure).
    pub status: Option<u16>,
    /// Graph's `request-id` of a refusal.
    pub request_id: Option<String>,
    /// The `client-request-id` header sent.
    pub client_request_id: String,
    /// HTTP requests in all (more than one when a 429 was waited out).
    pub attempts: u64,
    pub error: Option<String>,
}

/// An open action log.
#[derive(Debug)]
pub(crate) struct ActionLog {
    path: PathBuf,
    file: File,
    /// The file ends inside a line (a run killed mid-write, or an edit): the next entry starts
    /// on a line of its own instead of being glued to that fragment.
    torn: bool,
}

impl ActionLog {
    /// Opens `path` for appending, creating it (and nothing else) when missing.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| {
                format!(
                    "opening the action log {} (choose another with --action-log FILE)",
                    path.display()
                )
            })?;
        Ok(ActionLog {
            path: path.to_owned(),
            torn: ends_inside_a_line(path),
            file,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it to disk.
    pub(crate) fn append(&mut self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(entry).context("serialising an action log entry")?;
        line.push('\n');
        if self.torn {
            line.insert(0, '\n');
        }
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing the action log {}", self.path.display()))?;
        self.torn = false;
        Ok(())
    }
}

/// Whether a non-empty file's last byte is not a line break.
fn ends_inside_a_line(path: &Path) -> bool {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1)).is_ok() && file.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// Reads every entry of an action log (for tests and tooling).
#[cfg(test)]
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the action log {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {}: not an action log entry", path.display(), i + 1)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> Entry {
        Entry {
            time: "2026-11-01T00:00:00Z".into(),
            tenant: "t".into(),
            service_principal_id: "sp".into(),
            job: "j".into(),
            action: action.into(),
            method: "POST".into(),
            url: "/x".into(),
            body: None,
            status: Some(204),
            request_id: None,
            client_request_id: "c".into(),
            attempts: 1,
            error: None,
        }
    }

    #[test]
    fn an_entry_after_a_torn_line_starts_a_line_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actions.jsonl");
        let mut log = ActionLog::open(&path).unwrap();
        log.append(&entry("start")).unwrap();
        drop(log);
        // A run killed in the middle of its write.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"time\":\"2026-11");
        std::fs::write(&path, &text).unwrap();
        let mut log = ActionLog::open(&path).unwrap();
        log.append(&entry("pause")).unwrap();
        log.append(&entry("restart")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(
            lines[1], "{\"time\":\"2026-11",
            "the fragment stays as it was"
        );
        for (line, action) in [
            (lines[0], "start"),
            (lines[2], "pause"),
            (lines[3], "restart"),
        ] {
            let e: Entry = serde_json::from_str(line).unwrap();
            assert_eq!(e.action, action);
        }
    }
}
