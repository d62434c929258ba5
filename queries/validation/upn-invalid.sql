/*
+++
name     = "upn-invalid"
title    = "userPrincipalName that breaks Entra ID's documented UPN rules (IdentityDataValidationFailed)"
severity = "high"
category = "validation"
outcome  = "IdentityDataValidationFailed"
requires = ["onprem_values", "onprem_objects"]
evidence = ["rule_broken", "document", "recalculated_upn"]
optional = ["domains"]
+++
## What it does
Checks every on-prem userPrincipalName against the rules Microsoft documents, with "at most"
boundaries (a value exactly at a limit passes):

- at most 113 characters in all, at most 64 before the `@` and at most 48 after it;
- exactly one `@`, and not as the first character;
- before the `@` only `A-Z a-z 0-9 ' . - _ ! # ^ ~` (the apostrophe is allowed: IdFix rejects it
  by mistake, microsoft/idfix#46; `$` and the backtick are not allowed, which IdFix misses);
- no period directly before the `@`, no two periods in a row, and no period or whitespace at
  the end.

Lengths are counted in UTF-16 code units, as .NET counts them; Microsoft says "characters" and
does not say how it counts, so this is UNVERIFIED (it only matters outside the Basic
Multilingual Plane, and such characters are invalid anyway).

The suffix after the `@` is not judged here and never against a list of top-level domains: a
suffix that is not a verified domain of the tenant is `upn-suffix-unverified` (sync substitutes
the UPN). A UPN that is absent is not a validation error (sync builds one from sAMAccountName).
With alternate login ID (the sync model's UPN source is mail), the rules are applied to the
attribute that becomes the cloud UPN, as the UPN-population page says they apply to it.

## Why is this bad?
The two Microsoft pages disagree on what happens, and the finding states both:
- Entra Connect's sync-error page lists IdentityDataValidationFailed: the object is not exported
  while the UPN "has invalid or unsupported characters" or "doesn't follow the required format";
- the UPN-population page says an invalid UPN is replaced: Entra ID "calculates a new UPN"
  `<mailNickname>@<initial domain>` (the finding shows the UPN it would calculate, from the
  on-prem mailNickname, else the primary SMTP address's or the UPN's part before the `@`).
Either way the person cannot sign in with the name they know.

## Remediation
Fix the UPN on-prem: `Set-ADUser <user> -UserPrincipalName <valid name>@<verified domain>`,
keeping it unique. Check the new name against the rules above first.

## References
- Username policies (characters, 113/64/48): https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#username-policies
- Attribute preparation (format, no period before the @): https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- IdentityDataValidationFailed: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#data-mismatch-errors
- UPN recalculated on invalid characters: https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-userprincipalname
*/
-- Each check is computed once as a flag and only the values that fail one get their text built
-- (building it for every UPN first took most of the rule's time at a million users).
WITH checks AS (
    SELECT
        v.object_row, v.attribute, v.becomes_cloud_upn, v.value, v.shown, v.symbols,
        v.length, v.local_length, v.domain_length,
        v.length > 113 AS too_long,
        v.at_count = 0 AS no_at,
        v.at_count > 1 AS many_at,
        v.at_count >= 1 AND v.local_length = 0 AS at_first,
        v.local_length > 64 AS local_too_long,
        v.at_count = 1 AND v.domain_length > 48 AS domain_too_long,
        REGEXP_LIKE(COALESCE(v.local_part, v.address), '[^A-Za-z0-9''._!#^~@-]') AS bad_character,
        v.local_part LIKE '%.' AS period_before_at,
        v.address LIKE '%..%' AS double_period,
        v.value LIKE '%.' OR REGEXP_LIKE(v.value, '[[:space:]]$') AS bad_end
    FROM onprem_values v
    WHERE v.becomes_cloud_upn
        -- Only the UPNs that are not plainly well formed are checked: a dot-atom of the allowed
        -- characters, one @, a domain of labels of letters, digits and `-`, and at most 48
        -- bytes in all (a UTF-16 length is never more than the UTF-8 bytes, so no length limit
        -- can be passed) breaks none of the rules below, and nearly every UPN is one; the parts,
        -- lengths and characters the checks read are computed when read (docs/rules.md), here
        -- only for the others.
        AND (OCTET_LENGTH(v.value) > 48 OR NOT REGEXP_LIKE(v.value,
            '^[A-Za-z0-9''_!#^~-]+([.][A-Za-z0-9''_!#^~-]+)*@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*$'))
),
judged AS (
    SELECT
        c.object_row, c.attribute, c.becomes_cloud_upn, c.value, c.shown,
        CONCAT_WS('; ',
            CASE WHEN c.too_long THEN 'longer than 113 characters (' || CAST(c.length AS VARCHAR) || ')' END,
            CASE WHEN c.no_at THEN 'no @' END,
            CASE WHEN c.many_at THEN 'more than one @' END,
            CASE WHEN c.at_first THEN '@ is the first character' END,
            CASE WHEN c.local_too_long
                THEN 'more than 64 characters before the @ (' || CAST(c.local_length AS VARCHAR) || ')' END,
            CASE WHEN c.domain_too_long
                THEN 'more than 48 characters after the @ (' || CAST(c.domain_length AS VARCHAR) || ')' END,
            CASE WHEN c.bad_character
                THEN 'characters outside A-Z a-z 0-9 '' . - _ ! # ^ ~ before the @ (characters other than letters and digits in the UPN: '
                    || c.symbols || ')' END,
            CASE WHEN c.period_before_at THEN 'a period directly before the @' END,
            CASE WHEN c.double_period THEN 'two periods in a row' END,
            CASE WHEN c.bad_end THEN 'a period or whitespace at the end' END
        ) AS broken
    FROM checks c
    WHERE c.too_long OR c.no_at OR c.many_at OR c.at_first OR c.local_too_long OR c.domain_too_long
        OR c.bad_character OR c.period_before_at OR c.double_period OR c.bad_end
),
initial AS (
    SELECT name AS initial_domain, TRUE AS becomes_cloud_upn FROM domains WHERE is_initial
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    j.attribute,
    j.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has ' || j.attribute || ' "' || j.shown
        || '"' || CASE WHEN j.attribute <> 'userPrincipalName' THEN ' (the attribute sync writes to the cloud UPN)' ELSE '' END
        || ', which breaks the documented UPN rules: ' || j.broken
        || '. Entra Connect reports IdentityDataValidationFailed for such a UPN and does not export the object; '
        || 'the UPN-population page says Entra ID instead calculates a new UPN '
        || COALESCE(
            COALESCE(o.mail_nickname, SPLIT_PART(o.primary_smtp, '@', 1), SPLIT_PART(o.upn_lower, '@', 1)) || '@' || i.initial_domain,
            '<mailNickname>@<initial domain> (the initial domain is not in the snapshot)')
        || ' (the two Microsoft pages disagree).' AS message,
    'Give ' || o.distinguished_name || ' a UPN that follows the rules (Set-ADUser -Identity ''' || o.object_guid
        || ''' -UserPrincipalName <name>@<verified domain>): at most 64 characters of A-Z a-z 0-9 '' . - _ ! # ^ ~ before one @, no period before the @ or at the end, at most 113 in all.' AS remediation,
    'IdentityDataValidationFailed' AS predicted_outcome,
    j.broken AS rule_broken,
    'https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#username-policies' AS document,
    COALESCE(o.mail_nickname, SPLIT_PART(o.primary_smtp, '@', 1), SPLIT_PART(o.upn_lower, '@', 1)) || '@' || i.initial_domain AS recalculated_upn
FROM judged j
JOIN onprem_objects o ON j.object_row = o.object_row
LEFT JOIN initial i ON j.becomes_cloud_upn = i.becomes_cloud_upn
WHERE o.object_type = 'user'
