//! The `cloud-sync` command flow: sign in, find the jobs, then either print the status or plan
//! one action — refuse a scope without its consent flag before anything is read, print the
//! job and the exact request, send only with `--yes` or a "yes" typed at a terminal prompt
//! (never prompting when stdin is not a terminal), log what was sent, and wait for the job's
//! new state. Text for people goes to stdout, prompts and progress to stderr. It owns that
//! sequence and the outcome (which `main` turns into an exit code); the pieces live in the
//! sibling modules.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use chrono::Utc;

use crate::actions::cloud_sync::actions::{self, Consent, JobAction, Target, Waited};
use crate::actions::cloud_sync::log::ActionLog;
use crate::actions::cloud_sync::{describe, resolve, status};
use crate::commands::cli::{
    CloudSyncActionArgs, CloudSyncArgs, CloudSyncCommand, CloudSyncStatusArgs,
};
use crate::commands::sign_in::{Session, connect};
use crate::graph::auth::CredentialKind;
use crate::graph::cloud_sync_discovery::{self as discovery, Principal};
use crate::graph::{CallStats, GraphError};
use crate::inputs::snapshot::{JobStatusCode, SyncStatus};

/// How a `cloud-sync` command ended (errors are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done, or nothing to do, or a dry run.
    Done,
    /// A job is quarantined or failing (status), or did not reach the expected state in time.
    NeedsAttention,
}

/// Runs a `cloud-sync` subcommand.
pub(crate) fn run(args: &CloudSyncArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        CloudSyncCommand::Status(a) => status_command(a),
        CloudSyncCommand::Start(a) => act(a, &JobAction::Start, Consent::default()),
        CloudSyncCommand::Pause(a) => act(a, &JobAction::Pause, Consent::default()),
        CloudSyncCommand::Restart(r) => act(
            &r.action,
            &JobAction::Restart(r.scope.clone()),
            Consent {
                full_resync: r.i_understand_full_resync,
                force_deletes: r.allow_force_deletes,
            },
        ),
    }
}

fn delegated(session: &Session) -> bool {
    session.credential_kind == CredentialKind::DeviceCode
}

/// A failed read, with the permission a 403 lacks.
fn read_error(error: GraphError, delegated: bool) -> anyhow::Error {
    if error.is_forbidden() {
        anyhow::anyhow!(
            "reading the Cloud Sync jobs was refused: {error}. {}",
            actions::forbidden_hint(false, delegated)
        )
    } else {
        anyhow::Error::new(error).context("reading the Cloud Sync jobs")
    }
}

async fn jobs(session: &Session) -> anyhow::Result<Vec<crate::inputs::snapshot::SyncJob>> {
    session.sign_in().await?;
    let mut stats = CallStats::default();
    discovery::jobs(&session.graph, &mut stats)
        .await
        .map_err(|e| read_error(e, delegated(session)))
}

fn status_command(args: &CloudSyncStatusArgs) -> anyhow::Result<Outcome> {
    let session = connect(&args.auth.connect_options())?;
    let jobs = crate::commands::progress::runtime()?.block_on(jobs(&session))?;
    let report = status::report(&session.tenant, &jobs, Utc::now(), args.max_age);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialising the status")?
        );
    } else {
        print!(
            "{}",
            crate::preview::terminal_safe(&status::render(&report))
        );
    }
    Ok(if report.needs_attention() {
        Outcome::NeedsAttention
    } else {
        Outcome::Done
    })
}

/// Why sending `action` to `job` would be pointless or against the docs, if it would.
fn nothing_to_do(action: &JobAction, job: &crate::inputs::snapshot::SyncJob) -> Option<String> {
    let code = actions::status_code(job);
    let typed = job.status.as_ref().and_then(SyncStatus::code);
    let paused = typed == Some(JobStatusCode::Paused);
    let quarantined =
        typed == Some(JobStatusCode::Quarantine) || actions::quarantine_reason(job).is_some();
    match action {
        // "Use the start job only when the job is currently paused or in quarantine" and "Don't
        // create scripts to call the start job continuously while it's running because that can
        // cause the service to stop running"
        // (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start).
        JobAction::Start if !paused && !quarantined => Some(format!(
            "job {} is {code}: start is only for a paused or quarantined job (the docs warn that \
             starting a running job can stop the service)",
            job.id
        )),
        JobAction::Pause if paused => Some(format!("job {} is already Paused", job.id)),
        _ => None,
    }
}

fn act(
    args: &CloudSyncActionArgs,
    action: &JobAction,
    consent: Consent,
) -> anyhow::Result<Outcome> {
    // Refuse a scope without its consent before signing in: nothing is read or sent.
    let consequences = match action {
        JobAction::Restart(scope) => {
            actions::check_scope(scope, consent).map_err(anyhow::Error::msg)?
        }
        _ => Vec::new(),
    };
    let session = connect(&args.auth.connect_options())?;
    crate::commands::progress::runtime()?.block_on(act_async(&session, args, action, &consequences))
}

async fn act_async(
    session: &Session,
    args: &CloudSyncActionArgs,
    action: &JobAction,
    consequences: &[String],
) -> anyhow::Result<Outcome> {
    let jobs = jobs(session).await?;
    let job = resolve(&jobs, &args.job, args.service_principal.as_deref())?.clone();
    let target = Target {
        principal: Principal {
            id: job.service_principal_id.clone().unwrap_or_default(),
            display_name: job.service_principal_display_name.clone(),
        },
        job,
    };
    let code = actions::status_code(&target.job).to_owned();
    let reason = actions::quarantine_reason(&target.job).map(str::to_owned);
    println!("job: {}", describe(&target.job));
    println!(
        "status: {code}{}",
        reason
            .as_deref()
            .map(|r| format!(" (quarantine reason {r})"))
            .unwrap_or_default()
    );
    if let Some(why) = nothing_to_do(action, &target.job) {
        println!("{why}; nothing was sent.");
        return Ok(Outcome::Done);
    }
    for consequence in consequences {
        eprintln!("warning: {consequence}.");
    }
    if let JobAction::Restart(scope) = action
        && target.job.status.as_ref().and_then(SyncStatus::code) == Some(JobStatusCode::Quarantine)
        && !scope.lifts_quarantine(reason.as_deref())
    {
        eprintln!(
            "warning: scope '{}' does not lift the quarantine (add QuarantineState); the job will \
             most likely stay in quarantine.",
            scope.value()
        );
    }
    let request = action.request(&session.graph, &target.principal.id, &target.job.id);
    println!("request:\n{request}");
    let confirmed = if args.yes {
        true
    } else if std::io::stdin().is_terminal() {
        confirm(&session.tenant)?
    } else {
        false
    };
    if !confirmed {
        println!(
            "dry run: nothing was sent.{}",
            if args.yes {
                ""
            } else {
                " Add --yes to send this request."
            }
        );
        return Ok(Outcome::Done);
    }
    send_action(session, args, action, &target).await
}

/// Sends the action, logs it, and waits for the job's new state.
async fn send_action(
    session: &Session,
    args: &CloudSyncActionArgs,
    action: &JobAction,
    target: &Target,
) -> anyhow::Result<Outcome> {
    let before = actions::status_code(&target.job).to_owned();
    let mut log = ActionLog::open(&args.action_log)?;
    let sent = actions::send(
        &session.graph,
        &mut log,
        &session.tenant,
        target,
        action,
        delegated(session),
    )
    .await?;
    println!(
        "sent: HTTP {} after {} attempt(s), client-request-id {}; logged to {}",
        sent.status,
        sent.attempts,
        sent.client_request_id,
        log.path().display()
    );
    eprintln!(
        "waiting up to {}s for job {} to be {} ...",
        args.timeout.as_secs(),
        target.job.id,
        action.expected_state()
    );
    let waited = actions::wait_for(
        &session.graph,
        target,
        action,
        args.timeout,
        args.poll_interval,
    )
    .await
    .map_err(|e| {
        if e.is_forbidden() {
            anyhow::anyhow!(
                "the {} was accepted, but reading the job afterwards was refused: {e}. {}",
                action.verb(),
                actions::forbidden_hint(false, delegated(session))
            )
        } else {
            anyhow::Error::new(e).context(format!(
                "the {} was accepted, but reading the job afterwards failed",
                action.verb()
            ))
        }
    })?;
    Ok(match waited {
        Waited::Reached { job, after } => {
            println!(
                "done: job {} went from {before} to {} in {:.1}s.",
                job.id,
                actions::status_code(&job),
                after.as_secs_f64()
            );
            Outcome::Done
        }
        Waited::TimedOut { job, after } => {
            println!(
                "not yet: job {} is still {} after {:.0}s (expected {}). Graph accepted the \
                 request; the service may apply it at its next cycle. Check again with \
                 `entra-audit cloud-sync status`.",
                job.id,
                actions::status_code(&job),
                after.as_secs_f64(),
                action.expected_state()
            );
            Outcome::NeedsAttention
        }
    })
}

/// Asks on the terminal; only "y" or "yes" sends.
fn confirm(tenant: &str) -> anyhow::Result<bool> {
    eprint!("send this request to tenant {tenant}? type 'yes' to send: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the confirmation from stdin")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Runs `cloud-sync`: 0 done, 1 a job needs attention (quarantined, failing, or not in the
/// expected state after an action).
pub(crate) fn execute(args: &CloudSyncArgs) -> anyhow::Result<u8> {
    Ok(match run(args)? {
        Outcome::Done => 0,
        Outcome::NeedsAttention => 1,
    })
}
