//! The write side of Cloud Sync: `start`, `pause` and `restart` of one synchronization job
//! (<https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start>, `-pause`,
//! `-restart`), the restart reset scopes (`synchronizationJobRestartScope`, CSDL flags:
//! `Full` = 15 includes `ConnectorDataStore`), the consent a dangerous scope needs, the exact
//! request (shown by a dry run, sent otherwise), the action log entry of every request sent, and
//! the wait for the job's status to change. It sends only the one request it was asked to; POSTs
//! go through the Graph client's policy, which retries them only on 429 with `Retry-After`
//! (never blindly on 5xx: a restart that reached Graph must not run twice). It must not decide
//! whether to send (the caller asks for consent) and must not read or write anything else.

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::log::{ActionLog, Entry};
use crate::graph::cloud_sync_discovery::{self as discovery, Principal};
use crate::graph::{CallStats, GraphClient, GraphError};
use crate::inputs::snapshot::{JobStatusCode, SyncJob, SyncStatus};

/// Members of `synchronizationJobRestartScope`
/// (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationjobrestartcriteria>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    None,
    ConnectorDataStore,
    Escrows,
    Watermark,
    QuarantineState,
    Full,
    ForceDeletes,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::None,
        Scope::ConnectorDataStore,
        Scope::Escrows,
        Scope::Watermark,
        Scope::QuarantineState,
        Scope::Full,
        Scope::ForceDeletes,
    ];

    /// The member's name as Graph spells it.
    pub fn name(self) -> &'static str {
        match self {
            Scope::None => "None",
            Scope::ConnectorDataStore => "ConnectorDataStore",
            Scope::Escrows => "Escrows",
            Scope::Watermark => "Watermark",
            Scope::QuarantineState => "QuarantineState",
            Scope::Full => "Full",
            Scope::ForceDeletes => "ForceDeletes",
        }
    }

    /// What the docs say the member does (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationjobrestartcriteria>,
    /// quoted).
    pub fn meaning(self) -> &'static str {
        match self {
            Scope::None => {
                "Starts a paused or quarantined provisioning job. DO NOT USE. Use the Start synchronizationJob API instead."
            }
            Scope::ConnectorDataStore => {
                "Clears the underlying cache for all users. DO NOT USE. Contact Microsoft Support for guidance."
            }
            Scope::Escrows => {
                "Provisioning failures are marked as escrows and retried. Clearing escrows will stop the service from retrying failures."
            }
            Scope::Watermark => {
                "Removing the watermark causes the service to re-evaluate all the users again, rather than just processing changes."
            }
            Scope::QuarantineState => "Temporarily lifts the quarantine.",
            Scope::Full => "Use Full if you want all of the options.",
            Scope::ForceDeletes => {
                "Forces the system to delete the pending deleted users when using the accidental deletions prevention feature and the deletion threshold is exceeded."
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A restart's `criteria.resetScope`: members in the order given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetScope(Vec<Scope>);

/// What `--scope` means by default: the documented example, and what the Microsoft Entra admin
/// center's "Restart provisioning" amounts to
/// (graph/api/resources/synchronization-synchronizationjobrestartcriteria).
pub(crate) const DEFAULT_SCOPE: &str = "Watermark,Escrows,QuarantineState";

impl FromStr for ResetScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut members = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let member = Scope::ALL
                .into_iter()
                .find(|m| m.name().eq_ignore_ascii_case(part))
                .ok_or_else(|| {
                    let names: Vec<&str> = Scope::ALL.iter().map(|m| m.name()).collect();
                    format!(
                        "'{part}' is not a reset scope; the scopes are {} (comma-separated)",
                        names.join(", ")
                    )
                })?;
            if !members.contains(&member) {
                members.push(member);
            }
        }
        if members.is_empty() {
            return Err(format!(
                "the reset scope is empty: name what to reset, e.g. {DEFAULT_SCOPE}"
            ));
        }
        Ok(ResetScope(members))
    }
}

impl ResetScope {
    pub fn members(&self) -> &[Scope] {
        &self.0
    }

    pub fn contains(&self, member: Scope) -> bool {
        self.0.contains(&member)
    }

    /// The value sent: members joined by `", "`, as the documented example
    /// (`"Watermark, Escrows, QuarantineState"`) spells it.
    pub fn value(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|m| m.name()).collect();
        names.join(", ")
    }

    /// Whether the scope clears `ConnectorDataStore`: `Full` is flags 15, which includes it
    /// (`synchronizationJobRestartScope` in Graph's CSDL,
    /// <https://graph.microsoft.com/v1.0/$metadata>).
    pub fn clears_connector_data_store(&self) -> bool {
        self.contains(Scope::Full) || self.contains(Scope::ConnectorDataStore)
    }

    /// Whether a restart with this scope lifts a quarantine with `reason`: `QuarantineState`
    /// ("temporarily lifts the quarantine", also inside `Full`), or `ForceDeletes` for a
    /// `TooManyDeletes` quarantine (cloud-sync/how-to-inbound-synch-ms-graph: "issue a restart with just
    /// `ForceDeletes`").
    pub fn lifts_quarantine(&self, reason: Option<&str>) -> bool {
        self.contains(Scope::QuarantineState)
            || self.contains(Scope::Full)
            || (self.contains(Scope::ForceDeletes) && reason == Some("TooManyDeletes"))
    }
}

/// What the user allowed beyond the ordinary scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Consent {
    /// `--i-understand-full-resync`: `Full` or `ConnectorDataStore`.
    pub full_resync: bool,
    /// `--allow-force-deletes`: `ForceDeletes`.
    pub force_deletes: bool,
}

/// Flag that allows `Full` / `ConnectorDataStore`.
pub(crate) const FULL_RESYNC_FLAG: &str = "--i-understand-full-resync";
/// Flag that allows `ForceDeletes`.
pub(crate) const FORCE_DELETES_FLAG: &str = "--allow-force-deletes";

/// Checks a scope against the consent given. Returns the consequences to print (one per
/// dangerous member allowed) or why the scope is refused.
pub(crate) fn check_scope(scope: &ResetScope, consent: Consent) -> Result<Vec<String>, String> {
    if scope.contains(Scope::None) {
        return Err(format!(
            "reset scope None is refused: the docs say \"{}\". Run `entra-audit cloud-sync start` instead",
            Scope::None.meaning()
        ));
    }
    let mut consequences = Vec::new();
    if scope.clears_connector_data_store() {
        let consequence = format!(
            "{} clears ConnectorDataStore (Full is Watermark, Escrows, QuarantineState and \
             ConnectorDataStore), of which the docs say \"{}\" Every object is read again from \
             Active Directory and re-evaluated: a full synchronization cycle that takes far longer \
             than an incremental one, and pending retries (escrows) are dropped. \
             `--scope {DEFAULT_SCOPE}` clears a quarantine without it",
            if scope.contains(Scope::Full) {
                "Full"
            } else {
                "ConnectorDataStore"
            },
            Scope::ConnectorDataStore.meaning()
        );
        if !consent.full_resync {
            return Err(format!(
                "{consequence}. Pass {FULL_RESYNC_FLAG} as well if that is what you want"
            ));
        }
        consequences.push(consequence);
    }
    if scope.contains(Scope::ForceDeletes) {
        let consequence = "ForceDeletes lets through every deletion the accidental-deletion \
            threshold held back: the objects staged for deletion (StagedDelete entries in the \
            provisioning logs) are deleted in Microsoft Entra ID. Review them first; if they are \
            not intended, fix the scoping or OU change that caused them and restart without \
            ForceDeletes"
            .to_owned();
        if !consent.force_deletes {
            return Err(format!(
                "{consequence}. Pass {FORCE_DELETES_FLAG} as well if the deletions are intended"
            ));
        }
        consequences.push(consequence);
    }
    Ok(consequences)
}

/// What `cloud-sync start`, `pause` or `restart` asks a Cloud Sync job to do (the cleanup files' actions are
/// `findings::CleanupAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobAction {
    Start,
    Pause,
    Restart(ResetScope),
}

impl JobAction {
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            JobAction::Start => "start",
            JobAction::Pause => "pause",
            JobAction::Restart(_) => "restart",
        }
    }

    /// The request body: none for start and pause ("Don't supply a request body for this
    /// method", graph/api/synchronization-synchronizationjob-start, `-pause`), the restart criteria
    /// for restart.
    pub(crate) fn body(&self) -> Option<Value> {
        match self {
            JobAction::Start | JobAction::Pause => None,
            JobAction::Restart(scope) => Some(json!({"criteria": {"resetScope": scope.value()}})),
        }
    }

    /// The request for a job: `POST /v1.0/servicePrincipals/{id}/synchronization/jobs/{jobId}/{verb}`.
    pub(crate) fn request(
        &self,
        client: &GraphClient,
        principal_id: &str,
        job_id: &str,
    ) -> Request {
        Request {
            method: "POST",
            url: client.url(&format!(
                "{}/{}",
                discovery::job_path(principal_id, job_id),
                self.verb()
            )),
            body: self.body(),
        }
    }

    /// Whether `job` shows the state this action leads to. Start (and a restart that lifts the
    /// quarantine, or of a job not quarantined) leaves the job running: neither `Paused` nor
    /// `Quarantine`; pause leaves it `Paused`.
    pub(crate) fn reached(&self, job: &SyncJob) -> bool {
        let code = job.status.as_ref().and_then(SyncStatus::code);
        match self {
            JobAction::Pause => code == Some(JobStatusCode::Paused),
            JobAction::Start | JobAction::Restart(_) => {
                !matches!(
                    code,
                    Some(JobStatusCode::Paused | JobStatusCode::Quarantine)
                ) && job.status.as_ref().is_none_or(|s| s.quarantine.is_none())
            }
        }
    }

    /// What the action should leave the job in, for messages.
    pub(crate) fn expected_state(&self) -> &'static str {
        match self {
            JobAction::Pause => "Paused",
            JobAction::Start | JobAction::Restart(_) => {
                "running (neither Paused nor in Quarantine)"
            }
        }
    }
}

/// A job's `status.code`, or `unknown`.
pub(crate) fn status_code(job: &SyncJob) -> &str {
    job.status
        .as_ref()
        .and_then(|s| s.code.as_deref())
        .unwrap_or("unknown")
}

/// A job's quarantine reason, when it is quarantined and Graph named one.
pub(crate) fn quarantine_reason(job: &SyncJob) -> Option<&str> {
    job.status
        .as_ref()
        .and_then(|s| s.quarantine.as_ref())
        .and_then(|q| q.reason.as_deref())
}

/// An HTTP request as it would be (or was) sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: &'static str,
    pub url: String,
    pub body: Option<Value>,
}

impl Request {
    /// The body exactly as sent (compact JSON), or none.
    pub(crate) fn body_text(&self) -> Option<String> {
        self.body.as_ref().map(Value::to_string)
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        match self.body_text() {
            Some(body) => write!(f, "Content-Type: application/json\n\n{body}"),
            None => write!(f, "(no body)"),
        }
    }
}

/// The job an action is for, as read before the action.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub principal: Principal,
    pub job: SyncJob,
}

/// What Graph answered to a sent action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub status: u16,
    /// The `client-request-id` sent (a fresh GUID), which Graph echoes and support can trace.
    pub client_request_id: String,
    /// HTTP requests in all (more than one when a 429 was waited out).
    pub attempts: u64,
}

/// A refused or failed action: the Graph error, with the request id to quote.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ActionError {
    pub message: String,
    #[source]
    pub source: GraphError,
}

/// Sends the action once (the Graph client waits out a 429 with `Retry-After` and retries
/// nothing else), appends the request and its answer to the action log, and returns the answer.
/// `delegated` says whether a user signed in (it decides which permission a 403 names).
pub(crate) async fn send(
    client: &GraphClient,
    log: &mut ActionLog,
    tenant: &str,
    target: &Target,
    action: &JobAction,
    delegated: bool,
) -> Result<Sent, ActionError> {
    let request = action.request(client, &target.principal.id, &target.job.id);
    // "On every request to Microsoft Graph, generate a unique GUID, send it in the
    // client-request-id HTTP request header, and also log it in your application's logs"
    // (https://learn.microsoft.com/graph/best-practices-concept#reliability-and-support).
    let client_request_id = new_guid();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        headers.insert(HeaderName::from_static("client-request-id"), v);
    }
    let mut stats = CallStats::default();
    let result = client
        .send(
            Method::POST,
            &request.url,
            &headers,
            request.body.as_ref(),
            &mut stats,
            |_, delivered| Ok(delivered.clone()),
        )
        .await;
    let (http_status, request_id, error) = match &result {
        Ok(delivered) => (Some(delivered.status), delivered.request_id.clone(), None),
        Err(e) => (
            e.status(),
            e.detail().and_then(|d| d.request_id.clone()),
            Some(e.to_string()),
        ),
    };
    let logged = log.append(&Entry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        tenant: tenant.to_owned(),
        service_principal_id: target.principal.id.clone(),
        job: target.job.id.clone(),
        action: action.verb().to_owned(),
        method: request.method.to_owned(),
        url: request.url.clone(),
        body: request.body.clone(),
        status: http_status,
        request_id,
        client_request_id: client_request_id.clone(),
        attempts: stats.requests,
        error,
    });
    match result {
        Ok(_) => {
            if let Err(e) = logged {
                // The request went through: say so, and that the log missed it.
                tracing::error!("{e:#}");
                eprintln!("warning: {e:#}");
            }
            Ok(Sent {
                status: http_status.unwrap_or(204),
                client_request_id,
                attempts: stats.requests,
            })
        }
        Err(source) => Err(ActionError {
            message: refusal_message(&source, action, target, delegated, &client_request_id),
            source,
        }),
    }
}

fn refusal_message(
    error: &GraphError,
    action: &JobAction,
    target: &Target,
    delegated: bool,
    client_request_id: &str,
) -> String {
    let what = format!(
        "{} of job {} (service principal {})",
        action.verb(),
        target.job.id,
        target.principal.id
    );
    let mut message = if error.is_forbidden() {
        format!(
            "{what} was refused: {error}. {}",
            forbidden_hint(true, delegated)
        )
    } else {
        format!("{what} failed: {error}")
    };
    if !error.is_forbidden() && error.status().is_some_and(|s| s >= 500) {
        // Not retried on purpose: Graph may have acted on it before failing to answer.
        message.push_str(
            ". A POST is not retried after a server error (it may have been applied): check the \
             job with `entra-audit cloud-sync status` before sending it again",
        );
    }
    let _ = write!(message, " (client-request-id {client_request_id})");
    message
}

/// What a 403 means for the synchronization API (the permission tables of
/// <https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-restart> and
/// <https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-list>): applications
/// need `Synchronization.ReadWrite.All` to act on a job (`Synchronization.Read.All` to read it, and
/// `Application.Read.All` to find the service principals); a signed-in user also needs "at least
/// the Hybrid Identity Administrator directory role" (rbac-synchronization-apis).
pub(crate) fn forbidden_hint(write: bool, delegated: bool) -> String {
    let app_permission = if write {
        "Synchronization.ReadWrite.All"
    } else {
        "Synchronization.Read.All (and Application.Read.All to find the Cloud Sync service principals)"
    };
    if delegated {
        format!(
            "A signed-in user needs at least the Hybrid Identity Administrator directory role, and \
             the application the delegated permission {app_permission} with consent. (An \
             application signing in as itself needs the application permission {app_permission} \
             with admin consent.)"
        )
    } else {
        format!(
            "The application needs the Microsoft Graph application permission {app_permission} \
             with admin consent (Entra admin center > App registrations > API permissions). (With \
             --device-code the signed-in user needs at least the Hybrid Identity Administrator \
             directory role instead.)"
        )
    }
}

/// How a wait for the job's new state ended.
#[derive(Debug, Clone)]
pub(crate) enum Waited {
    Reached { job: SyncJob, after: Duration },
    TimedOut { job: SyncJob, after: Duration },
}

/// Reads the job every `interval` until `action.reached` or `timeout` has passed. The first
/// read comes at once: Graph may apply the action before answering.
pub(crate) async fn wait_for(
    client: &GraphClient,
    target: &Target,
    action: &JobAction,
    timeout: Duration,
    interval: Duration,
) -> Result<Waited, GraphError> {
    let started = Instant::now();
    let mut stats = CallStats::default();
    loop {
        let job = discovery::job(client, &target.principal, &target.job.id, &mut stats).await?;
        let after = started.elapsed();
        if action.reached(&job) {
            return Ok(Waited::Reached { job, after });
        }
        if after >= timeout {
            return Ok(Waited::TimedOut { job, after });
        }
        tokio::time::sleep(interval.min(timeout.saturating_sub(after))).await;
    }
}

/// A random (version 4) GUID in the 8-4-4-4-12 form.
fn new_guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_case_insensitively_in_order_without_repeats() {
        let s: ResetScope = "watermark, Escrows,QUARANTINESTATE,Escrows"
            .parse()
            .unwrap();
        assert_eq!(s.value(), "Watermark, Escrows, QuarantineState");
        assert_eq!(
            DEFAULT_SCOPE.parse::<ResetScope>().unwrap().value(),
            "Watermark, Escrows, QuarantineState"
        );
        let e = "Watermark,ForceDeletion".parse::<ResetScope>().unwrap_err();
        assert!(e.contains("'ForceDeletion' is not a reset scope"), "{e}");
        assert!(e.contains("ForceDeletes"), "{e}");
        assert!(" , ".parse::<ResetScope>().unwrap_err().contains("empty"));
    }

    #[test]
    fn dangerous_scopes_need_their_flag_and_say_why() {
        let full: ResetScope = "Full".parse().unwrap();
        let e = check_scope(&full, Consent::default()).unwrap_err();
        assert!(
            e.contains("ConnectorDataStore") && e.contains("DO NOT USE"),
            "{e}"
        );
        assert!(e.contains(FULL_RESYNC_FLAG), "{e}");
        let c = check_scope(
            &full,
            Consent {
                full_resync: true,
                ..Consent::default()
            },
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].contains("full synchronization cycle"), "{c:?}");

        let cds: ResetScope = "ConnectorDataStore".parse().unwrap();
        assert!(check_scope(&cds, Consent::default()).is_err());

        let deletes: ResetScope = "ForceDeletes".parse().unwrap();
        let e = check_scope(&deletes, Consent::default()).unwrap_err();
        assert!(
            e.contains(FORCE_DELETES_FLAG) && e.contains("StagedDelete"),
            "{e}"
        );
        let ok = check_scope(
            &deletes,
            Consent {
                force_deletes: true,
                ..Consent::default()
            },
        )
        .unwrap();
        assert!(ok[0].contains("deleted"), "{ok:?}");

        let none: ResetScope = "None".parse().unwrap();
        let e = check_scope(
            &none,
            Consent {
                full_resync: true,
                force_deletes: true,
            },
        )
        .unwrap_err();
        assert!(e.contains("cloud-sync start"), "{e}");

        let ordinary: ResetScope = DEFAULT_SCOPE.parse().unwrap();
        assert!(
            check_scope(&ordinary, Consent::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn which_scopes_lift_which_quarantine() {
        let scope = |s: &str| s.parse::<ResetScope>().unwrap();
        assert!(scope("QuarantineState").lifts_quarantine(Some("EncounteredQuarantineException")));
        assert!(scope("Full").lifts_quarantine(None));
        assert!(scope("ForceDeletes").lifts_quarantine(Some("TooManyDeletes")));
        assert!(!scope("ForceDeletes").lifts_quarantine(Some("EncounteredQuarantineException")));
        assert!(!scope("Watermark,Escrows").lifts_quarantine(Some("TooManyDeletes")));
    }

    #[test]
    fn guids_are_version_4() {
        let g = new_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"), "{g}");
        assert_ne!(g, new_guid());
    }
}
