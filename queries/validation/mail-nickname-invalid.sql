/*
+++
name     = "mail-nickname-invalid"
title    = "mailNickname (alias) over 64 characters, starting with a period, or with characters an alias cannot hold"
severity = "medium"
category = "validation"
outcome  = "ValueRewritten"
requires = ["onprem_names", "onprem_objects"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the on-prem mailNickname (the Exchange alias) against the documented rules:
- at most 64 characters (UTF-16 code units; UNVERIFIED how Microsoft counts);
- it does not begin with a period, and every period sits between other valid characters (no
  `..`, no period at the end);
- only letters, digits, ``! # $ % & ' * + - / = ? ^ _ ` { | } ~``, `.` and the characters
  U+00A1 to U+00FF: a space, `@`, `( )`, `,`, `;`, `:`, `\`, `"`, `< >` or `[ ]` is not allowed.
Duplicate aliases are not reported here: mailNickname is not among the attributes Entra ID
requires to be unique (AttributeValueMustBeUnique names mail, proxyAddresses, signInName and
userPrincipalName).

## Why is this bad?
The outcome depends on the rule broken. For characters, Microsoft's directory-preparation page
says the service writes an underscore instead ("Underscores in the synchronized value indicate
that the original value of this attribute contains invalid characters"): the alias is silently
rewritten (`ValueRewritten`), and with it the address and the UPN Entra ID derives from it. For
the length and the leading period, the page states the rule but not what sync does: the finding
predicts IdentityDataValidationFailed, which is UNVERIFIED.

## Remediation
Set a valid alias on-prem (`Set-ADUser <user> -Replace @{mailNickname='<alias>'}`, or
`Set-RemoteMailbox -Alias` where Exchange manages the recipient).

## References
- Attribute preparation (mailNickname): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- Alias characters and periods: https://learn.microsoft.com/powershell/module/exchange/set-mailbox#-alias
- mailNickname at most 64 characters: https://learn.microsoft.com/graph/api/resources/user
*/
-- Each check is computed once as a flag and only the values that fail one get their text built.
WITH checks AS (
    SELECT
        v.object_row, v.value, v.shown, v.symbols, v.length,
        v.length > 64 AS too_long,
        v.value LIKE '.%' AS leading_period,
        v.value LIKE '%..%' OR (v.value LIKE '%.' AND v.length > 1) AS stray_period,
        REGEXP_LIKE(v.value, '[^A-Za-z0-9!#$%&''*+/=?^_`{|}~.¡-ÿ-]') AS bad_characters
    -- The values that can break a check are picked first, on held columns and in a filter of
    -- their own, so that `shown`, `symbols` and `length` (computed when read: docs/rules.md) are
    -- computed for them only: more than 64 bytes (a UTF-16 length is never more than the UTF-8
    -- bytes), or a period first, last or twice in a row, or a character of the test below (one
    -- regular expression: three LIKEs over a million values took twice as long). The expression
    -- is given the mailNickname values only (the others are null to it): a condition on `value`
    -- alone runs in each of the five parts `onprem_names` is made of, before the attribute test
    -- (docs/rules.md), and read every name attribute's values (twice the rule's time).
    FROM (
        SELECT * FROM onprem_names
        WHERE attribute = 'mailNickname'
          AND (OCTET_LENGTH(value) > 64
               OR REGEXP_LIKE(CASE WHEN attribute = 'mailNickname' THEN value END,
                              '^[.]|[.][.]|[.]$|[^A-Za-z0-9!#$%&''*+/=?^_`{|}~.¡-ÿ-]'))
    ) v
),
judged AS (
    SELECT
        c.object_row, c.value, c.shown,
        CONCAT_WS('; ',
            CASE WHEN c.too_long THEN 'longer than 64 characters (' || CAST(c.length AS VARCHAR) || ')' END,
            CASE WHEN c.leading_period THEN 'begins with a period' END,
            CASE WHEN c.stray_period THEN 'a period not between two other characters' END
        ) AS format_broken,
        CASE WHEN c.bad_characters
            THEN 'characters an alias cannot hold (characters other than letters and digits in it: ' || c.symbols || ')'
        END AS characters_broken
    FROM checks c
    WHERE c.too_long OR c.leading_period OR c.stray_period OR c.bad_characters
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'mailNickname' AS attribute,
    j.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has mailNickname "' || j.shown
        || '", which breaks the documented alias rules: ' || CONCAT_WS('; ', NULLIF(j.format_broken, ''), j.characters_broken)
        || CASE WHEN j.format_broken = ''
            THEN '. The service writes an underscore for each invalid character, so the alias (and the addresses derived from it) changes silently.'
            ELSE '. The documented limit is broken; what sync does then is not documented (an export error is assumed).'
        END AS message,
    'Set a valid alias on ' || o.distinguished_name || ' (Set-ADObject -Identity ''' || o.object_guid
        || ''' -Replace @{mailNickname=''<alias>''}): at most 64 letters, digits and ! # $ % & '' * + - / = ? ^ _ ` { | } ~, periods only between them.' AS remediation,
    CASE WHEN j.format_broken = '' THEN 'ValueRewritten' ELSE 'IdentityDataValidationFailed' END AS predicted_outcome,
    CONCAT_WS('; ', NULLIF(j.format_broken, ''), j.characters_broken) AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document
FROM judged j
JOIN onprem_objects o ON j.object_row = o.object_row
