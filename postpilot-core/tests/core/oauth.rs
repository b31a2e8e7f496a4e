//! Connecting accounts by OAuth: the state bound to the user and the platform and expiring in
//! ten minutes, the code exchanged through the platform's provider, every granted account
//! connected within the plan's limit with its tokens sealed.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use postpilot_core::Error;
use postpilot_core::account::{
    AccountName, ExternalAccountId, GrantedAccount, OAuthError, OAuthProvider,
};
use postpilot_core::crypto::SecretString;
use postpilot_core::platform::Platform;

use crate::test_engine::TestEngine;

const REDIRECT: &str = "https://app.example.com/api/v1/oauth/facebook/callback";

/// A provider that grants the accounts it was given for the code `good-code`, and records the
/// exchanges.
#[derive(Debug, Default)]
struct Grants {
    accounts: Vec<(&'static str, &'static str)>,
    exchanged: Mutex<Vec<(String, String)>>,
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
}

fn engine_with(grants: &Arc<Grants>) -> TestEngine {
    TestEngine::with_ports(|b| b.oauth(Platform::Facebook, grants.clone()))
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

    let url = e
        .oauth()
        .begin(u.id(), Platform::Facebook, REDIRECT)
        .await
        .unwrap();
    let connected = e
        .oauth()
        .complete(Platform::Facebook, "good-code", &state_of(&url), REDIRECT)
        .await
        .unwrap();

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
    let url = e
        .oauth()
        .begin(u.id(), Platform::Facebook, REDIRECT)
        .await
        .unwrap();

    let err = e
        .oauth()
        .complete(Platform::Facebook, "used-code", &state_of(&url), REDIRECT)
        .await
        .unwrap_err();

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
async fn granted_accounts_beyond_the_plan_limit_are_refused_and_the_first_ones_kept() {
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
    let url = e
        .oauth()
        .begin(u.id(), Platform::Facebook, REDIRECT)
        .await
        .unwrap();

    let err = e
        .oauth()
        .complete(Platform::Facebook, "good-code", &state_of(&url), REDIRECT)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::PlanLimit { .. }), "{err:?}");
    let accounts = e
        .accounts()
        .list(
            u.id(),
            postpilot_core::page::PageRequest::new(Some(1), Some(10)).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        accounts.total >= 1 && accounts.total < 4,
        "{}",
        accounts.total
    );
}
