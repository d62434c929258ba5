#!/usr/bin/env python3
"""Generate a deterministic hybrid tenant for entra-audit: a cloud snapshot, the matching on-prem
AD export (LDIF, PowerShell CSV, ConvertTo-Json JSON) and the ground truth of every finding.

    python3 tests/bench/generate_tenant.py --seed 7 --out fixtures/tenant --tenant-health dirsync-stale
    python3 tests/bench/generate_tenant.py --seed 1 --out /tmp/t --users 880000 --jsonl --formats ldif,json

What it writes (DIR = --out):

- DIR/cloud/: the snapshot directory `entra-audit check --cloud` reads: users, contacts, groups
  (`.json` as `{"value":[...]}`, or `.jsonl` with --jsonl), organization.json (beta shape, with
  onPremisesLastPasswordSyncDateTime), domains.json, synchronizationJobs.json, directoryRoles.json
  and manifest.json. Property names are Graph's (camelCase); onPremisesSyncEnabled is tri-state.
- DIR/onprem/ad.ldif (ldifde -f: CRLF, leading blank line, `changetype: add`, binary and non-ASCII
  values base64, lines folded at 78), ad.csv (Windows PowerShell 5.1 Export-Csv: UTF-8 BOM, #TYPE
  line, every field quoted, multi-values joined with `;`), ad.json (what `entra-audit onprem-script`
  writes: an array of compressed ConvertTo-Json objects, one per line). The three hold the same
  objects, plus OUs and computers that the importer must skip.
- DIR/expected.json: every finding the rules must report, as
  `[{"rule", "cloud_object_id", "onprem_object_guid"}]`, derived from what was planted below (never
  from running the tool). A tuple appears twice when the rule must report it twice (two provisioning
  errors on one object). DIR/planted.json holds `{"command": how it was generated, "cases": [...]}`:
  per planted case, which objects it made and why each expected finding follows from the rule's
  documented semantics (queries/**/*.sql).

Everything that is not planted is healthy and must produce no finding: synced users hard-match by
source anchor (base64 of mS-DS-ConsistencyGuid when set, else of objectGUID in Guid.ToByteArray()
order) and carry the same addresses on both sides; synced groups carry onPremisesSecurityIdentifier
= objectSid; synced contacts carry the same primary SMTP address; every UPN suffix is verified;
every address is unique (each generated address embeds a serial number).

Problems are planted as "cases" (see CASES): each case makes a few related objects and records
the findings they imply, including the ones a second rule legitimately adds (a formerly synced
user that refuses a soft match is also a stale-cloud-only leftover, a synced user whose
quarantined address a cloud-only user holds is also a duplicate-attribute pair, and so on).
--problem-rate sets how many cases: that fraction of the bulk on-prem objects, spread evenly over
the case kinds, at least --min-per-case of each (so every rule has at least two findings). The
tenant-level rules follow --tenant-health, the Cloud Sync rules --quarantined-jobs/--failing-jobs.

Standard library only; streams every file, so 1,000,000 + 1,000,000 objects fit in little memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import time
import unicodedata
from datetime import datetime, timedelta, timezone

# ---------------------------------------------------------------------------------------------
# The tenant's fixed shape
# ---------------------------------------------------------------------------------------------

TENANT_NAME = "Contoso Ltd"
INITIAL_DOMAIN = "contoso.onmicrosoft.com"
ROUTING_DOMAIN = "contoso.mail.onmicrosoft.com"
# (name, isDefault): verified custom domains. fabrikam.com is the UPN suffix of the Cloud Sync forest.
VERIFIED_DOMAINS = [("contoso.com", True), ("contoso.co.uk", False), ("fabrikam.com", False)]
UNVERIFIED_DOMAIN = "contoso.de"  # added to the tenant, never verified
AD_DOMAIN = "corp.local"  # the exported forest; also its (non-routable) default UPN suffix
AD_DC = "DC=corp,DC=local"
AD_NETBIOS = "CORP"
OTHER_FOREST = "fabrikam.local"  # synced by Cloud Sync, not in the export
OTHER_DC = "DC=fabrikam,DC=local"
OTHER_NETBIOS = "FABRIKAM"
QUARANTINE_FOREST = "tailspintoys.local"
FAILING_FOREST = "wingtiptoys.local"
# Cloud Sync application template; its service principals are named after the domain
# (https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph).
CLOUD_SYNC_APP_ID = "1a4721b3-e57f-4451-ae87-ef078703ec94"

SITES = [  # (site, OU name, UPN/mail domain)
    ("Seattle", "Seattle", "contoso.com"),
    ("New York", "NewYork", "contoso.com"),
    ("London", "London", "contoso.co.uk"),
    ("Berlin", "Berlin", "contoso.com"),
    ("Sydney", "Sydney", "contoso.com"),
]
DEPARTMENTS = ["Sales", "Marketing", "Finance", "HR", "Engineering", "Support", "Legal", "Operations",
               "IT", "Procurement", "Research", "Facilities"]
TITLES = ["Analyst", "Manager", "Engineer", "Specialist", "Coordinator", "Director", "Consultant",
          "Associate", "Administrator", "Assistant"]
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
         "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
         "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
         "Paul", "Ashley", "Steven", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Carol",
         "Brian", "Amanda", "Anna", "Lukas", "Sofia", "Noah", "Mia", "Liam", "Emma", "Oliver", "Priya",
         "Wei", "Hiroshi", "Fatima", "Zoë", "Jürgen", "José", "Søren", "Łukasz", "Chloé", "Björn", "Inés"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
        "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
        "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
        "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
        "Hill", "Flores", "Schmidt", "Schneider", "Fischer", "Weber", "Kowalski", "Novak", "Rossi",
        "Tanaka", "Singh", "Patel", "Müller", "Çelik", "Núñez", "Østergaard", "Dvořák", "Lefèvre"]
PARTNER_DOMAINS = ["northwindtraders.com", "adventure-works.com", "litwareinc.com", "proseware.com",
                   "alpineskihouse.com", "woodgrovebank.com"]
GUEST_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com"]
EXCHANGE_LEGACY_ORG = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
LEGACY_X500 = "/o=Contoso/ou=First Administrative Group/cn=Recipients/cn="

ROLE_TEMPLATES = {  # displayName -> roleTemplateId (Entra built-in roles)
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Hybrid Identity Administrator": "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
    "Directory Synchronization Accounts": "d29b2b05-8046-44ba-8758-1e26182fcf32",
}

LDIF_WIDTH = 78  # what ldifde writes (see fixtures/onprem-samples/three-objects.ldif)

ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def fold_ascii(text: str) -> str:
    """ASCII letters for addresses: Zoë -> Zoe, Søren -> Soren, Łukasz -> Lukasz."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalpha())


FIRST_ASCII = [fold_ascii(n).lower() for n in FIRST]
LAST_ASCII = [fold_ascii(n).lower() for n in LAST]


# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------

def uuid4_int(rng: random.Random) -> int:
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (0x4 << 76)
    return (n & ~(0xC << 60)) | (0x8 << 60)


def guid_text(n: int) -> str:
    h = "%032x" % n
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def guid_le(n: int) -> bytes:
    """The GUID's bytes in .NET Guid.ToByteArray() order: the first three groups little-endian."""
    b = n.to_bytes(16, "big")
    return b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sid_bytes(sid: str) -> bytes:
    parts = sid.split("-")
    subs = [int(p) for p in parts[3:]]
    return (bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big")
            + b"".join(s.to_bytes(4, "little") for s in subs))


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def gen_time(t: datetime) -> str:
    """LDAP GeneralizedTime as ldifde writes whenCreated."""
    return t.strftime("%Y%m%d%H%M%S.0Z")


# ---------------------------------------------------------------------------------------------
# On-prem writers
# ---------------------------------------------------------------------------------------------

OBJECT_CLASSES = {
    "user": ("top", "person", "organizationalPerson", "user"),
    "contact": ("top", "person", "organizationalPerson", "contact"),
    "group": ("top", "group"),
    "computer": ("top", "person", "organizationalPerson", "user", "computer"),
    "ou": ("top", "organizationalUnit"),
}
# Get-ADObject's ObjectClass: the most specific class.
PS_CLASS = {"user": "user", "contact": "contact", "group": "group", "computer": "computer",
            "ou": "organizationalUnit"}


def ldif_line(name: str, value: str) -> str:
    """`name: value`, or `name:: base64` for non-ASCII text and values LDIF cannot hold plainly."""
    if value.isascii() and value[:1] not in (" ", ":", "<") and not value.endswith(" "):
        return ldif_fold(f"{name}: {value}")
    return ldif_fold(f"{name}:: {b64(value.encode('utf-8'))}")


def ldif_fold(line: str) -> str:
    """ldifde folds long lines: the rest continues on lines that start with one space."""
    if len(line) <= LDIF_WIDTH:
        return line
    parts = [line[:LDIF_WIDTH]]
    for i in range(LDIF_WIDTH, len(line), LDIF_WIDTH - 1):
        parts.append(" " + line[i:i + LDIF_WIDTH - 1])
    return "\r\n".join(parts)


def ldif_binary(name: str, data: bytes) -> str:
    return ldif_fold(f"{name}:: {b64(data)}")


class LdifWriter:
    def __init__(self, path: str):
        self.f = open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)
        self.f.write("\r\n")  # ldifde starts with a blank line

    def write(self, o: dict) -> None:
        cls = o["cls"]
        dn = o["dn"]
        lines = [ldif_line("dn", dn), "changetype: add"]
        lines += ["objectClass: " + c for c in OBJECT_CLASSES[cls]]
        if cls == "ou":
            lines += [ldif_line("ou", o["cn"]), ldif_line("distinguishedName", dn), "instanceType: 4",
                      "whenCreated: " + o["created_gt"], ldif_line("name", o["cn"]),
                      ldif_binary("objectGUID", guid_le(o["guid"])),
                      f"objectCategory: CN=Organizational-Unit,CN=Schema,CN=Configuration,{o['dc']}"]
            self.f.write("\r\n".join(lines) + "\r\n\r\n")
            return
        lines.append(ldif_line("cn", o["cn"]))
        if o.get("sn"):
            lines.append(ldif_line("sn", o["sn"]))
        if o.get("title"):
            lines.append(ldif_line("title", o["title"]))
        if o.get("given"):
            lines.append(ldif_line("givenName", o["given"]))
        lines += [ldif_line("distinguishedName", dn), "instanceType: 4", "whenCreated: " + o["created_gt"]]
        if o.get("display"):
            lines.append(ldif_line("displayName", o["display"]))
        if o.get("dept"):
            lines.append(ldif_line("department", o["dept"]))
        if o.get("company"):
            lines.append(ldif_line("company", o["company"]))
        lines.append(ldif_line("name", o["cn"]))
        lines.append(ldif_binary("objectGUID", guid_le(o["guid"])))
        if o.get("uac") is not None:
            lines.append(f"userAccountControl: {o['uac']}")
        if o.get("group_type") is not None:
            lines.append(f"groupType: {o['group_type']}")
        if o.get("sid"):
            lines.append(ldif_binary("objectSid", sid_bytes(o["sid"])))
        if o.get("sam"):
            lines.append(ldif_line("sAMAccountName", o["sam"]))
        if o.get("upn"):
            lines.append(ldif_line("userPrincipalName", o["upn"]))
        if o.get("dns"):
            lines.append(ldif_line("dNSHostName", o["dns"]))
            lines.append(ldif_line("operatingSystem", "Windows 11 Enterprise"))
        lines.append(f"objectCategory: CN={o['category']},CN=Schema,CN=Configuration,{o['dc']}")
        if o.get("mail"):
            lines.append(ldif_line("mail", o["mail"]))
        if o.get("nick"):
            lines.append(ldif_line("mailNickname", o["nick"]))
        for p in o.get("proxies") or ():
            lines.append(ldif_line("proxyAddresses", p))
        if o.get("cguid"):
            lines.append(ldif_binary("mS-DS-ConsistencyGuid", o["cguid"]))
        self.f.write("\r\n".join(lines) + "\r\n\r\n")

    def close(self) -> None:
        self.f.close()


CSV_COLUMNS = ["DistinguishedName", "Name", "ObjectClass", "ObjectGUID", "objectSid", "userPrincipalName",
               "sAMAccountName", "mail", "mailNickname", "proxyAddresses", "displayName", "department",
               "title", "userAccountControl", "mS-DS-ConsistencyGuid"]


def csv_field(value) -> str:
    if value is None:
        return '""'
    value = str(value)
    if '"' in value:
        value = value.replace('"', '""')
    return '"' + value + '"'


class CsvWriter:
    """Windows PowerShell 5.1: `Get-ADObject ... | Select-Object ... | Export-Csv -Encoding UTF8`."""

    def __init__(self, path: str):
        self.f = open(path, "w", encoding="utf-8-sig", newline="", buffering=1 << 20)
        self.f.write("#TYPE Selected.Microsoft.ActiveDirectory.Management.ADObject\r\n")
        self.f.write(",".join(csv_field(c) for c in CSV_COLUMNS) + "\r\n")

    def write(self, o: dict) -> None:
        cguid = o.get("cguid")
        row = [o["dn"], o["cn"], PS_CLASS[o["cls"]], guid_text(o["guid"]), o.get("sid"), o.get("upn"),
               o.get("sam"), o.get("mail"), o.get("nick"), ";".join(o.get("proxies") or ()),
               o.get("display"), o.get("dept"), o.get("title"), o.get("uac"),
               b64(cguid) if cguid else None]
        self.f.write(",".join(map(csv_field, row)) + "\r\n")

    def close(self) -> None:
        self.f.close()


class JsonWriter:
    """What `entra-audit onprem-script` (src/onprem/script.ps1) writes: UTF-8 without BOM, CRLF,
    an array of `ConvertTo-Json -Compress` objects, one per line."""

    def __init__(self, path: str):
        self.f = open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)
        self.f.write("[\r\n")
        self.first = True

    def write(self, o: dict) -> None:
        cguid = o.get("cguid")
        record = {
            "ObjectClass": [PS_CLASS[o["cls"]]],
            "ObjectGUID": guid_text(o["guid"]),
            "DistinguishedName": o["dn"],
            "mS-DS-ConsistencyGuid": b64(cguid) if cguid else None,
            "objectSid": o.get("sid"),
            "userPrincipalName": o.get("upn"),
            "sAMAccountName": o.get("sam"),
            "mail": o.get("mail"),
            "mailNickname": o.get("nick"),
            "proxyAddresses": list(o.get("proxies") or ()),
            "displayName": o.get("display"),
            "userAccountControl": o.get("uac"),
        }
        if not self.first:
            self.f.write(",\r\n")
        self.first = False
        self.f.write(ENCODE(record))

    def close(self) -> None:
        self.f.write("\r\n]\r\n")
        self.f.close()


# ---------------------------------------------------------------------------------------------
# Cloud writers
# ---------------------------------------------------------------------------------------------

class CollectionWriter:
    def __init__(self, directory: str, name: str, jsonl: bool):
        self.name = name
        self.jsonl = jsonl
        for ext in ("json", "jsonl"):  # the reader prefers .json: never leave a stale one behind
            stale = os.path.join(directory, f"{name}.{ext}")
            if os.path.exists(stale):
                os.remove(stale)
        self.path = os.path.join(directory, f"{name}.{'jsonl' if jsonl else 'json'}")
        self.f = open(self.path, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.count = 0
        if not jsonl:
            self.f.write('{"value":[\n')

    def write(self, obj: dict) -> None:
        text = ENCODE(obj)
        if self.jsonl:
            self.f.write(text + "\n")
        else:
            self.f.write(text if self.count == 0 else ",\n" + text)
        self.count += 1

    def close(self) -> None:
        if not self.jsonl:
            self.f.write("\n]}\n")
        self.f.close()


def write_collection(directory: str, name: str, objects: list) -> int:
    with open(os.path.join(directory, f"{name}.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"value": objects}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return len(objects)


# ---------------------------------------------------------------------------------------------
# The tenant
# ---------------------------------------------------------------------------------------------

class Tenant:
    def __init__(self, args):
        self.args = args
        self.collected_at = datetime.strptime(args.collected_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        meta = random.Random(f"entra-audit-tenant:{args.seed}:meta")
        self.tenant_id = guid_text(uuid4_int(meta))
        self.domain_sid = "S-1-5-21-%d-%d-%d" % (meta.getrandbits(31) | 1 << 30, meta.getrandbits(31) | 1 << 30,
                                                 meta.getrandbits(31) | 1 << 30)
        self.other_sid = "S-1-5-21-%d-%d-%d" % (meta.getrandbits(31) | 1 << 30, meta.getrandbits(31) | 1 << 30,
                                                meta.getrandbits(31) | 1 << 30)
        self.serial = 0  # every named object gets a unique serial; every address embeds it
        self.rid = 1104
        self.other_rid = 1104
        self.cn_used: set = set()
        self.roles: dict = {name: [] for name in ROLE_TEMPLATES}
        self.expected: list = []
        self.cases: list = []

    # -- small helpers ---------------------------------------------------------------------

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def next_sid(self) -> str:
        self.rid += 1
        return f"{self.domain_sid}-{self.rid}"

    def next_other_sid(self) -> str:
        self.other_rid += 1
        return f"{self.other_sid}-{self.other_rid}"

    def past(self, rng: random.Random, min_days: float, max_days: float) -> datetime:
        seconds = rng.randint(int(min_days * 86400), int(max_days * 86400))
        return self.collected_at - timedelta(seconds=seconds)

    def person(self, rng: random.Random) -> dict:
        """A fresh identity: names, site, department and a serial that makes its addresses unique."""
        r = rng.getrandbits(64)
        fi = r % len(FIRST); r //= len(FIRST)
        li = r % len(LAST); r //= len(LAST)
        si = r % len(SITES); r //= len(SITES)
        di = r % len(DEPARTMENTS); r //= len(DEPARTMENTS)
        ti = r % len(TITLES); r //= len(TITLES)
        n = self.next_serial()
        first, last = FIRST[fi], LAST[li]
        fa, la = FIRST_ASCII[fi], LAST_ASCII[li]
        return {"n": n, "first": first, "last": last, "fa": fa, "la": la, "site": SITES[si],
                "dept": DEPARTMENTS[di], "title": TITLES[ti], "r": r, "fi": fi, "li": li, "si": si}

    def common_name(self, p: dict, sam: str, container: int) -> str:
        """`First Last`, or `Last\\, First (sam)` when the container already has that name."""
        key = (container, p["fi"], p["li"])
        if key not in self.cn_used:
            self.cn_used.add(key)
            return f"{p['first']} {p['last']}"
        return f"{p['last']}\\, {p['first']} ({sam})"

    def sync_time(self, rng: random.Random) -> datetime:
        return self.org_last_sync - timedelta(seconds=rng.randint(0, 45 * 86400))

    # -- on-prem objects -------------------------------------------------------------------

    def onprem_user(self, rng: random.Random, *, mailbox: bool = True, upn_suffix: str | None = None,
                    upn_style: str | None = None, disabled: bool = False, cguid: str = "auto") -> dict:
        p = self.person(rng)
        n, fa, la = p["n"], p["fa"], p["la"]
        site, site_ou, domain = p["site"]
        r = p["r"]
        # sAMAccountName holds 20 characters; the serial stays whole, so it stays unique.
        sam = f"{fa[0]}{la[:19 - len(str(n))]}{n}"
        cn = self.common_name(p, sam, -1 if disabled else p["si"])
        ou = "OU=Disabled Users," + AD_DC if disabled else f"OU=Users,OU={site_ou},{AD_DC}"
        primary = f"{fa}.{la}{n}@{domain}"
        if upn_style is None:
            upn_style = "mail" if (mailbox and r % 10 < 7) else "sam"
        local = f"{fa}.{la}{n}" if upn_style == "mail" else sam
        upn = f"{local}@{upn_suffix or domain}"
        guid = uuid4_int(rng)
        proxies = None
        if mailbox:
            proxies = [f"SMTP:{primary}", f"smtp:{sam}@{domain}", f"smtp:{sam}@{ROUTING_DOMAIN}"]
            if (r >> 4) % 10 < 3:
                proxies.append(f"X500:{EXCHANGE_LEGACY_ORG}{'%032x' % rng.getrandbits(128)}-{sam}")
            if (r >> 8) % 10 < 1:
                proxies.append(f"X500:{LEGACY_X500}{sam}")
        # Entra Connect writes objectGUID into an empty mS-DS-ConsistencyGuid (same anchor); a few
        # users were migrated from another forest and keep that forest's GUID as their anchor.
        if cguid == "auto":
            roll = (r >> 12) % 100
            cg = guid_le(guid) if roll < 55 else (guid_le(uuid4_int(rng)) if roll < 57 else None)
        elif cguid == "none":
            cg = None
        else:
            cg = cguid
        created = self.past(rng, 30, 3650)
        return {
            "cls": "user", "guid": guid, "cguid": cg, "sid": self.next_sid(), "dn": f"CN={cn},{ou}",
            "cn": cn, "given": p["first"], "sn": p["last"], "display": f"{p['first']} {p['last']}",
            "upn": upn, "sam": sam, "mail": primary if mailbox else None, "nick": sam if mailbox else None,
            "proxies": proxies, "uac": 514 if disabled else (66048 if (r >> 16) % 5 == 0 else 512),
            "dept": p["dept"], "title": p["title"], "created": created, "created_gt": gen_time(created),
            "category": "Person", "dc": AD_DC, "p": p,
        }

    def onprem_contact(self, rng: random.Random) -> dict:
        p = self.person(rng)
        n, fa, la = p["n"], p["fa"], p["la"]
        partner = PARTNER_DOMAINS[p["r"] % len(PARTNER_DOMAINS)]
        company = partner.split(".")[0].replace("-", " ").title()
        mail = f"{fa}.{la}{n}@{partner}"
        cn = f"{p['first']} {p['last']} ({company} {n})"
        display = f"{p['first']} {p['last']} ({company})"
        if (p["r"] >> 9) % 7 == 0:  # quotes and commas, which CSV and JSON must escape
            display = f'{p["first"]} "{p["first"][:2]}" {p["last"]}, {company}'
        created = self.past(rng, 30, 3650)
        proxies = [f"SMTP:{mail}"]
        if (p["r"] >> 5) % 4 == 0:
            proxies.append(f"X500:{EXCHANGE_LEGACY_ORG}{'%032x' % rng.getrandbits(128)}-{fa}{la}{n}")
        return {
            "cls": "contact", "guid": uuid4_int(rng), "cguid": None, "sid": None,
            "dn": f"CN={cn},OU=Contacts,{AD_DC}", "cn": cn, "given": p["first"], "sn": p["last"],
            "display": display, "upn": None, "sam": None, "mail": mail,
            "nick": f"{fa}{la}{n}", "proxies": proxies, "uac": None, "company": company,
            "created": created, "created_gt": gen_time(created), "category": "Person", "dc": AD_DC, "p": p,
        }

    def onprem_group(self, rng: random.Random, *, kind: str | None = None) -> dict:
        n = self.next_serial()
        r = rng.getrandbits(32)
        dept = DEPARTMENTS[r % len(DEPARTMENTS)]
        site = SITES[(r >> 8) % len(SITES)]
        if kind is None:
            kind = ("security", "security", "security", "distribution", "mailsecurity")[(r >> 16) % 5]
        if kind == "security":
            name, group_type = f"SG-{dept}-{site[1]}-{n}", -2147483646
        elif kind == "distribution":
            name, group_type = f"DL-{dept}-{n}", 8
        else:
            name, group_type = f"MSG-{dept}-{site[1]}-{n}", -2147483640
        mail = None if kind == "security" else f"{name.lower()}@contoso.com"
        created = self.past(rng, 30, 3650)
        return {
            "cls": "group", "kind": kind, "guid": uuid4_int(rng), "cguid": None, "sid": self.next_sid(),
            "dn": f"CN={name},OU=Groups,{AD_DC}", "cn": name, "display": name.replace("-", " "),
            "upn": None, "sam": name, "mail": mail, "nick": name.lower() if mail else None,
            "proxies": [f"SMTP:{mail}", f"smtp:{name.lower()}@{ROUTING_DOMAIN}"] if mail else None,
            "uac": None, "group_type": group_type, "created": created, "created_gt": gen_time(created),
            "category": "Group", "dc": AD_DC,
        }

    def onprem_computer(self, rng: random.Random) -> dict:
        n = self.next_serial()
        site = SITES[n % len(SITES)]
        name = f"WS-{site[1][:3].upper()}-{n:05d}"
        created = self.past(rng, 30, 2000)
        return {"cls": "computer", "guid": uuid4_int(rng), "sid": self.next_sid(),
                "dn": f"CN={name},OU=Workstations,OU={site[1]},{AD_DC}", "cn": name, "sam": name + "$",
                "uac": 4096, "dns": f"{name.lower()}.{AD_DOMAIN}", "created": created,
                "created_gt": gen_time(created), "category": "Computer", "dc": AD_DC}

    def onprem_ou(self, rng: random.Random, dn: str) -> dict:
        created = self.past(rng, 2000, 4000)
        return {"cls": "ou", "guid": uuid4_int(rng), "dn": dn, "cn": dn.split(",")[0][3:],
                "created": created, "created_gt": gen_time(created), "dc": AD_DC}

    @staticmethod
    def anchor(o: dict) -> str:
        return b64(o["cguid"] if o.get("cguid") else guid_le(o["guid"]))

    @staticmethod
    def primary(o: dict) -> str | None:
        for p in o.get("proxies") or ():
            if p.startswith("SMTP:"):
                return p[5:]
        return o.get("mail")

    # -- cloud objects ---------------------------------------------------------------------

    def cloud_id(self, rng: random.Random) -> str:
        return guid_text(uuid4_int(rng))

    def twin_user(self, rng: random.Random, u: dict, **overrides) -> dict:
        """The synced cloud user of on-prem user `u`: hard-matched by source anchor, same addresses."""
        c = {
            "id": self.cloud_id(rng),
            "displayName": u["display"], "givenName": u["given"], "surname": u["sn"],
            "userPrincipalName": u["upn"], "mail": u["mail"], "mailNickname": u["nick"] or u["sam"],
            "proxyAddresses": list(u["proxies"] or ()), "accountEnabled": u["uac"] & 2 == 0,
            "userType": "Member", "department": u["dept"], "jobTitle": u["title"],
            "createdDateTime": iso(u["created"] + timedelta(hours=1)),
            "onPremisesImmutableId": self.anchor(u), "onPremisesSyncEnabled": True,
            "onPremisesLastSyncDateTime": iso(self.sync_time(rng)),
            "onPremisesDistinguishedName": u["dn"], "onPremisesDomainName": AD_DOMAIN,
            "onPremisesSamAccountName": u["sam"], "onPremisesSecurityIdentifier": u["sid"],
            "onPremisesUserPrincipalName": u["upn"], "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def twin_contact(self, rng: random.Random, k: dict, **overrides) -> dict:
        c = {
            "id": self.cloud_id(rng), "displayName": k["display"], "givenName": k["given"],
            "surname": k["sn"], "companyName": k.get("company"), "mail": k["mail"], "mailNickname": k["nick"],
            "proxyAddresses": list(k["proxies"] or ()), "onPremisesSyncEnabled": True,
            "onPremisesLastSyncDateTime": iso(self.sync_time(rng)), "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def twin_group(self, rng: random.Random, g: dict, **overrides) -> dict:
        kind = g["kind"]
        c = {
            "id": self.cloud_id(rng), "displayName": g["display"], "description": None,
            "groupTypes": [], "mail": g["mail"], "mailEnabled": kind != "security",
            "mailNickname": g["nick"] or g["sam"], "securityEnabled": kind != "distribution",
            "proxyAddresses": list(g["proxies"] or ()), "createdDateTime": iso(g["created"] + timedelta(hours=1)),
            "onPremisesSyncEnabled": True, "onPremisesLastSyncDateTime": iso(self.sync_time(rng)),
            "onPremisesSamAccountName": g["sam"], "onPremisesDomainName": AD_DOMAIN,
            "onPremisesNetBiosName": AD_NETBIOS, "onPremisesSecurityIdentifier": g["sid"],
            "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def cloud_user(self, rng: random.Random, *, style: str = "member", **overrides) -> dict:
        """A cloud-only user (never synced) whose addresses match nothing on-prem."""
        p = self.person(rng)
        n, fa, la = p["n"], p["fa"], p["la"]
        created = self.past(rng, 10, 2500)
        if style == "guest":
            ext = GUEST_DOMAINS[p["r"] % len(GUEST_DOMAINS)]
            mail = f"{fa}.{la}.{n}@{ext}"
            upn, proxies, user_type = f"{fa}.{la}.{n}_{ext}#EXT#@{INITIAL_DOMAIN}", [f"SMTP:{mail}"], "Guest"
            nick = f"{fa}.{la}.{n}_{ext}#EXT#"
        elif style == "admin":
            upn, mail, proxies, user_type = f"adm-{fa}.{la}.{n}@{INITIAL_DOMAIN}", None, [], "Member"
            nick = f"adm-{fa}.{la}.{n}"
        else:
            domain = p["site"][2]
            mail = f"{fa}.{la}.{n}@{domain}"
            upn, proxies, user_type = mail, [f"SMTP:{mail}", f"smtp:{fa}.{la}.{n}@{INITIAL_DOMAIN}"], "Member"
            nick = f"{fa}.{la}.{n}"
        c = {
            "id": self.cloud_id(rng), "displayName": f"{p['first']} {p['last']}", "givenName": p["first"],
            "surname": p["last"], "userPrincipalName": upn, "mail": mail, "mailNickname": nick,
            "proxyAddresses": proxies, "accountEnabled": True, "userType": user_type,
            "department": p["dept"] if style != "guest" else None, "jobTitle": None,
            "createdDateTime": iso(created), "onPremisesImmutableId": None, "onPremisesSyncEnabled": None,
            "onPremisesLastSyncDateTime": None, "onPremisesDistinguishedName": None,
            "onPremisesDomainName": None, "onPremisesSamAccountName": None,
            "onPremisesSecurityIdentifier": None, "onPremisesUserPrincipalName": None,
            "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def other_forest_user(self, rng: random.Random, **overrides) -> dict:
        """A user Cloud Sync provisions from fabrikam.local, which is not in the export."""
        p = self.person(rng)
        n, fa, la = p["n"], p["fa"], p["la"]
        sam = f"{fa[0]}{la[:19 - len(str(n))]}{n}"
        upn = f"{fa}.{la}{n}@fabrikam.com"
        created = self.past(rng, 10, 900)
        c = {
            "id": self.cloud_id(rng), "displayName": f"{p['first']} {p['last']}", "givenName": p["first"],
            "surname": p["last"], "userPrincipalName": upn, "mail": upn, "mailNickname": sam,
            "proxyAddresses": [f"SMTP:{upn}", f"smtp:{sam}@{ROUTING_DOMAIN}"], "accountEnabled": True,
            "userType": "Member", "department": p["dept"], "jobTitle": p["title"],
            "createdDateTime": iso(created), "onPremisesImmutableId": b64(guid_le(uuid4_int(rng))),
            "onPremisesSyncEnabled": True, "onPremisesLastSyncDateTime": iso(self.past(rng, 0, 0.1)),
            "onPremisesDistinguishedName": f"CN={p['first']} {p['last']} {n},OU=Users,{OTHER_DC}",
            "onPremisesDomainName": OTHER_FOREST, "onPremisesSamAccountName": sam,
            "onPremisesSecurityIdentifier": self.next_other_sid(), "onPremisesUserPrincipalName": upn,
            "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def cloud_contact(self, rng: random.Random, **overrides) -> dict:
        p = self.person(rng)
        n, fa, la = p["n"], p["fa"], p["la"]
        ext = PARTNER_DOMAINS[p["r"] % len(PARTNER_DOMAINS)]
        mail = f"{fa}.{la}.c{n}@{ext}"
        c = {
            "id": self.cloud_id(rng), "displayName": f"{p['first']} {p['last']} (external)",
            "givenName": p["first"], "surname": p["last"], "companyName": None, "mail": mail,
            "mailNickname": f"{fa}{la}c{n}", "proxyAddresses": [f"SMTP:{mail}"],
            "onPremisesSyncEnabled": None, "onPremisesLastSyncDateTime": None, "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def cloud_group(self, rng: random.Random, **overrides) -> dict:
        """A Microsoft 365 group created in the cloud."""
        n = self.next_serial()
        dept = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
        nick = f"team-{dept.lower()}-{n}"
        created = self.past(rng, 10, 1500)
        c = {
            "id": self.cloud_id(rng), "displayName": f"Team {dept} {n}", "description": f"{dept} team site",
            "groupTypes": ["Unified"], "mail": f"{nick}@contoso.com", "mailEnabled": True,
            "mailNickname": nick, "securityEnabled": False,
            "proxyAddresses": [f"SMTP:{nick}@contoso.com", f"smtp:{nick}@{INITIAL_DOMAIN}"],
            "createdDateTime": iso(created), "onPremisesSyncEnabled": None, "onPremisesLastSyncDateTime": None,
            "onPremisesSamAccountName": None, "onPremisesDomainName": None, "onPremisesNetBiosName": None,
            "onPremisesSecurityIdentifier": None, "onPremisesProvisioningErrors": [],
        }
        c.update(overrides)
        return c

    def add_role(self, role: str, c: dict, odata_type: str = "#microsoft.graph.user") -> None:
        self.roles[role].append({"@odata.type": odata_type, "id": c["id"], "displayName": c.get("displayName"),
                                 "userPrincipalName": c.get("userPrincipalName")})

    def error(self, prop: str, value: str, rng: random.Random) -> dict:
        return {"category": "PropertyConflict", "occurredDateTime": iso(self.past(rng, 0.5, 60)),
                "propertyCausingError": prop, "value": value}

    # -- bookkeeping -----------------------------------------------------------------------

    def expect(self, case: dict, rule: str, cloud: dict | None, onprem: dict | None, why: str) -> None:
        row = {"rule": rule, "cloud_object_id": cloud["id"] if cloud else None,
               "onprem_object_guid": guid_text(onprem["guid"]) if onprem else None}
        self.expected.append(row)
        case["expected"].append(dict(row, why=why))


def smaller(a: dict, b: dict) -> dict:
    return a if guid_text(a["guid"]) < guid_text(b["guid"]) else b


def larger(a: dict, b: dict) -> dict:
    return b if guid_text(a["guid"]) < guid_text(b["guid"]) else a


# ---------------------------------------------------------------------------------------------
# Planted problems. Each case returns (on-prem objects, [(kind, cloud object)]) and records the
# findings it implies. "new" on-prem users have no cloud twin yet (sync will try to create them:
# no hard match, so soft match runs); "synced" ones have a healthy twin.
# ---------------------------------------------------------------------------------------------

def case_pe_no_holder_user(t: Tenant, rng, case):
    u = t.onprem_user(rng)
    value = u["proxies"][1][5:]  # smtp:{sam}@domain: quarantined, its holder was deleted (not in the snapshot)
    c = t.twin_user(rng, u, proxyAddresses=[p for p in u["proxies"] if p[5:] != value],
                    onPremisesProvisioningErrors=[t.error("ProxyAddresses", "smtp:" + value, rng)])
    t.expect(case, "provisioning-error", c, u, "synced user with an onPremisesProvisioningErrors entry; "
             "its source is linked by anchor, no other holder is in the snapshot")
    return [u], [("user", c)]


def case_pe_no_holder_group(t: Tenant, rng, case):
    g = t.onprem_group(rng, kind="distribution")
    value = g["proxies"][1][5:]
    c = t.twin_group(rng, g, proxyAddresses=[g["proxies"][0]],
                     onPremisesProvisioningErrors=[t.error("ProxyAddress", "smtp:" + value, rng)])
    t.expect(case, "provisioning-error", c, g, "synced group (linked by objectSid) with a provisioning error")
    return [g], [("group", c)]


def case_pe_no_holder_contact(t: Tenant, rng, case):
    k = t.onprem_contact(rng)
    extra = f"{k['p']['fa']}.{k['p']['la']}-old{k['p']['n']}@{PARTNER_DOMAINS[0]}"
    k["proxies"] = k["proxies"] + [f"smtp:{extra}"]
    c = t.twin_contact(rng, k, proxyAddresses=[k["proxies"][0]],
                       onPremisesProvisioningErrors=[t.error("ProxyAddresses", "smtp:" + extra, rng)])
    t.expect(case, "provisioning-error", c, k, "synced contact (linked by primary SMTP) with a provisioning error")
    return [k], [("contact", c)]


def case_pe_cloud_holder(t: Tenant, rng, case):
    u = t.onprem_user(rng)
    value = f"{u['p']['fa']}.{u['p']['la']}-sales{u['p']['n']}@contoso.com"
    u["proxies"] = u["proxies"] + [f"smtp:{value}"]
    c = t.twin_user(rng, u, proxyAddresses=u["proxies"][:-1],
                    onPremisesProvisioningErrors=[t.error("ProxyAddresses", "smtp:" + value, rng)])
    holder = t.cloud_user(rng)
    holder["proxyAddresses"] = holder["proxyAddresses"] + [f"smtp:{value}"]
    t.expect(case, "provisioning-error", c, u, "the twin's quarantined secondary is held by a cloud-only user")
    t.expect(case, "duplicate-attribute", holder, u, "on-prem user (linked, so no soft match) holds a "
             "secondary that an unlinked cloud-only user holds")
    return [u], [("user", c), ("user", holder)]


def case_pe_upn_conflict(t: Tenant, rng, case):
    u = t.onprem_user(rng, upn_style="mail")
    local = u["upn"].split("@")[0]
    c = t.twin_user(rng, u, userPrincipalName=f"{local}{rng.randint(1000, 9999)}@{INITIAL_DOMAIN}",
                    onPremisesProvisioningErrors=[t.error("UserPrincipalName", u["upn"], rng)])
    holder = t.cloud_user(rng, style="admin")
    holder["userPrincipalName"] = u["upn"][0].upper() + u["upn"][1:]  # case differs: still the same UPN
    t.expect(case, "provisioning-error", c, u, "UPN quarantined (placeholder UPN on the twin); a cloud-only "
             "user holds the UPN")
    t.expect(case, "duplicate-attribute", holder, u, "on-prem user (linked) and an unlinked cloud-only user "
             "hold the same UPN (case-insensitive)")
    return [u], [("user", c), ("user", holder)]


def case_pe_onprem_holder(t: Tenant, rng, case):
    u1 = t.onprem_user(rng)
    u2 = t.onprem_user(rng)
    value = t.primary(u1)
    u2["proxies"] = u2["proxies"] + [f"smtp:{value}"]
    c1 = t.twin_user(rng, u1)
    c2 = t.twin_user(rng, u2, proxyAddresses=u2["proxies"][:-1],
                     onPremisesProvisioningErrors=[t.error("ProxyAddresses", "smtp:" + value, rng)])
    t.expect(case, "provisioning-error", c2, u2, "the twin of u2 had u1's primary quarantined")
    t.expect(case, "duplicate-attribute", None, smaller(u1, u2), "two on-prem users hold one address "
             "(u2's secondary = u1's primary): one finding, the smaller GUID")
    return [u1, u2], [("user", c1), ("user", c2)]


def case_pe_two_errors(t: Tenant, rng, case):
    u = t.onprem_user(rng, upn_style="mail")
    value = u["proxies"][1][5:]
    local = u["upn"].split("@")[0]
    c = t.twin_user(rng, u, userPrincipalName=f"{local}{rng.randint(1000, 9999)}@{INITIAL_DOMAIN}",
                    proxyAddresses=[p for p in u["proxies"] if p[5:] != value],
                    onPremisesProvisioningErrors=[t.error("UserPrincipalName", u["upn"], rng),
                                                  t.error("ProxyAddresses", "smtp:" + value, rng)])
    for what in ("UserPrincipalName", "ProxyAddresses"):
        t.expect(case, "provisioning-error", c, u, f"one finding per onPremisesProvisioningErrors entry ({what}); "
                 "no other holder in the snapshot")
    return [u], [("user", c)]


def _new_user_and(t: Tenant, rng, **kw):
    """An on-prem user with no cloud twin yet (sync will create it: hard match fails, soft match runs)."""
    return t.onprem_user(rng, cguid="none", **kw)


def case_ism_immutable_cloud_only(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.twin_user(rng, u, onPremisesImmutableId=b64(guid_le(uuid4_int(rng))), onPremisesSyncEnabled=None,
                    onPremisesLastSyncDateTime=None, onPremisesDistinguishedName=None, onPremisesDomainName=None,
                    onPremisesSamAccountName=None, onPremisesSecurityIdentifier=None,
                    onPremisesUserPrincipalName=None)
    t.expect(case, "invalid-soft-match", c, u, "same UPN; the cloud-only user carries another immutableId")
    t.expect(case, "stale-cloud-only", c, u, "cloud-only with an immutableId that matches nothing, and it "
             "blocks the on-prem user")
    return [u], [("user", c)]


def case_ism_recreated_onprem(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    old_dn = u["dn"].replace("CN=", "CN=old ", 1)
    c = t.twin_user(rng, u, onPremisesImmutableId=b64(guid_le(uuid4_int(rng))), onPremisesDistinguishedName=old_dn)
    t.expect(case, "invalid-soft-match", c, u, "user deleted and re-created on-prem: the synced cloud user "
             "(old anchor) has the same UPN and SMTP")
    t.expect(case, "orphaned-synced-object", c, None, "synced from corp.local (exported) but no exported "
             "object has its immutableId")
    return [u], [("user", c)]


def case_ism_other_forest(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.other_forest_user(rng, userPrincipalName=u["upn"], onPremisesUserPrincipalName=u["upn"])
    t.expect(case, "invalid-soft-match", c, u, "same UPN as a user Cloud Sync provisions from fabrikam.local "
             "(another immutableId); fabrikam.local is not exported, so it is not orphaned")
    return [u], [("user", c)]


def case_ism_formerly_synced(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.twin_user(rng, u, onPremisesImmutableId=None, onPremisesSyncEnabled=False,
                    onPremisesLastSyncDateTime=iso(t.past(rng, 200, 900)))
    # Soft match needs only an empty immutableId (tshoot-connect-sync-errors): taken over again.
    t.expect(case, "soft-match-takeover", c, u, "same UPN and SMTP; the cloud user was synced before "
             "(onPremisesSyncEnabled false) and its immutableId was cleared, so soft match takes it over")
    return [u], [("user", c)]


def case_ism_admin_upn(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.cloud_user(rng, userPrincipalName=u["upn"], mail=None, proxyAddresses=[],
                     displayName=u["display"], givenName=u["given"], surname=u["sn"])
    t.add_role("Global Administrator", c)
    t.expect(case, "invalid-soft-match", c, u, "same UPN; the cloud-only user holds Global Administrator")
    t.expect(case, "stale-cloud-only", c, u, "cloud-only user that blocks the on-prem user (soft match refused)")
    return [u], [("user", c)]


def case_ism_admin_smtp(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="sam")
    c = t.cloud_user(rng, style="admin")
    c["proxyAddresses"] = [f"SMTP:{c['userPrincipalName']}", f"smtp:{t.primary(u)}"]
    c["mail"] = c["userPrincipalName"]
    t.add_role("Exchange Administrator", c)
    t.expect(case, "invalid-soft-match", c, u, "the on-prem primary SMTP is a secondary address of a cloud-only "
             "Exchange Administrator")
    t.expect(case, "stale-cloud-only", c, u, "cloud-only user that blocks the on-prem user (soft match refused)")
    return [u], [("user", c)]


def case_ism_formerly_synced_contact(t: Tenant, rng, case):
    k = t.onprem_contact(rng)
    c = t.twin_contact(rng, k, onPremisesSyncEnabled=False, onPremisesLastSyncDateTime=iso(t.past(rng, 100, 600)))
    t.expect(case, "invalid-soft-match", c, k, "contacts link only to synced contacts; this one was synced "
             "before (false), so the on-prem contact soft-matches it on its primary SMTP and is refused")
    t.expect(case, "stale-cloud-only", c, k, "formerly synced contact that blocks the on-prem contact")
    return [k], [("contact", c)]


def _other_forest_group(t: Tenant, rng, mail: str | None, extra: list) -> dict:
    """A distribution group Cloud Sync provisions from fabrikam.local (not exported)."""
    n = t.next_serial()
    name = f"DL-Fabrikam-{n}"
    mail = mail or f"{name.lower()}@fabrikam.com"
    return t.cloud_group(rng, displayName=name.replace("-", " "), groupTypes=[], mail=mail,
                         mailNickname=mail.split("@")[0], proxyAddresses=[f"SMTP:{mail}"] + extra,
                         onPremisesSyncEnabled=True, onPremisesLastSyncDateTime=iso(t.past(rng, 0, 0.1)),
                         onPremisesSamAccountName=name, onPremisesDomainName=OTHER_FOREST,
                         onPremisesNetBiosName=OTHER_NETBIOS, onPremisesSecurityIdentifier=t.next_other_sid())


def case_ism_group_synced_elsewhere(t: Tenant, rng, case):
    g = t.onprem_group(rng, kind="distribution")  # new on-prem group, no cloud twin yet
    c = _other_forest_group(t, rng, g["mail"], [])
    t.expect(case, "invalid-soft-match", c, g, "new mail-enabled group whose primary SMTP a group synced from "
             "fabrikam.local already has: refused (synced from another source); that forest is not exported, "
             "so not orphaned")
    return [g], [("group", c)]


def case_otm_contact_primary(t: Tenant, rng, case):
    u = _new_user_and(t, rng)
    value = t.primary(u)
    c = t.cloud_contact(rng, mail=value, proxyAddresses=[f"SMTP:{value}"], displayName=f"{u['display']} (mail contact)")
    t.expect(case, "object-type-mismatch", c, u, "a cloud-only contact holds the on-prem user's primary SMTP")
    t.expect(case, "stale-cloud-only", c, u, "cloud-only contact of another type that blocks the on-prem user")
    return [u], [("contact", c)]


def case_otm_group_secondary(t: Tenant, rng, case):
    u = _new_user_and(t, rng)
    c = t.cloud_group(rng)
    c["proxyAddresses"] = c["proxyAddresses"] + [f"smtp:{t.primary(u)}"]
    t.expect(case, "object-type-mismatch", c, u, "a Microsoft 365 group holds the on-prem user's primary SMTP "
             "as a secondary smtp: address")
    t.expect(case, "stale-cloud-only", c, u, "cloud-only group of another type that blocks the on-prem user")
    return [u], [("group", c)]


def case_otm_other_forest_group(t: Tenant, rng, case):
    u = _new_user_and(t, rng)
    c = _other_forest_group(t, rng, None, [f"smtp:{t.primary(u)}"])
    t.expect(case, "object-type-mismatch", c, u, "a distribution group synced from fabrikam.local holds the "
             "on-prem user's primary SMTP; synced (not stale) and its domain is not exported (not orphaned)")
    return [u], [("group", c)]


def case_otm_contact_vs_guest(t: Tenant, rng, case):
    k = t.onprem_contact(rng)
    c = t.cloud_user(rng, style="guest")
    local = k["mail"].replace("@", "_")
    c.update(userPrincipalName=f"{local}#EXT#@{INITIAL_DOMAIN}", mail=k["mail"], mailNickname=f"{local}#EXT#",
             proxyAddresses=[f"SMTP:{k['mail']}"], displayName=k["display"])
    t.expect(case, "object-type-mismatch", c, k, "an on-prem mail contact (not yet synced) and a B2B guest "
             "user share the primary SMTP")
    t.expect(case, "stale-cloud-only", c, k, "cloud-only guest of another type that blocks the on-prem contact")
    return [k], [("user", c)]


def case_smt_upn(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.twin_user(rng, u, onPremisesImmutableId=None, onPremisesSyncEnabled=None, onPremisesLastSyncDateTime=None,
                    onPremisesDistinguishedName=None, onPremisesDomainName=None, onPremisesSamAccountName=None,
                    onPremisesSecurityIdentifier=None, onPremisesUserPrincipalName=None,
                    proxyAddresses=[f"SMTP:{t.primary(u)}"])
    t.expect(case, "soft-match-takeover", c, u, "cloud-only user (no immutableId, never synced, no role) with "
             "the same UPN and SMTP")
    return [u], [("user", c)]


def case_smt_contact(t: Tenant, rng, case):
    k = t.onprem_contact(rng)
    c = t.twin_contact(rng, k, onPremisesSyncEnabled=None, onPremisesLastSyncDateTime=None)
    t.expect(case, "soft-match-takeover", c, k, "cloud-only contact with the same primary SMTP (contacts "
             "link only to synced contacts)")
    return [k], [("contact", c)]


def case_smt_group(t: Tenant, rng, case):
    g = t.onprem_group(rng, kind="distribution")  # new on-prem group, no cloud twin yet
    c = t.cloud_group(rng, displayName=g["display"], groupTypes=[], mail=g["mail"], mailNickname=g["nick"],
                      proxyAddresses=[f"SMTP:{g['mail']}"])
    t.expect(case, "soft-match-takeover", c, g, "distribution group created in Exchange Online with the primary "
             "SMTP of a new on-prem distribution group: sync will take it over")
    return [g], [("group", c)]


def case_smt_unverified_suffix(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="sam", upn_suffix=AD_DOMAIN)
    value = t.primary(u)
    c = t.cloud_user(rng, userPrincipalName=value, mail=value, proxyAddresses=[f"SMTP:{value}"],
                     displayName=u["display"], givenName=u["given"], surname=u["sn"])
    t.expect(case, "soft-match-takeover", c, u, "UPN is @corp.local (cannot match), but the primary SMTP "
             "equals a cloud-only user's")
    t.expect(case, "upn-suffix-unverified", None, u, "UPN suffix corp.local is not a verified domain")
    return [u], [("user", c)]


def case_da_secondary_primary(t: Tenant, rng, case):
    u1 = t.onprem_user(rng)
    u2 = t.onprem_user(rng)
    c1, c2 = t.twin_user(rng, u1), t.twin_user(rng, u2)
    u1["proxies"] = u1["proxies"] + [f"smtp:{t.primary(u2)}"]  # added on-prem, not synced yet
    t.expect(case, "duplicate-attribute", None, smaller(u1, u2), "u1's new secondary smtp: is u2's primary")
    return [u1, u2], [("user", c1), ("user", c2)]


def case_da_upn_case(t: Tenant, rng, case):
    u1 = t.onprem_user(rng, upn_style="mail")
    u2 = t.onprem_user(rng)
    c1, c2 = t.twin_user(rng, u1), t.twin_user(rng, u2)  # c2 still has u2's old UPN
    u2["upn"] = u1["upn"].upper()
    t.expect(case, "duplicate-attribute", None, smaller(u1, u2), "two on-prem users with the same UPN, "
             "differing only in case")
    return [u1, u2], [("user", c1), ("user", c2)]


def case_da_group_user(t: Tenant, rng, case):
    u = t.onprem_user(rng)
    g = t.onprem_group(rng, kind="mailsecurity")
    cu, cg = t.twin_user(rng, u), t.twin_group(rng, g)
    g["proxies"] = g["proxies"] + [f"smtp:{t.primary(u)}"]
    t.expect(case, "duplicate-attribute", None, smaller(u, g), "a mail-enabled group's secondary is a user's primary")
    return [u, g], [("user", cu), ("group", cg)]


def _da_cloud(t: Tenant, rng, case, holder_kind: str):
    u = t.onprem_user(rng)
    value = f"{u['p']['fa']}-{u['p']['la']}-{holder_kind}-{u['p']['n']}@contoso.com"
    c = t.twin_user(rng, u)
    u["proxies"] = u["proxies"] + [f"smtp:{value}"]  # added on-prem, not synced yet
    if holder_kind == "user":
        h = t.cloud_user(rng)
        h["proxyAddresses"] = h["proxyAddresses"] + [f"smtp:{value}"]
        kind = "user"
    elif holder_kind == "group":
        h = t.cloud_group(rng)
        h["proxyAddresses"] = [f"SMTP:{value}"] + h["proxyAddresses"][1:]
        h["mail"] = value
        kind = "group"
    else:
        h = t.cloud_contact(rng, mail=value, proxyAddresses=[f"SMTP:{value}"])
        kind = "contact"
    t.expect(case, "duplicate-attribute", h, u, f"the linked on-prem user's secondary smtp: is held by an "
             f"unlinked cloud-only {kind} (secondaries never soft-match)")
    return [u], [("user", c), (kind, h)]


def case_da_cloud_user(t, rng, case):
    return _da_cloud(t, rng, case, "user")


def case_da_cloud_group(t, rng, case):
    return _da_cloud(t, rng, case, "group")


def case_da_cloud_contact(t, rng, case):
    return _da_cloud(t, rng, case, "contact")


def case_dsa_writeback_copy(t: Tenant, rng, case):
    u1 = t.onprem_user(rng, cguid="none")
    u1["cguid"] = guid_le(u1["guid"])
    u2 = t.onprem_user(rng, cguid=u1["cguid"])
    c = t.twin_user(rng, u1)
    t.expect(case, "duplicate-source-anchor", None, larger(u1, u2), "u2's mS-DS-ConsistencyGuid was copied "
             "from u1 (which Entra Connect stamped with its objectGUID): one finding, the larger GUID")
    return [u1, u2], [("user", c)]


def case_dsa_migration(t: Tenant, rng, case):
    source = guid_le(uuid4_int(rng))
    u1 = t.onprem_user(rng, cguid=source)
    u2 = t.onprem_user(rng, cguid=source)
    c = t.twin_user(rng, u1)
    t.expect(case, "duplicate-source-anchor", None, larger(u1, u2), "ADMT migrated one source account twice: "
             "both carry its GUID as mS-DS-ConsistencyGuid")
    return [u1, u2], [("user", c)]


def case_orphan_user(t: Tenant, rng, case):
    u = t.onprem_user(rng)  # never exported: its source was deleted
    c = t.twin_user(rng, u)
    t.expect(case, "orphaned-synced-object", c, None, "synced user from corp.local whose source is gone")
    return [], [("user", c)]


def case_orphan_group(t: Tenant, rng, case):
    g = t.onprem_group(rng)  # never exported
    c = t.twin_group(rng, g)
    t.expect(case, "orphaned-synced-object", c, None, "synced group from corp.local whose objectSid no exported "
             "group has")
    return [], [("group", c)]


def case_stale_immutable(t: Tenant, rng, case):
    c = t.cloud_user(rng, onPremisesImmutableId=b64(guid_le(uuid4_int(rng))))
    t.expect(case, "stale-cloud-only", c, None, "cloud-only user carrying an immutableId that matches nothing")
    return [], [("user", c)]


def case_stale_formerly_user(t: Tenant, rng, case):
    u = t.onprem_user(rng)  # not exported: gone on-prem
    c = t.twin_user(rng, u, onPremisesSyncEnabled=False, onPremisesLastSyncDateTime=iso(t.past(rng, 100, 700)))
    t.expect(case, "stale-cloud-only", c, None, "formerly synced user (onPremisesSyncEnabled false) with no source")
    return [], [("user", c)]


def case_stale_formerly_group(t: Tenant, rng, case):
    g = t.onprem_group(rng, kind="distribution")  # not exported
    c = t.twin_group(rng, g, onPremisesSyncEnabled=False, onPremisesLastSyncDateTime=iso(t.past(rng, 100, 700)))
    t.expect(case, "stale-cloud-only", c, None, "formerly synced group with no source")
    return [], [("group", c)]


def case_stale_last_sync_only(t: Tenant, rng, case):
    c = t.cloud_user(rng, onPremisesLastSyncDateTime=iso(t.past(rng, 400, 1200)))
    t.expect(case, "stale-cloud-only", c, None, "onPremisesSyncEnabled null but a past onPremisesLastSyncDateTime: "
             "synced before")
    return [], [("user", c)]


def case_stale_group_source_exists(t: Tenant, rng, case):
    g = t.onprem_group(rng, kind="mailsecurity")
    c = t.twin_group(rng, g, onPremisesSyncEnabled=False, onPremisesLastSyncDateTime=iso(t.past(rng, 30, 300)))
    t.expect(case, "stale-cloud-only", c, g, "formerly synced group whose objectSid an exported group still "
             "has: the group analogue of a formerly synced user joined by its anchor (the SID is the twin key "
             "whatever the sync state), so it names its source and no soft match is tried")
    return [g], [("group", c)]


def case_stale_source_exists(t: Tenant, rng, case):
    u = t.onprem_user(rng)
    c = t.twin_user(rng, u, onPremisesSyncEnabled=False, onPremisesLastSyncDateTime=iso(t.past(rng, 30, 300)))
    t.expect(case, "stale-cloud-only", c, u, "formerly synced user whose source (same anchor) still exists on-prem")
    return [u], [("user", c)]


def case_ok_pending_hard_match(t: Tenant, rng, case):
    u = _new_user_and(t, rng, upn_style="mail")
    c = t.twin_user(rng, u, onPremisesSyncEnabled=None, onPremisesLastSyncDateTime=None,
                    onPremisesDistinguishedName=None, onPremisesDomainName=None, onPremisesSamAccountName=None,
                    onPremisesSecurityIdentifier=None, onPremisesUserPrincipalName=None)
    # cloud-only with the on-prem anchor as immutableId: a pending hard match, no finding
    return [u], [("user", c)]


def case_upn_corp_local(t: Tenant, rng, case):
    u = t.onprem_user(rng, upn_style="sam", upn_suffix=AD_DOMAIN)
    c = t.twin_user(rng, u, userPrincipalName=f"{u['sam']}@{INITIAL_DOMAIN}")
    t.expect(case, "upn-suffix-unverified", None, u, "on-prem UPN @corp.local; the twin got an onmicrosoft.com UPN")
    return [u], [("user", c)]


def case_upn_unverified_domain(t: Tenant, rng, case):
    u = t.onprem_user(rng, upn_style="mail", upn_suffix=UNVERIFIED_DOMAIN)
    c = t.twin_user(rng, u, userPrincipalName=f"{u['upn'].split('@')[0]}@{INITIAL_DOMAIN}")
    t.expect(case, "upn-suffix-unverified", None, u, "UPN suffix contoso.de is added to the tenant but not verified")
    return [u], [("user", c)]


def case_upn_subdomain(t: Tenant, rng, case):
    u = t.onprem_user(rng, upn_style="mail", upn_suffix="eu.contoso.com")
    c = t.twin_user(rng, u, userPrincipalName=f"{u['upn'].split('@')[0]}@{INITIAL_DOMAIN}")
    t.expect(case, "upn-suffix-unverified", None, u, "eu.contoso.com is a subdomain of a verified domain but "
             "was never added to the tenant")
    return [u], [("user", c)]


CASES = [
    case_pe_no_holder_user, case_pe_no_holder_group, case_pe_no_holder_contact, case_pe_cloud_holder,
    case_pe_upn_conflict, case_pe_onprem_holder, case_pe_two_errors,
    case_ism_immutable_cloud_only, case_ism_recreated_onprem, case_ism_other_forest, case_ism_formerly_synced,
    case_ism_admin_upn, case_ism_admin_smtp, case_ism_formerly_synced_contact, case_ism_group_synced_elsewhere,
    case_otm_contact_primary, case_otm_group_secondary, case_otm_other_forest_group, case_otm_contact_vs_guest,
    case_smt_upn, case_smt_contact, case_smt_group, case_smt_unverified_suffix,
    case_da_secondary_primary, case_da_upn_case, case_da_group_user, case_da_cloud_user, case_da_cloud_group,
    case_da_cloud_contact,
    case_dsa_writeback_copy, case_dsa_migration,
    case_orphan_user, case_orphan_group,
    case_stale_immutable, case_stale_formerly_user, case_stale_formerly_group, case_stale_source_exists,
    case_stale_last_sync_only, case_stale_group_source_exists,
    case_ok_pending_hard_match,
    case_upn_corp_local, case_upn_unverified_domain, case_upn_subdomain,
]


# ---------------------------------------------------------------------------------------------
# Tenant-level collections
# ---------------------------------------------------------------------------------------------

def organization(t: Tenant) -> dict:
    return {
        "id": t.tenant_id, "displayName": TENANT_NAME, "tenantType": "AAD", "countryLetterCode": "US",
        "createdDateTime": "2016-03-14T09:26:53Z",
        "onPremisesSyncEnabled": True,
        "onPremisesLastSyncDateTime": iso(t.org_last_sync),
        "onPremisesLastPasswordSyncDateTime": iso(t.org_last_password_sync),
        "verifiedDomains": [
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": default, "isInitial": False,
             "name": name, "type": "Managed"} for name, default in VERIFIED_DOMAINS
        ] + [
            {"capabilities": "Email", "isDefault": False, "isInitial": False, "name": ROUTING_DOMAIN, "type": "Managed"},
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": False, "isInitial": True,
             "name": INITIAL_DOMAIN, "type": "Managed"},
        ],
    }


def domains() -> list:
    def domain(name, verified, default=False, initial=False):
        return {"id": name, "authenticationType": "Managed", "isAdminManaged": not initial, "isDefault": default,
                "isInitial": initial, "isRoot": True, "isVerified": verified,
                "passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
                "supportedServices": ["Email", "OfficeCommunicationsOnline"] if verified else [], "state": None}
    out = [domain(name, True, default) for name, default in VERIFIED_DOMAINS]
    out.append(domain(UNVERIFIED_DOMAIN, False))
    out.append(domain(ROUTING_DOMAIN, True))
    out.append(domain(INITIAL_DOMAIN, True, initial=True))
    return out


def sync_job(t: Tenant, rng: random.Random, forest: str, template: str, state: str) -> dict:
    now = t.collected_at
    netbios = forest.split(".")[0].upper()[:15]
    ok_end = now - timedelta(seconds=rng.randint(20, 110))
    execution = lambda began, ended, st, error=None, escrowed=0: {  # noqa: E731
        "activityIdentifier": guid_text(uuid4_int(rng)), "countEntitled": 0, "countEntitledForProvisioning": 0,
        "countEscrowed": escrowed, "countEscrowedRaw": escrowed, "countExported": 0, "countExports": 0,
        "countImported": 0, "countImportedDeltas": 0, "countImportedReferenceDeltas": 0,
        "state": st, "error": error, "timeBegan": iso(began), "timeEnded": iso(ended)}
    status = {
        "code": "Active", "countSuccessiveCompleteFailures": 0, "escrowsPruned": False,
        "lastExecution": execution(ok_end - timedelta(seconds=95), ok_end, "Succeeded"),
        "lastSuccessfulExecution": execution(ok_end - timedelta(seconds=95), ok_end, "Succeeded"),
        "lastSuccessfulExecutionWithExports": execution(ok_end - timedelta(hours=3), ok_end - timedelta(hours=3) + timedelta(seconds=80), "Succeeded"),
        "progress": [], "quarantine": None,
        "steadyStateFirstAchievedTime": "2024-02-11T10:12:40Z",
        "steadyStateLastAchievedTime": iso(ok_end),
        "synchronizedEntryCountByType": [{"key": "group to Group", "value": rng.randint(20, 400)},
                                         {"key": "user to User", "value": rng.randint(100, 5000)}],
        "troubleshootingUrl": "",
    }
    if state == "failing-stale":
        # No run for days (the agent is down): the last run, and the last clean one, are days old.
        last_run = now - timedelta(days=rng.randint(3, 9))
        status.update(lastExecution=execution(last_run - timedelta(seconds=90), last_run, "Succeeded"),
                      lastSuccessfulExecution=execution(last_run - timedelta(seconds=90), last_run, "Succeeded"),
                      steadyStateLastAchievedTime=iso(last_run))
    elif state == "escrowing":
        # Every run ends with escrowed objects: no clean run for days, yet the job is not failing
        # (lastSuccessfulExecution is the last run without errors).
        last_ok = now - timedelta(days=rng.randint(3, 9))
        st = ok_end - timedelta(seconds=95)
        status.update(lastExecution=execution(st, ok_end, "EntryLevelErrors", escrowed=rng.randint(5, 40)),
                      lastSuccessfulExecution=execution(last_ok - timedelta(seconds=90), last_ok, "Succeeded"),
                      steadyStateLastAchievedTime=iso(last_ok))
    elif state == "failing-never":
        st = ok_end - timedelta(seconds=95)
        never = {**execution(st, ok_end, "Succeeded"), "timeBegan": "0001-01-01T00:00:00Z",
                 "timeEnded": "0001-01-01T00:00:00Z", "activityIdentifier": None}
        # Its escrows were pruned: no object waits, and no run has ever been clean.
        status.update(lastExecution=execution(st, ok_end, "EntryLevelErrors", escrowed=0), escrowsPruned=True,
                      lastSuccessfulExecution=never, lastSuccessfulExecutionWithExports=None,
                      steadyStateFirstAchievedTime="0001-01-01T00:00:00Z",
                      steadyStateLastAchievedTime="0001-01-01T00:00:00Z")
    elif state == "paused":
        paused_at = now - timedelta(days=rng.randint(2, 20))
        status.update(code="Paused", lastExecution=execution(paused_at - timedelta(seconds=90), paused_at, "Succeeded"),
                      lastSuccessfulExecution=execution(paused_at - timedelta(seconds=90), paused_at, "Succeeded"),
                      steadyStateLastAchievedTime=iso(paused_at))
    elif state == "failing":
        last_ok = now - timedelta(hours=rng.randint(30, 80))
        failed_end = now - timedelta(minutes=rng.randint(2, 9))
        error = {"code": "HybridSynchronizationActiveDirectoryInternalServerError",
                 "message": "The provisioning agent could not reach a domain controller of " + forest + ".",
                 "tenantActionable": True}
        status.update(countSuccessiveCompleteFailures=rng.randint(3, 40),
                      lastExecution=execution(failed_end - timedelta(seconds=40), failed_end, "Failed", error),
                      lastSuccessfulExecution=execution(last_ok - timedelta(seconds=90), last_ok, "Succeeded"),
                      steadyStateLastAchievedTime=iso(last_ok))
    elif state == "quarantine":
        began = now - timedelta(days=rng.randint(2, 9), hours=rng.randint(0, 23))
        error = {"code": "HybridIdentityServiceNoActiveAgents",
                 "message": "No active provisioning agents are available for " + forest + ".",
                 "tenantActionable": True}
        status.update(code="Quarantine", countSuccessiveCompleteFailures=rng.randint(50, 400),
                      lastExecution=execution(now - timedelta(hours=5), now - timedelta(hours=5) + timedelta(seconds=30), "Failed", error),
                      lastSuccessfulExecution=execution(began - timedelta(hours=1), began - timedelta(hours=1) + timedelta(seconds=80), "Succeeded"),
                      quarantine={"currentBegan": iso(now - timedelta(hours=5)),
                                  "nextAttempt": iso(now + timedelta(hours=7)),
                                  "reason": "EncounteredQuarantineException", "seriesBegan": iso(began),
                                  "seriesCount": rng.randint(5, 60), "error": error},
                      steadyStateLastAchievedTime=iso(began - timedelta(hours=1)))
    settings = {"DomainFQDN": forest, "DomainNetBios": netbios, "ForestFQDN": forest, "ForestNetBios": netbios}
    return {
        "id": f"{template}.{'%032x' % rng.getrandbits(128)}",
        "templateId": template,
        "schedule": {"expiration": None, "interval": "PT2M", "state": "Paused" if state == "paused" else "Active"},
        "status": status,
        "synchronizationJobSettings": [{"name": "Domain", "value": json.dumps(settings, separators=(",", ":"))}]
        + [{"name": k, "value": v} for k, v in settings.items()]
        + [{"name": "QuarantineTooManyDeletesThreshold", "value": "500"}],
    }


def sync_jobs(t: Tenant, rng: random.Random) -> list:
    jobs = []

    def configuration(forest, templates_states):
        sp = guid_text(uuid4_int(rng))
        for template, state in templates_states:
            job = sync_job(t, rng, forest, template, state)
            job["servicePrincipalId"] = sp
            job["servicePrincipalDisplayName"] = forest
            jobs.append(job)
        return sp

    configuration(OTHER_FOREST, [("AD2AADProvisioning", "ok"), ("AD2AADPasswordHash", "ok")])
    # Paused by an administrator: not failing (status Paused, not Active), not quarantined, but
    # syncing nothing: cloud-sync-job-not-running.
    sp = configuration("litwareinc.local", [("AD2AADProvisioning", "paused")])
    t.expected.append({"rule": "cloud-sync-job-not-running", "cloud_object_id": sp, "onprem_object_guid": None})
    sp_escrow = configuration("northwindtraders.local", [("AD2AADProvisioning", "escrowing")])
    t.expected.append({"rule": "cloud-sync-job-escrows", "cloud_object_id": sp_escrow, "onprem_object_guid": None})
    t.cases.append({"case": "cloud_sync_escrows", "cloud": [sp_escrow], "onprem": [], "expected": [
        {"rule": "cloud-sync-job-escrows", "cloud_object_id": sp_escrow, "onprem_object_guid": None,
         "why": "the job runs, but every run for days ends with escrowed objects: lastSuccessfulExecution is days old, "
                "yet the job is not failing"}]})
    t.cases.append({"case": "cloud_sync_paused", "cloud": [sp], "onprem": [], "expected": [
        {"rule": "cloud-sync-job-not-running", "cloud_object_id": sp, "onprem_object_guid": None,
         "why": "the Cloud Sync job for litwareinc.local is paused (status.code Paused): it syncs nothing until started"}]})
    for i in range(t.args.quarantined_jobs):
        forest = QUARANTINE_FOREST if i == 0 else f"{QUARANTINE_FOREST.split('.')[0]}{i + 1}.local"
        sp = configuration(forest, [("AD2AADProvisioning", "quarantine")])
        t.expected.append({"rule": "cloud-sync-quarantine", "cloud_object_id": sp, "onprem_object_guid": None})
        t.cases.append({"case": "cloud_sync_quarantine", "cloud": [sp], "onprem": [], "expected": [
            {"rule": "cloud-sync-quarantine", "cloud_object_id": sp, "onprem_object_guid": None,
             "why": f"Cloud Sync job for {forest} has status.code Quarantine"}]})
    failing = [("failing", "countSuccessiveCompleteFailures > 0 and the last run Failed"),
               ("failing-stale", "no run for days (the agent is down): the last successful run is days old"),
               ("failing-never", "it has run but never succeeded (lastSuccessfulExecution 0001-01-01)")]
    for i in range(t.args.failing_jobs):
        forest = FAILING_FOREST if i == 0 else f"{FAILING_FOREST.split('.')[0]}{i + 1}.local"
        state, reason = failing[i % len(failing)]
        sp = configuration(forest, [("AD2AADProvisioning", state)])
        t.expected.append({"rule": "cloud-sync-job-failing", "cloud_object_id": sp, "onprem_object_guid": None})
        t.cases.append({"case": "cloud_sync_job_failing", "cloud": [sp], "onprem": [], "expected": [
            {"rule": "cloud-sync-job-failing", "cloud_object_id": sp, "onprem_object_guid": None,
             "why": f"Active Cloud Sync job for {forest}: {reason}"}]})
    return jobs


def directory_roles(t: Tenant, rng: random.Random) -> list:
    descriptions = {
        "Global Administrator": "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
        "Exchange Administrator": "Can manage all aspects of the Exchange product.",
        "User Administrator": "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
        "Hybrid Identity Administrator": "Can manage Active Directory to Microsoft Entra cloud provisioning, Microsoft Entra Connect, and federation settings.",
        "Directory Synchronization Accounts": "Only used by Microsoft Entra Connect service.",
    }
    return [{"id": guid_text(uuid4_int(rng)), "displayName": name, "description": descriptions[name],
             "roleTemplateId": template, "members": t.roles[name]}
            for name, template in ROLE_TEMPLATES.items() if t.roles[name]]


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output directory (cloud/, onprem/, expected.json)")
    ap.add_argument("--users", type=int, default=40, help="healthy synced on-prem users (bulk)")
    ap.add_argument("--contacts", type=int, default=10, help="healthy synced on-prem contacts (bulk)")
    ap.add_argument("--groups", type=int, default=10, help="healthy synced on-prem groups (bulk)")
    ap.add_argument("--cloud-only", type=int, default=5, help="cloud-only users that match nothing (bulk)")
    ap.add_argument("--problem-rate", type=float, default=0.01,
                    help="planted cases as a fraction of the bulk on-prem objects, spread evenly over the "
                         "case kinds (at least --min-per-case of each kind)")
    ap.add_argument("--min-per-case", type=int, default=1,
                    help="minimum number of each planted case kind (every rule gets at least 2 findings)")
    ap.add_argument("--tenant-health", choices=["healthy", "dirsync-stale", "phs-stale"], default=None,
                    help="tenant-level sync state (default: phs-stale up to 10,000 users, healthy above)")
    ap.add_argument("--quarantined-jobs", type=int, default=1)
    ap.add_argument("--failing-jobs", type=int, default=1)
    ap.add_argument("--collected-at", default="2026-11-02T08:00:00Z", help="snapshot time (the audit's as-of)")
    ap.add_argument("--jsonl", action="store_true", help="write users/contacts/groups as .jsonl")
    ap.add_argument("--formats", default="ldif,csv,json", help="on-prem formats to write (ldif,csv,json)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    for f in args.formats:
        if f not in ("ldif", "csv", "json"):
            ap.error(f"unknown format {f!r} (expected ldif, csv, json)")
    if args.tenant_health is None:
        args.tenant_health = "phs-stale" if args.users <= 10000 else "healthy"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    t = Tenant(args)
    meta = random.Random(f"entra-audit-tenant:{args.seed}:tenant")
    health = args.tenant_health
    now = t.collected_at
    t.org_last_sync = now - (timedelta(days=2, hours=5, minutes=13) if health == "dirsync-stale"
                             else timedelta(minutes=meta.randint(4, 25)))
    t.org_last_password_sync = now - (timedelta(days=4, hours=2, minutes=41) if health == "phs-stale"
                                      else timedelta(minutes=meta.randint(1, 3)))
    if health in ("dirsync-stale", "phs-stale"):
        rule = "directory-sync-stale" if health == "dirsync-stale" else "password-hash-sync-stale"
        t.expected.append({"rule": rule, "cloud_object_id": t.tenant_id, "onprem_object_guid": None})
        t.cases.append({"case": health, "cloud": [t.tenant_id], "onprem": [], "expected": [
            {"rule": rule, "cloud_object_id": t.tenant_id, "onprem_object_guid": None,
             "why": "directory sync last ran 2 days before the snapshot" if health == "dirsync-stale"
             else "directory sync is fresh, the last password hash sync was 4 days before the snapshot"}]})

    # -- planted cases first (own random stream), kept in memory ------------------------------
    plant_rng = random.Random(f"entra-audit-tenant:{args.seed}:plant")
    bulk_objects = args.users + args.contacts + args.groups
    total_cases = round(args.problem_rate * bulk_objects)
    per_case = max(args.min_per_case, total_cases // len(CASES))
    planted_onprem, planted_cloud = [], []
    for i in range(per_case):
        for fn in CASES:
            case = {"case": fn.__name__[5:], "expected": []}
            onprem, cloud = fn(t, plant_rng, case)
            case["onprem"] = [guid_text(o["guid"]) for o in onprem]
            case["cloud"] = [c["id"] for _, c in cloud]
            t.cases.append(case)
            planted_onprem += onprem
            planted_cloud += cloud
    # Interleave planted objects with the bulk (deterministically), as a real export would mix them.
    plant_rng.shuffle(planted_onprem)
    plant_rng.shuffle(planted_cloud)

    out = args.out
    cloud_dir = os.path.join(out, "cloud")
    onprem_dir = os.path.join(out, "onprem")
    os.makedirs(cloud_dir, exist_ok=True)
    os.makedirs(onprem_dir, exist_ok=True)
    writers = []
    for fmt in ("ldif", "csv", "json"):
        path = os.path.join(onprem_dir, f"ad.{fmt}")
        if fmt in args.formats:
            writers.append({"ldif": LdifWriter, "csv": CsvWriter, "json": JsonWriter}[fmt](path))
        elif os.path.exists(path):
            os.remove(path)
    cw = {kind: CollectionWriter(cloud_dir, name, args.jsonl)
          for kind, name in (("user", "users"), ("contact", "contacts"), ("group", "groups"))}
    onprem_count = {"user": 0, "contact": 0, "group": 0, "computer": 0, "ou": 0}

    def emit_onprem(o):
        for w in writers:
            w.write(o)
        onprem_count[o["cls"]] += 1

    bulk = random.Random(f"entra-audit-tenant:{args.seed}:bulk")
    for dn in ([f"OU={s[1]},{AD_DC}" for s in SITES] + [f"OU=Users,OU={s[1]},{AD_DC}" for s in SITES]
               + [f"OU=Workstations,OU={s[1]},{AD_DC}" for s in SITES]
               + [f"OU=Groups,{AD_DC}", f"OU=Contacts,{AD_DC}", f"OU=Disabled Users,{AD_DC}"]):
        emit_onprem(t.onprem_ou(bulk, dn))

    # Spread the planted objects evenly over the bulk stream.
    steps = max(1, bulk_objects)
    onprem_every = max(1, steps // (len(planted_onprem) + 1))
    cloud_every = max(1, steps // (len(planted_cloud) + 1))
    po, pc = iter(planted_onprem), iter(planted_cloud)
    step = 0

    def tick():
        nonlocal step
        step += 1
        if step % onprem_every == 0:
            o = next(po, None)
            if o is not None:
                emit_onprem(o)
        if step % cloud_every == 0:
            item = next(pc, None)
            if item is not None:
                cw[item[0]].write(item[1])

    user_admin_done = False
    for i in range(args.users):
        disabled = bulk.random() < 0.05
        u = t.onprem_user(bulk, mailbox=bulk.random() < 0.9, disabled=disabled)
        emit_onprem(u)
        c = t.twin_user(bulk, u)
        cw["user"].write(c)
        if not user_admin_done and not disabled:
            t.add_role("User Administrator", c)  # a synced user with a role: harmless once linked
            user_admin_done = True
        tick()
    for i in range(args.contacts):
        k = t.onprem_contact(bulk)
        emit_onprem(k)
        cw["contact"].write(t.twin_contact(bulk, k))
        tick()
    for i in range(args.groups):
        g = t.onprem_group(bulk)
        emit_onprem(g)
        cw["group"].write(t.twin_group(bulk, g))
        tick()
    for o in po:
        emit_onprem(o)
    for kind, c in pc:
        cw[kind].write(c)
    for i in range(max(1, args.users // 100)):
        emit_onprem(t.onprem_computer(bulk))

    # Cloud-only bulk: members (the first ones are the tenant's admins), guests, M365 groups, and
    # users Cloud Sync provisions from a forest that is not exported. None of them matches anything.
    sync_account = t.cloud_user(bulk, style="admin", userPrincipalName=f"Sync_SRV-AADC01_{'%012x' % bulk.getrandbits(48)}@{INITIAL_DOMAIN}",
                                displayName="On-Premises Directory Synchronization Service Account",
                                givenName=None, surname=None, department=None)
    cw["user"].write(sync_account)
    t.add_role("Directory Synchronization Accounts", sync_account)
    for i in range(args.cloud_only):
        style = "admin" if i < 2 else ("guest" if i % 3 == 0 else "member")
        c = t.cloud_user(bulk, style=style)
        if i < 2:
            t.add_role("Global Administrator", c)
            if i == 1:
                t.add_role("Hybrid Identity Administrator", c)
        cw["user"].write(c)
    t.roles["Hybrid Identity Administrator"].append(
        {"@odata.type": "#microsoft.graph.servicePrincipal", "id": guid_text(uuid4_int(bulk)),
         "displayName": "Provisioning automation", "appId": guid_text(uuid4_int(bulk))})
    for i in range(max(2, args.users // 100)):
        cw["user"].write(t.other_forest_user(bulk))
    for i in range(max(1, args.groups // 10)):
        cw["group"].write(t.cloud_group(bulk))

    for w in writers:
        w.close()
    counts = {}
    for kind, w in cw.items():
        w.close()
        counts[w.name] = w.count
    counts["organization"] = write_collection(cloud_dir, "organization", [organization(t)])
    counts["domains"] = write_collection(cloud_dir, "domains", domains())
    counts["synchronizationJobs"] = write_collection(cloud_dir, "synchronizationJobs", sync_jobs(t, meta))
    counts["directoryRoles"] = write_collection(cloud_dir, "directoryRoles", directory_roles(t, meta))
    for stale in ("onPremisesSynchronization.json", "onPremisesSynchronization.jsonl"):
        if os.path.exists(os.path.join(cloud_dir, stale)):
            os.remove(os.path.join(cloud_dir, stale))
    manifest = {"schema_version": 1, "tenant_id": t.tenant_id, "collected_at": iso(t.collected_at),
                "collections": {name: {"status": "complete", "objects": n} for name, n in counts.items()}}
    with open(os.path.join(cloud_dir, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")

    expected = sorted(t.expected, key=lambda r: (r["rule"], r["cloud_object_id"] or "", r["onprem_object_guid"] or ""))
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in expected) + "\n]\n")
    command = "python3 tests/bench/generate_tenant.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(os.path.join(out, "planted.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write('{"command": ' + json.dumps(command) + ',\n"cases": [\n'
                + ",\n".join(json.dumps(c, ensure_ascii=False) for c in t.cases) + "\n]}\n")

    if not args.quiet:
        by_rule: dict = {}
        for r in expected:
            by_rule[r["rule"]] = by_rule.get(r["rule"], 0) + 1
        onprem_objects = onprem_count["user"] + onprem_count["contact"] + onprem_count["group"]
        print(f"wrote {out}: on-prem {onprem_objects} objects ({onprem_count['user']} users, "
              f"{onprem_count['contact']} contacts, {onprem_count['group']} groups; plus "
              f"{onprem_count['computer']} computers, {onprem_count['ou']} OUs) as {','.join(args.formats)}; "
              f"cloud {counts['users'] + counts['contacts'] + counts['groups']} objects ({counts['users']} users, "
              f"{counts['contacts']} contacts, {counts['groups']} groups); tenant {health}; "
              f"{len(t.cases)} planted cases, {len(expected)} expected findings "
              f"({', '.join(f'{k} {v}' for k, v in sorted(by_rule.items()))}); "
              f"{time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
