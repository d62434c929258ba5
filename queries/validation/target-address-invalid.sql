/*
+++
name     = "target-address-invalid"
title    = "targetAddress that breaks the documented limits or SMTP syntax"
severity = "medium"
category = "validation"
outcome  = "IdentityDataValidationFailed"
requires = ["onprem_objects", "address_value_problems"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the on-prem targetAddress (the forwarding address of mail users and contacts): at most
256 characters (IdFix's multi-tenant rules stop at 255, one short of the documented limit); no
control characters; and for an `SMTP:` address the SMTP syntax of the `smtp_address_problems`
view (one `@`, no whitespace or `\ < > ( ) ; , [ ] "`, no non-ASCII letters, no `..`, a
DNS-shaped domain). Lengths are counted in UTF-16 code units (UNVERIFIED how Microsoft counts).
The domain is not judged against a list of top-level domains.

## Why is this bad?
Microsoft's directory-preparation page lists targetAddress with a 256-character limit, no
spaces and the same invalid characters as proxyAddresses, and "Invalid characters will cause
directory synchronization to fail". The name of the export error for targetAddress is UNVERIFIED.

## Remediation
Correct the value on-prem (`Set-ADObject <dn> -Replace @{targetAddress='SMTP:<address>'}`, or
`Set-MailUser/Set-MailContact -ExternalEmailAddress` where Exchange manages the recipient).

## References
- Attribute preparation (targetAddress): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
*/
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'targetAddress' AS attribute,
    j.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has targetAddress "' || j.shown
        || '", which breaks the documented rules: ' || j.broken
        || '. Invalid values make directory synchronization fail for the object.' AS message,
    'Correct the targetAddress of ' || o.distinguished_name
        || ' (Set-ADObject -Identity ''' || o.object_guid || ''' -Replace @{targetAddress=''SMTP:<address>''}).' AS remediation,
    'IdentityDataValidationFailed' AS predicted_outcome,
    j.broken AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document
FROM address_value_problems j
JOIN onprem_objects o ON j.object_row = o.object_row
WHERE j.attribute = 'targetAddress'
