//! `GET /metrics`: the workers' counters and publication lag in the Prometheus text format.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::test_app::TestApp;

#[tokio::test]
async fn metrics_expose_worker_counters_and_the_lag_of_published_posts() {
    let app = TestApp::new();
    let token = app.token("m@example.com").await;
    let account = app.account(&token, "facebook", "fb").await;
    let at = (app.now() + chrono::Duration::seconds(30)).to_rfc3339();
    let created = app
        .as_user(
            &token,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": account, "content": "Due soon", "scheduled_for": at})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    app.clock.advance(chrono::Duration::seconds(32));
    assert_eq!(app.publish_due().await.posted, 1);

    let reply = app.send(Method::GET, "/metrics", None, None).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        reply.headers
    );
    let text = reply.body.as_str().unwrap();
    assert!(
        text.contains("postpilot_worker_posted_total{worker=\"test-worker\"} 1"),
        "{text}"
    );
    assert!(text.contains("postpilot_worker_claimed_total{worker=\"test-worker\"} 1"));
    // Published 2 s after it fell due: in the 2 s bucket, not the 1 s one.
    assert!(
        text.contains("postpilot_publish_lag_seconds_bucket{worker=\"test-worker\",le=\"1\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("postpilot_publish_lag_seconds_bucket{worker=\"test-worker\",le=\"2\"} 1"),
        "{text}"
    );
    assert!(text.contains("postpilot_publish_lag_seconds_count{worker=\"test-worker\"} 1"));
}
