/*
+++
name     = "upn-suffix-unverified"
title    = "On-prem UPN suffix that is not a verified domain of the tenant"
severity = "medium"
category = "hygiene"
outcome  = "UpnReplacedWithInitialDomain"
requires = ["onprem_objects", "domains"]
evidence = ["upn_suffix", "substituted_upn"]
cleanup  = ["fix-upn-suffix"]
+++
## What it does
Finds on-prem users whose cloud UPN suffix (the part after `@`) is not a verified domain of the
tenant, including non-routable suffixes such as `.local` that can never be verified. The cloud UPN
is the sync model's UPN source: userPrincipalName, or the attribute an alternate login ID maps
(then the on-prem UPN's own suffix does not matter).

## Why is this bad?
Entra ID accepts only verified domains in a UPN. Sync replaces an unverified suffix with the
tenant's initial domain (`user@contoso.onmicrosoft.com`), so people sign in with a name they do not
know, and soft match on UPN cannot find their existing cloud account.

## Remediation
Add the suffix as a custom domain and verify it, if you own it (a subdomain of a verified domain
still has to be added). Otherwise give the users a routable suffix you own: add it as a UPN suffix
in Active Directory Domains and Trusts, then change their UPN, for example
`Set-ADUser <user> -UserPrincipalName name@contoso.com`.

## References
- UPN and verified domains: https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-userprincipalname
- Non-routable domains: https://learn.microsoft.com/microsoft-365/enterprise/prepare-a-non-routable-domain-for-directory-synchronization
*/
WITH initial AS (
    SELECT name AS initial_domain FROM domains WHERE is_initial
),
-- The users with an unverified suffix, found first: the substituted UPN is then built for them
-- only (building it for every user and joining it back by objectGUID took most of the time).
unverified_upn_suffix_users AS (
    SELECT * FROM onprem_objects o
    WHERE o.object_type = 'user'
      AND o.upn_suffix IS NOT NULL
      AND o.upn_suffix NOT IN (SELECT name FROM domains WHERE is_verified)
),
-- The UPN sync substitutes (plan-connect-userprincipalname): MailNickName, whose precedence is
-- the on-prem mailNickname, then the primary SMTP address's part before the @, then the UPN's.
substituted AS (
    SELECT
        o.object_guid,
        COALESCE(o.mail_nickname, SPLIT_PART(o.primary_smtp, '@', 1), SPLIT_PART(o.upn_lower, '@', 1))
            || '@' || i.initial_domain AS substituted_upn
    FROM unverified_upn_suffix_users o
    CROSS JOIN initial i
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'userPrincipalName' AS attribute,
    o.cloud_upn AS value,
    'On-prem user ' || o.distinguished_name || ' would get the cloud UPN ' || o.cloud_upn || ', but ' || o.upn_suffix
        || CASE
            WHEN o.upn_suffix NOT LIKE '%.%' OR o.upn_suffix LIKE '%.local' OR o.upn_suffix LIKE '%.lan'
                OR o.upn_suffix LIKE '%.internal' OR o.upn_suffix LIKE '%.corp' OR o.upn_suffix LIKE '%.localdomain'
                OR o.upn_suffix LIKE '%.intranet' OR o.upn_suffix LIKE '%.home' OR o.upn_suffix LIKE '%.private'
            THEN ' is not internet-routable and can never be verified'
            ELSE ' is not a verified domain of the tenant'
        END || ': sync will give the user '
        || COALESCE('the UPN ' || s.substituted_upn, 'an onmicrosoft.com UPN') || ' instead.' AS message,
    -- The command names the user by objectGUID (hex and dashes only, so the quoted form is what
    -- cleanup's ps_quote writes): a DN holding a quote cannot break or extend the command.
    'Verify ' || o.upn_suffix || ' in the tenant if you own it, or change the UPN to a verified domain (Set-ADUser -Identity '''
        || o.object_guid || ''' -UserPrincipalName <name>@<verified domain>).' AS remediation,
    o.upn_suffix,
    s.substituted_upn
FROM unverified_upn_suffix_users o
LEFT JOIN substituted s ON o.object_guid = s.object_guid
