/*
+++
name     = "sam-account-name-invalid"
title    = "User sAMAccountName over 20 characters or with characters it cannot hold (the account is still created)"
severity = "low"
category = "validation"
outcome  = "AccountStillCreated"
requires = ["onprem_names", "onprem_objects"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the sAMAccountName of on-prem users: at most 20 characters, and none of
`[ ] \ " | , / : < > + = ; ? * '` or control characters (the directory-preparation page's list).
Groups and contacts are not checked (their limit is not the users' 20).

## Why is this bad?
Less than IdFix makes of it: Microsoft's directory-preparation page says "If a user has an
invalid sAMAccountName attribute but has a valid userPrincipalName attribute, the user account
is created in Microsoft 365", so for a user with a UPN the finding predicts no export error
(`AccountStillCreated`) and is low severity; onPremisesSamAccountName and anything keyed on it
(sign-in with the down-level name, scripts) carry the odd value. A user without a UPN gets one
built from sAMAccountName (`<sAMAccountName>@<domain>`), so an invalid character then lands in
the UPN: the finding predicts IdentityDataValidationFailed there (UNVERIFIED).

## Remediation
Rename the account on-prem (`Set-ADUser <user> -SamAccountName <name>`) where the value matters;
for users with a valid UPN this is hygiene, not a sync blocker.

## References
- Attribute preparation (sAMAccountName): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
*/
-- Each check is computed once as a flag and only the values that fail one get their text built.
WITH checks AS (
    SELECT
        v.object_row, v.value, v.shown, v.symbols, v.length,
        v.length > 20 AS too_long,
        REGEXP_LIKE(v.value, '[\[\]\\"|,/:<>+=;?*''[:cntrl:]]') AS bad_characters
    -- The values that can break a check are picked first, on held columns and in a filter of
    -- their own, so that `shown`, `symbols` and `length` (computed when read: docs/rules.md) are
    -- computed for them only: a value of at most 20 bytes (a UTF-16 length is never more than
    -- the UTF-8 bytes) without a character of the test below breaks neither. The regular
    -- expression is given the sAMAccountName values only (the others are null to it): a
    -- condition on `value` alone runs in each of the five parts `onprem_names` is made of, before
    -- the attribute test (docs/rules.md), and read every name attribute's values (twice the
    -- rule's time).
    FROM (
        SELECT * FROM onprem_names
        WHERE attribute = 'sAMAccountName' AND object_type = 'user'
          AND (OCTET_LENGTH(value) > 20
               OR REGEXP_LIKE(CASE WHEN attribute = 'sAMAccountName' THEN value END,
                              '[\[\]\\"|,/:<>+=;?*''[:cntrl:]]'))
    ) v
),
judged AS (
    SELECT
        c.object_row, c.value, c.shown,
        CONCAT_WS('; ',
            CASE WHEN c.too_long THEN 'longer than 20 characters (' || CAST(c.length AS VARCHAR) || ')' END,
            CASE WHEN c.bad_characters
                THEN 'a character it cannot hold (characters other than letters and digits in it: ' || c.symbols || ')' END
        ) AS broken
    FROM checks c
    WHERE c.too_long OR c.bad_characters
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'sAMAccountName' AS attribute,
    j.shown AS value,
    'On-prem user ' || o.distinguished_name || ' has sAMAccountName "' || j.shown || '": ' || j.broken
        || CASE WHEN o.user_principal_name IS NULL
            THEN '. The user has no userPrincipalName, so sync builds one from sAMAccountName and the value reaches the UPN.'
            ELSE '. Microsoft documents that a user with a valid userPrincipalName is still created; the odd value stays in onPremisesSamAccountName.'
        END AS message,
    'Rename the account on-prem if the name matters (Set-ADUser -Identity ''' || o.object_guid
        || ''' -SamAccountName <name of at most 20 allowed characters>).' AS remediation,
    CASE WHEN o.user_principal_name IS NULL THEN 'IdentityDataValidationFailed' ELSE 'AccountStillCreated' END AS predicted_outcome,
    j.broken AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document
FROM judged j
JOIN onprem_objects o ON j.object_row = o.object_row
