/*
+++
name     = "source-anchor-missing"
title    = "User without a usable value in the custom source anchor attribute"
severity = "medium"
category = "validation"
outcome  = "SourceAnchorMissing"
requires = ["onprem_objects"]
evidence = ["source_anchor_problem"]
+++
## What it does
When the sync settings name a custom source anchor attribute (`--source-anchor employeeID`, or
`NAME;binary` for a binary attribute: a custom Entra Connect install's "A specific attribute"),
reports the in-scope users whose source anchor cannot be predicted from it: the attribute is
missing, holds several values, or holds an integer (Entra Connect base64-encodes a non-string
anchor, but which bytes of an integer it encodes is not documented).

Such a user stays in the audit with no anchor: its UPN and addresses are still checked against
the cloud (a reading that hides no collision), but it never hard-matches. Groups and contacts keep
objectGUID (the design concepts page describes the custom anchor for users; UNVERIFIED for the
other types), and Cloud Sync domains ignore the setting (Cloud Sync's anchor is not configurable).

## Why is this bad?
The source anchor becomes the cloud object's immutable `onPremisesImmutableId`. Microsoft does not
document what Entra Connect does with a user that has no value for the selected attribute: it
cannot be matched to its cloud object by anchor, and it may not be exported at all. The attribute
"should be assigned when the object is created", so a user without it is a gap in the process
that fills it.

## Remediation
Set the attribute on the user before it is first synchronized (it cannot be changed afterwards
without breaking the join), with a single value that follows the documented rules: fewer than 60
characters, none of `\ ! # $ % & * + / = ? ^ ` { } | ~ < > ( ) ' ; : , [ ] " @ _`, unique, and not
varying by case.

## References
- Selecting a good sourceAnchor attribute: https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts
- Custom installation, source anchor: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-custom
*/
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    o.anchor_attribute AS attribute,
    CAST(NULL AS VARCHAR) AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' ' || o.source_anchor_problem || '.' AS message,
    'Give ' || o.distinguished_name || ' one value in ' || o.anchor_attribute
        || ' before it is first synchronized; the source anchor cannot be changed once the object is in Entra ID.' AS remediation,
    o.source_anchor_problem
FROM onprem_objects o
WHERE o.source_anchor_problem IS NOT NULL
