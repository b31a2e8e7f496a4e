//! Social accounts: connecting within the plan limit, sealed tokens, soft disconnect, reconnect,
//! isolation between users, listing, and the validated name and external id.
//! Matches (and extends) the seed's `test_accounts.py`.

use chrono::Duration;
use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::crypto::SecretString;
use postpilot_core::id::AccountId;
use postpilot_core::page::PageRequest;
use postpilot_core::plan::PlanTier;
use postpilot_core::platform::Platform;
use postpilot_core::post::PostStatus;
use postpilot_core::publish::{DispatcherConfig, PublishError};
use postpilot_core::{Error, LimitedResource};

use crate::test_engine::{self, TestEngine, connect_request};

/// A connect request carrying OAuth tokens.
fn with_tokens(platform: Platform, external: &str, access: &str, refresh: &str) -> ConnectAccount {
    ConnectAccount {
        access_token: Some(SecretString::new(access)),
        refresh_token: Some(SecretString::new(refresh)),
        ..connect_request(platform, external)
    }
}

fn page(page: u32, per_page: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(per_page)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connecting_an_account_returns_it_connected_with_its_details() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;

    let account = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_1"))
        .await
        .unwrap();

    assert!(account.is_connected());
    assert!(!account.needs_reconnect());
    assert_eq!(account.user_id(), user.id());
    assert_eq!(account.platform(), Platform::Instagram);
    assert_eq!(account.account_name().as_ref(), "@shop_1");
    assert_eq!(account.account_id_external().as_ref(), "shop_1");
    assert_eq!(account.connected_at(), Some(e.now()));
    assert_eq!(account.created_at(), e.now());
}

#[tokio::test]
async fn a_connected_account_can_be_fetched_by_its_owner() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Facebook, "page_1").await;

    let fetched = e.accounts().get(user.id(), account.id()).await.unwrap();

    assert_eq!(fetched, account);
}

#[tokio::test]
async fn fetching_an_unknown_account_is_not_found() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;

    let err = e
        .accounts()
        .get(user.id(), AccountId::from_uuid(uuid::Uuid::new_v4()))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Tokens at rest
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn access_and_refresh_tokens_are_stored_only_sealed() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let connected = e
        .accounts()
        .connect(
            user.id(),
            with_tokens(
                Platform::Instagram,
                "shop_1",
                "plain-access-123",
                "plain-refresh-456",
            ),
        )
        .await
        .unwrap();

    let stored = e.accounts().get(user.id(), connected.id()).await.unwrap();

    let access = stored.access_token_enc().unwrap();
    let refresh = stored.refresh_token_enc().unwrap();
    assert!(access.starts_with("v1."), "{access}");
    assert!(refresh.starts_with("v1."), "{refresh}");
    assert!(!access.contains("plain-access-123"));
    assert!(!refresh.contains("plain-refresh-456"));
}

#[tokio::test]
async fn a_sealed_access_token_opens_back_to_the_plaintext() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e
        .accounts()
        .connect(
            user.id(),
            with_tokens(
                Platform::Tiktok,
                "shop_1",
                "plain-access-123",
                "plain-refresh-456",
            ),
        )
        .await
        .unwrap();

    let token = e
        .accounts()
        .access_token(user.id(), account.id())
        .await
        .unwrap();

    assert_eq!(token.unwrap().expose(), "plain-access-123");
}

#[tokio::test]
async fn an_account_connected_without_tokens_has_no_access_token() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "shop_1").await;

    let token = e
        .accounts()
        .access_token(user.id(), account.id())
        .await
        .unwrap();

    assert!(token.is_none());
    assert!(account.access_token_enc().is_none());
}

#[tokio::test]
async fn serialising_an_account_never_includes_its_tokens() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e
        .accounts()
        .connect(
            user.id(),
            with_tokens(
                Platform::Instagram,
                "shop_1",
                "plain-access-123",
                "plain-refresh-456",
            ),
        )
        .await
        .unwrap();

    let json = serde_json::to_value(&account).unwrap();

    let fields = json.as_object().unwrap();
    assert!(!fields.contains_key("access_token_enc"));
    assert!(!fields.contains_key("refresh_token_enc"));
    assert!(!fields.keys().any(|k| k.contains("token")), "{fields:?}");
    let text = json.to_string();
    assert!(!text.contains("plain-access-123"));
    assert!(!text.contains("v1."), "{text}");
}

#[tokio::test]
async fn reconnecting_with_new_tokens_replaces_the_sealed_tokens() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e
        .accounts()
        .connect(
            user.id(),
            with_tokens(Platform::Instagram, "shop_1", "old-token", "r1"),
        )
        .await
        .unwrap();
    e.accounts()
        .disconnect(user.id(), first.id())
        .await
        .unwrap();

    e.accounts()
        .connect(
            user.id(),
            with_tokens(Platform::Instagram, "shop_1", "new-token", "r2"),
        )
        .await
        .unwrap();

    let token = e
        .accounts()
        .access_token(user.id(), first.id())
        .await
        .unwrap();
    assert_eq!(token.unwrap().expose(), "new-token");
}

// ---------------------------------------------------------------------------------------------
// Plan limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn free_user_cannot_connect_a_second_account() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.connect(&user, Platform::Instagram, "shop_1").await;

    let err = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "page_1"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::ConnectedAccounts,
                limit: 1
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn pro_user_can_connect_ten_accounts_but_not_an_eleventh() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    for i in 0..10 {
        e.connect(&user, Platform::Instagram, &format!("shop_{i}"))
            .await;
    }

    let err = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_10"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::ConnectedAccounts,
                limit: 10
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn enterprise_user_can_connect_fifteen_accounts() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Enterprise).await;

    for i in 0..15 {
        e.accounts()
            .connect(
                user.id(),
                connect_request(Platform::Facebook, &format!("page_{i}")),
            )
            .await
            .unwrap();
    }

    let usage = e.usage().usage(user.id()).await.unwrap();
    assert_eq!(usage.connected_accounts, 15);
}

#[tokio::test]
async fn a_disconnected_account_frees_its_slot_for_another() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.accounts()
        .disconnect(user.id(), first.id())
        .await
        .unwrap();

    let second = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "page_1"))
        .await
        .unwrap();

    assert!(second.is_connected());
    assert_ne!(second.id(), first.id());
}

#[tokio::test]
async fn reconnecting_a_disconnected_account_is_refused_when_the_plan_is_full() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.accounts()
        .disconnect(user.id(), first.id())
        .await
        .unwrap();
    e.connect(&user, Platform::Facebook, "page_1").await;

    let err = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_1"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::PlanLimit {
                resource: LimitedResource::ConnectedAccounts,
                limit: 1
            }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reconnecting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reconnecting_the_same_account_reactivates_the_same_record() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.accounts()
        .disconnect(user.id(), first.id())
        .await
        .unwrap();
    e.advance(Duration::hours(1));

    let again = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_1"))
        .await
        .unwrap();

    assert_eq!(again.id(), first.id());
    assert!(again.is_connected());
    assert_eq!(again.created_at(), first.created_at());
    assert_eq!(again.connected_at(), Some(e.now()));
    let list = e
        .accounts()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 1);
}

#[tokio::test]
async fn reconnecting_an_account_takes_its_new_display_name() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;

    let again = e
        .accounts()
        .connect(
            user.id(),
            ConnectAccount {
                account_name: AccountName::parse("@renamed_shop").unwrap(),
                ..connect_request(Platform::Instagram, "shop_1")
            },
        )
        .await
        .unwrap();

    assert_eq!(again.id(), first.id());
    assert_eq!(again.account_name().as_ref(), "@renamed_shop");
}

#[tokio::test]
async fn connecting_an_already_connected_account_again_does_not_count_twice() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;

    // A free user is at the limit of 1, yet may refresh the connection of the same account.
    let again = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_1"))
        .await
        .unwrap();

    assert_eq!(again.id(), first.id());
    let usage = e.usage().usage(user.id()).await.unwrap();
    assert_eq!(usage.connected_accounts, 1);
}

#[tokio::test]
async fn the_same_external_id_on_another_platform_is_another_account() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let instagram = e.connect(&user, Platform::Instagram, "mybrand").await;

    let facebook = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Facebook, "mybrand"))
        .await
        .unwrap();

    assert_ne!(facebook.id(), instagram.id());
    let list = e
        .accounts()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 2);
}

#[tokio::test]
async fn the_same_external_id_under_another_user_is_another_account() {
    let e = TestEngine::new();
    let alice = e.user("alice@example.com").await;
    let bob = e.user("bob@example.com").await;
    let alices = e.connect(&alice, Platform::Instagram, "mybrand").await;

    let bobs = e
        .accounts()
        .connect(bob.id(), connect_request(Platform::Instagram, "mybrand"))
        .await
        .unwrap();

    assert_ne!(bobs.id(), alices.id());
    assert_eq!(bobs.user_id(), bob.id());
    assert!(
        e.accounts()
            .get(alice.id(), alices.id())
            .await
            .unwrap()
            .is_connected()
    );
}

#[tokio::test]
async fn reconnecting_an_account_the_platform_deauthorised_clears_needs_reconnect() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.instagram.fail_next(PublishError::AuthExpired);
    e.advance(Duration::minutes(2));
    e.dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(
        e.accounts()
            .get(user.id(), account.id())
            .await
            .unwrap()
            .needs_reconnect()
    );

    let again = e
        .accounts()
        .connect(user.id(), connect_request(Platform::Instagram, "shop_1"))
        .await
        .unwrap();

    assert_eq!(again.id(), account.id());
    assert!(!again.needs_reconnect());
    assert!(again.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_on_the_free_plan_connect_exactly_one_account() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let accounts = e.accounts();

    let owner = user.id();
    let attempts = (0..20).map(|i| {
        let accounts = accounts.clone();
        tokio::spawn(async move {
            accounts
                .connect(
                    owner,
                    connect_request(Platform::Facebook, &format!("page_{i}")),
                )
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;

    let connected = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r.as_ref().unwrap(),
                Err(Error::PlanLimit {
                    resource: LimitedResource::ConnectedAccounts,
                    ..
                })
            )
        })
        .count();
    assert_eq!((connected, refused), (1, 19));
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().connected_accounts,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Disconnecting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn disconnecting_clears_the_tokens_and_marks_the_account_disconnected() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e
        .accounts()
        .connect(
            user.id(),
            with_tokens(Platform::Instagram, "shop_1", "access", "refresh"),
        )
        .await
        .unwrap();

    let disconnected = e
        .accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    assert!(!disconnected.is_connected());
    assert!(disconnected.access_token_enc().is_none());
    assert!(disconnected.refresh_token_enc().is_none());
    let stored = e.accounts().get(user.id(), account.id()).await.unwrap();
    assert!(!stored.is_connected());
    assert!(stored.access_token_enc().is_none());
    assert!(stored.refresh_token_enc().is_none());
    assert!(
        e.accounts()
            .access_token(user.id(), account.id())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_disconnected_account_stays_in_the_list() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "shop_1").await;

    e.accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    let list = e
        .accounts()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].id(), account.id());
    assert!(!list.items[0].is_connected());
}

#[tokio::test]
async fn disconnecting_twice_is_idempotent() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    // The second disconnect succeeds and returns the same, still disconnected, record.
    let again = e
        .accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    assert_eq!(again.id(), account.id());
    assert!(!again.is_connected());
    assert_eq!(
        e.usage().usage(user.id()).await.unwrap().connected_accounts,
        0
    );
}

#[tokio::test]
async fn a_scheduled_post_of_a_disconnected_account_fails_with_a_reconnect_message_when_due() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Facebook, "page_1").await;
    let post = e
        .post(&user, &account, Some(e.now() + Duration::minutes(1)))
        .await;
    e.accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();
    e.advance(Duration::minutes(2));

    e.dispatcher("w", DispatcherConfig::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();

    let post = e.posts().get(user.id(), post.id()).await.unwrap();
    assert_eq!(post.status(), PostStatus::Failed);
    assert!(
        post.error_message().unwrap().contains("Reconnect"),
        "{post:?}"
    );
    assert_eq!(e.facebook.total_published(), 0);
}

#[tokio::test]
async fn disconnecting_an_unknown_account_is_not_found() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;

    let err = e
        .accounts()
        .disconnect(user.id(), AccountId::from_uuid(uuid::Uuid::new_v4()))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn posts_cannot_be_created_on_a_disconnected_account() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let account = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.accounts()
        .disconnect(user.id(), account.id())
        .await
        .unwrap();

    let err = e
        .posts()
        .create(user.id(), test_engine::create_post(&account, None))
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::Validation(ref v) if v.field() == "account_id"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Isolation between users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_account_is_not_found() {
    let e = TestEngine::new();
    let alice = e.user("alice@example.com").await;
    let bob = e.user("bob@example.com").await;
    let account = e.connect(&alice, Platform::Instagram, "shop_1").await;

    let err = e.accounts().get(bob.id(), account.id()).await.unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn another_user_cannot_disconnect_an_account() {
    let e = TestEngine::new();
    let alice = e.user("alice@example.com").await;
    let bob = e.user("bob@example.com").await;
    let account = e.connect(&alice, Platform::Instagram, "shop_1").await;

    let err = e
        .accounts()
        .disconnect(bob.id(), account.id())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(
        e.accounts()
            .get(alice.id(), account.id())
            .await
            .unwrap()
            .is_connected()
    );
}

#[tokio::test]
async fn another_user_cannot_read_an_accounts_token() {
    let e = TestEngine::new();
    let alice = e.user("alice@example.com").await;
    let bob = e.user("bob@example.com").await;
    let account = e
        .accounts()
        .connect(
            alice.id(),
            with_tokens(Platform::Instagram, "shop_1", "secret", "r"),
        )
        .await
        .unwrap();

    let err = e
        .accounts()
        .access_token(bob.id(), account.id())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn accounts_are_listed_only_to_their_owner() {
    let e = TestEngine::new();
    let alice = e.user("alice@example.com").await;
    let bob = e.user("bob@example.com").await;
    let alices = e.connect(&alice, Platform::Instagram, "shop_1").await;
    let bobs = e.connect(&bob, Platform::Facebook, "page_1").await;

    let list = e
        .accounts()
        .list(bob.id(), PageRequest::default())
        .await
        .unwrap();

    assert_eq!(list.total, 1);
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id(), bobs.id());
    assert!(list.items.iter().all(|a| a.id() != alices.id()));
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn accounts_are_listed_oldest_first() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let mut connected = Vec::new();
    for name in ["first", "second", "third"] {
        connected.push(e.connect(&user, Platform::Instagram, name).await.id());
        e.advance(Duration::minutes(1));
    }

    let list = e
        .accounts()
        .list(user.id(), PageRequest::default())
        .await
        .unwrap();

    let listed: Vec<_> = list.items.iter().map(|a| a.id()).collect();
    assert_eq!(listed, connected);
}

#[tokio::test]
async fn the_account_list_is_paginated() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let mut connected = Vec::new();
    for i in 0..5 {
        connected.push(
            e.connect(&user, Platform::Facebook, &format!("page_{i}"))
                .await
                .id(),
        );
        e.advance(Duration::minutes(1));
    }

    let second = e.accounts().list(user.id(), page(2, 2)).await.unwrap();
    let last = e.accounts().list(user.id(), page(3, 2)).await.unwrap();
    let beyond = e.accounts().list(user.id(), page(4, 2)).await.unwrap();

    assert_eq!(second.total, 5);
    assert_eq!((second.page, second.per_page), (2, 2));
    let ids: Vec<_> = second.items.iter().map(|a| a.id()).collect();
    assert_eq!(ids, connected[2..4]);
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].id(), connected[4]);
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);
}

#[tokio::test]
async fn a_page_size_of_zero_or_over_a_hundred_is_rejected() {
    let zero = PageRequest::new(Some(1), Some(0)).unwrap_err();
    let too_big = PageRequest::new(Some(1), Some(101)).unwrap_err();

    assert!(matches!(Error::from(zero), Error::Validation(ref v) if v.field() == "per_page"));
    assert!(matches!(Error::from(too_big), Error::Validation(ref v) if v.field() == "per_page"));
    assert!(PageRequest::new(Some(1), Some(100)).is_ok());
}

#[tokio::test]
async fn page_zero_is_rejected() {
    let err = PageRequest::new(Some(0), Some(20)).unwrap_err();

    assert!(matches!(Error::from(err), Error::Validation(ref v) if v.field() == "page"));
}

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn usage_counts_connected_accounts_as_they_connect_and_disconnect() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    e.on_plan(&user, PlanTier::Pro).await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;
    e.connect(&user, Platform::Tiktok, "shop_1").await;
    let before = e.usage().usage(user.id()).await.unwrap().connected_accounts;

    e.accounts()
        .disconnect(user.id(), first.id())
        .await
        .unwrap();

    let after = e.usage().usage(user.id()).await.unwrap().connected_accounts;
    assert_eq!(before, 2);
    assert_eq!(after, 1);
}

// ---------------------------------------------------------------------------------------------
// Validated name and external id
// ---------------------------------------------------------------------------------------------

#[test]
fn a_blank_account_name_is_rejected() {
    for blank in ["", "   ", "\t\n"] {
        let err = AccountName::parse(blank).unwrap_err();
        assert_eq!(err.field(), "account_name", "{blank:?}");
    }
}

#[test]
fn an_account_name_may_have_255_characters_but_not_256() {
    assert!(AccountName::parse("é".repeat(255)).is_ok());

    let err = AccountName::parse("é".repeat(256)).unwrap_err();

    assert_eq!(err.field(), "account_name");
}

#[test]
fn an_account_name_with_control_characters_is_rejected() {
    for text in ["shop\u{0}", "my\nbrand", "brand\u{7f}x"] {
        let err = AccountName::parse(text).unwrap_err();
        assert_eq!(err.field(), "account_name", "{text:?}");
    }
}

#[test]
fn an_account_name_is_trimmed() {
    let name = AccountName::parse("  @mybrand \t").unwrap();

    assert_eq!(name.as_ref(), "@mybrand");
}

#[test]
fn a_blank_external_account_id_is_rejected() {
    let err = ExternalAccountId::parse("  ").unwrap_err();

    assert_eq!(err.field(), "account_id_external");
}

#[test]
fn an_external_account_id_may_have_255_characters_but_not_256() {
    assert!(ExternalAccountId::parse("9".repeat(255)).is_ok());

    let err = ExternalAccountId::parse("9".repeat(256)).unwrap_err();

    assert_eq!(err.field(), "account_id_external");
}

#[test]
fn an_external_account_id_with_control_characters_is_rejected() {
    let err = ExternalAccountId::parse("1784\u{1b}[0m").unwrap_err();

    assert_eq!(err.field(), "account_id_external");
}

#[test]
fn an_external_account_id_is_trimmed() {
    let id = ExternalAccountId::parse(" 17841400000000 ").unwrap();

    assert_eq!(id.as_ref(), "17841400000000");
}

#[tokio::test]
async fn a_trimmed_external_id_matches_the_account_on_reconnect() {
    let e = TestEngine::new();
    let user = e.user("a@example.com").await;
    let first = e.connect(&user, Platform::Instagram, "shop_1").await;

    let again = e
        .accounts()
        .connect(
            user.id(),
            ConnectAccount {
                account_id_external: ExternalAccountId::parse("  shop_1  ").unwrap(),
                ..connect_request(Platform::Instagram, "shop_1")
            },
        )
        .await
        .unwrap();

    assert_eq!(again.id(), first.id());
}

#[tokio::test]
async fn a_platform_without_a_publisher_is_not_offered_and_its_accounts_cannot_be_connected() {
    let engine = postpilot_core::Engine::builder()
        .publisher(
            Platform::Instagram,
            std::sync::Arc::new(postpilot_core::publish::SimulatedPublisher::new(
                Platform::Instagram,
            )),
        )
        .cipher(std::sync::Arc::new(
            postpilot_core::crypto::XChaChaTokenCipher::generate(
                postpilot_core::crypto::KeyId::parse("k1").unwrap(),
            ),
        ))
        .hasher(std::sync::Arc::new(
            postpilot_core::crypto::Argon2Hasher::with_params(64, 1, 1).unwrap(),
        ))
        .build()
        .unwrap();
    let user = engine
        .auth()
        .register("merchant@example.com", "correct horse battery")
        .await
        .unwrap();

    let refused = engine
        .accounts()
        .connect(
            user.id(),
            crate::test_engine::connect_request(Platform::Tiktok, "tt"),
        )
        .await
        .unwrap_err();
    let offered = engine
        .accounts()
        .connect(
            user.id(),
            crate::test_engine::connect_request(Platform::Instagram, "ig"),
        )
        .await;

    assert_eq!(engine.offered_platforms(), vec![Platform::Instagram]);
    assert!(
        matches!(&refused, postpilot_core::Error::Validation(v)
            if v.field() == "platform" && v.reason().contains("tiktok is not offered")),
        "{refused:?}"
    );
    assert!(offered.is_ok());
}
