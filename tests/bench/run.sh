#!/usr/bin/env bash
# Reproducible benchmark: `entra-audit check` over a generated hybrid tenant of about 1,000,000
# on-prem objects (LDIF) and 1,000,000 cloud objects (jsonl) with ~1 % planted problems, and DuckDB
# doing the soft-match join over the same data, for comparison.
#
#   tests/bench/run.sh                          # the full benchmark (release binary)
#   BENCH_USERS=20000 ENTRA_AUDIT_BIN=/work/cache/target/debug/entra-audit tests/bench/run.sh
#
# Knobs (environment):
#   BENCH_DIR           data and reports (default /tmp/entra-audit-bench; kept between runs and
#                       regenerated only when the parameters or the generator change)
#   BENCH_USERS         bulk on-prem users (default 872000); contacts and groups scale with it
#   BENCH_CONTACTS, BENCH_GROUPS, BENCH_CLOUD_ONLY, BENCH_SEED, BENCH_PROBLEM_RATE
#   ENTRA_AUDIT_BIN     the binary (default ${CARGO_TARGET_DIR:-target}/release/entra-audit)
#   PYTHON              python3 with pip (default python3); SKIP_DUCKDB=1 skips step (c)
#   BENCH_RUNS          how many times (b) and (c) run, one after the other (default 1): the
#                       summary gives the median wall time and the largest peak RSS, and every
#                       run's figures are printed, since a shared machine varies by 10-20 %
#
# Steps: (a) generate (`entra-audit simulate --out`, LDIF + JSON on-prem, jsonl cloud);
# (b) entra-audit check under /usr/bin/time -v: wall time, peak RSS, and its findings compared with
# the generator's expected.json; (c) DuckDB: load the same files and run the soft-match join
# (hard-matched objects excluded, then lower(UPN) and the primary SMTP address against cloud UPNs
# and every SMTP proxy address); (d) a summary table.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-/tmp/entra-audit-bench}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_USERS=${BENCH_USERS:-872000}
BENCH_CONTACTS=${BENCH_CONTACTS:-$((BENCH_USERS * 6 / 87))}
BENCH_GROUPS=${BENCH_GROUPS:-$((BENCH_USERS * 6 / 87))}
BENCH_CLOUD_ONLY=${BENCH_CLOUD_ONLY:-$((BENCH_USERS / 87))}
BENCH_PROBLEM_RATE=${BENCH_PROBLEM_RATE:-0.01}
ENTRA_AUDIT_BIN=${ENTRA_AUDIT_BIN:-${CARGO_TARGET_DIR:-target}/release/entra-audit}
BENCH_RUNS=${BENCH_RUNS:-1}
case "$ENTRA_AUDIT_BIN" in /*) ;; *) ENTRA_AUDIT_BIN="$ROOT/$ENTRA_AUDIT_BIN" ;; esac

die() { echo "run.sh: $*" >&2; exit 2; }
[ -x "$ENTRA_AUDIT_BIN" ] || die "no binary at $ENTRA_AUDIT_BIN: build it (cargo build --release) or set ENTRA_AUDIT_BIN"
case "$BENCH_DIR" in "$ROOT"|"$ROOT"/*) die "BENCH_DIR must be outside the checkout ($ROOT)";; esac
case "$BENCH_RUNS" in ''|*[!0-9]*|0) die "BENCH_RUNS must be a whole number of runs, 1 or more (got '$BENCH_RUNS')";; esac

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (apt-get install time)" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time >/dev/null
fi

# Wall seconds and peak RSS (MiB) from a `/usr/bin/time -v` log.
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$1"; }
rss_of() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

mkdir -p "$BENCH_DIR"
DATA="$BENCH_DIR/data"
# The generator is src/simulate/generator*.rs and export.rs: regenerate when they change.
GENERATOR_HASH=$(cat "$ROOT"/src/simulate/generator.rs "$ROOT"/src/simulate/generator/*.rs "$ROOT"/src/simulate/export.rs | sha256sum | cut -c1-16)
PARAMS="seed=$BENCH_SEED users=$BENCH_USERS contacts=$BENCH_CONTACTS groups=$BENCH_GROUPS cloud_only=$BENCH_CLOUD_ONLY rate=$BENCH_PROBLEM_RATE generator=$GENERATOR_HASH"

# --- (a) generate ----------------------------------------------------------------------------
if [ -f "$DATA/params" ] && [ "$(cat "$DATA/params")" = "$PARAMS" ]; then
    echo "== (a) data in $DATA is current ($PARAMS)"
    GEN_WALL="cached"; GEN_RSS="-"
else
    echo "== (a) generating into $DATA ($PARAMS)"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    /usr/bin/time -v -o "$BENCH_DIR/generate.time" "$ENTRA_AUDIT_BIN" simulate --out "$DATA" \
        --seed "$BENCH_SEED" --users "$BENCH_USERS" --contacts "$BENCH_CONTACTS" \
        --groups "$BENCH_GROUPS" --cloud-only "$BENCH_CLOUD_ONLY" --problem-rate "$BENCH_PROBLEM_RATE" \
        --tenant-health healthy --formats ldif,json 2> >(tee "$DATA/generate.log" >&2)
    echo "$PARAMS" > "$DATA/params"
    GEN_WALL="$(wall_of "$BENCH_DIR/generate.time") s"; GEN_RSS="$(rss_of "$BENCH_DIR/generate.time") MiB"
fi
COUNTS=$("$PYTHON" - "$DATA" <<'EOF'
import json, sys
m = json.load(open(f"{sys.argv[1]}/cloud/manifest.json"))["collections"]
cloud = m["users"]["objects"] + m["contacts"]["objects"] + m["groups"]["objects"]
onprem = sum(1 for line in open(f"{sys.argv[1]}/onprem/ad.json", encoding="utf-8")
             if line.startswith('{"ObjectClass":["user"]') or line.startswith('{"ObjectClass":["contact"]')
             or line.startswith('{"ObjectClass":["group"]'))
print(f"{onprem} {cloud}")
EOF
)
read -r N_ONPREM N_CLOUD <<<"$COUNTS"
SIZE_LDIF=$(du -m "$DATA/onprem/ad.ldif" | cut -f1)
SIZE_CLOUD=$(du -cm "$DATA"/cloud/*.json* | tail -1 | cut -f1)
echo "   on-prem: $N_ONPREM users/contacts/groups in ad.ldif (${SIZE_LDIF} MiB); cloud: $N_CLOUD users/contacts/groups (${SIZE_CLOUD} MiB)"

# --- (b) entra-audit check, as a function: run N ---------------------------------------------
# Sets CHECK_WALL, CHECK_RSS and VERDICT for the run.
run_check() {
    echo "== (b) run $1 of $BENCH_RUNS: $ENTRA_AUDIT_BIN check"
    REPORT="$BENCH_DIR/report"
    rm -rf "$REPORT"
    # The JSON log at info holds one `phase done` event per phase and rule (see src/audit/timings.rs).
    ENTRA_AUDIT_LOG=info /usr/bin/time -v -o "$BENCH_DIR/check.time" "$ENTRA_AUDIT_BIN" --log-format json check --cloud "$DATA/cloud" \
        --onprem "$DATA/onprem/ad.ldif" --out "$REPORT" --fail-on never > "$BENCH_DIR/check.log" 2>&1 \
        || { cat "$BENCH_DIR/check.log" >&2; die "entra-audit check failed"; }
    CHECK_WALL=$(wall_of "$BENCH_DIR/check.time"); CHECK_RSS=$(rss_of "$BENCH_DIR/check.time")
    VERDICT=$("$PYTHON" - "$DATA/expected.json" "$REPORT/findings.json" <<'EOF'
import collections, json, sys
key = lambda r: (r["rule"], r["cloud_object_id"], r["onprem_object_guid"])
expected = collections.Counter(map(key, json.load(open(sys.argv[1]))))
got = collections.Counter(map(key, json.load(open(sys.argv[2]))["findings"]))
missing, extra = expected - got, got - expected
print(f"{sum(got.values())} findings; expected {sum(expected.values())}: "
      f"{sum(missing.values())} missing, {sum(extra.values())} unexpected")
for k in list(missing)[:5]: print("   missing:", *k, file=sys.stderr)
for k in list(extra)[:5]: print("   unexpected:", *k, file=sys.stderr)
EOF
    )
    echo "   ${CHECK_WALL} s wall, ${CHECK_RSS} MiB peak RSS; $VERDICT"
    "$PYTHON" "$HERE/phases.py" "$BENCH_DIR/check.log"   # time and peak RSS per phase, view and rule
}

# --- (c) DuckDB: set up once, run as a function: run N --------------------------------------
# run_duckdb sets DUCK_WALL, DUCK_RSS and DUCK_NOTE for the run.
if [ "${SKIP_DUCKDB:-0}" != 1 ]; then
    if ! "$PYTHON" -c 'import duckdb' 2>/dev/null; then
        echo "   installing duckdb (pip install duckdb)"
        "$PYTHON" -m pip install --quiet duckdb
    fi
    DUCK_VERSION="$("$PYTHON" -c 'import duckdb; print(duckdb.__version__)')"
    cat > "$BENCH_DIR/duckdb_softmatch.py" <<'EOF'
import sys, time
import duckdb

data = sys.argv[1]
started = time.perf_counter()
con = duckdb.connect()
con.execute(f"""
CREATE TABLE onprem AS
WITH raw AS (
    SELECT * FROM read_json('{data}/onprem/ad.json', format = 'array', columns = {{
        ObjectClass: 'VARCHAR[]', ObjectGUID: 'VARCHAR', "mS-DS-ConsistencyGuid": 'VARCHAR',
        objectSid: 'VARCHAR', userPrincipalName: 'VARCHAR', mail: 'VARCHAR', proxyAddresses: 'VARCHAR[]'}})
)
SELECT
    lower(ObjectGUID) AS object_guid,
    CASE WHEN list_contains(ObjectClass, 'computer') THEN NULL
         WHEN list_contains(ObjectClass, 'user') OR list_contains(ObjectClass, 'inetOrgPerson') THEN 'user'
         WHEN list_contains(ObjectClass, 'contact') THEN 'contact'
         WHEN list_contains(ObjectClass, 'group') THEN 'group' END AS object_type,
    -- source anchor: mS-DS-ConsistencyGuid, else objectGUID in Guid.ToByteArray() order, base64
    coalesce("mS-DS-ConsistencyGuid", to_base64(unhex(
        substr(ObjectGUID, 7, 2) || substr(ObjectGUID, 5, 2) || substr(ObjectGUID, 3, 2) || substr(ObjectGUID, 1, 2)
        || substr(ObjectGUID, 12, 2) || substr(ObjectGUID, 10, 2) || substr(ObjectGUID, 17, 2)
        || substr(ObjectGUID, 15, 2) || replace(substr(ObjectGUID, 20), '-', '')))) AS source_anchor,
    objectSid AS object_sid,
    lower(userPrincipalName) AS upn_lower,
    -- the primary SMTP address: the proxy written `SMTP:` in upper case (no lambda: works on DuckDB 0.x to 2.x)
    lower(coalesce(nullif(regexp_extract(array_to_string(proxyAddresses, chr(10)), '(?m)^SMTP:(.+)$', 1), ''), mail)) AS primary_smtp
FROM raw
""")
con.execute("DELETE FROM onprem WHERE object_type IS NULL")
cols = "{id: 'VARCHAR', userPrincipalName: 'VARCHAR', mail: 'VARCHAR', proxyAddresses: 'VARCHAR[]', " \
       "onPremisesImmutableId: 'VARCHAR', onPremisesSyncEnabled: 'BOOLEAN', onPremisesSecurityIdentifier: 'VARCHAR'}"
con.execute(f"""
CREATE TABLE cloud AS
SELECT *, 'user' AS object_type FROM read_json('{data}/cloud/users.jsonl', format = 'newline_delimited', columns = {cols})
UNION ALL
SELECT *, 'contact' FROM read_json('{data}/cloud/contacts.jsonl', format = 'newline_delimited', columns = {cols})
UNION ALL
SELECT *, 'group' FROM read_json('{data}/cloud/groups.jsonl', format = 'newline_delimited', columns = {cols})
""")
loaded = time.perf_counter()
candidates = con.execute("""
WITH cloud_addresses AS (
    SELECT id, 'upn' AS kind, lower(userPrincipalName) AS address FROM cloud WHERE userPrincipalName IS NOT NULL
    UNION
    SELECT id, 'smtp', lower(substr(p, 6)) FROM (SELECT id, unnest(proxyAddresses) AS p FROM cloud)
    WHERE lower(substr(p, 1, 5)) = 'smtp:'
    UNION
    SELECT id, 'smtp', lower(mail) FROM cloud WHERE mail IS NOT NULL
),
cloud_primary AS (
    SELECT id, lower(coalesce(nullif(regexp_extract(array_to_string(proxyAddresses, chr(10)), '(?m)^SMTP:(.+)$', 1), ''), mail)) AS primary_smtp
    FROM cloud WHERE object_type = 'contact' AND onPremisesSyncEnabled
),
links AS (
    SELECT o.object_guid FROM onprem o JOIN cloud c ON o.source_anchor = c.onPremisesImmutableId
    WHERE o.object_type = 'user' AND c.object_type = 'user'
    UNION
    SELECT o.object_guid FROM onprem o JOIN cloud c ON o.object_sid = c.onPremisesSecurityIdentifier
    WHERE o.object_type = 'group' AND c.object_type = 'group'
    UNION
    SELECT o.object_guid FROM onprem o JOIN cloud_primary c ON o.primary_smtp = c.primary_smtp
    WHERE o.object_type = 'contact'
),
unlinked AS (SELECT * FROM onprem ANTI JOIN links USING (object_guid)),
keys AS (
    SELECT object_guid, 'upn' AS kind, upn_lower AS address FROM unlinked WHERE object_type = 'user' AND upn_lower IS NOT NULL
    UNION ALL
    SELECT object_guid, 'smtp', primary_smtp FROM unlinked WHERE primary_smtp IS NOT NULL
)
SELECT count(*) FROM (SELECT DISTINCT k.object_guid, a.id FROM keys k JOIN cloud_addresses a USING (kind, address))
""").fetchone()[0]
done = time.perf_counter()
print(f"{done - started:.2f} {loaded - started:.2f} {done - loaded:.2f} {candidates}")
EOF
fi
run_duckdb() {
    DUCK_WALL="skipped"; DUCK_RSS="-"; DUCK_NOTE=""
    [ "${SKIP_DUCKDB:-0}" != 1 ] || return 0
    echo "== (c) run $1 of $BENCH_RUNS: DuckDB $DUCK_VERSION: soft-match join over ad.json + users/contacts/groups.jsonl"
    /usr/bin/time -v -o "$BENCH_DIR/duckdb.time" "$PYTHON" "$BENCH_DIR/duckdb_softmatch.py" "$DATA" > "$BENCH_DIR/duckdb.out"
    read -r D_TOTAL D_LOAD D_QUERY D_PAIRS < "$BENCH_DIR/duckdb.out"
    DUCK_WALL=$(wall_of "$BENCH_DIR/duckdb.time"); DUCK_RSS="$(rss_of "$BENCH_DIR/duckdb.time") MiB"
    # Every candidate pair is one invalid-soft-match, object-type-mismatch or soft-match-takeover finding.
    D_EXPECTED=$("$PYTHON" -c 'import json, sys; print(len({(r["cloud_object_id"], r["onprem_object_guid"]) for r in json.load(open(sys.argv[1])) if r["rule"] in ("invalid-soft-match", "object-type-mismatch", "soft-match-takeover")}))' "$DATA/expected.json")
    DUCK_NOTE="load ${D_LOAD} s + join ${D_QUERY} s; ${D_PAIRS} soft-match candidate pairs (expected ${D_EXPECTED})"
    echo "   ${DUCK_WALL} s wall (process), ${DUCK_RSS} peak RSS; $DUCK_NOTE"
    DUCK_WALL="$DUCK_WALL s"
}

# --- the runs -------------------------------------------------------------------------------
CHECK_WALLS=(); CHECK_RSSES=(); DUCK_WALLS=(); ALL_OK=yes   # ALL_OK: every run found exactly what was planted
for run in $(seq 1 "$BENCH_RUNS"); do
    run_check "$run"
    run_duckdb "$run"
    CHECK_WALLS+=("$CHECK_WALL"); CHECK_RSSES+=("$CHECK_RSS"); DUCK_WALLS+=("${DUCK_WALL% s}")
    case "$VERDICT" in *": 0 missing, 0 unexpected") ;; *) ALL_OK=no ;; esac
    echo "BENCH-RUN run=$run check_wall_s=$CHECK_WALL check_peak_rss_mib=$CHECK_RSS duckdb_wall_s=${DUCK_WALL% s}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
CHECK_WALL=$(median "${CHECK_WALLS[@]}")
CHECK_RSS=$(printf '%s\n' "${CHECK_RSSES[@]}" | sort -g | tail -1)
if [ "${SKIP_DUCKDB:-0}" != 1 ]; then DUCK_WALL="$(median "${DUCK_WALLS[@]}") s"; fi

# --- (d) summary -----------------------------------------------------------------------------
echo
echo "== summary: $N_ONPREM on-prem + $N_CLOUD cloud objects, $(nproc) CPUs, $(uname -sr)"
printf '| %-50s | %10s | %10s | %s\n' "step" "wall" "peak RSS" "notes"
printf '| %-50s | %10s | %10s | %s\n' "generate (entra-audit simulate --out)" "$GEN_WALL" "$GEN_RSS" "$DATA"
printf '| %-50s | %10s | %10s | %s\n' "entra-audit check (LDIF + snapshot, all rules)" "$CHECK_WALL s" "$CHECK_RSS MiB" "$VERDICT"
printf '| %-50s | %10s | %10s | %s\n' "duckdb soft-match join (JSON + jsonl, incl. load)" "$DUCK_WALL" "$DUCK_RSS" "$DUCK_NOTE"
# One line for scripts (a regression is one diff away): wall seconds, peak RSS, objects, verdict.
# With several runs: the median wall time, the largest peak RSS, and every run's wall times.
echo "BENCH check wall_s=$CHECK_WALL peak_rss_mib=$CHECK_RSS onprem_objects=$N_ONPREM cloud_objects=$N_CLOUD findings_match=$ALL_OK duckdb_wall_s=${DUCK_WALL% s} runs=$BENCH_RUNS check_walls_s=$(IFS=,; echo "${CHECK_WALLS[*]}") duckdb_walls_s=$(IFS=,; echo "${DUCK_WALLS[*]}")"
