#!/usr/bin/env bash
# Two builds of entra-audit compared on the 1M benchmark's data, their runs interleaved (A, B, A,
# B, ...) so that a shared machine's drift, which moves one build's time by 10-20 % within the
# hour, falls on both alike. Prints each pair (wall, CPU, page faults, peak RSS, and the read,
# sync model, tables and views-and-rules phases), the medians, in how many pairs B was faster,
# and whether the two builds' findings are identical (findings.json without the tool line).
#
#   tests/bench/run.sh                                   # once: generates the data
#   tests/bench/compare.sh OLD_BINARY NEW_BINARY [PAIRS] # PAIRS defaults to 4
#
# Knobs (environment): BENCH_DIR as for run.sh (the data is $BENCH_DIR/data, the runs' logs and
# outputs go to $BENCH_DIR/compare); PYTHON (default python3).
#
# Ends with one line a script can read:
# COMPARE pairs=4 a_wall_s=... b_wall_s=... a_cpu_s=... b_cpu_s=... a_faults=... b_faults=...
#   a_peak_rss_mib=... b_peak_rss_mib=... b_faster_in=... findings_identical=yes
# (medians, and the largest peak).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-/tmp/entra-audit-bench}
DATA="$BENCH_DIR/data"
OUT="$BENCH_DIR/compare"

die() { echo "compare.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: compare.sh OLD_BINARY NEW_BINARY [PAIRS]"
A=$1 B=$2 PAIRS=${3:-4}
for bin in "$A" "$B"; do [ -x "$bin" ] || die "no binary at $bin"; done
case "$PAIRS" in ''|*[!0-9]*|0) die "PAIRS must be a whole number, 1 or more (got '$PAIRS')";; esac
[ -f "$DATA/onprem/ad.ldif" ] && [ -d "$DATA/cloud" ] \
    || die "no benchmark data in $DATA: run tests/bench/run.sh first"
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install time; run.sh installs it)"

rm -rf "$OUT"
mkdir -p "$OUT"
for pair in $(seq 1 "$PAIRS"); do
    for side in a b; do
        bin=$A; [ "$side" = b ] && bin=$B
        run="$OUT/$side$pair"
        echo "pair $pair of $PAIRS: $side ($bin)" >&2
        # Wall s, peak RSS KiB, user s, system s, page faults (minor + major).
        ENTRA_AUDIT_LOG=info /usr/bin/time -f "%e %M %U %S %R %F" -o "$run.time" \
            "$bin" --log-format json check --cloud "$DATA/cloud" --onprem "$DATA/onprem/ad.ldif" \
            --out "$run" --fail-on never > /dev/null 2> "$run.log"
    done
done

"$PYTHON" - "$OUT" "$PAIRS" "$HERE" <<'EOF'
import json
import statistics
import sys

out, pairs = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from phases import events  # noqa: E402 (the log's events, read as phases.py reads them)


def measure(run):
    wall, rss_kib, user, system, minor, major = open(f"{run}.time").read().split()[-6:]
    phases = {fields["phase"]: (fields["ms"], fields["total_ms"])
              for message, fields in events(f"{run}.log") if message == "phase done"}
    # The snapshot read and the on-prem import run side by side: the read phase ends with the
    # later of the two.
    read = max(phases.get(p, (0, 0))[1] for p in ("cloud snapshot read", "on-prem import"))
    return {
        "wall": float(wall),
        "cpu": float(user) + float(system),
        "faults": int(minor) + int(major),
        "peak": int(rss_kib) // 1024,
        "read": read / 1000,
        "sync": phases.get("sync model and scope", (0, 0))[0] / 1000,
        "tables": phases.get("tables", (0, 0))[0] / 1000,
        "rules": phases.get("rules", (0, 0))[0] / 1000,
    }


def findings(run):
    data = json.load(open(f"{run}/findings.json", encoding="utf-8"))
    data.pop("tool", None)

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if k not in ("elapsed_ms", "duration_ms", "timings", "generated_at")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return json.dumps(strip(data), sort_keys=True)


# Columns that count (page faults, MiB) are shown whole, even where the median of an even number
# of pairs falls between two counts; the others are seconds.
COUNTS = ("faults", "peak")


def shown(column, value):
    return f"{value:.0f}" if column in COUNTS else f"{value:.2f}"


def row(label, a, b):
    print(f"{label:<7}" + "".join(f" {shown(c, a[c]) + ' / ' + shown(c, b[c]):>21}" for c in columns))


runs = {side: [measure(f"{out}/{side}{i}") for i in range(1, pairs + 1)] for side in "ab"}
# Seconds, except page faults (a count) and the peak (MiB); "A / B" in each cell.
columns = ["wall", "cpu", "faults", "peak", "read", "sync", "tables", "rules"]
print(f"{'pair':<7}" + "".join(f" {c:>21}" for c in columns))
for i in range(pairs):
    row(str(i + 1), runs["a"][i], runs["b"][i])
median = {side: {c: statistics.median(r[c] for r in runs[side]) for c in columns} for side in "ab"}
row("median", median["a"], median["b"])
faster = sum(b["wall"] < a["wall"] for a, b in zip(runs["a"], runs["b"]))
identical = all(findings(f"{out}/a{i}") == findings(f"{out}/b{i}") for i in range(1, pairs + 1))
print(f"COMPARE pairs={pairs} a_wall_s={median['a']['wall']:.2f} b_wall_s={median['b']['wall']:.2f}"
      f" a_cpu_s={median['a']['cpu']:.1f} b_cpu_s={median['b']['cpu']:.1f}"
      f" a_faults={median['a']['faults']:.0f} b_faults={median['b']['faults']:.0f}"
      f" a_peak_rss_mib={max(r['peak'] for r in runs['a'])}"
      f" b_peak_rss_mib={max(r['peak'] for r in runs['b'])}"
      f" b_faster_in={faster} findings_identical={'yes' if identical else 'no'}")
sys.exit(0 if identical else 1)
EOF
