#!/usr/bin/env bash
# A Samba AD domain controller for the test suite, on loopback inside a network namespace that
# holds only `lo`, with every file it writes under one directory.
#
#   tests/samba/dc.sh start DIR   provision, start and populate; writes DIR/dc.env
#   tests/samba/dc.sh stop DIR    stop samba and the namespace holder (by the pids in DIR)
#
# DIR/dc.env holds NS_PID (run clients with `nsenter -t $NS_PID -n ...`), BASE, REALM, BIND_DN,
# PASSWORD_FILE, CA_FILE. Needs root, unshare, and `samba ldap-utils ldb-tools` (Debian).
# Provisioning follows https://wiki.samba.org/index.php/Setting_up_Samba_as_an_Active_Directory_Domain_Controller;
# timings: README "Testing against a real domain controller".
set -euo pipefail

cmd=${1:?usage: dc.sh start|stop DIR}
dir=${2:?usage: dc.sh start|stop DIR}
here=$(cd "$(dirname "$0")" && pwd)

realm=CORP.CONTOSO.COM
domain=CORP
base=DC=corp,DC=contoso,DC=com

stop() {
  if [ -f "$dir/pid/samba.pid" ]; then
    kill "$(cat "$dir/pid/samba.pid")" 2>/dev/null || true
  fi
  if [ -f "$dir/ns.pid" ]; then
    # The namespace holder; everything samba started lives in the namespace and dies with samba.
    kill "$(cat "$dir/ns.pid")" 2>/dev/null || true
  fi
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "dc.sh: unknown command $cmd" >&2; exit 2; }

if [ "$(id -u)" != 0 ]; then echo "dc.sh: needs root (samba provisions as root)" >&2; exit 3; fi
for tool in unshare nsenter samba samba-tool ldapsearch ldapmodify ldbsearch; do
  command -v "$tool" >/dev/null || { echo "dc.sh: $tool is not installed (apt-get install samba ldap-utils ldb-tools)" >&2; exit 3; }
done

mkdir -p "$dir/pid" "$dir/log" "$dir/run"
dir=$(cd "$dir" && pwd)

# The namespace: a process holding a fresh network namespace with only `lo`.
# Its stdio goes nowhere: a caller that waits for this script's output must not wait for it.
unshare -n sleep infinity </dev/null >/dev/null 2>&1 &
ns=$!
echo "$ns" >"$dir/ns.pid"
sleep 0.2
in_ns() { nsenter -t "$ns" -n "$@"; }
in_ns ip link set lo up

# A password only this run knows (Samba's complexity rules: upper, lower, digit, symbol).
password="Aa1!$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
umask 077
printf '%s' "$password" >"$dir/admin.password"
umask 022

in_ns samba-tool domain provision --realm="$realm" --domain="$domain" --server-role=dc \
  --dns-backend=SAMBA_INTERNAL --adminpass="$password" --targetdir="$dir/dc" \
  --host-name=DC1 --host-ip=127.0.0.1 --use-rfc2307 \
  --option="interfaces = lo" --option="bind interfaces only = yes" \
  --option="disable netbios = yes" \
  --option="log file = $dir/log/%m.log" --option="pid directory = $dir/pid" \
  --option="ncalrpc dir = $dir/run/ncalrpc" \
  --option="winbindd socket directory = $dir/run/winbindd" \
  --option="ntp signd socket directory = $dir/run/ntp_signd" \
  --option="dns update command = /bin/true" --option="spn update command = /bin/true" \
  >"$dir/log/provision.log" 2>&1 || { cat "$dir/log/provision.log" >&2; stop; exit 1; }

# Our own CA and a server certificate with subjectAltName (DNS name and 127.0.0.1): the
# certificate Samba generates has a CN only, which rustls (webpki) rightly refuses, as it would a
# real DC's certificate without SAN.
tls="$dir/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=entra-audit test CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.corp.contoso.com" \
  -keyout "$tls/dc.key" -out "$tls/dc.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:dc1.corp.contoso.com,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
openssl x509 -req -in "$tls/dc.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 2 -extfile "$tls/ext.cnf" -out "$tls/dc.pem" >/dev/null 2>&1
chmod 600 "$tls/dc.key" "$tls/ca.key"

conf="$dir/dc/etc/smb.conf"
# Provision copies the host's resolver as forwarder, and adds shares with system-wide paths.
sed -i '/dns forwarder/d' "$conf"
python3 - "$conf" "$tls" <<'PY'
import re, sys
path, tls = sys.argv[1], sys.argv[2]
text = open(path).read()
kept, skipping = [], False
for line in text.splitlines(keepends=True):
    if line.startswith("["):
        skipping = line.strip() in ("[printers]", "[print$]")
    if not skipping:
        kept.append(line)
text = "".join(kept)
# Simple binds over plain LDAP (loopback only) for the tests that need them; only the LDAP
# server: winbindd, DNS, the KDC and the rest are not what these tests talk to.
text = text.replace("[global]\n", "[global]\n\tldap server require strong auth = no\n\tserver services = ldap\n"
    f"\ttls enabled = yes\n\ttls keyfile = {tls}/dc.key\n\ttls certfile = {tls}/dc.pem\n\ttls cafile = {tls}/ca.pem\n", 1)
open(path, "w").write(text)
PY

in_ns samba -s "$conf" -D </dev/null >/dev/null 2>&1
for _ in $(seq 1 100); do
  if in_ns ldapsearch -x -H ldap://127.0.0.1 -s base -b '' defaultNamingContext >/dev/null 2>&1; then
    break
  fi
  sleep 0.2
done
in_ns ldapsearch -x -H ldap://127.0.0.1 -s base -b '' defaultNamingContext >/dev/null

cat >"$dir/dc.env" <<ENV
NS_PID=$ns
BASE=$base
REALM=$realm
BIND_DN=Administrator@corp.contoso.com
PASSWORD_FILE=$dir/admin.password
CA_FILE=$tls/ca.pem
SAMBA_SELF_SIGNED_CA=$dir/dc/private/tls/ca.pem
SAM_LDB=$dir/dc/private/sam.ldb
SMB_CONF=$conf
ENV

if [ "${DC_POPULATE:-yes}" = yes ]; then
  "$here/populate.sh" "$dir"
fi
echo "dc.sh: domain controller up in $dir (namespace holder $ns)"
