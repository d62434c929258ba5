//! The inputs layer: what an audit reads, turned into typed records. The on-premises side comes
//! from an AD export file ([`onprem`]) or live over LDAP ([`ldap`], which writes the same JSON
//! the export script writes); the cloud side from a snapshot directory ([`snapshot`]) that
//! `collect` writes or an admin exports. [`paths`] checks every input path before anything slow
//! starts; [`lines`] splits their texts into lines, [`blocks`] reads a large one a block of
//! whole records at a time, and [`chunks`] consumes a large vector of objects a chunk at a time.
//!
//! Nothing here knows rules, tables, findings or outputs; the audit layer reads these records,
//! never the other way round.

pub(crate) mod blocks;
pub(crate) mod chunks;
pub(crate) mod ldap;
pub(crate) mod lines;
pub(crate) mod onprem;
pub(crate) mod paths;
pub(crate) mod snapshot;
