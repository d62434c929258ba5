//! The collections held in memory and written whole as `{"value":[...]}`: the organization
//! (beta, or v1.0 where a national cloud's beta lacks a property), the small lists read as they
//! are (domains, directory roles, the directory synchronization settings), the Cloud Sync jobs
//! with their scope, and the complete role holders. Each is small: a tenant has a handful of
//! domains and jobs and at most thousands of role assignments.

use std::collections::BTreeMap;

use anyhow::Context;
use futures::StreamExt as _;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::jsonl::write_new;
use super::{CollectionOutcome, Failure, Task};
use crate::graph::{CallStats, GraphError};
use crate::inputs::snapshot::Collection;

/// Cloud Sync principals whose jobs are read at once: a tenant has one per configured AD domain,
/// usually a handful, and each is a chain of at most two requests.
const PRINCIPALS_AT_ONCE: usize = 4;

impl Task<'_> {
    /// The organization from `/beta` (for onPremisesLastPasswordSyncDateTime); when beta answers
    /// 400 (a national cloud whose beta schema lacks the property), from v1.0 without it: the
    /// organization collection stays complete and password-sync freshness is "not evaluated".
    pub(super) async fn organization(self) -> (CollectionOutcome, Option<String>) {
        if self.skip {
            return (self.skipped().await, None);
        }
        let mut stats = CallStats::default();
        let spec = Collection::Organization.spec();
        let mut result = self.client.get_all(&spec.url(), &mut stats).await;
        if let Some(fallback) = spec.fallback_url()
            && matches!(&result, Err(e) if e.status() == Some(400))
        {
            tracing::warn!(
                "beta organization refused the $select (a national cloud without onPremisesLastPasswordSyncDateTime); reading v1.0 without it"
            );
            result = self.client.get_all(&fallback, &mut stats).await;
        }
        self.write_held(result, stats).await
    }

    /// A small collection: all pages of its catalogue URL held, then written as
    /// `{"value":[...]}`. Also returns the first object's `id`.
    pub(super) async fn small(self) -> (CollectionOutcome, Option<String>) {
        if self.skip {
            return (self.skipped().await, None);
        }
        let mut stats = CallStats::default();
        let result = self
            .client
            .get_all(&self.collection.spec().url(), &mut stats)
            .await;
        self.write_held(result, stats).await
    }

    /// Writes a collection whose pages were all held, and returns its outcome and the first
    /// object's `id`.
    async fn write_held(
        self,
        result: Result<Vec<Box<RawValue>>, GraphError>,
        stats: CallStats,
    ) -> (CollectionOutcome, Option<String>) {
        let first_id = result
            .as_ref()
            .ok()
            .and_then(|objects| objects.first())
            .and_then(|raw| serde_json::from_str::<IdOnly>(raw.get()).ok())
            .map(|o| o.id);
        let count = result.as_ref().map_or(0, Vec::len);
        let result = match result {
            Ok(objects) => self.write_value(&objects).await,
            Err(e) => Err(Failure::Graph(e)),
        };
        (self.finish("json", result, count, stats).await, first_id)
    }

    /// Cloud Sync jobs: the union of the three discovery queries (deduplicated by service
    /// principal id), then each one's jobs with `servicePrincipalId` and
    /// `servicePrincipalDisplayName` added (the job resource does not name its parent).
    pub(super) async fn sync_jobs(self) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let mut stats = CallStats::default();
        let mut count = 0;
        let result = async {
            // One discovery path for `collect` and `cloud-sync` (`graph::cloud_sync_discovery`).
            let principals =
                crate::graph::cloud_sync_discovery::principals(self.client, &mut stats).await?;
            // The principals' jobs side by side, a few at a time, in order: each is a chain of
            // two requests (the jobs, then a provisioning job's schema), which one after another
            // made this small collection the last of a small tenant's to end.
            let per_principal: Vec<_> = futures::stream::iter(&principals)
                .map(|principal| self.principal_jobs(principal))
                .buffered(PRINCIPALS_AT_ONCE)
                .collect()
                .await;
            let mut jobs = Vec::new();
            let mut failed = None;
            for (result, principal_stats) in per_principal {
                // Every request counted, also when another principal's failed.
                stats.add(principal_stats);
                match result {
                    Ok(principal_jobs) => jobs.extend(principal_jobs),
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(Failure::Graph(e));
            }
            let jobs = jobs
                .iter()
                .map(serde_json::value::to_raw_value)
                .collect::<Result<Vec<_>, _>>()
                .context("serialising a synchronization job")?;
            count = jobs.len();
            self.write_value(&jobs).await
        }
        .await;
        self.finish("json", result, count, stats).await
    }

    /// One Cloud Sync principal's jobs, a provisioning job's with its scope: the OUs it syncs,
    /// added to the job record as `includedContainers` (the audit's sync model applies them), and
    /// the group or attribute filters it does not evaluate, as `scopeNotEvaluated`. A schema that
    /// cannot be read is said, never taken as "whole domain". The schemas are read side by side.
    async fn principal_jobs(
        &self,
        principal: &crate::graph::cloud_sync_discovery::Principal,
    ) -> (Result<Vec<Map<String, Value>>, GraphError>, CallStats) {
        use crate::graph::cloud_sync_discovery::{raw_jobs, schema_scope};
        let mut stats = CallStats::default();
        let mut jobs = match raw_jobs(self.client, principal, &mut stats).await {
            Ok(jobs) => jobs,
            Err(e) => return (Err(e), stats),
        };
        let scopes = futures::future::join_all(jobs.iter().map(|job| async {
            let provisioning = job
                .get("templateId")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("AD2AADProvisioning"));
            let job_id = job.get("id").and_then(Value::as_str)?;
            if !provisioning {
                return None;
            }
            let mut stats = CallStats::default();
            let scope = schema_scope(self.client, &principal.id, job_id, &mut stats).await;
            Some((scope, stats))
        }))
        .await;
        for (job, scope) in jobs.iter_mut().zip(scopes) {
            let Some((scope, schema_stats)) = scope else {
                continue;
            };
            stats.add(schema_stats);
            match scope {
                Ok(scope) => {
                    job.insert(
                        "includedContainers".to_owned(),
                        json!(scope.included_containers),
                    );
                    if !scope.not_evaluated.is_empty() {
                        job.insert("scopeNotEvaluated".to_owned(), json!(scope.not_evaluated));
                    }
                }
                Err(e) => {
                    job.insert("scopeUnavailable".to_owned(), json!(e.to_string()));
                }
            }
        }
        (Ok(jobs), stats)
    }

    /// Everyone who holds (or is eligible for) a Microsoft Entra role, completely: the paged
    /// unifiedRoleAssignment (or unifiedRoleEligibilitySchedule) list with each principal's type,
    /// the role names from the role definitions, and the transitive members of role-assignable
    /// groups. `directoryRoles?$expand=members` is not used for this: Graph returns at most 20
    /// expanded members with no next link (<https://learn.microsoft.com/graph/known-issues>).
    pub(super) async fn role_holders(self, source: RoleSource) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let mut stats = CallStats::default();
        let mut count = 0;
        let result = async {
            let definitions = self
                .client
                .get_all(
                    "/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,templateId",
                    &mut stats,
                )
                .await?;
            let names: BTreeMap<String, RoleDefinition> = definitions
                .iter()
                .filter_map(|raw| serde_json::from_str::<RoleDefinition>(raw.get()).ok())
                .map(|d| (d.id.clone(), d))
                .collect();
            let url = self.collection.spec().url();
            let mut holders = Vec::new();
            let mut group_members: BTreeMap<String, Vec<DirectoryObjectRef>> = BTreeMap::new();
            for raw in self.client.get_all(&url, &mut stats).await? {
                let a: Assignment = serde_json::from_str(raw.get())
                    .with_context(|| format!("reading a {}", source.entity_set()))?;
                let principal_type = a.principal.as_ref().and_then(DirectoryObjectRef::kind);
                let definition = names.get(&a.role_definition_id);
                let holder = |member_id: &str, member_type: Option<&str>| crate::inputs::snapshot::RoleHolder {
                    id: a.id.clone(),
                    role_definition_id: a.role_definition_id.clone(),
                    role_display_name: definition.and_then(|d| d.display_name.clone()),
                    role_template_id: definition.and_then(|d| d.template_id.clone()),
                    principal_id: a.principal_id.clone(),
                    principal_type: principal_type.map(str::to_owned),
                    member_id: member_id.to_owned(),
                    member_type: member_type.map(str::to_owned),
                    directory_scope_id: a.directory_scope_id.clone(),
                };
                holders.push(holder(&a.principal_id, principal_type));
                if principal_type == Some("group") {
                    if !group_members.contains_key(&a.principal_id) {
                        let members = self
                            .client
                            .get_all(
                                &format!(
                                    "/v1.0/groups/{}/transitiveMembers?$select=id",
                                    a.principal_id
                                ),
                                &mut stats,
                            )
                            .await?
                            .iter()
                            .filter_map(|raw| serde_json::from_str(raw.get()).ok())
                            .collect();
                        group_members.insert(a.principal_id.clone(), members);
                    }
                    for m in &group_members[&a.principal_id] {
                        holders.push(holder(&m.id, m.kind()));
                    }
                }
            }
            count = holders.len();
            self.write_value(&holders).await
        }
        .await;
        self.finish("json", result, count, stats).await
    }

    /// Writes `{"value": [...]}` of `records` (raw JSON values or records to serialise), each
    /// written straight into the file's text; returns how many.
    pub(super) async fn write_value<T: serde::Serialize>(
        &self,
        records: impl IntoIterator<Item = T>,
    ) -> Result<usize, Failure> {
        let temp = self.temp_path("json");
        let mut text: Vec<u8> = b"{\"value\":[\n".to_vec();
        let mut count = 0;
        for record in records {
            if count > 0 {
                text.extend_from_slice(b",\n");
            }
            serde_json::to_writer(&mut text, &record)
                .context("serialising a record")
                .map_err(Failure::Io)?;
            count += 1;
        }
        text.extend_from_slice(b"\n]}\n");
        write_new(&temp, &text).await?;
        Ok(count)
    }
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: String,
}

/// Which role holders a collection reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum RoleSource {
    /// Active assignments (RoleManagement.Read.Directory).
    Active,
    /// Eligible PIM assignments (RoleEligibilitySchedule.Read.Directory).
    Eligible,
}

impl RoleSource {
    fn entity_set(self) -> &'static str {
        match self {
            RoleSource::Active => "roleAssignments",
            RoleSource::Eligible => "roleEligibilitySchedules",
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDefinition {
    id: String,
    display_name: Option<String>,
    template_id: Option<String>,
}

/// A unifiedRoleAssignment or unifiedRoleEligibilitySchedule (the properties read).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    id: String,
    principal_id: String,
    role_definition_id: String,
    directory_scope_id: Option<String>,
    principal: Option<DirectoryObjectRef>,
}

/// A directory object as `$expand` or `$select=id` returns it: an id and its `@odata.type`.
#[derive(serde::Deserialize)]
struct DirectoryObjectRef {
    id: String,
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
}

impl DirectoryObjectRef {
    /// `user`, `group`, `servicePrincipal`, ... from `#microsoft.graph.user`.
    fn kind(&self) -> Option<&str> {
        self.odata_type
            .as_deref()
            .map(|t| t.trim_start_matches("#microsoft.graph."))
    }
}
