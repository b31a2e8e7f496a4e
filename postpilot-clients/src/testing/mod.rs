//! Local fakes of the platforms' APIs, speaking their documented shapes: [`FakeInstagram`]
//! (the Instagram API with Instagram Login), [`FakeFacebook`] (Pages through the Graph API,
//! and Facebook Login), [`FakeTikTok`] (the Content Posting API), [`FakeLlm`] (Anthropic's
//! Messages API and OpenAI's chat completions) and [`FakeStripe`] (customers, Checkout, the
//! Billing Portal, subscriptions and their events). Each is a stateful axum server on a free local port; faults can be
//! queued per call, and a publication can be made to take effect without an answer.
//!
//! For tests (feature `testing`): this crate's, and the server's end-to-end test.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    missing_docs,
    missing_debug_implementations
)]

mod facebook;
mod instagram;
mod llm;
mod stripe;
mod tiktok;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use facebook::{
    FAKE_PAGE, FAKE_PAGE_NAME, FAKE_PAGE_TOKEN, FAKE_SECOND_PAGE, FAKE_SECOND_PAGE_TOKEN,
    FakeFacebook, FbCall, FbPost,
};
pub use instagram::{Call, Container, FAKE_IG_USER, FAKE_USERNAME, FakeInstagram, Media, Seen};
pub use llm::{FAKE_LLM_KEY, FakeLlm, LlmCall, LlmReply, default_answer};
pub use stripe::{FAKE_PRICE_ENTERPRISE, FAKE_PRICE_PRO, FAKE_STRIPE_KEY, FakeStripe, StripeCall};
pub use tiktok::{
    FAKE_TIKTOK_CLIENT_KEY, FAKE_TIKTOK_CLIENT_SECRET, FAKE_TIKTOK_OPEN_ID, FakeTikTok, TtCall,
    TtPublication, tiktok_answer,
};

/// The Meta app both fakes know.
pub const FAKE_APP_ID: &str = "990000000000001";
pub const FAKE_APP_SECRET: &str = "fake-app-secret";

/// Meta's error envelope.
pub fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGh"
    });
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    json!({ "error": error })
}

/// Serves `app` on a free local port; its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn answer(status: u16, headers: HeaderMap, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, headers, axum::Json(body)).into_response()
}
