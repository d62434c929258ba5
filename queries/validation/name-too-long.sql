/*
+++
name     = "name-too-long"
title    = "displayName over 256, givenName or sn over 64 characters"
severity = "medium"
category = "validation"
outcome  = "IdentityDataValidationFailed"
requires = ["onprem_names", "onprem_objects"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the on-prem name attributes against Microsoft's documented maximum lengths, with "at
most" boundaries: displayName at most 256 characters, givenName and sn (surname) at most 64.
A value exactly at the limit passes (IdFix's default rules flag a 256-character displayName
and a 64-character givenName, one short of the documented limits, and never check sn).
Lengths are counted in UTF-16 code units, as .NET counts strings; Microsoft says
"characters" and does not say how it counts (UNVERIFIED).

## Why is this bad?
Microsoft's directory-preparation page gives these limits for synchronized attributes, and
Microsoft Graph documents the same for the user's displayName, givenName and surname. Whether
Entra Connect reports an export error or truncates the value is UNVERIFIED: the finding
predicts an export error (IdentityDataValidationFailed).

## Remediation
Shorten the value on-prem (`Set-ADUser <user> -DisplayName|-GivenName|-Surname <value>`).

## References
- Attribute preparation (displayName 256, givenName 64, sn 64): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- user resource (lengths): https://learn.microsoft.com/graph/api/resources/user
*/
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    v.attribute,
    v.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has a ' || v.attribute || ' of '
        || CAST(v.length AS VARCHAR) || ' characters; at most '
        || CASE v.attribute WHEN 'displayName' THEN '256' ELSE '64' END
        || ' are allowed. What sync does with it is not documented (an export error is assumed).' AS message,
    'Shorten ' || v.attribute || ' of ' || o.distinguished_name || ' to at most '
        || CASE v.attribute WHEN 'displayName' THEN '256' ELSE '64' END || ' characters.' AS remediation,
    'IdentityDataValidationFailed' AS predicted_outcome,
    v.attribute || ' longer than ' || CASE v.attribute WHEN 'displayName' THEN '256' ELSE '64' END
        || ' characters (' || CAST(v.length AS VARCHAR) || ')' AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document
-- A value of at most 64 bytes cannot be too long (a UTF-16 length is never more than the UTF-8
-- bytes), and nearly every name is one: the others are picked first, on their own, so that the
-- length, computed when read (docs/rules.md), is computed for them only.
FROM (SELECT * FROM onprem_names WHERE OCTET_LENGTH(value) > 64) v
JOIN onprem_objects o ON v.object_row = o.object_row
WHERE (v.attribute = 'displayName' AND v.length > 256)
   OR (v.attribute IN ('givenName', 'sn') AND v.length > 64)
