//! Where an audit spends its time and memory: one `info` log event per phase (import, scope,
//! tables, summary, each view and rule, outputs) with the phase's wall time, the process's CPU
//! time in it (`cpu_ms` over `ms` says how many cores the phase kept busy), the time since the
//! audit started and the process's peak resident memory so far; and one per table once the
//! tables are built, with its rows and the memory it holds (`table held`). Read them with
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

    /// Logs that `phase` is done; it began at `began` ([`Began::now`], taken when it started).
    /// `rows` is what the phase produced (objects, rows, findings), when that means something.
    pub(crate) fn done(&self, phase: &str, began: Began, rows: Option<usize>) {
        let took = began.wall.elapsed();
        // The process's CPU time: two phases that run side by side (the snapshot read and the
        // on-prem import) each count both.
        let cpu_ms = began
            .cpu
            .zip(process_cpu_time())
            .map(|(then, now)| millis(now.saturating_sub(then)));
        tracing::info!(
            phase,
            ms = millis(took),
            cpu_ms,
            total_ms = millis(self.elapsed()),
            rows,
            peak_rss_mib = peak_rss_mib(),
            rss_mib = rss_mib(),
            "phase done"
        );
    }
}

/// Logs what each table holds once the tables are built: where the memory of an audit goes.
pub(crate) fn tables_held(tables: &[crate::audit::tables::TableMemory]) {
    for table in tables {
        tracing::info!(
            table = table.name,
            rows = table.rows,
            mib = table.bytes >> 20,
            views_mib = table.views >> 20,
            text_mib = table.text >> 20,
            "table held"
        );
    }
}

/// When a phase began: the wall clock and the process's CPU time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Began {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Began {
    pub(crate) fn now() -> Self {
        Began {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }
}

/// User plus system CPU time of every thread of the process so far (`utime` and `stime`, fields
/// 14 and 15 of `/proc/self/stat`, in clock ticks); `None` where that file does not exist (not
/// Linux). A tick is 1/100 s: `USER_HZ` is 100 in the Linux user-space ABI, whatever the
/// kernel's own tick rate (see `proc_pid_stat(5)`).
fn process_cpu_time() -> Option<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system).saturating_mul(1000 / TICKS_PER_SECOND),
    ))
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

    #[test]
    #[cfg(target_os = "linux")]
    fn cpu_time_is_read_on_linux_and_grows_with_work() {
        let before = process_cpu_time().expect("/proc/self/stat is there on Linux");
        // Spin (not sleep) for 50 ms of wall time: that is CPU time, a few ticks of it.
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = process_cpu_time().expect("read again");
        assert!(after > before, "{before:?} then {after:?}");
    }
}
