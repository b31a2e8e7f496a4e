//! Which addresses an event delivery may reach: the guard against server-side request forgery
//! that a webhook endpoint invites (a merchant names a URL; PostPilot's servers call it). The
//! adapter resolves an endpoint's host and refuses the delivery when any address it resolves to
//! is refused here — when the endpoint is registered, and again before every delivery, since a
//! name can be pointed elsewhere after it was checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use async_trait::async_trait;

use crate::ValidationError;
use crate::event::EndpointUrl;

/// Resolves a host name to its addresses (the port of the DNS lookup: tests give names fixed
/// answers, such as a public-looking name that resolves to loopback).
#[async_trait]
pub trait HostResolver: Send + Sync + fmt::Debug {
    /// Every address `host` resolves to.
    ///
    /// # Errors
    /// The name does not resolve, or the lookup failed.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread), at most
/// [`MAX_LOOKUPS`] lookups at once (a name server that never answers must not tie up every
/// blocking thread; [`AddressPolicy::check`] gives a lookup [`RESOLVE_TIMEOUT`]).
#[derive(Debug)]
pub struct SystemResolver {
    lookups: tokio::sync::Semaphore,
}

/// How long [`AddressPolicy::check`] waits for a name to resolve.
pub const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How many lookups [`SystemResolver`] runs at once; more wait (within the same time limit).
pub const MAX_LOOKUPS: usize = 16;

impl Default for SystemResolver {
    fn default() -> Self {
        Self {
            lookups: tokio::sync::Semaphore::new(MAX_LOOKUPS),
        }
    }
}

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        let target = (host.to_owned(), port);
        let _slot = self
            .lookups
            .acquire()
            .await
            .map_err(std::io::Error::other)?;
        tokio::task::spawn_blocking(move || Ok(target.to_socket_addrs()?.map(|a| a.ip()).collect()))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Whether deliveries may reach loopback addresses: off in production; on for local development
/// and tests (`POSTPILOT_WEBHOOK_ALLOW_LOOPBACK=1`). Private, link-local and metadata ranges stay
/// refused either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback (127.0.0.0/8, ::1) is allowed.
    pub allow_loopback: bool,
}

impl AddressPolicy {
    /// Resolves `url`'s host and checks every address it resolves to, returning them (a
    /// delivery connects to one of these, never resolving again, so a name cannot be pointed
    /// elsewhere between the check and the call). `http` is only for loopback hosts, when
    /// loopback is allowed.
    ///
    /// # Errors
    /// `url` names a host that does not resolve, or resolves to any refused address, or is
    /// `http` to a host that is not loopback.
    pub async fn check(
        self,
        resolver: &dyn HostResolver,
        url: &EndpointUrl,
    ) -> Result<Vec<IpAddr>, ValidationError> {
        let host = url.host();
        let name = host.strip_suffix('.').unwrap_or(host);
        let addresses = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![ip]
        } else if name == "localhost" || name.ends_with(".localhost") {
            // RFC 6761: always loopback, whatever a resolver says.
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        } else {
            let lookup = resolver.resolve(host, url.port());
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addresses)) => addresses,
                Ok(Err(_)) => {
                    return Err(ValidationError::new(
                        "url",
                        format!("names a host that does not resolve ({host})"),
                    ));
                }
                Err(_) => {
                    return Err(ValidationError::new(
                        "url",
                        format!(
                            "names a host that did not resolve within {} s ({host})",
                            RESOLVE_TIMEOUT.as_secs()
                        ),
                    ));
                }
            }
        };
        if addresses.is_empty() {
            return Err(ValidationError::new(
                "url",
                format!("names a host without addresses ({host})"),
            ));
        }
        for ip in &addresses {
            if let Some(why) = self.refusal(*ip) {
                // The kind of address only: naming it would map the server's own network.
                return Err(ValidationError::new(
                    "url",
                    format!("resolves to {why}; events are only delivered to public addresses"),
                ));
            }
        }
        if !url.is_https() && !addresses.iter().all(IpAddr::is_loopback) {
            return Err(ValidationError::new("url", "must be https://"));
        }
        Ok(addresses)
    }

    /// Why a delivery may not reach `ip`, or `None` when it may (a public unicast address).
    pub fn refusal(self, ip: IpAddr) -> Option<&'static str> {
        match ip {
            IpAddr::V4(v4) => self.refusal_v4(v4),
            IpAddr::V6(v6) => self.refusal_v6(v6),
        }
    }

    fn refusal_v4(self, ip: Ipv4Addr) -> Option<&'static str> {
        let [a, b, c, _] = ip.octets();
        match (a, b, c) {
            (127, ..) if self.allow_loopback => None,
            (127, ..) => Some("a loopback address"),
            (0, ..) => Some("an unspecified address (0.0.0.0/8)"),
            (10, ..) | (192, 168, _) => Some("a private address"),
            (172, b, _) if (16..32).contains(&b) => Some("a private address"),
            (169, 254, _) => Some("a link-local address (cloud metadata lives there)"),
            (100, b, _) if (64..128).contains(&b) => Some("a shared (carrier-grade NAT) address"),
            (192, 0, 0) => Some("an IETF protocol address (192.0.0.0/24)"),
            (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Some("a documentation address"),
            (198, b, _) if b == 18 || b == 19 => Some("a benchmarking address (198.18.0.0/15)"),
            (a, ..) if a >= 224 => Some("a multicast, reserved or broadcast address"),
            _ => None,
        }
    }

    fn refusal_v6(self, ip: Ipv6Addr) -> Option<&'static str> {
        if ip.is_loopback() {
            return (!self.allow_loopback).then_some("a loopback address");
        }
        if ip.is_unspecified() {
            return Some("an unspecified address");
        }
        if ip.segments()[..6] == [0; 6] {
            return Some("an IPv4-compatible address (::/96, deprecated)");
        }
        // An IPv4 address inside an IPv6 one (mapped ::ffff:a.b.c.d, the NAT64 prefixes) is
        // judged as that IPv4 address.
        if let Some(v4) = embedded_v4(ip) {
            return self.refusal_v4(v4);
        }
        let first = ip.segments()[0];
        match first {
            f if f & 0xfe00 == 0xfc00 => Some("a private (unique local) address"),
            f if f & 0xffc0 == 0xfe80 => Some("a link-local address"),
            f if f & 0xffc0 == 0xfec0 => Some("a site-local address"),
            f if f & 0xff00 == 0xff00 => Some("a multicast address"),
            0x2001 if ip.segments()[1] == 0x0db8 => Some("a documentation address"),
            // Teredo, ORCHID, benchmarking and the other IETF protocol assignments.
            0x2001 if ip.segments()[1] < 0x0200 => Some("an IETF protocol address (2001::/23)"),
            // 6to4 relays: a transition mechanism no receiver or media host needs, and one that
            // tunnels to whatever IPv4 address its next 32 bits name.
            0x2002 => Some("a 6to4 relay address"),
            // Only global unicast (2000::/3) is routable on the internet.
            f if f & 0xe000 != 0x2000 => Some("a reserved address"),
            _ => None,
        }
    }
}

/// The IPv4 address an IPv6 address carries in its last 32 bits, for the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let [a, b] = s[6].to_be_bytes();
    let [c, d] = s[7].to_be_bytes();
    let v4 = Ipv4Addr::new(a, b, c, d);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    // The well-known NAT64 prefix, and the local-use 64:ff9b:1::/48 a network may map to its
    // own addresses.
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1];
    (mapped || nat64).then_some(v4)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Names with fixed answers, as a hostile DNS zone would give them.
    #[derive(Debug)]
    struct Zone;

    #[async_trait]
    impl HostResolver for Zone {
        async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
            let answer: &[&str] = match host {
                "hooks.example.com" => &["93.184.216.34"],
                "sneaky.example.com" => &["93.184.216.34", "127.0.0.1"],
                "metadata.example.com" => &["169.254.169.254"],
                _ => return Err(std::io::ErrorKind::NotFound.into()),
            };
            Ok(answer.iter().map(|a| a.parse().unwrap()).collect())
        }
    }

    /// A name server that never answers.
    #[derive(Debug)]
    struct Silent;

    #[async_trait]
    impl HostResolver for Silent {
        async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_name_server_that_never_answers_is_a_refusal_after_the_time_limit() {
        let url = EndpointUrl::parse("https://hooks.example.com/in").unwrap();
        let started = tokio::time::Instant::now();

        let refused = AddressPolicy::default()
            .check(&Silent, &url)
            .await
            .unwrap_err();

        assert_eq!(refused.field(), "url");
        assert!(
            refused.reason().contains("did not resolve within 5 s"),
            "{refused}"
        );
        assert_eq!(started.elapsed(), RESOLVE_TIMEOUT);
    }

    async fn checked(policy: AddressPolicy, url: &str) -> Result<Vec<IpAddr>, ValidationError> {
        policy.check(&Zone, &EndpointUrl::parse(url).unwrap()).await
    }

    #[tokio::test]
    async fn a_name_is_refused_when_any_address_it_resolves_to_is_internal() {
        let strict = AddressPolicy::default();
        assert!(
            checked(strict, "https://hooks.example.com/in")
                .await
                .is_ok()
        );
        for url in [
            "https://sneaky.example.com/in",
            "https://metadata.example.com/latest",
            "https://localhost:9000/in",
            "https://app.localhost/in",
            "https://localhost./in",
            "https://127.0.0.1/in",
            "https://[::ffff:10.0.0.1]/in",
            "https://nowhere.example.com/in",
        ] {
            let refused = checked(strict, url).await.unwrap_err();
            assert_eq!(refused.field(), "url", "{url}");
        }
    }

    #[tokio::test]
    async fn plain_http_is_only_for_loopback_when_loopback_is_allowed() {
        let dev = AddressPolicy {
            allow_loopback: true,
        };
        assert!(checked(dev, "http://127.0.0.1:8080/in").await.is_ok());
        assert!(checked(dev, "http://localhost:8080/in").await.is_ok());
        assert!(checked(dev, "http://hooks.example.com/in").await.is_err());
        assert!(checked(dev, "https://sneaky.example.com/in").await.is_ok());
        assert!(
            checked(AddressPolicy::default(), "http://127.0.0.1/in")
                .await
                .is_err()
        );
    }

    #[test]
    fn the_ssrf_table_refuses_every_internal_range_and_passes_public_addresses() {
        let strict = AddressPolicy::default();
        let refused = [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "0.0.0.0",
            "::",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::1",
            "100::1",
            "2001::1",
            "64:ff9b:1::a00:1",
            "2002:5db8:d822::1",
            "::93.184.216.34",
        ];
        for address in refused {
            let ip: IpAddr = address.parse().unwrap();
            assert!(strict.refusal(ip).is_some(), "{address} was allowed");
        }
        let allowed = [
            "93.184.216.34",
            "172.15.0.1",
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:93.184.216.34",
        ];
        for address in allowed {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(strict.refusal(ip), None, "{address} was refused");
        }
    }

    #[test]
    fn allowing_loopback_opens_loopback_alone() {
        let dev = AddressPolicy {
            allow_loopback: true,
        };
        for address in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(dev.refusal(address.parse().unwrap()), None, "{address}");
        }
        for address in ["10.0.0.1", "169.254.169.254", "fd00::1", "0.0.0.0"] {
            assert!(dev.refusal(address.parse().unwrap()).is_some(), "{address}");
        }
    }
}
