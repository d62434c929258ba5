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
pub struct Entry {
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
pub struct ActionLog {
    path: PathBuf,
    file: File,
}

impl ActionLog {
    /// Opens `path` for appending, creating it (and nothing else) when missing.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
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
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it to disk.
    pub fn append(&mut self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(entry).context("serialising an action log entry")?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing the action log {}", self.path.display()))
    }
}

/// Reads every entry of an action log (for tests and tooling).
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
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
