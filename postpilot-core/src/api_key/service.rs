//! API key use cases.

use std::sync::Arc;

use crate::api_key::{ApiKey, ApiKeyName, ApiKeySecret, Scope};
use crate::context::Deps;
use crate::error::{Error, LimitedResource, Result};
use crate::id::{ApiKeyId, UserId};
use crate::page::{Page, PageRequest};
use crate::plan::PlanTier;
use crate::plan::plan_of;
use crate::store::StoreError;

/// A key just created: `secret` is shown to the user this once.
#[derive(Clone, Debug)]
pub struct CreatedApiKey {
    /// The stored record.
    pub key: ApiKey,
    /// The key itself.
    pub secret: ApiKeySecret,
}

/// Who a presented key authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedKey {
    /// The key's owner.
    pub user_id: UserId,
    /// The key.
    pub key_id: ApiKeyId,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The owner's plan now.
    pub plan: PlanTier,
}

/// Creating, listing, revoking and authenticating API keys.
#[derive(Clone, Debug)]
pub struct ApiKeyService {
    deps: Arc<Deps>,
}

impl ApiKeyService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    async fn require_api_plan(&self, user: UserId) -> Result<PlanTier> {
        let plan = plan_of(&self.deps, user).await?;
        if self.deps.limits(plan).api_access {
            Ok(plan)
        } else {
            Err(Error::PlanLimit {
                resource: LimitedResource::ApiAccess,
                limit: 0,
            })
        }
    }

    /// Creates a key (pro and enterprise plans). Only its SHA-256 and visible prefix are stored.
    ///
    /// # Errors
    /// [`Error::PlanLimit`] on the free plan; [`Error::Validation`] for a bad name or scope.
    pub async fn create(
        &self,
        user: UserId,
        name: &str,
        scopes: &[String],
    ) -> Result<CreatedApiKey> {
        let name = ApiKeyName::parse(name)?;
        let scopes = Scope::parse_list(scopes)?;
        self.require_api_plan(user).await?;
        let secret = ApiKeySecret::generate()
            .map_err(|e| Error::unavailable("random generator", e.to_string()))?;
        let key = ApiKey::issue(
            self.deps.new_id(),
            user,
            name,
            &secret,
            scopes,
            self.deps.now(),
        );
        let max = self.deps.max_api_keys;
        match self.deps.store.insert_api_key(&key, max).await {
            Ok(()) => Ok(CreatedApiKey { key, secret }),
            Err(StoreError::LimitReached) => Err(Error::Conflict(
                format!("a user may hold at most {max} active API keys; revoke one first").into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's keys, newest first (never the keys themselves).
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self, user: UserId, page: PageRequest) -> Result<Page<ApiKey>> {
        Ok(self.deps.store.list_api_keys(user, page).await?)
    }

    /// Revokes one of the user's keys.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn revoke(&self, user: UserId, id: ApiKeyId) -> Result<()> {
        if self.deps.store.revoke_api_key(user, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("api key"))
        }
    }

    /// Authenticates a presented key: it must be well-formed, active, and its owner on a plan
    /// with API access. The lookup is by SHA-256 (an index probe, not a comparison of secrets).
    /// Nothing is written: the caller applies its rate limit, then [`record_use`](Self::record_use).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for unknown, malformed or revoked keys; [`Error::Forbidden`] when
    /// the owner's plan has no API access (their keys stop working on a downgrade).
    pub async fn authenticate(&self, presented: &str) -> Result<AuthenticatedKey> {
        let secret = ApiKeySecret::parse(presented).map_err(|_| Error::Unauthorized)?;
        let key = self
            .deps
            .store
            .api_key_by_hash(&secret.hash())
            .await?
            .ok_or(Error::Unauthorized)?;
        let plan = plan_of(&self.deps, key.user_id).await?;
        if !self.deps.limits(plan).api_access {
            return Err(Error::Forbidden(
                "API access requires the pro or enterprise plan".into(),
            ));
        }
        Ok(AuthenticatedKey {
            user_id: key.user_id,
            key_id: key.id,
            scopes: key.scopes,
            plan,
        })
    }

    /// Records a use of an authenticated key (`last_used_at`), once the request was let through.
    ///
    /// # Errors
    /// The store failed.
    pub async fn record_use(&self, key_id: ApiKeyId) -> Result<()> {
        match self.deps.store.touch_api_key(key_id, self.deps.now()).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
