//! Fetching a merchant's media from the server itself (a TikTok upload), refusing every address
//! that is not on the public internet — loopback, private, link-local (the cloud metadata
//! service at 169.254.169.254), shared, documentation, multicast, and their IPv6 forms — *after*
//! DNS resolution, so a public name pointing inside the network is refused too. The address is
//! checked where the connection is made: the resolver ([`crate::guard`]) hands the connector
//! a name's addresses only when all are public,
//! an IP written in the URL (or in a redirect's) is checked before the request, and no proxy is
//! used (a proxy would resolve the name itself).

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};

use crate::http::is_transient;

/// Whether `ip` is an address on the public internet (unicast, globally routed): core's one
/// address table, the one webhook deliveries are checked against too.
pub fn is_public(ip: IpAddr) -> bool {
    postpilot_core::event::address::AddressPolicy::default()
        .refusal(ip)
        .is_none()
}

/// The longest a size request may take (the upload's start follows it in the same step).
pub const SIZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A media host that is down or busy: worth retrying.
fn unavailable(status: StatusCode) -> FetchError {
    FetchError::Failed(format!(
        "the media host is unavailable (HTTP {})",
        status.as_u16()
    ))
}

/// Which addresses a [`MediaFetcher`] may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Only public addresses: what a server fetching URLs merchants give it must use.
    PublicOnly,
    /// Any address — for tests against local fake servers only.
    AnyForTests,
}

/// Why media could not be fetched, in words that name neither the URL's query nor a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The URL is not one the server may fetch (not http(s), or not a public address): no
    /// retry changes that.
    Refused(String),
    /// The media host answered, but not with what was asked (a missing size, a range it does
    /// not serve, an error status): no retry is likely to change it.
    Unusable(String),
    /// The fetch did not complete (connection, timeout): worth retrying.
    Failed(String),
}

/// Reads a merchant's media from its host, on public addresses only (unless told otherwise
/// for tests), with timeouts, no proxy, and at most five redirects each checked like the URL.
#[derive(Clone, Debug)]
pub struct MediaFetcher {
    inner: reqwest::Client,
    policy: AddressPolicy,
}

impl MediaFetcher {
    /// A fetcher whose every request connects within `connect` and completes within `total`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(connect: Duration, total: Duration, policy: AddressPolicy) -> Result<Self, String> {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the URL asked for and every redirect followed so far.
            if attempt.previous().len() > 5 {
                attempt.error("more than 5 redirects")
            } else if let Err(refused) = check_url(attempt.url(), policy) {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .no_proxy()
            .redirect(redirects)
            .user_agent(concat!("postpilot/", env!("CARGO_PKG_VERSION")));
        if policy == AddressPolicy::PublicOnly {
            builder = builder.dns_resolver(crate::guard::GuardedResolver(
                postpilot_core::event::address::AddressPolicy::default(),
            ));
        }
        let inner = builder
            .build()
            .map_err(|e| format!("the media HTTP client could not be built: {e}"))?;
        Ok(Self { inner, policy })
    }

    /// The media's size in bytes: a `HEAD` request's `Content-Length`, or — for a host that
    /// refuses `HEAD` (a URL signed for `GET` only) or gives no length — the total of a `GET`
    /// of its first byte (`Content-Range: bytes 0-0/total`). Each request gets at most
    /// [`SIZE_TIMEOUT`], so the size and the upload's start fit one publish step.
    ///
    /// # Errors
    /// [`FetchError`]: the URL is refused, the host gives no size, or the request failed.
    pub async fn size(&self, url: &str) -> Result<u64, FetchError> {
        let url = self.checked(url)?;
        let head = self
            .inner
            .head(url.clone())
            .timeout(SIZE_TIMEOUT)
            .send()
            .await
            .map_err(|e| failed("reading the media's size", &e))?;
        let status = head.status();
        if status.is_success()
            && let Some(size) = head
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|size| *size > 0)
        {
            return Ok(size);
        }
        if is_transient(status) {
            return Err(unavailable(status));
        }
        let first = self
            .inner
            .get(url)
            .header(RANGE, "bytes=0-0")
            .timeout(SIZE_TIMEOUT)
            .send()
            .await
            .map_err(|e| failed("reading the media's size", &e))?;
        match first.status() {
            StatusCode::PARTIAL_CONTENT => first
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit_once('/'))
                .and_then(|(_, total)| total.parse::<u64>().ok())
                .filter(|size| *size > 0)
                .ok_or_else(|| {
                    FetchError::Unusable("the media host does not state the media's size".into())
                }),
            status if is_transient(status) => Err(unavailable(status)),
            StatusCode::OK => Err(FetchError::Unusable(
                "the media host does not serve parts of the media (no Range support)".into(),
            )),
            status => Err(FetchError::Unusable(format!(
                "the media host answered HTTP {} for the media",
                status.as_u16()
            ))),
        }
    }

    /// Bytes `start..=end` of media of `total` bytes: a `Range` request answered `206` (or `200`
    /// with the whole media when that is what was asked), exactly that many bytes.
    ///
    /// # Errors
    /// [`FetchError`]: the URL is refused, the host does not serve the range, or the request
    /// failed.
    pub async fn range(
        &self,
        url: &str,
        start: u64,
        end: u64,
        total: u64,
    ) -> Result<reqwest::Body, FetchError> {
        let url = self.checked(url)?;
        let response = self
            .inner
            .get(url)
            .header(RANGE, format!("bytes={start}-{end}"))
            .send()
            .await
            .map_err(|e| failed("reading the media", &e))?;
        let whole = start == 0 && end + 1 == total;
        let status = response.status();
        match status {
            StatusCode::PARTIAL_CONTENT => {
                // The part asked for, of the file that was sized: not another file's.
                let range = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok());
                if range != Some(&format!("bytes {start}-{end}/{total}")) {
                    return Err(FetchError::Unusable(
                        "the media host sent another part of the media, or the media changed"
                            .into(),
                    ));
                }
            }
            StatusCode::OK if whole => {}
            StatusCode::OK => {
                return Err(FetchError::Unusable(
                    "the media host does not serve parts of the media (no Range support)".into(),
                ));
            }
            status if is_transient(status) => {
                return Err(unavailable(status));
            }
            status => {
                return Err(FetchError::Unusable(format!(
                    "the media host answered HTTP {} for the media",
                    status.as_u16()
                )));
            }
        }
        // The length is checked before anything is read, so a chunk never takes more memory
        // than asked for (the body is framed by it).
        let expected = end - start + 1;
        if response.content_length() != Some(expected) {
            return Err(FetchError::Unusable(format!(
                "the media host did not announce the {expected} bytes asked for"
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| failed("reading the media", &e))?;
        if bytes.len() as u64 != expected {
            return Err(FetchError::Failed("reading the media ended early".into()));
        }
        Ok(reqwest::Body::from(bytes))
    }

    fn checked(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url)
            .map_err(|_| FetchError::Refused("the media URL is not a URL".into()))?;
        check_url(&parsed, self.policy).map_err(FetchError::Refused)?;
        Ok(parsed)
    }
}

/// Whether the server may request `url`: http or https, and an IP written in it public (a name
/// is checked when it is resolved).
fn check_url(url: &Url, policy: AddressPolicy) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the media URL must be http or https".into());
    }
    if policy == AddressPolicy::AnyForTests {
        return Ok(());
    }
    let Some(host) = url.host_str() else {
        return Err("the media URL has no host".into());
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = literal.parse::<IpAddr>() else {
        // A name: checked when it is resolved.
        return Ok(());
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err("the media URL's address is not a public address".into())
    }
}

fn failed(what: &str, e: &reqwest::Error) -> FetchError {
    // A refused address surfaces as a connect error whose source is the resolver's message.
    if crate::guard::refusal_in(e).is_some() {
        return FetchError::Refused("the media host has no public address".into());
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        return FetchError::Refused(
            "the media URL redirects too often, or to an address that is not a public address"
                .into(),
        );
    } else {
        "failed"
    };
    FetchError::Failed(format!("{what} {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn only_globally_routed_unicast_addresses_are_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "2001:db8::1",
            "2002:7f00:1::1",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must not be public");
        }
        for outside in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(outside)), "{outside} is public");
        }
    }

    #[test]
    fn urls_with_inner_ips_or_other_schemes_are_refused_before_any_request() {
        for url in [
            "http://127.0.0.1/video.mp4",
            "http://[::1]/video.mp4",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:10.0.0.1]/a.mp4",
            "file:///etc/passwd",
            "ftp://cdn.example.com/a.mp4",
        ] {
            let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(
                check_url(&parsed, AddressPolicy::PublicOnly).is_err(),
                "{url} must be refused"
            );
        }
        let public = Url::parse("https://93.184.216.34/a.mp4").unwrap_or_else(|e| panic!("{e}"));
        assert!(check_url(&public, AddressPolicy::PublicOnly).is_ok());
    }
}
