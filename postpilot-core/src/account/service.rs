//! Account use cases.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::account::{ConnectAccount, SealedTokens, SocialAccount};
use crate::context::Deps;
use crate::crypto::{SecretString, TokenContext};
use crate::error::{Error, LimitedResource, Result};
use crate::id::{AccountId, UserId};
use crate::page::{Page, PageRequest};
use crate::plan::plan_of;
use crate::post::PostStatus;
use crate::store::StoreError;

/// One of the user's accounts, if it can take posts ([`SocialAccount::ensure_publishable`]).
pub(crate) async fn publishable_account(
    deps: &Deps,
    user: UserId,
    id: AccountId,
) -> Result<SocialAccount> {
    let account = deps
        .store
        .account(user, id)
        .await?
        .ok_or(Error::NotFound("account"))?;
    account.ensure_publishable()?;
    Ok(account)
}

/// Opens one of `account`'s sealed tokens (bound to its owner and id).
pub(crate) fn open_sealed(
    deps: &Deps,
    account: &SocialAccount,
    sealed: Option<&str>,
) -> std::result::Result<Option<SecretString>, crate::crypto::CipherError> {
    let context = TokenContext {
        user_id: account.user_id(),
        account_id: account.id(),
    };
    sealed.map(|s| deps.cipher.open(s, context)).transpose()
}

/// The platform refused `account`'s authorisation: the account needs reconnecting. Its posts are
/// not failed: each waits, held by the dispatcher when it falls due, until the merchant
/// reconnects the account ([`resume_held_posts`]).
pub(crate) async fn require_reconnect(deps: &Deps, user: UserId, account: AccountId) -> Result<()> {
    deps.store
        .mark_needs_reconnect(user, account, deps.now())
        .await?;
    Ok(())
}

/// [`require_reconnect`] for a call refused with `used` (the sealed access token it carried,
/// none if the account had none): only if the account still has that token — one reconnected
/// meanwhile is not flagged by a call made with its old token.
pub(crate) async fn require_reconnect_if_unchanged(
    deps: &Deps,
    user: UserId,
    account: AccountId,
    used: Option<&str>,
) -> Result<()> {
    let current = deps.store.account(user, account).await?;
    if current.as_ref().and_then(SocialAccount::access_token_enc) != used {
        return Ok(());
    }
    require_reconnect(deps, user, account).await
}

/// The account was (re)connected: its scheduled posts held while it needed reconnecting are due
/// again at their own times (so they go out in schedule order; those past it at once) — each by
/// compare-and-set, so a post a worker claimed meanwhile is left to it. Posts waiting out a rate
/// limit or a retry keep waiting.
pub(crate) async fn resume_held_posts(deps: &Deps, user: UserId, account: AccountId) -> Result<()> {
    let now = deps.now();
    for mut post in deps
        .store
        .posts_of_account(user, account, PostStatus::Scheduled)
        .await?
    {
        if !is_held_for_reconnect(&post) || !post.resume(now) {
            continue;
        }
        let written = deps
            .store
            .update_post(&post, &[PostStatus::Scheduled])
            .await;
        StoreError::unless_overtaken(written)?;
    }
    Ok(())
}

/// Whether `post` waits for its account to be reconnected (and goes out once it is).
pub(crate) fn is_held_for_reconnect(post: &crate::post::Post) -> bool {
    post.status() == crate::post::PostStatus::Scheduled && post.held_for_reconnect()
}

/// What a merchant reads on a post held for its account's reconnection.
pub(crate) fn awaiting_reconnect(platform: crate::platform::Platform) -> String {
    format!(
        "held: {platform} no longer accepts this account's authorization. Reconnect the account; \
         this post goes out as soon as it is reconnected."
    )
}

/// Connecting, listing and disconnecting social accounts.
#[derive(Clone, Debug)]
pub struct AccountService {
    deps: Arc<Deps>,
}

impl AccountService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Connects an account within the plan's limit of connected accounts. Connecting an account
    /// the user had before (same platform and external id) reactivates that record, keeping its
    /// history. OAuth tokens are sealed with the [`TokenCipher`](crate::crypto::TokenCipher),
    /// bound to the user and the account.
    ///
    /// # Errors
    /// [`Error::Validation`] on `platform` when this engine has no publisher for it;
    /// [`Error::PlanLimit`] when the plan's connected-account limit is reached.
    pub async fn connect(&self, user: UserId, request: ConnectAccount) -> Result<SocialAccount> {
        self.connect_until(user, request, None).await
    }

    /// [`connect`](Self::connect), with the access token's expiry when the platform said it.
    pub(crate) async fn connect_until(
        &self,
        user: UserId,
        request: ConnectAccount,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<SocialAccount> {
        self.deps.ensure_offered(request.platform)?;
        let plan = plan_of(&self.deps, user).await?;
        let limit = self.deps.limits(plan).max_secondary;
        let now = self.deps.now();
        let account = SocialAccount::connect(
            self.deps.new_id(),
            user,
            request.platform,
            request.account_name,
            request.account_id_external,
            now,
        );
        let mut stored = match self.deps.store.connect_account(&account, limit).await {
            Ok(stored) => stored,
            Err(StoreError::LimitReached) => {
                return Err(Error::PlanLimit {
                    resource: LimitedResource::ConnectedAccounts,
                    limit: limit.max().unwrap_or(u32::MAX),
                });
            }
            Err(e) => return Err(e.into()),
        };
        // Tokens are sealed under the stored id (a reconnect keeps the old record's id).
        let context = TokenContext {
            user_id: user,
            account_id: stored.id,
        };
        let seal = |token: Option<SecretString>| {
            token
                .map(|t| self.deps.cipher.seal(&t, context))
                .transpose()
                .map_err(|e| Error::unavailable("token cipher", e))
        };
        stored.set_sealed_tokens(SealedTokens {
            access: seal(request.access_token)?,
            refresh: seal(request.refresh_token)?,
            expires_at,
        });
        self.deps
            .store
            .set_account_tokens(user, stored.id, stored.sealed_tokens(), None)
            .await?;
        resume_held_posts(&self.deps, user, stored.id).await?;
        Ok(stored)
    }

    /// One of the user's accounts.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn get(&self, user: UserId, id: AccountId) -> Result<SocialAccount> {
        self.deps
            .store
            .account(user, id)
            .await?
            .ok_or(Error::NotFound("account"))
    }

    /// The user's accounts, connected and disconnected, oldest first.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self, user: UserId, page: PageRequest) -> Result<Page<SocialAccount>> {
        Ok(self.deps.store.list_accounts(user, page).await?)
    }

    /// Soft disconnect: the record stays (for post history and analytics), its tokens are
    /// erased, and it no longer counts toward the plan limit.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn disconnect(&self, user: UserId, id: AccountId) -> Result<SocialAccount> {
        self.deps
            .store
            .disconnect_account(user, id)
            .await?
            .ok_or(Error::NotFound("account"))
    }

    /// The account's OAuth access token, opened (for publishers).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Unavailable`] if the sealed token cannot be opened (wrong
    /// key configured).
    pub async fn access_token(&self, user: UserId, id: AccountId) -> Result<Option<SecretString>> {
        let account = self.get(user, id).await?;
        open_sealed(&self.deps, &account, account.access_token_enc())
            .map_err(|e| Error::unavailable("token cipher", e))
    }
}
