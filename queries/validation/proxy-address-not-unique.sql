/*
+++
name     = "proxy-address-not-unique"
title    = "A non-SMTP proxy address (X500, SIP, ...) two on-prem objects hold"
severity = "medium"
category = "validation"
outcome  = "AttributeValueMustBeUnique"
requires = ["onprem_values", "onprem_objects"]
evidence = ["rule_broken", "document", "other_onprem_object_guid", "other_onprem_distinguished_name"]
+++
## What it does
Finds proxyAddresses values other than SMTP (`X500:`, `SIP:`, `EUM:`, `X400:`, ...) that two
on-prem objects hold, compared case-insensitively on the whole value, prefix included. SMTP
addresses share one namespace with mail and the UPN and are the `duplicate-attribute` rule;
IdFix compares duplicates within one attribute only and misses neither of these, but it also
flags objects sync never exports.

## Why is this bad?
Microsoft Graph documents that "proxyAddresses are unique across directory objects (users,
groups, and organizational contacts)", and Entra Connect's error page lists proxyAddresses among
the attributes that must be unique (AttributeValueMustBeUnique). Duplicate attribute resiliency
handles "only UPN and SMTP ProxyAddress values", so a duplicate X500 or SIP address is not
quarantined: the second object is predicted to fail with AttributeValueMustBeUnique. Whether
the service enforces uniqueness for every non-SMTP type is UNVERIFIED.

## Remediation
Keep the address on the object that should receive it (for an X500 address, the mailbox whose
legacyExchangeDN it was) and remove it from the other:
`Set-ADObject <dn> -Remove @{proxyAddresses='<value>'}`.

## References
- proxyAddresses unique across objects: https://learn.microsoft.com/graph/api/resources/user
- AttributeValueMustBeUnique: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#attributevaluemustbeunique
- Resiliency covers UPN and SMTP only: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-duplicate-attribute-resiliency
*/
WITH other AS (
    SELECT object_row, value, shown, LOWER(value) AS key
    FROM onprem_values
    WHERE attribute = 'proxyAddresses' AND NOT is_smtp AND prefix IS NOT NULL
),
repeated AS (
    SELECT key FROM other GROUP BY key HAVING COUNT(DISTINCT object_row) > 1
),
held AS (
    SELECT o.* FROM other o SEMI JOIN repeated r ON o.key = r.key
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    oa.object_guid AS onprem_object_guid,
    oa.distinguished_name AS onprem_distinguished_name,
    'proxyAddresses' AS attribute,
    a.shown AS value,
    'On-prem ' || oa.object_type || ' ' || oa.distinguished_name || ' and on-prem ' || ob.object_type || ' '
        || ob.distinguished_name || ' both hold proxy address "' || a.shown
        || '". proxyAddresses are unique across the directory, and duplicate attribute resiliency does not cover non-SMTP addresses.' AS message,
    'Keep "' || a.shown || '" on the object that should receive it and remove it from the other ('
        || ob.distinguished_name || ' or ' || oa.distinguished_name || ').' AS remediation,
    'AttributeValueMustBeUnique' AS predicted_outcome,
    'proxyAddresses are unique across directory objects' AS rule_broken,
    'https://learn.microsoft.com/graph/api/resources/user' AS document,
    ob.object_guid AS other_onprem_object_guid,
    ob.distinguished_name AS other_onprem_distinguished_name
FROM held a
JOIN held b ON a.key = b.key
JOIN onprem_objects oa ON a.object_row = oa.object_row
JOIN onprem_objects ob ON b.object_row = ob.object_row
-- Each pair once, the lower GUID first (by GUID, not row: the same pair reads the same way
-- whatever order the export lists the two objects in).
WHERE oa.object_guid < ob.object_guid
