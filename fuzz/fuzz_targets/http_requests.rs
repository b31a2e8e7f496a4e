//! Whole requests through the router — the JSON extractors into domain types, JWT and API key
//! parsing, path and query extraction: any method, path, credential and body gives a response
//! below 500 (a panic would surface as the catch-panic layer's 500, or abort the run).
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use postpilot_core::Engine;
use postpilot_core::crypto::Argon2Hasher;
use postpilot_http::{AppState, HttpConfig};
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    router: Router,
    jwt: String,
    api_key: String,
    post_id: String,
}

/// Routes with `{}` where the fuzzer's segment goes; the rest of the surface is reached through
/// the fuzzed path itself.
const ROUTES: &[&str] = &[
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/me",
    "/api/v1/auth/provision",
    "/api/v1/accounts",
    "/api/v1/accounts/{}",
    "/api/v1/posts",
    "/api/v1/posts?{}",
    "/api/v1/posts/{}",
    "/api/v1/posts/{}/schedule",
    "/api/v1/posts/calendar?{}",
    "/api/v1/queue",
    "/api/v1/queue?{}",
    "/api/v1/queue/generate",
    "/api/v1/queue/{}",
    "/api/v1/queue/{}/approve",
    "/api/v1/queue/{}/reject",
    "/api/v1/queue/{}/regenerate",
    "/api/v1/api-keys",
    "/api/v1/api-keys/{}",
    "/api/v1/analytics/overview",
    "/api/v1/analytics/posts?{}",
    "/api/v1/analytics/posts/{}",
    "/api/v1/billing/checkout",
    "/api/v1/billing/portal",
    "/api/v1/billing/subscription",
    "/api/v1/billing/plans",
    "/api/v1/usage",
    "/api/v1/health",
    "/api/v1/webhooks/platform-events",
    "/api/v1/webhooks/stripe",
    "/{}",
];

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PATCH,
    Method::PUT,
    Method::DELETE,
];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let engine = Engine::builder()
            .simulated()
            .hasher(Arc::new(
                Argon2Hasher::with_params(64, 1, 1).unwrap_or_else(|e| panic!("{e}")),
            ))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let config = HttpConfig {
            platform_webhook_secret: Some("platform-secret".into()),
            stripe_webhook_secret: Some("whsec_fuzz".into()),
            rate_limit_per_min: u32::MAX,
            auth_rate_limit_per_min: u32::MAX,
            ..HttpConfig::new(b"fuzz-secret-fuzz-secret-fuzz-secret!".to_vec())
        };
        let router =
            postpilot_http::router(AppState::new(engine, config).unwrap_or_else(|e| panic!("{e}")));
        let (jwt, api_key, post_id) = runtime.block_on(async {
            let (_, reply) = send(
                &router,
                Method::POST,
                "/api/v1/auth/register",
                None,
                br#"{"email":"fuzz@example.com","password":"correct horse battery"}"#.to_vec(),
            )
            .await;
            let jwt = field(&reply, "access_token");
            let bearer = ("authorization", format!("Bearer {jwt}"));
            // Mock checkout upgrades at once; the pro plan has API access.
            send(
                &router,
                Method::POST,
                "/api/v1/billing/checkout",
                Some(bearer.clone()),
                br#"{"plan":"pro"}"#.to_vec(),
            )
            .await;
            let (_, reply) = send(
                &router,
                Method::POST,
                "/api/v1/api-keys",
                Some(bearer.clone()),
                br#"{"name":"fuzz"}"#.to_vec(),
            )
            .await;
            let api_key = field(&reply, "key");
            let (_, reply) = send(
                &router,
                Method::POST,
                "/api/v1/accounts",
                Some(bearer.clone()),
                br#"{"platform":"facebook","account_name":"@fuzz","account_id_external":"77"}"#
                    .to_vec(),
            )
            .await;
            let account = field(&reply, "id");
            let body = format!(r#"{{"account_id":"{account}","content":"hello"}}"#);
            let (_, reply) = send(
                &router,
                Method::POST,
                "/api/v1/posts",
                Some(bearer),
                body.into_bytes(),
            )
            .await;
            (jwt, api_key, field(&reply, "id"))
        });
        World {
            runtime,
            router,
            jwt,
            api_key,
            post_id,
        }
    })
}

fn field(reply: &[u8], name: &str) -> String {
    let value: serde_json::Value = serde_json::from_slice(reply).unwrap_or_default();
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
        .to_owned()
}

async fn send(
    router: &Router,
    method: Method,
    path: &str,
    auth: Option<(&'static str, String)>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some((name, value)) = auth {
        request = request.header(name, value);
    }
    let Ok(request) = request
        .header("content-type", "application/json")
        .body(Body::from(body))
    else {
        return (0, Vec::new()); // not a valid HTTP request at all: the server never sees it
    };
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (status, bytes)
}

fuzz_target!(|data: &[u8]| {
    let [route, method, auth, split, rest @ ..] = data else {
        return;
    };
    let world = world();
    let (segment, rest) = rest.split_at(usize::from(*split).min(rest.len()));
    let (credential, body) = rest.split_at(rest.len() / 4);
    let segment = String::from_utf8_lossy(segment);
    let segment = match segment.as_ref() {
        "p" => world.post_id.clone(),
        other => other.to_owned(),
    };
    let path = ROUTES[usize::from(*route) % ROUTES.len()].replace("{}", &segment);
    let credential = String::from_utf8_lossy(credential).into_owned();
    let auth = match auth % 5 {
        0 => None,
        1 => Some(("authorization", format!("Bearer {}", world.jwt))),
        2 => Some(("authorization", format!("Bearer {credential}"))),
        3 => Some(("x-api-key", world.api_key.clone())),
        _ => Some(("x-api-key", credential)),
    };
    let method = METHODS[usize::from(*method) % METHODS.len()].clone();
    let (status, reply) =
        world
            .runtime
            .block_on(send(&world.router, method, &path, auth, body.to_vec()));
    assert!(
        status < 500,
        "{path}: {status} {}",
        String::from_utf8_lossy(&reply)
    );
});
