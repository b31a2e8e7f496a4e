//! `docs/API.md` is rendered from the OpenAPI document: this test fails when the two drift.
//! Regenerate with `UPDATE_API_DOC=1 cargo test -p postpilot-http --test http api_doc::`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn render(spec: &Value) -> String {
    let mut out = String::new();
    let title = spec["info"]["title"].as_str().unwrap_or("API");
    let version = spec["info"]["version"].as_str().unwrap_or("");
    let _ = writeln!(out, "# {title} — HTTP API reference (v{version})\n");
    let _ = writeln!(
        out,
        "Generated from the OpenAPI document (`GET /api/v1/openapi.json`, browsable at `/docs`) by\n\
         `postpilot-http/tests/http/api_doc.rs`; do not edit by hand. Regenerate with\n\
         `UPDATE_API_DOC=1 cargo test -p postpilot-http --test http api_doc::`.\n\n\
         Every error is an RFC 9457 `application/problem+json` body (`type`, `title`, `status`,\n\
         `detail`, and `errors` per field for validation failures). Authentication: `bearer` is a\n\
         JWT access token from `/auth/login`, `/auth/register` or `/auth/refresh`; `api_key` is an\n\
         `X-API-Key` header (pro and enterprise plans, scoped). Webhooks authenticate by their\n\
         HMAC signature header instead.\n\n\
         Retries: every POST a merchant makes (not `/auth/*`, webhooks, `/api-keys`, OAuth connect\n\
         or the billing portal, whose answers must not be kept) takes an optional\n\
         `Idempotency-Key` header (1 to 255 visible ASCII characters; a V4 UUID is usual). The same\n\
         key with the same request (method, path, JSON value of the body) within 24 hours answers\n\
         the first response again, with `Idempotent-Replayed: true`, and runs nothing; the same key\n\
         with another request is 422 (`errors[0].field` is `Idempotency-Key`); while the first\n\
         request runs, 409. Responses the route gave are kept, 4xx included, except 401, 403, 409,\n\
         429 and 5xx (a retry runs again). Keys are each caller's own.\n\n\
         Lists: every list answers `{{items, total, page, per_page, next}}` and takes `per_page`\n\
         (1 to 100, default 20), `page` (1-based) and `after`, the `next` of the page before: an\n\
         opaque cursor, the position of that page's last item. A list `after` a cursor starts\n\
         right after that item wherever it now is (keyset pagination; `page` then counts from\n\
         it): it costs the same at any depth, and items added meanwhile are neither repeated nor\n\
         skipped. `next` is `null` on the last page; a token that is not a cursor is 422.\n"
    );
    let mut by_tag: BTreeMap<String, Vec<(String, String, &Value)>> = BTreeMap::new();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                    by_tag
                        .entry(tag)
                        .or_default()
                        .push((path.clone(), method.to_uppercase(), op));
                }
            }
        }
    }
    for (tag, ops) in by_tag {
        let _ = writeln!(out, "## {tag}\n");
        let _ = writeln!(out, "| method | path | what | auth | success | errors |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for (path, method, op) in ops {
            let summary = op["summary"]
                .as_str()
                .or_else(|| op["description"].as_str())
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .replace('|', "\\|");
            let auth: Vec<String> = op["security"]
                .as_array()
                .map(|reqs| {
                    reqs.iter()
                        .filter_map(Value::as_object)
                        .flat_map(|r| r.keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            let auth = if auth.is_empty() {
                "—".to_owned()
            } else {
                auth.join(" or ")
            };
            let (ok, errors): (Vec<&String>, Vec<&String>) = op["responses"]
                .as_object()
                .map(|r| r.keys().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .partition(|code| code.starts_with('2') || code.starts_with('3'));
            let join = |codes: Vec<&String>| {
                codes
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "| {method} | `{path}` | {summary} | {auth} | {} | {} |",
                join(ok),
                join(errors)
            );
        }
        out.push('\n');
    }
    if let Some(webhooks) = spec["webhooks"].as_object() {
        let _ = writeln!(
            out,
            "## events sent (webhooks)\n\n\
             PostPilot `POST`s these to the endpoints merchants register (see `docs/EVENTS.md`),\n\
             signed as Standard Webhooks 1.0 specifies. Each body is `{{type, timestamp, version,\n\
             user_id, data}}`; its schema is the named component of the OpenAPI document.\n"
        );
        let _ = writeln!(out, "| event | body | what |");
        let _ = writeln!(out, "|---|---|---|");
        for (name, item) in webhooks {
            let op = &item["post"];
            let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or("");
            let what = op["description"]
                .as_str()
                .and_then(|d| d.split(" Sent signed").next())
                .unwrap_or("")
                .replace('|', "\\|");
            let _ = writeln!(out, "| `{name}` | `{body}` | {what} |");
        }
        out.push('\n');
    }
    out
}

#[test]
fn api_reference_matches_the_openapi_document() {
    let spec = serde_json::to_value(postpilot_http::openapi()).unwrap_or_else(|e| panic!("{e}"));
    let rendered = render(&spec);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md");
    if std::env::var_os("UPDATE_API_DOC").is_some() {
        std::fs::write(path, &rendered).unwrap_or_else(|e| panic!("{e}"));
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/API.md is out of date: run UPDATE_API_DOC=1 cargo test -p postpilot-http --test http api_doc::"
    );
    // Every operation of the document is in the reference.
    let operations = spec["paths"]
        .as_object()
        .map(|p| {
            p.values()
                .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
                .sum::<usize>()
        })
        .unwrap_or(0);
    let rows = rendered
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | `/"))
        .count();
    assert_eq!(rows, operations);
    assert!(
        operations > 20,
        "the document lists {operations} operations"
    );
}
