#!/usr/bin/env python3
"""Prints where an audit spent its time: the `phase done` events of a JSON log written with
`ENTRA_AUDIT_LOG=info entra-audit --log-format json check ...` (src/audit/timings.rs), one line
per phase, view and rule: wall ms, CPU ms (over wall: the cores it kept busy), ms since start, rows produced, peak RSS so far and RSS at its end; then the `table held` events: each table's rows and
the memory it holds once built, with its string views (16 bytes a value) and their text apart.

    python3 tests/bench/phases.py /tmp/entra-audit-bench/check.log
"""
import json
import sys


def events(path):
    """The `(message, fields)` of each event of a JSON log (lines that are not JSON skipped)."""
    for line in open(path, encoding="utf-8"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        fields = event.get("fields", event)
        yield fields.get("message"), fields


def main(path):
    held = []
    for message, fields in events(path):
        if message == "table held":
            held.append(fields)
            continue
        if message != "phase done":
            continue
        rows = "" if fields.get("rows") is None else fields["rows"]
        cpu = "" if fields.get("cpu_ms") is None else fields["cpu_ms"]
        print(f"   {fields['phase']:<42} {fields['ms']:>7} ms  cpu {cpu:>7} ms  (at {fields['total_ms'] / 1000:6.1f} s)"
              f"  {rows:>9} rows  peak {fields.get('peak_rss_mib', '?'):>6} MiB"
              f"  now {fields.get('rss_mib', '?'):>6} MiB")
    if held:
        total = lambda key: sum(t.get(key, 0) for t in held)
        print(f"   tables held once built: {total('mib'):,.0f} MiB"
              f" (string views {total('views_mib'):,.0f}, their text {total('text_mib'):,.0f},"
              f" the rest numbers, words and flags)")
        for t in sorted(held, key=lambda t: -t["mib"]):
            print(f"     {t['table']:<40} {t['rows']:>10} rows  {t['mib']:>8,.0f} MiB"
                  f"  views {t.get('views_mib', '?'):>5}  text {t.get('text_mib', '?'):>5}")


if __name__ == "__main__":
    main(sys.argv[1])
