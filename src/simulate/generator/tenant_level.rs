//! The tenant-level resources: organization (the beta superset), domains, the tenant's sync
//! switches, activated directory roles with their members, and the Cloud Sync configurations
//! (service principals as
//! <https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>
//! documents them, and their synchronization jobs with status shapes as in
//! fixtures/graph-samples/cloudsync-AD2AADProvisioning-job.json), including the
//! quarantined and failing jobs the sync-health rules must report.
//!
//! It builds records only; the objects and the planting cases live in the parent module.

use chrono::TimeDelta;
use serde_json::json;

use super::rng::Rng;
use super::vocab::{
    CLOUD_SYNC_APP_ID, CLOUD_SYNC_APP_NAME, CLOUD_SYNC_PUBLISHER, CLOUD_SYNC_SPN, ESCROW_FOREST,
    FAILING_FOREST, INITIAL_DOMAIN, OTHER_DC, OTHER_FOREST, PAUSED_FOREST, QUARANTINE_FOREST,
    ROLES, ROUTING_DOMAIN, TENANT_NAME, UNVERIFIED_DOMAIN, VERIFIED_DOMAINS,
};
use super::{Gen, guid_text, iso};
use crate::simulate::model::{
    DirectoryRole, DirectorySynchronization, Domain, KeyLongValue, KeyValue, Organization,
    Quarantine, ServicePrincipal, SyncError, SyncJob, SyncSchedule, SyncStatus, TaskExecution,
    VerifiedDomain,
};

const FULL_CAPABILITIES: &str = "Email, OfficeCommunicationsOnline";
const NEVER: &str = "0001-01-01T00:00:00Z";

pub(super) fn organization(g: &Gen) -> Organization {
    let verified =
        |name: &str, is_default: bool, is_initial: bool, capabilities: &str| VerifiedDomain {
            capabilities: capabilities.to_owned(),
            is_default,
            is_initial,
            name: name.to_owned(),
            kind: "Managed".to_owned(),
        };
    let mut verified_domains: Vec<VerifiedDomain> = VERIFIED_DOMAINS
        .iter()
        .map(|(name, is_default)| verified(name, *is_default, false, FULL_CAPABILITIES))
        .collect();
    verified_domains.push(verified(ROUTING_DOMAIN, false, false, "Email"));
    verified_domains.push(verified(INITIAL_DOMAIN, false, true, FULL_CAPABILITIES));
    Organization {
        id: g.tenant_id.clone(),
        display_name: TENANT_NAME.to_owned(),
        on_premises_sync_enabled: Some(true),
        on_premises_last_sync_date_time: Some(iso(g.org_last_sync)),
        on_premises_last_password_sync_date_time: Some(iso(g.org_last_password_sync)),
        verified_domains,
    }
}

pub(super) fn domains() -> Vec<Domain> {
    let domain = |name: &str, verified: bool, is_default: bool, is_initial: bool| Domain {
        id: name.to_owned(),
        authentication_type: "Managed".to_owned(),
        is_admin_managed: !is_initial,
        is_default,
        is_initial,
        is_root: true,
        is_verified: verified,
        supported_services: if verified {
            vec!["Email".to_owned(), "OfficeCommunicationsOnline".to_owned()]
        } else {
            Vec::new()
        },
    };
    let mut out: Vec<Domain> = VERIFIED_DOMAINS
        .iter()
        .map(|(name, is_default)| domain(name, true, *is_default, false))
        .collect();
    out.push(domain(UNVERIFIED_DOMAIN, false, false, false));
    out.push(domain(ROUTING_DOMAIN, true, false, false));
    out.push(domain(INITIAL_DOMAIN, true, false, true));
    out
}

/// `GET /directory/onPremisesSynchronization`: the documented sample's switches, with password
/// hash sync on (this tenant syncs password hashes) and soft match allowed (the planted soft
/// match cases depend on it).
pub(super) fn directory_synchronization(tenant_id: &str) -> DirectorySynchronization {
    DirectorySynchronization {
        id: tenant_id.to_owned(),
        configuration: json!({
            "accidentalDeletionPrevention": {
                "synchronizationPreventionType": "enabledForCount",
                "alertThreshold": 500
            }
        }),
        features: json!({
            "passwordSyncEnabled": true,
            "passwordWritebackEnabled": false,
            "directoryExtensionsEnabled": false,
            "quarantineUponUpnConflictEnabled": true,
            "quarantineUponProxyAddressesConflictEnabled": true,
            "softMatchOnUpnEnabled": true,
            "cloudPasswordPolicyForPasswordSyncedUsersEnabled": false,
            "fopeConflictResolutionEnabled": false,
            "unifiedGroupWritebackEnabled": false,
            "userWritebackEnabled": false,
            "deviceWritebackEnabled": false,
            "synchronizeUpnForManagedUsersEnabled": true,
            "userForcePasswordChangeOnLogonEnabled": false,
            "concurrentOrgIdProvisioningEnabled": false,
            "concurrentCredentialUpdateEnabled": false,
            "groupWriteBackEnabled": false,
            "blockSoftMatchEnabled": false,
            "blockCloudObjectTakeoverThroughHardMatchEnabled": false,
            "bypassDirSyncOverridesEnabled": false,
            // The 20th flag (onPremisesDirectorySynchronizationFeature in Graph's metadata): the
            // 2026 hard-match hardening's bypass, off by default.
            "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": false
        }),
    }
}

/// The activated roles (those with members), in the catalogue's order.
pub(super) fn directory_roles(g: &Gen, rng: &mut Rng) -> Vec<DirectoryRole> {
    ROLES
        .iter()
        .zip(g.roles.iter().zip(&g.eligible_roles))
        // A role is activated (a directoryRole exists) once it was assigned; an eligible-only
        // role is kept too, so its eligibility schedules are served.
        .filter(|(_, (members, eligible))| !members.is_empty() || !eligible.is_empty())
        .map(
            |((name, template, description), (members, eligible))| DirectoryRole {
                id: guid_text(rng.uuid4()),
                display_name: (*name).to_owned(),
                description: (*description).to_owned(),
                role_template_id: (*template).to_owned(),
                members: members.clone(),
                eligible: eligible.clone(),
            },
        )
        .collect()
}

/// How a generated job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobState {
    Ok,
    /// Paused by an administrator: not failing (status Paused, not Active), not quarantined.
    Paused,
    Quarantine,
    /// `countSuccessiveCompleteFailures` > 0 and the last run Failed.
    Failing,
    /// No run for days (the agent is down): the last run, and the last clean one, are days old.
    FailingStale,
    /// It has run but never succeeded (`lastSuccessfulExecution` at 0001-01-01; its escrows were
    /// pruned).
    FailingNever,
    /// It runs, but every run since a few days ends with escrowed objects: the last run without
    /// errors is days old, yet the job is not failing.
    Escrowing,
}

/// The Cloud Sync configurations (one service principal each) and their jobs; records the
/// quarantined and failing ones in the ground truth.
pub(super) fn cloud_sync(g: &mut Gen, rng: &mut Rng) -> (Vec<ServicePrincipal>, Vec<SyncJob>) {
    let mut sps = Vec::new();
    let mut jobs = Vec::new();
    let mut configure =
        |g: &Gen, rng: &mut Rng, forest: &str, job_templates: &[(&str, JobState)]| {
            let sp = service_principal(guid_text(rng.uuid4()), forest);
            for (template, state) in job_templates {
                let mut job = sync_job(g, rng, forest, template, *state);
                job.service_principal_id.clone_from(&sp.id);
                jobs.push(job);
            }
            let id = sp.id.clone();
            sps.push(sp);
            id
        };
    configure(
        g,
        rng,
        OTHER_FOREST,
        &[
            ("AD2AADProvisioning", JobState::Ok),
            ("AD2AADPasswordHash", JobState::Ok),
        ],
    );
    let paused = configure(
        g,
        rng,
        PAUSED_FOREST,
        &[("AD2AADProvisioning", JobState::Paused)],
    );
    let escrowing = configure(
        g,
        rng,
        ESCROW_FOREST,
        &[("AD2AADProvisioning", JobState::Escrowing)],
    );
    g.expect(
        "cloud-sync-job-escrows",
        Some(&escrowing),
        None,
        &format!(
            "cloud_sync_escrows: the Cloud Sync job for {ESCROW_FOREST} runs, but every run for days ends with escrowed objects: \
             lastSuccessfulExecution (the last run without errors) is days old, yet the job is not failing"
        ),
    );
    g.expect(
        "cloud-sync-job-not-running",
        Some(&paused),
        None,
        &format!(
            "cloud_sync_paused: the Cloud Sync job for {PAUSED_FOREST} is paused (status.code Paused): it syncs nothing until started"
        ),
    );
    for i in 0..g.quarantined_jobs {
        let forest = numbered_forest(QUARANTINE_FOREST, i);
        let sp = configure(
            g,
            rng,
            &forest,
            &[("AD2AADProvisioning", JobState::Quarantine)],
        );
        g.expect(
            "cloud-sync-quarantine",
            Some(&sp),
            None,
            &format!(
                "cloud_sync_quarantine: Cloud Sync job for {forest} has status.code Quarantine"
            ),
        );
    }
    let failing = [
        (
            JobState::Failing,
            "countSuccessiveCompleteFailures > 0 and the last run Failed",
        ),
        (
            JobState::FailingStale,
            "no run for days (the agent is down): the last successful run is days old",
        ),
        (
            JobState::FailingNever,
            "it has run but never succeeded (lastSuccessfulExecution 0001-01-01)",
        ),
    ];
    for i in 0..g.failing_jobs {
        let forest = numbered_forest(FAILING_FOREST, i);
        let (state, reason) = failing[i % failing.len()];
        let sp = configure(g, rng, &forest, &[("AD2AADProvisioning", state)]);
        g.expect(
            "cloud-sync-job-failing",
            Some(&sp),
            None,
            &format!("cloud_sync_job_failing: Active Cloud Sync job for {forest}: {reason}"),
        );
    }
    (sps, jobs)
}

/// `tailspintoys.local`, `tailspintoys2.local`, ...
fn numbered_forest(base: &str, i: usize) -> String {
    if i == 0 {
        format!("{base}.local")
    } else {
        format!("{base}{}.local", i + 1)
    }
}

/// A Cloud Sync configuration's service principal, named after its AD domain ("The displayName
/// is the AD domain URL", cloud-sync/how-to-inbound-synch-ms-graph).
fn service_principal(id: String, forest: &str) -> ServicePrincipal {
    ServicePrincipal {
        id,
        app_id: CLOUD_SYNC_APP_ID.to_owned(),
        app_display_name: Some(CLOUD_SYNC_APP_NAME.to_owned()),
        application_template_id: None,
        display_name: forest.to_owned(),
        publisher_name: Some(CLOUD_SYNC_PUBLISHER.to_owned()),
        service_principal_names: vec![CLOUD_SYNC_SPN.to_owned(), CLOUD_SYNC_APP_ID.to_owned()],
        tags: vec!["WindowsAzureActiveDirectoryIntegratedApp".to_owned()],
    }
}

fn execution(
    rng: &mut Rng,
    began: chrono::DateTime<chrono::Utc>,
    ended: chrono::DateTime<chrono::Utc>,
    state: &str,
    error: Option<SyncError>,
    escrowed: i64,
) -> TaskExecution {
    TaskExecution {
        activity_identifier: Some(guid_text(rng.uuid4())),
        count_escrowed: escrowed,
        count_escrowed_raw: escrowed,
        error,
        state: state.to_owned(),
        time_began: iso(began),
        time_ended: iso(ended),
        ..TaskExecution::default()
    }
}

// One job resource with its status in every state; splitting it would scatter the shape.
#[allow(clippy::too_many_lines)]
fn sync_job(g: &Gen, rng: &mut Rng, forest: &str, template: &str, state: JobState) -> SyncJob {
    let now = g.collected_at();
    let netbios: String = forest
        .split('.')
        .next()
        .unwrap_or(forest)
        .to_uppercase()
        .chars()
        .take(15)
        .collect();
    let ok_end = now - TimeDelta::seconds(rng.int_in(20, 110));
    let run_start = ok_end - TimeDelta::seconds(95);
    let with_exports_end = ok_end - TimeDelta::hours(3);
    let mut status = SyncStatus {
        code: "Active".to_owned(),
        count_successive_complete_failures: 0,
        escrows_pruned: false,
        last_execution: Some(execution(rng, run_start, ok_end, "Succeeded", None, 0)),
        last_successful_execution: Some(execution(rng, run_start, ok_end, "Succeeded", None, 0)),
        last_successful_execution_with_exports: Some(execution(
            rng,
            with_exports_end,
            with_exports_end + TimeDelta::seconds(80),
            "Succeeded",
            None,
            0,
        )),
        progress: Vec::new(),
        quarantine: None,
        steady_state_first_achieved_time: "2024-02-11T10:12:40Z".to_owned(),
        steady_state_last_achieved_time: iso(ok_end),
        synchronized_entry_count_by_type: vec![
            KeyLongValue {
                key: "group to Group".to_owned(),
                value: rng.int_in(20, 400),
            },
            KeyLongValue {
                key: "user to User".to_owned(),
                value: rng.int_in(100, 5000),
            },
        ],
        troubleshooting_url: Some(String::new()),
    };
    match state {
        JobState::Ok => {}
        JobState::FailingStale => {
            let last_run = now - TimeDelta::days(rng.int_in(3, 9));
            let began = last_run - TimeDelta::seconds(90);
            status.last_execution = Some(execution(rng, began, last_run, "Succeeded", None, 0));
            status.last_successful_execution =
                Some(execution(rng, began, last_run, "Succeeded", None, 0));
            status.steady_state_last_achieved_time = iso(last_run);
        }
        JobState::Escrowing => {
            let last_ok = now - TimeDelta::days(rng.int_in(3, 9));
            let escrowed = rng.int_in(5, 40);
            status.last_execution = Some(execution(
                rng,
                run_start,
                ok_end,
                "EntryLevelErrors",
                None,
                escrowed,
            ));
            status.last_successful_execution = Some(execution(
                rng,
                last_ok - TimeDelta::seconds(90),
                last_ok,
                "Succeeded",
                None,
                0,
            ));
            status.steady_state_last_achieved_time = iso(last_ok);
        }
        JobState::FailingNever => {
            status.escrows_pruned = true;
            status.last_execution = Some(execution(
                rng,
                run_start,
                ok_end,
                "EntryLevelErrors",
                None,
                0,
            ));
            let mut never = execution(rng, run_start, ok_end, "Succeeded", None, 0);
            never.activity_identifier = None;
            NEVER.clone_into(&mut never.time_began);
            NEVER.clone_into(&mut never.time_ended);
            status.last_successful_execution = Some(never);
            status.last_successful_execution_with_exports = None;
            NEVER.clone_into(&mut status.steady_state_first_achieved_time);
            NEVER.clone_into(&mut status.steady_state_last_achieved_time);
        }
        JobState::Paused => {
            let paused_at = now - TimeDelta::days(rng.int_in(2, 20));
            "Paused".clone_into(&mut status.code);
            let began = paused_at - TimeDelta::seconds(90);
            status.last_execution = Some(execution(rng, began, paused_at, "Succeeded", None, 0));
            status.last_successful_execution =
                Some(execution(rng, began, paused_at, "Succeeded", None, 0));
            status.steady_state_last_achieved_time = iso(paused_at);
        }
        JobState::Failing => {
            let last_ok = now - TimeDelta::hours(rng.int_in(30, 80));
            let failed_end = now - TimeDelta::minutes(rng.int_in(2, 9));
            let error = SyncError {
                code: "HybridSynchronizationActiveDirectoryInternalServerError".to_owned(),
                message: format!(
                    "The provisioning agent could not reach a domain controller of {forest}."
                ),
                tenant_actionable: true,
            };
            status.count_successive_complete_failures = rng.int_in(3, 40);
            status.last_execution = Some(execution(
                rng,
                failed_end - TimeDelta::seconds(40),
                failed_end,
                "Failed",
                Some(error),
                0,
            ));
            status.last_successful_execution = Some(execution(
                rng,
                last_ok - TimeDelta::seconds(90),
                last_ok,
                "Succeeded",
                None,
                0,
            ));
            status.steady_state_last_achieved_time = iso(last_ok);
        }
        JobState::Quarantine => {
            let began =
                now - TimeDelta::days(rng.int_in(2, 9)) - TimeDelta::hours(rng.int_in(0, 23));
            let error = SyncError {
                code: "HybridIdentityServiceNoActiveAgents".to_owned(),
                message: format!("No active provisioning agents are available for {forest}."),
                tenant_actionable: true,
            };
            let current = now - TimeDelta::hours(5);
            let last_ok = began - TimeDelta::hours(1);
            "Quarantine".clone_into(&mut status.code);
            status.count_successive_complete_failures = rng.int_in(50, 400);
            status.last_execution = Some(execution(
                rng,
                current,
                current + TimeDelta::seconds(30),
                "Failed",
                Some(error.clone()),
                0,
            ));
            status.last_successful_execution = Some(execution(
                rng,
                last_ok,
                last_ok + TimeDelta::seconds(80),
                "Succeeded",
                None,
                0,
            ));
            status.quarantine = Some(Quarantine {
                current_began: iso(current),
                next_attempt: iso(now + TimeDelta::hours(7)),
                reason: "EncounteredQuarantineException".to_owned(),
                series_began: iso(began),
                series_count: rng.int_in(5, 60),
                error: Some(error),
            });
            status.steady_state_last_achieved_time = iso(last_ok);
        }
    }
    let settings = [
        ("DomainFQDN", forest),
        ("DomainNetBios", netbios.as_str()),
        ("ForestFQDN", forest),
        ("ForestNetBios", netbios.as_str()),
    ];
    let domain = serde_json::to_string(
        &settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<serde_json::Map<_, _>>(),
    )
    .expect("a map of strings serialises");
    let mut synchronization_job_settings = vec![KeyValue {
        name: "Domain".to_owned(),
        value: domain,
    }];
    synchronization_job_settings.extend(settings.iter().map(|(k, v)| KeyValue {
        name: (*k).to_owned(),
        value: (*v).to_owned(),
    }));
    synchronization_job_settings.push(KeyValue {
        name: "QuarantineTooManyDeletesThreshold".to_owned(),
        value: "500".to_owned(),
    });
    SyncJob {
        id: format!("{template}.{:032x}", rng.u128()),
        template_id: template.to_owned(),
        schedule: SyncSchedule {
            expiration: None,
            interval: "PT2M".to_owned(),
            state: if state == JobState::Paused {
                "Paused"
            } else {
                "Active"
            }
            .to_owned(),
        },
        status,
        synchronization_job_settings,
        service_principal_id: String::new(),
        // The other forest's provisioning job is scoped to two OUs (the portal's "selected
        // organizational units"); the others sync their whole domain.
        included_containers: if forest == OTHER_FOREST && template == "AD2AADProvisioning" {
            ["OU=Staff", "OU=Sales"]
                .iter()
                .map(|ou| format!("{ou},{OTHER_DC}"))
                .collect()
        } else {
            Vec::new()
        },
        // ... and its users further by an attribute scoping filter (Cloud Sync's "scoping
        // filters"), which the audit reports as not evaluated.
        user_scoping_clauses: if forest == OTHER_FOREST && template == "AD2AADProvisioning" {
            vec![("extensionAttribute15".to_owned(), "sync".to_owned())]
        } else {
            Vec::new()
        },
    }
}
