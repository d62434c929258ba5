/*
+++
name     = "proxy-address-invalid"
title    = "proxyAddresses value that breaks the documented limits or SMTP syntax"
severity = "high"
category = "validation"
outcome  = "IdentityDataValidationFailed"
requires = ["onprem_objects", "address_value_problems"]
evidence = ["rule_broken", "document", "address_type"]
+++
## What it does
Checks every on-prem proxyAddresses value:
- every address type: at most 256 characters (counted in UTF-16 code units, UNVERIFIED how
  Microsoft counts), and no control characters;
- `SMTP:`/`smtp:` addresses: the SMTP syntax of the `smtp_address_problems` view (one `@`, no
  whitespace or `< > ( ) ; , [ ] "`, no second `:`, no non-ASCII letters, no `..`, a DNS-shaped
  domain), judged on the text after the prefix.

It deliberately does not flag what IdFix flags by mistake: spaces, parentheses and apostrophes
in `X500:` and `X400:` addresses (Exchange writes them, e.g.
`/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=d'Agostini`:
microsoft/idfix#12, #16, #79), an apostrophe in an SMTP address (#46), and a domain whose
top-level domain is missing from a static list (#1, #5, #10, #38, #59). No check is made on
other address types (`SIP:`, `EUM:`, ...) beyond length and control characters: Microsoft
documents none.

## Why is this bad?
Microsoft's directory-preparation page: "Invalid characters will cause directory synchronization
to fail", and a value may hold at most 256 characters. The export error's name for proxyAddresses
is UNVERIFIED (Entra Connect's error page documents IdentityDataValidationFailed for UPNs);
the object is predicted not to export until the value is fixed.

## Remediation
Correct or remove the value on-prem, for example
`Set-ADUser <user> -Remove @{proxyAddresses='<bad value>'} -Add @{proxyAddresses='smtp:<good address>'}`
(Exchange-managed recipients: `Set-RemoteMailbox`/`Set-MailUser -EmailAddresses`).

## References
- Attribute preparation (proxyAddresses: 256 characters, invalid characters): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- Sync errors: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors
*/
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'proxyAddresses' AS attribute,
    j.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has proxyAddresses value "' || j.shown
        || '", which breaks the documented rules: ' || j.broken
        || '. Invalid values make directory synchronization fail for the object.' AS message,
    'Correct or remove "' || j.shown || '" in proxyAddresses of ' || o.distinguished_name
        || ' (Set-ADObject -Identity ''' || o.object_guid || ''' -Remove @{proxyAddresses=''<value>''}).' AS remediation,
    'IdentityDataValidationFailed' AS predicted_outcome,
    j.broken AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document,
    j.prefix AS address_type
FROM address_value_problems j
JOIN onprem_objects o ON j.object_row = o.object_row
WHERE j.attribute = 'proxyAddresses'
