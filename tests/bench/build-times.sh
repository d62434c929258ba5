#!/usr/bin/env bash
# How long `cargo test --no-run` takes for a contributor: the crate cold (dependencies already
# built), then warm after touching one rule file and after touching one src file.
#
#   tests/bench/build-times.sh [TREE] [LABEL]     # default: this checkout, "now"
#
# Uses its own target dir (BUILD_TIMES_TARGET, default /tmp/entra-audit-build-times) so that
# a tree's numbers do not depend on what the main target dir last built. Prints one line per
# measurement: LABEL STEP SECONDS load=LOAD (the 1-minute load average when it ended: the
# figure is only comparable to another taken under a similar load).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=${1:-$(cd "$HERE/../.." && pwd)}
label=${2:-now}
export CARGO_TARGET_DIR=${BUILD_TIMES_TARGET:-/tmp/entra-audit-build-times}
cd "$tree" || exit 2
measure() {
  local start end
  start=$(date +%s.%N)
  cargo test --no-run -q >/dev/null 2>&1 || { echo "$label $1 build failed" >&2; exit 2; }
  end=$(date +%s.%N)
  printf '%s %s %.0f s load=%s\n' "$label" "$1" "$(echo "$end - $start" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}
cargo build -q --tests >/dev/null 2>&1 || true   # the dependencies, not measured
cargo clean -q -p entra-audit
measure cold-crate
touch queries/sync-health/cloud-sync-job-failing.sql
measure touch-rule
touch "$(ls src/audit/tables.rs src/audit/tables/mod.rs src/tables.rs 2>/dev/null | head -1)"
measure touch-src
