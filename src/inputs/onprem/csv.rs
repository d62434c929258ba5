//! CSV reader for what PowerShell `Export-Csv` writes: an optional `#TYPE ...` first line
//! (Windows PowerShell 5.1 without `-NoTypeInformation`), a header of property names as
//! `Get-ADUser`/`Get-ADObject` name them (case-insensitive), every field quoted, embedded newlines
//! inside quotes, multi-valued attributes joined with `;`, GUIDs and SIDs as their `ToString()`.
//! The delimiter is `,`, or `;`/tab when `-UseCulture` or `-Delimiter` chose one.
//!
//! It owns CSV syntax and the ways an `Export-Csv` export goes wrong. It must not read a cell
//! that holds a .NET type name (`...ADPropertyValueCollection`, `System.Byte[]`) as data: that
//! means the whole export lost the values, so it stops with the line, the column and the fix.
//!
//! Decision: an `ObjectClass` column is required. Without it a computer account or an OU cannot
//! be told from a user, and guessing "user" from the presence of a `UserPrincipalName` column
//! would pass computers and managed service accounts as users. `Get-ADUser` and `Get-ADObject`
//! both include `ObjectClass` by default, so only a hand-trimmed `Select-Object` loses it, and the
//! error says what to add.

use std::path::Path;

use super::{
    Draft, Field, ImportError, ImportOptions, ImportOutcome, SCRIPT_HINT, field_for,
    unrecognised_format,
};
use crate::inputs::lines::count_newlines;

/// What `Export-Csv` writes for a multi-valued attribute it was given unjoined.
const COLLECTION_TYPE_NAMES: &[&str] = &[
    "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection",
    "System.Object[]",
    "System.String[]",
];

pub(super) fn read(
    text: &str,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    // `#TYPE System.Management.Automation.PSCustomObject` (and any other `#` line) before the
    // header is skipped here rather than with the csv crate's comment option, which would also
    // drop a data row whose first field happens to start with `#`.
    let (body, skipped_lines) = skip_leading_comments(text);
    check_quotes(body, skipped_lines, path)?;
    let (mut reader, columns) = open(body, path)?;
    // The extra attributes the sync settings name, by column.
    let extras: Vec<(usize, super::ExtraAttribute)> = reader
        .headers()
        .map_err(|err| csv_error(&err, body, skipped_lines, path))?
        .iter()
        .enumerate()
        .filter_map(|(index, name)| options.wanted(name).map(|a| (index, a)))
        .collect();

    let mut out = ImportOutcome::default();
    // Every object names the file with this one path.
    let file: std::sync::Arc<Path> = path.into();
    let mut record = ::csv::StringRecord::new();
    let mut lines = LineCounter::new(body, skipped_lines);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return Err(csv_error(&err, body, skipped_lines, path)),
        }
        let line = lines.line_at(record.position().map_or(0, ::csv::Position::byte));
        let mut draft = Draft::default();
        for (index, cell) in record.iter().enumerate() {
            let Some(Some(column)) = columns.get(index) else {
                continue;
            };
            check_cell(cell, column, line, path)?;
            draft.apply_text(column.field, column.canonical, cell);
        }
        for (index, attribute) in &extras {
            let Some(cell) = record.get(*index) else {
                continue;
            };
            if cell.is_empty() {
                continue;
            }
            let value = if cell == "System.Byte[]" || COLLECTION_TYPE_NAMES.contains(&cell) {
                Err(format!(
                    "{} holds `{cell}`, the name of a type, not its value: export it with \
                     @{{n='{}';e={{...}}}} (text, or base64 for a binary attribute)",
                    attribute.name, attribute.name
                ))
            } else {
                super::extra_from_text(*attribute, cell)
            };
            match value {
                Ok(value) => draft.push_extra(attribute.name, value),
                Err(reason) => draft.extra_problem(format!("column {}: {reason}", index + 1)),
            }
        }
        draft.finish(&file, line, &mut out);
    }
    Ok(out)
}

/// A column the importer reads.
struct Column {
    /// 1-based, for messages.
    number: usize,
    /// As written in the header.
    header: String,
    canonical: &'static str,
    field: Field,
}

/// The reader positioned after the header, and the header's columns (None: not read).
type Opened<'a> = (::csv::Reader<&'a [u8]>, Vec<Option<Column>>);

/// Tries `,` then `;` then tab as the delimiter: the right one is the one whose header names an
/// `ObjectGUID` and a `DistinguishedName` column.
fn open<'a>(body: &'a str, path: &Path) -> Result<Opened<'a>, ImportError> {
    let mut first_header = None;
    for delimiter in [b',', b';', b'\t'] {
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .from_reader(body.as_bytes());
        let header = match reader.headers() {
            Ok(header) => header.clone(),
            Err(err) => return Err(csv_error(&err, body, 0, path)),
        };
        let columns = columns(&header);
        let has = |field: Field| columns.iter().flatten().any(|c| c.field == field);
        if has(Field::ObjectGuid) && has(Field::Dn) {
            check_columns(&columns, path)?;
            return Ok((reader, columns));
        }
        first_header.get_or_insert_with(|| header.iter().collect::<Vec<_>>().join(","));
    }
    let header = first_header.unwrap_or_default();
    let shown = crate::preview::preview(&header);
    Err(unrecognised_format(
        path,
        &format!(
            "read as CSV, the first line `{shown}` has no ObjectGUID and DistinguishedName columns"
        ),
    ))
}

fn columns(header: &::csv::StringRecord) -> Vec<Option<Column>> {
    header
        .iter()
        .enumerate()
        .map(|(index, name)| {
            field_for(name).map(|(canonical, field)| Column {
                number: index + 1,
                header: name.to_owned(),
                canonical,
                field,
            })
        })
        .collect()
}

fn check_columns(columns: &[Option<Column>], path: &Path) -> Result<(), ImportError> {
    let known: Vec<&Column> = columns.iter().flatten().collect();
    for (i, column) in known.iter().enumerate() {
        if let Some(earlier) = known[..i].iter().find(|c| c.canonical == column.canonical) {
            return Err(ImportError::unusable(
                path,
                format!(
                    "line 1: the header names {} twice (columns {} and {}); keep one",
                    column.header, earlier.number, column.number
                ),
            ));
        }
    }
    if !known.iter().any(|c| c.field == Field::ObjectClass) {
        return Err(ImportError::unusable(
            path,
            format!(
                "line 1: there is no ObjectClass column, so users cannot be told from computers or other objects; \
                 add ObjectClass to the `Select-Object` list of the export (Get-ADUser and Get-ADObject return it), or {SCRIPT_HINT}"
            ),
        ));
    }
    Ok(())
}

/// A type name instead of a value means PowerShell converted an object it could not flatten;
/// every row of the export has lost that attribute, so no row of it can be trusted.
fn check_cell(cell: &str, column: &Column, line: usize, path: &Path) -> Result<(), ImportError> {
    let name = column.canonical;
    if COLLECTION_TYPE_NAMES.contains(&cell) {
        return Err(ImportError::unusable(
            path,
            format!(
                "line {line}, column {} ({}): the cell holds `{cell}`, which is what Export-Csv writes for a multi-valued \
                 attribute, not its values; join the values in the export, e.g. \
                 `Select-Object ...,@{{n='{name}';e={{$_.{name} -join ';'}}}}`, or {SCRIPT_HINT}",
                column.number, column.header
            ),
        ));
    }
    if cell == "System.Byte[]" {
        return Err(ImportError::unusable(
            path,
            format!(
                "line {line}, column {} ({}): the cell holds `System.Byte[]`, which is what Export-Csv writes for a byte \
                 array, not its bytes; convert it in the export, e.g. \
                 `@{{n='{name}';e={{if ($_.'{name}') {{[Convert]::ToBase64String($_.'{name}')}}}}}}` (or `[guid]` of the \
                 bytes), or {SCRIPT_HINT}",
                column.number, column.header
            ),
        ));
    }
    Ok(())
}

/// Drops blank and `#` lines before the header; returns the rest and how many lines went.
fn skip_leading_comments(text: &str) -> (&str, usize) {
    let mut rest = text;
    let mut skipped = 0;
    while rest.starts_with('#') || rest.starts_with('\n') || rest.starts_with("\r\n") {
        match rest.find('\n') {
            Some(end) => rest = &rest[end + 1..],
            None => rest = "",
        }
        skipped += 1;
    }
    (rest, skipped)
}

/// The csv crate ends a quoted field at end of file without complaint, so a quote that is never
/// closed would silently swallow every row after it into one cell. `Export-Csv` writes quotes
/// only in pairs (around fields and doubled inside them), so an odd count means a broken file.
fn check_quotes(body: &str, skipped_lines: usize, path: &Path) -> Result<(), ImportError> {
    let quotes = body.bytes().filter(|&b| b == b'"').count();
    if quotes % 2 == 0 {
        return Ok(());
    }
    // Point at the line of the last quote that opens a field: after a delimiter or at a line start.
    let bytes = body.as_bytes();
    let opening = (0..bytes.len()).rev().find(|&i| {
        bytes[i] == b'"' && (i == 0 || matches!(bytes[i - 1], b',' | b';' | b'\t' | b'\n'))
    });
    let line = opening.map_or(1, |i| count_newlines(&bytes[..i]) + 1) + skipped_lines;
    Err(ImportError::unusable(
        path,
        format!(
            "line {line}: a quoted field is not closed (the file has an odd number of `\"`), so the rows after it cannot be \
             read; the file is truncated or was edited; re-export it"
        ),
    ))
}

/// Line numbers from byte offsets. The csv crate's own `Position::line` lags by one after a CRLF
/// record end (the `\n` is counted with the next record), and `Export-Csv` writes CRLF, so the
/// line is counted here from the record's byte offset, skipping the line ending it points at.
/// Offsets only grow, so counting is incremental.
struct LineCounter<'a> {
    body: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(body: &'a str, skipped_lines: usize) -> Self {
        LineCounter {
            body: body.as_bytes(),
            offset: 0,
            line: 1 + skipped_lines,
        }
    }

    fn line_at(&mut self, byte: u64) -> usize {
        let mut target = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while target < self.body.len() && matches!(self.body[target], b'\r' | b'\n') {
            target += 1;
        }
        if target > self.offset {
            self.line += count_newlines(&self.body[self.offset..target]);
            self.offset = target;
        }
        self.line
    }
}

fn csv_error(err: &::csv::Error, body: &str, skipped_lines: usize, path: &Path) -> ImportError {
    let line_of = |pos: Option<&::csv::Position>| {
        LineCounter::new(body, skipped_lines).line_at(pos.map_or(0, ::csv::Position::byte))
    };
    let message = match err.kind() {
        ::csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: the row has {len} fields but the header has {expected_len}; the file is not a complete Export-Csv \
             output (a field with an unquoted delimiter or a cut line); re-export it",
            line_of(pos.as_ref())
        ),
        ::csv::ErrorKind::Utf8 { pos, err } => {
            format!("line {}: not UTF-8 text ({err})", line_of(pos.as_ref()))
        }
        _ => format!("the CSV cannot be read: {err}"),
    };
    ImportError::unusable(path, message)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{AnchorAttribute, Format, ImportOutcome, ObjectClass, import_bytes};
    use super::*;

    fn read_str(text: &str) -> ImportOutcome {
        read(text, Path::new("test.csv"), &ImportOptions::default()).expect("valid CSV")
    }

    fn read_err(text: &str) -> String {
        read(text, Path::new("test.csv"), &ImportOptions::default())
            .expect_err("invalid CSV")
            .to_string()
    }

    /// Windows PowerShell 5.1 `Get-ADUser -Properties ... | Select-Object ... | Export-Csv`:
    /// `#TYPE` line, everything quoted, CRLF, a display name with an embedded newline and a quote.
    const PS51: &str = "#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n\
\"DistinguishedName\",\"Enabled\",\"ObjectClass\",\"ObjectGUID\",\"SamAccountName\",\"SID\",\"UserPrincipalName\",\"DisplayName\",\"mail\",\"proxyAddresses\",\"mS-DS-ConsistencyGuid\"\r\n\
\"CN=Alice Smith,OU=Staff,DC=contoso,DC=com\",\"True\",\"user\",\"52af62f4-db3d-46d0-907b-593424a726d3\",\"alice\",\"S-1-5-21-1004336348-1177238915-682003330-1105\",\"alice@contoso.com\",\"Alice \"\"Al\"\"\r\nSmith\",\"alice@contoso.com\",\"SMTP:alice@contoso.com;smtp:alice@contoso.onmicrosoft.com;X500:/o=Contoso/ou=First/cn=Recipients/cn=alice\",\"\"\r\n\
\"CN=Bob,OU=Staff,DC=contoso,DC=com\",\"FALSE\",\"user\",\"00000000-0000-0000-0000-000000000001\",\"bob\",\"\",\"\",\"\",\"\",\"\",\"AAECAwQFBgcICQoLDA0ODw==\"\r\n";

    #[test]
    fn windows_powershell_export_with_type_line() {
        let out = read_str(PS51);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [alice, bob] = out.objects.as_slice() else {
            panic!("two objects: {out:?}")
        };
        assert_eq!(
            alice.origin.line, 3,
            "the #TYPE line and the header come first"
        );
        assert_eq!(alice.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==");
        assert_eq!(
            alice.display_name.as_deref(),
            Some("Alice \"Al\"\r\nSmith"),
            "embedded newline and quote kept"
        );
        assert_eq!(
            alice.proxy_addresses,
            [
                "SMTP:alice@contoso.com",
                "smtp:alice@contoso.onmicrosoft.com",
                "X500:/o=Contoso/ou=First/cn=Recipients/cn=alice"
            ]
        );
        assert_eq!(
            alice.object_sid.as_deref(),
            Some("S-1-5-21-1004336348-1177238915-682003330-1105")
        );
        assert_eq!(alice.enabled, Some(true));
        assert_eq!(alice.consistency_guid, None, "an empty cell is not set");
        assert!(
            alice
                .proxy_addresses
                .iter()
                .any(|p| p == "SMTP:alice@contoso.com")
        );
        assert_eq!(
            bob.origin.line, 5,
            "the embedded newline makes Alice's row two lines"
        );
        assert_eq!(bob.enabled, Some(false));
        assert_eq!(bob.user_principal_name, None);
        assert_eq!(bob.anchor_attribute, AnchorAttribute::ConsistencyGuid);
        assert_eq!(bob.source_anchor, "AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(
            bob.object_guid[0], 0,
            "GUID text is byte-swapped into ToByteArray order"
        );
        assert_eq!(bob.object_guid[15], 1);
    }

    #[test]
    fn utf16le_with_bom_as_export_csv_encoding_unicode_writes_it() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in PS51.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (format, out) = import_bytes(bytes, Path::new("users.csv")).expect("UTF-16LE CSV");
        assert_eq!(format, Format::Csv);
        assert_eq!(out.objects.len(), 2);
        assert_eq!(
            out.objects[0].display_name.as_deref(),
            Some("Alice \"Al\"\r\nSmith")
        );
    }

    #[test]
    fn utf16le_without_bom_and_utf16be_with_bom() {
        let mut le = Vec::new();
        let mut be = vec![0xFE, 0xFF];
        for unit in PS51.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
            be.extend_from_slice(&unit.to_be_bytes());
        }
        for bytes in [le, be] {
            let (format, out) = import_bytes(bytes, Path::new("users.csv")).expect("UTF-16 CSV");
            assert_eq!(format, Format::Csv);
            assert_eq!(out.objects.len(), 2);
        }
    }

    #[test]
    fn utf8_bom_with_type_line_and_non_ascii() {
        let text = "#TYPE Microsoft.ActiveDirectory.Management.ADObject\n\
\"ObjectGUID\",\"DistinguishedName\",\"ObjectClass\",\"displayName\",\"mail\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=Zoë,DC=x\",\"contact\",\"Zoë Çelik\",\"zoe@fabrikam.com\"\n";
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(text.as_bytes());
        let (_, out) = import_bytes(bytes, Path::new("contacts.csv")).expect("UTF-8 BOM CSV");
        let [contact] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(contact.class, ObjectClass::Contact);
        assert_eq!(contact.distinguished_name, "CN=Zoë,DC=x");
        assert_eq!(contact.display_name.as_deref(), Some("Zoë Çelik"));
        assert_eq!(contact.enabled, None);
    }

    #[test]
    fn powershell7_export_without_type_line_and_lower_case_headers() {
        let text = "\"objectguid\",\"distinguishedname\",\"objectclass\",\"emailaddress\",\"useraccountcontrol\",\"proxyaddresses\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=A,DC=x\",\"top;person;organizationalPerson;user\",\"a@x.com\",\"66050\",\"SMTP:a@x.com\"\n";
        let out = read_str(text);
        let [user] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(user.origin.line, 2);
        assert_eq!(
            user.mail.as_deref(),
            Some("a@x.com"),
            "EmailAddress feeds mail"
        );
        assert_eq!(
            user.enabled,
            Some(false),
            "66050 = 0x10202 has ACCOUNTDISABLE"
        );
    }

    #[test]
    fn semicolon_delimiter_from_use_culture() {
        let text = "\"ObjectGUID\";\"DistinguishedName\";\"ObjectClass\";\"proxyAddresses\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\";\"CN=G,DC=x\";\"group\";\"SMTP:g@x.com;smtp:g2@x.com\"\n";
        let out = read_str(text);
        let [group] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(group.proxy_addresses, ["SMTP:g@x.com", "smtp:g2@x.com"]);
    }

    #[test]
    fn consistency_guid_text_forms_all_give_the_same_anchor() {
        // The same 16 bytes, f4 62 af 52 3d db d0 46 90 7b 59 34 24 a7 26 d3, five ways.
        let forms = [
            "52af62f4-db3d-46d0-907b-593424a726d3",
            "{52AF62F4-DB3D-46D0-907B-593424A726D3}",
            "9GKvUj3b0EaQe1k0JKcm0w==",
            "F462AF523DDBD046907B593424A726D3",
            "F4-62-AF-52-3D-DB-D0-46-90-7B-59-34-24-A7-26-D3",
            "f4 62 af 52 3d db d0 46 90 7b 59 34 24 a7 26 d3",
        ];
        for form in forms {
            let text = format!(
                "ObjectGUID,DistinguishedName,ObjectClass,mS-DS-ConsistencyGuid\n00000000-0000-0000-0000-000000000001,\"CN=A,DC=x\",user,{form}\n"
            );
            let out = read_str(&text);
            assert!(out.rejected.is_empty(), "{form}: {:?}", out.rejected);
            assert_eq!(
                out.objects[0].source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==",
                "{form}"
            );
        }
        // `$bytes -join ' '` writes decimal: refused rather than misread as hex.
        let text = "ObjectGUID,DistinguishedName,ObjectClass,mS-DS-ConsistencyGuid\n\
00000000-0000-0000-0000-000000000001,\"CN=A,DC=x\",user,244 98 175 82 61 219 208 70 144 123 89 52 36 167 38 211\n";
        let out = read_str(text);
        assert_eq!(out.rejected.len(), 1);
        assert!(
            out.rejected[0].reason.contains("is not a GUID, base64"),
            "{}",
            out.rejected[0].reason
        );
    }

    #[test]
    fn rejected_rows_have_lines_and_reasons() {
        let text = "\"ObjectGUID\",\"DistinguishedName\",\"ObjectClass\",\"SID\",\"Enabled\",\"proxyAddresses\"\n\
\"not-a-guid\",\"CN=A,DC=x\",\"user\",\"\",\"\",\"\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"\",\"user\",\"\",\"\",\"\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=C,DC=x\",\"user\",\"S-1-x\",\"maybe\",\"SMTP:c@x;;smtp:d@x\"\n\
\"\",\"CN=PC,DC=x\",\"computer\",\"\",\"\",\"\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=OK,DC=x\",\"user\",\"\",\"\",\"\"\n";
        let out = read_str(text);
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.skipped_classes.get("computer"), Some(&1));
        let got: Vec<_> = out
            .rejected
            .iter()
            .map(|r| (r.line, r.record.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "CN=A,DC=x"),
                (3, "objectGUID 52af62f4-db3d-46d0-907b-593424a726d3"),
                (4, "CN=C,DC=x")
            ]
        );
        assert!(
            out.rejected[0]
                .reason
                .contains("objectGUID `not-a-guid` is not a GUID"),
            "{}",
            out.rejected[0].reason
        );
        assert_eq!(out.rejected[1].reason, "no distinguishedName");
        let reason = &out.rejected[2].reason;
        assert!(reason.contains("SID `S-1-x` is not a SID"), "{reason}");
        assert!(
            reason.contains("Enabled `maybe` is not True or False"),
            "{reason}"
        );
        assert!(reason.contains("empty value between `;`"), "{reason}");
    }

    #[test]
    fn unjoined_multi_valued_attribute_is_fatal_with_the_fix() {
        let text = "#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\n\
\"ObjectGUID\",\"DistinguishedName\",\"ObjectClass\",\"proxyAddresses\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=A,DC=x\",\"user\",\"\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=B,DC=x\",\"user\",\"Microsoft.ActiveDirectory.Management.ADPropertyValueCollection\"\n";
        let err = import_bytes(text.as_bytes().to_vec(), Path::new("users.csv"))
            .expect_err("fatal")
            .to_string();
        assert!(err.starts_with("users.csv: line 4, column 4 (proxyAddresses): the cell holds `Microsoft.ActiveDirectory"), "{err}");
        assert!(
            err.contains("@{n='proxyAddresses';e={$_.proxyAddresses -join ';'}}"),
            "{err}"
        );
        assert!(err.contains("entra-audit onprem-script"), "{err}");
    }

    #[test]
    fn byte_array_type_name_is_fatal_with_the_fix() {
        let text = "\"ObjectGUID\",\"DistinguishedName\",\"ObjectClass\",\"mS-DS-ConsistencyGuid\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=A,DC=x\",\"user\",\"System.Byte[]\"\n";
        let err = read_err(text);
        assert!(
            err.contains(
                "line 2, column 4 (mS-DS-ConsistencyGuid): the cell holds `System.Byte[]`"
            ),
            "{err}"
        );
        assert!(
            err.contains("[Convert]::ToBase64String($_.'mS-DS-ConsistencyGuid')"),
            "{err}"
        );
        assert!(err.contains("[guid]"), "{err}");
    }

    #[test]
    fn type_names_in_columns_we_do_not_read_are_ignored() {
        let text = "\"ObjectGUID\",\"DistinguishedName\",\"ObjectClass\",\"memberOf\"\n\
\"52af62f4-db3d-46d0-907b-593424a726d3\",\"CN=A,DC=x\",\"user\",\"Microsoft.ActiveDirectory.Management.ADPropertyValueCollection\"\n";
        assert_eq!(read_str(text).objects.len(), 1);
    }

    #[test]
    fn structural_and_header_errors() {
        let wrong_count = "ObjectGUID,DistinguishedName,ObjectClass\n52af62f4-db3d-46d0-907b-593424a726d3,\"CN=A,DC=x\",user\nx,CN=B,DC=x,user\n";
        assert!(
            read_err(wrong_count).contains("line 3: the row has 4 fields but the header has 3")
        );

        let unclosed = "ObjectGUID,DistinguishedName,ObjectClass\n52af62f4-db3d-46d0-907b-593424a726d3,\"CN=A,DC=x\",\"user\n\nx,y,z\n";
        assert!(read_err(unclosed).contains("line 2: a quoted field is not closed"));

        let no_class = "ObjectGUID,DistinguishedName,UserPrincipalName\n";
        let err = read_err(no_class);
        assert!(
            err.contains("no ObjectClass column") && err.contains("Select-Object"),
            "{err}"
        );

        let twice = "ObjectGUID,DistinguishedName,ObjectClass,Mail,mail\n";
        assert!(read_err(twice).contains("names mail twice (columns 4 and 5)"));

        let unknown = "Name,Department\nAlice,Sales\n";
        let err = read_err(unknown);
        assert!(err.contains("not a recognised AD export"), "{err}");
        assert!(err.contains("`Name,Department`"), "{err}");
        assert!(
            err.contains("LDIF")
                && err.contains("JSON")
                && err.contains("entra-audit onprem-script"),
            "{err}"
        );
    }

    /// A custom source anchor or UPN column is carried when the sync settings name it; a cell
    /// holding a type name (`System.Byte[]`) rejects the record with the column named.
    #[test]
    fn extra_columns_the_sync_settings_name_are_carried() {
        use crate::inputs::onprem::{AttributeName, ExtraAttribute, ExtraValue};
        let employee = AttributeName::parse("employeeID").unwrap();
        let options = ImportOptions {
            extra_attributes: vec![ExtraAttribute {
                name: employee,
                binary: false,
            }],
        };
        let text = "ObjectGUID,DistinguishedName,ObjectClass,EmployeeID\n\
                    00000000-0000-0000-0000-000000001001,\"CN=ann,DC=contoso,DC=local\",user,E1001\n\
                    00000000-0000-0000-0000-000000001002,\"CN=bob,DC=contoso,DC=local\",user,\n\
                    00000000-0000-0000-0000-000000001003,\"CN=cy,DC=contoso,DC=local\",user,System.Byte[]\n";
        let out = read(text, Path::new("test.csv"), &options).unwrap();
        assert_eq!(out.objects.len(), 2, "{:?}", out.rejected);
        assert_eq!(
            out.objects[0].extra(employee),
            [ExtraValue::Text("E1001".into())]
        );
        assert!(
            out.objects[1].extra(employee).is_empty(),
            "an empty cell is no value"
        );
        assert_eq!(out.rejected.len(), 1);
        assert!(
            out.rejected[0].reason.contains("column 4"),
            "{:?}",
            out.rejected
        );
    }
}
