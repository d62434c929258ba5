use super::*;
use crate::inputs::onprem::RecordOrigin;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use compact_str::{CompactString, format_compact};

use crate::inputs::snapshot::{DirectoryObject, DirectoryObjects};

/// An on-prem object with only what the sync model and scope tests set; the scope and table
/// tests use it too.
pub(crate) fn sample(class: ObjectClass, object_guid: [u8; 16], dn: &str) -> OnPremObject {
    OnPremObject {
        class,
        object_guid,
        consistency_guid: None,
        source_anchor: CompactString::default(),
        anchor_attribute: AnchorAttribute::ObjectGuid,
        object_sid: None,
        distinguished_name: dn.into(),
        user_principal_name: None,
        sam_account_name: Some("someone".into()),
        mail: None,
        mail_nickname: None,
        proxy_addresses: Vec::new(),
        display_name: None,
        given_name: None,
        surname: None,
        target_address: None,
        enabled: Some(true),
        critical_system_object: None,
        recipient_type_details: None,
        group_type: None,
        admin_description: None,
        sizes: crate::inputs::onprem::Sizes::default(),
        extra: Box::default(),
        anchor_problem: None,
        origin: RecordOrigin {
            file: std::path::Path::new("ad.ldif").into(),
            line: 1,
        },
    }
}

fn user(n: u8, cg: Option<[u8; 16]>) -> OnPremObject {
    OnPremObject {
        consistency_guid: cg.map(Box::from),
        object_sid: Some(format_compact!("S-1-5-21-1-2-3-{n}")),
        user_principal_name: Some(format_compact!("u{n}@corp.example")),
        sam_account_name: Some(format_compact!("u{n}")),
        mail: Some(format_compact!("first.last{n}@example.com")),
        ..sample(
            ObjectClass::User,
            [n; 16],
            &format!("CN=u{n},OU=Staff,DC=corp,DC=example"),
        )
    }
}

fn cloud_twin(o: &OnPremObject, immutable: &[u8], upn: &str) -> DirectoryObject {
    DirectoryObject {
        id: format!("c-{}", o.object_guid[0]),
        user_principal_name: Some(upn.into()),
        on_premises_immutable_id: Some(BASE64.encode(immutable).into()),
        on_premises_sync_enabled: Some(true),
        on_premises_security_identifier: o.object_sid.clone(),
        ..DirectoryObject::default()
    }
}

/// Cloud users packed as a snapshot holds them.
fn packed(users: &[DirectoryObject]) -> DirectoryObjects {
    DirectoryObjects::pack(users).expect("packs")
}

/// On-prem users and the synced cloud users linked to them, one for one.
struct Paired {
    onprem: Vec<OnPremObject>,
    cloud: DirectoryObjects,
}

fn paired(pairs: Vec<(OnPremObject, DirectoryObject)>) -> Paired {
    let (onprem, cloud): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    Paired {
        onprem,
        cloud: packed(&cloud),
    }
}

impl Paired {
    fn links(&self) -> Links<'_> {
        Links {
            pairs: self.onprem.iter().zip(self.cloud.iter()).collect(),
            exported_users: self.onprem.iter().collect(),
        }
    }
}

#[test]
fn an_objectguid_anchored_forest_is_recognised_by_users_whose_consistency_guid_differs() {
    // Another application filled mS-DS-ConsistencyGuid; the tenant still carries objectGUIDs.
    let pairs: Vec<_> = (1..=3)
        .map(|n| {
            let o = user(n, Some([n + 100; 16]));
            let c = cloud_twin(&o, &o.object_guid, "x@corp.example");
            (o, c)
        })
        .collect();
    let anchor = infer_anchor(Some(&paired(pairs).links()));
    assert_eq!(anchor.value, AnchorMode::ObjectGuid);
    assert_eq!(anchor.source, Source::Inferred);
    assert!(
        anchor
            .evidence
            .as_deref()
            .unwrap()
            .contains("3 carry the objectGUID"),
        "{anchor:?}"
    );
}

#[test]
fn users_whose_consistency_guid_equals_their_objectguid_prove_nothing() {
    let pairs: Vec<_> = (1..=3)
        .map(|n| {
            let o = user(n, Some([n; 16]));
            let c = cloud_twin(&o, &o.object_guid, "x@corp.example");
            (o, c)
        })
        .collect();
    let anchor = infer_anchor(Some(&paired(pairs).links()));
    assert_eq!(
        (anchor.value, anchor.source),
        (AnchorMode::ConsistencyGuid, Source::Default)
    );
    assert!(anchor.evidence.unwrap().contains("too little evidence"));
}

#[test]
fn mail_as_cloud_upn_is_inferred_as_alternate_login_id() {
    let pairs: Vec<_> = (1..=2)
        .map(|n| {
            let o = user(n, None);
            let c = cloud_twin(&o, &o.object_guid, &format!("First.Last{n}@example.com"));
            (o, c)
        })
        .collect();
    let upn = infer_upn_source(Some(&paired(pairs).links()));
    assert_eq!((upn.value, upn.source), (UpnSource::Mail, Source::Inferred));
}

#[test]
fn flags_win_over_the_file_and_over_inference() {
    let config = SyncConfig {
        flags: SyncSettings {
            source_anchor: Some(AnchorSetting::ObjectGuid),
            ..SyncSettings::default()
        },
        file: SyncSettings {
            source_anchor: Some(AnchorSetting::ConsistencyGuid),
            upn_source: Some(UpnSetting::Mail),
            scope_ou: vec!["OU=Staff,DC=corp,DC=example".into()],
            ..SyncSettings::default()
        },
    };
    let model = build(&config, &[], None);
    assert_eq!(
        (model.source_anchor.value, model.source_anchor.source),
        (AnchorMode::ObjectGuid, Source::Flag)
    );
    assert_eq!(
        (model.upn_source.value, model.upn_source.source),
        (UpnSource::Mail, Source::File)
    );
    assert_eq!(model.scope_ous.source, Source::File);
}

#[test]
fn anchors_follow_the_engine_and_the_object_type() {
    let cg = [9u8; 16];
    let mut group = user(1, Some(cg));
    group.class = ObjectClass::Group;
    let person = user(2, Some(cg));
    let mut model = build(&SyncConfig::default(), &[], None);
    assert_eq!(
        model.anchor_attribute(&person),
        AnchorAttribute::ConsistencyGuid
    );
    assert_eq!(
        model.anchor_attribute(&group),
        AnchorAttribute::ObjectGuid,
        "Entra Connect anchors non-user objects on objectGUID"
    );
    model.cloud_sync_domains.insert("corp.example".into());
    assert_eq!(
        model.anchor_attribute(&group),
        AnchorAttribute::ConsistencyGuid,
        "Cloud Sync: mS-DS-ConsistencyGuid when present, for every type"
    );
    model.cloud_sync_domains.clear();
    model.source_anchor.value = AnchorMode::ObjectGuid;
    let (kept, _) = apply(&model, vec![person]);
    assert_eq!(kept[0].source_anchor, BASE64.encode([2u8; 16]));
    assert_eq!(kept[0].anchor_attribute, AnchorAttribute::ObjectGuid);
}

#[test]
fn settings_parse_case_insensitively_and_refuse_typos() {
    assert_eq!(
        "MS-DS-CONSISTENCYGUID".parse::<AnchorSetting>(),
        Ok(AnchorSetting::ConsistencyGuid)
    );
    assert_eq!(
        "objectguid".parse::<AnchorSetting>(),
        Ok(AnchorSetting::ObjectGuid)
    );
    assert_eq!("Mail".parse::<UpnSetting>(), Ok(UpnSetting::Mail));
    let file: SyncSettings = toml::from_str(
        "sync-engine = \"cloud-sync\"\nsource-anchor = \"objectGUID\"\nscope-ou = [\"OU=A,DC=x\"]\n",
    )
    .expect("valid sync config");
    assert_eq!(file.sync_engine, Some(EngineSetting::CloudSync));
    // A custom attribute in the file, as on the command line.
    let custom: SyncSettings = toml::from_str(
        "source-anchor = \"employeeNumber;binary\"\nupn-source = \"extensionAttribute5\"\n",
    )
    .expect("valid sync config");
    assert!(matches!(
        custom.source_anchor,
        Some(AnchorSetting::Custom(a)) if a.binary && a.name.as_str() == "employeeNumber"
    ));
    assert!(toml::from_str::<SyncSettings>("source-anchor = \"employee id\"").is_err());
    assert!(toml::from_str::<SyncSettings>("sorce-anchor = \"x\"").is_err());
}

/// `--source-anchor` and `--upn-source` take any LDAP attribute name, `NAME;binary` for a binary
/// anchor; anything else is refused with the reason.
#[test]
fn custom_attributes_parse_and_bad_names_are_refused() {
    let custom = |s: &str| match s.parse::<AnchorSetting>() {
        Ok(AnchorSetting::Custom(a)) => Some((a.name.to_string(), a.binary)),
        _ => None,
    };
    assert_eq!(custom("employeeID"), Some(("employeeID".into(), false)));
    assert_eq!(custom("msDS-x;BINARY"), Some(("msDS-x".into(), true)));
    assert_eq!(
        "OBJECTguid".parse::<AnchorSetting>(),
        Ok(AnchorSetting::ObjectGuid)
    );
    for bad in ["employee id", "1abc", "a;range=0-1", "", "x;binary;binary"] {
        let err = bad.parse::<AnchorSetting>().unwrap_err();
        assert!(err.contains("source anchor"), "{bad}: {err}");
    }
    assert!(matches!(
        "extensionAttribute5".parse::<UpnSetting>(),
        Ok(UpnSetting::Custom(name)) if name.as_str() == "extensionAttribute5"
    ));
    assert!("a@b".parse::<UpnSetting>().is_err());
    assert!("ext;binary".parse::<UpnSetting>().is_err());
}

/// A custom anchor: users take the attribute (a string as it is, bytes base64-encoded, nothing
/// predicted for a missing, multiple or integer value, with the reason); groups keep objectGUID;
/// the import is told to carry the attribute.
#[test]
fn a_custom_anchor_anchors_users_and_says_why_it_cannot() {
    use crate::inputs::onprem::{ExtraAttribute, ExtraValue};
    let name = AttributeName::parse("employeeID").unwrap();
    let config = SyncConfig {
        flags: SyncSettings {
            source_anchor: Some(AnchorSetting::Custom(ExtraAttribute {
                name,
                binary: false,
            })),
            upn_source: Some(UpnSetting::Custom(
                AttributeName::parse("extensionAttribute5").unwrap(),
            )),
            ..SyncSettings::default()
        },
        file: SyncSettings::default(),
    };
    assert_eq!(config.extra_attributes().len(), 2);
    let with = |values: Vec<ExtraValue>, n: u8| {
        let mut o = sample(
            ObjectClass::User,
            [n; 16],
            &format!("CN=u{n},DC=contoso,DC=local"),
        );
        if !values.is_empty() {
            o.extra = vec![(name, values)].into_boxed_slice();
        }
        o
    };
    let objects = vec![
        with(vec![ExtraValue::Text("E1".into())], 1),
        with(vec![], 2),
        with(vec![ExtraValue::Integer(7)], 3),
        with(
            vec![ExtraValue::Text("a".into()), ExtraValue::Text("b".into())],
            4,
        ),
        with(vec![ExtraValue::Bytes(vec![1, 2, 3])], 5),
        sample(ObjectClass::Group, [6; 16], "CN=g,DC=contoso,DC=local"),
    ];
    let model = build(&config, &objects, None);
    assert_eq!(model.source_anchor.source, Source::Flag);
    let (kept, _) = apply(&model, objects);
    let anchors: Vec<(&str, bool)> = kept
        .iter()
        .map(|o| (o.source_anchor.as_str(), o.anchor_problem.is_some()))
        .collect();
    let group_anchor = BASE64.encode([6u8; 16]);
    assert_eq!(
        anchors,
        [
            ("E1", false),
            ("", true),
            ("", true),
            ("", true),
            ("AQID", false),
            (group_anchor.as_str(), false)
        ]
    );
    assert!(
        kept[1]
            .anchor_problem
            .as_deref()
            .unwrap()
            .contains("has no employeeID")
    );
    assert!(
        kept[2]
            .anchor_problem
            .as_deref()
            .unwrap()
            .contains("integer")
    );
    assert_eq!(kept[5].anchor_attribute, AnchorAttribute::ObjectGuid);
}

/// An export without objectSid whose users moved OU since the last sync (their DN no longer
/// equals the cloud's onPremisesDistinguishedName) still links them by sAMAccountName in their
/// domain, so the anchor is inferred rather than defaulted.
#[test]
fn users_link_by_sam_account_name_and_domain_when_sid_and_dn_do_not() {
    let onprem: Vec<OnPremObject> = (1..=3)
        .map(|n| OnPremObject {
            object_sid: None,
            distinguished_name: format!("CN=u{n},OU=Moved,DC=Corp,DC=example").into(),
            ..user(n, Some([n + 100; 16]))
        })
        .collect();
    let cloud = CloudSnapshot {
        users: packed(
            &onprem
                .iter()
                .map(|o| DirectoryObject {
                    on_premises_security_identifier: None,
                    on_premises_distinguished_name: Some(
                        o.distinguished_name.replace("OU=Moved", "OU=Staff").into(),
                    ),
                    on_premises_sam_account_name: o
                        .sam_account_name
                        .as_ref()
                        .map(CompactString::to_uppercase),
                    on_premises_domain_name: Some("corp.example".into()),
                    ..cloud_twin(o, &o.object_guid, "x@corp.example")
                })
                .collect::<Vec<_>>(),
        ),
        ..CloudSnapshot::default()
    };
    let links = Links::new(&onprem, &cloud);
    assert_eq!(links.pairs.len(), 3);
    let anchor = infer_anchor(Some(&links));
    assert_eq!(
        (anchor.value, anchor.source),
        (AnchorMode::ObjectGuid, Source::Inferred),
        "{anchor:?}"
    );
    // Another domain's user of the same name is not that user.
    let other = CloudSnapshot {
        users: packed(
            &cloud
                .users
                .iter()
                .map(|u| DirectoryObject {
                    on_premises_domain_name: Some("fabrikam.example".into()),
                    ..u.to_object()
                })
                .collect::<Vec<_>>(),
        ),
        ..CloudSnapshot::default()
    };
    assert!(Links::new(&onprem, &other).pairs.is_empty());
}

/// Each key in its order (objectSid, then DN, then sAMAccountName in the domain), case-insensitive
/// where AD is; a synced user only; and when two synced users carry one DN, the later one in the
/// snapshot, as a map of the synced users would keep it.
#[test]
fn users_link_by_sid_then_dn_then_sam_to_the_last_synced_user_with_the_key() {
    let by_sid = user(1, None);
    let by_dn = OnPremObject {
        object_sid: None,
        ..user(2, None)
    };
    let by_sam = OnPremObject {
        object_sid: None,
        distinguished_name: "CN=u3,OU=Moved,DC=corp,DC=example".into(),
        ..user(3, None)
    };
    let unlinked = OnPremObject {
        object_sid: None,
        ..user(4, None)
    };
    let onprem = vec![
        by_sid.clone(),
        by_dn.clone(),
        by_sam.clone(),
        unlinked.clone(),
    ];
    let cloud_user = |id: &str, sid: Option<&str>, dn: Option<&str>, sam: Option<&str>, synced| {
        DirectoryObject {
            id: id.to_owned(),
            on_premises_sync_enabled: Some(synced),
            on_premises_security_identifier: sid.map(Into::into),
            on_premises_distinguished_name: dn.map(Into::into),
            on_premises_sam_account_name: sam.map(Into::into),
            on_premises_domain_name: Some("Corp.Example".into()),
            ..DirectoryObject::default()
        }
    };
    let cloud = CloudSnapshot {
        users: packed(&[
            // The SID wins over a DN another cloud user also carries; of two users with the
            // SID (in either case), the last.
            cloud_user("sid-first", Some("S-1-5-21-1-2-3-1"), None, None, true),
            cloud_user("sid", Some("s-1-5-21-1-2-3-1"), None, None, true),
            cloud_user("sid-other", Some("S-1-5-21-1-2-3-9"), None, None, true),
            cloud_user(
                "dn-of-1",
                None,
                Some("CN=u1,OU=Staff,DC=corp,DC=example"),
                None,
                true,
            ),
            cloud_user(
                "dn-first",
                None,
                Some("cn=U2,ou=staff,dc=CORP,dc=example"),
                None,
                true,
            ),
            cloud_user(
                "dn-last",
                None,
                Some("CN=u2,OU=Staff,DC=corp,DC=example"),
                None,
                true,
            ),
            cloud_user(
                "sam",
                None,
                Some("CN=u3,OU=Staff,DC=corp,DC=example"),
                Some("U3"),
                true,
            ),
            // Not synced: never a link, whatever it carries.
            cloud_user(
                "unsynced",
                None,
                Some("CN=u4,OU=Staff,DC=corp,DC=example"),
                Some("u4"),
                false,
            ),
        ]),
        ..CloudSnapshot::default()
    };
    let links = Links::new(&onprem, &cloud);
    let pairs: Vec<(&str, &str)> = links
        .pairs
        .iter()
        .map(|(o, c)| (o.sam_account_name.as_deref().unwrap(), c.id()))
        .collect();
    assert_eq!(pairs, [("u1", "sid"), ("u2", "dn-last"), ("u3", "sam")]);
    assert_eq!(links.exported_users.len(), 4);
}

/// Two exported users with one key both link to the synced user carrying it (the link is by
/// key, not one to one), and a DN with non-ASCII letters links whatever their case.
#[test]
fn unlinked_users_sharing_a_key_link_alike_and_non_ascii_dns_fold() {
    let onprem = vec![
        OnPremObject {
            object_sid: None,
            distinguished_name: "CN=J\u{dc}rgen,OU=Staff,DC=corp,DC=example".into(),
            ..user(1, None)
        },
        OnPremObject {
            object_sid: None,
            distinguished_name: "CN=a,OU=One,DC=corp,DC=example".into(),
            sam_account_name: Some("shared".into()),
            ..user(2, None)
        },
        OnPremObject {
            object_sid: None,
            distinguished_name: "CN=b,OU=Two,DC=corp,DC=example".into(),
            sam_account_name: Some("SHARED".into()),
            ..user(3, None)
        },
    ];
    let cloud = CloudSnapshot {
        users: packed(&[
            DirectoryObject {
                id: "juergen".into(),
                on_premises_sync_enabled: Some(true),
                on_premises_distinguished_name: Some(
                    "cn=j\u{fc}rgen,ou=staff,dc=corp,dc=example".into(),
                ),
                ..DirectoryObject::default()
            },
            DirectoryObject {
                id: "shared".into(),
                on_premises_sync_enabled: Some(true),
                on_premises_sam_account_name: Some("Shared".into()),
                on_premises_domain_name: Some(" CORP.example ".into()),
                ..DirectoryObject::default()
            },
        ]),
        ..CloudSnapshot::default()
    };
    let links = Links::new(&onprem, &cloud);
    let pairs: Vec<(&str, &str)> = links
        .pairs
        .iter()
        .map(|(o, c)| (o.distinguished_name.as_str(), c.id()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("CN=J\u{dc}rgen,OU=Staff,DC=corp,DC=example", "juergen"),
            ("CN=a,OU=One,DC=corp,DC=example", "shared"),
            ("CN=b,OU=Two,DC=corp,DC=example", "shared"),
        ]
    );
}

/// The OU evidence counts the containers of the linked users once however they are spelled (AD
/// compares DNs without regard to case), and the exported users in none of them.
#[test]
fn ou_evidence_counts_containers_without_regard_to_case_and_the_users_outside_them() {
    let at = |n: u8, container: &str| OnPremObject {
        distinguished_name: format!("CN=u{n},{container}").into(),
        ..user(n, None)
    };
    let linked = [
        at(1, "OU=Staff,DC=corp,DC=example"),
        at(2, "ou=staff,dc=Corp,dc=example"),
        at(3, "OU=Sales,DC=corp,DC=example"),
    ];
    let unlinked = [
        at(4, "OU=STAFF,DC=CORP,DC=EXAMPLE"),
        at(5, "OU=New Hires,DC=corp,DC=example"),
        at(6, "OU=New Hires,DC=corp,DC=example"),
    ];
    let twins: Vec<DirectoryObject> = linked
        .iter()
        .map(|o| cloud_twin(o, &o.object_guid, "x@corp.example"))
        .collect();
    let twins = packed(&twins);
    let links = Links {
        pairs: linked.iter().zip(twins.iter()).collect(),
        exported_users: linked.iter().chain(&unlinked).collect(),
    };
    let evidence = links.ou_evidence().expect("users are linked");
    assert!(
        evidence.starts_with(
            "synced users sit in 2 container(s); 2 exported user(s) sit in other containers"
        ),
        "{evidence}"
    );
}
