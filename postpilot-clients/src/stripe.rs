//! Stripe, behind core's `BillingGateway`: form-encoded REST with the secret key as a bearer and
//! an `Idempotency-Key` on every `POST` (no SDK). A checkout creates the customer once (keyed by
//! the user, so a retried or concurrent first checkout cannot make two) and a Checkout Session
//! in `subscription` mode for the plan's configured price; the portal is a Billing Portal session.
//! Every event about a subscription re-reads it (`GET /v1/subscriptions/{id}`), as Stripe
//! recommends, so events applied late, twice or out of order leave Stripe's latest state; a
//! plan changed in the portal is recognised by its price.

use std::time::Duration;

use async_trait::async_trait;
use postpilot_core::billing::{
    BillingError, BillingEvent, BillingGateway, CheckoutRequest, CheckoutSession,
    ProviderSubscription, parse_stripe_event_with, parse_stripe_subscription,
};
use postpilot_core::crypto::SecretString;
use postpilot_core::plan::PlanTier;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::http::{Answer, HttpClient, Timeouts};

/// The API version every call names, so that answers keep the shapes this client reads.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// The Stripe price of each paid plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripePrices {
    /// The pro plan's recurring price (`price_…`).
    pub pro: String,
    /// The enterprise plan's recurring price.
    pub enterprise: String,
}

/// How to reach Stripe.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `https://api.stripe.com` (a local fake in tests).
    pub api_url: String,
    /// The secret key (`sk_live_…`, `sk_test_…`, or a restricted `rk_…`).
    pub secret_key: SecretString,
    /// The prices of the paid plans.
    pub prices: StripePrices,
    /// Where buyers come back to after checkout (`?checkout=success|canceled`) and the portal.
    pub return_url: String,
    /// Timeouts of each call.
    pub timeouts: Timeouts,
}

/// Stripe billing.
#[derive(Debug)]
pub struct StripeBilling {
    http: HttpClient,
    config: StripeConfig,
}

/// Attempts of one call: a lost call, a 429 or a 5xx is tried again with the same idempotency
/// key, which Stripe answers with the first call's result if it had one.
const ATTEMPTS: u32 = 3;

impl StripeBilling {
    /// A client for `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: StripeConfig) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            config,
        })
    }

    fn plan_of_price(&self, price: &str) -> Option<PlanTier> {
        let prices = &self.config.prices;
        if price == prices.pro {
            Some(PlanTier::Pro)
        } else if price == prices.enterprise {
            Some(PlanTier::Enterprise)
        } else {
            None
        }
    }

    fn price_of(&self, plan: PlanTier) -> Result<&str, BillingError> {
        match plan {
            PlanTier::Pro => Ok(&self.config.prices.pro),
            PlanTier::Enterprise => Ok(&self.config.prices.enterprise),
            PlanTier::Free => Err(BillingError::Malformed("the free plan has no price".into())),
        }
    }

    /// Calls `method path` with `form`, under `idempotency_key` when posting, retrying what
    /// may succeed later; the JSON of a success.
    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(String, String)],
    ) -> Result<Option<Value>, BillingError> {
        let url = format!("{}{path}", self.config.api_url.trim_end_matches('/'));
        let bearer = format!("Bearer {}", self.config.secret_key.expose());
        let mut headers = vec![
            ("authorization", bearer.as_str()),
            ("stripe-version", STRIPE_VERSION),
        ];
        if let Some(key) = idempotency_key {
            headers.push(("idempotency-key", key));
        }
        let mut attempt = 1;
        loop {
            let answer = self
                .http
                .call_form(what, method.clone(), &url, &headers, form)
                .await;
            let retry = match &answer {
                Ok(a) => a.status == StatusCode::TOO_MANY_REQUESTS || a.status.is_server_error(),
                Err(_) => true,
            };
            if !retry || attempt == ATTEMPTS {
                return match answer {
                    Ok(a) if a.status.is_success() => Ok(Some(a.body)),
                    Ok(a) if a.status == StatusCode::NOT_FOUND && method == Method::GET => Ok(None),
                    Ok(a) => Err(refused(what, &a)),
                    Err(transport) => Err(BillingError::Unavailable(transport.0.into())),
                };
            }
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            attempt += 1;
        }
    }

    async fn post(
        &self,
        what: &str,
        path: &str,
        idempotency_key: &str,
        form: &[(String, String)],
    ) -> Result<Value, BillingError> {
        self.call(what, Method::POST, path, Some(idempotency_key), form)
            .await?
            .ok_or_else(|| {
                BillingError::Unavailable(format!("Stripe ({what}) found nothing").into())
            })
    }
}

fn field(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn text(body: &Value, key: &str, what: &str) -> Result<String, BillingError> {
    body[key].as_str().map(str::to_owned).ok_or_else(|| {
        BillingError::Unavailable(format!("Stripe ({what}) answered without {key}").into())
    })
}

/// A refusal, with Stripe's own message (it masks keys) and never our key.
fn refused(what: &str, answer: &Answer) -> BillingError {
    let refusal = answer.refusal(|status| match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => " (check STRIPE_SECRET_KEY)",
        _ => "",
    });
    BillingError::Unavailable(format!("Stripe refused {what} {refusal}").into())
}

#[async_trait]
impl BillingGateway for StripeBilling {
    fn is_mock(&self) -> bool {
        false
    }

    async fn create_customer(&self, request: &CheckoutRequest) -> Result<String, BillingError> {
        let user = request.user_id.as_uuid().to_string();
        let form = [
            field("email", request.email.as_ref()),
            field("metadata[user_id]", &user),
        ];
        let customer = self
            .post(
                "creating the customer",
                "/v1/customers",
                &format!("postpilot-customer-{user}"),
                &form,
            )
            .await?;
        text(&customer, "id", "creating the customer")
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, BillingError> {
        let price = self.price_of(request.plan)?;
        let customer_id = match &request.customer_id {
            Some(id) => id.clone(),
            None => self.create_customer(request).await?,
        };
        let user = request.user_id.as_uuid().to_string();
        let plan = request.plan.to_string();
        let back = &self.config.return_url;
        let form = [
            field("mode", "subscription"),
            field("customer", &customer_id),
            field("client_reference_id", &user),
            field("line_items[0][price]", price),
            field("line_items[0][quantity]", "1"),
            field("success_url", &format!("{back}?checkout=success")),
            field("cancel_url", &format!("{back}?checkout=canceled")),
            field("metadata[plan]", &plan),
            field("metadata[user_id]", &user),
            field("subscription_data[metadata][plan]", &plan),
            field("subscription_data[metadata][user_id]", &user),
        ];
        // One key per attempt to check out: a retry of this call is the same checkout.
        let key = format!("postpilot-checkout-{}", uuid::Uuid::new_v4());
        let session = self
            .post(
                "starting the checkout",
                "/v1/checkout/sessions",
                &key,
                &form,
            )
            .await?;
        Ok(CheckoutSession {
            checkout_url: text(&session, "url", "starting the checkout")?,
            session_id: text(&session, "id", "starting the checkout")?,
            customer_id,
        })
    }

    async fn create_portal(&self, customer_id: &str) -> Result<String, BillingError> {
        let form = [
            field("customer", customer_id),
            field("return_url", &self.config.return_url),
        ];
        let key = format!("postpilot-portal-{}", uuid::Uuid::new_v4());
        let session = self
            .post(
                "opening the portal",
                "/v1/billing_portal/sessions",
                &key,
                &form,
            )
            .await?;
        text(&session, "url", "opening the portal")
    }

    fn parse_event(&self, payload: &[u8]) -> Result<BillingEvent, BillingError> {
        parse_stripe_event_with(payload, &|price| self.plan_of_price(price))
    }

    async fn current_subscription(
        &self,
        subscription_id: &str,
    ) -> Result<Option<ProviderSubscription>, BillingError> {
        if subscription_id.is_empty()
            || !subscription_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(BillingError::Malformed("not a subscription id".into()));
        }
        let path = format!("/v1/subscriptions/{subscription_id}");
        let Some(object) = self
            .call("reading the subscription", Method::GET, &path, None, &[])
            .await?
        else {
            return Ok(None);
        };
        parse_stripe_subscription(&object, false, &|price| self.plan_of_price(price)).map(Some)
    }
}
