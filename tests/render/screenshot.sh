#!/usr/bin/env bash
# Renders the demo tenant's report.html in headless Chromium (Debian's `chromium` package) and
#  1. saves a screenshot (default docs/report-screenshot.png) for a person to look at;
#  2. proves the page loads nothing from outside itself: Chromium's network log of a full load
#     holds no request but the file itself, and the console shows no blocked load (the page's
#     Content-Security-Policy is default-src 'none': a stray load would be refused and logged);
#  3. proves the script ran without error: the DOM after load has the findings table filled.
# Optionally (LARGE=N) also audits a simulated tenant and checks the table of a big report.
#
# Usage: tests/render/screenshot.sh [OUT.png]
#   REPORT_DIR=/tmp/ea-report   where the demo report is written
#   LARGE=40000                 also render a generated tenant with about N users (slow in a debug
#                               build: give a release binary)
#   ENTRA_AUDIT_BIN=PATH        use this binary instead of building the debug one
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out_png=${1:-$root/docs/report-screenshot.png}
report_dir=${REPORT_DIR:-/tmp/ea-report}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v chromium >/dev/null; then
    echo "chromium not found (Debian: apt-get install -y chromium)" >&2
    exit 2
fi
cd "$root"
if [[ -n ${ENTRA_AUDIT_BIN:-} ]]; then
    bin=$ENTRA_AUDIT_BIN
else
    cargo build -q
    bin=${CARGO_TARGET_DIR:-$root/target}/debug/entra-audit
fi
"$bin" check --cloud fixtures/tenant/cloud --onprem fixtures/tenant/onprem/ad.ldif \
    --out "$report_dir" --fail-on never >/dev/null

# A fresh profile and no background services: the only traffic left is the page's own.
chrome=(chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile"
    --no-first-run --disable-extensions --disable-sync --disable-default-apps
    --disable-background-networking --disable-component-update --disable-domain-reliability
    --enable-logging=stderr --v=0)

# page_requests PAGE NAME: loads PAGE once with a network log and a console log; prints the URLs
# the page itself requested (Chromium's own update/time/account calls carry the initiator
# "not an origin"; a request made by a file:// page carries "null"), one a line.
page_requests() {
    local page=$1 name=$2
    rm -rf "$work/profile"
    "${chrome[@]}" --log-net-log="$work/$name.net.json" --virtual-time-budget=10000 \
        --dump-dom "$page" >"$work/$name.dom.html" 2>"$work/$name.log"
    python3 - "$work/$name.net.json" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
for e in log["events"]:
    p = e.get("params", {})
    if types.get(e["type"]) == "URL_REQUEST_START_JOB" and p.get("url") and p.get("initiator") != "not an origin":
        print(p["url"])
EOF
}

# console_problems NAME: blocked loads (the page's CSP is default-src 'none') and script errors.
console_problems() {
    grep -E "Content Security Policy|Refused to|Uncaught|:ERROR:CONSOLE" "$work/$1.log" || true
}

# The detectors first, on pages known to load something: they must see it.
printf '<!DOCTYPE html><img src="http://127.0.0.1:9/probe.png">' >"$work/control.html"
[[ -n $(page_requests "file://$work/control.html" control) ]] \
    || { echo "control: the network log did not show a known external load" >&2; exit 1; }
printf '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src %s"><img src="http://127.0.0.1:9/probe.png">' "'none'" >"$work/control-csp.html"
page_requests "file://$work/control-csp.html" control-csp >/dev/null
[[ -n $(console_problems control-csp) ]] \
    || { echo "control: the console did not show a blocked load" >&2; exit 1; }

# check PAGE NAME: the report loads nothing, logs no problem, and its script filled the table.
check() {
    local page=$1 name=$2 requests problems
    requests=$(page_requests "$page" "$name")
    if [[ -n $requests ]]; then
        echo "$name: report.html requested: $requests" >&2
        exit 1
    fi
    problems=$(console_problems "$name")
    if [[ -n $problems ]]; then
        echo "$name: $problems" >&2
        exit 1
    fi
    echo "$name: no request but the file itself, no console error"
    grep -o 'id="count"[^<]*' "$work/$name.dom.html" | sed 's/.*>/findings table: /' \
        || { echo "$name: the findings table was not rendered" >&2; exit 1; }
}

check "file://$report_dir/report.html" demo
"${chrome[@]}" --screenshot="$out_png" --window-size=1400,2200 --hide-scrollbars \
    "file://$report_dir/report.html" 2>"$work/shot.log"
echo "screenshot: $out_png"

if [[ -n ${LARGE:-} ]]; then
    big=$work/large
    # `simulate --out` writes the files and exits. Problems are half the objects.
    "$bin" simulate --out "$big" --seed 7 --users "$LARGE" --contacts $((LARGE / 10)) \
        --groups $((LARGE / 20)) --problem-rate 0.5 --formats ldif >/dev/null
    start=$(date +%s.%N)
    "$bin" check --cloud "$big/cloud" --onprem "$big/onprem/ad.ldif" --out "$big/out" --fail-on never >/dev/null
    echo "large: audit and report in $(echo "$(date +%s.%N) - $start" | bc) s;" \
        "report.html $(du -h "$big/out/report.html" | cut -f1)," \
        "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$big/out/findings.json") findings"
    start=$(date +%s.%N)
    check "file://$big/out/report.html" large
    echo "large: loaded in Chromium (load, parse, first page) in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
