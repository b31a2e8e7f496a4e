//! The JWT negative matrix: every forged, altered, expired, misdirected or misused token is refused
//! with a 401 problem on a session route (`GET /auth/me`) and a caller route (`GET /posts`).

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::test_app::{self, JWT_SECRET, PASSWORD, Reply, TestApp};

/// Both kinds of protected route: session-only and session-or-key.
const PROTECTED: [&str; 2] = ["/api/v1/auth/me", "/api/v1/posts"];

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims the server issues, for `sub`, valid right now.
fn claims(sub: &str) -> Value {
    let now = now();
    json!({
        "sub": sub,
        "iss": "postpilot",
        "aud": "postpilot-api",
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "jti": Uuid::new_v4().to_string(),
        "typ": "access",
    })
}

/// `claims` with `key` set to `value`.
fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// `claims` without `key`.
fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn sign_with(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// An HS256 token with the server's secret: what the server would issue for `claims`.
fn sign(claims: &Value) -> String {
    sign_with(Algorithm::HS256, claims, JWT_SECRET)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A registered user's access token and id.
async fn user(app: &TestApp, email: &str) -> (String, String) {
    let token = app.token(email).await;
    let me = app
        .as_user(&token, Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    (token, me.body["id"].as_str().unwrap().to_owned())
}

async fn get(app: &TestApp, path: &str, authorization: &str) -> Reply {
    app.send(
        Method::GET,
        path,
        Some(("authorization", authorization)),
        None,
    )
    .await
}

/// Asserts `authorization` is refused with 401 problem+json on every protected route.
async fn assert_refused(app: &TestApp, case: &str, authorization: &str) {
    for path in PROTECTED {
        let reply = get(app, path, authorization).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case} on {path} was not refused: {:?}",
            reply.body
        );
        test_app::assert_problem(&reply, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.body["type"], "/problems/unauthorized",
            "{case} on {path}"
        );
        assert!(
            reply.headers.contains_key("www-authenticate"),
            "{case} on {path}: no WWW-Authenticate"
        );
    }
}

async fn assert_bearer_refused(app: &TestApp, case: &str, token: &str) {
    assert_refused(app, case, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn a_valid_access_token_and_a_token_built_like_the_servers_are_accepted() {
    let app = TestApp::new();
    let (issued, id) = user(&app, "control@example.com").await;
    for (case, token) in [("issued", issued), ("hand-built", sign(&claims(&id)))] {
        for path in PROTECTED {
            let reply = get(&app, path, &format!("Bearer {token}")).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{case} on {path}: {:?}",
                reply.body
            );
        }
        let me = get(&app, "/api/v1/auth/me", &format!("Bearer {token}")).await;
        assert_eq!(me.body["id"], json!(id), "{case}");
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::new();
    let (issued, id) = user(&app, "none@example.com").await;
    let payload = b64(&claims(&id));
    let valid_signature = issued.rsplit('.').next().unwrap().to_owned();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}));
        assert_bearer_refused(&app, &format!("alg {alg}"), &format!("{header}.{payload}.")).await;
        assert_bearer_refused(
            &app,
            &format!("alg {alg} without the trailing dot"),
            &format!("{header}.{payload}"),
        )
        .await;
        assert_bearer_refused(
            &app,
            &format!("alg {alg} with another token's signature"),
            &format!("{header}.{payload}.{valid_signature}"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_token_signed_with_hs384_or_hs512_and_the_same_secret_is_refused_because_hs256_is_pinned()
{
    let app = TestApp::new();
    let (_, id) = user(&app, "alg@example.com").await;
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign_with(alg, &claims(&id), JWT_SECRET);
        assert_bearer_refused(&app, &format!("{alg:?}"), &token).await;
    }
    // The header says HS256 but the signature is HS512's: still refused.
    let hs512 = sign_with(Algorithm::HS512, &claims(&id), JWT_SECRET);
    let mut parts = hs512.split('.');
    let (_, payload, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    let header = b64(&json!({"alg": "HS256", "typ": "JWT"}));
    assert_bearer_refused(
        &app,
        "HS256 header over an HS512 signature",
        &format!("{header}.{payload}.{signature}"),
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "expired@example.com").await;
    let now = now();
    for ago in [60, 3_600, 86_400 * 30] {
        let claims = json!({
            "sub": id, "iss": "postpilot", "aud": "postpilot-api",
            "exp": now - ago, "nbf": now - ago - 900, "iat": now - ago - 900,
            "jti": Uuid::new_v4().to_string(), "typ": "access",
        });
        assert_bearer_refused(&app, &format!("expired {ago} s ago"), &sign(&claims)).await;
    }
}

#[tokio::test]
async fn an_issued_token_expires_by_the_engines_clock_not_the_wall_clock() {
    let app = TestApp::new();
    let (token, _) = user(&app, "clock@example.com").await;
    // Within the lifetime (900 s) and the leeway (5 s) it is accepted…
    app.clock.advance(chrono::Duration::seconds(900));
    let reply = get(&app, "/api/v1/auth/me", &format!("Bearer {token}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    // …and past them it is refused, though no wall-clock time has passed.
    app.clock.advance(chrono::Duration::seconds(6));
    assert_bearer_refused(&app, "issued 906 s ago by the engine's clock", &token).await;
}

#[tokio::test]
async fn a_token_that_is_not_valid_yet_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "nbf@example.com").await;
    let now = now();
    for ahead in [60, 3_600] {
        let claims = with(claims(&id), "nbf", json!(now + ahead));
        let claims = with(claims, "exp", json!(now + ahead + 900));
        assert_bearer_refused(&app, &format!("nbf {ahead} s ahead"), &sign(&claims)).await;
    }
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "iss@example.com").await;
    for iss in [
        json!("attacker"),
        json!("Postpilot"),
        json!(""),
        json!(["postpilot"]),
    ] {
        assert_bearer_refused(
            &app,
            &format!("iss {iss}"),
            &sign(&with(claims(&id), "iss", iss.clone())),
        )
        .await;
    }
    assert_bearer_refused(&app, "no iss", &sign(&without(claims(&id), "iss"))).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "aud@example.com").await;
    for aud in [
        json!("other-api"),
        json!("postpilot"),
        json!(""),
        json!(["other-api"]),
    ] {
        assert_bearer_refused(
            &app,
            &format!("aud {aud}"),
            &sign(&with(claims(&id), "aud", aud.clone())),
        )
        .await;
    }
    assert_bearer_refused(&app, "no aud", &sign(&without(claims(&id), "aud"))).await;
}

#[tokio::test]
async fn a_token_missing_sub_exp_or_nbf_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "missing@example.com").await;
    for claim in ["sub", "exp", "nbf"] {
        assert_bearer_refused(
            &app,
            &format!("without {claim}"),
            &sign(&without(claims(&id), claim)),
        )
        .await;
    }
    assert_bearer_refused(
        &app,
        "sub not a uuid",
        &sign(&with(claims(&id), "sub", json!("admin"))),
    )
    .await;
    assert_bearer_refused(&app, "empty claims", &sign(&json!({}))).await;
}

#[tokio::test]
async fn a_token_whose_typ_is_not_access_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "typ@example.com").await;
    for typ in [json!("refresh"), json!("Access"), json!(""), json!(null)] {
        assert_bearer_refused(
            &app,
            &format!("typ {typ}"),
            &sign(&with(claims(&id), "typ", typ.clone())),
        )
        .await;
    }
    assert_bearer_refused(&app, "no typ", &sign(&without(claims(&id), "typ"))).await;
}

#[tokio::test]
async fn a_token_whose_header_typ_is_not_jwt_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "header-typ@example.com").await;
    for typ in [Some("at+jwt"), Some("jwt+refresh"), Some(""), None] {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        let token =
            jsonwebtoken::encode(&header, &claims(&id), &EncodingKey::from_secret(JWT_SECRET))
                .unwrap();
        assert_bearer_refused(&app, &format!("header typ {typ:?}"), &token).await;
    }
}

#[tokio::test]
async fn a_valid_token_signed_with_another_secret_is_refused() {
    let app = TestApp::new();
    let (_, id) = user(&app, "secret@example.com").await;
    for secret in [
        b"another-secret-another-secret-another".as_slice(),
        b"".as_slice(),
        &JWT_SECRET[..JWT_SECRET.len() - 1],
    ] {
        let token = sign_with(Algorithm::HS256, &claims(&id), secret);
        assert_bearer_refused(&app, &format!("secret of {} bytes", secret.len()), &token).await;
    }
}

#[tokio::test]
async fn a_token_with_a_tampered_signature_is_refused() {
    let app = TestApp::new();
    let (issued, _) = user(&app, "tamper-sig@example.com").await;
    let (signed, signature) = issued.rsplit_once('.').unwrap();
    // Flip a character in the middle (the last one may only carry padding bits).
    let mut chars: Vec<char> = signature.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    let flipped: String = chars.into_iter().collect();
    assert_bearer_refused(
        &app,
        "flipped signature char",
        &format!("{signed}.{flipped}"),
    )
    .await;
    assert_bearer_refused(&app, "empty signature", &format!("{signed}.")).await;
    assert_bearer_refused(
        &app,
        "truncated signature",
        &format!("{signed}.{}", &signature[..20]),
    )
    .await;
    // The issued token itself still works: only the tampering was refused.
    let reply = get(&app, "/api/v1/auth/me", &format!("Bearer {issued}")).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_whose_sub_was_changed_to_another_user_keeping_the_signature_is_refused() {
    let app = TestApp::new();
    let (mallory, _) = user(&app, "mallory@example.com").await;
    let (_, victim) = user(&app, "victim@example.com").await;
    let mut parts = mallory.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"] = json!(victim);
    let forged = format!("{header}.{}.{signature}", b64(&claims));
    assert_bearer_refused(&app, "sub changed to the victim", &forged).await;
    // Also with a longer expiry, the usual reason to tamper.
    claims["exp"] = json!(now() + 86_400 * 365);
    let forged = format!("{header}.{}.{signature}", b64(&claims));
    assert_bearer_refused(&app, "sub and exp changed", &forged).await;
}

#[tokio::test]
async fn garbage_and_empty_bearer_values_are_refused() {
    let app = TestApp::new();
    user(&app, "garbage@example.com").await;
    for token in [
        "garbage",
        "not.a.jwt",
        "a.b.c.d",
        "..",
        "...",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9..",
        "null",
        "undefined",
    ] {
        assert_bearer_refused(&app, &format!("bearer {token:?}"), token).await;
    }
    for value in [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Token abc",
        "",
        "Bearer\tabc",
    ] {
        assert_refused(&app, &format!("authorization {value:?}"), value).await;
    }
}

#[tokio::test]
async fn the_basic_scheme_is_refused_even_with_correct_credentials() {
    let app = TestApp::new();
    let (token, _) = user(&app, "basic@example.com").await;
    let credentials = STANDARD.encode(format!("basic@example.com:{PASSWORD}"));
    assert_refused(&app, "Basic credentials", &format!("Basic {credentials}")).await;
    // A valid access token under another scheme is not a bearer token either.
    assert_refused(
        &app,
        "Basic with an access token",
        &format!("Basic {token}"),
    )
    .await;
}

#[tokio::test]
async fn a_refresh_token_used_as_a_bearer_token_is_refused() {
    let app = TestApp::new();
    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "refresh@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_bearer_refused(&app, "refresh token", &refresh).await;
    // The refresh token itself is still good for its purpose afterwards.
    let rotated = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
}

/// The code answers 404 on `/auth/me` (the signature is valid, so the caller is authenticated;
/// the profile is not found) and an empty list on `/posts`: a correctly signed token for a user
/// that does not exist can only come from the server's own secret.
#[tokio::test]
async fn a_valid_token_for_a_user_that_does_not_exist_is_404_on_me() {
    let app = TestApp::new();
    let token = sign(&claims(&Uuid::new_v4().to_string()));
    let reply = get(&app, "/api/v1/auth/me", &format!("Bearer {token}")).await;
    test_app::assert_problem(&reply, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["type"], "/problems/not-found");
    let posts = get(&app, "/api/v1/posts", &format!("Bearer {token}")).await;
    assert_eq!(posts.status, StatusCode::OK, "{:?}", posts.body);
    assert_eq!(posts.body["total"], 0);
}
