//! Writing a collection's files: `NAME.jsonl` streamed one object a line through a buffer, and
//! the temporary files every collection is written to before it is renamed into place (created
//! afresh, never through a link). It knows nothing of Graph.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::AsyncWriteExt;

/// `NAME.jsonl` being written: one object a line, through a 1 MiB buffer, counted.
pub(super) struct JsonlWriter {
    path: PathBuf,
    w: tokio::io::BufWriter<tokio::fs::File>,
    pub(super) written: usize,
}

impl JsonlWriter {
    pub(super) async fn create(path: &Path) -> anyhow::Result<Self> {
        let file = create_new(path).await?;
        Ok(Self {
            path: path.to_owned(),
            w: tokio::io::BufWriter::with_capacity(1 << 20, file),
            written: 0,
        })
    }

    pub(super) async fn write(&mut self, raw: &RawValue) -> anyhow::Result<()> {
        write_line(&mut self.w, raw)
            .await
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// Starts the file over (a discarded partitioned pass, a refused filter).
    pub(super) async fn restart(&mut self) -> anyhow::Result<()> {
        *self = Self::create(&self.path).await?;
        Ok(())
    }

    pub(super) async fn close(self) -> anyhow::Result<usize> {
        close(self.w, &self.path).await?;
        Ok(self.written)
    }
}

/// One object on one line: Graph may pretty-print, and whitespace between tokens is the only
/// place a raw line break can be, so such an object is re-serialised compactly.
async fn write_line<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    raw: &RawValue,
) -> anyhow::Result<()> {
    let text = raw.get();
    if text.contains(['\n', '\r']) {
        let value: Value = serde_json::from_str(text)?;
        w.write_all(serde_json::to_string(&value)?.as_bytes())
            .await?;
    } else {
        w.write_all(text.as_bytes()).await?;
    }
    w.write_all(b"\n").await?;
    Ok(())
}

async fn close(mut w: tokio::io::BufWriter<tokio::fs::File>, path: &Path) -> anyhow::Result<()> {
    w.flush()
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    w.into_inner()
        .sync_all()
        .await
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates a temporary file afresh: whatever is at `path` (a file of a killed run, a planted
/// link) is removed first, and `create_new` refuses to open anything that reappears there, so a
/// write never goes through a link.
pub(super) async fn create_new(path: &Path) -> anyhow::Result<tokio::fs::File> {
    remove_if_exists(path).await?;
    tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .with_context(|| format!("creating {}", path.display()))
}

/// Writes `bytes` to a temporary file created afresh ([`create_new`]) and syncs it to disk, so the
/// rename that follows publishes a complete file.
pub(super) async fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = create_new(path).await?;
    file.write_all(bytes)
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .await
        .with_context(|| format!("writing {}", path.display()))
}

pub(super) async fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing stale {}", path.display())),
    }
}
