/*
+++
name     = "smtp_address_problems"
kind     = "view"
title    = "What is wrong with the syntax of each on-prem SMTP address (proxyAddresses, targetAddress, mail)"
category = "validation"
requires = ["onprem_values"]
+++
## What it does
One row per on-prem SMTP address that breaks the documented syntax, with every rule it breaks
in `broken` (joined with `; `), and its `shown`, `prefix` and `length` as `onprem_values` has
them (what `address_value_problems` reports). The SMTP addresses are the `SMTP:`/`smtp:` values of
proxyAddresses and targetAddress (judged after the prefix, as PREP says the rules apply "to the
characters following the type delimiter") and mail. userPrincipalName has its own, stricter
rules (`upn-invalid`).

The rules, each from the Microsoft 365 directory-preparation page (PREP) unless noted:
- exactly one `@`, with something on both sides;
- no whitespace, no `< > ( ) ; , [ ] "`, no second `:` (`SMTP:user:M@contoso.com` is PREP's own
  example of an invalid value), and no character outside RFC 5322's atom characters
  (letters, digits, ``! # $ % & ' * + - / = ? ^ _ ` { | } ~``) plus `.`: a backslash or a
  non-ASCII letter (PREP: "diacritical marks" are invalid) fails. The apostrophe is allowed
  (IdFix flagged it by mistake: microsoft/idfix#46);
- no `..`, and the local part neither starts nor ends with `.` (RFC 5322 dot-atom);
- the domain holds only letters, digits, `-` and `.`, with no empty label.

The domain is never judged against a list of top-level domains (IdFix's list misses 606 of
today's TLDs and every `xn--` TLD): whether a domain is the tenant's is a different question.

## References
- Attribute rules: https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- Address syntax: https://www.rfc-editor.org/rfc/rfc5322#section-3.4.1
*/
-- Each check is computed once as a flag, the rows with none are dropped, and only the few that
-- remain get their message built (building it for every address first took most of the time).
SELECT
    smtp_address_checks.object_row,
    smtp_address_checks.attribute,
    smtp_address_checks.value,
    smtp_address_checks.shown,
    smtp_address_checks.prefix,
    smtp_address_checks.length,
    CONCAT_WS('; ',
        CASE WHEN smtp_address_checks.no_at THEN 'no @' END,
        CASE WHEN smtp_address_checks.many_at THEN 'more than one @' END,
        CASE WHEN smtp_address_checks.empty_local THEN 'nothing before the @' END,
        CASE WHEN smtp_address_checks.empty_domain THEN 'nothing after the @' END,
        CASE WHEN smtp_address_checks.bad_character
            THEN 'a character that is not allowed in an SMTP address (characters other than letters and digits in it: '
                || smtp_address_checks.symbols || ')' END,
        CASE WHEN smtp_address_checks.double_period THEN 'two periods in a row' END,
        CASE WHEN smtp_address_checks.dotted_local THEN 'the part before the @ starts or ends with a period' END,
        CASE WHEN smtp_address_checks.bad_domain THEN 'the domain is not a valid DNS name' END
    ) AS broken
FROM (
    SELECT
        v.object_row,
        v.attribute,
        v.value,
        v.shown,
        v.prefix,
        v.length,
        v.symbols,
        v.at_count = 0 AS no_at,
        v.at_count > 1 AS many_at,
        v.at_count >= 1 AND v.local_length = 0 AS empty_local,
        v.at_count >= 1 AND v.domain_length = 0 AS empty_domain,
        REGEXP_LIKE(v.address, '[^A-Za-z0-9!#$%&''*+/=?^_`{|}~.@-]') AS bad_character,
        v.address LIKE '%..%' AS double_period,
        v.at_count >= 1 AND (v.local_part LIKE '.%' OR v.local_part LIKE '%.') AS dotted_local,
        v.at_count >= 1 AND v.domain_length > 0
            AND (v.domain LIKE '.%' OR v.domain LIKE '%.' OR REGEXP_LIKE(v.domain, '[^a-z0-9.-]')) AS bad_domain
    -- The SMTP addresses are picked on held columns first, in a filter of their own, so that
    -- `address` (computed when read: docs/rules.md) is computed for them only. (When the held
    -- columns held the address and its facts, this filter copied 0.4 GiB of them, the audit's
    -- peak, and the SMTP test was a flag instead; it now copies four columns, about 70 MiB.)
    FROM (
        SELECT * FROM onprem_values
        WHERE is_smtp AND attribute IN ('proxyAddresses', 'targetAddress', 'mail')
    ) v
    -- Only the addresses that are not plainly well formed are checked. A dot-atom of RFC 5322's
    -- atom characters, one @ and a domain of labels of letters, digits and `-` breaks none of
    -- the rules below, and nearly every address is one; the parts, lengths and characters the
    -- checks read are computed when read (docs/rules.md), here only for the others.
    WHERE NOT REGEXP_LIKE(v.address,
            '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+([.][A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*$')
) smtp_address_checks
WHERE smtp_address_checks.no_at OR smtp_address_checks.many_at OR smtp_address_checks.empty_local OR smtp_address_checks.empty_domain OR smtp_address_checks.bad_character OR smtp_address_checks.double_period
    OR smtp_address_checks.dotted_local OR smtp_address_checks.bad_domain
