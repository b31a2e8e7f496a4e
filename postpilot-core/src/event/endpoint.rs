//! A webhook endpoint: a URL a merchant (or the embedding platform, through its API key)
//! registers to hear what happens to their posts, accounts, queue and plan, with the secret its
//! deliveries are signed with.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::ValidationError;
use crate::aggregate::aggregate;
use crate::id::{EndpointId, UserId};
use crate::names::named_enum;

/// The operator: whoever runs PostPilot, the owner of the one endpoint that receives every
/// merchant's events ([`EndpointService::configure_operator`](crate::event::EndpointService::configure_operator)).
/// Stores keep it as a user with the nil id that cannot sign in.
pub const OPERATOR: UserId = UserId::from_uuid(uuid::Uuid::nil());

/// The operator's endpoint's id.
pub const OPERATOR_ENDPOINT: EndpointId = EndpointId::from_uuid(uuid::Uuid::nil());

/// Why an endpoint its owner turned off is disabled.
pub const OWNER_REASON: &str = "disabled by its owner";

/// Most endpoints one user may register.
pub const MAX_ENDPOINTS: u32 = 10;

/// How long a rotated secret keeps signing beside its successor, so a receiver can switch
/// without missing a delivery (the Standard Webhooks spec allows several signatures).
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// Longest endpoint URL.
pub const MAX_URL_LEN: usize = 2_048;

/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// What happened, as an event names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A post was scheduled (created with a time, scheduled, queued or approved).
    PostScheduled,
    /// A post went out.
    PostPublished,
    /// A post failed for good.
    PostFailed,
    /// A post was paused because the product it advertises changed.
    PostPaused,
    /// An account was connected.
    AccountConnected,
    /// An account's authorisation expired: it must be reconnected.
    AccountNeedsReconnect,
    /// A queue item's captions were generated.
    QueueItemGenerated,
    /// A plan limit is 80 % used.
    PlanLimitNear,
    /// A plan limit is used up.
    PlanLimitReached,
}

named_enum!(EventType, field = "event_types", exact {
    PostScheduled => "post.scheduled",
    PostPublished => "post.published",
    PostFailed => "post.failed",
    PostPaused => "post.paused",
    AccountConnected => "account.connected",
    AccountNeedsReconnect => "account.needs_reconnect",
    QueueItemGenerated => "queue.item.generated",
    PlanLimitNear => "plan.limit_near",
    PlanLimitReached => "plan.limit_reached",
});

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl EventType {
    /// Parses a list of event type names, sorted and without repeats; empty means every type.
    ///
    /// # Errors
    /// `event_types` names an unknown type.
    pub fn parse_list<I, S>(names: I) -> Result<Vec<Self>, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        crate::names::parse_set(names)
    }
}

/// An endpoint's URL: absolute `https` (or `http`, which only a loopback host may use, when the
/// operator allows loopback), without credentials or a fragment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EndpointUrl {
    text: String,
    #[serde(skip)]
    host: String,
    #[serde(skip)]
    port: u16,
    #[serde(skip)]
    https: bool,
}

impl EndpointUrl {
    /// Checks an endpoint URL's shape (where it resolves is checked by the service).
    ///
    /// # Errors
    /// `url` is not an absolute http(s) URL with a host, carries credentials or a fragment,
    /// has a bad port or white space, or is longer than [`MAX_URL_LEN`].
    pub fn parse(text: impl Into<String>) -> Result<Self, ValidationError> {
        let text = text.into();
        let refused = |why: &str| ValidationError::new("url", why.to_owned());
        if text.len() > MAX_URL_LEN {
            return Err(refused("must be at most 2048 bytes"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused("must not contain white space"));
        }
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(refused("must be an absolute https:// URL"));
        };
        if text.contains('#') {
            return Err(refused("must not have a fragment"));
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(refused("must not carry credentials"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| refused("has a bad port"))?;
        if host.is_empty() {
            return Err(refused("must name a host"));
        }
        if !plain_host(host) {
            return Err(refused(
                "must name its host plainly: letters, digits, dots and hyphens, a dotted IPv4 \
                 address or a bracketed IPv6 one",
            ));
        }
        let port = port.unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
            https,
            text,
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host: a name, or an IP address (an IPv6 one without its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `https`.
    pub const fn is_https(&self) -> bool {
        self.https
    }
}

impl AsRef<str> for EndpointUrl {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// Whether `host` reads the same to every URL parser: a DNS name of letters, digits, hyphens
/// and dots that does not end in a number (WHATWG parsers read `0x7f.1` or `2130706433` as an
/// IPv4 address that `std` does not), a dotted-quad IPv4 address, or an IPv6 address without a
/// zone. No percent-encoding, no backslash, no underscore tricks.
fn plain_host(host: &str) -> bool {
    if host.contains(':') {
        return host.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last.to_ascii_lowercase().starts_with("0x"));
    !numeric
        && name
            .split('.')
            .all(|label| crate::text::is_host_label(label, 63))
}

/// `host[:port]` or `[v6][:port]`; `None` for a port that is not a number in 1..=65535.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
    };
    Some((host, port))
}

/// Checks a description: trimmed, then at most [`MAX_DESCRIPTION_CHARS`] characters, no
/// control characters (line breaks and tabs aside); blank is empty.
///
/// # Errors
/// `description` is too long or holds control characters.
pub fn parse_description(text: impl AsRef<str>) -> Result<String, ValidationError> {
    let text = crate::text::parse_trimmed(
        "description",
        text.as_ref(),
        crate::text::CONTROL_BUT_LINE_BREAKS,
        MAX_DESCRIPTION_CHARS,
    )?;
    Ok(text.unwrap_or_default())
}

aggregate! {
    /// A webhook endpoint.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct WebhookEndpoint / WebhookEndpointRecord {
        /// Its id.
        id: copy EndpointId,
        /// Its owner.
        user_id: copy UserId,
        /// Where deliveries go.
        url: by_ref EndpointUrl,
        /// The owner's note on what it is for.
        description: string,
        /// The event types it receives, sorted; empty: every type.
        event_types: list EventType,
        /// The current signing secret, sealed by the token cipher for this endpoint and owner.
        sealed_secret: string => skip,
        /// The secret before the last rotation, sealed likewise, while it still signs.
        previous_sealed_secret: option_string => skip,
        /// Until when the previous secret signs beside the current one.
        previous_secret_expires_at: copy Option<DateTime<Utc>>,
        /// When deliveries stopped (the owner, a 410 answer, or five days of failures).
        disabled_at: copy Option<DateTime<Utc>>,
        /// Why deliveries stopped.
        disabled_reason: option_string,
        /// Since when every delivery to it has failed (none while it answers); after five days
        /// of it, it is disabled.
        failing_since: copy Option<DateTime<Utc>>,
        /// When it was registered.
        created_at: copy DateTime<Utc>,
        /// When it last changed.
        updated_at: copy DateTime<Utc>,
    }
}

/// What a new endpoint is made of, already checked.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    /// Its id.
    pub id: EndpointId,
    /// Its owner.
    pub user_id: UserId,
    /// Where deliveries go.
    pub url: EndpointUrl,
    /// The owner's note.
    pub description: String,
    /// The event types it receives (empty: every type).
    pub event_types: Vec<EventType>,
    /// Its secret, sealed.
    pub sealed_secret: String,
}

impl WebhookEndpoint {
    /// A new, enabled endpoint.
    pub fn create(new: NewEndpoint, now: DateTime<Utc>) -> Self {
        Self {
            id: new.id,
            user_id: new.user_id,
            url: new.url,
            description: new.description,
            event_types: new.event_types,
            sealed_secret: new.sealed_secret,
            previous_sealed_secret: None,
            previous_secret_expires_at: None,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether it receives events of `kind` (enabled, and subscribed to it or to every type).
    pub fn receives(&self, kind: EventType) -> bool {
        self.disabled_at.is_none()
            && (self.event_types.is_empty() || self.event_types.contains(&kind))
    }

    /// Whether it receives `owner`'s events of `kind`: its owner's, or every merchant's for the
    /// operator's endpoint.
    pub fn receives_from(&self, owner: UserId, kind: EventType) -> bool {
        (self.user_id == owner || self.id == OPERATOR_ENDPOINT) && self.receives(kind)
    }

    /// Whether deliveries to it have stopped.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// Whether deliveries to it stopped without its owner asking (a `410 Gone`, five days of
    /// failures): what its owner must be told.
    pub fn was_stopped_by_its_receiver(&self) -> bool {
        self.disabled_reason
            .as_deref()
            .is_some_and(|reason| reason != OWNER_REASON)
    }

    /// The sealed secrets that sign a delivery at `now`: the current one, then the previous one
    /// while its overlap lasts.
    pub fn sealed_secrets_in_force(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.sealed_secret.as_str()];
        if let (Some(previous), Some(until)) = (
            self.previous_sealed_secret.as_deref(),
            self.previous_secret_expires_at,
        ) && now < until
        {
            secrets.push(previous);
        }
        secrets
    }

    /// Changes what it receives and where; `None` leaves a field alone.
    pub fn edit(
        &mut self,
        url: Option<EndpointUrl>,
        description: Option<String>,
        event_types: Option<Vec<EventType>>,
        now: DateTime<Utc>,
    ) {
        if let Some(url) = url {
            self.url = url;
        }
        if let Some(description) = description {
            self.description = description;
        }
        if let Some(event_types) = event_types {
            self.event_types = event_types;
        }
        self.updated_at = now;
    }

    /// Stops deliveries, saying why.
    pub fn disable(&mut self, reason: impl Into<String>, now: DateTime<Utc>) {
        self.disabled_at = Some(now);
        self.disabled_reason = Some(reason.into());
        self.updated_at = now;
    }

    /// Starts deliveries again.
    pub fn enable(&mut self, now: DateTime<Utc>) {
        self.disabled_at = None;
        self.disabled_reason = None;
        self.failing_since = None;
        self.updated_at = now;
    }

    /// Makes `sealed` the only secret at once, without an overlap: for a secret that no longer
    /// opens (its key is gone), which could not sign beside the new one anyway.
    pub fn replace_secret(&mut self, sealed: String, now: DateTime<Utc>) {
        self.sealed_secret = sealed;
        self.previous_sealed_secret = None;
        self.previous_secret_expires_at = None;
        self.updated_at = now;
    }

    /// Makes `sealed` the current secret; the one it replaces signs beside it for
    /// [`ROTATION_OVERLAP`] (a secret still overlapping from an earlier rotation stops at once:
    /// two rotations in a day leave the last two secrets).
    pub fn rotate(&mut self, sealed: String, now: DateTime<Utc>) {
        let replaced = std::mem::replace(&mut self.sealed_secret, sealed);
        self.previous_sealed_secret = Some(replaced);
        self.previous_secret_expires_at = Some(now + ROTATION_OVERLAP);
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_endpoint_url_is_absolute_http_without_credentials_or_fragment() {
        let url = EndpointUrl::parse("https://Hooks.Example.com:8443/postpilot?x=1").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_https()),
            ("hooks.example.com", 8443, true)
        );
        let v6 = EndpointUrl::parse("http://[::1]:9000/in").unwrap();
        assert_eq!((v6.host(), v6.port(), v6.is_https()), ("::1", 9000, false));
        assert_eq!(
            EndpointUrl::parse("https://example.com").unwrap().port(),
            443
        );
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/#top",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https:///path",
            "https://exa mple.com/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://127.1/",
            "https://017700000001/",
            "https://%6c%6fcalhost/",
            "https://[fe80::1%25eth0]/",
            "https://evil.com\\@127.0.0.1/",
            "https://127.0.0.1\\x.example.com/",
            "https://hooks_1.example.com/",
            "https://a..b/",
        ] {
            assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_type_lists_are_sorted_without_repeats_and_refuse_unknown_names() {
        let types = EventType::parse_list(["post.failed", "post.published", "post.failed"]);
        assert_eq!(
            types.unwrap(),
            vec![EventType::PostPublished, EventType::PostFailed]
        );
        assert!(EventType::parse_list(["post.deleted"]).is_err());
    }
}
