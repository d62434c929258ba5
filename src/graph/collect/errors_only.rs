//! `collect --errors-only`: only the users, contacts and groups that carry provisioning errors,
//! through the server-side filter, or, where Graph refuses it, a scan of the synced objects
//! keeping those with errors; marked `"scope": "provisioning-errors"` so that no rule takes them
//! for the whole directory. It must not read anything else.

use serde_json::value::RawValue;

use super::{
    CollectionOutcome, Failure, Task, encode_query_value, is_query_refusal, refusal_summary,
};
use crate::graph::CallStats;
use crate::inputs::snapshot::PROVISIONING_ERRORS_SCOPE;

/// The server-side provisioning-error filter
/// (<https://learn.microsoft.com/graph/aad-advanced-queries>: `eq` inside `any` on `category` is
/// supported without advanced query parameters; `PropertyConflict` is the only documented
/// category).
const PROVISIONING_ERROR_FILTER: &str =
    "onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')";
/// The fallback scan when Graph refuses that filter (older revisions of the filter table listed it
/// as unsupported; our choice, not a documented procedure): every synced object,
/// keeping those with a non-empty `onPremisesProvisioningErrors`.
const SYNCED_FILTER: &str = "onPremisesSyncEnabled eq true";

impl Task<'_> {
    /// Users, contacts or groups with provisioning errors only: the server-side filter, or,
    /// when Graph refuses it, a scan of the synced objects keeping those with errors.
    pub(super) async fn errors_only(
        self,
        entity: &str,
        select: &str,
        top: u32,
    ) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let url = |filter: &str| {
            format!(
                "/v1.0/{entity}?$filter={}&$select={select}&$top={top}",
                encode_query_value(filter)
            )
        };
        let mut stats = CallStats::default();
        let mut outcome = self
            .streamed(&mut stats, async |task, w, stats| {
                let filtered = task
                    .page_into(&url(PROVISIONING_ERROR_FILTER), w, &|_| true, stats)
                    .await;
                let refusal = match filtered {
                    Ok(()) => return Ok(Some(format!("filter {PROVISIONING_ERROR_FILTER}"))),
                    // Refused up front (nothing written yet): the documented fallback.
                    Err(Failure::Graph(e)) if w.written == 0 && is_query_refusal(&e) => {
                        refusal_summary(&e)
                    }
                    Err(e) => return Err(e),
                };
                tracing::warn!(
                    collection = %task.collection,
                    refusal = %refusal,
                    "the provisioning-error filter was refused; scanning the synced objects"
                );
                w.restart().await?;
                task.page_into(&url(SYNCED_FILTER), w, &has_provisioning_errors, stats)
                    .await?;
                Ok(Some(format!(
                    "scan {SYNCED_FILTER} (the filter {PROVISIONING_ERROR_FILTER} was refused: {refusal})"
                )))
            })
            .await;
        outcome.scope = Some(PROVISIONING_ERRORS_SCOPE);
        outcome
    }
}

/// An object whose `onPremisesProvisioningErrors` is a non-empty list.
fn has_provisioning_errors(raw: &RawValue) -> bool {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(rename = "onPremisesProvisioningErrors", default)]
        errors: Option<Vec<serde::de::IgnoredAny>>,
    }
    serde_json::from_str::<Errors>(raw.get())
        .ok()
        .and_then(|e| e.errors)
        .is_some_and(|e| !e.is_empty())
}
