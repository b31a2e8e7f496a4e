//! Account use cases.

use std::sync::Arc;

use crate::account::{ConnectAccount, SocialAccount};
use crate::crypto::{SecretString, TokenContext};
use crate::engine::Deps;
use crate::error::{Error, LimitedResource, Result};
use crate::id::{AccountId, UserId};
use crate::page::{Page, PageRequest};
use crate::store::StoreError;

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
    /// [`Error::PlanLimit`] when the plan's connected-account limit is reached.
    pub async fn connect(&self, user: UserId, request: ConnectAccount) -> Result<SocialAccount> {
        let limit = self.deps.plan_of(user).await?.limits().max_secondary;
        let now = self.deps.now();
        let account = SocialAccount {
            id: self.deps.new_id(),
            user_id: user,
            platform: request.platform,
            account_name: request.account_name,
            account_id_external: request.account_id_external,
            access_token_enc: None,
            refresh_token_enc: None,
            is_connected: true,
            needs_reconnect: false,
            connected_at: Some(now),
            created_at: now,
        };
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
        stored.access_token_enc = seal(request.access_token)?;
        stored.refresh_token_enc = seal(request.refresh_token)?;
        self.deps
            .store
            .set_account_tokens(
                user,
                stored.id,
                stored.access_token_enc.clone(),
                stored.refresh_token_enc.clone(),
            )
            .await?;
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
        account
            .access_token_enc
            .as_deref()
            .map(|sealed| {
                self.deps.cipher.open(
                    sealed,
                    TokenContext {
                        user_id: user,
                        account_id: id,
                    },
                )
            })
            .transpose()
            .map_err(|e| Error::unavailable("token cipher", e))
    }
}
