//! Webhook endpoints: registering with a secret shown once, the address guard, editing,
//! rotating with an overlap, isolation and the per-user limit.

use postpilot_core::Error;
use postpilot_core::event::signature::{sign, verify};
use postpilot_core::event::{
    EndpointPatch, EventType, MAX_ENDPOINTS, NewEndpointRequest, ROTATION_OVERLAP,
};

use crate::test_engine::TestEngine;

fn request(url: &str) -> NewEndpointRequest {
    NewEndpointRequest {
        url: url.into(),
        event_types: vec!["post.published".into(), "post.failed".into()],
        description: "order system".into(),
    }
}

#[tokio::test]
async fn a_registered_endpoint_shows_its_secret_once_and_stores_it_sealed() {
    let e = TestEngine::new();
    let user = e.user("hooks@example.com").await;

    let created = e
        .endpoints()
        .create(user.id(), request("https://hooks.example.com/postpilot"))
        .await
        .unwrap();

    let secret = created.secret.reveal();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let stored = e
        .endpoints()
        .get(user.id(), created.endpoint.id())
        .await
        .unwrap();
    assert_eq!(stored, created.endpoint);
    assert_eq!(
        stored.event_types(),
        [EventType::PostPublished, EventType::PostFailed]
    );
    assert!(
        !stored.sealed_secret().contains(&secret[6..]),
        "sealed, not in the clear"
    );
    assert!(
        !format!("{stored:?}{}", serde_json::to_string(&stored).unwrap()).contains(&secret[6..])
    );
    let signing = e.endpoints().signing_secrets(&stored).unwrap();
    assert_eq!(signing, vec![created.secret]);
}

#[tokio::test]
async fn an_endpoint_reaching_an_internal_address_is_refused_naming_the_url() {
    let e = TestEngine::new();
    let user = e.user("hooks@example.com").await;
    for url in [
        "https://internal.example.com/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.7/hook",
        "http://hooks.example.com/hook",
        "https://unknown.example.com/hook",
        "ftp://hooks.example.com/hook",
    ] {
        let err = e
            .endpoints()
            .create(user.id(), request(url))
            .await
            .unwrap_err();
        match err {
            Error::Validation(v) => assert_eq!(v.field(), "url", "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(e.endpoints().list(user.id()).await.unwrap().is_empty());
}

#[tokio::test]
async fn rotating_a_secret_signs_with_both_until_the_overlap_ends() {
    let e = TestEngine::new();
    let user = e.user("hooks@example.com").await;
    let endpoints = e.endpoints();
    let created = endpoints
        .create(user.id(), request("https://hooks.example.com/in"))
        .await
        .unwrap();

    let rotated = endpoints
        .rotate_secret(user.id(), created.endpoint.id())
        .await
        .unwrap();

    assert_ne!(rotated.secret, created.secret);
    let body = br#"{"type":"post.published"}"#;
    let secrets = endpoints.signing_secrets(&rotated.endpoint).unwrap();
    let headers = sign("msg_1", e.now(), body, &secrets.iter().collect::<Vec<_>>());
    for receiver in [&created.secret, &rotated.secret] {
        verify(&headers, body, receiver, e.now()).unwrap();
    }
    e.advance(ROTATION_OVERLAP + chrono::Duration::seconds(1));
    let after = endpoints.signing_secrets(&rotated.endpoint).unwrap();
    assert_eq!(after, vec![rotated.secret]);
}

#[tokio::test]
async fn an_endpoint_is_edited_disabled_and_enabled_by_its_owner_only() {
    let e = TestEngine::new();
    let owner = e.user("hooks@example.com").await;
    let stranger = e.user("other@example.com").await;
    let endpoints = e.endpoints();
    let id = endpoints
        .create(owner.id(), request("https://hooks.example.com/in"))
        .await
        .unwrap()
        .endpoint
        .id();
    let patch = || EndpointPatch {
        url: Some("https://other.example.com/v2".into()),
        event_types: Some(Vec::new()),
        description: None,
        enabled: Some(false),
    };

    let theirs = endpoints.update(stranger.id(), id, patch()).await;
    assert!(matches!(theirs, Err(Error::NotFound(_))), "{theirs:?}");
    assert!(matches!(
        endpoints.delete(stranger.id(), id).await,
        Err(Error::NotFound(_))
    ));
    let edited = endpoints.update(owner.id(), id, patch()).await.unwrap();

    assert_eq!(edited.url().as_str(), "https://other.example.com/v2");
    assert_eq!(edited.description(), "order system");
    assert!(edited.is_disabled());
    assert!(!edited.receives(EventType::PostPublished));
    let internal = EndpointPatch {
        url: Some("https://internal.example.com/".into()),
        ..EndpointPatch::default()
    };
    assert!(matches!(
        endpoints.update(owner.id(), id, internal).await,
        Err(Error::Validation(_))
    ));
    let enable = EndpointPatch {
        enabled: Some(true),
        ..EndpointPatch::default()
    };
    let enabled = endpoints.update(owner.id(), id, enable).await.unwrap();
    assert!(
        enabled.receives(EventType::PlanLimitReached),
        "no types: every type"
    );
    endpoints.delete(owner.id(), id).await.unwrap();
    assert!(matches!(
        endpoints.get(owner.id(), id).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn a_user_registers_at_most_the_limit_of_endpoints() {
    let e = TestEngine::new();
    let user = e.user("hooks@example.com").await;
    for n in 0..MAX_ENDPOINTS {
        let url = format!("https://hooks.example.com/{n}");
        e.endpoints()
            .create(user.id(), request(&url))
            .await
            .unwrap();
    }

    let over = e
        .endpoints()
        .create(user.id(), request("https://hooks.example.com/over"))
        .await;

    assert!(matches!(over, Err(Error::Conflict(_))), "{over:?}");
    assert_eq!(
        e.endpoints().list(user.id()).await.unwrap().len(),
        MAX_ENDPOINTS as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_racing_an_edit_keeps_both_and_the_secret_it_answered_is_the_one_in_force() {
    let e = TestEngine::new();
    let user = e.user("hooks@example.com").await;
    let endpoints = e.endpoints();
    let id = endpoints
        .create(user.id(), request("https://hooks.example.com/in"))
        .await
        .unwrap()
        .endpoint
        .id();

    for round in 0..20 {
        let enabled = round % 2 == 0;
        let edit = EndpointPatch {
            enabled: Some(enabled),
            ..EndpointPatch::default()
        };
        let (rotated, edited) = tokio::join!(
            endpoints.rotate_secret(user.id(), id),
            endpoints.update(user.id(), id, edit)
        );
        edited.unwrap();
        let rotated = rotated.unwrap();

        let stored = endpoints.get(user.id(), id).await.unwrap();
        assert_eq!(
            stored.is_disabled(),
            !enabled,
            "round {round}: the edit was kept"
        );
        let signing = endpoints.signing_secrets(&stored).unwrap();
        assert_eq!(
            signing[0], rotated.secret,
            "round {round}: the rotation was kept"
        );
    }
}
