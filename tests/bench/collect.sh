#!/usr/bin/env bash
# Reproducible benchmark of `entra-audit collect` against the simulated tenant (issue 4):
# 500,000 users, 100,000 contacts and 50,000 groups served with Graph-like latency and
# throttling, collected by entra-audit (wall time, peak RSS, requests, 429s, counts checked
# against the generator), then, in the same run and against the same server, Microsoft's Graph
# SDK for Python paging the same users with its PageIterator.
#
#   tests/bench/collect.sh                                  # the full benchmark
#   BENCH_USERS=20000 BENCH_CONTACTS=2000 BENCH_GROUPS=1000 tests/bench/collect.sh   # a quick one
#
# Each collection ends with one line for scripts:
#   collect-bench run=1 wall_s=24.31 peak_rss_mib=41 objects=672853 requests=812 throttled=0 server_429s=0 client_cpu_s=2.9 server_cpu_s=8.0 complete=yes
# (throttled: the 429s entra-audit counted; server_429s: the ones the simulator sent during the run).
#
# Knobs: BENCH_DIR (default /tmp/entra-audit-collect-bench), BENCH_USERS, BENCH_CONTACTS,
# BENCH_GROUPS, BENCH_LATENCY (default graph), BENCH_THROTTLE (default on), BENCH_RUNS (collections
# against the same server, 10 s apart; default 1), SKIP_SDK=1,
# ENTRA_AUDIT_BIN (default ${CARGO_TARGET_DIR:-target}/release/entra-audit), PYTHON.
# Needs: /usr/bin/time (Debian package `time`), curl; for the SDK: pip install msgraph-sdk.
# The SDK pages one page at a time and spends about 4 s of Python CPU on each page of 999 users,
# so at 500,000 users it runs for most of an hour: SKIP_SDK=1 there, and measure it with
# BENCH_USERS=100000 (the ratio printed is then the like-for-like one at that size).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-/tmp/entra-audit-collect-bench}
BENCH_USERS=${BENCH_USERS:-500000}
BENCH_CONTACTS=${BENCH_CONTACTS:-100000}
BENCH_GROUPS=${BENCH_GROUPS:-50000}
BENCH_LATENCY=${BENCH_LATENCY:-graph}
BENCH_THROTTLE=${BENCH_THROTTLE:-on}
BENCH_RUNS=${BENCH_RUNS:-1}
ENTRA_AUDIT_BIN=${ENTRA_AUDIT_BIN:-${CARGO_TARGET_DIR:-target}/release/entra-audit}
case "$ENTRA_AUDIT_BIN" in /*) ;; *) ENTRA_AUDIT_BIN="$ROOT/$ENTRA_AUDIT_BIN" ;; esac
die() { echo "collect.sh: $*" >&2; exit 2; }
[ -x "$ENTRA_AUDIT_BIN" ] || die "no binary at $ENTRA_AUDIT_BIN: cargo build --release, or set ENTRA_AUDIT_BIN"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"

rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"
TENANT=5e0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d
CLIENT=7a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9
# The simulator's own made-up secret; handed over in the environment, never in argv of the
# audited command.
export AZURE_CLIENT_SECRET="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

echo "== simulated tenant: $BENCH_USERS users, $BENCH_CONTACTS contacts, $BENCH_GROUPS groups (latency $BENCH_LATENCY, throttling $BENCH_THROTTLE)"
"$ENTRA_AUDIT_BIN" simulate --users "$BENCH_USERS" --contacts "$BENCH_CONTACTS" --groups "$BENCH_GROUPS" \
  --cloud-only $((BENCH_USERS / 100)) --latency "$BENCH_LATENCY" --throttle "$BENCH_THROTTLE" \
  --tenant-id "$TENANT" --client-id "$CLIENT" --client-secret "$AZURE_CLIENT_SECRET" \
  --write-onprem "$BENCH_DIR/onprem" > "$BENCH_DIR/simulate.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "^listening on" "$BENCH_DIR/simulate.log" 2>/dev/null && break
  kill -0 $SIM 2>/dev/null || { cat "$BENCH_DIR/simulate.log"; die "the simulator stopped"; }
  sleep 1
done
BASE=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$BENCH_DIR/simulate.log")
[ -n "$BASE" ] || die "the simulator did not start in 10 minutes"
# "N users, M contacts, K groups in the cloud; ..."
read -r EXP_USERS EXP_CONTACTS EXP_GROUPS < <(sed -n 's/^entra-audit simulate: \([0-9]*\) users, \([0-9]*\) contacts, \([0-9]*\) groups.*/\1 \2 \3/p' "$BENCH_DIR/simulate.log")
echo "   serving at $BASE: $EXP_USERS users, $EXP_CONTACTS contacts, $EXP_GROUPS groups in the cloud"

# The simulator's CPU time so far, in clock ticks (utime + stime of /proc/PID/stat).
sim_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SIM/stat" 2>/dev/null || echo 0; }

run_collect() {  # $1: run number
  local run=$1 snap="$BENCH_DIR/snapshot"
  echo "== entra-audit collect (run $run of $BENCH_RUNS)"
  curl -fsS "$BASE/_simulator/stats" > "$BENCH_DIR/simulator-stats.before.json" || echo '{}' > "$BENCH_DIR/simulator-stats.before.json"
  rm -rf "$snap"
  local sim_cpu_before; sim_cpu_before=$(sim_cpu_ticks)
  /usr/bin/time -v -o "$BENCH_DIR/collect.time" env ENTRA_AUDIT_NO_PROGRESS=1 ENTRA_AUDIT_LOG="${ENTRA_AUDIT_LOG:-entra_audit=info}" \
    "$ENTRA_AUDIT_BIN" collect \
    --tenant "$TENANT" --client-id "$CLIENT" --authority-host "$BASE" --graph-endpoint "$BASE" \
    --out "$snap" 2> "$BENCH_DIR/collect.$run.log" | tee "$BENCH_DIR/collect.$run.out"
  WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$BENCH_DIR/collect.time")
  RSS_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_DIR/collect.time")
  # CPU seconds of the client (user + system) and of the simulator during the collection: on a
  # machine of few cores the two compete, and these say which one the wall time waited for.
  CLIENT_CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$BENCH_DIR/collect.time")
  SERVER_CPU=$(awk -v a="$sim_cpu_before" -v b="$(sim_cpu_ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
  # What the server saw during this collection (429s, retries that came before Retry-After),
  # read before anything else adds requests.
  curl -fsS "$BASE/_simulator/stats" > "$BENCH_DIR/simulator-stats.json" || echo '{}' > "$BENCH_DIR/simulator-stats.json"
  "$PYTHON" - "$snap/manifest.json" "$BENCH_DIR/simulator-stats.before.json" "$BENCH_DIR/simulator-stats.json" \
    "$EXP_USERS" "$EXP_CONTACTS" "$EXP_GROUPS" "$WALL" "$RSS_KB" "$run" "$CLIENT_CPU" "$SERVER_CPU" <<'PY' | tee -a "$BENCH_DIR/collect.summary"
import json, sys
m = json.load(open(sys.argv[1]))["collections"]
before = json.load(open(sys.argv[2])); server = json.load(open(sys.argv[3]))
delta = lambda k: (server.get(k, 0) - before.get(k, 0)) if k in server else "?"
expected = dict(users=int(sys.argv[4]), contacts=int(sys.argv[5]), groups=int(sys.argv[6]))
wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(sys.argv[7].split(":"))))
rss_mib = int(sys.argv[8]) // 1024
ok = all(m[k]["status"] == "complete" and m[k]["objects"] == v for k, v in expected.items())
req = sum(c["requests"] for c in m.values()); thr = sum(c["throttled"] for c in m.values())
objects = sum(m[k]["objects"] for k in expected)
for k, v in expected.items():
    c = m[k]
    print(f"  {k:<9} {c['status']:<9} {c['objects']:>8} of {v:>8}  requests {c['requests']:>5}  429s {c['throttled']:>3}"
          f"  {c.get('seconds', '-')} s  strategy {c.get('strategy', '-')}")
print(f"counts equal the generator's: {'yes' if ok else 'NO'}; requests {req}; retries {sum(c['retries'] for c in m.values())}; 429s {thr}"
      f" (server: {delta('throttled')} 429s, {delta('early_retries')} early retries, {delta('resource_units')} resource units)")
print(f"entra-audit collect: wall {wall:.1f} s ({req / wall:.1f} requests/s), peak RSS {rss_mib} MiB;"
      f" CPU: client {sys.argv[10]} s, simulator {sys.argv[11]} s")
# The one line a script reads (a regression is one diff away).
print(f"collect-bench run={sys.argv[9]} wall_s={wall:.2f} peak_rss_mib={rss_mib} objects={objects} requests={req}"
      f" throttled={thr} server_429s={delta('throttled')} client_cpu_s={sys.argv[10]} server_cpu_s={sys.argv[11]}"
      f" complete={'yes' if ok else 'no'}")
json.dump({"wall_seconds": wall, "peak_rss_mib": rss_mib, "objects": objects, "requests": req, "throttled": thr, "complete": ok},
          open(sys.argv[1].rsplit("/", 2)[0] + "/collect.json", "w"))
sys.exit(0 if ok else 1)
PY
}

for run in $(seq 1 "$BENCH_RUNS"); do
  # Each run starts with Graph's 10 s resource-unit window refilled.
  [ "$run" = 1 ] || sleep 10
  run_collect "$run"
done

if [ "${SKIP_SDK:-0}" != 1 ]; then
  echo "== msgraph-sdk (Python) PageIterator over the same users (after Graph's 10 s throttling window)"
  sleep 10
  "$PYTHON" "$HERE/msgraph_sdk_users.py" "$BASE" "$TENANT" "$CLIENT" | tee "$BENCH_DIR/sdk.json"
  "$PYTHON" - "$BENCH_DIR/collect.json" "$BENCH_DIR/sdk.json" "$EXP_USERS" <<'PY'
import json, sys
collect = json.load(open(sys.argv[1])); sdk = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
users = int(sys.argv[3])
print(f"msgraph-sdk: {sdk['users']} of {users} users in {sdk['seconds']} s ({sdk['peak_rss_mib']} MiB);"
      f" entra-audit collect (users, contacts and groups) is {sdk['seconds'] / collect['wall_seconds']:.1f}x faster")
sys.exit(0 if sdk["users"] == users else 1)
PY
fi
