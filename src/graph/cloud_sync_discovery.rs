//! Finding the Cloud Sync configurations and their jobs: the service principals instantiated
//! from the Cloud Sync application template (the union of the `appId`, `applicationTemplateId` and
//! `servicePrincipalNames` filters: which one matches a given tenant is not documented in
//! <https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>
//! or <https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/concept-attributes>, the union
//! is safe), then each one's `GET …/synchronization/jobs`. `collect` and the
//! `cloud-sync` commands share this one path. It reads; it must not write or interpret a job.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::graph::url::path_segment;
use crate::graph::{CallStats, GraphClient, GraphError};
use crate::inputs::snapshot::SyncJob;

/// The Cloud Sync application (and application template) id
/// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>).
pub(crate) const CLOUD_SYNC_APP_ID: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";

/// A Cloud Sync configuration's service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub id: String,
    /// "The displayName is the AD domain URL, if used in the portal (for example, contoso.com),
    /// but it may be named something else"
    /// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>).
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalWire {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The three discovery filters, URL-ready (each a default-supported service principal filter of
/// <https://learn.microsoft.com/graph/aad-advanced-queries>).
pub(crate) fn principal_queries() -> [String; 3] {
    [
        format!("appId eq '{CLOUD_SYNC_APP_ID}'"),
        format!("applicationTemplateId eq '{CLOUD_SYNC_APP_ID}'"),
        format!("servicePrincipalNames/any(p:p eq '{CLOUD_SYNC_APP_ID}')"),
    ]
    .map(|filter| {
        format!(
            "/v1.0/servicePrincipals?$filter={}&$select=id,displayName",
            filter.replace(' ', "%20")
        )
    })
}

/// The Cloud Sync service principals, deduplicated by id and ordered by it.
pub(crate) async fn principals(
    client: &GraphClient,
    stats: &mut CallStats,
) -> Result<Vec<Principal>, GraphError> {
    // The three queries side by side; every request is counted before a failure is returned.
    let queries = principal_queries();
    let answers = futures::future::join_all(queries.iter().map(|url| async move {
        let mut query_stats = CallStats::default();
        let result = client.get_all(url, &mut query_stats).await;
        (result, query_stats)
    }))
    .await;
    for (_, query_stats) in &answers {
        stats.add(*query_stats);
    }
    let mut found: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (url, (result, _)) in queries.iter().zip(answers) {
        for raw in result? {
            let sp: PrincipalWire =
                serde_json::from_str(raw.get()).map_err(|source| GraphError::Decode {
                    method: "GET".to_owned(),
                    url: client.url(url),
                    source,
                })?;
            found.entry(sp.id).or_insert(sp.display_name);
        }
    }
    Ok(found
        .into_iter()
        .map(|(id, display_name)| Principal { id, display_name })
        .collect())
}

/// `GET /v1.0/servicePrincipals/{id}/synchronization/jobs`, each job as Graph sent it plus
/// `servicePrincipalId` and `servicePrincipalDisplayName` (the job resource does not name its
/// parent, and every action on a job needs it).
pub(crate) async fn raw_jobs(
    client: &GraphClient,
    principal: &Principal,
    stats: &mut CallStats,
) -> Result<Vec<Map<String, Value>>, GraphError> {
    let url = jobs_path(&principal.id);
    let mut jobs = Vec::new();
    for raw in client.get_all(&url, stats).await? {
        let mut job: Map<String, Value> =
            serde_json::from_str(raw.get()).map_err(|source| GraphError::Decode {
                method: "GET".to_owned(),
                url: client.url(&url),
                source,
            })?;
        job.insert("servicePrincipalId".to_owned(), json!(principal.id));
        job.insert(
            "servicePrincipalDisplayName".to_owned(),
            json!(principal.display_name),
        );
        jobs.push(job);
    }
    Ok(jobs)
}

/// What a provisioning job's schema says about its scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SchemaScope {
    /// The union of the synchronization rules' `containerFilter.includedContainers`: the OUs
    /// the job syncs; empty when it syncs its whole domain.
    pub included_containers: Vec<String>,
    /// Scoping the audit does not evaluate, each said in a few words: a security-group filter
    /// (`groupFilter.includedGroups`: membership is not in the export) and attribute scoping
    /// filters (`objectMappings[].scope`: Cloud Sync's expression language is not modelled).
    /// Objects outside them do not sync, so findings about those objects may never happen.
    pub not_evaluated: Vec<String>,
}

/// Reads a provisioning job's schema from `/beta` (the container and group filters are beta
/// properties of
/// <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationrule?view=graph-rest-beta>;
/// attribute scoping filters are the object mappings' `scope`,
/// <https://learn.microsoft.com/graph/api/resources/synchronization-filter?view=graph-rest-beta>).
pub(crate) async fn schema_scope(
    client: &GraphClient,
    principal_id: &str,
    job_id: &str,
    stats: &mut CallStats,
) -> Result<SchemaScope, GraphError> {
    let url = format!(
        "/beta/servicePrincipals/{}/synchronization/jobs/{}/schema",
        path_segment(principal_id),
        path_segment(job_id)
    );
    let schema = client
        .get_json(&url, &reqwest::header::HeaderMap::new(), stats)
        .await?;
    Ok(read_schema_scope(&schema))
}

/// The scope parts of a synchronizationSchema body.
pub(crate) fn read_schema_scope(schema: &Value) -> SchemaScope {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let rules = schema["synchronizationRules"]
        .as_array()
        .into_iter()
        .flatten();
    let mut included_containers = Vec::new();
    let mut not_evaluated = Vec::new();
    for rule in rules {
        included_containers.extend(strings(&rule["containerFilter"]["includedContainers"]));
        let groups = strings(&rule["groupFilter"]["includedGroups"]);
        if !groups.is_empty() {
            not_evaluated.push(format!(
                "a group filter: only members of {} sync ({})",
                if groups.len() == 1 {
                    "one security group".to_owned()
                } else {
                    format!("{} security groups", groups.len())
                },
                groups.join("; ")
            ));
        }
        for mapping in rule["objectMappings"].as_array().into_iter().flatten() {
            if mapping["enabled"] == Value::Bool(false) {
                continue;
            }
            let scope = &mapping["scope"];
            let clauses: usize = ["groups", "inputFilterGroups", "categoryFilterGroups"]
                .iter()
                .flat_map(|set| scope[set].as_array().into_iter().flatten())
                .map(|group| group["clauses"].as_array().map_or(0, Vec::len))
                .sum();
            if clauses > 0 {
                let object = mapping["sourceObjectName"].as_str().unwrap_or("object");
                not_evaluated.push(format!(
                    "an attribute scoping filter on {object} objects ({clauses} clause{})",
                    if clauses == 1 { "" } else { "s" }
                ));
            }
        }
    }
    included_containers.sort();
    included_containers.dedup();
    not_evaluated.sort();
    not_evaluated.dedup();
    SchemaScope {
        included_containers,
        not_evaluated,
    }
}

/// Every Cloud Sync job of the tenant, parsed (lenient where the docs' own samples are).
pub(crate) async fn jobs(
    client: &GraphClient,
    stats: &mut CallStats,
) -> Result<Vec<SyncJob>, GraphError> {
    let mut out = Vec::new();
    for principal in principals(client, stats).await? {
        out.extend(jobs_of(client, &principal, stats).await?);
    }
    Ok(out)
}

/// One service principal's jobs, parsed.
pub(crate) async fn jobs_of(
    client: &GraphClient,
    principal: &Principal,
    stats: &mut CallStats,
) -> Result<Vec<SyncJob>, GraphError> {
    let url = jobs_path(&principal.id);
    raw_jobs(client, principal, stats)
        .await?
        .into_iter()
        .map(|job| parse_job(client, &url, Value::Object(job)))
        .collect()
}

/// `GET …/synchronization/jobs/{jobId}` of a job already found, parsed, its parent kept.
pub(crate) async fn job(
    client: &GraphClient,
    principal: &Principal,
    job_id: &str,
    stats: &mut CallStats,
) -> Result<SyncJob, GraphError> {
    let url = job_path(&principal.id, job_id);
    let mut value = client
        .get_json(&url, &reqwest::header::HeaderMap::new(), stats)
        .await?;
    if let Some(object) = value.as_object_mut() {
        object.insert("servicePrincipalId".to_owned(), json!(principal.id));
        object.insert(
            "servicePrincipalDisplayName".to_owned(),
            json!(principal.display_name),
        );
    }
    parse_job(client, &url, value)
}

fn parse_job(client: &GraphClient, url: &str, value: Value) -> Result<SyncJob, GraphError> {
    serde_json::from_value(value).map_err(|source| GraphError::Decode {
        method: "GET".to_owned(),
        url: client.url(url),
        source,
    })
}

/// `/v1.0/servicePrincipals/{id}/synchronization/jobs`.
pub(crate) fn jobs_path(principal_id: &str) -> String {
    format!(
        "/v1.0/servicePrincipals/{}/synchronization/jobs",
        path_segment(principal_id)
    )
}

/// `/v1.0/servicePrincipals/{id}/synchronization/jobs/{jobId}`.
pub(crate) fn job_path(principal_id: &str, job_id: &str) -> String {
    format!("{}/{}", jobs_path(principal_id), path_segment(job_id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{SchemaScope, read_schema_scope};

    #[test]
    fn the_schema_scope_keeps_ou_filters_and_names_group_and_attribute_filters() {
        let schema = json!({"synchronizationRules": [
            {"containerFilter": {"includedContainers": ["OU=B,DC=x", "OU=A,DC=x"]},
             "groupFilter": null,
             "objectMappings": [
                {"enabled": true, "sourceObjectName": "user",
                 "scope": {"groups": [{"clauses": [{}, {}]}], "inputFilterGroups": []}},
                {"enabled": false, "sourceObjectName": "group",
                 "scope": {"groups": [{"clauses": [{}]}]}},
                {"enabled": true, "sourceObjectName": "contact", "scope": null}]},
            {"containerFilter": null,
             "groupFilter": {"includedGroups": ["CN=Sync users,OU=Groups,DC=x"]},
             "objectMappings": []}
        ]});
        assert_eq!(
            read_schema_scope(&schema),
            SchemaScope {
                included_containers: vec!["OU=A,DC=x".to_owned(), "OU=B,DC=x".to_owned()],
                not_evaluated: vec![
                    "a group filter: only members of one security group sync \
                     (CN=Sync users,OU=Groups,DC=x)"
                        .to_owned(),
                    "an attribute scoping filter on user objects (2 clauses)".to_owned(),
                ],
            }
        );
        // The schema as Graph sends it for a job that syncs its whole domain.
        let whole = json!({"synchronizationRules": [{"containerFilter": null,
            "groupFilter": null, "objectMappings": [{"enabled": true, "scope": null}]}]});
        assert_eq!(read_schema_scope(&whole), SchemaScope::default());
    }
}
