//! What every simulated Graph response has in common: the error body shape, the headers Graph
//! puts on each response (`request-id`, `client-request-id`, the `OData` content type), gzip when
//! the client asks for it, and the request ids themselves.
//!
//! Error bodies follow <https://learn.microsoft.com/graph/errors>: `{"error":{"code","message",
//! "innerError":{"date","request-id","client-request-id"}}}` (sample
//! `fixtures/graph-samples/advanced-query-count-missing.error.json`); the 429 body is the one in
//! `fixtures/graph-samples/throttling-429.response-body.json`. This module must not decide
//! *when* an error happens; the `OData`, token, throttle and fault modules do.

use std::io::Write as _;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::Rng as _;
use serde_json::json;

/// The content type Graph sends with JSON payloads.
pub(crate) const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The error response the simulated Graph sends: status, `error.code` and `error.message`
/// (named apart from the client's `crate::graph::GraphError`, which reads such responses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorResponse {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// A `Location` header to send with the error (410 of a delta query: where to restart).
    pub location: Option<String>,
}

impl ErrorResponse {
    pub(super) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            location: None,
        }
    }

    /// 400 with a code such as `Request_BadRequest` or `BadRequest`.
    pub(super) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `Request_UnsupportedQuery`: a query Graph refuses without advanced query parameters
    /// (<https://learn.microsoft.com/graph/aad-advanced-queries>).
    pub(super) fn unsupported_query(message: impl Into<String>) -> Self {
        Self::bad_request("Request_UnsupportedQuery", message)
    }

    /// 404 for an object id that does not exist, worded as directory objects are.
    pub(super) fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 400 for a path segment Graph does not know.
    pub(super) fn unknown_segment(segment: &str) -> Self {
        Self::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// 403 `Authorization_RequestDenied`, as Graph answers a token without the permission.
    pub(super) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub(super) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }
}

/// Ids that tie a response to its request, as Graph reports them.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

impl RequestIds {
    /// A fresh `request-id`; `client-request-id` echoes the client's header when it sent one.
    pub(super) fn for_request(headers: &HeaderMap) -> Self {
        let request_id = new_guid();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }

    /// `request-id` and `client-request-id` response headers (on every response).
    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            headers.insert("request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.client_request_id) {
            headers.insert("client-request-id", v);
        }
    }
}

/// A random GUID in the 8-4-4-4-12 form (ids, trace ids, request ids).
pub(crate) fn new_guid() -> String {
    let b: [u8; 16] = rand::rng().random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        (b[6] & 0x0f) | 0x40,
        b[7],
        (b[8] & 0x3f) | 0x80,
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// Graph's `innerError.date`: UTC without fraction or zone suffix, e.g. `2021-05-18T19:03:10`.
fn inner_error_date() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The JSON body of a Graph error.
pub(crate) fn error_body(err: &ErrorResponse, ids: &RequestIds) -> Vec<u8> {
    let body = json!({
        "error": {
            "code": err.code,
            "message": err.message,
            "innerError": {
                "date": inner_error_date(),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    body.to_string().into_bytes()
}

/// The 429 body of the throttling doc's sample
/// (fixtures/graph-samples/throttling-429.response-body.json,
/// <https://learn.microsoft.com/graph/throttling>): its `innerError` differs from other errors.
pub(crate) fn throttled_body(ids: &RequestIds) -> Vec<u8> {
    json!({
        "error": {
            "code": "TooManyRequests",
            "innerError": {
                "code": "429",
                "date": inner_error_date(),
                "message": "Please retry after",
                "request-id": ids.request_id,
                "status": "429"
            },
            "message": "Please retry again later."
        }
    })
    .to_string()
    .into_bytes()
}

/// Whether `Accept-Encoding` allows gzip (a `q=0` refuses it, RFC 9110 §12.5.3).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut pieces = part.split(';').map(str::trim);
            let coding = pieces.next().unwrap_or("");
            let refused = pieces.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    // Level 1: a 999-user page shrinks ~8x at a few milliseconds; higher levels cost more CPU
    // than a loopback simulator saves.
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 6), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation_honours_q_zero() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, "gzip, deflate".parse().unwrap());
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, "br;q=1, gzip;q=0".parse().unwrap());
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, "identity".parse().unwrap());
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn guids_are_well_formed() {
        let g = new_guid();
        let parts: Vec<_> = g.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }
}
