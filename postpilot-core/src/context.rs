//! The ports every service shares, wired once by the [`Engine`](crate::Engine) builder.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::account::OAuthProvider;
use crate::billing::BillingGateway;
use crate::caption::CaptionGenerator;
use crate::clock::Clock;
use crate::crypto::{HashGate, PasswordHasher, TokenCipher};
use crate::id::IdGenerator;
use crate::id::UserId;
use crate::platform::Platform;
use crate::publish::{MetricsRegistry, Publisher};
use crate::store::Store;
use crate::user::{LoginThrottle, User};
use crate::{Error, Result, ValidationError};

/// The ports every service shares.
pub(crate) struct Deps {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) publishers: HashMap<Platform, Arc<dyn Publisher>>,
    /// The platforms whose accounts connect by OAuth.
    pub(crate) oauth: HashMap<Platform, Arc<dyn OAuthProvider>>,
    pub(crate) captions: Arc<dyn CaptionGenerator>,
    /// Caption generations per user per minute (this process's memory).
    pub(crate) generation_limit: crate::caption::limit::GenerationLimit,
    pub(crate) billing: Arc<dyn BillingGateway>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGenerator>,
    pub(crate) cipher: Arc<dyn TokenCipher>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    /// Slots for `hasher`: every hash and verification runs in one.
    pub(crate) hash_gate: HashGate,
    /// Failed password checks per account (this process's memory).
    pub(crate) login_throttle: LoginThrottle,
    pub(crate) refresh_token_ttl: chrono::Duration,
    pub(crate) max_api_keys: u32,
    /// Every plan's name, price and limits.
    pub(crate) plans: crate::plan::Plans,
    /// The publishing caps the platforms do not report.
    pub(crate) publishing_caps: crate::post::PublishingCaps,
    /// Accounts whose platform-reported cap could not be read, and when (this process's
    /// memory): not asked again for a while.
    pub(crate) cap_read_failed:
        std::sync::Mutex<std::collections::BTreeMap<crate::id::AccountId, DateTime<Utc>>>,
    pub(crate) metrics: Arc<MetricsRegistry>,
    /// Which addresses webhook deliveries may reach.
    pub(crate) address_policy: crate::event::address::AddressPolicy,
    /// Resolves endpoint hosts for that check.
    pub(crate) resolver: Arc<dyn crate::event::address::HostResolver>,
}

impl fmt::Debug for Deps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deps")
            .field("store", &self.store)
            .field("publishers", &self.publishers.keys().collect::<Vec<_>>())
            .field("billing_mock", &self.billing.is_mock())
            .finish_non_exhaustive()
    }
}

impl Deps {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Checks the engine publishes to `platform` (has a publisher for it).
    pub(crate) fn ensure_offered(&self, platform: Platform) -> Result<(), ValidationError> {
        if self.publishers.contains_key(&platform) {
            Ok(())
        } else {
            Err(ValidationError::new(
                "platform",
                format!("{platform} is not offered by this server"),
            ))
        }
    }

    pub(crate) fn new_id<T: From<uuid::Uuid>>(&self) -> T {
        T::from(self.ids.new_uuid())
    }

    /// What `tier` allows.
    pub(crate) fn limits(&self, tier: crate::plan::PlanTier) -> &crate::plan::PlanLimits {
        self.plans.get(tier)
    }

    /// The stored user, or [`Error::NotFound`].
    pub(crate) async fn user(&self, id: UserId) -> Result<User> {
        self.store.user(id).await?.ok_or(Error::NotFound("user"))
    }
}
