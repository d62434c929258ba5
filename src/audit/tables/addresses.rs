//! The address tables (`onprem_addresses`, `cloud_addresses`: one column list, declared once)
//! and the normalisation they share: every UPN and SMTP address of an object, lower-cased, with
//! the primary SMTP address marked (Entra compares them case-insensitively and keeps mail and
//! the SMTP proxy addresses in one namespace). It must not judge collisions: that is the rules'.

use std::borrow::Cow;

use polars::prelude::*;

use crate::text::lowercase;

use super::{
    ADDRESS_KINDS, ColumnSpec, ColumnType, FrameBuilder, OBJECT_TYPES, SharedText, TableSpec,
    count, row_columns,
};

/// Where an address comes from: the words of the address tables' `origin`.
const ADDRESS_ORIGINS: &[&str] = &["mail", "proxyAddresses", "userPrincipalName"];

/// One row of an address table: an object's row and type and one of its addresses.
pub(super) struct AddressRow<'a> {
    object_row: usize,
    object_type: &'static str,
    address: &'a Address<'a>,
}

table! {
    const ADDRESS_COLUMNS: columns;
    pub(super) fn address_frame(&[AddressRow<'_>], text: Option<&SharedText>) |r| shares text {
        "object_row": Int = "the object: onprem_objects.object_row or cloud_objects.object_row" => Some(count(r.object_row)),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(r.object_type),
        "kind": Word(ADDRESS_KINDS) = "upn or smtp (mail and SMTP proxy addresses share one namespace)" => Some(r.address.kind),
        "address": Str = "the value, lower case, without the smtp: prefix" => Some(&*r.address.value),
        "is_primary": Bool = "upn: always; smtp: the SMTP: (upper case) proxy address, or mail when there is none" => Some(r.address.is_primary),
        "origin": Word(ADDRESS_ORIGINS) = "userPrincipalName, proxyAddresses or mail" => Some(r.address.origin),
        "raw": Str = "the value as it stands in the source" => Some(r.address.raw),
    }
    counted over the table {
        "holders": Int = "how many on-prem objects hold this address in this namespace (kind): 1 when no other does" => ["kind", "address"],
    }
}

pub(crate) const ONPREM_ADDRESSES: TableSpec = TableSpec {
    name: "onprem_addresses",
    doc: "One row per distinct UPN or SMTP address an on-prem object holds.",
    columns: ADDRESS_COLUMNS,
};

pub(crate) const CLOUD_ADDRESSES: TableSpec = TableSpec {
    name: "cloud_addresses",
    doc: "One row per distinct UPN or SMTP address a cloud object holds.",
    // No `holders`: no rule counts the cloud objects holding an address (Entra ID keeps each on
    // one), and counting a million objects' 3.4 million addresses took 0.3 s.
    columns: row_columns(ADDRESS_COLUMNS),
};

/// What every table of one object needs, computed once per object.
pub(super) struct Derived<'a> {
    /// on-prem: `object_guid` text; cloud: `id`.
    pub(super) id: &'a str,
    pub(super) addresses: Vec<Address<'a>>,
}

/// The rows of an address table: every address of every object, with the object's row and
/// type; `first_row` is the row of the first object of `derived`.
pub(super) fn address_rows<'a>(
    first_row: usize,
    derived: &'a [Derived<'a>],
    types: impl Iterator<Item = &'static str>,
) -> Vec<AddressRow<'a>> {
    derived
        .iter()
        .zip(types)
        .enumerate()
        .flat_map(|(i, (d, object_type))| {
            d.addresses.iter().map(move |address| AddressRow {
                object_row: first_row + i,
                object_type,
                address,
            })
        })
        .collect()
}

/// One UPN or SMTP address of an object, as the address tables hold it.
/// Borrowed from the object it belongs to (a million objects hold several million addresses:
/// copying each would double the memory of the table build); `value` is only allocated when
/// lower-casing changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Address<'a> {
    kind: &'static str,
    value: Cow<'a, str>,
    is_primary: bool,
    origin: &'static str,
    raw: &'a str,
}

/// The distinct UPN and SMTP addresses of one object. Entra keeps mail and the SMTP proxy
/// addresses in one namespace; when there is no `SMTP:` proxy address, mail is the primary.
pub(super) fn addresses<'a>(
    upn: Option<&'a str>,
    mail: Option<&'a str>,
    proxies: impl IntoIterator<Item = &'a str>,
) -> Vec<Address<'a>> {
    let mut out: Vec<Address<'a>> = Vec::new();
    if let Some(upn) = upn.filter(|u| !u.trim().is_empty()) {
        out.push(Address {
            kind: "upn",
            value: lowercase(upn.trim()),
            is_primary: true,
            origin: "userPrincipalName",
            raw: upn,
        });
    }
    let mut has_primary = false;
    for proxy in proxies {
        let Some((prefix, value)) = proxy.split_once(':') else {
            continue;
        };
        if !prefix.eq_ignore_ascii_case("smtp") || value.trim().is_empty() {
            continue;
        }
        let is_primary = prefix == "SMTP";
        has_primary |= is_primary;
        let address = lowercase(value.trim());
        match out
            .iter_mut()
            .find(|a| a.kind == "smtp" && a.value == address)
        {
            Some(existing) => existing.is_primary |= is_primary,
            None => out.push(Address {
                kind: "smtp",
                value: address,
                is_primary,
                origin: "proxyAddresses",
                raw: proxy,
            }),
        }
    }
    if let Some(mail) = mail.filter(|m| !m.trim().is_empty()) {
        let address = lowercase(mail.trim());
        if !out.iter().any(|a| a.kind == "smtp" && a.value == address) {
            out.push(Address {
                kind: "smtp",
                value: address,
                is_primary: !has_primary,
                origin: "mail",
                raw: mail,
            });
        }
    }
    out
}

/// The primary SMTP address of an object: the `SMTP:` proxy address, else mail.
pub(super) fn primary_smtp<'a>(addresses: &'a [Address<'_>]) -> Option<&'a str> {
    addresses
        .iter()
        .find(|a| a.kind == "smtp" && a.is_primary)
        .map(|a| &*a.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_mark_primary_and_merge_mail() {
        let proxies: Vec<String> = vec![
            "SMTP:Ann@Contoso.com".into(),
            "smtp:ann.alias@contoso.com".into(),
            "X500:/o=x".into(),
            "smtp:ANN.ALIAS@contoso.com".into(),
        ];
        let a = addresses(
            Some("Ann@Contoso.com"),
            Some("ann@contoso.com"),
            proxies.iter().map(String::as_str),
        );
        let smtp: Vec<_> = a.iter().filter(|a| a.kind == "smtp").collect();
        assert_eq!(smtp.len(), 2, "{a:?}");
        assert!(smtp[0].is_primary && smtp[0].value == "ann@contoso.com");
        assert!(!smtp[1].is_primary);
        assert_eq!(a[0].kind, "upn");
        assert_eq!(a[0].value, "ann@contoso.com");
    }

    #[test]
    fn mail_is_primary_only_without_an_smtp_proxy() {
        let a = addresses(None, Some("Bob@x.com"), []);
        assert!(a[0].is_primary && a[0].origin == "mail");
        let proxies: Vec<String> = vec!["SMTP:bob@x.com".into()];
        let b = addresses(None, Some("bob2@x.com"), proxies.iter().map(String::as_str));
        assert!(b.iter().any(|a| a.value == "bob2@x.com" && !a.is_primary));
    }
}
