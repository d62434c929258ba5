//! The generated tenant's fixed shape and vocabulary: its domains and forests, sites, names, role
//! templates and the Cloud Sync application.
//!
//! Data only: no randomness and no object construction here.

pub(crate) const TENANT_NAME: &str = "Contoso Ltd";
pub(crate) const INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";
pub(crate) const ROUTING_DOMAIN: &str = "contoso.mail.onmicrosoft.com";
/// Verified custom domains `(name, isDefault)`. fabrikam.com is the UPN suffix of the Cloud Sync forest.
pub(crate) const VERIFIED_DOMAINS: [(&str, bool); 3] = [
    ("contoso.com", true),
    ("contoso.co.uk", false),
    ("fabrikam.com", false),
];
/// Added to the tenant, never verified.
pub(crate) const UNVERIFIED_DOMAIN: &str = "contoso.de";
/// A subdomain of a verified domain that was never added to the tenant.
pub(crate) const UNADDED_SUBDOMAIN: &str = "eu.contoso.com";
/// The exported forest; also its (non-routable) default UPN suffix.
pub(crate) const AD_DOMAIN: &str = "corp.local";
pub(crate) const AD_DC: &str = "DC=corp,DC=local";
pub(crate) const AD_NETBIOS: &str = "CORP";
/// Synced by Cloud Sync, not in the export.
pub(crate) const OTHER_FOREST: &str = "fabrikam.local";
pub(crate) const OTHER_DC: &str = "DC=fabrikam,DC=local";
pub(crate) const OTHER_NETBIOS: &str = "FABRIKAM";
pub(crate) const OTHER_UPN_DOMAIN: &str = "fabrikam.com";
/// A Cloud Sync configuration an administrator paused (not failing, not quarantined).
pub(crate) const PAUSED_FOREST: &str = "litwareinc.local";
/// Synced by a Cloud Sync job that runs with escrowed objects (not failing).
pub(crate) const ESCROW_FOREST: &str = "northwindtraders.local";
pub(crate) const QUARANTINE_FOREST: &str = "tailspintoys";
pub(crate) const FAILING_FOREST: &str = "wingtiptoys";

/// The Cloud Sync application template
/// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>);
/// its service principals carry it as
/// appId and in servicePrincipalNames, and are named after the AD domain.
pub(crate) const CLOUD_SYNC_APP_ID: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";
pub(crate) const CLOUD_SYNC_APP_NAME: &str =
    "Active Directory to Azure Active Directory Provisioning";
pub(crate) const CLOUD_SYNC_PUBLISHER: &str = "Active Directory Application Registry";
pub(crate) const CLOUD_SYNC_SPN: &str =
    "http://adapplicationregistry.onmicrosoft.com/adprovisioningtoaad/primary";

/// `(site, OU name, UPN and mail domain)`.
pub(crate) const SITES: [(&str, &str, &str); 5] = [
    ("Seattle", "Seattle", "contoso.com"),
    ("New York", "NewYork", "contoso.com"),
    ("London", "London", "contoso.co.uk"),
    ("Berlin", "Berlin", "contoso.com"),
    ("Sydney", "Sydney", "contoso.com"),
];

pub(crate) const DEPARTMENTS: [&str; 12] = [
    "Sales",
    "Marketing",
    "Finance",
    "HR",
    "Engineering",
    "Support",
    "Legal",
    "Operations",
    "IT",
    "Procurement",
    "Research",
    "Facilities",
];

pub(crate) const TITLES: [&str; 10] = [
    "Analyst",
    "Manager",
    "Engineer",
    "Specialist",
    "Coordinator",
    "Director",
    "Consultant",
    "Associate",
    "Administrator",
    "Assistant",
];

/// `(name, ASCII letters for addresses)`: Zoë becomes zoe, Łukasz lukasz.
pub(crate) const FIRST: [(&str, &str); 60] = [
    ("James", "james"),
    ("Mary", "mary"),
    ("John", "john"),
    ("Patricia", "patricia"),
    ("Robert", "robert"),
    ("Jennifer", "jennifer"),
    ("Michael", "michael"),
    ("Linda", "linda"),
    ("William", "william"),
    ("Elizabeth", "elizabeth"),
    ("David", "david"),
    ("Barbara", "barbara"),
    ("Richard", "richard"),
    ("Susan", "susan"),
    ("Joseph", "joseph"),
    ("Jessica", "jessica"),
    ("Thomas", "thomas"),
    ("Sarah", "sarah"),
    ("Charles", "charles"),
    ("Karen", "karen"),
    ("Daniel", "daniel"),
    ("Nancy", "nancy"),
    ("Matthew", "matthew"),
    ("Lisa", "lisa"),
    ("Anthony", "anthony"),
    ("Betty", "betty"),
    ("Mark", "mark"),
    ("Sandra", "sandra"),
    ("Paul", "paul"),
    ("Ashley", "ashley"),
    ("Steven", "steven"),
    ("Emily", "emily"),
    ("Andrew", "andrew"),
    ("Donna", "donna"),
    ("Joshua", "joshua"),
    ("Michelle", "michelle"),
    ("Kevin", "kevin"),
    ("Carol", "carol"),
    ("Brian", "brian"),
    ("Amanda", "amanda"),
    ("Anna", "anna"),
    ("Lukas", "lukas"),
    ("Sofia", "sofia"),
    ("Noah", "noah"),
    ("Mia", "mia"),
    ("Liam", "liam"),
    ("Emma", "emma"),
    ("Oliver", "oliver"),
    ("Priya", "priya"),
    ("Wei", "wei"),
    ("Hiroshi", "hiroshi"),
    ("Fatima", "fatima"),
    ("Zoë", "zoe"),
    ("Jürgen", "jurgen"),
    ("José", "jose"),
    ("Søren", "soren"),
    ("Łukasz", "lukasz"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Inés", "ines"),
];

pub(crate) const LAST: [(&str, &str); 56] = [
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Rodriguez", "rodriguez"),
    ("Martinez", "martinez"),
    ("Hernandez", "hernandez"),
    ("Lopez", "lopez"),
    ("Gonzalez", "gonzalez"),
    ("Wilson", "wilson"),
    ("Anderson", "anderson"),
    ("Thomas", "thomas"),
    ("Taylor", "taylor"),
    ("Moore", "moore"),
    ("Jackson", "jackson"),
    ("Martin", "martin"),
    ("Lee", "lee"),
    ("Perez", "perez"),
    ("Thompson", "thompson"),
    ("White", "white"),
    ("Harris", "harris"),
    ("Sanchez", "sanchez"),
    ("Clark", "clark"),
    ("Ramirez", "ramirez"),
    ("Lewis", "lewis"),
    ("Robinson", "robinson"),
    ("Walker", "walker"),
    ("Young", "young"),
    ("Allen", "allen"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Scott", "scott"),
    ("Torres", "torres"),
    ("Nguyen", "nguyen"),
    ("Hill", "hill"),
    ("Flores", "flores"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Kowalski", "kowalski"),
    ("Novak", "novak"),
    ("Rossi", "rossi"),
    ("Tanaka", "tanaka"),
    ("Singh", "singh"),
    ("Patel", "patel"),
    ("Müller", "muller"),
    ("Çelik", "celik"),
    ("Núñez", "nunez"),
    ("Østergaard", "ostergaard"),
    ("Dvořák", "dvorak"),
    ("Lefèvre", "lefevre"),
];

/// `(mail domain, company name)` of the partners whose people are mail contacts.
pub(crate) const PARTNERS: [(&str, &str); 6] = [
    ("northwindtraders.com", "Northwindtraders"),
    ("adventure-works.com", "Adventure Works"),
    ("litwareinc.com", "Litwareinc"),
    ("proseware.com", "Proseware"),
    ("alpineskihouse.com", "Alpineskihouse"),
    ("woodgrovebank.com", "Woodgrovebank"),
];

pub(crate) const GUEST_DOMAINS: [&str; 3] = ["gmail.com", "outlook.com", "yahoo.com"];

pub(crate) const EXCHANGE_LEGACY_ORG: &str =
    "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=";
pub(crate) const LEGACY_X500: &str = "/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=";

/// Built-in Entra roles the tenant has activated: `(displayName, roleTemplateId, description)`.
pub(crate) const ROLES: [(&str, &str, &str); 5] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Can manage all aspects of the Exchange product.",
    ),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        "Can manage Active Directory to Microsoft Entra cloud provisioning, Microsoft Entra Connect, and federation settings.",
    ),
    (
        "Directory Synchronization Accounts",
        "d29b2b05-8046-44ba-8758-1e26182fcf32",
        "Only used by Microsoft Entra Connect service.",
    ),
];

/// Index into [`ROLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    GlobalAdministrator = 0,
    ExchangeAdministrator = 1,
    UserAdministrator = 2,
    HybridIdentityAdministrator = 3,
    DirectorySynchronizationAccounts = 4,
}

/// `groupType` values of the on-prem groups.
pub(crate) const GROUP_TYPE_SECURITY: i32 = -2_147_483_646;
pub(crate) const GROUP_TYPE_DISTRIBUTION: i32 = 8;
pub(crate) const GROUP_TYPE_MAIL_SECURITY: i32 = -2_147_483_640;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_forms_are_lower_case_ascii_letters() {
        for (name, ascii) in FIRST.iter().chain(LAST.iter()) {
            assert!(
                !ascii.is_empty() && ascii.bytes().all(|b| b.is_ascii_lowercase()),
                "{name} -> {ascii}"
            );
            if name.is_ascii() {
                assert_eq!(name.to_lowercase(), *ascii);
            }
        }
    }
}
