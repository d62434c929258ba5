/*
+++
name     = "address_value_problems"
kind     = "view"
title    = "What is wrong with each on-prem mail, targetAddress and proxyAddresses value"
category = "validation"
requires = ["onprem_values", "smtp_address_problems"]
+++
## What it does
One row per on-prem mail, targetAddress or proxyAddresses value that breaks a documented limit,
with every limit it breaks in `broken` (joined with `; `): longer than 256 characters, a control
character in a value that is not an SMTP address (an `X500:` or `SIP:` proxy address, say), or
the SMTP syntax `smtp_address_problems` judges. `mail-invalid`, `target-address-invalid` and
`proxy-address-invalid` each report their attribute's rows, so the three judge a value the same
way and the join with `smtp_address_problems` runs once.

## References
- Attribute rules: https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
*/
SELECT * FROM (
    SELECT
        v.object_guid,
        v.attribute,
        v.value,
        v.shown,
        v.prefix,
        CONCAT_WS('; ',
            CASE WHEN v.length > 256 THEN 'longer than 256 characters (' || CAST(v.length AS VARCHAR) || ')' END,
            CASE WHEN NOT v.is_smtp AND REGEXP_LIKE(v.value, '[[:cntrl:]]') THEN 'a control character' END,
            s.broken
        ) AS broken
    FROM onprem_values v
    LEFT JOIN smtp_address_problems s
        ON v.object_guid = s.object_guid AND v.attribute = s.attribute AND v.value = s.value
    WHERE v.attribute IN ('mail', 'targetAddress', 'proxyAddresses')
) address_problem_rows
WHERE address_problem_rows.broken <> ''
