#!/bin/sh
# Seeds each fuzz target's corpus (fuzz/corpus/TARGET/) from the repository's fixtures: the
# on-prem samples and the hostile corpus per format, snapshot collections, tenants and
# suppressions files, the rules' SQL files, and $filter expressions the collector sends.
set -eu
cd "$(dirname "$0")/.."
c=fuzz/corpus
mkdir -p $c/onprem_ldif $c/onprem_csv $c/onprem_json $c/snapshot $c/configs $c/odata_filter $c/rule_front_matter
# The targets prepend the format's first line: seed with the rest of each file.
for f in fixtures/onprem-samples/*.ldif fixtures/hostile/onprem/ldif-*.ldif fixtures/tenant/onprem/*.ldif; do
  [ -f "$f" ] && cp "$f" "$c/onprem_ldif/$(basename "$f")"
done
for f in fixtures/onprem-samples/*.csv fixtures/hostile/onprem/csv-*.csv fixtures/tenant/onprem/*.csv; do
  [ -f "$f" ] && tail -n +2 "$f" > "$c/onprem_csv/$(basename "$f")"
done
for f in fixtures/onprem-samples/*.json fixtures/hostile/onprem/json-*.json fixtures/tenant/onprem/*.json; do
  [ -f "$f" ] && cut -c2- "$f" > "$c/onprem_json/$(basename "$f")"
done
for f in fixtures/tenant/cloud/*.json fixtures/hostile/cloud/*/users.json fixtures/graph-samples/users-*.json; do
  [ -f "$f" ] && cp "$f" "$c/snapshot/$(echo "$f" | tr / _)"
done
for f in fixtures/hostile/config/*.toml; do
  printf '\000' | cat - "$f" > "$c/configs/t-$(basename "$f")"
  printf '\001' | cat - "$f" > "$c/configs/s-$(basename "$f")"
done
for f in queries/*/*.sql; do cp "$f" "$c/rule_front_matter/$(basename "$f")"; done
i=0
for q in "startswith(displayName,'a')" "onPremisesSyncEnabled eq true" \
         "proxyAddresses/any(p:startswith(p,'smtp:'))" "id in ('a','b') and not (mail eq null)" \
         "\$filter=onPremisesProvisioningErrors/any(e:e/category eq 'PropertyConflict')&\$count=true&\$top=999"; do
  i=$((i + 1)); printf '%s' "$q" > "$c/odata_filter/seed-$i"
done
echo "seeded: $(find $c -type f | wc -l) files"
