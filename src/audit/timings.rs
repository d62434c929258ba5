//! Where an audit spends its time and memory: one `info` log event per phase (import, scope,
//! tables, summary, each view and rule, outputs) with the phase's wall time, the time since the
//! audit started and the process's peak resident memory so far. Read them with
//! `ENTRA_AUDIT_LOG=info entra-audit --log-format json check ...` (one JSON object a line, field
//! `phase`); the benchmark (`tests/bench/run.sh`) and issue 15's profile come from these events.
//!
//! It measures and logs; it must not decide anything, and it writes nothing but log events.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A stopwatch for the phases of one run: `total_ms` counts from the first clock the process
/// started, so the audit's phases and the outputs written after it add up on one time line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    started: Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        static FIRST: OnceLock<Instant> = OnceLock::new();
        Self {
            started: *FIRST.get_or_init(Instant::now),
        }
    }

    /// Time since the run started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Logs that `phase` is done; it began at `began` (an [`Instant`] taken when it started).
    /// `rows` is what the phase produced (objects, rows, findings), when that means something.
    pub(crate) fn done(&self, phase: &str, began: Instant, rows: Option<usize>) {
        let took = began.elapsed();
        tracing::info!(
            phase,
            ms = millis(took),
            total_ms = millis(self.elapsed()),
            rows,
            peak_rss_mib = peak_rss_mib(),
            rss_mib = rss_mib(),
            "phase done"
        );
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The process's peak resident set size so far in MiB (`VmHWM` of `/proc/self/status`); `None`
/// where that file does not exist (not Linux).
pub(crate) fn peak_rss_mib() -> Option<u64> {
    status_mib("VmHWM:")
}

/// The process's resident set size now in MiB (`VmRSS`): with the peak, it shows what a phase
/// left behind.
pub(crate) fn rss_mib() -> Option<u64> {
    status_mib("VmRSS:")
}

fn status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn peak_rss_is_read_on_linux() {
        let peak = peak_rss_mib().expect("VmHWM is in /proc/self/status on Linux");
        // A test binary that links polars is larger than a mebibyte once it runs.
        assert!(peak >= 1, "{peak}");
    }
}
