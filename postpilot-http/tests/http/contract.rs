//! Response contract: every answer the router gives must be one its OpenAPI document
//! (`postpilot_http::openapi()`) declares.
//!
//! A realistic session is walked through the router (no socket) and every exchange is recorded;
//! each response is then checked against the document:
//!
//! 1. the operation is found by method and path template (`/api/v1/posts/{id}` matches
//!    `/api/v1/posts/7c…`; a template with more literal segments wins, so `/posts/calendar` is not
//!    taken for `/posts/{id}`);
//! 2. the response is found by its status code, and the status must be declared for that
//!    operation — with one **global rule** for cross-cutting layers: `429` (rate limiter),
//!    `500` (panic catcher) and `503` (request timeout, unavailable store) are accepted on any
//!    operation that does not declare them, provided the body is a `Problem` served as
//!    `application/problem+json`. Likewise a path that matches no template must answer `404`
//!    and a known path with an undeclared method must answer `405`, both with a `Problem` body
//!    (the router's fallbacks). Every other status must be declared by the operation;
//! 3. the body is validated against the declared schema by the `jsonschema` crate (draft
//!    2020-12, OpenAPI 3.1's dialect; `$ref`s resolve into the document's `components`, and
//!    nothing is ever fetched). `application/problem+json` and `application/json` are treated
//!    as the same media type, since utoipa declares problem bodies as `application/json`. A
//!    response declared without content must have no body.
//!
//! Formats are asserted, not only annotated: JSON Schema's string formats (`date-time`, `date`,
//! `uuid`, …) must parse, and the OpenAPI registry's `int32`/`int64` must fit.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::SecondsFormat;
use serde_json::{Value, json};

use crate::test_app::{PASSWORD, Reply, TestApp};

// ------------------------------------------------------------------------------------------
// The contract: a document, a path matcher and a schema validator.
// ------------------------------------------------------------------------------------------

/// Statuses a cross-cutting layer may give on any operation (see the module documentation).
const GLOBAL_STATUSES: &[u16] = &[429, 500, 503];

/// Deep enough for any real document, shallow enough to stop a `$ref` cycle between response
/// objects (a schema's own `$ref`s are the validator's business).
const MAX_DEPTH: usize = 64;

/// One request and its answer.
#[derive(Clone, Debug)]
struct Exchange {
    method: Method,
    /// The concrete path, query included.
    path: String,
    /// The JSON body sent, if any.
    request: Option<Value>,
    status: u16,
    /// The media type of the answer, without parameters.
    content_type: Option<String>,
    /// The answer's body; `None` when it was empty.
    body: Option<Value>,
}

impl Exchange {
    fn new(method: Method, path: &str, request: Option<Value>, reply: &Reply) -> Self {
        Self {
            method,
            path: path.to_owned(),
            request,
            status: reply.status.as_u16(),
            content_type: reply
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(media_type),
            body: (!reply.body.is_null()).then(|| reply.body.clone()),
        }
    }

    fn describe(&self) -> String {
        format!("{} {} → {}", self.method, self.path, self.status)
    }
}

fn media_type(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Where a concrete request lands in the document.
#[derive(Debug)]
enum Route<'a> {
    /// A declared operation.
    Operation {
        template: &'a str,
        operation: &'a Value,
    },
    /// A known path without this method.
    NoMethod { template: &'a str },
    /// No template matches.
    NoPath,
}

/// An OpenAPI document to check exchanges against.
struct Contract {
    doc: Value,
}

impl Contract {
    /// The document of the router under test.
    fn of_router() -> Self {
        Self::from_document(serde_json::to_value(postpilot_http::openapi()).unwrap())
    }

    fn from_document(doc: Value) -> Self {
        Self { doc }
    }

    fn paths(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every `(method, template, operation)` of the document.
    fn operations(&self) -> Vec<(String, &str, &Value)> {
        let mut out = Vec::new();
        for (template, item) in self.paths() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if matches!(
                    method.as_str(),
                    "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
                ) {
                    out.push((method.clone(), template, operation));
                }
            }
        }
        out
    }

    /// Resolves a local reference (`#/components/schemas/Post`).
    fn resolve(&self, reference: &str) -> Result<&Value, String> {
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("only local references are supported, got {reference:?}"))?;
        self.doc
            .pointer(pointer)
            .ok_or_else(|| format!("the reference {reference:?} does not resolve"))
    }

    /// Follows a `$ref` at the top of an object (responses, request bodies).
    fn deref<'a>(&'a self, value: &'a Value) -> Result<&'a Value, String> {
        let mut current = value;
        for _ in 0..MAX_DEPTH {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => current = self.resolve(reference)?,
                None => return Ok(current),
            }
        }
        Err("a $ref cycle".into())
    }

    /// The operation a concrete `path` (query allowed) and `method` reach.
    fn route(&self, method: &Method, path: &str) -> Route<'_> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let concrete: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, item) in self.paths() {
            let segments: Vec<&str> = template.split('/').collect();
            if segments.len() != concrete.len() {
                continue;
            }
            let mut literal = 0;
            let matched = segments.iter().zip(&concrete).all(|(t, c)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !c.is_empty()
                } else if t == c {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if matched && best.is_none_or(|(score, _, _)| literal > score) {
                best = Some((literal, template, item));
            }
        }
        match best {
            None => Route::NoPath,
            Some((_, template, item)) => match item.get(method.as_str().to_ascii_lowercase()) {
                Some(operation) => Route::Operation {
                    template,
                    operation,
                },
                None => Route::NoMethod { template },
            },
        }
    }

    /// Every way `exchange`'s answer departs from the document.
    fn check_response(&self, exchange: &Exchange) -> Vec<String> {
        let mut errors = Vec::new();
        let status = exchange.status;
        match self.route(&exchange.method, &exchange.path) {
            Route::NoPath if status == 404 => self.check_problem(exchange, &mut errors),
            Route::NoPath => errors.push(format!(
                "the path {:?} is not in the document, yet it answered {status}",
                exchange.path
            )),
            Route::NoMethod { .. } if status == 405 => self.check_problem(exchange, &mut errors),
            Route::NoMethod { template } => errors.push(format!(
                "{} {template} is not in the document, yet it answered {status} (expected 405)",
                exchange.method
            )),
            Route::Operation {
                template,
                operation,
            } => {
                let responses = &operation["responses"];
                let declared = responses
                    .get(status.to_string())
                    .or_else(|| responses.get(format!("{}XX", status / 100)))
                    .or_else(|| responses.get("default"));
                match declared {
                    Some(response) => match self.deref(response) {
                        Ok(response) => self.check_declared(exchange, response, &mut errors),
                        Err(e) => errors.push(e),
                    },
                    None if GLOBAL_STATUSES.contains(&status) => {
                        self.check_problem(exchange, &mut errors);
                    }
                    None => {
                        let known: Vec<&String> = responses
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| k)
                            .collect();
                        errors.push(format!(
                            "status {status} is not documented for {} {template} (documented: {known:?})",
                            exchange.method
                        ));
                    }
                }
            }
        }
        errors
            .into_iter()
            .map(|e| format!("{}: {e}", exchange.describe()))
            .collect()
    }

    /// Checks an answer against a declared response object.
    fn check_declared(&self, exchange: &Exchange, response: &Value, errors: &mut Vec<String>) {
        let content = response
            .get("content")
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty());
        let Some(content) = content else {
            if let Some(body) = &exchange.body {
                errors.push(format!("documented without a body, but answered {body}"));
            }
            return;
        };
        let Some(body) = &exchange.body else {
            errors.push("documented with a body, but answered none".into());
            return;
        };
        let Some(actual) = exchange.content_type.as_deref() else {
            errors.push("a body without a content type".into());
            return;
        };
        let equivalent = match actual {
            "application/problem+json" => Some("application/json"),
            "application/json" => Some("application/problem+json"),
            _ => None,
        };
        let media = content
            .get(actual)
            .or_else(|| equivalent.and_then(|e| content.get(e)));
        let Some(media) = media else {
            let known: Vec<&String> = content.keys().collect();
            errors.push(format!(
                "the content type {actual:?} is not documented (documented: {known:?})"
            ));
            return;
        };
        if let Some(schema) = media.get("schema") {
            self.validate(schema, body, errors);
        }
    }

    /// Checks an answer given by a global rule: a `Problem` as `application/problem+json`.
    fn check_problem(&self, exchange: &Exchange, errors: &mut Vec<String>) {
        if exchange.content_type.as_deref() != Some("application/problem+json") {
            errors.push(format!(
                "a problem must be application/problem+json, got {:?}",
                exchange.content_type
            ));
        }
        match &exchange.body {
            None => errors.push("a problem without a body".into()),
            Some(body) => {
                self.validate(
                    &json!({"$ref": "#/components/schemas/Problem"}),
                    body,
                    errors,
                );
            }
        }
    }

    /// Every way `exchange`'s request body departs from the operation's declared request body.
    fn check_request(&self, exchange: &Exchange) -> Vec<String> {
        let mut errors = Vec::new();
        let Route::Operation { operation, .. } = self.route(&exchange.method, &exchange.path)
        else {
            return vec![format!("{}: no such operation", exchange.describe())];
        };
        match (operation.get("requestBody"), &exchange.request) {
            (None, None) => {}
            (None, Some(_)) => errors.push("sent a body to an operation that takes none".into()),
            (Some(_), None) => {}
            (Some(declared), Some(body)) => match self.deref(declared) {
                Err(e) => errors.push(e),
                Ok(declared) => match declared.pointer("/content/application~1json/schema") {
                    None => errors.push("no application/json request schema".into()),
                    Some(schema) => self.validate(schema, body, &mut errors),
                },
            },
        }
        errors
            .into_iter()
            .map(|e| format!("{} (request body): {e}", exchange.describe()))
            .collect()
    }

    /// Validates `value` against `schema`, a schema of this document, pushing one message per
    /// violation.
    ///
    /// The schema is compiled by `jsonschema` (draft 2020-12, the dialect of OpenAPI 3.1) inside
    /// a resource that carries the document's `components`, so its `$ref`s into
    /// `#/components/schemas` resolve in place; the validator is offline and retrieves nothing.
    /// A schema that does not compile is a violation too.
    fn validate(&self, schema: &Value, value: &Value, errors: &mut Vec<String>) {
        let resource = json!({
            "allOf": [schema],
            "components": self.doc["components"],
        });
        let validator = match jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .offline()
            .with_keyword("format", openapi_format)
            .build(&resource)
        {
            Ok(validator) => validator,
            Err(e) => {
                errors.push(format!("the schema {schema} does not compile: {e}"));
                return;
            }
        };
        errors.extend(validator.iter_errors(value).map(|e| {
            let at = e.instance_path();
            format!("{}: {e}", if at.is_empty() { "$" } else { at.as_str() })
        }));
    }
}

/// `format` as OpenAPI 3.1 reads it: asserted, not only annotated — JSON Schema's formats on
/// strings (`date-time`, `date`, `uuid`, …), and the OpenAPI format registry's `int32` and
/// `int64` on numbers, which JSON Schema does not know. Any other format on any other value
/// passes, as JSON Schema has it.
fn openapi_format<'a>(
    _parent: &'a serde_json::Map<String, Value>,
    name: &'a Value,
    _at: jsonschema::paths::Location,
) -> Result<Box<dyn for<'i> jsonschema::Keyword<'i>>, jsonschema::ValidationError<'a>> {
    let strings = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .offline()
        .should_validate_formats(true)
        .build(&json!({"format": name}))
        .map_err(|e| jsonschema::ValidationError::custom(e.to_string()))?;
    Ok(Box::new(OpenApiFormat {
        name: name.as_str().unwrap_or_default().to_owned(),
        strings,
    }))
}

struct OpenApiFormat {
    name: String,
    /// The built-in check of this format, for strings.
    strings: jsonschema::Validator,
}

impl<'i> jsonschema::Keyword<'i> for OpenApiFormat {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(jsonschema::ValidationError::custom(format!(
                "{instance} is not a valid {:?}",
                self.name
            )))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        match (self.name.as_str(), instance) {
            ("int32", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ("int64", Value::Number(n)) => n.as_i64().is_some(),
            _ => self.strings.is_valid(instance),
        }
    }
}

// ------------------------------------------------------------------------------------------
// A recorded session.
// ------------------------------------------------------------------------------------------

/// Who makes a request.
#[derive(Clone, Copy, Debug)]
enum As<'a> {
    Anonymous,
    Bearer(&'a str),
    Key(&'a str),
}

/// A client of the test router that records every exchange.
struct Session<'a> {
    app: &'a TestApp,
    log: Vec<Exchange>,
}

impl<'a> Session<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            log: Vec::new(),
        }
    }

    /// Sends a request, records it and asserts its status; returns the answer's body.
    async fn expect(
        &mut self,
        status: StatusCode,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Value {
        let reply = match who {
            As::Anonymous => {
                self.app
                    .send(method.clone(), path, None, body.clone())
                    .await
            }
            As::Bearer(token) => {
                self.app
                    .as_user(token, method.clone(), path, body.clone())
                    .await
            }
            As::Key(key) => {
                self.app
                    .as_key(key, method.clone(), path, body.clone())
                    .await
            }
        };
        assert_eq!(
            reply.status, status,
            "{method} {path} answered {}: {}",
            reply.status, reply.body
        );
        self.log.push(Exchange::new(method, path, body, &reply));
        reply.body
    }

    /// Sends a prepared request and records it (its body is not checked as a request).
    async fn raw(&mut self, request: Request<Body>) -> Exchange {
        let method = request.method().clone();
        let path = request.uri().to_string();
        let reply = self.app.raw(request).await;
        let exchange = Exchange::new(method, &path, None, &reply);
        self.log.push(exchange.clone());
        exchange
    }
}

fn id(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_owned()
}

fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .to_owned()
}

/// The engine clock's now plus `minutes`, as RFC 3339.
fn later(app: &TestApp, minutes: i64) -> String {
    (app.now() + chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

const NOBODY: &str = "00000000-0000-4000-8000-000000000000";

fn product() -> Value {
    json!({
        "title": "Linen shirt",
        "description": "Breathable summer linen",
        "price": 39.9,
        "currency": "USD",
        "compare_at_price": 59.0,
        "url": "https://shop.example.com/p/linen",
        "image_urls": ["https://cdn.example.com/linen.jpg"],
        "features": ["100% linen"],
        "tags": ["summer"]
    })
}

/// A merchant's session through every area of the API, with the usual mistakes along the way.
#[allow(clippy::too_many_lines)]
async fn realistic_session(app: &TestApp) -> Vec<Exchange> {
    use As::{Anonymous, Bearer, Key};
    use Method as M;
    use StatusCode as S;
    let mut s = Session::new(app);

    // Public routes.
    s.expect(S::OK, M::GET, "/api/v1/health", Anonymous, None)
        .await;
    s.expect(S::OK, M::GET, "/api/v1/billing/plans", Anonymous, None)
        .await;

    // Registration, login, refresh.
    let credentials = json!({"email": "Owner@Example.com", "password": PASSWORD});
    let register = "/api/v1/auth/register";
    s.expect(
        S::CREATED,
        M::POST,
        register,
        Anonymous,
        Some(credentials.clone()),
    )
    .await;
    s.expect(S::CONFLICT, M::POST, register, Anonymous, Some(credentials))
        .await;
    let short = json!({"email": "short@example.com", "password": "short"});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        register,
        Anonymous,
        Some(short),
    )
    .await;
    let extra = json!({"email": "x@example.com", "password": PASSWORD, "admin": true});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        register,
        Anonymous,
        Some(extra),
    )
    .await;
    let rival = json!({"email": "rival@example.com", "password": PASSWORD});
    let rival = s
        .expect(S::CREATED, M::POST, register, Anonymous, Some(rival))
        .await;
    let rival = text(&rival, "access_token");

    let login = "/api/v1/auth/login";
    let owner = json!({"email": "owner@example.com", "password": PASSWORD});
    let pair = s
        .expect(S::OK, M::POST, login, Anonymous, Some(owner))
        .await;
    let wrong = json!({"email": "owner@example.com", "password": "not the password"});
    s.expect(S::UNAUTHORIZED, M::POST, login, Anonymous, Some(wrong))
        .await;
    let refresh = "/api/v1/auth/refresh";
    let body = json!({"refresh_token": text(&pair, "refresh_token")});
    let pair = s
        .expect(S::OK, M::POST, refresh, Anonymous, Some(body))
        .await;
    let forged = json!({"refresh_token": "not-a-refresh-token"});
    s.expect(S::UNAUTHORIZED, M::POST, refresh, Anonymous, Some(forged))
        .await;
    let token = text(&pair, "access_token");

    // Profile.
    let me = "/api/v1/auth/me";
    s.expect(S::OK, M::GET, me, Bearer(&token), None).await;
    s.expect(S::UNAUTHORIZED, M::GET, me, Anonymous, None).await;
    s.expect(
        S::UNAUTHORIZED,
        M::GET,
        "/api/v1/posts",
        Bearer("not.a.jwt"),
        None,
    )
    .await;
    let taken = json!({"email": "rival@example.com", "current_password": PASSWORD});
    s.expect(S::CONFLICT, M::PATCH, me, Bearer(&token), Some(taken))
        .await;
    let unknown = json!({"nickname": "shop"});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::PATCH,
        me,
        Bearer(&token),
        Some(unknown),
    )
    .await;
    let change = json!({"email": "merchant@example.com", "current_password": PASSWORD});
    s.expect(S::OK, M::PATCH, me, Bearer(&token), Some(change))
        .await;
    // New credentials end every session: log in again.
    let again = json!({"email": "merchant@example.com", "password": PASSWORD});
    let pair = s
        .expect(S::OK, M::POST, login, Anonymous, Some(again))
        .await;
    let token = text(&pair, "access_token");
    let owner = Bearer(&token);

    // The free plan's limits.
    let keys = "/api/v1/api-keys";
    let key_body = json!({"name": "storefront sync", "scopes": ["posts:read", "analytics:read"]});
    s.expect(
        S::PAYMENT_REQUIRED,
        M::POST,
        keys,
        owner,
        Some(key_body.clone()),
    )
    .await;
    let accounts = "/api/v1/accounts";
    let fb =
        json!({"platform": "facebook", "account_name": "@shop", "account_id_external": "fb-1"});
    let facebook = id(&s
        .expect(S::CREATED, M::POST, accounts, owner, Some(fb))
        .await);
    let ig = json!({"platform": "instagram", "account_name": "@shop.ig", "account_id_external": "ig-1",
                    "access_token": "ig-access", "refresh_token": "ig-refresh"});
    s.expect(
        S::PAYMENT_REQUIRED,
        M::POST,
        accounts,
        owner,
        Some(ig.clone()),
    )
    .await;
    let myspace =
        json!({"platform": "myspace", "account_name": "@shop", "account_id_external": "m-1"});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        accounts,
        owner,
        Some(myspace),
    )
    .await;

    // Billing.
    let subscription = "/api/v1/billing/subscription";
    s.expect(S::OK, M::GET, subscription, owner, None).await;
    let checkout = "/api/v1/billing/checkout";
    let platinum = json!({"plan": "platinum"});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        checkout,
        owner,
        Some(platinum),
    )
    .await;
    s.expect(
        S::UNAUTHORIZED,
        M::POST,
        checkout,
        Anonymous,
        Some(json!({"plan": "pro"})),
    )
    .await;
    s.expect(
        S::OK,
        M::POST,
        checkout,
        owner,
        Some(json!({"plan": "pro"})),
    )
    .await;
    let sub = s.expect(S::OK, M::GET, subscription, owner, None).await;
    assert_eq!(sub["plan"], "pro", "{sub}");
    s.expect(S::OK, M::POST, "/api/v1/billing/portal", owner, None)
        .await;

    // Accounts.
    let instagram = id(&s
        .expect(S::CREATED, M::POST, accounts, owner, Some(ig))
        .await);
    let tt =
        json!({"platform": "tiktok", "account_name": "@shop.tt", "account_id_external": "tt-1"});
    let tiktok = id(&s
        .expect(S::CREATED, M::POST, accounts, owner, Some(tt))
        .await);
    s.expect(S::OK, M::GET, accounts, owner, None).await;
    s.expect(
        S::OK,
        M::GET,
        "/api/v1/accounts?page=1&per_page=2",
        owner,
        None,
    )
    .await;
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::GET,
        "/api/v1/accounts?per_page=1000",
        owner,
        None,
    )
    .await;
    s.expect(
        S::OK,
        M::GET,
        &format!("{accounts}/{facebook}"),
        owner,
        None,
    )
    .await;
    s.expect(
        S::OK,
        M::DELETE,
        &format!("{accounts}/{tiktok}"),
        owner,
        None,
    )
    .await;
    s.expect(
        S::NOT_FOUND,
        M::GET,
        &format!("{accounts}/{NOBODY}"),
        owner,
        None,
    )
    .await;
    s.expect(
        S::NOT_FOUND,
        M::GET,
        &format!("{accounts}/{facebook}"),
        Bearer(&rival),
        None,
    )
    .await;

    // Posts.
    let posts = "/api/v1/posts";
    let draft = json!({"account_id": facebook, "content": "Summer drop",
                       "media_urls": ["https://cdn.example.com/a.jpg"], "hashtags": ["sale", "Summer"]});
    let draft = id(&s
        .expect(S::CREATED, M::POST, posts, owner, Some(draft))
        .await);
    let scheduled = json!({"account_id": instagram, "content": "Linen is back",
                           "media_urls": ["https://cdn.example.com/b.jpg"], "scheduled_for": later(app, 60)});
    s.expect(S::CREATED, M::POST, posts, owner, Some(scheduled))
        .await;
    let stranger = json!({"account_id": NOBODY, "content": "Hello"});
    s.expect(S::NOT_FOUND, M::POST, posts, owner, Some(stranger))
        .await;
    let bare = json!({"account_id": instagram, "content": "Instagram needs media"});
    s.expect(S::UNPROCESSABLE_ENTITY, M::POST, posts, owner, Some(bare))
        .await;
    let colour = json!({"account_id": facebook, "content": "Hello", "colour": "red"});
    s.expect(S::UNPROCESSABLE_ENTITY, M::POST, posts, owner, Some(colour))
        .await;
    s.expect(S::OK, M::GET, posts, owner, None).await;
    let filtered = "/api/v1/posts?status=scheduled&platform=instagram&page=1&per_page=10";
    let page = s.expect(S::OK, M::GET, filtered, owner, None).await;
    assert_eq!(page["total"], 1, "{page}");
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::GET,
        "/api/v1/posts?status=lost",
        owner,
        None,
    )
    .await;
    let one = format!("{posts}/{draft}");
    s.expect(S::OK, M::GET, &one, owner, None).await;
    let edit = json!({"content": "Summer drop, restocked", "hashtags": ["restock"]});
    s.expect(S::OK, M::PATCH, &one, owner, Some(edit)).await;
    let schedule = format!("{one}/schedule");
    let when = json!({"scheduled_for": later(app, 120)});
    let post = s.expect(S::OK, M::POST, &schedule, owner, Some(when)).await;
    assert_eq!(post["status"], "scheduled", "{post}");
    let past = json!({"scheduled_for": later(app, -60)});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        &schedule,
        owner,
        Some(past),
    )
    .await;
    let unschedule = json!({"scheduled_for": null});
    let post = s
        .expect(S::OK, M::PATCH, &one, owner, Some(unschedule))
        .await;
    assert_eq!(post["status"], "draft", "{post}");
    let today = app.now().date_naive();
    let week = today + chrono::Duration::days(7);
    let calendar = format!("{posts}/calendar?start_date={today}&end_date={week}");
    let days = s.expect(S::OK, M::GET, &calendar, owner, None).await;
    assert!(days.as_object().is_some_and(|d| !d.is_empty()), "{days}");
    let paris = format!("{calendar}&tz=Europe/Paris");
    s.expect(S::OK, M::GET, &paris, owner, None).await;
    let mars = format!("{calendar}&tz=Mars/Olympus");
    s.expect(S::UNPROCESSABLE_ENTITY, M::GET, &mars, owner, None)
        .await;
    let half = format!("{posts}/calendar?start_date={today}");
    s.expect(S::UNPROCESSABLE_ENTITY, M::GET, &half, owner, None)
        .await;
    s.expect(S::NO_CONTENT, M::DELETE, &one, owner, None).await;
    s.expect(S::NOT_FOUND, M::GET, &one, owner, None).await;
    s.expect(
        S::NOT_FOUND,
        M::GET,
        "/api/v1/posts/not-a-uuid",
        owner,
        None,
    )
    .await;

    // Publishing: a due post is published by a worker tick.
    let live = json!({"account_id": facebook, "content": "Flash sale today",
                      "media_urls": ["https://cdn.example.com/sale.mp4"], "scheduled_for": later(app, 30)});
    let live = id(&s
        .expect(S::CREATED, M::POST, posts, owner, Some(live))
        .await);
    app.clock.advance(chrono::Duration::hours(2));
    // Two hours on by the engine's clock, the access token has expired: refresh it.
    let body = json!({"refresh_token": text(&pair, "refresh_token")});
    let pair = s
        .expect(S::OK, M::POST, refresh, Anonymous, Some(body))
        .await;
    let token = text(&pair, "access_token");
    let owner = Bearer(&token);
    let report = app.publish_due().await;
    assert!(report.posted >= 2, "{report:?}");
    let live_path = format!("{posts}/{live}");
    let post = s.expect(S::OK, M::GET, &live_path, owner, None).await;
    assert_eq!(post["status"], "posted", "{post}");
    s.expect(S::CONFLICT, M::DELETE, &live_path, owner, None)
        .await;
    let late = json!({"content": "too late"});
    s.expect(S::CONFLICT, M::PATCH, &live_path, owner, Some(late))
        .await;
    // OAuth connect: this server has no OAuth provider, so the flow cannot start, and a
    // callback with a state it never issued is sent back to the app as expired.
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        "/api/v1/accounts/connect/instagram",
        owner,
        None,
    )
    .await;
    s.expect(
        S::SEE_OTHER,
        M::GET,
        "/api/v1/oauth/instagram/callback?code=abc&state=forged",
        Anonymous,
        None,
    )
    .await;
    let attempts = format!("{live_path}/attempts");
    let ledger = s.expect(S::OK, M::GET, &attempts, owner, None).await;
    assert_eq!(ledger["items"][0]["outcome"], "posted", "{ledger}");

    // Analytics.
    assert!(app.refresh_metrics().await >= 1);
    s.expect(S::OK, M::GET, "/api/v1/analytics/overview", owner, None)
        .await;
    let metrics = s
        .expect(S::OK, M::GET, "/api/v1/analytics/posts", owner, None)
        .await;
    assert!(
        metrics["total"].as_u64().is_some_and(|t| t >= 1),
        "{metrics}"
    );
    let analytics = format!("/api/v1/analytics/posts/{live}");
    s.expect(S::OK, M::GET, &analytics, owner, None).await;
    let missing = format!("/api/v1/analytics/posts/{NOBODY}");
    s.expect(S::NOT_FOUND, M::GET, &missing, owner, None).await;
    s.expect(
        S::UNAUTHORIZED,
        M::GET,
        "/api/v1/analytics/overview",
        Anonymous,
        None,
    )
    .await;

    // The content queue.
    let queue = "/api/v1/queue";
    let manual = json!({"product_data": product(), "platforms": ["facebook"],
                        "ai_generated_content": "Our linen shirt is back", "hashtags": ["linen"]});
    let manual = id(&s
        .expect(S::CREATED, M::POST, queue, owner, Some(manual))
        .await);
    let generate = format!("{queue}/generate");
    let wanted = json!({"product_data": product(), "platforms": ["instagram", "facebook"], "tone": "playful"});
    let generated = s
        .expect(S::CREATED, M::POST, &generate, owner, Some(wanted))
        .await;
    assert!(
        generated["ai_generated_content"]
            .as_str()
            .is_some_and(|c| c.contains("Linen shirt")),
        "{generated}"
    );
    let generated = id(&generated);
    let untitled = json!({"product_data": {"title": " "}, "platforms": ["instagram"]});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        &generate,
        owner,
        Some(untitled),
    )
    .await;
    let sarcastic =
        json!({"product_data": product(), "platforms": ["instagram"], "tone": "sarcastic"});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        &generate,
        owner,
        Some(sarcastic),
    )
    .await;
    s.expect(S::OK, M::GET, queue, owner, None).await;
    s.expect(
        S::OK,
        M::GET,
        "/api/v1/queue?status=pending&per_page=5",
        owner,
        None,
    )
    .await;
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::GET,
        "/api/v1/queue?status=lost",
        owner,
        None,
    )
    .await;
    let item = format!("{queue}/{generated}");
    s.expect(S::OK, M::GET, &item, owner, None).await;
    let edit = json!({"ai_generated_content": "Linen season is here", "platforms": ["instagram"]});
    s.expect(S::OK, M::PATCH, &item, owner, Some(edit.clone()))
        .await;
    let approve = json!({"account_ids": [instagram], "scheduled_for": later(app, 90)});
    let approval = s
        .expect(
            S::OK,
            M::POST,
            &format!("{item}/approve"),
            owner,
            Some(approve),
        )
        .await;
    assert_eq!(
        approval["posts"].as_array().map(Vec::len),
        Some(1),
        "{approval}"
    );
    s.expect(S::CONFLICT, M::PATCH, &item, owner, Some(edit))
        .await;
    let reject = format!("{item}/reject");
    s.expect(S::CONFLICT, M::POST, &reject, owner, Some(json!({})))
        .await;
    let manual_item = format!("{queue}/{manual}");
    let why = json!({"reason": "off brand"});
    let rejected = s
        .expect(
            S::OK,
            M::POST,
            &format!("{manual_item}/reject"),
            owner,
            Some(why),
        )
        .await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    let tone = json!({"tone": "luxury"});
    let again = s
        .expect(
            S::OK,
            M::POST,
            &format!("{manual_item}/regenerate"),
            owner,
            Some(tone),
        )
        .await;
    assert_eq!(again["status"], "pending", "{again}");
    s.expect(S::NO_CONTENT, M::DELETE, &manual_item, owner, None)
        .await;
    s.expect(S::NOT_FOUND, M::GET, &manual_item, owner, None)
        .await;
    let nowhere = format!("{queue}/{NOBODY}/approve");
    let approve = json!({"account_ids": [instagram]});
    s.expect(S::NOT_FOUND, M::POST, &nowhere, owner, Some(approve))
        .await;

    // API keys (pro plan now).
    let created = s
        .expect(S::CREATED, M::POST, keys, owner, Some(key_body))
        .await;
    let key = text(&created, "key");
    let key_id = id(&created);
    let bad_scope = json!({"name": "x", "scopes": ["everything"]});
    s.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        keys,
        owner,
        Some(bad_scope),
    )
    .await;
    s.expect(S::OK, M::GET, keys, owner, None).await;
    s.expect(S::OK, M::GET, "/api/v1/usage", Key(&key), None)
        .await;
    s.expect(S::OK, M::GET, posts, Key(&key), None).await;
    s.expect(S::UNAUTHORIZED, M::GET, keys, Key(&key), None)
        .await;
    s.expect(
        S::NO_CONTENT,
        M::DELETE,
        &format!("{keys}/{key_id}"),
        owner,
        None,
    )
    .await;
    s.expect(S::UNAUTHORIZED, M::GET, "/api/v1/usage", Key(&key), None)
        .await;
    s.expect(
        S::NOT_FOUND,
        M::DELETE,
        &format!("{keys}/{NOBODY}"),
        owner,
        None,
    )
    .await;

    // Usage.
    let usage = s.expect(S::OK, M::GET, "/api/v1/usage", owner, None).await;
    assert_eq!(usage["plan"], "pro", "{usage}");
    s.log
}

/// Every violation of the document in `log`'s responses, one line each.
fn response_violations(contract: &Contract, log: &[Exchange]) -> Vec<String> {
    log.iter()
        .flat_map(|e| contract.check_response(e))
        .collect()
}

fn assert_conforms(contract: &Contract, log: &[Exchange]) {
    let violations = response_violations(contract, log);
    assert!(
        violations.is_empty(),
        "{} response(s) depart from the OpenAPI document:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// The document itself.
// ------------------------------------------------------------------------------------------

/// DESIGN.md §6, relative to `/api/v1`.
const DESIGN_ROUTES: &[(&str, &str)] = &[
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
    ("get", "/auth/me"),
    ("patch", "/auth/me"),
    ("post", "/auth/provision"),
    ("get", "/accounts"),
    ("post", "/accounts"),
    ("get", "/accounts/{id}"),
    ("delete", "/accounts/{id}"),
    ("get", "/posts"),
    ("post", "/posts"),
    ("get", "/posts/{id}"),
    ("patch", "/posts/{id}"),
    ("delete", "/posts/{id}"),
    ("post", "/posts/{id}/schedule"),
    ("get", "/posts/{id}/attempts"),
    ("post", "/accounts/connect/{platform}"),
    ("get", "/oauth/{platform}/callback"),
    ("get", "/posts/calendar"),
    ("get", "/queue"),
    ("post", "/queue"),
    ("get", "/queue/{id}"),
    ("patch", "/queue/{id}"),
    ("delete", "/queue/{id}"),
    ("post", "/queue/generate"),
    ("post", "/queue/{id}/approve"),
    ("post", "/queue/{id}/reject"),
    ("get", "/analytics/overview"),
    ("get", "/analytics/posts"),
    ("get", "/analytics/posts/{id}"),
    ("get", "/billing/plans"),
    ("post", "/billing/checkout"),
    ("post", "/billing/portal"),
    ("get", "/billing/subscription"),
    ("post", "/api-keys"),
    ("get", "/api-keys"),
    ("delete", "/api-keys/{id}"),
    ("get", "/usage"),
    ("get", "/health"),
    ("post", "/webhooks/stripe"),
    ("post", "/webhooks/platform-events"),
];

/// Operations anyone may call without credentials.
const UNAUTHENTICATED: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/provision"),
    ("get", "/api/v1/billing/plans"),
    ("get", "/api/v1/health"),
    ("post", "/api/v1/webhooks/stripe"),
    ("post", "/api/v1/webhooks/platform-events"),
    // Authenticated by the sealed `state` it carries back (a browser redirect, no header).
    ("get", "/api/v1/oauth/{platform}/callback"),
];

/// Operations that cannot fail on the caller's side.
const PUBLIC: &[(&str, &str)] = &[("get", "/api/v1/billing/plans"), ("get", "/api/v1/health")];

#[test]
fn the_document_is_openapi_3_1() {
    let contract = Contract::of_router();
    let version = contract.doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");
    assert!(contract.doc["info"]["title"].is_string());
}

#[test]
fn platform_captions_are_documented_for_exactly_every_platform_and_never_as_null() {
    let doc = serde_json::to_value(postpilot_http::openapi()).unwrap();
    let schema = &doc["components"]["schemas"]["PlatformCaptionsSchema"];
    let mut documented: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut platforms: Vec<&str> = postpilot_core::platform::Platform::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    documented.sort_unstable();
    platforms.sort_unstable();
    assert_eq!(documented, platforms);
    assert_eq!(schema["additionalProperties"], false);
    for (name, property) in schema["properties"].as_object().unwrap() {
        assert!(
            !property.to_string().contains("\"null\""),
            "{name} may be null: {property}"
        );
    }
}

#[test]
fn the_document_lists_every_route_of_the_design() {
    let contract = Contract::of_router();
    let missing: Vec<String> = DESIGN_ROUTES
        .iter()
        .filter(|(method, path)| {
            contract.doc["paths"][format!("/api/v1{path}")]
                .get(*method)
                .is_none()
        })
        .map(|(method, path)| format!("{} /api/v1{path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "undocumented routes: {missing:?}");
}

#[test]
fn the_document_declares_the_bearer_and_api_key_security_schemes() {
    let contract = Contract::of_router();
    let schemes = &contract.doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http", "{schemes}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["api_key"]["type"], "apiKey", "{schemes}");
    assert_eq!(schemes["api_key"]["in"], "header", "{schemes}");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key", "{schemes}");
}

#[test]
fn every_protected_operation_requires_a_declared_security_scheme() {
    let contract = Contract::of_router();
    let schemes = &contract.doc["components"]["securitySchemes"];
    let mut problems = Vec::new();
    for (method, template, operation) in contract.operations() {
        let requirements = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for requirement in &requirements {
            for name in requirement
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                if schemes.get(name).is_none() {
                    problems.push(format!("{method} {template}: unknown scheme {name:?}"));
                }
            }
        }
        let open = UNAUTHENTICATED.contains(&(method.as_str(), template));
        if !open && requirements.is_empty() {
            problems.push(format!("{method} {template} declares no security"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_operation_but_the_public_ones_documents_a_4xx_problem() {
    let contract = Contract::of_router();
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let mut bare = Vec::new();
    for (method, template, operation) in contract.operations() {
        if PUBLIC.contains(&(method.as_str(), template)) {
            continue;
        }
        let documents_problem = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(status, _)| status.starts_with('4'))
            .any(|(_, response)| {
                let response = contract.deref(response).unwrap();
                response["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(media, _)| {
                        matches!(
                            media.as_str(),
                            "application/json" | "application/problem+json"
                        )
                    })
                    .any(|(_, media)| media["schema"] == problem)
            });
        if !documents_problem {
            bare.push(format!("{} {template}", method.to_uppercase()));
        }
    }
    assert!(
        bare.is_empty(),
        "operations without a 4xx problem response: {bare:?}"
    );
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn walk(contract: &Contract, value: &Value, at: &str, broken: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str)
                    && let Err(e) = contract.resolve(reference)
                {
                    broken.push(format!("{at}: {e}"));
                }
                for (k, v) in map {
                    walk(contract, v, &format!("{at}/{k}"), broken);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(contract, v, &format!("{at}/{i}"), broken);
                }
            }
            _ => {}
        }
    }
    let contract = Contract::of_router();
    let mut broken = Vec::new();
    walk(&contract, &contract.doc, "#", &mut broken);
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn every_creation_links_to_each_operation_on_the_created_item() {
    let contract = Contract::of_router();
    let operation_ids: BTreeSet<&str> = contract
        .operations()
        .into_iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    let links =
        |path: &str| contract.doc["paths"][path]["post"]["responses"]["201"]["links"].clone();

    let post_links = links("/api/v1/posts");
    for target in [
        "get_posts_id",
        "patch_posts_id",
        "delete_posts_id",
        "post_posts_id_schedule",
    ] {
        assert_eq!(post_links[target]["operationId"], target, "{post_links:#}");
        assert_eq!(post_links[target]["parameters"]["id"], "$response.body#/id");
    }
    assert!(links("/api/v1/queue")["post_queue_id_approve"].is_object());
    assert!(links("/api/v1/api-keys")["delete_api_keys_id"].is_object());
    for path in [
        "/api/v1/posts",
        "/api/v1/queue",
        "/api/v1/accounts",
        "/api/v1/api-keys",
    ] {
        for (name, link) in links(path).as_object().into_iter().flatten() {
            let target = link["operationId"].as_str().unwrap_or_default();
            assert!(
                operation_ids.contains(target),
                "{path} links {name} to unknown {target:?}"
            );
        }
    }
}

// Regression: utoipa derives operationId from the handler's function name, so `list`, `get`, `create`,
// `update` and `delete` are each shared by several operations; OpenAPI requires operation ids to
// be unique (client generators collide on them).
#[test]
fn operation_ids_are_unique() {
    let contract = Contract::of_router();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, template, operation) in contract.operations() {
        if let Some(operation_id) = operation["operationId"].as_str() {
            seen.entry(operation_id.to_owned())
                .or_default()
                .push(format!("{} {template}", method.to_uppercase()));
        }
    }
    let shared: BTreeMap<_, _> = seen.into_iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "operation ids used more than once: {shared:#?}"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::new();
    let reply = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        serde_json::to_value(postpilot_http::openapi()).unwrap()
    );
}

// ------------------------------------------------------------------------------------------
// The session against the document.
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_of_a_realistic_session_matches_the_document() {
    let app = TestApp::new();
    let log = realistic_session(&app).await;
    let contract = Contract::of_router();
    assert_conforms(&contract, &log);

    // The walk covered every route of the design but provisioning and the signed webhooks
    // (their own suites), and the error statuses it set out to.
    let reached: BTreeSet<(String, String)> = log
        .iter()
        .filter_map(|e| match contract.route(&e.method, &e.path) {
            Route::Operation { template, .. } => {
                Some((e.method.as_str().to_ascii_lowercase(), template.to_owned()))
            }
            _ => None,
        })
        .collect();
    let unreached: Vec<&(&str, &str)> = DESIGN_ROUTES
        .iter()
        .filter(|(_, path)| !path.starts_with("/webhooks") && *path != "/auth/provision")
        .filter(|(m, p)| !reached.contains(&((*m).to_owned(), format!("/api/v1{p}"))))
        .collect();
    assert!(unreached.is_empty(), "the session missed {unreached:?}");
    let statuses: BTreeSet<u16> = log.iter().map(|e| e.status).collect();
    for wanted in [200, 201, 204, 401, 402, 404, 409, 422] {
        assert!(statuses.contains(&wanted), "no {wanted} in {statuses:?}");
    }
}

// Regression: the request schemas of different handlers share names (`CreateBody` for posts, queue
// items and API keys; `PatchBody` for posts and queue items), so utoipa keeps one of each and
// `POST /queue`, `POST /api-keys` and `PATCH /queue/{id}` document the post schemas instead of
// their own.
#[tokio::test]
async fn every_request_body_the_session_sends_matches_its_documented_schema() {
    let app = TestApp::new();
    let log = realistic_session(&app).await;
    let contract = Contract::of_router();
    let violations: Vec<String> = log
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .flat_map(|e| contract.check_request(e))
        .collect();
    assert!(
        violations.is_empty(),
        "{} accepted request(s) depart from their documented schema:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// The check is live: the same session against a document that drifted from the router fails,
/// naming each drift.
#[tokio::test]
async fn a_document_that_drifts_from_the_router_is_caught() {
    let app = TestApp::new();
    let log = realistic_session(&app).await;
    let mut doc = serde_json::to_value(postpilot_http::openapi()).unwrap();
    let schemas = &mut doc["components"]["schemas"];
    schemas["Me"]["required"]
        .as_array_mut()
        .unwrap()
        .push(json!("nickname"));
    schemas["PostDto"]["properties"]["attempts"] = json!({"type": "string"});
    schemas["UsageDto"]["additionalProperties"] = json!(false);
    schemas["UsageDto"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("api_access");
    let delete = &mut doc["paths"]["/api/v1/posts/{id}"]["delete"]["responses"];
    delete.as_object_mut().unwrap().remove("204");
    let violations = response_violations(&Contract::from_document(doc), &log);
    for drift in [
        "GET /api/v1/auth/me → 200: $: \"nickname\" is a required property",
        "/attempts: 0 is not of type \"string\"",
        "GET /api/v1/usage → 200: $: Additional properties are not allowed ('api_access' was unexpected)",
        "→ 204: status 204 is not documented for DELETE /api/v1/posts/{id}",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(drift)),
            "{drift:?} not reported in:\n{}",
            violations.join("\n")
        );
    }
}

// ------------------------------------------------------------------------------------------
// Error answers the session does not reach.
// ------------------------------------------------------------------------------------------

async fn owner_with_account(app: &TestApp) -> (String, String) {
    let token = app.token("errors@example.com").await;
    let account = app.account(&token, "facebook", "fb-errors").await;
    (token, account)
}

fn json_request(method: Method, path: &str, token: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = TestApp::new();
    let mut s = Session::new(&app);
    let exchange = s
        .raw(
            Request::get("/api/v1/nothing-here")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(exchange.status, 404);
    assert_conforms(&Contract::of_router(), &s.log);
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_a_405_problem() {
    let app = TestApp::new();
    let (token, _) = owner_with_account(&app).await;
    let mut s = Session::new(&app);
    let exchange = s
        .raw(json_request(Method::PUT, "/api/v1/posts", &token, "{}"))
        .await;
    assert_eq!(exchange.status, 405, "{exchange:?}");
    let exchange = s
        .raw(
            Request::delete("/api/v1/billing/plans")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(exchange.status, 405, "{exchange:?}");
    assert_conforms(&Contract::of_router(), &s.log);
}

// Regression: a body that is not JSON is answered 400 (problem+json), but no operation taking a JSON
// body documents 400.
#[tokio::test]
async fn a_malformed_json_body_is_a_documented_400_problem() {
    let app = TestApp::new();
    let (token, _) = owner_with_account(&app).await;
    let mut s = Session::new(&app);
    let exchange = s
        .raw(json_request(
            Method::POST,
            "/api/v1/posts",
            &token,
            "{\"content\": ",
        ))
        .await;
    assert_eq!(exchange.status, 400, "{exchange:?}");
    assert_conforms(&Contract::of_router(), &s.log);
}

// Regression: a body over 1 MiB is answered 413 (problem+json), but no operation documents 413.
#[tokio::test]
async fn an_oversized_body_is_a_documented_413_problem() {
    let app = TestApp::new();
    let (token, account) = owner_with_account(&app).await;
    let mut s = Session::new(&app);
    let huge =
        json!({"account_id": account, "content": "x".repeat(postpilot_http::MAX_BODY_BYTES + 1)});
    let exchange = s
        .raw(json_request(
            Method::POST,
            "/api/v1/posts",
            &token,
            huge.to_string(),
        ))
        .await;
    assert_eq!(exchange.status, 413, "{exchange:?}");
    assert_conforms(&Contract::of_router(), &s.log);
}

// Regression: a body sent without `Content-Type: application/json` is answered 415 (problem+json),
// but no operation documents 415.
#[tokio::test]
async fn a_body_that_is_not_declared_json_is_a_documented_415_problem() {
    let app = TestApp::new();
    let token = app.token("media@example.com").await;
    let mut s = Session::new(&app);
    let request = Request::post("/api/v1/queue/generate")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(Body::from("a linen shirt"))
        .unwrap();
    let exchange = s.raw(request).await;
    assert_eq!(exchange.status, 415, "{exchange:?}");
    assert_conforms(&Contract::of_router(), &s.log);
}

// Regression: an API key lacking a route's scope is answered 403 (problem+json), but none of the
// operations that accept API keys documents 403.
#[tokio::test]
async fn an_api_key_without_the_scope_is_a_documented_403_problem() {
    let app = TestApp::new();
    let token = app.token("scoped@example.com").await;
    app.upgrade(&token, "pro").await;
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "read only", "scopes": ["posts:read"]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let key = text(&created.body, "key");
    let mut s = Session::new(&app);
    let body = json!({"product_data": product(), "platforms": ["instagram"]});
    s.expect(
        StatusCode::FORBIDDEN,
        Method::POST,
        "/api/v1/queue/generate",
        As::Key(&key),
        Some(body),
    )
    .await;
    assert_conforms(&Contract::of_router(), &s.log);
}

#[tokio::test]
async fn an_undocumented_rate_limit_answer_is_accepted_as_a_problem_by_the_global_rule() {
    let app = TestApp::with_config(|c| postpilot_http::HttpConfig {
        rate_limit_per_min: 1,
        ..c
    });
    let token = app.token("busy@example.com").await;
    let mut s = Session::new(&app);
    s.expect(
        StatusCode::OK,
        Method::GET,
        "/api/v1/usage",
        As::Bearer(&token),
        None,
    )
    .await;
    s.expect(
        StatusCode::TOO_MANY_REQUESTS,
        Method::GET,
        "/api/v1/usage",
        As::Bearer(&token),
        None,
    )
    .await;
    assert_conforms(&Contract::of_router(), &s.log);
}

// ------------------------------------------------------------------------------------------
// The validator itself.
// ------------------------------------------------------------------------------------------

/// A tiny document: one operation answering a `Thing` (200) or a `Problem` (404).
fn toy_contract() -> Contract {
    Contract::from_document(json!({
        "openapi": "3.1.0",
        "paths": {
            "/things/{id}": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "404": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }}},
            "/things/special": {"get": {"responses": {"204": {}}}}
        },
        "components": {"schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "name", "at", "tags"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "note": {"type": ["string", "null"]},
                    "count": {"type": "integer", "format": "int32", "minimum": 0},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "owner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Owner"}]},
                    "by_day": {"type": "object", "propertyNames": {"type": "string", "format": "date"},
                               "additionalProperties": {"type": "integer"}}
                },
                "additionalProperties": false
            },
            "Owner": {"allOf": [{"type": "object", "required": ["email"],
                                 "properties": {"email": {"type": "string"}}}]},
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                       "status": {"type": "integer"}, "detail": {"type": "string"}}}
        }}
    }))
}

fn thing() -> Value {
    json!({
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "name": "widget",
        "at": "2025-06-01T10:00:00Z",
        "note": null,
        "count": 3,
        "tags": ["x"],
        "kind": "a",
        "owner": {"email": "o@example.com"},
        "by_day": {"2025-06-01": 2}
    })
}

fn answer(path: &str, status: u16, content_type: &str, body: Option<Value>) -> Exchange {
    Exchange {
        method: Method::GET,
        path: path.to_owned(),
        request: None,
        status,
        content_type: body.as_ref().map(|_| content_type.to_owned()),
        body,
    }
}

fn violations_of(body: Value) -> Vec<String> {
    toy_contract().check_response(&answer(
        "/things/7c9e6679-7425-40de-944b-e07fc1f90ae7",
        200,
        "application/json",
        Some(body),
    ))
}

#[test]
fn the_validator_accepts_a_body_that_matches() {
    assert_eq!(violations_of(thing()), Vec::<String>::new());
    let mut minimal = thing();
    let object = minimal.as_object_mut().unwrap();
    for optional in ["note", "count", "kind", "owner", "by_day"] {
        object.remove(optional);
    }
    assert_eq!(violations_of(minimal), Vec::<String>::new());
}

#[test]
fn the_validator_rejects_a_missing_required_field() {
    let mut body = thing();
    body.as_object_mut().unwrap().remove("name");
    let errors = violations_of(body);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"name\" is a required property")),
        "{errors:?}"
    );
}

#[test]
fn the_validator_rejects_a_wrong_type() {
    for (field, wrong) in [
        ("name", json!(7)),
        ("tags", json!("x")),
        ("count", json!(1.5)),
        ("note", json!(false)),
        ("tags", json!([1])),
    ] {
        let mut body = thing();
        body[field] = wrong.clone();
        let errors = violations_of(body);
        assert!(!errors.is_empty(), "{field} = {wrong} passed");
    }
    assert!(!violations_of(json!([thing()])).is_empty());
}

#[test]
fn the_validator_rejects_malformed_formats_enums_and_bounds() {
    for (field, wrong) in [
        ("id", json!("not-a-uuid")),
        ("at", json!("yesterday")),
        ("at", json!("2025-06-01 10:00")),
        ("count", json!(-1)),
        ("count", json!(5_000_000_000_i64)),
        ("kind", json!("c")),
        ("by_day", json!({"June 1st": 2})),
        ("by_day", json!({"2025-06-01": "two"})),
    ] {
        let mut body = thing();
        body[field] = wrong.clone();
        let errors = violations_of(body);
        assert!(!errors.is_empty(), "{field} = {wrong} passed");
    }
}

#[test]
fn the_validator_rejects_undocumented_fields_when_additional_properties_is_false() {
    let mut body = thing();
    body["secret"] = json!("leaked");
    let errors = violations_of(body);
    assert!(
        errors.iter().any(|e| e.contains("'secret' was unexpected")),
        "{errors:?}"
    );
}

#[test]
fn the_validator_checks_one_of_and_all_of_branches() {
    let mut body = thing();
    body["owner"] = json!({"name": "no email"});
    let errors = violations_of(body);
    assert!(errors.iter().any(|e| e.contains("oneOf")), "{errors:?}");
}

#[test]
fn the_validator_rejects_an_undocumented_status() {
    let contract = toy_contract();
    let path = "/things/7c9e6679-7425-40de-944b-e07fc1f90ae7";
    let problem = json!({"type": "/problems/x", "title": "X", "status": 409, "detail": "d"});
    let errors = contract.check_response(&answer(
        path,
        409,
        "application/problem+json",
        Some(problem.clone()),
    ));
    assert!(
        errors.iter().any(|e| e.contains("409 is not documented")),
        "{errors:?}"
    );
    // A documented problem passes under either media type; 503 passes by the global rule.
    let found =
        json!({"type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "d"});
    for media in ["application/problem+json", "application/json"] {
        let ok = contract.check_response(&answer(path, 404, media, Some(found.clone())));
        assert_eq!(ok, Vec::<String>::new());
    }
    let ok = contract.check_response(&answer(
        path,
        503,
        "application/problem+json",
        Some(problem),
    ));
    assert_eq!(ok, Vec::<String>::new());
    // But a global-rule answer must still be a problem.
    let errors = contract.check_response(&answer(
        path,
        503,
        "application/problem+json",
        Some(json!({})),
    ));
    assert!(!errors.is_empty());
}

#[test]
fn the_validator_rejects_a_body_on_a_response_documented_without_one() {
    let contract = toy_contract();
    let errors = contract.check_response(&answer(
        "/things/special",
        204,
        "application/json",
        Some(json!({"unexpected": true})),
    ));
    assert!(!errors.is_empty());
    let ok = contract.check_response(&answer("/things/special", 204, "application/json", None));
    assert_eq!(ok, Vec::<String>::new());
}

#[test]
fn the_validator_prefers_literal_segments_to_templates_and_knows_unknown_paths() {
    let contract = toy_contract();
    assert!(matches!(
        contract.route(&Method::GET, "/things/special?x=1"),
        Route::Operation {
            template: "/things/special",
            ..
        }
    ));
    assert!(matches!(
        contract.route(&Method::GET, "/things/42"),
        Route::Operation {
            template: "/things/{id}",
            ..
        }
    ));
    assert!(matches!(
        contract.route(&Method::POST, "/things/42"),
        Route::NoMethod { .. }
    ));
    assert!(matches!(
        contract.route(&Method::GET, "/things"),
        Route::NoPath
    ));
    assert!(matches!(
        contract.route(&Method::GET, "/things/42/more"),
        Route::NoPath
    ));
}

// The hand-written validator this file had refused keywords it did not implement; `jsonschema`
// implements all of draft 2020-12, so a keyword utoipa does not emit today is enforced, not
// skipped, on the day it does.
#[test]
fn the_validator_enforces_keywords_utoipa_does_not_emit_today() {
    let contract = toy_contract();
    let schema = json!({
        "type": "object",
        "dependentRequired": {"a": ["b"]},
        "unevaluatedProperties": false,
        "properties": {"a": {}, "b": {}}
    });
    let mut errors = Vec::new();
    contract.validate(&schema, &json!({"a": 1, "b": 2}), &mut errors);
    assert_eq!(errors, Vec::<String>::new());
    for wrong in [json!({"a": 1}), json!({"b": 2, "c": 3})] {
        let mut errors = Vec::new();
        contract.validate(&schema, &wrong, &mut errors);
        assert!(!errors.is_empty(), "{wrong} passed");
    }
}

#[test]
fn every_error_response_is_documented_as_problem_json_and_every_input_can_give_422() {
    let contract = Contract::of_router();
    let mut problems = Vec::new();
    for (method, template, operation) in contract.operations() {
        let Some(responses) = operation["responses"].as_object() else {
            continue;
        };
        for (status, response) in responses {
            if status.starts_with('2') || status.starts_with('3') {
                continue;
            }
            let content = response["content"].as_object();
            let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
            if types != ["application/problem+json"] {
                problems.push(format!("{method} {template} {status}: {types:?}"));
            }
        }
        let has_input = operation.get("requestBody").is_some()
            || operation["parameters"]
                .as_array()
                .is_some_and(|p| !p.is_empty());
        if has_input && !responses.contains_key("422") {
            problems.push(format!(
                "{method} {template}: takes input but documents no 422"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every event a merchant's actions write is documented: its type has an entry under the
/// document's `webhooks`, and the body the worker would send (read from the outbox, as
/// written) is valid against that entry's request schema.
#[tokio::test]
async fn every_event_body_the_outbox_holds_matches_its_documented_webhook_schema() {
    let contract = Contract::of_router();
    let app = TestApp::new();
    let token = app.token("events@example.com").await;
    let endpoint = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": "https://93.184.216.34/hooks"})),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{:?}", endpoint.body);
    let account = app.account(&token, "facebook", "events").await;
    let at = (app.now() + chrono::Duration::minutes(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut scheduled = Vec::new();
    for caption in ["First drop", "Second drop"] {
        let reply = app
            .as_user(
                &token,
                Method::POST,
                "/api/v1/posts",
                Some(json!({"account_id": account, "content": caption, "media_urls": ["https://cdn.example.com/a.mp4"], "scheduled_for": at})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        scheduled.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let paused = app
        .as_user(
            &token,
            Method::POST,
            &format!("/api/v1/posts/{}/pause", scheduled[1]),
            Some(json!({"reason": "restocking"})),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{:?}", paused.body);
    app.publish_due_after(11 * 60).await;
    let item = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/queue",
            Some(json!({"product_data": {"title": "Glow Lamp", "id": "sku-1", "price": 19.99}, "platforms": ["facebook"], "ai_generated_content": "Meet the Glow Lamp"})),
        )
        .await;
    assert_eq!(item.status, StatusCode::CREATED, "{:?}", item.body);
    // The free plan's 10 posts a month: 2 so far, 8 drafts more reach 80 % and then all.
    for _ in 0..8 {
        app.post(&token, &account).await;
    }
    let user: postpilot_core::id::UserId = app.user_id(&token).await.parse().unwrap();
    let account_id = account.parse().unwrap();
    let store = app.engine.store().clone();
    store
        .mark_needs_reconnect(user, account_id, app.now())
        .await
        .unwrap();

    let claimed = store
        .claim_deliveries(
            app.now() + chrono::Duration::days(1),
            1_000,
            chrono::Duration::seconds(60),
        )
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for claim in &claimed {
        let kind = claim.event.kind.as_str();
        seen.insert(kind);
        let pointer = format!(
            "/webhooks/{}/post/requestBody/content/application~1json/schema",
            kind.replace('~', "~0").replace('/', "~1")
        );
        let Some(schema) = contract.doc.pointer(&pointer) else {
            errors.push(format!("{kind}: not documented under webhooks"));
            continue;
        };
        let body: Value = serde_json::from_str(&claim.event.body).unwrap();
        let mut found = Vec::new();
        contract.validate(schema, &body, &mut found);
        errors.extend(found.into_iter().map(|e| format!("{kind}: {e} in {body}")));
    }
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "account.connected",
            "account.needs_reconnect",
            "plan.limit_near",
            "plan.limit_reached",
            "post.paused",
            "post.published",
            "post.scheduled",
            "queue.item.generated",
        ]
    );
    let documented: Vec<&String> = contract.doc["webhooks"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        documented.len(),
        postpilot_core::event::EventType::ALL.len()
    );
}
