//! The actions layer: the only code that changes a tenant. Today that is Cloud Sync
//! ([`cloud_sync`]): clearing quarantine, restarting or pausing a provisioning job, always
//! dry-run unless the user agreed. Nothing in the audit or outputs layers may reach it.

pub(crate) mod cloud_sync;
