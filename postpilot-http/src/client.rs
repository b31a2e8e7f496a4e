//! The client's address: the socket's peer, or — when the peer is a configured trusted proxy —
//! the address that proxy (and any trusted proxies before it) says it forwarded for.
//!
//! `X-Forwarded-For` is read from the right, the end the nearest proxy appended to: each trusted
//! address is a proxy that passed the request on, and the first untrusted one is the client (the
//! "rightmost untrusted" rule). Anything to its left was written by the client itself and is
//! never believed. From an untrusted peer the header is ignored entirely. A malformed entry met
//! on the walk (not an IP address, an empty entry, a header that is not text) makes the whole
//! header unusable and the peer is the answer; if every entry is trusted, the leftmost is the
//! client (a request from inside the trusted network). The `Forwarded` header (RFC 7239) is not
//! read.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address for the request, or `None` without a socket peer (`ConnectInfo`), as
/// when the router is served without `into_make_service_with_connect_info`.
pub(crate) fn client_addr(parts: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip()
        .to_canonical();
    if !is_trusted(peer, trusted_proxies) {
        return Some(peer);
    }
    Some(forwarded_client(&parts.headers, trusted_proxies).unwrap_or(peer))
}

fn is_trusted(addr: IpAddr, trusted_proxies: &[IpNet]) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&addr))
}

/// The rightmost untrusted address of `X-Forwarded-For` (every header line, in order), or the
/// leftmost if all are trusted; `None` if the header is absent or malformed where it is read.
fn forwarded_client(headers: &HeaderMap, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let mut leftmost_trusted = None;
    for line in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        let line = line.to_str().ok()?;
        for entry in line.rsplit(',') {
            let addr = entry.trim().parse::<IpAddr>().ok()?.to_canonical();
            if !is_trusted(addr, trusted_proxies) {
                return Some(addr);
            }
            leftmost_trusted = Some(addr);
        }
    }
    leftmost_trusted
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn nets(cidrs: &[&str]) -> Vec<IpNet> {
        cidrs.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn parts(peer: &str, forwarded_for: &[&str]) -> Parts {
        let mut request = Request::builder();
        for line in forwarded_for {
            request = request.header(X_FORWARDED_FOR, *line);
        }
        let mut parts = request.body(()).unwrap().into_parts().0;
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    fn client(peer: &str, forwarded_for: &[&str], trusted: &[&str]) -> IpAddr {
        client_addr(&parts(peer, forwarded_for), &nets(trusted)).unwrap()
    }

    fn ip(addr: &str) -> IpAddr {
        addr.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client("203.0.113.7:5000", &["198.51.100.1"], &[]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client("203.0.113.7:5000", &["198.51.100.1"], &["10.0.0.0/8"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
        let client = client(
            "10.0.0.2:5000",
            &["198.51.100.66, 203.0.113.7"],
            &["10.0.0.0/8"],
        );

        assert_eq!(
            client,
            ip("203.0.113.7"),
            "198.51.100.66 is the client's own claim"
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_skipped_across_header_lines() {
        let client = client(
            "10.0.0.2:5000",
            &["198.51.100.66, 203.0.113.7, 192.168.1.5", "10.1.2.3"],
            &["10.0.0.0/8", "192.168.0.0/16"],
        );

        assert_eq!(client, ip("203.0.113.7"));
    }

    #[test]
    fn when_every_forwarded_address_is_trusted_the_leftmost_is_the_client() {
        assert_eq!(
            client("10.0.0.2:5000", &["10.9.9.9, 10.1.1.1"], &["10.0.0.0/8"]),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        assert_eq!(
            client("10.0.0.2:5000", &[], &["10.0.0.0/8"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_malformed_entry_on_the_walk_falls_back_to_the_peer() {
        let trusted = ["10.0.0.0/8"];
        for garbage in [
            "garbage",
            "203.0.113.7, not-an-ip",
            "203.0.113.7:443",
            "203.0.113.7,",
            "",
            "unknown, 10.0.0.9",
            "300.1.1.1",
        ] {
            assert_eq!(
                client("10.0.0.2:5000", &[garbage], &trusted),
                ip("10.0.0.2"),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read() {
        assert_eq!(
            client("10.0.0.2:5000", &["<script>, 203.0.113.7"], &["10.0.0.0/8"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_header_that_is_not_text_falls_back_to_the_peer() {
        let mut parts = parts("10.0.0.2:5000", &[]);
        parts.headers.insert(
            X_FORWARDED_FOR,
            axum::http::HeaderValue::from_bytes(b"203.0.113.7\xff").unwrap(),
        );

        assert_eq!(
            client_addr(&parts, &nets(&["10.0.0.0/8"])),
            Some(ip("10.0.0.2"))
        );
    }

    #[test]
    fn ipv6_proxies_and_clients_are_read_like_ipv4() {
        assert_eq!(
            client(
                "[fd00::2]:5000",
                &["2001:db8::1, 2001:db8:1::7, fd00::9"],
                &["fd00::/8"]
            ),
            ip("2001:db8:1::7")
        );
        assert_eq!(
            client("[2001:db8::5]:5000", &["2001:db8:1::7"], &["fd00::/8"]),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_count_as_their_ipv4_address() {
        assert_eq!(
            client(
                "[::ffff:10.0.0.2]:5000",
                &["::ffff:203.0.113.7"],
                &["10.0.0.0/8"]
            ),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn without_a_socket_peer_there_is_no_client_address() {
        let parts = Request::builder()
            .header(X_FORWARDED_FOR, "203.0.113.7")
            .body(())
            .unwrap()
            .into_parts()
            .0;

        assert_eq!(client_addr(&parts, &nets(&["0.0.0.0/0", "::/0"])), None);
    }
}
