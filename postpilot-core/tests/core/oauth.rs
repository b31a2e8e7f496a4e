//! Connecting accounts by OAuth: the state bound to the user and the platform and expiring in
//! ten minutes, the code exchanged through the platform's provider, every granted account
//! connected within the plan's limit with its tokens sealed.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::account::{
    AccountName, CurrentTokens, ExternalAccountId, GrantedAccount, OAuthError, OAuthProvider,
    RefreshedTokens, SealedTokens,
};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;

use crate::test_engine::TestEngine;

const REDIRECT: &str = "https://app.example.com/api/v1/oauth/facebook/callback";

/// A provider that grants the accounts it was given for the code `good-code`, and records the
/// exchanges; refreshes answer what is queued in `refreshes` (a fresh 60-day token when empty),
/// after running `during_refresh` (another worker acting meanwhile).
#[derive(Default)]
struct Grants {
    accounts: Vec<(&'static str, &'static str)>,
    exchanged: Mutex<Vec<(String, String)>>,
    refreshes: Mutex<std::collections::VecDeque<Result<RefreshedTokens, OAuthError>>>,
    refreshed_with: Mutex<Vec<String>>,
    during_refresh: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Grants")
    }
}

#[async_trait::async_trait]
impl OAuthProvider for Grants {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        format!("https://consent.example/?state={state}&redirect_uri={redirect_uri}")
    }

    async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Vec<GrantedAccount>, OAuthError> {
        self.exchanged
            .lock()
            .unwrap()
            .push((code.to_owned(), redirect_uri.to_owned()));
        if code != "good-code" {
            return Err(OAuthError::Refused("the code was already used".into()));
        }
        Ok(self
            .accounts
            .iter()
            .map(|(id, name)| GrantedAccount {
                external_id: ExternalAccountId::parse(*id).unwrap(),
                name: AccountName::parse(*name).unwrap(),
                access_token: SecretString::new(format!("token-of-{id}")),
                refresh_token: None,
                expires_in: Some(Duration::days(60)),
            })
            .collect())
    }

    async fn refresh(&self, current: &CurrentTokens) -> Result<RefreshedTokens, OAuthError> {
        let n = {
            let mut seen = self.refreshed_with.lock().unwrap();
            seen.push(current.access_token.expose().to_owned());
            seen.len()
        };
        if let Some(meanwhile) = self.during_refresh.lock().unwrap().take() {
            meanwhile();
        }
        self.refreshes
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| {
                Ok(RefreshedTokens {
                    access_token: SecretString::new(format!("refreshed-{n}")),
                    refresh_token: None,
                    expires_in: Some(Duration::days(60)),
                })
            })
    }
}

fn engine_with(grants: &Arc<Grants>) -> TestEngine {
    TestEngine::with_ports(|b| b.oauth(Platform::Facebook, grants.clone()))
}

/// The whole connect flow for `u`: begin, then complete with `code` and the state handed out.
async fn connect_with(
    e: &TestEngine,
    u: &postpilot_core::user::User,
    code: &str,
) -> postpilot_core::Result<postpilot_core::account::Connected> {
    let url = e
        .oauth()
        .begin(u.id(), Platform::Facebook, REDIRECT)
        .await
        .unwrap();
    e.oauth()
        .complete(Platform::Facebook, code, &state_of(&url), REDIRECT)
        .await
}

/// The `state` the provider was handed in the authorize URL.
fn state_of(url: &str) -> String {
    let start = url.find("state=").unwrap() + "state=".len();
    let end = url[start..].find('&').map_or(url.len(), |e| start + e);
    url[start..end].to_owned()
}

#[tokio::test]
async fn a_granted_page_is_connected_to_the_user_who_started_the_flow_with_its_token_sealed() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps"), ("page-2", "Aurora Outlet")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let u = e.pro_user("merchant@example.com").await;

    let connected = connect_with(&e, &u, "good-code").await.unwrap();

    assert_eq!(connected.user_id, u.id());
    assert_eq!(connected.accounts.len(), 2);
    let token = e
        .accounts()
        .access_token(u.id(), connected.accounts[0].id())
        .await
        .unwrap();
    assert_eq!(
        token.as_ref().map(SecretString::expose),
        Some("token-of-page-1")
    );
    assert_eq!(
        grants.exchanged.lock().unwrap().as_slice(),
        [("good-code".to_owned(), REDIRECT.to_owned())]
    );
}

#[tokio::test]
async fn a_state_that_is_forged_expired_or_for_another_platform_is_refused_before_any_exchange() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    let e = TestEngine::with_ports(|b| {
        b.oauth(Platform::Facebook, grants.clone())
            .oauth(Platform::Instagram, grants.clone())
    });
    let u = e.user("merchant@example.com").await;
    let url = e
        .oauth()
        .begin(u.id(), Platform::Facebook, REDIRECT)
        .await
        .unwrap();
    let state = state_of(&url);
    let instagram = e
        .oauth()
        .complete(Platform::Instagram, "good-code", &state, REDIRECT)
        .await
        .unwrap_err();
    let forged = e
        .oauth()
        .complete(
            Platform::Facebook,
            "good-code",
            &format!("{state}x"),
            REDIRECT,
        )
        .await
        .unwrap_err();
    e.advance(Duration::minutes(10) + Duration::seconds(1));
    let expired = e
        .oauth()
        .complete(Platform::Facebook, "good-code", &state, REDIRECT)
        .await
        .unwrap_err();

    for err in [instagram, forged, expired] {
        assert!(
            matches!(&err, Error::Validation(v) if v.field() == "state"),
            "{err:?}"
        );
    }
    assert!(grants.exchanged.lock().unwrap().is_empty());
    let accounts = e
        .accounts()
        .list(
            u.id(),
            postpilot_core::page::PageRequest::new(Some(1), Some(10)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(accounts.total, 0);
}

#[tokio::test]
async fn a_refused_code_is_a_validation_error_on_code_and_connects_nothing() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let u = e.user("merchant@example.com").await;

    let err = connect_with(&e, &u, "used-code").await.unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "code" && v.reason().contains("already used")),
        "{err:?}"
    );
    let accounts = e
        .accounts()
        .list(
            u.id(),
            postpilot_core::page::PageRequest::new(Some(1), Some(10)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(accounts.total, 0);
}

#[tokio::test]
async fn a_platform_without_an_oauth_provider_cannot_begin_a_connect_flow() {
    let e = TestEngine::new();
    let u = e.user("merchant@example.com").await;

    let err = e
        .oauth()
        .begin(u.id(), Platform::Tiktok, REDIRECT)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Validation(v) if v.field() == "platform" && v.reason().contains("cannot be connected by OAuth")),
        "{err:?}"
    );
}

#[tokio::test]
async fn granted_accounts_beyond_the_plan_limit_are_left_out_and_counted_not_an_error() {
    let grants = Arc::new(Grants {
        accounts: vec![
            ("page-1", "One"),
            ("page-2", "Two"),
            ("page-3", "Three"),
            ("page-4", "Four"),
        ],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let u = e.user("free@example.com").await;

    let connected = connect_with(&e, &u, "good-code").await.unwrap();

    let limit = postpilot_core::plan::Plans::default()
        .get(postpilot_core::plan::PlanTier::Free)
        .max_secondary
        .max()
        .unwrap() as usize;
    assert_eq!(
        (connected.accounts.len(), connected.over_limit),
        (limit, 4 - limit)
    );
    let accounts = e
        .accounts()
        .list(
            u.id(),
            postpilot_core::page::PageRequest::new(Some(1), Some(10)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(accounts.total, limit as u64);
    assert_eq!(
        accounts.items[0].account_id_external().as_ref(),
        "page-1",
        "the first granted are kept"
    );
}

#[tokio::test]
async fn an_account_reconnected_is_kept_even_when_a_new_one_over_the_limit_is_listed_first() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-new", "New"), ("page-mine", "Mine")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let u = e.user("reconnect@example.com").await;
    let mine = e.connect(&u, Platform::Facebook, "page-mine").await;

    let connected = connect_with(&e, &u, "good-code").await.unwrap();

    assert_eq!(connected.over_limit, 1);
    assert_eq!(connected.accounts.len(), 1);
    assert_eq!(
        connected.accounts[0].id(),
        mine.id(),
        "the known Page, reconnected"
    );
}

#[tokio::test]
async fn a_grant_whose_first_account_is_over_the_plan_limit_is_refused() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-9", "Nine")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let u = e.user("full@example.com").await;
    e.connect(&u, Platform::Facebook, "already-there").await;

    let err = connect_with(&e, &u, "good-code").await.unwrap_err();

    assert!(matches!(err, Error::PlanLimit { .. }), "{err:?}");
}

/// A merchant with one page connected by OAuth (a 60-day token), `days` later.
async fn connected_for(
    e: &TestEngine,
    days: i64,
) -> (
    postpilot_core::user::User,
    postpilot_core::account::SocialAccount,
) {
    let u = e.pro_user("merchant@example.com").await;
    let connected = connect_with(e, &u, "good-code").await.unwrap();
    e.advance(Duration::days(days));
    (u, connected.accounts[0].clone())
}

async fn token_of(
    e: &TestEngine,
    u: &postpilot_core::user::User,
    account: &postpilot_core::account::SocialAccount,
) -> String {
    e.accounts()
        .access_token(u.id(), account.id())
        .await
        .unwrap()
        .unwrap()
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_token_expiring_within_the_horizon_is_refreshed_with_its_new_expiry() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let (u, account) = connected_for(&e, 50).await;
    let early = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();
    e.advance(Duration::days(4));

    let report = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();

    assert_eq!(
        early,
        postpilot_core::account::TokenRefreshReport::default()
    );
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(token_of(&e, &u, &account).await, "refreshed-1");
    assert_eq!(
        grants.refreshed_with.lock().unwrap().as_slice(),
        ["token-of-page-1"]
    );
    let stored = e.accounts().get(u.id(), account.id()).await.unwrap();
    assert_eq!(
        stored.token_expires_at(),
        Some(e.now() + Duration::days(60))
    );
    let again = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();
    assert_eq!(again.refreshed, 0, "not due again for 53 days");
}

#[tokio::test]
async fn a_refused_refresh_marks_the_account_for_reconnection_once() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    grants
        .refreshes
        .lock()
        .unwrap()
        .push_back(Err(OAuthError::Refused(
            "the session was invalidated".into(),
        )));
    let e = engine_with(&grants);
    let (u, account) = connected_for(&e, 55).await;

    let first = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();
    let second = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();

    assert_eq!(first.needs_reconnect, 1, "{first:?}");
    assert_eq!(
        second,
        postpilot_core::account::TokenRefreshReport::default()
    );
    assert_eq!(
        grants.refreshed_with.lock().unwrap().len(),
        1,
        "asked once, never in a loop"
    );
    let stored = e.accounts().get(u.id(), account.id()).await.unwrap();
    assert!(stored.needs_reconnect());
}

#[tokio::test]
async fn a_refresh_that_loses_the_race_to_another_worker_keeps_the_winners_token() {
    for answer in [
        Ok(RefreshedTokens {
            access_token: SecretString::new("second-worker"),
            refresh_token: None,
            expires_in: Some(Duration::days(60)),
        }),
        // The rotated refresh token was spent by the other worker.
        Err(OAuthError::Refused("refresh token already used".into())),
    ] {
        let grants = Arc::new(Grants {
            accounts: vec![("page-1", "Aurora Lamps")],
            ..Grants::default()
        });
        grants.refreshes.lock().unwrap().push_back(answer);
        let e = engine_with(&grants);
        let (u, account) = connected_for(&e, 55).await;
        // Meanwhile, another worker refreshes the same account and stores its token.
        let store = e.store.clone();
        let (owner, id) = (u.id(), account.id());
        *grants.during_refresh.lock().unwrap() = Some(Box::new(move || {
            crate::test_engine::run_now(async move {
                postpilot_core::store::AccountStore::set_account_tokens(
                    store.as_ref(),
                    owner,
                    id,
                    SealedTokens {
                        access: Some("sealed-by-the-winner".into()),
                        refresh: None,
                        expires_at: None,
                    },
                    None,
                )
                .await
                .unwrap();
            });
        }));

        let report = e
            .oauth()
            .refresh_expiring(Duration::days(7), 10)
            .await
            .unwrap();

        assert_eq!(report.superseded, 1, "{report:?}");
        assert_eq!(report.needs_reconnect, 0);
        let stored = e.accounts().get(u.id(), account.id()).await.unwrap();
        assert!(
            !stored.needs_reconnect(),
            "a lost race never locks the merchant out"
        );
        assert_eq!(
            stored.sealed_tokens().access.as_deref(),
            Some("sealed-by-the-winner")
        );
    }
}

#[tokio::test]
async fn a_second_worker_never_refreshes_an_account_a_first_is_refreshing() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    let e = engine_with(&grants);
    let (u, account) = connected_for(&e, 55).await;
    // While the first worker waits on the platform, a second runs the same refresh.
    let oauth = e.oauth().clone();
    let second = Arc::new(Mutex::new(None));
    let seen = second.clone();
    *grants.during_refresh.lock().unwrap() = Some(Box::new(move || {
        let report = crate::test_engine::run_now(oauth.refresh_expiring(Duration::days(7), 10));
        *seen.lock().unwrap() = Some(report.unwrap());
    }));

    let first = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();

    let second = second.lock().unwrap().take().unwrap();
    assert_eq!((first.refreshed, second.superseded), (1, 1));
    assert_eq!(
        grants.refreshed_with.lock().unwrap().len(),
        1,
        "one call to the platform: a rotated refresh token is spent once"
    );
    assert_eq!(token_of(&e, &u, &account).await, "refreshed-1");
}

#[tokio::test]
async fn an_unreachable_platform_leaves_the_token_for_the_next_run() {
    let grants = Arc::new(Grants {
        accounts: vec![("page-1", "Aurora Lamps")],
        ..Grants::default()
    });
    grants
        .refreshes
        .lock()
        .unwrap()
        .push_back(Err(OAuthError::Unavailable("503".into())));
    let e = engine_with(&grants);
    let (u, account) = connected_for(&e, 55).await;

    let down = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();
    e.advance(Duration::hours(1));
    let back = e
        .oauth()
        .refresh_expiring(Duration::days(7), 10)
        .await
        .unwrap();

    assert_eq!((down.failed, back.refreshed), (1, 1));
    assert_eq!(token_of(&e, &u, &account).await, "refreshed-2");
    assert!(
        !e.accounts()
            .get(u.id(), account.id())
            .await
            .unwrap()
            .needs_reconnect()
    );
}
