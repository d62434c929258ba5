//! Tests across the formats: normalisation helpers, decoding and detection, the same objects
//! read from LDIF, CSV and JSON, and the export script kept in step with the JSON reader.
//! Per-format details are tested next to each reader.

use std::path::{Path, PathBuf};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/onprem-samples")
        .join(name)
}

/// The source anchor's base64 is what `encode` writes, whether it fits in the field (a GUID's
/// 24 characters, held inline) or not (a consistency GUID of another size).
#[test]
fn base64_text_is_base64_inline_or_not() {
    for len in [0, 1, 15, 16, 17, 18, 19, 40] {
        let bytes: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 37 % 256).unwrap())
            .collect();
        let text = base64_text(&bytes);
        assert_eq!(text, BASE64.encode(&bytes), "{len} bytes");
        assert_eq!(text.is_heap_allocated(), text.len() > 24, "{len} bytes");
    }
}

/// `ObjectClass::ALL` lists every class: the match below stops compiling when a class is added,
/// and then the list must be looked at.
#[test]
fn every_object_class_is_listed() {
    for class in ObjectClass::ALL {
        let listed = match class {
            ObjectClass::User | ObjectClass::Contact | ObjectClass::Group => class,
        };
        assert_eq!(ObjectClass::from_name(listed.as_str()), Some(listed));
    }
    assert_eq!(ObjectClass::ALL.len(), 3);
}

#[test]
fn dn_domain_reads_dc_parts() {
    assert_eq!(
        dn_domain("CN=Smith\\, John,OU=Staff,DC=Contoso,DC=local").as_deref(),
        Some("contoso.local")
    );
    assert_eq!(dn_domain("CN=x,OU=y"), None);
    // An escaped comma does not end an RDN, so a `DC=` inside a value is no domain part.
    assert_eq!(
        dn_domain("CN=a\\,DC=evil,DC=corp,DC=local").as_deref(),
        Some("corp.local")
    );
    // An escaped backslash does not escape the comma after it.
    assert_eq!(
        dn_domain("CN=a\\\\,DC=Corp , dc= Local").as_deref(),
        Some("corp.local")
    );
    assert_eq!(dn_domain("DC=Ünïcode,DC=DE").as_deref(), Some("ünïcode.de"));
    assert_eq!(dn_domain("CN=x,DC=,DC=local").as_deref(), Some(".local"));
}

/// An object's domain is found with its DN, and objects of one domain hold one string.
#[test]
fn a_distinguished_name_carries_its_domain_and_shares_it() {
    let first = DistinguishedName::new("CN=a,OU=Staff,DC=Corp,DC=local".to_owned());
    assert_eq!(first.domain(), Some("corp.local"));
    assert_eq!(first, "CN=a,OU=Staff,DC=Corp,DC=local");
    let same = DistinguishedName::sharing_domain("CN=b,DC=corp,DC=LOCAL".to_owned(), Some(&first));
    assert_eq!(same.domain(), Some("corp.local"));
    assert!(std::ptr::eq(
        first.domain().unwrap().as_ptr(),
        same.domain().unwrap().as_ptr()
    ));
    let other =
        DistinguishedName::sharing_domain("CN=c,DC=fabrikam,DC=com".to_owned(), Some(&same));
    assert_eq!(other.domain(), Some("fabrikam.com"));
    let none = DistinguishedName::sharing_domain("CN=d,OU=x".to_owned(), Some(&first));
    assert_eq!(none.domain(), None);
}

/// The first unescaped comma, found by jumping to commas and backslashes, is where a byte by
/// byte reading of the escapes puts it, for every text of up to six characters over commas,
/// backslashes, a letter and a two-byte character.
#[test]
fn the_first_unescaped_comma_is_found_as_reading_byte_by_byte_finds_it() {
    fn byte_by_byte(dn: &str) -> Option<usize> {
        let mut escaped = false;
        for (i, &b) in dn.as_bytes().iter().enumerate() {
            match b {
                b'\\' if !escaped => escaped = true,
                b',' if !escaped => return Some(i),
                _ => escaped = false,
            }
        }
        None
    }
    let alphabet = [",", "\\", "a", "é"];
    let mut texts = vec![String::new()];
    let mut checked = 0;
    for _ in 0..6 {
        texts = texts
            .iter()
            .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
            .collect();
        for text in &texts {
            assert_eq!(first_unescaped_comma(text), byte_by_byte(text), "{text:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4 + 16 + 64 + 256 + 1024 + 4096);
}

/// A DN shares the previous object's domain exactly when building its own gives the same text,
/// whether the comparison is made in place (ASCII `DC=` values) or by building it (others).
#[test]
fn a_domain_is_shared_exactly_when_it_is_the_same() {
    let dns = [
        "CN=a,OU=Staff,DC=Corp,DC=local",
        "CN=b,DC=corp,DC=LOCAL",
        "CN=c, dc = corp , DC= local ",
        "CN=d,DC=corp",
        "CN=e,DC=corp,DC=local,DC=x",
        "CN=f,DC=corp.local",
        "CN=g\\,DC=corp,DC=local",
        "CN=h\\\\,DC=corp,DC=local",
        "CN=i,DC=co,DC=rp,DC=local",
        "CN=j,DC=Ünïcode,DC=DE",
        "CN=k,DC=ünïcode,DC=de",
        "CN=l,DC=\u{212a}orp,DC=local",
        "CN=m,DC=korp,DC=local",
        "CN=n,DC=,DC=local",
        "CN=o,DC=local",
        "CN=p,OU=x",
    ];
    for first in dns {
        let first = DistinguishedName::new(first.to_owned());
        for dn in dns {
            let shared = DistinguishedName::sharing_domain(dn.to_owned(), Some(&first));
            assert_eq!(
                shared.domain(),
                dn_domain(dn).as_deref(),
                "{dn} after {first}"
            );
            let same = first.domain().is_some() && first.domain() == shared.domain();
            let one_string = same
                && std::ptr::eq(
                    first.domain().unwrap().as_ptr(),
                    shared.domain().unwrap().as_ptr(),
                );
            assert_eq!(one_string, same, "{dn} after {first}");
        }
    }
}

/// Two DNs name one object when they are equal without regard to case, as `to_lowercase` sees
/// it (the Kelvin sign lower-cases to an ASCII `k`); the hash agrees with the comparison.
#[test]
fn distinguished_names_compare_and_hash_without_case() {
    let state = foldhash::fast::RandomState::default();
    let hash = |dn: &DistinguishedName| dn.hash_lowercase(&state);
    let pairs = [
        (
            "CN=Ann,OU=Staff,DC=corp,DC=local",
            "cn=ANN,ou=staff,dc=CORP,dc=local",
            true,
        ),
        ("CN=\u{212a}im,DC=corp", "CN=kim,DC=corp", true),
        ("CN=Ölaf,DC=corp", "cn=ölaf,dc=corp", true),
        ("CN=Ann,DC=corp", "CN=Anna,DC=corp", false),
        ("CN=Ölaf,DC=corp", "CN=Olaf,DC=corp", false),
    ];
    for (a, b, same) in pairs {
        let (a, b) = (DistinguishedName::from(a), DistinguishedName::from(b));
        assert_eq!(a.same_object(&b), same, "{a} / {b}");
        assert_eq!(b.same_object(&a), same, "{b} / {a}");
        if same {
            assert_eq!(hash(&a), hash(&b), "{a} / {b}");
        }
    }
}

#[test]
fn guid_text_and_bytes_round_trip_in_to_byte_array_order() {
    let bytes = guid_from_str("52af62f4-db3d-46d0-907b-593424a726d3").expect("a GUID");
    assert_eq!(BASE64.encode(bytes), "9GKvUj3b0EaQe1k0JKcm0w==");
    assert_eq!(
        bytes[..4],
        [0xf4, 0x62, 0xaf, 0x52],
        "first group little-endian"
    );
    assert_eq!(
        bytes[8..],
        [0x90, 0x7b, 0x59, 0x34, 0x24, 0xa7, 0x26, 0xd3],
        "last two groups as written"
    );
    assert_eq!(
        guid_to_string(&bytes),
        "52af62f4-db3d-46d0-907b-593424a726d3"
    );
    assert_eq!(
        guid_from_str("{52AF62F4-DB3D-46D0-907B-593424A726D3}"),
        Some(bytes)
    );
    for bad in [
        "52af62f4db3d46d0907b593424a726d3",
        "52af62f4-db3d-46d0-907b-593424a726d",
        "52af62f4-db3d-46d0-907b-593424a726dg",
        "{52af62f4-db3d-46d0-907b-593424a726d3",
        "",
    ] {
        assert_eq!(guid_from_str(bad), None, "{bad}");
    }
}

#[test]
fn sid_bytes_to_text() {
    let mut bytes = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
    for sub in [21u32, 1_004_336_348, 1_177_238_915, 682_003_330, 1105] {
        bytes.extend_from_slice(&sub.to_le_bytes());
    }
    assert_eq!(
        sid_to_string(&bytes).as_deref(),
        Some("S-1-5-21-1004336348-1177238915-682003330-1105")
    );
    assert_eq!(
        sid_to_string(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]).as_deref(),
        Some("S-1-5-18")
    );
    assert_eq!(
        sid_to_string(&[1, 0, 0x10, 0, 0, 0, 0, 0]).as_deref(),
        Some("S-1-0x100000000000"),
        "authority >= 2^32 in hex"
    );
    assert_eq!(sid_to_string(&bytes[..bytes.len() - 1]), None, "truncated");
    assert_eq!(sid_to_string(&[2, 0, 0, 0, 0, 0, 0, 5]), None, "revision 2");
    assert_eq!(sid_to_string(&[]), None);
    assert!(is_sid_text("S-1-5-21-1-2-3-500"));
    assert!(!is_sid_text("S-1-5-") && !is_sid_text("s-1-5") && !is_sid_text("S-1-x"));
}

#[test]
fn user_account_control_accepts_signed_and_unsigned() {
    assert_eq!(parse_user_account_control("512"), Some(512));
    assert_eq!(parse_user_account_control("-2147483646"), Some(0x8000_0002));
    assert_eq!(parse_user_account_control("4294967295"), Some(u32::MAX));
    assert_eq!(parse_user_account_control("4294967296"), None);
    assert_eq!(parse_user_account_control("0x200"), None);
}

#[test]
fn detects_format_from_content() {
    assert_eq!(
        detect_format("# comment\n\nversion: 1\ndn: x\n"),
        Some(Format::Ldif)
    );
    assert_eq!(detect_format("\r\nDN:: Q049eA==\r\n"), Some(Format::Ldif));
    assert_eq!(detect_format("  \n  [\n]"), Some(Format::Json));
    assert_eq!(detect_format("{\"a\":1}"), Some(Format::Json));
    assert_eq!(
        detect_format("#TYPE x\n\"ObjectGUID\",\"DistinguishedName\"\n"),
        Some(Format::Csv)
    );
    assert_eq!(
        detect_format("dnsHostName,ObjectGUID\n"),
        Some(Format::Csv),
        "`dn` must be followed by a colon"
    );
    assert_eq!(detect_format("# only a comment\n\n   \n"), None);
}

#[test]
fn extension_does_not_matter() {
    let ldif = std::fs::read(fixture("three-objects.ldif")).expect("fixture");
    let (format, out) = import_bytes(ldif, Path::new("export.csv")).expect("LDIF named .csv");
    assert_eq!(format, Format::Ldif);
    assert_eq!(out.objects.len(), 3);
}

#[test]
fn unreadable_files_are_errors_that_say_what_to_do() {
    let empty = import_bytes(Vec::new(), Path::new("e.csv"))
        .expect_err("empty")
        .to_string();
    assert!(
        empty.contains("e.csv: the file is empty") && empty.contains("entra-audit onprem-script"),
        "{empty}"
    );

    let ansi = b"ObjectGUID,DistinguishedName,ObjectClass\n52af62f4-db3d-46d0-907b-593424a726d3,CN=Zo\xeb,user\n".to_vec();
    let err = import_bytes(ansi, Path::new("ansi.csv"))
        .expect_err("not UTF-8")
        .to_string();
    assert!(
        err.contains("ansi.csv: line 2: byte 83 is not valid UTF-8")
            && err.contains("-Encoding UTF8"),
        "{err}"
    );

    let mut odd = vec![0xFF, 0xFE, b'd', 0, b'n', 0, b':', 0];
    odd.push(b' ');
    let err = import_bytes(odd, Path::new("u.ldf"))
        .expect_err("truncated UTF-16")
        .to_string();
    assert!(
        err.contains("line 1: the file is UTF-16LE") && err.contains("byte 8 is not valid"),
        "{err}"
    );

    let other = import_bytes(b"hello world\n".to_vec(), Path::new("x.txt"))
        .expect_err("not an export")
        .to_string();
    assert!(
        other.contains("not a recognised AD export")
            && other.contains("ldifde")
            && other.contains("Export-Csv"),
        "{other}"
    );

    let missing = import(Path::new("/nonexistent/onprem.json"))
        .expect_err("no file")
        .to_string();
    assert!(
        missing.starts_with("cannot read /nonexistent/onprem.json"),
        "{missing}"
    );
}

/// What the fixtures hold, independent of format (origin aside).
fn without_origin(objects: &[OnPremObject]) -> Vec<OnPremObject> {
    objects
        .iter()
        .map(|o| OnPremObject {
            origin: RecordOrigin {
                file: Path::new("").into(),
                line: 0,
            },
            ..o.clone()
        })
        .collect()
}

#[test]
fn the_same_objects_from_ldif_csv_and_json_are_identical() {
    let (ldif_format, ldif) = import(&fixture("three-objects.ldif")).expect("LDIF fixture");
    let (csv_format, csv) =
        import(&fixture("three-objects.csv")).expect("CSV fixture (UTF-16LE, #TYPE)");
    let (json_format, json) =
        import(&fixture("three-objects.json")).expect("JSON fixture (script output)");
    assert_eq!(
        (ldif_format, csv_format, json_format),
        (Format::Ldif, Format::Csv, Format::Json)
    );

    for out in [&ldif, &csv, &json] {
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(out.skipped_classes.get("computer"), Some(&1));
        assert_eq!(out.skipped_classes.get("organizationalUnit"), Some(&1));
        assert_eq!(out.skipped_classes.len(), 2);
    }
    assert_eq!(
        without_origin(&ldif.objects),
        without_origin(&csv.objects),
        "LDIF vs CSV"
    );
    assert_eq!(
        without_origin(&ldif.objects),
        without_origin(&json.objects),
        "LDIF vs JSON"
    );

    let [alice, zoe, sales] = ldif.objects.as_slice() else {
        panic!("three objects: {ldif:?}")
    };
    assert_eq!(
        (alice.class, zoe.class, sales.class),
        (ObjectClass::User, ObjectClass::Contact, ObjectClass::Group)
    );
    assert_eq!(alice.source_anchor, "TmssDT+KIUucXX5vipsMHQ==");
    assert_eq!(alice.anchor_attribute, AnchorAttribute::ConsistencyGuid);
    // groupType is read signed (0x80000002: a global security group) in every format.
    assert_eq!(sales.group_type, Some(-2_147_483_646));
    assert_eq!(
        (alice.group_type, alice.critical_system_object),
        (None, None)
    );
    assert_eq!(
        crate::inputs::onprem::guid_to_string(&alice.object_guid),
        "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    );
    assert_eq!(alice.enabled, Some(true));
    assert_eq!(
        alice.object_sid.as_deref(),
        Some("S-1-5-21-1004336348-1177238915-682003330-1105")
    );
    assert_eq!(
        alice.proxy_addresses[2],
        "X500:/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice",
        "folded LDIF line joined"
    );
    assert_eq!(
        zoe.distinguished_name,
        "CN=Zoë Çelik,OU=Contacts,DC=contoso,DC=com"
    );
    assert_eq!(zoe.source_anchor, "w6S14C8da0qMnQ4fKjtMXQ==");
    assert_eq!((zoe.enabled, zoe.object_sid.as_ref()), (None, None));
    assert_eq!(sales.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==");
    assert_eq!(sales.anchor_attribute, AnchorAttribute::ObjectGuid);
    assert!(
        sales
            .proxy_addresses
            .iter()
            .any(|p| p == "SMTP:sales@contoso.com")
    );

    // Origins point at each format's own lines.
    assert_eq!(
        [alice, zoe, sales].map(|o| o.origin.line),
        [3, 29, 48],
        "LDIF dn: lines"
    );
    assert_eq!(
        csv.objects
            .iter()
            .map(|o| o.origin.line)
            .collect::<Vec<_>>(),
        [3, 4, 5],
        "CSV rows after #TYPE and header"
    );
    assert_eq!(
        json.objects
            .iter()
            .map(|o| o.origin.line)
            .collect::<Vec<_>>(),
        [2, 3, 4],
        "one object per line"
    );
    assert_eq!(*json.objects[0].origin.file, *fixture("three-objects.json"));
}

/// The keys of the script's `[ordered] @{ ... }` record, in order.
fn script_record_keys() -> Vec<String> {
    let script = export_script();
    let start = script
        .find("$record = [ordered] @{")
        .expect("the script builds $record");
    let body = &script[start..];
    let body = &body[..body.find("\n        }").expect("end of $record")];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, _)| key.trim().trim_matches('\'').to_owned())
        .collect()
}

#[test]
fn export_script_writes_what_the_json_reader_reads() {
    let keys = script_record_keys();
    assert_eq!(
        keys,
        [
            "ObjectClass",
            "ObjectGUID",
            "DistinguishedName",
            "mS-DS-ConsistencyGuid",
            "objectSid",
            "userPrincipalName",
            "sAMAccountName",
            "mail",
            "mailNickname",
            "proxyAddresses",
            "displayName",
            "givenName",
            "sn",
            "targetAddress",
            "userAccountControl",
            "isCriticalSystemObject",
            "msExchRecipientTypeDetails",
            "groupType",
            "adminDescription",
            "userCertificateCount",
            "userSMIMECertificateCount",
            "thumbnailPhotoBytes",
            "memberCount"
        ]
    );
    // Every key is one the importer reads.
    for key in &keys {
        assert!(field_for(key).is_some(), "the importer does not read {key}");
    }
    // The JSON fixture is shaped exactly like the script's output: same keys in the same order,
    // one compressed object per line between `[` and `]`.
    let text = std::fs::read_to_string(fixture("three-objects.json")).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!((lines[0], lines[lines.len() - 1]), ("[", "]"));
    for line in &lines[1..lines.len() - 1] {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line.trim_end_matches(',')).expect("one object per line");
        // serde_json's Map is sorted, so compare as sets plus the count.
        let mut fixture_keys: Vec<&String> = object.keys().collect();
        let mut script_keys: Vec<&String> = keys.iter().collect();
        fixture_keys.sort();
        script_keys.sort();
        assert_eq!(fixture_keys, script_keys);
    }
    let script = export_script();
    for needed in [
        "[Convert]::ToBase64String",
        "ConvertTo-Json -InputObject $record -Depth 4",
        "UTF8Encoding($false)",
        "(!(objectClass=computer))",
        "[string[]]",
        "$SearchBase",
        "$Server",
        "$Path",
    ] {
        assert!(script.contains(needed), "script lacks {needed}");
    }
}

#[test]
fn scoping_attributes_are_read_in_every_format() {
    let ldif = "dn: CN=Administrator,CN=Users,DC=corp,DC=example\nobjectClass: user\n\
        objectGUID: 0a1b2c3d-0000-4000-8000-000000000001\nisCriticalSystemObject: TRUE\n\
        msExchRecipientTypeDetails: 8388608\nadminDescription: User_x\n";
    let json = r#"[{"ObjectClass":["user"],"ObjectGUID":"0a1b2c3d-0000-4000-8000-000000000001",
        "DistinguishedName":"CN=Administrator,CN=Users,DC=corp,DC=example","isCriticalSystemObject":true,
        "msExchRecipientTypeDetails":8388608,"adminDescription":"User_x"}]"#;
    let csv = "\"DistinguishedName\",\"ObjectClass\",\"ObjectGUID\",\"isCriticalSystemObject\",\"msExchRecipientTypeDetails\",\"adminDescription\"\r\n\
        \"CN=Administrator,CN=Users,DC=corp,DC=example\",\"user\",\"0a1b2c3d-0000-4000-8000-000000000001\",\"True\",\"8388608\",\"User_x\"\r\n";
    for (name, text) in [("a.ldif", ldif), ("a.json", json), ("a.csv", csv)] {
        let (_, out) =
            import_bytes(text.as_bytes().to_vec(), std::path::Path::new(name)).expect(name);
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        let [object] = out.objects.as_slice() else {
            panic!("{name}: one object expected: {out:?}")
        };
        assert_eq!(object.critical_system_object, Some(true), "{name}");
        assert_eq!(object.recipient_type_details, Some(8_388_608), "{name}");
        assert_eq!(
            object.admin_description.as_deref(),
            Some("User_x"),
            "{name}"
        );
    }
    let bad = "dn: CN=x,DC=corp,DC=example\nobjectClass: group\nobjectGUID: 0a1b2c3d-0000-4000-8000-000000000002\ngroupType: lots\n";
    let (_, out) =
        import_bytes(bad.as_bytes().to_vec(), std::path::Path::new("b.ldif")).expect("b");
    assert_eq!(out.rejected.len(), 1, "{out:?}");
    assert!(
        out.rejected[0].reason.contains("groupType"),
        "{:?}",
        out.rejected
    );
}

/// LDIF carries the values of the LargeObject-prone attributes and they are counted (the
/// photo measured); JSON and CSV carry the counts the export script writes. Neither keeps the
/// values.
#[test]
fn sizes_are_counted_from_ldif_values_and_read_from_declared_counts() {
    let mut ldif = String::from(
        "dn: CN=ann,OU=Staff,DC=contoso,DC=com\nobjectClass: user\n\
         objectGUID:: eWaefCV03kCUS+B/wfkK5w==\nuserPrincipalName: ann@contoso.com\n",
    );
    for _ in 0..16 {
        ldif.push_str("userCertificate;binary:: MIIBAA==\n");
    }
    ldif.push_str("thumbnailPhoto:: AAECAwQFBgc=\n");
    ldif.push_str(
        "\ndn: CN=g,OU=Groups,DC=contoso,DC=com\nobjectClass: group\n\
         objectGUID:: Uq9i9Nvb0EaQe1k0JKcm0w==\nmember: CN=a,DC=contoso,DC=com\nmember: CN=b,DC=contoso,DC=com\n",
    );
    let (_, out) = import_bytes(ldif.into_bytes(), Path::new("s.ldif")).unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.objects[0].sizes.certificates, Some(16));
    assert_eq!(out.objects[0].sizes.thumbnail_photo_bytes, Some(8));
    assert_eq!(out.objects[0].sizes.members, None);
    assert_eq!(out.objects[1].sizes.members, Some(2));

    let json = r#"[{"ObjectClass":["user"],"ObjectGUID":"7c9e6679-7425-40de-944b-e07fc1f90ae7","DistinguishedName":"CN=ann,DC=contoso,DC=com","userCertificateCount":15,"userSMIMECertificateCount":"17","thumbnailPhotoBytes":null}]"#;
    let (_, out) = import_bytes(json.as_bytes().to_vec(), Path::new("s.json")).unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.objects[0].sizes.certificates, Some(15));
    assert_eq!(out.objects[0].sizes.smime_certificates, Some(17));
    assert_eq!(out.objects[0].sizes.thumbnail_photo_bytes, None);

    // A declared count beyond 32 bits is held as the largest one, not refused or wrapped.
    let huge = r#"[{"ObjectClass":["user"],"ObjectGUID":"7c9e6679-7425-40de-944b-e07fc1f90ae7","DistinguishedName":"CN=ann,DC=contoso,DC=com","userCertificateCount":99999999999}]"#;
    let (_, out) = import_bytes(huge.as_bytes().to_vec(), Path::new("h.json")).unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.objects[0].sizes.certificates, Some(u32::MAX));

    let bad = r#"[{"ObjectClass":["user"],"ObjectGUID":"7c9e6679-7425-40de-944b-e07fc1f90ae7","DistinguishedName":"CN=ann,DC=contoso,DC=com","memberCount":"many"}]"#;
    let (_, out) = import_bytes(bad.as_bytes().to_vec(), Path::new("b.json")).unwrap();
    assert!(
        out.rejected[0]
            .reason
            .contains("memberCount `many` is not a count"),
        "{:?}",
        out.rejected
    );
}

/// `bytes` read as a large export is: its first `block` bytes, then a block at a time; and
/// whether it was (or, not being UTF-8 LDIF, was read whole).
fn read_in_blocks(bytes: &[u8], block: usize) -> (Result<ImportOutcome, ImportError>, bool) {
    let path = Path::new("export.ldif");
    let mut file = std::io::Cursor::new(bytes);
    let mut first = Vec::new();
    let at_end = read_block(&mut file, &mut first, block).unwrap();
    let size = bytes.len() as u64;
    match ldif_in_blocks(
        &mut file,
        size,
        first,
        at_end,
        block,
        path,
        &ImportOptions::default(),
    ) {
        Ok(Blocks::Read(outcome)) => (Ok(outcome), true),
        Err(error) => (Err(error), true),
        Ok(Blocks::NotUtf8Ldif(_)) => (
            import_bytes(bytes.to_vec(), path).map(|(_, outcome)| outcome),
            false,
        ),
    }
}

#[test]
fn an_ldif_export_read_in_blocks_gives_what_it_gives_read_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["fixtures/hostile/onprem", "fixtures/onprem-samples"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ldif"))
        .chain([root.join("fixtures/tenant/onprem/ad.ldif")])
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    let mut whole_only = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let whole = import_bytes(bytes.clone(), Path::new("export.ldif")).map(|(_, o)| o);
        // Blocks smaller than a line, a record, several records, the whole file.
        let small: &[usize] = if bytes.len() < 100_000 { &[7, 64] } else { &[] };
        let mut ever_in_blocks = false;
        for &block in small.iter().chain(&[1000, 4096, 1 << 20]) {
            let (blocks, read_in_blocks) = read_in_blocks(&bytes, block);
            ever_in_blocks |= read_in_blocks;
            assert_eq!(
                format!("{blocks:?}"),
                format!("{whole:?}"),
                "{} in blocks of {block}",
                file.display()
            );
        }
        if !ever_in_blocks {
            whole_only.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // A UTF-16 export is decoded whole; comments alone are not yet LDIF.
    assert_eq!(
        whole_only,
        ["ldif-only-comments.ldif", "ldif-utf16le-no-bom.ldif"]
    );
}

/// Read in blocks, a block is added to the outcome while the next is parsed: an error in an
/// earlier block still comes before a later block's, as it does in one pass over the file.
#[test]
fn an_earlier_blocks_error_comes_before_a_later_blocks_in_blocks_too() {
    let record = |n: usize| {
        format!(
            "dn: CN=U{n},DC=x,DC=com\nobjectClass: user\nobjectGUID:: AAAAAAAAAAAAAAAAAAAA{n:04}==\n\n"
        )
    };
    // The bad line in one block, the bad byte a few records on, in the next (4 lines a record).
    let mut bytes: Vec<u8> = (0..196).map(record).collect::<String>().into_bytes();
    bytes.extend_from_slice(b"not a record line\n\n");
    for n in 196..199 {
        bytes.extend_from_slice(record(n).as_bytes());
    }
    bytes.extend_from_slice(b"dn: CN=Bad\xff,DC=x,DC=com\nobjectClass: user\n\n");
    for block in [128, 256, 400] {
        let (outcome, in_blocks) = read_in_blocks(&bytes, block);
        assert!(in_blocks, "read in blocks of {block}");
        let error = outcome.expect_err("not valid LDIF").to_string();
        assert!(
            error.contains("line 785: expected a record starting with `dn:`"),
            "blocks of {block}: {error}"
        );
    }
}
