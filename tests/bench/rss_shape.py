#!/usr/bin/env python3
"""Where in a run the memory peaks: runs one `check` on run.sh's data, samples the process's
VmRSS every 4 ms from outside, and prints the largest sample of each quarter second beside the
phases (from the JSON log at info) that ended in it, then the run's largest sample. The log's
own peak per phase is VmHWM, which the kernel does not always raise; this is what RSS did.

    tests/bench/rss_shape.py BINARY [ARG ...]

BINARY is an entra-audit release build; ARGs are added to the `check` command line (for
example `--rule proxy-address-not-unique`, or `--rules-dir DIR --rule NAME` to measure a
variant of a rule). Environment: BENCH_DIR as for run.sh (the data is $BENCH_DIR/data; the
report and log go to $BENCH_DIR/rss-shape); anything else is passed on (for example
`_RJEM_MALLOC_CONF=background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0` to see the live
peak without freed pages waiting to be returned). Linux only (/proc).
"""
import json
import os
import shutil
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    bench = os.environ.get("BENCH_DIR", "/tmp/entra-audit-bench")
    data = os.path.join(bench, "data")
    out = os.path.join(bench, "rss-shape")
    if not os.path.isdir(os.path.join(data, "cloud")):
        print(f"rss_shape.py: no benchmark data in {data}: run tests/bench/run.sh first",
              file=sys.stderr)
        return 2
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    log_path = os.path.join(out, "check.log")
    env = dict(os.environ, ENTRA_AUDIT_LOG="info")
    command = [binary, "--log-format", "json", "check",
               "--cloud", os.path.join(data, "cloud"),
               "--onprem", os.path.join(data, "onprem", "ad.ldif"),
               "--out", os.path.join(out, "report"), "--fail-on", "never", *sys.argv[2:]]
    started = time.time()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        samples = []
        while process.poll() is None:
            try:
                with open(f"/proc/{process.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS"):
                            samples.append((time.time() - started, int(line.split()[1]) // 1024))
            except OSError:
                pass
            time.sleep(0.004)
    if process.returncode != 0 or not samples:
        print(f"rss_shape.py: the check exited {process.returncode}; see {log_path}",
              file=sys.stderr)
        return 1
    quarters = {}
    for at, rss in samples:
        quarter = int(at * 4)
        quarters[quarter] = max(quarters.get(quarter, 0), rss)
    phases = []
    with open(log_path) as log:
        for line in log:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            fields = event.get("fields", event)
            if fields.get("message") == "phase done":
                phases.append((fields["total_ms"] / 1000, fields["phase"]))
    next_phase = 0
    for quarter in sorted(quarters):
        ended = []
        while next_phase < len(phases) and phases[next_phase][0] < (quarter + 1) / 4:
            ended.append(phases[next_phase][1])
            next_phase += 1
        print(f"{quarter / 4:6.2f} s {quarters[quarter]:6d} MiB  {', '.join(ended)}")
    print(f"RSS-SHAPE peak_rss_mib={max(rss for _, rss in samples)} "
          f"wall_s={time.time() - started:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
