//! Delivering events to webhook endpoints ([`EventDeliverer`]): a `POST` of the signed JSON
//! body with the Standard Webhooks headers, within 15 seconds, no redirect followed, no proxy,
//! connecting only to addresses core's [`AddressPolicy`] allows — checked for an IP in the URL
//! before the request and for a name as it is resolved for the connection (a name re-pointed
//! inside the network since the endpoint was registered is refused).

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use postpilot_core::event::EndpointUrl;
use postpilot_core::event::address::AddressPolicy;
use postpilot_core::event::delivery::{
    DELIVERY_TIMEOUT, DeliveryAttempt, DeliveryOutcome, EventDeliverer, MAX_RESPONSE_BYTES,
    parse_retry_after, response_excerpt,
};
use postpilot_core::event::signature::SignedHeaders;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::guard::GuardedResolver;

/// The deliverer over reqwest. Cheap to clone (one connection pool).
#[derive(Clone, Debug)]
pub struct HttpDeliverer {
    inner: reqwest::Client,
    policy: AddressPolicy,
    timeout: Duration,
}

impl HttpDeliverer {
    /// A deliverer allowing what `policy` allows, each delivery within [`DELIVERY_TIMEOUT`].
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(policy: AddressPolicy) -> Result<Self, String> {
        Self::with_timeout(policy, DELIVERY_TIMEOUT)
    }

    /// The same with another time limit (tests of a slow receiver).
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn with_timeout(policy: AddressPolicy, timeout: Duration) -> Result<Self, String> {
        let inner = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver(policy))
            .user_agent(concat!("postpilot-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the webhook HTTP client could not be built: {e}"))?;
        Ok(Self {
            inner,
            policy,
            timeout,
        })
    }

    async fn send(
        &self,
        url: &EndpointUrl,
        headers: &SignedHeaders,
        body: &[u8],
    ) -> Result<DeliveryAttempt, String> {
        // The host as the HTTP client will read it: an IP there is never resolved, so it is
        // checked here.
        let parsed = reqwest::Url::parse(url.as_str())
            .map_err(|_| "the endpoint URL does not parse; not delivered".to_owned())?;
        let Some(host) = parsed.host_str() else {
            return Err("the endpoint URL has no host; not delivered".into());
        };
        let ip = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if let Some(refused) = ip.and_then(|ip| self.policy.refusal(ip)) {
            return Err(format!("the endpoint is {refused}; not delivered"));
        }
        let loopback = ip.map_or_else(|| is_localhost(host), |ip| ip.is_loopback());
        if parsed.scheme() != "https" && !loopback {
            return Err("the endpoint is not https; not delivered".into());
        }
        let mut response = self
            .inner
            .post(url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &headers.id)
            .header("webhook-timestamp", &headers.timestamp)
            .header("webhook-signature", &headers.signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| transport(&e, self.timeout))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let mut kept = Vec::new();
        while kept.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                // What was read is kept; the status already says how it went.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(DeliveryAttempt {
            outcome: outcome(status, retry_after),
            response: response_excerpt(&kept),
        })
    }
}

/// `localhost` or a `.localhost` name: loopback, where plain http may go when the policy allows
/// loopback at all (the resolver refuses it otherwise).
fn is_localhost(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost" || host.ends_with(".localhost")
}

fn outcome(status: StatusCode, retry_after: Option<Duration>) -> DeliveryOutcome {
    if status.is_success() {
        DeliveryOutcome::Delivered {
            status: status.as_u16(),
        }
    } else if status == StatusCode::GONE {
        DeliveryOutcome::Gone
    } else {
        let error = if status.is_redirection() {
            format!("answered {status}: redirects are not followed; register the final URL")
        } else {
            format!("answered {status}")
        };
        DeliveryOutcome::Failed {
            status: Some(status.as_u16()),
            error,
            retry_after: retry_after.filter(|_| matches!(status.as_u16(), 429 | 503)),
        }
    }
}

/// What a failed request says in the log: never the URL (its query may hold a token).
fn transport(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs_f64());
    }
    if let Some(refused) = crate::guard::refusal_in(e) {
        return format!("not delivered: {refused}");
    }
    if e.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

#[async_trait]
impl EventDeliverer for HttpDeliverer {
    async fn deliver(
        &self,
        url: &EndpointUrl,
        headers: &SignedHeaders,
        body: &[u8],
    ) -> DeliveryAttempt {
        self.send(url, headers, body)
            .await
            .unwrap_or_else(|error| DeliveryAttempt {
                outcome: DeliveryOutcome::Failed {
                    status: None,
                    error,
                    retry_after: None,
                },
                response: String::new(),
            })
    }
}
