/*
+++
name     = "mail-invalid"
title    = "mail that is not a well-formed SMTP address"
severity = "medium"
category = "validation"
outcome  = "IdentityDataValidationFailed"
requires = ["onprem_objects", "address_value_problems"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the on-prem mail attribute with the SMTP syntax of the `smtp_address_problems` view (one
`@` with text on both sides, no whitespace or `< > ( ) ; , [ ] "`, no accented or other non-ASCII
letters, no `..`, a DNS-shaped domain) and a length of at most 256 characters (UTF-16 code
units). IdFix's default rule set checks only mail's length and duplicates, so `holly @adatum.com`
passes it (MicrosoftLearning MS-100T00 #21); the domain is never judged against a list of
top-level domains. Duplicates are the `duplicate-attribute` rule.

## Why is this bad?
mail joins the SMTP namespace in Entra ID and must be a valid address: Microsoft Graph documents
that mail "can't contain accent characters", and the directory-preparation page says invalid
characters make synchronization fail. Which export error Entra Connect reports for mail, and
whether the 256 limit applies to it, are UNVERIFIED: the 256 limit is IdFix's, Microsoft's
pages give none for mail.

## Remediation
Correct mail on-prem (`Set-ADUser <user> -EmailAddress <address>`, or the Exchange cmdlets where
Exchange manages the recipient), keeping it equal to the primary SMTP address.

## References
- Attribute preparation: https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization
- user.mail ("can't contain accent characters"): https://learn.microsoft.com/graph/api/resources/user
*/
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'mail' AS attribute,
    j.shown AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has mail "' || j.shown
        || '", which is not a well-formed SMTP address: ' || j.broken
        || '. Invalid characters make directory synchronization fail for the object.' AS message,
    'Correct mail of ' || o.distinguished_name || ' on-prem (Set-ADObject -Identity ''' || o.object_guid
        || ''' -Replace @{mail=''<address>''}).' AS remediation,
    'IdentityDataValidationFailed' AS predicted_outcome,
    j.broken AS rule_broken,
    'https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization' AS document
FROM address_value_problems j
JOIN onprem_objects o ON j.object_row = o.object_row
WHERE j.attribute = 'mail'
