//! Tests of JSON batching (`POST /$batch`) and delta queries (`GET /users/delta` and friends)
//! against a real simulator on 127.0.0.1:0, with the docs samples in `fixtures/graph-samples/`
//! (`json-batch.*.json`, `json-batch-dependsOn.request.json`, `users-delta.response.json`) as the
//! reference for shapes. Helpers come from `tests`.

// A test tells one story from request to assertion; splitting it would hide the story.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::delta::Removal;
use super::model::User;
use super::server::SimHandle;
use super::server::{ServerOptions, SimServer};
use super::tests::{
    CLIENT, CLOUD_SYNC_SP, QUARANTINED_JOB, TENANT, app_token, get_json, guid, http, options,
    sample, tenant,
};
use super::throttle::ThrottleOptions;

async fn start_with(users: usize, o: ServerOptions) -> SimServer {
    SimServer::start(tenant(users), o).await.unwrap()
}

async fn post_batch(base: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let r = http()
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn get_url(token: &str, url: &str) -> reqwest::Response {
    http().get(url).bearer_auth(token).send().await.unwrap()
}

fn entry<'a>(batch: &'a Value, id: &str) -> &'a Value {
    batch["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response '{id}' in {batch}"))
}

fn ids_of(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The Graph error body shape (code, message, innerError with date and request ids).
fn assert_error_body(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    for k in ["date", "request-id", "client-request-id"] {
        assert!(body["error"]["innerError"][k].is_string(), "{k}: {body}");
    }
}

/// Items run through the same resource code as direct requests (same bodies, `$select`, per-item
/// headers such as `ConsistencyLevel`), writes are recorded, and the answer has the property
/// names of the docs' sample.
#[tokio::test]
async fn batch_runs_items_like_direct_requests() {
    let server = start_with(30, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let pause =
        format!("/servicePrincipals/{CLOUD_SYNC_SP}/synchronization/jobs/{QUARANTINED_JOB}/pause");
    let request = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users?$select=id,displayName&$top=5"},
        {"id": "2", "method": "GET", "url": "/groups"},
        {"id": "3", "method": "GET", "url": "/organization"},
        {"id": "4", "method": "GET", "url": "users/$count", "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "5", "method": "GET", "url": "/users/$count"},
        {"id": "6", "method": "GET", "url": "/users/no-such-user"},
        {"id": "7", "method": "POST", "url": pause, "body": {}, "headers": {"Content-Type": "application/json"}},
        {"id": "8", "method": "GET", "url": "/users?$filter=startswith(displayName, 'User 1')&$select=id"},
    ]});
    server.handle().reset_stats();
    let (status, batch) = post_batch(base, &token, &request).await;
    assert_eq!(status, StatusCode::OK, "{batch}");

    // Shape: the sample's property names at every level we produce.
    let doc = sample("json-batch.response.json");
    assert_eq!(
        batch.as_object().unwrap().keys().collect::<Vec<_>>(),
        doc.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    let allowed: BTreeSet<&str> = ["id", "status", "headers", "body"].into();
    for r in batch["responses"].as_array().unwrap() {
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(keys.is_subset(&allowed), "{r}");
        assert!(r["id"].is_string() && r["status"].is_u64() && r["headers"].is_object());
    }
    let ok = entry(&batch, "1");
    for name in doc["responses"][0]["headers"].as_object().unwrap().keys() {
        assert!(ok["headers"][name].is_string(), "header {name} in {ok}");
    }
    assert_eq!(batch["responses"].as_array().unwrap().len(), 8);
    // Request order is kept.
    let order: Vec<&str> = batch["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["1", "2", "3", "4", "5", "6", "7", "8"]);

    // The same answers as direct requests.
    let (_, direct) = get_json(base, &token, "/v1.0/users?$select=id,displayName&$top=5").await;
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["body"]["value"], direct["value"]);
    assert!(ok["body"]["@odata.nextLink"].is_string());
    assert_eq!(
        ok["body"]["value"][0].as_object().unwrap().len(),
        2,
        "$select applies"
    );
    let groups = entry(&batch, "2");
    assert_eq!(groups["status"], 200);
    assert_eq!(groups["body"]["value"][0]["id"], guid(6000));
    let org = entry(&batch, "3");
    assert_eq!(org["body"]["value"][0]["id"], TENANT);
    // Headers apply per item: $count needs ConsistencyLevel.
    assert_eq!(entry(&batch, "4")["status"], 200);
    assert_eq!(entry(&batch, "4")["body"], 30);
    assert_eq!(entry(&batch, "5")["status"], 400);
    let missing = entry(&batch, "6");
    assert_eq!(missing["status"], 404);
    assert_error_body(&missing["body"], "Request_ResourceNotFound");
    let pause_answer = entry(&batch, "7");
    assert_eq!(pause_answer["status"], 204);
    assert!(pause_answer.get("body").is_none());
    // The $filter with a space in the relative URL works.
    let filtered = entry(&batch, "8");
    assert_eq!(filtered["status"], 200, "{filtered}");
    assert_eq!(
        ids_of(&filtered["body"]).len(),
        11,
        "User 1 and User 10..19"
    );

    // The write item is recorded like a direct POST; the batch itself is not a write.
    let writes = server.handle().writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "POST");
    assert_eq!(writes[0].path, format!("/v1.0{pause}"));
    assert_eq!(writes[0].status, 204);
    let job_code = server.handle().read_tenant(|t| {
        t.sync_jobs
            .iter()
            .find(|j| j.id == QUARANTINED_JOB)
            .unwrap()
            .status
            .code
            .clone()
    });
    assert_eq!(job_code, "Paused");
    // Items are counted under their own paths; the batch is one Graph request.
    let counters = server.handle().stats();
    assert_eq!(counters.paths["/v1.0/users"].requests, 3);
    assert_eq!(counters.paths["/v1.0/$batch"].requests, 1);
}

/// A malformed batch is 400 with Graph's error body: over 20 requests, duplicate ids (not
/// case-sensitive), unknown dependencies, bad JSON. 20 requests are fine; a nested batch fails
/// only its item; GET on $batch is 405.
#[tokio::test]
async fn batch_refuses_malformed_batches() {
    let server = start_with(3, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let items = |n: usize| -> Value {
        let list: Vec<Value> = (0..n)
            .map(|i| {
                let url = match i % 3 {
                    0 => "/users",
                    1 => "/groups",
                    _ => "/organization",
                };
                json!({"id": format!("{}", i + 1), "method": "GET", "url": url})
            })
            .collect();
        json!({ "requests": list })
    };
    let (status, body) = post_batch(base, &token, &items(20)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == 200)
    );

    let (status, body) = post_batch(base, &token, &items(21)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(&body, "BadRequest");

    let dup = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "A", "method": "GET", "url": "/groups"},
    ]});
    let (status, body) = post_batch(base, &token, &dup).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_body(&body, "BadRequest");

    let unknown_dep = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]},
    ]});
    let (status, _) = post_batch(base, &token, &unknown_dep).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let r = http()
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"requests\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let nested = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/$batch"},
        {"id": "2", "method": "GET", "url": "/users"},
    ]});
    let (status, body) = post_batch(base, &token, &nested).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry(&body, "1")["status"], 400);
    assert_eq!(entry(&body, "2")["status"], 200);

    let (status, _) = get_json(base, &token, "/v1.0/$batch").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // The batch needs a token like any Graph call.
    let r = http()
        .post(format!("{base}/v1.0/$batch"))
        .json(&items(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The docs' dependsOn chain (1 ← 2 ← 4 ← 3): when 1 fails, 2, 4 and 3 all answer 424; when 1
/// succeeds, the chain runs.
#[tokio::test]
async fn batch_depends_on_a_failed_item_is_424() {
    let server = start_with(3, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let with_first = |first_url: &str| -> Value {
        let mut doc = sample("json-batch-dependsOn.request.json");
        for r in doc["requests"].as_array_mut().unwrap() {
            r["url"] = json!("/users?$select=id");
        }
        doc["requests"][0]["url"] = json!(first_url);
        doc
    };
    let (status, body) = post_batch(base, &token, &with_first("/users/nobody")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry(&body, "1")["status"], 404);
    for id in ["2", "4", "3"] {
        let e = entry(&body, id);
        assert_eq!(e["status"], 424, "{e}");
        assert!(e["body"]["error"]["message"].is_string());
    }
    // Only the failing item reached the resource.
    assert!(!server.handle().stats().paths.contains_key("/v1.0/users"));

    let (_, body) = post_batch(base, &token, &with_first("/organization")).await;
    for id in ["1", "2", "4", "3"] {
        assert_eq!(entry(&body, id)["status"], 200);
    }
}

/// "Batch should be either fully sequential or fully parallel": independent items run side by
/// side, so a batch of 20 takes about one item's latency (20 in a row would take 20 of them);
/// a dependsOn chain still runs in order, one latency after another.
#[tokio::test]
async fn independent_batch_items_run_side_by_side_and_a_chain_in_order() {
    let mut o = options();
    o.latency = super::server::Latency {
        base: Duration::from_millis(300),
        per_object: Duration::ZERO,
    };
    let server = start_with(3, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let items = |chained: bool| -> Value {
        let requests: Vec<Value> = (1..=20)
            .map(|i| {
                let mut r = json!({"id": i.to_string(), "method": "GET", "url": "/organization"});
                if chained && i > 1 {
                    r["dependsOn"] = json!([(i - 1).to_string()]);
                }
                r
            })
            .collect();
        json!({ "requests": requests })
    };
    let started = std::time::Instant::now();
    let (status, body) = post_batch(base, &token, &items(false)).await;
    let side_by_side = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    for i in 1..=20 {
        assert_eq!(entry(&body, &i.to_string())["status"], 200);
    }
    // One latency and some, far from the 6 s of twenty in a row.
    assert!(side_by_side < Duration::from_secs(3), "{side_by_side:?}");

    let chain: Value = {
        let mut doc = items(true);
        doc["requests"] = json!(doc["requests"].as_array().unwrap()[..4].to_vec());
        doc
    };
    let started = std::time::Instant::now();
    let (status, body) = post_batch(base, &token, &chain).await;
    let in_order = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    for i in 1..=4 {
        assert_eq!(entry(&body, &i.to_string())["status"], 200);
    }
    assert!(in_order >= Duration::from_millis(4 * 300), "{in_order:?}");
}

/// "Requests in a batch are evaluated individually against the applicable throttling limits":
/// items past the limit answer 429 with `Retry-After` in their own headers and the 429 body.
#[tokio::test]
async fn batch_items_are_throttled_individually() {
    let mut o = options();
    o.throttle = ThrottleOptions {
        resource_units: Some(4),
        window: Duration::from_secs(10),
        ..ThrottleOptions::default()
    };
    let server = start_with(5, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let request = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users"},
        {"id": "2", "method": "GET", "url": "/users"},
        {"id": "3", "method": "GET", "url": "/users"},
        {"id": "4", "method": "GET", "url": "/users", "dependsOn": ["3"]},
    ]});
    let (status, body) = post_batch(base, &token, &request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry(&body, "1")["status"], 200);
    assert_eq!(entry(&body, "1")["headers"]["x-ms-resource-unit"], "2");
    assert_eq!(entry(&body, "2")["status"], 200);
    let throttled = entry(&body, "3");
    assert_eq!(throttled["status"], 429);
    let wait: f64 = throttled["headers"]["Retry-After"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0.0, "{throttled}");
    assert_eq!(
        throttled["headers"]["x-ms-throttle-scope"],
        format!("Tenant_Application/ReadWrite/{CLIENT}/{TENANT}")
    );
    assert_eq!(throttled["body"]["error"]["code"], "TooManyRequests");
    // A request depending on a throttled one fails with 424.
    assert_eq!(entry(&body, "4")["status"], 424);
    assert_eq!(server.handle().stats().throttled, 1);
}

fn delta_options(page: u32) -> ServerOptions {
    let mut o = options();
    o.default_page_size = page;
    o
}

/// Follows nextLinks to the deltaLink; returns every entry and the deltaLink.
async fn delta_round(token: &str, first: &str) -> (Vec<Value>, String, usize) {
    let mut url = first.to_owned();
    let mut entries = Vec::new();
    let mut pages = 0;
    loop {
        let r = get_url(token, &url).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let page: Value = r.json().await.unwrap();
        pages += 1;
        entries.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken="), "{next}");
            assert!(page.get("@odata.deltaLink").is_none());
            url = next.to_owned();
        } else {
            let delta = page["@odata.deltaLink"]
                .as_str()
                .expect("deltaLink")
                .to_owned();
            assert!(delta.contains("$deltatoken="), "{delta}");
            return (entries, delta, pages);
        }
    }
}

fn mutate(h: &SimHandle) {
    // Renamed (a selected property), deleted, added; and a change to an unselected property.
    assert!(h.change_user(&guid(3), |u| u.display_name = Some("Renamed".into())));
    assert!(h.delete_user(&guid(4)));
    h.add_user(User {
        id: guid(900),
        display_name: Some("Newcomer".into()),
        user_principal_name: "new@contoso.com".into(),
        ..User::default()
    });
    assert!(h.change_user(&guid(5), |u| u.job_title = Some("Engineer".into())));
    assert!(!h.change_user("no-such-id", |u| u.job_title = None));
}

/// A full round pages through every user and ends with a deltaLink; after a change, a delete
/// and an add, the deltaLink returns exactly those three (the deleted one as `@removed`), under
/// the first request's `$select`; the next round is empty.
#[tokio::test]
async fn delta_full_round_then_only_changes() {
    let server = start_with(25, delta_options(10)).await;
    let base = server.base_url();
    let token = app_token(base).await;

    // Without $select: the docs sample's shape (default properties, nextLink).
    let (status, first) = get_json(base, &token, "/v1.0/users/delta").await;
    assert_eq!(status, StatusCode::OK);
    super::tests::assert_shape(
        &sample("users-delta.response.json"),
        &first,
        &[],
        true,
        "delta",
    );

    let (entries, delta_link, pages) = delta_round(
        &token,
        &format!("{base}/v1.0/users/delta?$select=id,displayName"),
    )
    .await;
    assert_eq!(pages, 3);
    let ids: BTreeSet<String> = entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, (0..25).map(guid).collect());
    assert!(entries.iter().all(|e| e.as_object().unwrap().len() == 2));

    mutate(server.handle());
    let (changes, next_link, _) = delta_round(&token, &delta_link).await;
    assert_eq!(changes.len(), 3, "{changes:?}");
    let by_id = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(
        by_id(&guid(3)),
        json!({"id": guid(3), "displayName": "Renamed"})
    );
    assert_eq!(
        by_id(&guid(4)),
        json!({"id": guid(4), "@removed": {"reason": "changed"}})
    );
    assert_eq!(
        by_id(&guid(900)),
        json!({"id": guid(900), "displayName": "Newcomer"})
    );

    // Nothing changed since: an empty page with a new deltaLink.
    let (none, _, pages) = delta_round(&token, &next_link).await;
    assert!(none.is_empty());
    assert_eq!(pages, 1);
    // A permanent delete reports "deleted".
    assert!(server.handle().remove::<User>(&guid(7), Removal::Permanent));
    let (gone, _, _) = delta_round(&token, &next_link).await;
    assert_eq!(
        gone,
        [json!({"id": guid(7), "@removed": {"reason": "deleted"}})]
    );
}

/// `$deltaToken=latest` returns no data and a deltaLink that sees later changes; a tampered or
/// foreign token is 410 Gone with a Location that restarts a full round; contacts and groups
/// have delta too.
#[tokio::test]
async fn delta_latest_and_invalid_tokens() {
    let server = start_with(12, delta_options(5)).await;
    let base = server.base_url();
    let token = app_token(base).await;

    let (status, latest) = get_json(
        base,
        &token,
        "/v1.0/users/delta?$deltaToken=latest&$select=id,mail",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(latest["value"], json!([]));
    assert!(latest.get("@odata.nextLink").is_none());
    let link = latest["@odata.deltaLink"].as_str().unwrap().to_owned();
    mutate(server.handle());
    let (changes, _, _) = delta_round(&token, &link).await;
    // guid(3)'s displayName and guid(5)'s jobTitle are not selected: only the delete and add.
    let ids: BTreeSet<String> = changes
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [guid(4), guid(900)].into());

    // Tampered: one character of the token changed.
    let (prefix, tok) = link.split_once("$deltatoken=").unwrap();
    let mut bytes = tok.as_bytes().to_vec();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{prefix}$deltatoken={}", String::from_utf8(bytes).unwrap());
    let r = get_url(&token, &tampered).await;
    assert_eq!(r.status(), StatusCode::GONE);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{base}/v1.0/users/delta?$deltatoken="));
    let body: Value = r.json().await.unwrap();
    assert_error_body(&body, "syncStateNotFound");
    // The Location restarts a full round.
    let (all, _, pages) = delta_round(&token, &location).await;
    assert_eq!(all.len(), 12);
    assert_eq!(pages, 3);

    // A users token on groups, or a nextLink token as a deltaToken, is not accepted either.
    let (_, groups_tok) = link.split_once("$deltatoken=").unwrap();
    let r = get_url(
        &token,
        &format!("{base}/v1.0/groups/delta?$deltatoken={groups_tok}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::GONE);
    let (_, page) = get_json(base, &token, "/v1.0/users/delta").await;
    let skip = page["@odata.nextLink"].as_str().unwrap();
    let (_, skip_tok) = skip.split_once("$skiptoken=").unwrap();
    let r = get_url(
        &token,
        &format!("{base}/v1.0/users/delta?$deltatoken={skip_tok}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::GONE);
    // "$top is not supported" on delta (https://learn.microsoft.com/graph/api/user-delta).
    let (status, _) = get_json(base, &token, "/v1.0/users/delta?$top=5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Groups and contacts.
    let (groups, glink, _) = delta_round(&token, &format!("{base}/v1.0/groups/delta")).await;
    assert_eq!(ids_of(&json!({ "value": groups })), [guid(6000)]);
    assert!(
        server
            .handle()
            .change::<super::model::Group>(&guid(6000), |g| g.description = Some("x".into()))
    );
    let (gchanges, _, _) = delta_round(&token, &glink).await;
    assert_eq!(ids_of(&json!({ "value": gchanges })), [guid(6000)]);
    let (contacts, _, _) = delta_round(&token, &format!("{base}/beta/contacts/delta")).await;
    assert_eq!(ids_of(&json!({ "value": contacts })), [guid(5000)]);
}
