//! The pages behind mock billing's checkout and portal links: they answer with a small HTML
//! page (not a 404), echo nothing unescaped, stay out of the OpenAPI document, and exist only
//! when billing is the mock.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use postpilot_core::Engine;
use postpilot_core::billing::{
    BillingError, BillingEvent, BillingGateway, CheckoutRequest, CheckoutSession,
};
use postpilot_http::{AppState, HttpConfig};
use serde_json::json;

use crate::test_app::{self, JWT_SECRET, TestApp};

/// The path (and query) of an absolute link the server handed out.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").unwrap().1;
    &after_scheme[after_scheme.find('/').unwrap()..]
}

fn content_type(reply: &test_app::Reply) -> &str {
    reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_checkout_link_of_mock_billing_opens_an_html_page_saying_the_plan_is_active() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    let checkout = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/billing/checkout",
            Some(json!({"plan": "pro"})),
        )
        .await;
    assert_eq!(checkout.status, StatusCode::OK, "{:?}", checkout.body);
    let path = path_of(checkout.body["checkout_url"].as_str().unwrap()).to_owned();

    let page = app.send(Method::GET, &path, None, None).await;

    assert_eq!(page.status, StatusCode::OK, "GET {path}: {:?}", page.body);
    assert!(
        content_type(&page).starts_with("text/html"),
        "{:?}",
        page.headers
    );
    let html = page.body.as_str().unwrap();
    assert!(html.contains("mock billing"), "{html}");
    assert!(html.contains("<strong>pro</strong> plan was"), "{html}");
    assert!(html.contains("activated at once"), "{html}");
    assert!(html.contains("href=\"/docs\""), "{html}");
    assert!(!html.contains("<script"), "{html}");
}

#[tokio::test]
async fn the_portal_link_of_mock_billing_opens_an_html_page() {
    let app = TestApp::new();
    let token = app.token("a@example.com").await;
    app.upgrade(&token, "pro").await;
    let portal = app
        .as_user(&token, Method::POST, "/api/v1/billing/portal", None)
        .await;
    assert_eq!(portal.status, StatusCode::OK, "{:?}", portal.body);
    let path = path_of(portal.body["portal_url"].as_str().unwrap()).to_owned();

    let page = app.send(Method::GET, &path, None, None).await;

    assert_eq!(page.status, StatusCode::OK, "GET {path}: {:?}", page.body);
    assert!(content_type(&page).starts_with("text/html"));
    let html = page.body.as_str().unwrap();
    assert!(html.contains("Mock customer portal"), "{html}");
    assert!(html.contains("href=\"/docs\""), "{html}");
}

#[tokio::test]
async fn the_mock_pages_escape_the_path_and_never_echo_the_query() {
    let app = TestApp::new();

    let checkout = app
        .send(
            Method::GET,
            "/billing/mock/checkout/%3Cscript%3Ealert(1)%3C%2Fscript%3E%22?plan=%3Cimg%20src%3Dx%3E",
            None,
            None,
        )
        .await;
    let portal = app
        .send(
            Method::GET,
            "/billing/mock/portal/%3Cb%3E%26%27",
            None,
            None,
        )
        .await;

    assert_eq!(checkout.status, StatusCode::OK);
    let html = checkout.body.as_str().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"),
        "{html}"
    );
    assert!(html.contains("The plan you chose was"), "{html}");
    assert_eq!(portal.status, StatusCode::OK);
    let html = portal.body.as_str().unwrap();
    assert!(html.contains("&lt;b&gt;&amp;&#39;"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
}

#[tokio::test]
async fn the_mock_pages_forbid_scripts_and_outside_resources() {
    let app = TestApp::new();

    let page = app
        .send(Method::GET, "/billing/mock/portal/cus_mock_1", None, None)
        .await;

    assert_eq!(
        page.headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok()),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn the_mock_pages_are_not_in_the_openapi_document() {
    let app = TestApp::new();

    let reply = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let paths = reply.body["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    assert!(
        paths.keys().all(|p| !p.contains("mock")),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
}

/// A billing gateway that is not the mock (what a real provider client would be).
#[derive(Debug)]
struct ProviderBilling;

#[async_trait]
impl BillingGateway for ProviderBilling {
    fn is_mock(&self) -> bool {
        false
    }

    async fn create_customer(&self, _request: &CheckoutRequest) -> Result<String, BillingError> {
        Err(BillingError::NoCustomer)
    }

    async fn create_checkout(
        &self,
        _request: &CheckoutRequest,
    ) -> Result<CheckoutSession, BillingError> {
        Err(BillingError::NoCustomer)
    }

    async fn create_portal(&self, _customer_id: &str) -> Result<String, BillingError> {
        Err(BillingError::NoCustomer)
    }

    fn parse_event(&self, _payload: &[u8]) -> Result<BillingEvent, BillingError> {
        Err(BillingError::Malformed("not used".into()))
    }
}

#[tokio::test]
async fn without_mock_billing_the_mock_pages_do_not_exist() {
    let engine = Engine::builder()
        .simulated()
        .billing(Arc::new(ProviderBilling))
        .build()
        .unwrap();
    let router = postpilot_http::router(
        AppState::new(engine, HttpConfig::new(JWT_SECRET.to_vec())).unwrap(),
    );
    let app = TestApp {
        router,
        ..TestApp::new()
    };

    let checkout = app
        .send(Method::GET, "/billing/mock/checkout/cs_mock_1", None, None)
        .await;
    let portal = app
        .send(Method::GET, "/billing/mock/portal/cus_mock_1", None, None)
        .await;

    assert_eq!(checkout.status, StatusCode::NOT_FOUND);
    assert_eq!(portal.status, StatusCode::NOT_FOUND);
}
