#Requires -Version 5.1
#Requires -Modules ActiveDirectory
<#
.SYNOPSIS
Exports AD users, contacts and groups to one JSON file for `entra-audit check --onprem FILE`.

.DESCRIPTION
This file is owned by entra-audit (src/onprem/script.ps1, printed by `entra-audit onprem-script`):
it writes exactly the JSON shape the importer reads, and a test keeps the two in step. It only
reads the directory; it changes nothing.

Run it on a domain-joined machine with the ActiveDirectory module (RSAT), as any domain user:
reading these attributes needs no special rights. It works on Windows PowerShell 5.1 and
PowerShell 7.

Every user, contact and group under -SearchBase is written with the attributes sync keys on:
objectGUID, mS-DS-ConsistencyGuid, objectSid, distinguishedName, objectClass, userPrincipalName,
sAMAccountName, mail, mailNickname, proxyAddresses, displayName, givenName, sn, targetAddress
and userAccountControl, plus what Entra Connect's default scoping reads (isCriticalSystemObject,
msExchRecipientTypeDetails, groupType, adminDescription), so that built-in and system objects are
recognised as never synced, and the value counts and sizes Entra ID limits (userCertificate,
userSMIMECertificate, thumbnailPhoto, member: counts and bytes, not the values).
Computers (which are also of class user in AD) are left out.

.PARAMETER Path
The file to write (UTF-8 without BOM). Default: entra-audit-onprem.json in the current directory.

.PARAMETER SearchBase
The DN to export below, e.g. 'OU=Staff,DC=contoso,DC=com'. Default: the whole domain.

.PARAMETER Server
A domain controller or domain to query. Default: the machine's domain.

.PARAMETER Attribute
More attributes to write (repeatable), for the custom source anchor or UPN attribute that
`entra-audit check --source-anchor NAME` / `--upn-source NAME` names, e.g. employeeID. A
binary value (byte[]) is written as base64: give it to check as `--source-anchor NAME;binary`.

.EXAMPLE
.\Export-EntraAudit.ps1 -Path .\onprem.json
entra-audit check --onprem .\onprem.json --cloud .\snapshot

.EXAMPLE
.\Export-EntraAudit.ps1 -SearchBase 'OU=Sync,DC=contoso,DC=com' -Server dc01.contoso.com

.EXAMPLE
.\Export-EntraAudit.ps1 -Attribute employeeID
entra-audit check --onprem .\entra-audit-onprem.json --source-anchor employeeID
#>
[CmdletBinding()]
param(
    [string] $Path = 'entra-audit-onprem.json',
    [string] $SearchBase,
    [string] $Server,
    [string[]] $Attribute = @()
)

$ErrorActionPreference = 'Stop'
Import-Module ActiveDirectory

# Users (not computers: a computer's objectClass list contains user too), contacts and groups.
$filter = '(|(&(objectClass=user)(!(objectClass=computer)))(objectClass=contact)(objectClass=group))'
# ObjectGUID, DistinguishedName and ObjectClass come with every Get-ADObject result.
$properties = @(
    'objectSid', 'mS-DS-ConsistencyGuid',
    'userPrincipalName', 'sAMAccountName', 'mail', 'mailNickname', 'proxyAddresses',
    'displayName', 'givenName', 'sn', 'targetAddress', 'userAccountControl',
    'isCriticalSystemObject', 'groupType', 'adminDescription',
    'userCertificate', 'userSMIMECertificate', 'thumbnailPhoto', 'member'
)
# msExchRecipientTypeDetails exists only where Exchange extended the schema; asking
# Get-ADObject for an attribute the schema lacks fails the whole query.
$rootDseQuery = @{}
if ($Server) { $rootDseQuery.Server = $Server }
$schemaQuery = @{
    SearchBase = (Get-ADRootDSE @rootDseQuery).schemaNamingContext
    LDAPFilter = '(lDAPDisplayName=msExchRecipientTypeDetails)'
}
if ($Server) { $schemaQuery.Server = $Server }
$hasExchangeSchema = $null -ne (Get-ADObject @schemaQuery)
if ($hasExchangeSchema) { $properties += 'msExchRecipientTypeDetails' }
$properties += $Attribute
$query = @{ LDAPFilter = $filter; Properties = $properties; ResultPageSize = 1000 }
if ($SearchBase) { $query.SearchBase = $SearchBase }
if ($Server) { $query.Server = $Server }

# A single-valued attribute may come back as a one-item collection; an unset one as $null.
# `return ,$value` because PowerShell unrolls an array returned from a function: a byte[] would
# arrive as loose numbers (object[]) and no longer be recognised as bytes.
function Get-Single($object, [string] $name) {
    $value = $object.$name
    if ($null -eq $value) { return $null }
    if ($value -is [System.Collections.ICollection] -and $value -isnot [byte[]]) {
        if ($value.Count -eq 0) { return $null }
        $value = $value[0]
    }
    return ,$value
}

# The StreamWriter resolves relative paths against the process directory, not PowerShell's
# current location, so resolve it first.
$fullPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
# UTF-8 without BOM: Windows PowerShell 5.1's Out-File and Set-Content would write UTF-16 or the
# ANSI code page, which mangles non-ASCII names.
$writer = New-Object System.IO.StreamWriter($fullPath, $false, (New-Object System.Text.UTF8Encoding($false)))
$count = 0
try {
    # One JSON array, one compressed object per line, written as objects arrive. Converting the
    # whole list at once would hold the directory in memory twice and, in Windows PowerShell 5.1,
    # turn a single object into a bare object and an empty result into nothing at all.
    $writer.WriteLine('[')
    Get-ADObject @query | ForEach-Object {
        $object = $_

        # mS-DS-ConsistencyGuid is a byte array: ConvertTo-Json would write it as a list of
        # numbers and Export-Csv as the text "System.Byte[]"; base64 is what Entra Connect puts
        # in onPremisesImmutableId, so it is written as base64 (or null when not set).
        $consistency = Get-Single $object 'mS-DS-ConsistencyGuid'
        if ($null -ne $consistency -and $consistency.Length -gt 0) {
            $consistency = [Convert]::ToBase64String([byte[]] $consistency)
        } else {
            $consistency = $null
        }

        # objectSid is a SecurityIdentifier: ConvertTo-Json would write a nested object with
        # BinaryLength and AccountDomainSid; the S-1-5-21-... text is what matters.
        $sid = Get-Single $object 'objectSid'
        if ($sid -is [byte[]]) {
            $sid = (New-Object System.Security.Principal.SecurityIdentifier($sid, 0)).Value
        } elseif ($null -ne $sid) {
            $sid = $sid.ToString()
        }

        $record = [ordered] @{
            # Get-ADObject's ObjectClass is the most specific class (user, inetOrgPerson,
            # contact, group), but written as an array so that a module version that returns
            # the whole class list (top; person; ...; user) is read the same way; a [string]
            # cast would join that list with spaces into one unreadable class name.
            ObjectClass           = [string[]] @($object.ObjectClass)
            # A Guid would serialise as an object in some versions; the 8-4-4-4-12 text is
            # unambiguous, and the importer turns it back into the stored byte order.
            ObjectGUID            = $object.ObjectGUID.ToString()
            DistinguishedName     = [string] $object.DistinguishedName
            'mS-DS-ConsistencyGuid' = $consistency
            objectSid             = $sid
            userPrincipalName     = Get-Single $object 'userPrincipalName'
            sAMAccountName        = Get-Single $object 'sAMAccountName'
            mail                  = Get-Single $object 'mail'
            mailNickname          = Get-Single $object 'mailNickname'
            # proxyAddresses is multi-valued (an ADPropertyValueCollection): cast to a plain
            # string array so ConvertTo-Json writes a JSON array, also for one value, and
            # Windows PowerShell 5.1 does not wrap it as {"value":[...],"Count":n}. The values
            # are kept exactly: the SMTP:/smtp: case marks the primary address.
            proxyAddresses        = [string[]] @($object.proxyAddresses | Where-Object { $null -ne $_ })
            displayName           = Get-Single $object 'displayName'
            # Validated on export like displayName (length limits); targetAddress is the
            # forwarding address of mail users and contacts.
            givenName             = Get-Single $object 'givenName'
            sn                    = Get-Single $object 'sn'
            targetAddress         = Get-Single $object 'targetAddress'
            # The importer derives Enabled from bit 0x2 (ACCOUNTDISABLE); contacts and groups
            # have no userAccountControl.
            userAccountControl    = Get-Single $object 'userAccountControl'
            # Entra Connect's out-of-box rules never sync critical system objects (Administrator,
            # krbtgt, built-in groups), Exchange system mailboxes by recipient type, or groups
            # written back from the cloud (adminDescription Group_...).
            isCriticalSystemObject = Get-Single $object 'isCriticalSystemObject'
            msExchRecipientTypeDetails = Get-Single $object 'msExchRecipientTypeDetails'
            groupType             = Get-Single $object 'groupType'
            adminDescription      = Get-Single $object 'adminDescription'
            # LargeObject inputs: how many certificates and members, how big the photo; the
            # values themselves are not written (certificates are large, members are many).
            userCertificateCount  = @($object.userCertificate | Where-Object { $null -ne $_ }).Count
            userSMIMECertificateCount = @($object.userSMIMECertificate | Where-Object { $null -ne $_ }).Count
            thumbnailPhotoBytes   = $(if ($null -ne $object.thumbnailPhoto) { ([byte[]] (Get-Single $object 'thumbnailPhoto')).Length } else { $null })
            memberCount           = $(if (@($object.ObjectClass) -contains 'group') { @($object.member | Where-Object { $null -ne $_ }).Count } else { $null })
        }
        # The attributes -Attribute names (a custom source anchor or UPN attribute): text as it
        # is, a byte[] as base64 (what `--source-anchor NAME;binary` reads).
        foreach ($name in $Attribute) {
            $value = Get-Single $object $name
            if ($value -is [byte[]]) { $value = [Convert]::ToBase64String($value) }
            elseif ($null -ne $value) { $value = [string] $value }
            $record[$name] = $value
        }
        $json = ConvertTo-Json -InputObject $record -Depth 4 -Compress
        if ($count -gt 0) { $writer.WriteLine(',') }
        $writer.Write($json)
        $count++
        if ($count % 1000 -eq 0) {
            Write-Progress -Activity 'Exporting AD users, contacts and groups' -Status "$count objects"
        }
    }
    $writer.WriteLine()
    $writer.WriteLine(']')
}
finally {
    $writer.Dispose()
    Write-Progress -Activity 'Exporting AD users, contacts and groups' -Completed
}
Write-Host "Wrote $count users, contacts and groups to $fullPath"
