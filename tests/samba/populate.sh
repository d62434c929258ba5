#!/usr/bin/env bash
# Populates the test domain controller (started by dc.sh, env in DIR/dc.env) like a small
# company, over LDAPS as Administrator. The objects and what is planted in them are listed in
# company.ldif.in; values that need the server (an object's own objectGUID) are set afterwards.
#
#   tests/samba/populate.sh DIR
#   BULK_USERS=20000 tests/samba/populate.sh DIR    also adds that many plain users (benchmarks)
set -euo pipefail
dir=$(cd "${1:?usage: populate.sh DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$dir/dc.env"

in_ns() { nsenter -t "$NS_PID" -n "$@"; }
ldap() {
  # The password goes through a file (-y), never argv.
  LDAPTLS_CACERT="$CA_FILE" in_ns "$@" -x -H ldaps://127.0.0.1 -D "$BIND_DN" -y "$PASSWORD_FILE"
}

# Passwords for the enabled accounts: unicodePwd is the quoted password in UTF-16LE, base64.
user_password="Us3r-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')!"
unicode_pwd=$(printf '"%s"' "$user_password" | iconv -t UTF-16LE | base64 -w0)

sed -e "s/@BASE@/$BASE/g" -e "s|@UNICODEPWD@|$unicode_pwd|g" "$here/company.ldif.in" >"$dir/company.ldif"
ldap ldapadd -f "$dir/company.ldif" >"$dir/log/populate.log"

guid_of() {
  ldap ldapsearch -LLL -o ldif-wrap=no -b "$1" -s base objectGUID | sed -n 's/^objectGUID:: //p'
}
# mS-DS-ConsistencyGuid = its own objectGUID (what Entra Connect writes back when it uses
# ConsistencyGuid as the anchor), on Alice; the leaver is deleted (a tombstone, which a normal
# search does not return).
alice="CN=Alice Smith,OU=Staff,$BASE"
ldap ldapmodify >>"$dir/log/populate.log" <<LDIF
dn: $alice
changetype: modify
replace: mS-DS-ConsistencyGuid
mS-DS-ConsistencyGuid:: $(guid_of "$alice")

dn: CN=Frank Leaver,OU=Leavers,$BASE
changetype: delete

dn: CN=Partitions,CN=Configuration,$BASE
changetype: modify
add: uPNSuffixes
uPNSuffixes: contoso.com
LDIF

if [ "${BULK_USERS:-0}" -gt 0 ]; then
  python3 - "$BASE" "$BULK_USERS" >"$dir/bulk.ldif" <<'PY'
import sys
base, n = sys.argv[1], int(sys.argv[2])
print(f"dn: OU=Bulk,{base}\nobjectClass: organizationalUnit\n")
for i in range(n):
    print(f"dn: CN=Bulk User {i:06d},OU=Bulk,{base}\nobjectClass: user\nsAMAccountName: bulk{i:06d}\n"
          f"userPrincipalName: bulk{i:06d}@contoso.com\nmail: bulk{i:06d}@contoso.com\n"
          f"proxyAddresses: SMTP:bulk{i:06d}@contoso.com\nproxyAddresses: smtp:bulk{i:06d}@corp.contoso.com\n"
          f"displayName: Bulk User {i:06d}\nuserAccountControl: 514\n")
PY
  # Straight into sam.ldb (ldb locks it against the running samba): one process, no LDAP round
  # trips. Slow all the same: 20,000 users took 26 minutes on a shared 2-core machine.
  ldbadd -H "$SAM_LDB" "$dir/bulk.ldif" >>"$dir/log/populate.log"
fi
