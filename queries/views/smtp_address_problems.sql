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
in `broken` (joined with `; `). The SMTP addresses are the `SMTP:`/`smtp:` values of
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
SELECT * FROM (
    SELECT
        v.object_guid,
        v.attribute,
        v.value,
        CONCAT_WS('; ',
            CASE WHEN v.at_count = 0 THEN 'no @' END,
            CASE WHEN v.at_count > 1 THEN 'more than one @' END,
            CASE WHEN v.at_count >= 1 AND v.local_length = 0 THEN 'nothing before the @' END,
            CASE WHEN v.at_count >= 1 AND v.domain_length = 0 THEN 'nothing after the @' END,
            CASE WHEN REGEXP_LIKE(v.address, '[^A-Za-z0-9!#$%&''*+/=?^_`{|}~.@-]')
                THEN 'a character that is not allowed in an SMTP address (characters other than letters and digits in it: '
                    || v.symbols || ')' END,
            CASE WHEN v.address LIKE '%..%' THEN 'two periods in a row' END,
            CASE WHEN v.at_count >= 1 AND (v.local_part LIKE '.%' OR v.local_part LIKE '%.')
                THEN 'the part before the @ starts or ends with a period' END,
            CASE WHEN v.at_count >= 1 AND v.domain_length > 0
                AND (v.domain LIKE '.%' OR v.domain LIKE '%.' OR REGEXP_LIKE(v.domain, '[^a-z0-9.-]'))
                THEN 'the domain is not a valid DNS name' END
        ) AS broken
    FROM onprem_values v
    WHERE v.is_smtp AND v.attribute IN ('proxyAddresses', 'targetAddress', 'mail')
) smtp_problem_rows
WHERE smtp_problem_rows.broken <> ''
