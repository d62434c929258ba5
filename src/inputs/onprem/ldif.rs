//! LDIF reader for what `ldifde -f FILE` writes (RFC 2849 content records): records start with
//! `dn:` and are separated by blank lines; a multi-valued attribute repeats its line; `attr::`
//! values are base64 (binary attributes always, text attributes when not plain ASCII); long lines
//! are folded onto continuation lines that start with one space; `#` comments, `version: 1` and
//! `changetype: add` may appear; lines end in CRLF.
//!
//! It also reads the other dialects an AD export comes in (see [`Aside`]): `ldapsearch` without
//! `-LLL` (comments, `version:`, `ref:` search-reference blocks, `search:`/`result:` trailers),
//! paged `ldapsearch` (`pagedresults:` lines and comments between pages) and `ldbsearch` (`#
//! Referral` blocks, objectGUID and objectSid as text). A trailer whose `result:` is not `0
//! Success` stops the import: the search ended early and the file is incomplete. An export of
//! exactly as many entries as AD commonly cuts a search at, with no sign of paging and no trailer,
//! is imported with a "probably truncated" warning.
//!
//! It owns LDIF syntax only: it hands each attribute to `Draft`, which owns what the values mean.
//! It must stay fast (the file, or a block of whole records of it, is in memory and lines are
//! borrowed slices; only folded lines and the values the importer keeps are copied) and must not
//! accept a structurally broken file: a line that is not `name: value` or a record that does not
//! start with `dn:` stops the import with the line number, because everything after it would be
//! misread.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::preview::preview;

use super::{
    Draft, Field, ImportError, ImportOptions, ImportOutcome, SCRIPT_HINT, field_for, guid_from_str,
    is_sid_text, sid_to_string,
};
use crate::inputs::lines::count_newlines;

/// Files above this size are parsed in chunks on every core.
const PARALLEL_ABOVE: usize = 8 << 20;

/// Reads a whole LDIF file. A large file is cut at blank lines (record boundaries: a folded line
/// never starts empty) into one chunk per core; the chunks are parsed in parallel with their own
/// line numbering offset, and the results are joined in file order, so the outcome is exactly
/// that of one sequential pass.
pub(super) fn read(
    text: &str,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    check_line_ends(text, path)?;
    let mut reader = Reader::new(path, options);
    reader.block(text)?;
    Ok(reader.finish(text))
}

/// A file whose lines end with CR only is refused; `text` is the file or its first block.
pub(super) fn check_line_ends(text: &str, path: &Path) -> Result<(), ImportError> {
    if text.contains('\r') && !text.contains('\n') {
        return Err(ImportError::unusable(
            path,
            "its lines end with a carriage return only (CR, classic Mac OS): LDIF lines end with \
             LF or CR LF; convert the file (e.g. `tr '\\r' '\\n'`) and import it again"
                .to_owned(),
        ));
    }
    Ok(())
}

/// An LDIF file read a block of whole records at a time ([`read`] gives it the whole file as
/// one block): the outcome is that of one pass over the file, whatever the blocks. A block may be
/// parsed ahead ([`Reader::parse_ahead`]): its objects are then added to the outcome while the
/// next block is parsed, and its errors still come before any met after it.
pub(super) struct Reader<'a> {
    parser: BlockParser<'a>,
    collected: Collected,
    /// A block parsed ahead, not yet added to the outcome.
    pending: Option<ParsedBlock>,
}

/// What parsing a block needs: the file and options, and where the block lies in the file.
struct BlockParser<'a> {
    /// The file, named by every object read from it with this one path.
    file: Arc<Path>,
    options: &'a ImportOptions,
    /// Lines in the blocks parsed so far.
    lines_before: usize,
    blocks: usize,
}

/// The outcome of the blocks added so far.
struct Collected {
    out: ImportOutcome,
    dialect: Dialect,
}

/// One block parsed, a part per chunk, in file order; not yet added to the outcome.
struct ParsedBlock(Vec<Result<(ImportOutcome, Dialect), ImportError>>);

impl<'a> Reader<'a> {
    pub(super) fn new(path: &Path, options: &'a ImportOptions) -> Self {
        Reader {
            parser: BlockParser {
                file: path.into(),
                options,
                lines_before: 0,
                blocks: 0,
            },
            collected: Collected {
                out: ImportOutcome::default(),
                dialect: Dialect::default(),
            },
            pending: None,
        }
    }

    /// Reads `text`, the next block: whole records, starting at a blank line or the file's
    /// start.
    pub(super) fn block(&mut self, text: &str) -> Result<(), ImportError> {
        self.catch_up()?;
        let parsed = self.parser.parse(text);
        self.collected.add(parsed)
    }

    /// Parses `text`, the next block, and meanwhile, on another core, adds the block parsed
    /// ahead before it (if any) and runs `beside` (reading the block after, say). Returns
    /// whether that earlier block was added without an error, and what `beside` gave; this
    /// block is left to be added by the next call, [`Reader::block`] or [`Reader::catch_up`].
    pub(super) fn parse_ahead<R: Send>(
        &mut self,
        text: &str,
        beside: impl FnOnce() -> R + Send,
    ) -> (Result<(), ImportError>, R) {
        let earlier = self.pending.take();
        let (parser, collected) = (&mut self.parser, &mut self.collected);
        let (parsed, added) = rayon::join(
            || parser.parse(text),
            || {
                (
                    earlier.map_or(Ok(()), |earlier| collected.add(earlier)),
                    beside(),
                )
            },
        );
        self.pending = Some(parsed);
        added
    }

    /// Adds the block parsed ahead, if any, to the outcome.
    pub(super) fn catch_up(&mut self) -> Result<(), ImportError> {
        self.pending
            .take()
            .map_or(Ok(()), |parsed| self.collected.add(parsed))
    }

    /// `error`, met after the blocks parsed so far, unless the block parsed ahead has one: in
    /// one pass over the file that one would have come first.
    pub(super) fn error_after(&mut self, error: ImportError) -> ImportError {
        self.catch_up().err().unwrap_or(error)
    }

    /// Makes room for the objects of a file of `total` bytes, `read` of which gave those added
    /// so far ([`reserve_for_file`](crate::inputs::blocks::reserve_for_file)).
    pub(super) fn expect(&mut self, read: usize, total: u64) {
        let objects = &mut self.collected.out.objects;
        crate::inputs::blocks::reserve_for_file(objects, objects.len(), read, total);
    }

    /// The lines of the blocks parsed so far.
    pub(super) fn lines_read(&self) -> usize {
        self.parser.lines_before
    }

    /// The outcome, once every block is read and added; `last` is the last block.
    pub(super) fn finish(self, last: &str) -> ImportOutcome {
        debug_assert!(
            self.pending.is_none(),
            "every block is added before the outcome"
        );
        let Collected { mut out, dialect } = self.collected;
        out.warnings.extend(dialect.truncation_warning());
        reject_cut_off_last_record(last, self.parser.lines_before, &self.parser.file, &mut out);
        out
    }
}

impl BlockParser<'_> {
    /// Parses `text`, whole records starting at a blank line or the file's start, in chunks on
    /// every core, and counts its lines.
    fn parse(&mut self, text: &str) -> ParsedBlock {
        use rayon::prelude::*;
        let chunks = if text.len() > PARALLEL_ABOVE {
            split_at_records(text, rayon::current_num_threads().max(1) * 4)
        } else {
            vec![text]
        };
        // Line numbering: each chunk starts after the newlines of the chunks before it.
        let newlines: Vec<usize> = chunks
            .par_iter()
            .map(|c| count_newlines(c.as_bytes()))
            .collect();
        let offsets: Vec<usize> = newlines
            .iter()
            .scan(self.lines_before, |seen, n| {
                let start = *seen;
                *seen += n;
                Some(start)
            })
            .collect();
        let first_block = self.blocks == 0;
        let parts = chunks
            .par_iter()
            .zip(offsets.par_iter())
            .enumerate()
            .map(|(i, (chunk, offset))| {
                read_chunk(
                    chunk,
                    &self.file,
                    *offset,
                    !first_block || i > 0,
                    self.options,
                )
            })
            .collect();
        self.lines_before += newlines.iter().sum::<usize>();
        self.blocks += 1;
        ParsedBlock(parts)
    }
}

impl Collected {
    /// Adds a parsed block's objects, rejected records and skipped classes, in file order; the
    /// first error of the block is returned (the parts after it are not added).
    fn add(&mut self, parsed: ParsedBlock) -> Result<(), ImportError> {
        let ParsedBlock(parts) = parsed;
        // Room for every object of the block at once: growing the vector part by part moved a
        // million objects (half a gigabyte) several times over.
        self.out.objects.reserve(
            parts
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .map(|(p, _)| p.objects.len())
                .sum(),
        );
        for part in parts {
            let (part, seen) = part?;
            self.dialect.merge(seen);
            self.out.objects.extend(part.objects);
            self.out.rejected.extend(part.rejected);
            for (class, n) in part.skipped_classes {
                *self.out.skipped_classes.entry(class).or_default() += n;
            }
        }
        Ok(())
    }
}

/// ldifde ends every line, the last one too, with a line break: a file that ends inside a value
/// line may have been cut off (a full disk, an interrupted copy), and its last record, which
/// looks complete, may hold half a value. That record is rejected, saying why. `text` is the
/// last block read, and `lines_read` the newlines of every block, that one included.
fn reject_cut_off_last_record(text: &str, lines_read: usize, path: &Path, out: &mut ImportOutcome) {
    let last_line = text.rsplit('\n').next().unwrap_or("");
    if text.ends_with('\n') || last_line.trim().is_empty() || last_line.starts_with('#') {
        return;
    }
    // Counted only here, for a file that was cut off: the last block may be a gigabyte (a file
    // read whole).
    let lines_before = lines_read - count_newlines(text.as_bytes());
    // The last record starts after the last blank line.
    let lines: Vec<&str> = text.split('\n').collect();
    let start = lines_before
        + lines
            .iter()
            .rposition(|l| l.trim_end_matches('\r').is_empty())
            .map_or(1, |blank| blank + 2);
    if let Some(object) = out.objects.last()
        && object.origin.line >= start
    {
        let object = out.objects.pop().expect("checked above");
        out.rejected.push(super::RejectedRecord {
            file: path.to_owned(),
            line: object.origin.line,
            record: preview(&object.distinguished_name),
            reason: format!(
                "the file ends on line {} without a line break, inside this record: the export \
                 may have been cut off, so its last value may be incomplete",
                lines_before + lines.len()
            ),
        });
    }
}

/// Where the last record of `bytes` ends: the start of the last blank line (after the line
/// break before it), as [`split_at_records`] cuts. `None` when no record ends in `bytes`.
pub(super) fn last_record_end(bytes: &[u8]) -> Option<usize> {
    // Line breaks from the end (a record is a few hundred bytes, so few are looked at; a search
    // for "\n\r\n" in an export without one read the whole block backwards, byte by byte).
    memchr::memrchr_iter(b'\n', bytes)
        .map(|at| at + 1)
        .find(|&line| matches!(bytes.get(line..), Some([b'\n', ..] | [b'\r', b'\n', ..])))
}

/// Cuts `text` into about `pieces` chunks, each starting at the beginning of a blank line.
fn split_at_records(text: &str, pieces: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::with_capacity(pieces);
    let mut start = 0;
    for i in 1..pieces {
        let target = (text.len() / pieces * i).max(start);
        // The next "\n\n" or "\n\r\n" at or after the target: the blank line starts after its "\n".
        let found = bytes[target..]
            .windows(2)
            .position(|w| w == b"\n\n" || w == b"\n\r");
        let Some(at) = found.map(|p| target + p + 1) else {
            break;
        };
        if bytes[at] == b'\r' && bytes.get(at + 1) != Some(&b'\n') {
            continue;
        }
        if at > start {
            chunks.push(&text[start..at]);
            start = at;
        }
    }
    chunks.push(&text[start..]);
    chunks
}

/// Parses one chunk; `first_line` is the number of lines before it, `after_first_chunk` says a
/// record may already have been seen (so a `version:` line is no longer allowed).
fn read_chunk(
    text: &str,
    file: &Arc<Path>,
    first_line: usize,
    after_first_chunk: bool,
    options: &ImportOptions,
) -> Result<(ImportOutcome, Dialect), ImportError> {
    let path: &Path = file;
    let mut out = ImportOutcome::default();
    // About one object a `dn:` line (fewer when some are skipped): the objects of a chunk are a
    // hundred megabytes, which growing by doubling copied over and over.
    out.objects
        .reserve(memchr::memmem::find_iter(text.as_bytes(), b"\ndn:").count() + 1);
    let mut dialect = Dialect::default();
    let mut lines = LogicalLines::new(text);
    lines.number = first_line;
    // (line of the `dn:`, the record so far, whether its lines are being ignored)
    let mut current: Option<(usize, Draft, bool)> = None;
    // A block that is not an entry (a search reference or result), read until its blank line.
    let mut aside: Option<Aside> = None;
    let mut seen_record = after_first_chunk;
    loop {
        let next = lines.next().map_err(|line| {
            ImportError::unusable(
                path,
                format!("line {line}: a continuation line (starting with a space) follows no attribute line; the file is not valid LDIF"),
            )
        })?;
        let Some((number, line)) = next else { break };
        if line.is_empty() {
            if let Some((start, draft, _)) = current.take() {
                draft.finish(file, start, &mut out);
            }
            aside = None;
            continue;
        }
        if let Some(kind) = aside {
            dialect.read_aside(kind, number, &line, path)?;
            continue;
        }
        let Some((_, draft, ignoring)) = &mut current else {
            if let Some(kind) = Aside::starting(&line) {
                dialect.read_aside(kind, number, &line, path)?;
                aside = Some(kind);
                seen_record = true;
            } else if let Some(value) = strip_name(&line, "dn") {
                dialect.entries += 1;
                let mut draft = Draft::default();
                match text_value(value) {
                    Ok(dn) => draft.set_text(Field::Dn, "dn", dn),
                    Err(reason) => draft.fatal(format!("dn on line {number}: {reason}")),
                }
                current = Some((number, draft, false));
                seen_record = true;
            } else if let (Some(version), false) = (strip_name(&line, "version"), seen_record) {
                let version = text_value(version).unwrap_or_default();
                if version != "1" {
                    return Err(ImportError::unusable(
                        path,
                        format!(
                            "line {number}: LDIF version `{version}` is not supported (only version 1)"
                        ),
                    ));
                }
            } else {
                return Err(ImportError::unusable(
                    path,
                    format!(
                        "line {number}: expected a record starting with `dn:`, found `{}`; records are separated by blank lines",
                        preview(&line)
                    ),
                ));
            }
            continue;
        };
        if *ignoring {
            continue;
        }
        match attribute(draft, number, &line, options) {
            Ok(Control::Continue) => {}
            Ok(Control::IgnoreRest) => *ignoring = true,
            Err(message) => {
                return Err(ImportError::unusable(
                    path,
                    format!("line {number}: {message}"),
                ));
            }
        }
    }
    if let Some((start, draft, _)) = current {
        draft.finish(file, start, &mut out);
    }
    dialect.paged |= lines.saw_paging_comment;
    Ok((out, dialect))
}

// ---------------------------------------------------------------------------------------------
// Dialects: what `ldapsearch` and `ldbsearch` write around the entries
// ---------------------------------------------------------------------------------------------

/// A block without `dn:` that search tools write between or after the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aside {
    /// `ref: ldap://...`: a search continuation reference (`ldapsearch` without `-LLL`) or a
    /// referral (`ldbsearch`'s `# Referral` blocks). A subtree search of a domain always returns
    /// them for the `Configuration`, `DomainDnsZones` and `ForestDnsZones` partitions, on Windows AD as
    /// on Samba; they name other partitions, which hold no users, contacts or groups of this
    /// domain, so they are passed over.
    Reference,
    /// `search: N` / `result: CODE TEXT` / `text:` / `matchedDN:` / `control:` / `pagedresults:`:
    /// how one search (or one page of a paged search) ended (RFC 4511 `LDAPResult`, as
    /// `ldapsearch` prints it).
    Result,
}

impl Aside {
    /// The block a line outside an entry starts, if it starts one.
    fn starting(line: &str) -> Option<Aside> {
        let (name, _) = split_line(line)?;
        if name.eq_ignore_ascii_case("ref") {
            Some(Aside::Reference)
        } else if name.eq_ignore_ascii_case("search") || name.eq_ignore_ascii_case("result") {
            Some(Aside::Result)
        } else {
            None
        }
    }
}

/// The paged results control (RFC 2696), as `ldapsearch -E pr=...` prints it on `control:` lines.
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// Entry counts AD searches are commonly cut at: 1,000 is the default `MaxPageSize` (a search
/// without the paged results control gets at most that many entries, and `ldapsearch -LLL`
/// writes nothing that shows it); 1,500 and 5,000 are other server and tool limits admins meet
/// (`MaxValRange`, ADWS / `Get-ADObject` limits).
/// <https://learn.microsoft.com/troubleshoot/windows-server/active-directory/view-set-ldap-policy-using-ntdsutil>
const COMMON_SEARCH_LIMITS: [usize; 3] = [1_000, 1_500, 5_000];

/// What a file showed of the tool and search that wrote it.
#[derive(Debug, Default, Clone, Copy)]
struct Dialect {
    /// `dn:` records, whatever their class.
    entries: usize,
    /// A paged results control or `pagedresults` line or comment: the search was paged.
    paged: bool,
    /// A `result: 0 Success` trailer: the server said the search completed.
    completed: bool,
}

impl Dialect {
    fn merge(&mut self, other: Dialect) {
        self.entries += other.entries;
        self.paged |= other.paged;
        self.completed |= other.completed;
    }

    /// One line of a non-entry block. A `result:` other than 0 is an error: the search stopped
    /// (a size or time limit, a referral, a dropped connection) and what follows is missing.
    fn read_aside(
        &mut self,
        kind: Aside,
        number: usize,
        line: &str,
        path: &Path,
    ) -> Result<(), ImportError> {
        if kind == Aside::Reference {
            return Ok(());
        }
        let Some((name, value)) = split_line(line) else {
            return Err(ImportError::unusable(
                path,
                format!(
                    "line {number}: expected `attribute: value` in a search result block, found `{}`",
                    preview(line)
                ),
            ));
        };
        let value = text_value(value).unwrap_or_default();
        if name.eq_ignore_ascii_case("result") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u32>().ok());
            if code != Some(0) {
                return Err(ImportError::unusable(
                    path,
                    format!(
                        "line {number}: the search that wrote this export ended with `result: {value}`, not \
                         `0 Success`: the export is incomplete. Export again with paging \
                         (`ldapsearch -E pr=1000/noprompt ...`, see docs/auditing.md) or with `entra-audit collect-ad`"
                    ),
                ));
            }
            self.completed = true;
        } else if name.eq_ignore_ascii_case("pagedresults")
            || (name.eq_ignore_ascii_case("control") && value.starts_with(PAGED_RESULTS_OID))
        {
            self.paged = true;
        }
        Ok(())
    }

    /// "Probably truncated" when the entry count is a common search limit and nothing in the
    /// file shows the search was paged or ended successfully.
    fn truncation_warning(&self) -> Option<String> {
        (COMMON_SEARCH_LIMITS.contains(&self.entries) && !self.paged && !self.completed).then(|| {
            format!(
                "probably truncated: exactly {} entries and no sign of paging or of the search's result; \
                 AD stops a search without the paged results control at its MaxPageSize (1,000 by \
                 default) and `ldapsearch -LLL` writes nothing that shows it. Export again with paging \
                 (`ldapsearch -E pr=1000/noprompt ...`; `ldifde` pages by itself) or with `entra-audit collect-ad`",
                self.entries
            )
        })
    }
}

enum Control {
    Continue,
    /// A change record: the rest of its lines (`replace:`, `-`, ...) are not attributes.
    IgnoreRest,
}

/// One `name: value`, `name:: base64` or `name:< url` line of a record.
fn attribute(
    draft: &mut Draft,
    number: usize,
    line: &str,
    options: &ImportOptions,
) -> Result<Control, String> {
    let Some((name, value)) = split_line(line) else {
        return Err(format!(
            "expected `attribute: value`, found `{}`; the file is not valid LDIF",
            preview(line)
        ));
    };
    if name.eq_ignore_ascii_case("dn") {
        return Err("`dn:` inside a record; records must be separated by a blank line".into());
    }
    if name.eq_ignore_ascii_case("changetype") {
        let kind = text_value(value).unwrap_or_default();
        if !kind.eq_ignore_ascii_case("add") {
            draft.fatal(format!(
                "changetype `{kind}` on line {number} makes this a change record, not an object; export a snapshot with `ldifde -f FILE`"
            ));
            return Ok(Control::IgnoreRest);
        }
        return Ok(Control::Continue);
    }
    // Attribute options (`userCertificate;binary`, `member;range=0-1499`) do not change which
    // attribute it is.
    let base = name.split_once(';').map_or(name, |(base, _)| base);
    let Some((canonical, field)) = field_for(base) else {
        if let Some(extra) = options.wanted(base) {
            let value = match value {
                Value::Text(text) => super::extra_from_text(extra, text),
                Value::Base64(_) | Value::Url => bytes_value(value)
                    .and_then(|bytes| super::extra_from_bytes(extra, bytes.into_owned())),
            };
            match value {
                Ok(value) => draft.push_extra(extra.name, value),
                Err(reason) => {
                    draft.extra_problem(format!("{} on line {number}: {reason}", extra.name));
                }
            }
        }
        return Ok(Control::Continue);
    };
    if let Err(reason) = apply(draft, field, canonical, value) {
        draft.problem(field, format!("{canonical} on line {number}: {reason}"));
    }
    Ok(Control::Continue)
}

fn apply(
    draft: &mut Draft,
    field: Field,
    name: &'static str,
    value: Value<'_>,
) -> Result<(), String> {
    match field {
        Field::Dn
        | Field::Upn
        | Field::Sam
        | Field::Mail
        | Field::MailNickname
        | Field::DisplayName
        | Field::GivenName
        | Field::Surname
        | Field::TargetAddress
        | Field::AdminDescription => {
            draft.set_text(field, name, text_value(value)?);
        }
        Field::CriticalSystemObject => {
            // LDAP Boolean syntax is `TRUE`/`FALSE` (RFC 4517 3.3.3).
            let text = text_value(value)?;
            let flag =
                super::parse_bool(&text).ok_or_else(|| format!("`{text}` is not TRUE or FALSE"))?;
            draft.set_flag(field, name, flag);
        }
        Field::RecipientTypeDetails | Field::GroupType => {
            let text = text_value(value)?;
            let number = text
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("`{text}` is not a number"))?;
            draft.set_integer(field, name, number);
        }
        Field::UserCertificate | Field::SmimeCertificate | Field::Member => {
            // One line per value; only the count is kept (the values are not needed).
            draft.add_measured(field, 1);
        }
        Field::ThumbnailPhoto => {
            draft.add_measured(field, bytes_value(value)?.len() as u64);
        }
        Field::UserCertificateCount
        | Field::SmimeCertificateCount
        | Field::ThumbnailPhotoBytes
        | Field::MemberCount => {
            let text = text_value(value)?;
            let n = text
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("`{text}` is not a count"))?;
            draft.set_measured(field, name, n);
        }
        Field::ObjectClass | Field::ProxyAddresses => {
            // One line per value: no splitting, the value is kept exactly as exported.
            draft.push_value(field, name, text_value(value)?);
        }
        Field::ObjectGuid => {
            // ldifde always base64-encodes it; GUID text in a plain value is accepted because a
            // 36-character value cannot be the 16 raw bytes anyway.
            if let Value::Text(text) = value
                && let Some(guid) = guid_from_str(text)
            {
                draft.set_object_guid(name, guid);
                return Ok(());
            }
            let bytes = bytes_value(value)?;
            let guid = <[u8; 16]>::try_from(bytes.as_ref())
                .map_err(|_| format!("is {} bytes long, but a GUID is 16 bytes", bytes.len()))?;
            draft.set_object_guid(name, guid);
        }
        Field::ConsistencyGuid => {
            draft.set_consistency_guid(name, bytes_value(value)?.into_owned());
        }
        Field::Sid => {
            if let Value::Text(text) = value
                && is_sid_text(text)
            {
                draft.set_text(field, name, Cow::Borrowed(text));
                return Ok(());
            }
            let bytes = bytes_value(value)?;
            let sid = sid_to_string(&bytes)
                .ok_or_else(|| format!("{} bytes are not a binary SID", bytes.len()))?;
            draft.set_text(field, name, Cow::Owned(sid));
        }
        Field::UserAccountControl => {
            let text = text_value(value)?;
            let uac = super::parse_user_account_control(&text)
                .ok_or_else(|| format!("`{}` is not a 32-bit number", preview(&text)))?;
            draft.set_user_account_control(name, uac);
        }
        Field::Enabled => {
            let text = text_value(value)?;
            let enabled = super::parse_bool(&text)
                .ok_or_else(|| format!("`{}` is not True or False", preview(&text)))?;
            draft.set_enabled(name, enabled);
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Value<'a> {
    /// `name: value`: the value as written (SAFE-STRING, so ASCII).
    Text(&'a str),
    /// `name:: base64`.
    Base64(&'a str),
    /// `name:< url`: a reference to an external file, which an AD snapshot never needs.
    Url,
}

/// Splits `name: value`; the spaces after the colon are syntax (RFC 2849 FILL), not value.
fn split_line(line: &str) -> Option<(&str, Value<'_>)> {
    // A byte loop: the name is a few bytes long, shorter than a `find` search takes to set up.
    let colon = line.bytes().position(|b| b == b':')?;
    let name = &line[..colon];
    if name.is_empty() || name.starts_with(' ') {
        return None;
    }
    let rest = &line[colon + 1..];
    let value = if let Some(encoded) = rest.strip_prefix(':') {
        Value::Base64(encoded.trim_start_matches(' '))
    } else if rest.starts_with('<') {
        Value::Url
    } else {
        Value::Text(rest.trim_start_matches(' '))
    };
    Some((name, value))
}

/// The value of `line` when its attribute is `name` (e.g. the `dn:` or `version:` line).
fn strip_name<'a>(line: &'a str, name: &str) -> Option<Value<'a>> {
    let (found, value) = split_line(line)?;
    found.eq_ignore_ascii_case(name).then_some(value)
}

/// A text attribute's value: a base64 value is UTF-8 (ldifde encodes non-ASCII text that way).
fn text_value(value: Value<'_>) -> Result<Cow<'_, str>, String> {
    match value {
        Value::Text(text) => Ok(Cow::Borrowed(text)),
        Value::Base64(_) | Value::Url => match bytes_value(value)? {
            Cow::Owned(bytes) => String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|_| "the base64 value is not UTF-8 text".into()),
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|_| "the value is not UTF-8 text".into()),
        },
    }
}

/// A binary attribute's value. Binary or text is decided by the attribute name, never by whether
/// the bytes happen to be UTF-8; a plain value of a binary attribute is its bytes as written.
fn bytes_value(value: Value<'_>) -> Result<Cow<'_, [u8]>, String> {
    match value {
        Value::Text(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Value::Base64(encoded) => BASE64
            .decode(encoded)
            .map(Cow::Owned)
            .map_err(|err| format!("invalid base64 `{}`: {err}", preview(encoded))),
        Value::Url => Err(format!(
            "URL references (`:<`) are not supported; export with `ldifde -f FILE` or {SCRIPT_HINT}"
        )),
    }
}

/// Physical lines joined into logical ones (a line starting with one space continues the
/// previous line), with `#` comments (and their continuations) dropped. Yields `(line number of
/// the first physical line, text)`; a blank line yields an empty text (it ends a record). Only
/// folded lines allocate.
struct LogicalLines<'a> {
    physical: std::iter::Peekable<crate::inputs::lines::PhysicalLines<'a>>,
    number: usize,
    /// A `# pagedresults: ...` comment (`ldapsearch -LLL -E pr=...` between pages) was passed.
    saw_paging_comment: bool,
}

impl<'a> LogicalLines<'a> {
    fn new(text: &'a str) -> Self {
        LogicalLines {
            physical: crate::inputs::lines::PhysicalLines::new(text).peekable(),
            number: 0,
            saw_paging_comment: false,
        }
    }

    fn take(&mut self) -> Option<&'a str> {
        let line = self.physical.next()?;
        self.number += 1;
        // CRLF: the CR belongs to the line ending, not the value.
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    fn continues(&mut self) -> bool {
        self.physical
            .peek()
            .is_some_and(|next| next.starts_with(' '))
    }

    /// `Err(line)` for a continuation line that continues nothing.
    fn next(&mut self) -> Result<Option<(usize, Cow<'a, str>)>, usize> {
        loop {
            let Some(line) = self.take() else {
                return Ok(None);
            };
            let number = self.number;
            if line.starts_with('#') {
                self.saw_paging_comment |= line
                    .trim_start_matches(['#', ' '])
                    .starts_with("pagedresults:");
                while self.continues() {
                    self.take();
                }
                continue;
            }
            if line.starts_with(' ') {
                return Err(number);
            }
            let mut logical = Cow::Borrowed(line);
            // A blank line separates records; it cannot be continued.
            while !line.is_empty() && self.continues() {
                let piece = self.take().unwrap_or_default();
                logical.to_mut().push_str(&piece[1..]);
            }
            return Ok(Some((number, logical)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{AnchorAttribute, ImportOutcome, ObjectClass, import_bytes};
    use super::*;

    fn read_str(text: &str) -> ImportOutcome {
        read(text, Path::new("test.ldif"), &ImportOptions::default()).expect("valid LDIF")
    }

    fn read_err(text: &str) -> String {
        read(text, Path::new("test.ldif"), &ImportOptions::default())
            .expect_err("invalid LDIF")
            .to_string()
    }

    const USER: &str = "\
dn: CN=Alice Smith,OU=Staff,DC=contoso,DC=com
changetype: add
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
userPrincipalName: alice@contoso.com
sAMAccountName: alice
userAccountControl: 512
proxyAddresses: SMTP:alice@contoso.com
proxyAddresses: smtp:alice@contoso.onmicrosoft.com
";

    #[test]
    fn parallel_chunks_give_exactly_the_sequential_outcome() {
        use std::fmt::Write as _;
        let mut text = String::from("version: 1\r\n");
        // Enough records to pass the parallel threshold, with a broken one in the middle.
        for i in 0..40_000u32 {
            let guid = BASE64.encode(u128::from(i).to_le_bytes());
            let _ = write!(
                text,
                "\r\ndn: CN=User {i},OU=Staff,DC=contoso,DC=com\r\nchangetype: add\r\nobjectClass: top\r\nobjectClass: user\r\n\
                 objectGUID:: {}\r\nuserPrincipalName: user{i}@contoso.com\r\nproxyAddresses: SMTP:user{i}@contoso.com\r\n\
                 description: a long description that is folded onto a second line because ldifde folds at 7\r\n 6 characters\r\n",
                if i == 20_000 {
                    "not base64!".to_owned()
                } else {
                    guid
                }
            );
        }
        assert!(text.len() > PARALLEL_ABOVE);
        let path = Path::new("big.ldif");
        let parallel = read(&text, path, &ImportOptions::default()).unwrap();
        let sequential = read_chunk(&text, &path.into(), 0, false, &ImportOptions::default())
            .unwrap()
            .0;
        assert_eq!(parallel.objects, sequential.objects);
        assert_eq!(parallel.rejected, sequential.rejected);
        assert_eq!(parallel.objects.len(), 39_999);
        assert_eq!(parallel.rejected.len(), 1);
        // version line + 20,000 records of 10 lines each before the broken one, + its blank line.
        assert_eq!(parallel.rejected[0].line, 1 + 20_000 * 10 + 2);
        assert!(split_at_records(&text, 8).len() > 1);
    }

    #[test]
    fn reads_a_plain_user() {
        let out = read_str(USER);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [user] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(user.class, ObjectClass::User);
        assert_eq!(
            user.distinguished_name,
            "CN=Alice Smith,OU=Staff,DC=contoso,DC=com"
        );
        assert_eq!(
            crate::inputs::onprem::guid_to_string(&user.object_guid),
            "52af62f4-db3d-46d0-907b-593424a726d3"
        );
        assert_eq!(user.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==");
        assert_eq!(user.anchor_attribute, AnchorAttribute::ObjectGuid);
        assert_eq!(
            user.user_principal_name.as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(user.sam_account_name.as_deref(), Some("alice"));
        assert_eq!(user.enabled, Some(true));
        assert_eq!(
            user.proxy_addresses,
            [
                "SMTP:alice@contoso.com",
                "smtp:alice@contoso.onmicrosoft.com"
            ]
        );
        assert_eq!(user.origin.line, 1);
    }

    #[test]
    fn folding_base64_comments_crlf_and_version() {
        // displayName "Zoë Çelik" is non-ASCII, so ldifde base64-encodes it as UTF-8; the DN is
        // folded after 20 characters, the SID after 10, and a comment has a continuation too.
        let display = BASE64.encode("Zoë Çelik");
        let dn = "CN=Zoe Celik,OU=Staff,DC=contoso,DC=com";
        let sid = BASE64.encode([
            1u8, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0x51, 4, 0,
            0,
        ]);
        let text = format!(
            "# exported by ldifde\r\n# a comment\r\n  that is folded\r\nversion: 1\r\n\r\n\
             dn: {}\r\n {}\r\nchangetype: add\r\n\
             objectClass: top\r\nobjectClass: user\r\n\
             # a comment inside the record\r\n\
             OBJECTGUID:: 9GKvUj3b0EaQe1k0JKcm0w==\r\n\
             displayName:: {display}\r\n\
             objectSid:: {}\r\n {}\r\n\
             userAccountControl: 514\r\n\r\n",
            &dn[..20],
            &dn[20..],
            &sid[..10],
            &sid[10..],
        );
        let out = read_str(&text);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [user] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(user.distinguished_name, dn);
        assert_eq!(user.display_name.as_deref(), Some("Zoë Çelik"));
        assert_eq!(user.object_sid.as_deref(), Some("S-1-5-21-1-2-3-1105"));
        assert_eq!(user.enabled, Some(false), "0x2 set in 514");
        assert_eq!(user.origin.line, 6, "the dn: line");
    }

    #[test]
    fn consistency_guid_is_the_anchor_when_set() {
        let text = format!("{USER}mS-DS-ConsistencyGuid:: AAECAwQFBgcICQoLDA0ODw==\n");
        let out = read_str(&text);
        let [user] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(user.source_anchor, "AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(user.anchor_attribute, AnchorAttribute::ConsistencyGuid);
        assert_eq!(
            user.consistency_guid.as_deref(),
            Some(&(0u8..16).collect::<Vec<_>>()[..])
        );
    }

    #[test]
    fn binary_vs_text_is_decided_by_name() {
        // These objectGUID bytes happen to be valid UTF-8 (all ASCII): still binary.
        let guid = *b"ABCDEFGHIJKLMNOP";
        let text = format!(
            "dn: CN=G,DC=x\nobjectClass: group\nobjectGUID:: {}\nmail:: {}\n",
            BASE64.encode(guid),
            BASE64.encode("sales@contoso.com")
        );
        let out = read_str(&text);
        let [group] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(group.object_guid, guid);
        assert_eq!(group.mail.as_deref(), Some("sales@contoso.com"));
        assert_eq!(group.enabled, None, "groups have no enabled state");
    }

    #[test]
    fn rejects_records_with_line_numbers_and_keeps_going() {
        let text = "\
dn: CN=NoGuid,DC=x
objectClass: user

dn: CN=BadBase64,DC=x
objectClass: user
objectGUID:: not*base64

dn: CN=ShortGuid,DC=x
objectClass: contact
objectGUID:: AAEC

dn: CN=TwoUpns,DC=x
objectClass: user
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
userPrincipalName: a@x
userPrincipalName: b@x

dn: CN=Ok,DC=x
objectClass: group
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
";
        let out = read_str(text);
        assert_eq!(out.objects.len(), 1);
        let lines: Vec<_> = out
            .rejected
            .iter()
            .map(|r| (r.line, r.record.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "CN=NoGuid,DC=x"),
                (4, "CN=BadBase64,DC=x"),
                (8, "CN=ShortGuid,DC=x"),
                (12, "CN=TwoUpns,DC=x")
            ]
        );
        assert!(
            out.rejected[0].reason.contains("no objectGUID"),
            "{}",
            out.rejected[0].reason
        );
        assert!(
            out.rejected[1]
                .reason
                .contains("objectGUID on line 6: invalid base64"),
            "{}",
            out.rejected[1].reason
        );
        assert!(
            !out.rejected[1].reason.contains("no objectGUID"),
            "invalid is not also missing: {}",
            out.rejected[1].reason
        );
        assert!(
            out.rejected[2].reason.contains("3 bytes long"),
            "{}",
            out.rejected[2].reason
        );
        assert!(
            out.rejected[3]
                .reason
                .contains("userPrincipalName appears more than once"),
            "{}",
            out.rejected[3].reason
        );
        assert!(
            out.rejected
                .iter()
                .all(|r| r.file == Path::new("test.ldif"))
        );
    }

    #[test]
    fn skips_other_classes_by_most_specific_class() {
        let text = "\
dn: CN=PC1,DC=x
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
objectClass: computer
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==

dn: OU=Staff,DC=x
objectClass: top
objectClass: organizationalUnit

dn: OU=Other,DC=x
objectClass: top
objectClass: organizationalUnit

dn: CN=Contact,DC=x
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: contact
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
userAccountControl: 514
";
        let out = read_str(text);
        assert_eq!(out.skipped_classes.get("computer"), Some(&1));
        assert_eq!(out.skipped_classes.get("organizationalUnit"), Some(&2));
        assert!(
            out.rejected.is_empty(),
            "skipping is not rejecting, even without objectGUID"
        );
        let [contact] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(contact.class, ObjectClass::Contact);
        assert_eq!(contact.enabled, None, "contacts have no enabled state");
    }

    #[test]
    fn change_records_and_dn_disagreement_are_rejected() {
        let text = "\
dn: CN=A,DC=x
changetype: modify
replace: mail
mail: a@x
-

dn: CN=B,DC=x
distinguishedName: CN=Other,DC=x
objectClass: user
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
";
        let out = read_str(text);
        assert!(out.objects.is_empty());
        assert_eq!(out.rejected.len(), 2);
        assert!(
            out.rejected[0].reason.contains("changetype `modify`"),
            "{}",
            out.rejected[0].reason
        );
        assert!(
            out.rejected[1].reason.contains("disagree"),
            "{}",
            out.rejected[1].reason
        );
    }

    #[test]
    fn structural_errors_name_the_line() {
        assert!(
            read_err("dn: CN=A,DC=x\nobjectClass user\n")
                .contains("line 2: expected `attribute: value`")
        );
        assert!(
            read_err("objectClass: user\n")
                .contains("line 1: expected a record starting with `dn:`")
        );
        assert!(
            read_err("dn: CN=A,DC=x\nobjectClass: user\ndn: CN=B,DC=x\n")
                .contains("line 3: `dn:` inside a record")
        );
        assert!(read_err("\n\n continued\n").contains("line 3: a continuation line"));
        assert!(read_err("version: 2\n").contains("line 1: LDIF version `2`"));
    }

    /// Two entries as `ldapsearch` without `-LLL` writes them (header comments, `version:`,
    /// `ref:` blocks, a `search:`/`result:` trailer), shapes copied from Samba 4.17's answers.
    const PLAIN_LDAPSEARCH: &str = "\
# extended LDIF
#
# LDAPv3
# base <DC=corp,DC=contoso,DC=com> with scope subtree
# filter: (objectClass=*)
# requesting: *
#

# Alice Smith, Staff, corp.contoso.com
dn: CN=Alice Smith,OU=Staff,DC=corp,DC=contoso,DC=com
objectClass: user
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==
userPrincipalName: alice@contoso.com

# search reference
ref: ldap://corp.contoso.com/CN=Configuration,DC=corp,DC=contoso,DC=com

# search reference
ref: ldap://corp.contoso.com/DC=DomainDnsZones,DC=corp,DC=contoso,DC=com

# Sales, Groups, corp.contoso.com
dn: CN=Sales,OU=Groups,DC=corp,DC=contoso,DC=com
objectClass: group
objectGUID:: AAECAwQFBgcICQoLDA0ODw==

# search result
search: 2
result: 0 Success

# numResponses: 5
# numEntries: 2
# numReferences: 2
";

    /// The objects without their line numbers (which differ between dialects).
    fn unplaced(out: &ImportOutcome) -> Vec<crate::inputs::onprem::OnPremObject> {
        out.objects
            .iter()
            .cloned()
            .map(|mut o| {
                o.origin.line = 0;
                o
            })
            .collect()
    }

    fn names(out: &ImportOutcome) -> Vec<&str> {
        out.objects
            .iter()
            .map(|o| o.distinguished_name.as_str())
            .collect()
    }

    #[test]
    fn ldapsearch_without_lll_reads_like_lll() {
        let out = read_str(PLAIN_LDAPSEARCH);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(
            names(&out),
            [
                "CN=Alice Smith,OU=Staff,DC=corp,DC=contoso,DC=com",
                "CN=Sales,OU=Groups,DC=corp,DC=contoso,DC=com"
            ]
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // With `version: 1` (`ldapsearch -L`) too.
        let with_version = format!("version: 1\n\n{PLAIN_LDAPSEARCH}");
        assert_eq!(unplaced(&read_str(&with_version)), unplaced(&out));
    }

    #[test]
    fn paged_ldapsearch_pages_and_controls_are_passed_over() {
        // Between pages ldapsearch -E pr=... writes the page's result, the control, a
        // `pagedresults:` line and the header again; -LLL writes `# pagedresults:` comments.
        let page_end = "\
# search result
search: 2
result: 0 Success
control: 1.2.840.113556.1.4.319 false MAcCAToEAjEA
pagedresults: estimate=58 cookie=MQA=
# extended LDIF
#
# with pagedResults control: size=1
#

";
        let paged = PLAIN_LDAPSEARCH.replacen(
            "# search reference\n",
            &format!("{page_end}# search reference\n"),
            1,
        );
        let out = read_str(&paged);
        assert_eq!(unplaced(&out), unplaced(&read_str(PLAIN_LDAPSEARCH)));
        let lll_paged = "\
dn: CN=A,DC=x
objectClass: user
objectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==

# refldap://corp.contoso.com/CN=Configuration,DC=corp,DC=contoso,DC=com

# pagedresults: estimate=58 cookie=MQA=

dn: CN=B,DC=x
objectClass: group
objectGUID:: AAECAwQFBgcICQoLDA0ODw==
";
        assert_eq!(names(&read_str(lll_paged)), ["CN=A,DC=x", "CN=B,DC=x"]);
    }

    #[test]
    fn ldbsearch_text_guids_sids_and_referrals() {
        let text = "\
# record 1
dn: CN=Allowed RODC Password Replication Group,CN=Users,DC=corp,DC=contoso,DC=com
objectClass: top
objectClass: group
objectGUID: 52af62f4-db3d-46d0-907b-593424a726d3
objectSid: S-1-5-21-1543422772-1272007319-1045505601-571
distinguishedName: CN=Allowed RODC Password Replication Group,CN=Users,DC=corp
 ,DC=contoso,DC=com

# Referral
ref: ldap:///CN=Configuration,DC=corp,DC=contoso,DC=com

# returned 2 records
# 1 entries
# 1 referrals
";
        let out = read_str(text);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [group] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(
            group.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==",
            "the same anchor as the base64 form"
        );
        assert_eq!(
            group.object_sid.as_deref(),
            Some("S-1-5-21-1543422772-1272007319-1045505601-571")
        );
    }

    #[test]
    fn a_result_other_than_success_is_an_error_naming_the_line() {
        let cut = PLAIN_LDAPSEARCH.replace("result: 0 Success", "result: 4 Size limit exceeded");
        let error = read_err(&cut);
        assert!(
            error.contains("test.ldif: line 28: the search that wrote this export ended with `result: 4 Size limit exceeded`"),
            "{error}"
        );
        assert!(error.contains("incomplete"), "{error}");
        // A result without a `search:` line, and an unparsable one, too.
        assert!(read_err("result: 10 Referral\n").contains("line 1:"));
        assert!(read_err("search: 2\nresult: Success\n").contains("line 2:"));
    }

    /// `n` minimal entries, `extra` inserted after the first.
    fn entries(n: u32, extra: &str) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        for i in 0..n {
            let guid = BASE64.encode(u128::from(i).to_le_bytes());
            let _ = write!(
                text,
                "dn: CN=U{i},DC=x\nobjectClass: user\nobjectGUID:: {guid}\n\n"
            );
            if i == 0 {
                text.push_str(extra);
            }
        }
        text
    }

    #[test]
    fn exactly_a_common_search_limit_without_paging_is_probably_truncated() {
        for limit in [1_000, 1_500, 5_000] {
            let out = read_str(&entries(limit, ""));
            assert_eq!(out.objects.len(), limit as usize);
            let [warning] = out.warnings.as_slice() else {
                panic!("one warning for {limit}: {:?}", out.warnings)
            };
            assert!(
                warning.starts_with(&format!("probably truncated: exactly {limit} entries")),
                "{warning}"
            );
        }
        // Computers and OUs count as entries: the limit cuts the search, not the classes.
        let mixed = entries(999, "dn: CN=PC,DC=x\nobjectClass: computer\n\n");
        assert_eq!(read_str(&mixed).warnings.len(), 1);
        // One more or one fewer, a paging comment, a paged control, a successful trailer: no doubt.
        assert!(read_str(&entries(999, "")).warnings.is_empty());
        assert!(read_str(&entries(1_001, "")).warnings.is_empty());
        assert!(
            read_str(&entries(1_000, "# pagedresults: cookie=\n\n"))
                .warnings
                .is_empty()
        );
        assert!(
            read_str(&entries(1_000, "search: 2\nresult: 0 Success\ncontrol: 1.2.840.113556.1.4.319 false MAUCAQAEAA==\n\n"))
                .warnings
                .is_empty()
        );
        assert!(
            read_str(&entries(1_000, "search: 2\nresult: 0 Success\n\n"))
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn utf16le_ldif_from_ldifde_u() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in USER.replace('\n', "\r\n").encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (format, out) = import_bytes(bytes, Path::new("u.ldf")).expect("utf-16 LDIF");
        assert_eq!(format, super::super::Format::Ldif);
        assert_eq!(out.objects.len(), 1);
        assert_eq!(
            out.objects[0].proxy_addresses[1],
            "smtp:alice@contoso.onmicrosoft.com"
        );
    }

    /// An attribute the sync settings name is carried: a string attribute's text (plain or
    /// `::`), a `;binary` one's bytes; a string attribute whose `::` value is not UTF-8 rejects
    /// the record with the attribute named, never a silent drop.
    #[test]
    fn extra_attributes_the_sync_settings_name_are_carried() {
        use crate::inputs::onprem::{AttributeName, ExtraAttribute, ExtraValue};
        let employee = AttributeName::parse("employeeID").unwrap();
        let binary = AttributeName::parse("exampleBinaryAnchor").unwrap();
        let options = ImportOptions {
            extra_attributes: vec![
                ExtraAttribute {
                    name: employee,
                    binary: false,
                },
                ExtraAttribute {
                    name: binary,
                    binary: true,
                },
            ],
        };
        let text = "dn: CN=ann,DC=contoso,DC=local\nobjectClass: user\nobjectGUID:: AAAAAAAAAAAAAAAAAAAQAQ==\nEmployeeId: E1001\nexampleBinaryAnchor:: AQID\n\ndn: CN=bob,DC=contoso,DC=local\nobjectClass: user\nobjectGUID:: AAAAAAAAAAAAAAAAAAAQAg==\nemployeeID:: w6k=\nexampleBinaryAnchor: AQID\n\ndn: CN=cy,DC=contoso,DC=local\nobjectClass: user\nobjectGUID:: AAAAAAAAAAAAAAAAAAAQAw==\nemployeeID:: /w==\n";
        let out = read(text, Path::new("test.ldif"), &options).unwrap();
        assert_eq!(out.objects.len(), 2, "{:?}", out.rejected);
        let ann = &out.objects[0];
        assert_eq!(ann.extra(employee), [ExtraValue::Text("E1001".into())]);
        assert_eq!(ann.extra(binary), [ExtraValue::Bytes(vec![1, 2, 3])]);
        let bob = &out.objects[1];
        assert_eq!(bob.extra(employee), [ExtraValue::Text("\u{e9}".into())]);
        // A plain value of a binary attribute is read as base64, as the export script writes it.
        assert_eq!(bob.extra(binary), [ExtraValue::Bytes(vec![1, 2, 3])]);
        assert_eq!(out.rejected.len(), 1);
        assert!(
            out.rejected[0].reason.contains("employeeID")
                && out.rejected[0].reason.contains(";binary"),
            "{:?}",
            out.rejected
        );
        // Without the settings naming it, nothing is carried.
        let plain = read_str(text);
        assert!(plain.objects.iter().all(|o| o.extra.is_empty()));
    }
}
