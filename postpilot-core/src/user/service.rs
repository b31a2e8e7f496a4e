//! Authentication use cases.

use std::sync::Arc;

use uuid::Uuid;

use crate::api_key::hex_sha256;
use crate::billing::{BillingService, SubscriptionStatus};
use crate::context::Deps;
use crate::crypto::{HashSlot, Password, Verification};
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::plan::PlanTier;
use crate::plan::plan_of;
use crate::store::{PlatformLink, StoreError, UserChange};
use crate::user::{AccountKey, Email, RefreshToken, RefreshUse, Successor, User, parse_time_zone};

/// A stored password hash that no password verifies: provisioned users sign in through the
/// platform until they set a password.
const NO_PASSWORD: &str = "!provisioned";

/// A refresh token just issued: `raw` goes to the client once; only its hash is stored. Its
/// `Debug` hides `raw`.
pub struct IssuedRefreshToken {
    /// The opaque token for the client.
    pub raw: String,
    /// The stored record.
    pub token: RefreshToken,
    /// The user's session epoch as the token was issued: the access token issued beside it
    /// carries it.
    pub session_epoch: i64,
}

impl std::fmt::Debug for IssuedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedRefreshToken")
            .field("raw", &"***")
            .field("token", &self.token)
            .field("session_epoch", &self.session_epoch)
            .finish()
    }
}

/// A user as they see themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The user.
    pub user: User,
    /// Their current plan.
    pub plan: PlanTier,
}

/// A change to one's own profile. Its `Debug` hides the passwords.
#[derive(Clone, Default)]
pub struct ProfilePatch {
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new password.
    pub password: Option<String>,
    /// The current password, required to change either (unless the user never had one).
    pub current_password: Option<String>,
    /// A new time zone (IANA name); changing only it needs no password.
    pub time_zone: Option<String>,
    /// Which product changes pause posts (`both`, `price`, `stock`, `off`); no password needed.
    pub pause_on: Option<String>,
}

impl std::fmt::Debug for ProfilePatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilePatch")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field(
                "current_password",
                &self.current_password.as_ref().map(|_| "***"),
            )
            .field("time_zone", &self.time_zone)
            .field("pause_on", &self.pause_on)
            .finish()
    }
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

    /// Hashes `password` in a slot of the hash gate (see [`crate::crypto::HashConcurrency`]).
    async fn hash(&self, password: &Password) -> Result<String> {
        let slot = self.deps.hash_gate.enter().await?;
        self.hash_in(slot, password).await
    }

    async fn hash_in(&self, slot: HashSlot, password: &Password) -> Result<String> {
        let hasher = self.deps.hasher.clone();
        let password = password.clone();
        slot.run(async move { hasher.hash(&password).await })
            .await?
            .map_err(|e| Error::unavailable("password hasher", e))
    }

    async fn verify_in(
        &self,
        slot: HashSlot,
        password: &Password,
        stored: &str,
    ) -> Result<Verification> {
        let hasher = self.deps.hasher.clone();
        let (password, stored) = (password.clone(), stored.to_owned());
        slot.run(async move { hasher.verify(&password, &stored).await })
            .await
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
            time_zone: chrono_tz::Tz::UTC,
            pause_on: crate::post::PauseOn::Both,
            session_epoch: 0,
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
    /// Failed checks are throttled per normalised e-mail address, registered or not
    /// ([`LoginThrottlePolicy`](crate::user::LoginThrottlePolicy)).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown e-mail or a wrong password — the two are
    /// indistinguishable, in answer and in time; [`Error::TooManyAttempts`] while the address is
    /// locked after repeated failures (registered or not: the refusal tells nothing either), without
    /// checking the password; [`Error::Overloaded`] when every hashing slot stays busy.
    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        // Not Email::parse: an address registered under an earlier build's rules must still log
        // in; a malformed one simply matches no user.
        let email = Email::normalized(email);
        let throttle = &self.deps.login_throttle;
        let key = AccountKey::login(&email);
        throttle.check(key, self.deps.now())?;
        let Ok(password) = Password::parse(password) else {
            return Err(Error::Unauthorized);
        };
        let user = self.deps.store.user_by_email(&email).await?;
        let slot = self.deps.hash_gate.enter().await?;
        throttle.begin(key, self.deps.now())?;
        let Some(user) = user.filter(|u| u.password_hash != NO_PASSWORD) else {
            // Unknown, or provisioned without a password: spend the time a verification would,
            // so neither shows in timing.
            let _ = self.hash_in(slot, &password).await;
            return Err(Error::Unauthorized);
        };
        let verification = self.verify_in(slot, &password, &user.password_hash).await?;
        if verification != Verification::Mismatch {
            throttle.succeeded(key);
        }
        match verification {
            Verification::Mismatch => Err(Error::Unauthorized),
            Verification::Match => Ok(user),
            Verification::MatchNeedsRehash => {
                let change = UserChange {
                    password_hash: Some(self.hash(&password).await?),
                    updated_at: self.deps.now(),
                    ..UserChange::default()
                };
                Ok(self.deps.store.change_user(user.id, &change).await?)
            }
        }
    }

    /// A user's time zone (one read of the user; no plan).
    ///
    /// # Errors
    /// [`Error::NotFound`] if the user no longer exists.
    pub async fn time_zone(&self, user_id: UserId) -> Result<chrono_tz::Tz> {
        Ok(self.deps.user(user_id).await?.time_zone())
    }

    /// A user's profile.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the user no longer exists.
    pub async fn me(&self, user_id: UserId) -> Result<Profile> {
        let user = self.deps.user(user_id).await?;
        let plan = plan_of(&self.deps, user_id).await?;
        Ok(Profile { user, plan })
    }

    /// Changes one's time zone, e-mail and/or password. The latter two are credentials, so the current password is
    /// required (when the user has one), and a change ends every other session. Wrong current
    /// passwords are throttled per user like failed logins.
    ///
    /// # Errors
    /// [`Error::Validation`]; [`Error::Unauthorized`] without the right current password;
    /// [`Error::TooManyAttempts`] after repeated wrong ones; [`Error::Overloaded`] when every
    /// hashing slot stays busy; [`Error::Conflict`] when the new e-mail is taken.
    pub async fn update_me(&self, user_id: UserId, patch: ProfilePatch) -> Result<Profile> {
        let email = patch.email.as_deref().map(Email::parse).transpose()?;
        let password = patch.password.map(Password::parse).transpose()?;
        let time_zone = patch
            .time_zone
            .as_deref()
            .map(|name| parse_time_zone("time_zone", name))
            .transpose()?;
        let pause_on = patch
            .pause_on
            .as_deref()
            .map(str::parse::<crate::post::PauseOn>)
            .transpose()?;
        if email.is_none() && password.is_none() {
            if time_zone.is_some() || pause_on.is_some() {
                let change = UserChange {
                    time_zone,
                    pause_on,
                    updated_at: self.deps.now(),
                    ..UserChange::default()
                };
                self.deps.store.change_user(user_id, &change).await?;
            }
            return self.me(user_id).await;
        }
        let user = self.deps.user(user_id).await?;
        if user.password_hash != NO_PASSWORD {
            let throttle = &self.deps.login_throttle;
            let key = AccountKey::reauthentication(user_id);
            throttle.check(key, self.deps.now())?;
            let current = patch
                .current_password
                .and_then(|p| Password::parse(p).ok())
                .ok_or(Error::Unauthorized)?;
            let slot = self.deps.hash_gate.enter().await?;
            throttle.begin(key, self.deps.now())?;
            if self.verify_in(slot, &current, &user.password_hash).await? == Verification::Mismatch
            {
                return Err(Error::Unauthorized);
            }
            throttle.succeeded(key);
        }
        let change = UserChange {
            email,
            password_hash: match password {
                Some(p) => Some(self.hash(&p).await?),
                None => None,
            },
            time_zone,
            pause_on,
            // New credentials end every session: access tokens issued before stop working.
            end_sessions: true,
            updated_at: self.deps.now(),
            ..UserChange::default()
        };
        match self.deps.store.change_user(user_id, &change).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::Conflict("email is already registered".into()));
            }
            Err(e) => return Err(e.into()),
        }
        // New credentials end every session: a stolen refresh token dies with the old ones.
        self.deps
            .store
            .revoke_user_refresh_tokens(user_id, self.deps.now())
            .await?;
        self.me(user_id).await
    }

    /// Creates a user for the dropshipping platform, idempotently, keyed by the platform's id:
    /// the same platform id returns the same user (its store id refreshed). A given plan becomes
    /// the user's (platform-managed) subscription.
    ///
    /// An e-mail match alone never hands an account the platform's identity or plan: anyone can
    /// register an address before the platform provisions it (pre-hijacking). A self-registered
    /// account with the address gets [`Error::PlatformLinkRequired`]; its owner links it with
    /// [`link_platform`](Self::link_platform), signed in, presenting what the platform was given.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad e-mail; [`Error::PlatformLinkRequired`] when a
    /// self-registered account holds the e-mail; [`Error::Conflict`] when it belongs to a user
    /// linked to another platform id.
    pub async fn provision(&self, request: Provision) -> Result<User> {
        let email = Email::parse(&request.email)?;
        let user = match self.provisioned(&request, &email).await? {
            Some(user) => user,
            None => {
                let now = self.deps.now();
                let user = User {
                    id: self.deps.new_id(),
                    email: email.clone(),
                    password_hash: NO_PASSWORD.to_owned(),
                    stripe_customer_id: None,
                    external_platform_id: Some(request.external_platform_id),
                    external_store_id: request.external_store_id,
                    time_zone: chrono_tz::Tz::UTC,
                    pause_on: crate::post::PauseOn::Both,
                    session_epoch: 0,
                    created_at: now,
                    updated_at: now,
                };
                match self.deps.store.insert_user(&user).await {
                    Ok(()) => user,
                    // A concurrent provision or registration won the race: answer as if it had
                    // come first.
                    Err(StoreError::Conflict(_)) => self
                        .provisioned(&request, &email)
                        .await?
                        .ok_or_else(|| Error::Conflict("email is already registered".into()))?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        self.grant(&user, request.plan).await?;
        Ok(user)
    }

    /// The user a provision names, if one exists: the one linked to its platform id (its store
    /// id refreshed). `None` when neither the platform id nor the e-mail is taken; an error when
    /// another account holds the e-mail.
    async fn provisioned(&self, request: &Provision, email: &Email) -> Result<Option<User>> {
        let store = &self.deps.store;
        if let Some(user) = store
            .user_by_external_id(request.external_platform_id)
            .await?
        {
            return self.link(user.id, request).await.map(Some);
        }
        match store.user_by_email(email).await? {
            Some(holder) => Err(self.email_taken(&holder)),
            None => Ok(None),
        }
    }

    /// Links the signed-in user's own account to the platform identity a provision named, once
    /// the account holder has proved, by signing in, that the account is theirs. The request is
    /// what the platform sent (the transport proves that: a link token minted from a signed
    /// provision). The account's e-mail must still be the one the platform provisioned.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the user is gone; [`Error::Conflict`] when the e-mail changed since,
    /// or the account is linked to another platform id, or the platform id to another account.
    pub async fn link_platform(&self, user_id: UserId, request: Provision) -> Result<User> {
        let user = self.deps.user(user_id).await?;
        if user.email != Email::normalized(&request.email) {
            return Err(Error::Conflict(
                "this account's e-mail is not the one the platform provisioned".into(),
            ));
        }
        if let Some(other) = self
            .deps
            .store
            .user_by_external_id(request.external_platform_id)
            .await?
            && other.id != user_id
        {
            return Err(Error::Conflict(
                "the platform user is linked to another account".into(),
            ));
        }
        let user = self.link(user_id, &request).await?;
        self.grant(&user, request.plan).await?;
        Ok(user)
    }

    fn email_taken(&self, holder: &User) -> Error {
        if holder.external_platform_id.is_some() {
            Error::Conflict("email is linked to another platform user".into())
        } else {
            Error::PlatformLinkRequired(holder.id)
        }
    }

    /// Writes the platform link; the store refuses to relink a user linked to another id.
    async fn link(&self, user_id: UserId, request: &Provision) -> Result<User> {
        let link = UserChange {
            link_platform: Some(PlatformLink {
                external_platform_id: request.external_platform_id,
                external_store_id: request.external_store_id,
            }),
            updated_at: self.deps.now(),
            ..UserChange::default()
        };
        match self.deps.store.change_user(user_id, &link).await {
            Ok(user) => Ok(user),
            Err(StoreError::Stale) => Err(Error::Conflict(
                "email is linked to another platform user".into(),
            )),
            Err(StoreError::Conflict(_)) => Err(Error::Conflict(
                "the platform user is linked to another account".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn grant(&self, user: &User, plan: Option<PlanTier>) -> Result<()> {
        if let Some(plan) = plan {
            BillingService::new(self.deps.clone())
                .grant_plan(user.id, plan, SubscriptionStatus::Active)
                .await?;
        }
        Ok(())
    }

    /// Ends sessions. `everywhere` ends every session of the user and moves the session epoch
    /// on, so every access token issued before stops working at once; it returns the new epoch.
    /// Otherwise the session (family) of `refresh_token` ends: that token and its successors
    /// stop working.
    ///
    /// # Errors
    /// [`Error::NotFound`] when, without `everywhere`, the refresh token is missing or not one of
    /// the user's.
    pub async fn logout(
        &self,
        user_id: UserId,
        refresh_token: Option<&str>,
        everywhere: bool,
    ) -> Result<Option<i64>> {
        let now = self.deps.now();
        let store = &self.deps.store;
        if everywhere {
            let change = UserChange {
                end_sessions: true,
                updated_at: now,
                ..UserChange::default()
            };
            let user = store.change_user(user_id, &change).await?;
            store.revoke_user_refresh_tokens(user_id, now).await?;
            return Ok(Some(user.session_epoch));
        }
        let revoked = match refresh_token {
            Some(raw) => {
                store
                    .revoke_family_of(user_id, &hex_sha256(raw.as_bytes()), now)
                    .await?
            }
            None => false,
        };
        if revoked {
            Ok(None)
        } else {
            Err(Error::NotFound("refresh token"))
        }
    }

    /// The user's current session epoch (`None`: the user no longer exists). Access tokens
    /// carry the epoch they were issued in; one from an earlier epoch is no longer valid.
    ///
    /// # Errors
    /// The store failed.
    pub async fn session_epoch(&self, user_id: UserId) -> Result<Option<i64>> {
        Ok(self
            .deps
            .store
            .user(user_id)
            .await?
            .map(|u| u.session_epoch))
    }

    /// Starts a session for `user`: a refresh token in a new family.
    ///
    /// # Errors
    /// The store failed.
    pub async fn issue_refresh_token(&self, user: &User) -> Result<IssuedRefreshToken> {
        let (raw, fresh) = self.new_token()?;
        let token = RefreshToken {
            id: fresh.id,
            user_id: user.id,
            family_id: self.deps.new_id(),
            token_hash: fresh.token_hash,
            created_at: self.deps.now(),
            expires_at: fresh.expires_at,
            used_at: None,
            revoked_at: None,
        };
        self.deps.store.insert_refresh_token(&token).await?;
        Ok(IssuedRefreshToken {
            raw,
            token,
            session_epoch: user.session_epoch,
        })
    }

    /// A new raw token (32 random bytes, base64url) and what is stored of it.
    fn new_token(&self) -> Result<(String, Successor)> {
        let raw = crate::crypto::random_token()
            .map_err(|e| Error::unavailable("random generator", e.to_string()))?;
        let successor = Successor {
            id: self.deps.new_id(),
            token_hash: hex_sha256(raw.as_bytes()),
            expires_at: self.deps.now() + self.deps.refresh_token_ttl,
        };
        Ok((raw, successor))
    }

    /// The user a browser session belongs to: the session is a refresh token held in an
    /// HttpOnly cookie and never rotated (JavaScript never sees it, so rotation would only race
    /// the browser's parallel requests); it ends when it expires, when it is signed out
    /// ([`logout`](Self::logout) revokes its family) or when every session ends (a password
    /// change, logout everywhere), and it stops working if it is ever presented to
    /// [`refresh`](Self::refresh).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown, expired, used or revoked token.
    pub async fn session_of(&self, raw: &str) -> Result<UserId> {
        if raw.is_empty() || raw.len() > 256 {
            return Err(Error::Unauthorized);
        }
        let token = self
            .deps
            .store
            .refresh_token(&hex_sha256(raw.as_bytes()))
            .await?
            .ok_or(Error::Unauthorized)?;
        let live = token.used_at.is_none()
            && token.revoked_at.is_none()
            && token.expires_at > self.deps.now();
        if live {
            Ok(token.user_id)
        } else {
            Err(Error::Unauthorized)
        }
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
                let Some(user) = self.deps.store.user(token.user_id).await? else {
                    return Err(Error::Unauthorized);
                };
                Ok(IssuedRefreshToken {
                    raw: next_raw,
                    token,
                    session_epoch: user.session_epoch,
                })
            }
            RefreshUse::Reused { .. } | RefreshUse::Invalid => Err(Error::Unauthorized),
        }
    }
}
