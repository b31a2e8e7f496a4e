//! Typed identifiers: a `PostId` can never be passed where an `AccountId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),+ $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (for adapters reading stored rows).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| crate::ValidationError::new("id", "is not a UUID"))
            }
        }
    )+};
}

typed_id!(
    /// Identifies a [`User`](crate::user::User).
    UserId,
    /// Identifies a [`SocialAccount`](crate::account::SocialAccount).
    AccountId,
    /// Identifies a [`Post`](crate::post::Post).
    PostId,
    /// Identifies a [`QueueItem`](crate::queue::QueueItem).
    QueueItemId,
    /// Identifies a [`Subscription`](crate::billing::Subscription).
    SubscriptionId,
    /// Identifies an [`ApiKey`](crate::api_key::ApiKey).
    ApiKeyId,
    /// Identifies a [`RefreshToken`](crate::user::RefreshToken).
    RefreshTokenId,
    /// Identifies a family of rotated refresh tokens (one login session).
    TokenFamilyId,
    /// Identifies a [`PostMetrics`](crate::analytics::PostMetrics) row.
    MetricsId,
    /// Identifies a [`PublicationAttempt`](crate::publish::PublicationAttempt).
    AttemptId,
    /// Identifies a [`CaptionTemplate`](crate::template::CaptionTemplate).
    TemplateId,
    /// Identifies an [`Import`](crate::import::Import).
    ImportId,
    /// Identifies a [`WebhookEndpoint`](crate::event::WebhookEndpoint).
    EndpointId,
    /// Identifies an [`Event`](crate::event::Event): the `webhook-id` of every delivery of it.
    EventId,
    /// Identifies a [`Delivery`](crate::event::Delivery) of an event to one endpoint.
    DeliveryId,
);

/// Makes new identifiers. Random (v4) by default; tests may inject a deterministic one.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A fresh, never-before-returned UUID.
    fn new_uuid(&self) -> Uuid;
}

/// Random v4 UUIDs from the operating system's generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_uuid(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// Sequential UUIDs (`00000000-0000-0000-0000-000000000001`, …), for reproducible tests.
#[derive(Debug, Default)]
pub struct SequentialIds(std::sync::atomic::AtomicU64);

impl IdGenerator for SequentialIds {
    fn new_uuid(&self) -> Uuid {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Uuid::from_u128(u128::from(n))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_parse_from_uuid_strings_only() {
        let id: PostId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap();
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!("not-a-uuid".parse::<PostId>().is_err());
    }

    #[test]
    fn sequential_ids_count_up_from_one() {
        let ids = SequentialIds::default();
        assert_eq!(ids.new_uuid(), Uuid::from_u128(1));
        assert_eq!(ids.new_uuid(), Uuid::from_u128(2));
    }
}
