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
-- A value has a problem when it has one of its own (too long; a control character where it is
-- not an SMTP address) or is one of the SMTP address problems. The rows with neither are
-- dropped before the join and before the message is built (joining every address and building
-- the message for each first took most of the time and memory of the rules).
-- Those with a problem of their own are picked on held columns first, in a filter of their own,
-- so that `shown` and `length` (computed when read: docs/rules.md) are computed for them only:
-- only a value of more than 256 bytes can be too long (a UTF-16 length is never more than the
-- UTF-8 bytes), and only a value that is not an SMTP address is judged for control characters.
-- The control-character test is a regular expression, so it runs only on the rows kept: a value
-- with a control character is always written differently in `shown` (which escapes them).
WITH own_checks AS (
    SELECT
        v.object_row, v.attribute, v.value, v.shown, v.prefix, v.length,
        v.length > 256 AS too_long,
        NOT v.is_smtp AND REGEXP_LIKE(v.value, '[[:cntrl:]]') AS control_character
    FROM (
        SELECT * FROM onprem_values
        WHERE attribute IN ('mail', 'targetAddress', 'proxyAddresses')
          AND (OCTET_LENGTH(value) > 256 OR NOT is_smtp)
    ) v
    WHERE v.length > 256 OR (NOT v.is_smtp AND v.shown <> v.value)
),
-- The SMTP address problems bring their own `shown`, `prefix` and `length`. An SMTP address has
-- no control-character test, so one has a problem of its own only when it is too long, and is
-- then in own_checks already.
address_checks AS (
    SELECT object_row, attribute, value, shown, prefix, length, too_long, control_character
    FROM own_checks
    UNION ALL
    SELECT
        smtp_problem.object_row, smtp_problem.attribute, smtp_problem.value, smtp_problem.shown,
        smtp_problem.prefix, smtp_problem.length, FALSE AS too_long, FALSE AS control_character
    FROM smtp_address_problems smtp_problem
    WHERE smtp_problem.length <= 256
)
SELECT
    k.object_row,
    k.attribute,
    k.value,
    k.shown,
    k.prefix,
    CONCAT_WS('; ',
        CASE WHEN k.too_long
            THEN 'longer than 256 characters (' || CAST(k.length AS VARCHAR) || ')' END,
        CASE WHEN k.control_character THEN 'a control character' END,
        s.broken
    ) AS broken
FROM address_checks k
LEFT JOIN smtp_address_problems s
    ON k.object_row = s.object_row
    AND k.attribute = s.attribute
    AND k.value = s.value
WHERE k.too_long OR k.control_character OR s.broken IS NOT NULL
