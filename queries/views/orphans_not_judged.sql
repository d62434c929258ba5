/*
+++
name     = "orphans_not_judged"
kind     = "view"
title    = "Why synced cloud objects without a source cannot be judged orphans (one row per reason, when any)"
category = "hygiene"
requires = ["partial_export"]
optional = ["organization"]
+++
## What it does
Gathers the reasons for which `orphaned-synced-object` must not be evaluated, because its findings
would tell the admin to delete cloud objects that are no leftovers of a sync:

- the export is probably partial (`partial_export`);
- directory sync is switched off for the tenant (`organization.onPremisesSyncEnabled` false):
  turning it off converts the synced users to cloud-only, so an object whose source is gone is
  managed in the cloud by the tenant's decision, not left behind by a sync (one that still says
  it is synced has not been converted yet). `directory-sync-stale` reports the switch once.

## References
- Turn off directory synchronization (converts synced users to cloud-only): https://learn.microsoft.com/office365/enterprise/turn-off-directory-synchronization
*/
SELECT reason FROM partial_export
UNION ALL
SELECT
    'directory sync is switched off for the tenant (organization onPremisesSyncEnabled false): its synced objects are converted to cloud-only, so none is an orphan of a sync (directory-sync-stale reports the switch)' AS reason
FROM organization
WHERE sync_enabled = FALSE
