//! Webhook endpoint use cases: register (the secret shown once), list, read, edit, rotate the
//! secret with an overlap, disable and enable, delete.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::context::Deps;
use crate::crypto::{SecretString, TokenContext};
use crate::error::{Error, Result};
use crate::event::signature::EndpointSecret;
use crate::event::{
    EndpointUrl, EventType, MAX_ENDPOINTS, NewEndpoint, OPERATOR, OPERATOR_ENDPOINT,
    WebhookEndpoint, parse_description,
};
use crate::id::{EndpointId, UserId};
use crate::store::StoreError;

/// How many times a change is applied anew when another change came between its read and its
/// write.
const CHANGE_RETRIES: usize = 5;

/// A new endpoint, as a client sends it.
#[derive(Clone, Debug, Default)]
pub struct NewEndpointRequest {
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives (empty: every type).
    pub event_types: Vec<String>,
    /// The owner's note.
    pub description: String,
}

/// A partial update: `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct EndpointPatch {
    /// New URL (checked again where it resolves).
    pub url: Option<String>,
    /// New event types (empty: every type).
    pub event_types: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
    /// `Some(false)` stops deliveries; `Some(true)` starts them again.
    pub enabled: Option<bool>,
}

/// An endpoint with its secret: the answer to registering one or rotating its secret, the only
/// times the secret is shown.
#[derive(Clone, Debug)]
pub struct CreatedEndpoint {
    /// The stored endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its (new) signing secret.
    pub secret: EndpointSecret,
}

/// Registering and managing webhook endpoints.
#[derive(Clone, Debug)]
pub struct EndpointService {
    deps: Arc<Deps>,
}

impl EndpointService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Registers an endpoint with a new secret, shown this once. Its URL must resolve only to
    /// public addresses (see [`AddressPolicy`](crate::event::address::AddressPolicy)).
    ///
    /// # Errors
    /// [`Error::Validation`] for a URL that is malformed or reaches a refused address, an
    /// unknown event type or a bad description; [`Error::Conflict`] when the user already holds
    /// [`MAX_ENDPOINTS`].
    pub async fn create(
        &self,
        user: UserId,
        request: NewEndpointRequest,
    ) -> Result<CreatedEndpoint> {
        if user == OPERATOR {
            // The operator's one endpoint is configured, not registered.
            return Err(Error::NotFound("user"));
        }
        let url = self.checked_url(request.url).await?;
        let event_types = EventType::parse_list(&request.event_types)?;
        let description = parse_description(request.description)?;
        let id: EndpointId = self.deps.new_id();
        let (secret, sealed) = self.new_secret(user, id)?;
        let endpoint = WebhookEndpoint::create(
            NewEndpoint {
                id,
                user_id: user,
                url,
                description,
                event_types,
                sealed_secret: sealed,
            },
            self.deps.now(),
        );
        match self.deps.store.insert_endpoint(&endpoint, MAX_ENDPOINTS).await {
            Ok(()) => Ok(CreatedEndpoint { endpoint, secret }),
            Err(StoreError::LimitReached) => Err(Error::Conflict(
                format!("a user may register at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes the operator's endpoint ([`OPERATOR_ENDPOINT`], owned by [`OPERATOR`]) the one
    /// described: it receives `event_types` (empty: every type) of every merchant at `url`,
    /// signed with `secret` (`whsec_…`, the operator's own, so the operator's receiver knows
    /// it). Run it at every start: with the settings already in force it writes nothing. A new
    /// secret replaces the old as a rotation does (both sign for 24 hours); a disabled endpoint
    /// is enabled again, the operator having said where deliveries go. The URL passes the same
    /// address guard as a merchant's.
    ///
    /// # Errors
    /// [`Error::Validation`] for a URL, secret or event type that does not parse, or a URL the
    /// guard refuses.
    pub async fn configure_operator(
        &self,
        url: String,
        secret: &str,
        event_types: &[String],
    ) -> Result<WebhookEndpoint> {
        let url = self.checked_url(url).await?;
        let secret = EndpointSecret::parse(secret).map_err(|e| e.for_field("secret"))?;
        let event_types = EventType::parse_list(event_types)?;
        let context = TokenContext::for_endpoint(OPERATOR, OPERATOR_ENDPOINT);
        let sealed = self
            .deps
            .cipher
            .seal(&SecretString::new(secret.reveal()), context)
            .map_err(|e| Error::unavailable("token cipher", e))?;
        let description = "the operator's endpoint: every merchant's events".to_owned();
        let Some(stored) = self
            .deps
            .store
            .endpoint(OPERATOR, OPERATOR_ENDPOINT)
            .await?
        else {
            let endpoint = WebhookEndpoint::create(
                NewEndpoint {
                    id: OPERATOR_ENDPOINT,
                    user_id: OPERATOR,
                    url: url.clone(),
                    description,
                    event_types: event_types.clone(),
                    sealed_secret: sealed.clone(),
                },
                self.deps.now(),
            );
            match self.deps.store.insert_endpoint(&endpoint, 1).await {
                Ok(()) => return Ok(endpoint),
                // Another process configured it meanwhile: bring it to these settings below.
                Err(StoreError::LimitReached | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            return self
                .bring_operator_to(url, &secret, event_types, sealed)
                .await;
        };
        let current = self.current_secret(&stored);
        if current.as_deref() == Some(secret.reveal().as_str())
            && stored.url() == &url
            && stored.event_types() == event_types
            && !stored.is_disabled()
        {
            // As configured already (every process reads the same settings at its start).
            return Ok(stored);
        }
        self.bring_operator_to(url, &secret, event_types, sealed)
            .await
    }

    /// Writes the operator's endpoint's settings over what is stored.
    async fn bring_operator_to(
        &self,
        url: EndpointUrl,
        secret: &EndpointSecret,
        event_types: Vec<EventType>,
        sealed: String,
    ) -> Result<WebhookEndpoint> {
        self.change(OPERATOR, OPERATOR_ENDPOINT, |endpoint, now| {
            match self.current_secret(endpoint) {
                Some(current) if current == secret.reveal() => {}
                // Both sign until the receiver has switched.
                Some(_) => endpoint.rotate(sealed.clone(), now),
                // The stored secret no longer opens: it could not sign beside the new one.
                None => endpoint.replace_secret(sealed.clone(), now),
            }
            if endpoint.url() != &url || endpoint.event_types() != event_types {
                endpoint.edit(Some(url.clone()), None, Some(event_types.clone()), now);
            }
            if endpoint.is_disabled() {
                endpoint.enable(now);
            }
            Ok(())
        })
        .await
    }

    /// The endpoint's current secret, revealed, when it opens.
    fn current_secret(&self, endpoint: &WebhookEndpoint) -> Option<String> {
        let secrets = self.signing_secrets(endpoint).ok()?;
        secrets.first().map(EndpointSecret::reveal)
    }

    /// Removes the operator's endpoint (and its deliveries), if there is one.
    ///
    /// # Errors
    /// The store failed.
    pub async fn remove_operator(&self) -> Result<()> {
        self.deps
            .store
            .delete_endpoint(OPERATOR, OPERATOR_ENDPOINT)
            .await?;
        Ok(())
    }

    /// One of the user's endpoints.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn get(&self, user: UserId, id: EndpointId) -> Result<WebhookEndpoint> {
        self.deps
            .store
            .endpoint(user, id)
            .await?
            .ok_or(Error::NotFound("webhook endpoint"))
    }

    /// The user's endpoints, oldest first (at most [`MAX_ENDPOINTS`]).
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self, user: UserId) -> Result<Vec<WebhookEndpoint>> {
        Ok(self.deps.store.list_endpoints(user).await?)
    }

    /// Edits an endpoint: its URL (checked again), event types, description, and whether it
    /// receives deliveries.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's; [`Error::Validation`] as for
    /// [`create`](Self::create).
    pub async fn update(
        &self,
        user: UserId,
        id: EndpointId,
        patch: EndpointPatch,
    ) -> Result<WebhookEndpoint> {
        let url = match patch.url {
            Some(url) => Some(self.checked_url(url).await?),
            None => None,
        };
        let event_types = patch
            .event_types
            .map(|types| EventType::parse_list(&types))
            .transpose()?;
        let description = patch.description.map(parse_description).transpose()?;
        self.change(user, id, |endpoint, now| {
            endpoint.edit(url.clone(), description.clone(), event_types.clone(), now);
            match patch.enabled {
                Some(false) if !endpoint.is_disabled() => {
                    endpoint.disable(crate::event::OWNER_REASON, now);
                }
                Some(true) => endpoint.enable(now),
                _ => {}
            }
            Ok(())
        })
        .await
    }

    /// Gives an endpoint a new secret, shown this once. The old one signs beside it for
    /// [`ROTATION_OVERLAP`](crate::event::ROTATION_OVERLAP): every delivery meanwhile carries
    /// both signatures, so the receiver switches at its own pace.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn rotate_secret(&self, user: UserId, id: EndpointId) -> Result<CreatedEndpoint> {
        let mut secret = None;
        let endpoint = self
            .change(user, id, |endpoint, now| {
                let (new, sealed) = self.new_secret(user, id)?;
                endpoint.rotate(sealed, now);
                secret = Some(new);
                Ok(())
            })
            .await?;
        let secret = secret.ok_or_else(|| Error::unavailable("random generator", "no secret"))?;
        Ok(CreatedEndpoint { endpoint, secret })
    }

    /// Deletes an endpoint.
    ///
    /// # Errors
    /// [`Error::NotFound`] if absent or someone else's.
    pub async fn delete(&self, user: UserId, id: EndpointId) -> Result<()> {
        if self.deps.store.delete_endpoint(user, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("webhook endpoint"))
        }
    }

    /// The delivery log of one of the user's endpoints, newest first, optionally of one status
    /// (`dead`: its dead letters).
    ///
    /// # Errors
    /// [`Error::NotFound`] if the endpoint is absent or someone else's.
    pub async fn deliveries(
        &self,
        user: UserId,
        endpoint: EndpointId,
        status: Option<crate::event::DeliveryStatus>,
        page: crate::page::PageRequest,
    ) -> Result<crate::page::Page<crate::event::Delivery>> {
        self.get(user, endpoint).await?;
        Ok(self
            .deps
            .store
            .list_deliveries(user, endpoint, status, page)
            .await?)
    }

    /// Sends a delivered or dead delivery again, at once and with the same event id (receivers
    /// deduplicate by it), its retry schedule starting over.
    ///
    /// # Errors
    /// [`Error::NotFound`] if it is absent, someone else's, or not the endpoint's;
    /// [`Error::Conflict`] while it is still pending (on its way already).
    pub async fn resend(
        &self,
        user: UserId,
        endpoint: EndpointId,
        id: crate::id::DeliveryId,
    ) -> Result<crate::event::Delivery> {
        let mut delivery = self
            .deps
            .store
            .delivery(user, id)
            .await?
            .filter(|d| d.endpoint_id() == endpoint)
            .ok_or(Error::NotFound("delivery"))?;
        if !delivery.is_resendable() {
            return Err(Error::Conflict(
                "the delivery is still pending: it is sent on its schedule".into(),
            ));
        }
        delivery.resend(self.deps.now());
        self.deps
            .store
            .resend_delivery(&delivery)
            .await
            .map_err(|e| e.of("delivery"))?;
        Ok(delivery)
    }

    /// The secrets that sign a delivery to `endpoint` now, the current one first: what the
    /// worker signs with (and what an embedder's own tests verify against).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when a sealed secret does not open (a lost cipher key).
    pub fn signing_secrets(&self, endpoint: &WebhookEndpoint) -> Result<Vec<EndpointSecret>> {
        let context = TokenContext::for_endpoint(endpoint.user_id(), endpoint.id());
        endpoint
            .sealed_secrets_in_force(self.deps.now())
            .into_iter()
            .map(|sealed| {
                let opened = self
                    .deps
                    .cipher
                    .open(sealed, context)
                    .map_err(|e| Error::unavailable("token cipher", e))?;
                EndpointSecret::parse(opened.expose())
                    .map_err(|e| Error::unavailable("token cipher", e.to_string()))
            })
            .collect()
    }

    async fn checked_url(&self, url: String) -> Result<EndpointUrl> {
        let url = EndpointUrl::parse(url)?;
        self.deps
            .address_policy
            .check(self.deps.resolver.as_ref(), &url)
            .await?;
        Ok(url)
    }

    fn new_secret(&self, user: UserId, id: EndpointId) -> Result<(EndpointSecret, String)> {
        let secret = EndpointSecret::generate()
            .map_err(|e| Error::unavailable("random generator", e.to_string()))?;
        let sealed = self
            .deps
            .cipher
            .seal(
                &SecretString::new(secret.reveal()),
                TokenContext::for_endpoint(user, id),
            )
            .map_err(|e| Error::unavailable("token cipher", e))?;
        Ok((secret, sealed))
    }

    /// Applies `change` to the stored endpoint and writes it if nothing else changed it since it
    /// was read; otherwise reads it again and applies `change` anew (a rotation racing an edit
    /// must not write back the secret it replaced). Each write's `updated_at` is later than the
    /// one it replaces, so the store can tell two writes apart.
    async fn change(
        &self,
        user: UserId,
        id: EndpointId,
        mut change: impl FnMut(&mut WebhookEndpoint, DateTime<Utc>) -> Result<()>,
    ) -> Result<WebhookEndpoint> {
        for _ in 0..CHANGE_RETRIES {
            let mut endpoint = self.get(user, id).await?;
            let read_at = endpoint.updated_at();
            let now = self.deps.now().max(read_at + TimeDelta::milliseconds(1));
            change(&mut endpoint, now)?;
            match self.deps.store.update_endpoint(&endpoint, read_at).await {
                Ok(()) => return Ok(endpoint),
                Err(StoreError::Stale) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound("webhook endpoint")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the endpoint kept changing under this request; try again".into(),
        ))
    }
}
