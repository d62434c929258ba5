/*
+++
name     = "large-object"
title    = "Certificates, photo, proxy addresses or group members beyond Entra ID's documented limits (LargeObject)"
severity = "medium"
category = "validation"
outcome  = "LargeObject"
requires = ["onprem_objects"]
evidence = ["rule_broken", "document"]
+++
## What it does
Checks the on-prem value counts and sizes Entra ID limits, from the export (LDIF carries the
values and they are counted; the export script's JSON carries the counts):

- userCertificate or userSMIMECertificate with more than 15 values (15 exactly is fine);
- thumbnailPhoto over 102,400 bytes, the attribute's documented maximum in the AD schema
  (Entra Connect's own threshold for a "too large" photo is not documented: UNVERIFIED);
- proxyAddresses: 300 values or more, where Microsoft says it is "safer to assume" the object
  is too large (its examples fail at 332, 329 and 311 addresses, less with certificates);
- groups with 250,000 members or more (not synchronized), and with 50,000 or more (the limit
  an Entra Connect upgrade to 1.6 resets to, on the older endpoint).

## Why is this bad?
- Certificates: Entra Connect since 1.1.524.0 does not export userCertificate and
  userSMIMECertificate when they hold more than 15 values (the values are dropped, the object
  syncs); older versions and customised rules fail the export with LargeObject. Without the
  certificates, S/MIME and certificate-based features lose the user's certificates in the cloud.
- Photo and proxy addresses: the export fails with LargeObject ("The provisioned object is too
  large"); the object-size formula is not documented, so the proxy-address threshold is
  Microsoft's rule of thumb, stated as such.
- Groups: a group with 250,000 members or more is not synchronized; the limit is also enforced
  by Microsoft Entra ID.

## Remediation
- Certificates: remove expired certificates (`Remove-ADSyncToolsExpiredCertificates` from the
  ADSyncTools module), keeping at most 15.
- Photo: store a smaller picture (`Set-ADUser <user> -Replace @{thumbnailPhoto=[byte[]](...)}`).
- Proxy addresses: remove the addresses no longer needed.
- Groups: split the group below the limit.

## References
- LargeObject for userCertificate (15 values, 1.1.524.0): https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-largeobjecterror-usercertificate
- LargeObject and the proxy-address rule of thumb: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#largeobject
- Group limit (250,000): https://learn.microsoft.com/entra/identity/hybrid/connect/concept-azure-ad-connect-sync-default-configuration
- Group limit after upgrade (50,000): https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-endpoint-api-v2
- thumbnailPhoto maximum: https://learn.microsoft.com/windows/win32/adschema/a-thumbnailphoto
*/
WITH checks AS (
    SELECT object_row,
        'userCertificate' AS attribute,
        CAST(certificate_count AS VARCHAR) || ' values' AS value,
        'more than 15 userCertificate values (' || CAST(certificate_count AS VARCHAR) || ')' AS rule_broken,
        'LargeObject' AS predicted_outcome,
        'Entra Connect 1.1.524.0 and later does not export the attribute (the certificates are dropped, the object syncs); older versions or customised rules fail with LargeObject' AS effect,
        'https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-largeobjecterror-usercertificate' AS document
    FROM onprem_objects WHERE certificate_count > 15
    UNION ALL
    SELECT object_row,
        'userSMIMECertificate' AS attribute,
        CAST(smime_certificate_count AS VARCHAR) || ' values' AS value,
        'more than 15 userSMIMECertificate values (' || CAST(smime_certificate_count AS VARCHAR) || ')' AS rule_broken,
        'LargeObject' AS predicted_outcome,
        'Entra Connect 1.1.524.0 and later does not export the attribute (the certificates are dropped, the object syncs); older versions or customised rules fail with LargeObject' AS effect,
        'https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-largeobjecterror-usercertificate' AS document
    FROM onprem_objects WHERE smime_certificate_count > 15
    UNION ALL
    SELECT object_row,
        'thumbnailPhoto' AS attribute,
        CAST(thumbnail_photo_bytes AS VARCHAR) || ' bytes' AS value,
        'thumbnailPhoto over 102400 bytes (' || CAST(thumbnail_photo_bytes AS VARCHAR) || ')' AS rule_broken,
        'LargeObject' AS predicted_outcome,
        'the export fails with LargeObject (the photo is too large to be synced)' AS effect,
        'https://learn.microsoft.com/windows/win32/adschema/a-thumbnailphoto' AS document
    FROM onprem_objects WHERE thumbnail_photo_bytes > 102400
    UNION ALL
    SELECT object_row,
        'proxyAddresses' AS attribute,
        CAST(proxy_address_count AS VARCHAR) || ' values' AS value,
        '300 or more proxyAddresses values (' || CAST(proxy_address_count AS VARCHAR) || ')' AS rule_broken,
        'LargeObject' AS predicted_outcome,
        CASE WHEN proxy_address_count >= 332
            THEN 'more addresses than Microsoft''s largest working example (332 on a bare user): the export is likely to fail with LargeObject'
            ELSE 'Microsoft says it is safer to assume about 300 addresses is the limit: the export may fail with LargeObject'
        END AS effect,
        'https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#largeobject' AS document
    FROM onprem_objects WHERE proxy_address_count >= 300
    UNION ALL
    SELECT object_row,
        'member' AS attribute,
        CAST(member_count AS VARCHAR) || ' members' AS value,
        CASE WHEN member_count >= 250000 THEN '250,000 members or more (' ELSE '50,000 members or more (' END
            || CAST(member_count AS VARCHAR) || ')' AS rule_broken,
        CASE WHEN member_count >= 250000 THEN 'NotSynced' ELSE 'LargeObject' END AS predicted_outcome,
        CASE WHEN member_count >= 250000
            THEN 'the group is not synchronized (fewer than 250,000 members are required, also by Entra ID)'
            ELSE 'Entra Connect before the V2 endpoint, or upgraded to 1.6, limits groups to 50,000 members: the membership may not sync (UNVERIFIED which builds)'
        END AS effect,
        CASE WHEN member_count >= 250000
            THEN 'https://learn.microsoft.com/entra/identity/hybrid/connect/concept-azure-ad-connect-sync-default-configuration'
            ELSE 'https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-endpoint-api-v2'
        END AS document
    FROM onprem_objects WHERE object_type = 'group' AND member_count >= 50000
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    c.attribute,
    c.value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' has ' || c.rule_broken || ': ' || c.effect || '.' AS message,
    CASE c.attribute
        WHEN 'userCertificate' THEN 'Remove expired certificates from ' || o.distinguished_name || ' (Remove-ADSyncToolsExpiredCertificates), keeping at most 15.'
        WHEN 'userSMIMECertificate' THEN 'Remove expired S/MIME certificates from ' || o.distinguished_name || ', keeping at most 15.'
        WHEN 'thumbnailPhoto' THEN 'Store a smaller thumbnailPhoto on ' || o.distinguished_name || '.'
        WHEN 'proxyAddresses' THEN 'Remove proxy addresses ' || o.distinguished_name || ' no longer needs.'
        ELSE 'Split group ' || o.distinguished_name || ' into smaller groups.'
    END AS remediation,
    c.predicted_outcome,
    c.rule_broken,
    c.document
FROM checks c
-- On the row, which names the object as its GUID does: a number hashes faster than a million
-- GUIDs' text.
JOIN onprem_objects o ON c.object_row = o.object_row
