//! Authentication use cases.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::api_key::hex_sha256;
use crate::billing::{BillingService, SubscriptionStatus};
use crate::crypto::{Password, Verification};
use crate::engine::Deps;
use crate::error::{Error, Result};
use crate::id::{TokenFamilyId, UserId};
use crate::plan::PlanTier;
use crate::store::StoreError;
use crate::user::{Email, RefreshToken, RefreshUse, Successor, User};

/// A stored password hash that no password verifies: provisioned users sign in through the
/// platform until they set a password.
const NO_PASSWORD: &str = "!provisioned";

/// A refresh token just issued: `raw` goes to the client once; only its hash is stored.
#[derive(Debug)]
pub struct IssuedRefreshToken {
    /// The opaque token for the client.
    pub raw: String,
    /// The stored record.
    pub token: RefreshToken,
}

/// A user as they see themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The user.
    pub user: User,
    /// Their current plan.
    pub plan: PlanTier,
}

/// A change to one's own profile.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new password.
    pub password: Option<String>,
}

/// A user created or linked by the dropshipping platform.
#[derive(Clone, Debug)]
pub struct Provision {
    /// The merchant's e-mail.
    pub email: String,
    /// The platform's user id.
    pub external_platform_id: Uuid,
    /// The platform's store id.
    pub external_store_id: Option<Uuid>,
    /// The plan the platform grants, if it manages billing.
    pub plan: Option<PlanTier>,
}

/// Registration, login, provisioning and refresh-token rotation.
#[derive(Clone, Debug)]
pub struct AuthService {
    deps: Arc<Deps>,
}

impl AuthService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    async fn hash(&self, password: &Password) -> Result<String> {
        self.deps
            .hasher
            .hash(password)
            .await
            .map_err(|e| Error::unavailable("password hasher", e))
    }

    /// Creates a user with an e-mail and a password (8–128 characters).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad e-mail or password; [`Error::Conflict`] when the e-mail is
    /// registered.
    pub async fn register(&self, email: &str, password: &str) -> Result<User> {
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        let now = self.deps.now();
        let user = User {
            id: self.deps.new_id(),
            email,
            password_hash: self.hash(&password).await?,
            stripe_customer_id: None,
            external_platform_id: None,
            external_store_id: None,
            created_at: now,
            updated_at: now,
        };
        match self.deps.store.insert_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => {
                Err(Error::Conflict("email is already registered".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Checks credentials; a legacy (bcrypt) or outdated hash is replaced by a fresh argon2id one.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown e-mail or a wrong password — the two are
    /// indistinguishable, in answer and in time.
    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        let (Ok(email), Ok(password)) = (Email::parse(email), Password::parse(password)) else {
            return Err(Error::Unauthorized);
        };
        let Some(mut user) = self.deps.store.user_by_email(&email).await? else {
            // Spend the time a verification would, so absence does not show in timing.
            let _ = self.hash(&password).await;
            return Err(Error::Unauthorized);
        };
        match self
            .deps
            .hasher
            .verify(&password, &user.password_hash)
            .await
        {
            Verification::Mismatch => Err(Error::Unauthorized),
            Verification::Match => Ok(user),
            Verification::MatchNeedsRehash => {
                user.password_hash = self.hash(&password).await?;
                user.updated_at = self.deps.now();
                self.deps.store.update_user(&user).await?;
                Ok(user)
            }
        }
    }

    /// A user's profile.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the user no longer exists.
    pub async fn me(&self, user_id: UserId) -> Result<Profile> {
        let user = self
            .deps
            .store
            .user(user_id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        let plan = self.deps.plan_of(user_id).await?;
        Ok(Profile { user, plan })
    }

    /// Changes one's e-mail and/or password.
    ///
    /// # Errors
    /// [`Error::Validation`], or [`Error::Conflict`] when the new e-mail is taken.
    pub async fn update_me(&self, user_id: UserId, patch: ProfilePatch) -> Result<Profile> {
        let email = patch.email.as_deref().map(Email::parse).transpose()?;
        let password = patch.password.map(Password::parse).transpose()?;
        let mut user = self
            .deps
            .store
            .user(user_id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if let Some(email) = email {
            user.email = email;
        }
        let password_changed = password.is_some();
        if let Some(password) = password {
            user.password_hash = self.hash(&password).await?;
        }
        user.updated_at = self.deps.now();
        match self.deps.store.update_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::Conflict("email is already registered".into()));
            }
            Err(e) => return Err(e.into()),
        }
        if password_changed {
            // A new password ends every session: a stolen refresh token dies with the old one.
            self.deps
                .store
                .revoke_user_refresh_tokens(user_id, self.deps.now())
                .await?;
        }
        self.me(user_id).await
    }

    /// Creates or links a user from the dropshipping platform, idempotently: the same platform id
    /// returns the same user; an existing e-mail is linked to the platform id. A given plan
    /// becomes the user's (platform-managed) subscription.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad e-mail; [`Error::Conflict`] when the e-mail belongs to a
    /// user linked to another platform id.
    pub async fn provision(&self, request: Provision) -> Result<User> {
        let email = Email::parse(&request.email)?;
        let now = self.deps.now();
        let store = &self.deps.store;
        let user = if let Some(mut user) = store
            .user_by_external_id(request.external_platform_id)
            .await?
        {
            if request.external_store_id.is_some() {
                user.external_store_id = request.external_store_id;
            }
            user.updated_at = now;
            store.update_user(&user).await?;
            user
        } else if let Some(mut user) = store.user_by_email(&email).await? {
            if user.external_platform_id.is_some() {
                return Err(Error::Conflict(
                    "email is linked to another platform user".into(),
                ));
            }
            user.external_platform_id = Some(request.external_platform_id);
            user.external_store_id = request.external_store_id;
            user.updated_at = now;
            store.update_user(&user).await?;
            user
        } else {
            let user = User {
                id: self.deps.new_id(),
                email,
                password_hash: NO_PASSWORD.to_owned(),
                stripe_customer_id: None,
                external_platform_id: Some(request.external_platform_id),
                external_store_id: request.external_store_id,
                created_at: now,
                updated_at: now,
            };
            match store.insert_user(&user).await {
                Ok(()) => user,
                // A concurrent provision of the same user won the race: return theirs.
                Err(StoreError::Conflict(_)) => store
                    .user_by_external_id(request.external_platform_id)
                    .await?
                    .ok_or_else(|| Error::Conflict("email is already registered".into()))?,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(plan) = request.plan {
            BillingService::new(self.deps.clone())
                .grant_plan(user.id, plan, SubscriptionStatus::Active)
                .await?;
        }
        Ok(user)
    }

    /// Starts a session: a refresh token in a new family.
    ///
    /// # Errors
    /// The store failed.
    pub async fn issue_refresh_token(&self, user_id: UserId) -> Result<IssuedRefreshToken> {
        self.issue_in_family(user_id, self.deps.new_id()).await
    }

    async fn issue_in_family(
        &self,
        user_id: UserId,
        family_id: TokenFamilyId,
    ) -> Result<IssuedRefreshToken> {
        let (raw, fresh) = self.new_token()?;
        let token = RefreshToken {
            id: fresh.id,
            user_id,
            family_id,
            token_hash: fresh.token_hash,
            created_at: self.deps.now(),
            expires_at: fresh.expires_at,
            used_at: None,
            revoked_at: None,
        };
        self.deps.store.insert_refresh_token(&token).await?;
        Ok(IssuedRefreshToken { raw, token })
    }

    /// A new raw token (32 random bytes, base64url) and what is stored of it.
    fn new_token(&self) -> Result<(String, Successor)> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::unavailable("random generator", e.to_string()))?;
        let raw = URL_SAFE_NO_PAD.encode(bytes);
        let successor = Successor {
            id: self.deps.new_id(),
            token_hash: hex_sha256(raw.as_bytes()),
            expires_at: self.deps.now() + self.deps.refresh_token_ttl,
        };
        Ok((raw, successor))
    }

    /// Exchanges a refresh token for its successor (rotation). Presenting a token that was
    /// already exchanged revokes its whole family: whoever holds the stolen copy, and the
    /// legitimate client, must log in again.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for unknown, expired, revoked or reused tokens.
    pub async fn refresh(&self, raw: &str) -> Result<IssuedRefreshToken> {
        if raw.is_empty() || raw.len() > 256 {
            return Err(Error::Unauthorized);
        }
        let hash = hex_sha256(raw.as_bytes());
        let (next_raw, successor) = self.new_token()?;
        match self
            .deps
            .store
            .rotate_refresh_token(&hash, &successor, self.deps.now())
            .await?
        {
            RefreshUse::Fresh(token) => {
                if self.deps.store.user(token.user_id).await?.is_none() {
                    return Err(Error::Unauthorized);
                }
                Ok(IssuedRefreshToken {
                    raw: next_raw,
                    token,
                })
            }
            RefreshUse::Reused { .. } | RefreshUse::Invalid => Err(Error::Unauthorized),
        }
    }
}
