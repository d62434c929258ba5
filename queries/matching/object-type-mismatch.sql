/*
+++
name     = "object-type-mismatch"
title    = "On-prem object would soft-match a cloud object of another type (ObjectTypeMismatch)"
severity = "high"
category = "matching"
outcome  = "ObjectTypeMismatch"
requires = ["soft_match_candidates", "onprem_objects"]
evidence = ["onprem_object_type", "cloud_sync_state"]
cleanup  = ["resolve-object-type-mismatch"]
cloud_object_blocks_onprem = true
+++
## What it does
Finds on-prem objects with no hard match whose soft-match value (userPrincipalName or primary SMTP
address) is held by a cloud object of another type: an on-prem user whose address a cloud contact
or mail-enabled group already has, a contact whose address a cloud user has, and so on. The cloud
object may hold the value as its primary or as a secondary (`smtp:`) address.

## Why is this bad?
Soft match finds the cloud object, sees it is a different kind of object, and stops: sync reports
ObjectTypeMismatch and the on-prem object is not provisioned. The classic case is a mail contact
or a Microsoft 365 group created in the cloud for an address that later became a person's mailbox.

## Remediation
Remove the address from the cloud object (or delete the cloud object if it is a leftover, such as a
contact created before the mailbox moved), then let the next sync cycle create or join the on-prem
object. If the cloud object is the one to keep, change the on-prem object's address instead.

## References
- ObjectTypeMismatch: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#objecttypemismatch
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
*/
SELECT
    s.cloud_object_id,
    s.cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    s.attribute,
    s.address AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' would soft-match on ' || s.address
        || ', but that address belongs to cloud ' || s.cloud_object_type || ' '''
        || COALESCE(s.cloud_display_name, s.cloud_object_id) || ''' (' || s.cloud_object_id
        || '). Sync will fail with ObjectTypeMismatch.' AS message,
    'Remove ' || s.address || ' from cloud ' || s.cloud_object_type || ' ' || s.cloud_object_id
        || ' (or delete it if it is a leftover), or change the address of on-prem ' || o.object_type || ' '
        || o.distinguished_name || '.' AS remediation,
    o.object_type AS onprem_object_type,
    s.cloud_sync_state
FROM soft_match_candidates s
JOIN onprem_objects o ON s.object_row = o.object_row
WHERE s.verdict = 'type_mismatch'
