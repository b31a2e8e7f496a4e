//! The OpenAPI 3.1 document, generated from the handlers, and a docs page that needs nothing
//! from the network.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The document's fixed parts; paths and schemas are collected from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "PostPilot API",
        description = "Schedule social posts for dropshipping merchants. Errors are RFC 9457 \
                       `application/problem+json`; lists are `{items, total, page, per_page, \
                       next}`: ask for `?page=` or, to walk a long list, for `?after=` the \
                       previous page's `next` (keyset pagination, stable under inserts).",
        version = "1"
    ),
    modifiers(&SecuritySchemes),
    // Query parameters refer to these by name; request bodies register their own.
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::schema::PlatformName,
        crate::schema::PostStatusName,
        crate::schema::QueueStatusName,
        crate::schema::TimeZoneName
    ))
)]
pub(crate) struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A 15-minute HS256 access token from /auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A po_live_ key (pro and enterprise plans)",
            ))),
        );
    }
}

/// Completes what handler annotations would only repeat: a unique `operationId` per operation
/// (method and path), and the problem responses every operation of a kind can give — 422 for
/// any input, 400, 413 and 415 for a JSON body, 401 and 429 behind authentication, 403 where an
/// API key's scopes apply, 503 everywhere (timeouts, an unavailable store) — every one of them
/// as `application/problem+json`.
pub(crate) fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in &mut openapi.paths.paths {
        let ops = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let name: String = path
                .trim_start_matches("/api/v1/")
                .chars()
                .filter(|c| !matches!(c, '{' | '}'))
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            op.operation_id = Some(format!("{method}_{name}"));
            let security = serde_json::to_string(&op.security).unwrap_or_default();
            let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            };
            if method == "post"
                && authenticated
                && crate::idempotency::honours(&axum::http::Method::POST, path)
            {
                op.parameters
                    .get_or_insert_with(Vec::new)
                    .push(RefOr::T(idempotency_key()));
                add(
                    "409",
                    "A request with this Idempotency-Key is still running, or the state forbids it",
                );
                add(
                    "422",
                    "A field, query or path value is invalid (see `errors`), or the \
                     Idempotency-Key was used with another request",
                );
            }
            let has_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if has_input {
                add(
                    "422",
                    "A field, query or path value is invalid (see `errors`)",
                );
            }
            if op.request_body.is_some() {
                add("400", "The body is not valid JSON");
                add("413", "The body exceeds 1 MiB");
                add("415", "The body is not application/json");
            }
            if authenticated {
                add("401", "Missing or invalid credentials");
                add("429", "Rate limit exceeded (see Retry-After)");
            }
            if security.contains("api_key") {
                add(
                    "403",
                    "The API key lacks the route's scope, or the plan has no API access",
                );
            }
            add("503", "Timed out, or a dependency is unavailable");
            // Handler annotations say `body = Problem`, which utoipa files under
            // application/json; every error is served as application/problem+json.
            for (status, response) in &mut op.responses.responses {
                if let RefOr::T(response) = response
                    && !status.starts_with('2')
                    && !status.starts_with('3')
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert("application/problem+json".to_owned(), content);
                }
            }
        }
    }
}

/// The optional `Idempotency-Key` header of the POSTs that honour it ([`crate::idempotency`]).
fn idempotency_key() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "Your name for this request (a V4 UUID is usual). Sent again with the same request \
             within 24 hours, it answers the first response again (with `Idempotent-Replayed: \
             true`) instead of running twice; with another request it is 422; while the first \
             is still running, 409. Keys are yours alone.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(postpilot_core::idempotency::MAX_KEY_CHARS))
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

/// Writes the scopes each operation needs from an API key (the table the extractor enforces,
/// [`crate::scopes`]) into its `api_key` security requirement. An operation annotated as taking
/// API keys but absent from the table keeps an empty list (and refuses every key): the scope
/// matrix test fails on it.
pub(crate) fn publish_scopes(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    for (path, item) in &mut openapi.paths.paths {
        let ops = [
            (axum::http::Method::GET, item.get.as_mut()),
            (axum::http::Method::POST, item.post.as_mut()),
            (axum::http::Method::PUT, item.put.as_mut()),
            (axum::http::Method::PATCH, item.patch.as_mut()),
            (axum::http::Method::DELETE, item.delete.as_mut()),
        ];
        for (method, op) in ops {
            let Some(security) = op.and_then(|op| op.security.as_mut()) else {
                continue;
            };
            let takes_key = |r: &SecurityRequirement| {
                serde_json::to_value(r).is_ok_and(|v| v.get("api_key").is_some())
            };
            let Some(scopes) = crate::scopes::required(&method, path) else {
                continue;
            };
            if security.iter().any(takes_key) {
                security.retain(|r| !takes_key(r));
                security.push(SecurityRequirement::new(
                    "api_key",
                    scopes.iter().map(|s| s.as_str()),
                ));
            }
        }
    }
}

/// Links every creation — a `POST` on a collection answering 201 with the new item — to the
/// operations on that item (`{collection}/{id}…`), the id taken from the response body, so that a
/// client generator or a stateful tester (schemathesis) can follow a created post to its schedule,
/// a queue item to its approval, a key to its revocation.
pub(crate) fn link_creations(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let mut item_operations: Vec<(String, String)> = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let Some((collection, _)) = path.split_once("/{id}") else {
            continue;
        };
        let ops = [&item.get, &item.put, &item.post, &item.patch, &item.delete];
        for op in ops.into_iter().flatten() {
            if let Some(id) = &op.operation_id {
                item_operations.push((collection.to_owned(), id.clone()));
            }
        }
    }
    for (path, item) in &mut openapi.paths.paths {
        let Some(RefOr::T(created)) = item
            .post
            .as_mut()
            .and_then(|op| op.responses.responses.get_mut("201"))
        else {
            continue;
        };
        for (_, operation_id) in item_operations.iter().filter(|(c, _)| c == path) {
            created.links.insert(
                operation_id.clone(),
                RefOr::T(
                    LinkBuilder::new()
                        .operation_id(operation_id)
                        .parameter("id", "$response.body#/id")
                        .build(),
                ),
            );
        }
    }
}

/// A self-contained page rendering the document (no CDN, no build-time download). Its script and
/// styles are served beside it ([`DOCS_SCRIPT`], [`DOCS_STYLE`]) so that its
/// Content-Security-Policy ([`DOCS_CSP`]) needs no `unsafe-inline`.
pub(crate) const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PostPilot API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/app.css"></head><body><header><h1>PostPilot API</h1><div id="d"></div><a href="/api/v1/openapi.json">/api/v1/openapi.json</a></header><main id="api">Loading…</main>
<script src="/docs/app.js"></script></body></html>"#;

/// The docs page's script.
pub(crate) const DOCS_SCRIPT: &str = r#"fetch('/api/v1/openapi.json').then(r=>r.json()).then(doc=>{
 document.getElementById('d').textContent=doc.info.description||'';
 const main=document.getElementById('api');main.textContent='';
 const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
 for(const [path,item] of Object.entries(doc.paths)){for(const [method,op] of Object.entries(item)){
  const s=document.createElement('section');
  const codes=Object.keys(op.responses||{}).join(' · ');
  s.innerHTML=`<div><span class="m ${method}">${method}</span> <code>${esc(path)}</code> — ${esc(op.summary||op.description||'')}</div>
  <div><small>responses: ${codes}${op.security?' · auth: '+op.security.map(x=>Object.keys(x)).flat().join(' or '):''}</small></div>
  <details><summary>details</summary><pre>${esc(JSON.stringify(op,null,2))}</pre></details>`;
  main.appendChild(s);}}
}).catch(e=>{document.getElementById('api').textContent='Could not load the OpenAPI document: '+e});
"#;

/// The docs page's styles.
pub(crate) const DOCS_STYLE: &str = r#"body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f1f2e;background:#fdf7fb}
header{background:#ec4899;color:#fff;padding:1.2rem 2rem}h1{margin:0;font-size:1.5rem}
main{max-width:960px;margin:0 auto;padding:1rem 2rem}section{background:#fff;border-radius:10px;margin:.8rem 0;padding:.8rem 1.2rem;box-shadow:0 1px 3px #0001}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase;font-size:.8rem}
.get{color:#0a7}.post{color:#06c}.patch{color:#c70}.delete{color:#c23}
code{background:#f4eef3;padding:.1rem .3rem;border-radius:4px}details{margin:.3rem 0}pre{overflow:auto;background:#f7f3f6;padding:.6rem;border-radius:6px;font-size:.8rem}
"#;

/// The docs page's policy: its own script, styles and the document, nothing else.
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
